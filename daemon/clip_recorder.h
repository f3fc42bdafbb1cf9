// ClipRecorder: clips of the cameras' own compressed video, written to the evidence store as
// fragmented MP4 without re-encoding (docs/evidence.md, issue 16 item 2).
//
// It sits at two seams of the composition root:
//   - a SessionFactory around the real one: every camera session it makes hands its access
//     units (tapped before the decoder) to that camera's EncodedRing, which keeps the pre-roll;
//   - an EventFeed between the cameras and the rest of the feed: it forwards every event and,
//     on a trigger (vehicle rule events, motion start: ClipRecorderOptions), starts a clip from
//     the key frame at or before (event - pre_roll) to event + post_roll. A clip of the same
//     track still being written is extended instead of starting another.
// Operators start clips with Start() (skynetctl clip). A writer thread of its own reads the
// rings and remuxes, so analytics never waits on it; the file exists (and is named in records
// and answers) from the start, grows fragment by fragment, and a ClipStored event
// (topic clip/<camera>) says when it is finished.
//
// Threads: everything is safe from any thread. Ownership: `sessions` and `next` are borrowed and
// must outlive this; the store is shared.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon/event_sink.h"
#include "daemon/evidence_store.h"
#include "daemon/frame_source.h"
#include "pipeline/core/clock.h"
#include "pipeline/ingest/encoded_ring.h"

namespace skynet::daemon {

struct ClipRecorderOptions {
  int64_t pre_roll_us = 5'000'000;
  int64_t post_roll_us = 10'000'000;
  bool on_vehicle_rules = true;   // line_crossed, zone_entered/left, stopped, wrong_way, speeding
  bool on_motion_start = false;   // motion_started
  int64_t ring_max_bytes = int64_t{32} << 20;  // per camera
  // A clip is at most this long (extensions by later events of its track stop here).
  int64_t max_clip_us = 120'000'000;
  // Clips being written at once; more are refused and counted.
  size_t max_active = 32;
  // A clip whose camera sends nothing for this long is closed with what it has.
  int64_t idle_timeout_us = 5'000'000;
  int poll_ms = 100;
  // Continuous recording of these cameras, in segments of segment_us (kind "recordings").
  std::vector<std::string> record_cameras;
  int64_t segment_us = 300'000'000;
};

// A clip this recorder wrote or is writing.
struct ClipState {
  std::string file;            // relative to the evidence directory
  std::string camera;
  int64_t start_us = 0;        // capture times written so far (0: nothing yet)
  int64_t end_us = 0;
  int64_t bytes = 0;
  bool done = false;           // finished (complete or cut short)
  bool complete = false;
  bool from_recordings = false;  // cut from the camera's recorded segments
  std::vector<std::string> notes;  // what to know about a clip cut from recordings
};

// A recorded segment's capture start from its path (<camera>/recordings/<YYYY-MM-DD>/
// <HHMMSS>[.<µs>]-segment[-N].mp4, UTC), or nullopt for another name.
std::optional<int64_t> SegmentStartUs(const std::string& relative);

struct ClipStats {
  uint64_t started = 0;
  uint64_t completed = 0;       // written to their end
  uint64_t cut_short = 0;       // camera stopped, stream changed, idle
  uint64_t failed = 0;          // the store refused (disk full) or a muxer error
  uint64_t refused = 0;         // nothing in memory for the time, or too many at once
  uint64_t segments = 0;        // continuous recording segments finished
  int64_t active = 0;
  int64_t ring_bytes = 0;       // all cameras' rings
};

class ClipRecorder final : public SessionFactory, public EventFeed {
 public:
  ClipRecorder(ClipRecorderOptions options, std::shared_ptr<EvidenceStore> store,
               SessionFactory* sessions, EventFeed* next, Clock* clock = SystemClock::Get());
  // Finishes the clips being written with what the rings hold, then stops the thread.
  ~ClipRecorder() override;
  ClipRecorder(const ClipRecorder&) = delete;
  ClipRecorder& operator=(const ClipRecorder&) = delete;

  // SessionFactory: the inner factory's source, its access units going to the camera's ring.
  Result<std::unique_ptr<FrameSource>> Create(const ingest::SourceOptions& options,
                                              ingest::CameraSession::Callbacks callbacks) override;
  // SessionFactory: drops the camera's ring (up to ring_max_bytes) unless a source still feeds
  // it (clips being written from it finish with their own reference); then tells the inner
  // factory.
  void Released(const std::string& camera_id) override;
  // EventFeed: forwards `event` and starts or extends a clip on a trigger.
  void Publish(v1::Event event) override;
  FeedStats stats() const override { return next_->stats(); }
  // Full-resolution snapshots pass through to the record collector behind.
  bool wants_evidence() const override { return next_->wants_evidence(); }
  void PublishEvidence(const std::string& camera_id, uint64_t track_id,
                       EvidenceSnapshot snapshot) override {
    next_->PublishEvidence(camera_id, track_id, std::move(snapshot));
  }

  // Starts a clip of `camera` over the capture times [from_us, to_us] (an operator's request):
  // from the key frame at or before from_us. Returns its state (the file exists from now on).
  // A recorded camera (record_cameras) whose memory no longer holds from_us gets the clip cut
  // from its recorded segments instead, at once, on the calling thread (finished on return).
  // Errors: NotFound (no such camera, its video of that time is no longer in memory, or was
  // never recorded: the message says what is), Unavailable (too many clips at once, the store
  // stopped by a full disk), IoError (damaged segments, named).
  Result<ClipState> Start(const std::string& camera, int64_t from_us, int64_t to_us);
  // The clip of a vehicle track (its first trigger's clip), if one was started.
  std::optional<ClipState> ClipOfTrack(const std::string& camera, uint64_t track_id) const;
  // A clip by file, if this recorder wrote it since start.
  std::optional<ClipState> Find(const std::string& file) const;
  ClipStats clip_stats() const;
  const ClipRecorderOptions& options() const { return options_; }

 private:
  struct Job;
  Result<ClipState> StartJob(const std::string& camera, int64_t from_us, int64_t to_us,
                             int64_t event_us, v1::ClipTrigger trigger, uint64_t track_id);
  std::shared_ptr<ingest::EncodedRing> RingOf(const std::string& camera, bool create);
  Result<ClipState> CutFromRecordings(const std::string& camera, int64_t from_us, int64_t to_us);
  // A file name under <camera>/<kind>/<date of time_us>/ not used yet (mu_ held).
  std::string UniqueName(const std::string& camera, const std::string& kind,
                         const std::string& base, int64_t time_us);
  void Run();
  // Writes what the ring has for `job`; true when the job is finished.
  bool Advance(Job& job, bool stopping);
  void Finish(Job& job, bool complete);
  // Continuous recording: starts the next segment of each recorded camera that has none.
  void StartSegments();

  const ClipRecorderOptions options_;
  const std::shared_ptr<EvidenceStore> store_;
  SessionFactory* const sessions_;
  EventFeed* const next_;
  Clock* const clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<ingest::EncodedRing>> rings_;
  std::vector<std::shared_ptr<Job>> jobs_;                         // being written
  std::map<std::string, ClipState> clips_;                         // by file, since start
  std::map<std::pair<std::string, uint64_t>, std::string> by_track_;  // (camera, track) -> file
  std::set<std::string> names_;                                    // files named so far
  std::map<std::string, uint64_t> segment_next_;  // camera -> seq of its next segment's start
  std::set<std::string> segment_active_;          // cameras with a segment being written
  std::map<std::string, int64_t> segment_retry_us_;  // camera -> no new segment before (mono)
  ClipStats stats_;
  bool stopping_ = false;
  std::thread thread_;  // last
};

}  // namespace skynet::daemon
