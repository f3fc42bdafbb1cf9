// SnapshotWriter: writes the full-resolution snapshots of finished vehicle tracks (an
// EvidenceSnapshot: crop and scene JPEGs, evidence_snapshot.h) into the evidence store, off the
// analytics path, and then completes the track's vehicle_record event with the files' paths
// (VehicleRecord.snapshot_files, crop first) and hands it to `done`.
//
// Files: <camera>/snapshots/<YYYY-MM-DD>/track-<id>-<capture us>-crop.jpg and ...-scene.jpg
// (evidence_store.h lays out the directories). A file that cannot be written (disk full, the
// store stopped) is left out of the record and counted; the record still goes on.
//
// Threads: Add() and stats() from any thread; `done` runs on the writer's own thread (or, for a
// refused Add, on the caller's). The destructor writes what is queued, then joins. The store is
// shared; `done` must stay callable until the destructor returns.
//
//   SnapshotWriter w(store, {}, [&](v1::Event record) { feed->Publish(std::move(record)); });
//   w.Add(std::move(record_event), std::move(snapshot));
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "daemon/evidence_snapshot.h"
#include "daemon/evidence_store.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

struct SnapshotWriterOptions {
  // Tracks waiting for their files (each holds its JPEGs, up to a few MB at 4K). Beyond it a
  // record goes on at once without snapshot files (counted as dropped).
  size_t max_queued = 32;
};

struct SnapshotWriterStats {
  uint64_t files_written = 0;
  uint64_t write_errors = 0;  // files the store refused or failed to write
  uint64_t dropped = 0;       // tracks whose snapshots were not written: the queue was full
};

// The file name of a track's snapshot, `part` "crop" or "scene".
std::string SnapshotFileName(uint64_t track_id, int64_t time_us, const char* part);

class SnapshotWriter {
 public:
  using Done = std::function<void(v1::Event)>;
  SnapshotWriter(std::shared_ptr<EvidenceStore> store, SnapshotWriterOptions options, Done done);
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // `record` is a vehicle_record event (camera_id set). Queues it with `snapshot`; a full queue
  // calls `done` with the record unchanged, at once.
  void Add(v1::Event record, EvidenceSnapshot snapshot);
  SnapshotWriterStats stats() const;

 private:
  struct Item {
    v1::Event record;
    EvidenceSnapshot snapshot;
  };
  void Run();
  void Write(Item* item);

  const std::shared_ptr<EvidenceStore> store_;
  const SnapshotWriterOptions options_;
  const Done done_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::atomic<uint64_t> files_written_{0}, write_errors_{0}, dropped_{0};
  std::thread thread_;  // last: starts after the rest is set up
};

}  // namespace skynet::daemon
