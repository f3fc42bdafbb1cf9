#include "pipeline/ingest/backoff.h"

#include <algorithm>

namespace skynet::ingest {

Backoff::Backoff(int initial_ms, int max_ms, uint64_t seed)
    : initial_ms_(std::max(1, initial_ms)),
      max_ms_(std::max<int64_t>(std::max(1, initial_ms), max_ms)),
      rng_(seed) {}

int64_t Backoff::CurrentCapMs() const {
  int64_t cap = initial_ms_;
  for (int i = 0; i < failures_ && cap < max_ms_; ++i) cap *= 2;  // no overflow: stops at max
  return std::min(cap, max_ms_);
}

int64_t Backoff::NextDelayMs() {
  const int64_t cap = CurrentCapMs();
  ++failures_;
  std::uniform_int_distribution<int64_t> dist(0, cap);
  return dist(rng_);
}

}  // namespace skynet::ingest
