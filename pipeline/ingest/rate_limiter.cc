#include "pipeline/ingest/rate_limiter.h"

#include <algorithm>

namespace skynet::ingest {

RateLimiter::RateLimiter(double max_fps) {
  if (max_fps > 0) {
    interval_ns_ = static_cast<int64_t>(1e9 / max_fps);
    // Timestamp jitter after the jitter buffer is a few ms at most.
    tolerance_ns_ = std::min<int64_t>(interval_ns_ / 20, 5'000'000);
  }
}

bool RateLimiter::Admit(int64_t pts_ns) {
  if (interval_ns_ <= 0) return true;
  if (started_) {
    if (pts_ns < next_ns_ - tolerance_ns_) {
      if (next_ns_ - pts_ns <= 2 * interval_ns_) return false;  // too early: drop
      // Jumped back before the last admitted frame: start over below.
    } else if (pts_ns < next_ns_ + interval_ns_) {
      next_ns_ += interval_ns_;  // on the grid: keeps the average rate exact
      return true;
    }
  }
  started_ = true;
  next_ns_ = pts_ns + interval_ns_;  // first frame, or after a gap: re-anchor
  return true;
}

}  // namespace skynet::ingest
