// StartLimiter: a node-wide token bucket for pipeline starts (connection attempts), so that
// a thousand cameras coming back at once after a power cut do not storm the node.
//
// Every CameraSession takes a token before it builds a pipeline; without one it waits (in
// state kWaiting, or before its first kConnecting) and asks again. The process-wide
// instance Global() is the default; SetStartRateLimit() configures it (the daemon does, from
// its config). Thread-safe.
//
//   SetStartRateLimit(20, 40);            // 20 starts per second, bursts of 40
//   if (int64_t wait_us = limiter.TryAcquire(); wait_us > 0) sleep(wait_us) and ask again;
#pragma once

#include <cstdint>
#include <mutex>

#include "pipeline/core/clock.h"

namespace skynet::ingest {

class StartLimiter {
 public:
  // `per_second` <= 0: unlimited. `burst` < 1 is taken as 1. The bucket starts full.
  explicit StartLimiter(double per_second = 20, int burst = 40, Clock* clock = SystemClock::Get());

  // Takes a token and returns 0, or takes nothing and returns the microseconds until the
  // next token is due (> 0). Callers wait that long (or less) and ask again.
  int64_t TryAcquire();
  // Changes the rate and burst; the tokens in the bucket are capped at the new burst.
  void SetRate(double per_second, int burst);

  struct Stats {
    uint64_t granted = 0;  // tokens handed out
    uint64_t refused = 0;  // TryAcquire() calls that had to wait
    double per_second = 0;
    int burst = 0;
  };
  Stats stats() const;

  // The process-wide limiter that sessions use unless Create() is given another.
  static StartLimiter& Global();

 private:
  void Refill(int64_t now_us);  // mu_ held

  Clock* const clock_;
  mutable std::mutex mu_;
  double per_second_;
  int burst_;
  double tokens_;
  int64_t last_us_;
  Stats stats_;
};

// Configures StartLimiter::Global(): at most `per_second` pipeline starts per second on this
// node, in bursts of up to `burst`. per_second <= 0 removes the limit.
void SetStartRateLimit(double per_second, int burst);

}  // namespace skynet::ingest
