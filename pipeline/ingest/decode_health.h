// DecodeHealth: judges from a pipeline's decode counters whether its stream decodes cleanly.
//
// A stream whose data decodes to errors or concealment keeps delivering frames (libav conceals
// the damage), so a camera looks online while its picture is smeared or frozen and motion
// stops. The session thread hands the cumulative counters in on every poll; within `window_us`
// of the first sign of trouble the verdict is kDegraded, and kClean once `clean_us` passed
// without any. Trouble is any of: libav error messages, decode warnings on the bus, frames the
// decoder marked corrupted, or compressed units arriving while no frame comes out.
//
// Pure logic on the caller's monotonic timestamps (tests use made-up times). Not thread-safe:
// one per pipeline, session thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

namespace skynet::ingest {

// Cumulative counters of one session (SessionCounters), as read at one poll.
struct DecodeTotals {
  uint64_t decoder_errors = 0;   // libav error messages (decoder_log.h)
  uint64_t decode_warnings = 0;  // GStreamer decode warnings on the bus
  uint64_t corrupt_frames = 0;   // decoded buffers flagged GST_BUFFER_FLAG_CORRUPTED
  uint64_t units_in = 0;         // compressed units into the decode chain
  uint64_t frames_out = 0;       // decoded frames
};

struct DecodeHealthOptions {
  int64_t window_us = 1'000'000;          // trouble is judged over this window
  uint64_t min_trouble = 2;               // this much trouble within the window: degraded
  int64_t clean_us = 2'000'000;           // no trouble for this long: clean again
  uint64_t min_units_without_frames = 4;  // units in, no frame out, within the window: trouble
};

class DecodeHealth {
 public:
  enum class Change { kNone, kDegraded, kClean };
  struct Verdict {
    Change change = Change::kNone;
    std::string detail;      // kDegraded: what the window held
    int64_t latency_us = 0;  // kDegraded: from the first trouble seen to this verdict
  };

  explicit DecodeHealth(DecodeHealthOptions options = {}) : options_(options) {}

  // One poll at `now_us` (non-decreasing) with the counters as they are now.
  Verdict Observe(int64_t now_us, const DecodeTotals& totals);
  bool degraded() const { return degraded_; }

 private:
  struct Sample {
    int64_t at_us;
    DecodeTotals totals;
    bool trouble;  // something went wrong since the previous sample
  };
  const DecodeHealthOptions options_;
  std::deque<Sample> samples_;  // the window, oldest first
  bool degraded_ = false;
  int64_t last_trouble_us_ = 0;
};

}  // namespace skynet::ingest
