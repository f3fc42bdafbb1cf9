// RenderMetrics: the daemon's Prometheus scrape (GET /metrics on `metrics_endpoint`) from the
// counters its parts keep: per camera (daemon/stats.h CameraStats), the feed and journal
// (FeedStats), replay and control servers, and the process (CPU, RSS, threads). Metric names
// and labels are documented in docs/operations.md; every name starts with `skynet_`.
//
// Plain function of snapshots: callable from the metrics server's threads; the daemon takes
// the snapshots (Supervisor::Stats() and the servers' atomics) per scrape.
//
//   std::string body = RenderMetrics(supervisor->Stats(), extras);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "daemon/stats.h"

namespace skynet::daemon {

// What the node reports besides NodeStats.
struct NodeExtras {
  bool replay = false;  // whether a replay server runs (then the two counters are filled)
  uint64_t replay_requests = 0;
  uint64_t replay_events_sent = 0;
  // Control requests by (command, ok).
  std::map<std::pair<std::string, bool>, uint64_t> control_requests;
  uint64_t control_replies_dropped = 0;  // answers the peer had gone for or did not take in time
  uint64_t control_replies_delayed = 0;  // answers that waited for a peer's full queue
  // Evidence files and clips (docs/evidence.md); the rest only when `evidence` is set.
  bool evidence = false;
  int64_t evidence_bytes = 0;
  int64_t evidence_files = 0;
  uint64_t evidence_deleted_files = 0;   // by retention
  uint64_t evidence_write_errors = 0;
  bool evidence_stopped = false;         // a full disk stopped evidence writing
  uint64_t clips_started = 0, clips_completed = 0, clips_cut_short = 0, clips_failed = 0;
  uint64_t clips_refused = 0;
  int64_t clip_ring_bytes = 0;           // compressed video held for clips, all cameras
};

// This process's CPU time and memory, from /proc/self (zeros where it cannot be read).
struct ProcessFigures {
  double cpu_seconds = 0;  // user + system
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t threads = 0;
  uint64_t open_fds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};
ProcessFigures ReadProcessFigures();

std::string RenderMetrics(const NodeStats& node, const NodeExtras& extras,
                          const ProcessFigures& process);

}  // namespace skynet::daemon
