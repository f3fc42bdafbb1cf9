// Backoff: reconnect delays with exponential growth and full jitter.
//
// The n-th delay (n from 0) is uniform in [0, min(max_ms, initial_ms * 2^n)] ("full jitter":
// cameras that failed together do not retry together). Deterministic for a given seed.
// Not thread-safe: owned by one session thread.
#pragma once

#include <cstdint>
#include <random>

namespace skynet::ingest {

class Backoff {
 public:
  Backoff(int initial_ms, int max_ms, uint64_t seed);

  // Returns the next delay in milliseconds and counts one more failure.
  int64_t NextDelayMs();
  // The cap the next delay is drawn under: min(max_ms, initial_ms * 2^failures).
  int64_t CurrentCapMs() const;
  // Back to the initial delay, after a connection that worked for a while.
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  int64_t initial_ms_;
  int64_t max_ms_;
  int failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace skynet::ingest
