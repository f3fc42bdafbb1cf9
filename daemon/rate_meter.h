// RateMeter: events per second over a sliding window, from one writer and any readers.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>

namespace skynet::daemon {

class RateMeter {
 public:
  // Records one event at monotonic time `now_us`.
  void Tick(int64_t now_us) {
    std::lock_guard<std::mutex> lock(mu_);
    times_[next_ % times_.size()] = now_us;
    ++next_;
  }
  // Events per second over the recorded window; 0 if fewer than two events or the newest is
  // older than `stale_us`.
  double PerSecond(int64_t now_us, int64_t stale_us = 3'000'000) const {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t n = next_ < times_.size() ? next_ : times_.size();
    if (n < 2) return 0.0;
    const int64_t newest = times_[(next_ - 1) % times_.size()];
    const int64_t oldest = times_[(next_ - n) % times_.size()];
    if (now_us - newest > stale_us || newest <= oldest) return 0.0;
    return static_cast<double>(n - 1) * 1e6 / static_cast<double>(newest - oldest);
  }

 private:
  mutable std::mutex mu_;
  std::array<int64_t, 32> times_{};
  uint64_t next_ = 0;
};

}  // namespace skynet::daemon
