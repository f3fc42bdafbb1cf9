// RecordCollector: turns every finished vehicle track into a VehicleRecord (docs/evidence.md).
// An EventSink between the cameras and the feed: it forwards every event unchanged, remembers
// the lines each live track crossed and the zones it entered (line_crossed and zone_entered
// events), and on vehicle_ended publishes a vehicle_record event right after it and hands the
// record to the RecordWriter (if any), which stores it off the analytics path.
//
// With an evidence store, the collector also takes the cameras' full-resolution snapshots
// (PublishEvidence, just before their track's vehicle_ended): the track's vehicle_record then
// goes out once a SnapshotWriter has written the files (VehicleRecord.snapshot_files), from the
// writer's thread, still after its vehicle_ended.
//
// Threads: Publish() may be called from any thread (the cameras' workers); a short lock guards
// the per-track memory. Ownership: `feed` and `writer` are borrowed and must outlive this.
//
//   RecordCollector records("node-1", bus.get(), writer.get(), evidence_store);
//   Supervisor::Create(config, &sessions, &records);
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "daemon/event_sink.h"
#include "daemon/record_store.h"
#include "daemon/snapshot_writer.h"

namespace skynet::daemon {

class RecordCollector : public EventFeed {
 public:
  // The clip file of a track (relative to the evidence directory), or "" (clip_recorder.h).
  using ClipLookup = std::function<std::string(const std::string& camera, uint64_t track_id)>;

  // `writer` may be null: records then only go out on the feed. `evidence` may be null: no
  // snapshot files. `clips` (optional) names the track's clip in its record.
  RecordCollector(std::string node_id, EventFeed* feed, RecordWriter* writer,
                  std::shared_ptr<EvidenceStore> evidence = nullptr, ClipLookup clips = {});

  void Publish(v1::Event event) override;
  FeedStats stats() const override { return feed_->stats(); }
  bool wants_evidence() const override { return snapshots_ != nullptr; }
  void PublishEvidence(const std::string& camera_id, uint64_t track_id,
                       EvidenceSnapshot snapshot) override;
  // The snapshot files written so far (zeros without an evidence store).
  SnapshotWriterStats snapshot_stats() const;

  // The record of an ended track, from the track and what was gathered for it (pure).
  static v1::VehicleRecord MakeRecord(const v1::VehicleTrack& track,
                                      std::vector<v1::RecordCrossing> crossings,
                                      std::vector<std::string> zones);

 private:
  // What the rule events told about a live track.
  struct Gathered {
    std::vector<v1::RecordCrossing> crossings;
    std::vector<std::string> zones;
    std::optional<EvidenceSnapshot> evidence;
  };
  // Stores and publishes a finished record (any thread).
  void Finish(v1::Event record);
  static constexpr size_t kMaxPerTrack = 256;  // crossings or zones kept per track

  const std::string node_id_;
  EventFeed* const feed_;
  RecordWriter* const writer_;
  const ClipLookup clips_;
  std::mutex mu_;
  std::map<std::pair<std::string, uint64_t>, Gathered> live_;  // by (camera, track id)
  // Last: destroyed first, writing what is queued while the rest still exists.
  std::unique_ptr<SnapshotWriter> snapshots_;
};

}  // namespace skynet::daemon
