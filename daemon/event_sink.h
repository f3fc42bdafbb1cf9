// EventSink: where the daemon's cameras hand their events; EventFeed: the node's event feed as
// the supervisor sees it (a sink with a position and counters). EventBus implements both on
// ZeroMQ; unit tests pass a recording fake (tests/testing/recording_event_sink.h).
//
// Threads: Publish() and stats() may be called from any thread and never block long.
// Ownership: sinks are borrowed by whoever publishes into them and must outlive them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "daemon/evidence_snapshot.h"
#include "daemon/metrics.h"

#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Queues `event` (camera_id, times and payload set) for publication. The envelope (node id,
  // epoch, seq, event id, publish time) is the sink's business.
  virtual void Publish(v1::Event event) = 0;
  // Whether PublishEvidence() keeps anything; the cameras make no full-resolution snapshots
  // otherwise.
  virtual bool wants_evidence() const { return false; }
  // The full-resolution snapshot of track `track_id` of camera `camera_id`, which is ending: its
  // vehicle_ended follows on this sink from the same thread. Default: dropped.
  virtual void PublishEvidence(const std::string& camera_id, uint64_t track_id,
                               EvidenceSnapshot snapshot) {}
};

// The feed's position and counters: a snapshot, for status and metrics.
struct FeedStats {
  std::string node_id;
  uint64_t epoch = 0;
  uint64_t last_seq = 0;        // seq of the last event sent (0 before the first)
  uint64_t queued = 0;          // events accepted but not yet sent
  uint64_t dropped = 0;         // events refused because the feed was stopping
  uint64_t send_errors = 0;     // events the socket refused (they are still journaled)
  bool journal = false;         // whether events are journaled at all
  uint64_t journal_errors = 0;  // appends the journal refused (their events were still sent)
  uint64_t journal_bytes = 0;   // retained journal size
  HistogramSnapshot journal_fsync_seconds;  // fdatasync durations
  uint64_t journal_fsync_errors = 0;        // fdatasync calls that failed
  v1::JournalStatus journal_status;         // ok / failing / disabled, and what is not journaled
  uint64_t subscribers = 0;                 // connections to the feed now
  uint64_t max_subscribers = 0;             // the cap (0: none)
  uint64_t subscribers_refused = 0;         // connections refused at the cap
  uint64_t send_hwm = 0;                    // events queued per subscriber before ZeroMQ drops
  // Events sent, by (camera id or "" for node events, payload type: "line_crossed", ...).
  std::map<std::pair<std::string, std::string>, uint64_t> events;
  // line_crossed events, by (camera id, line id, direction +1/-1).
  std::map<std::tuple<std::string, std::string, int>, uint64_t> crossings;
};

class EventFeed : public EventSink {
 public:
  virtual FeedStats stats() const = 0;
};

}  // namespace skynet::daemon
