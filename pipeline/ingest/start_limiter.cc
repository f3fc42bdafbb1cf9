#include "pipeline/ingest/start_limiter.h"

#include <algorithm>
#include <cmath>

namespace skynet::ingest {

StartLimiter::StartLimiter(double per_second, int burst, Clock* clock)
    : clock_(clock),
      per_second_(per_second),
      burst_(std::max(1, burst)),
      tokens_(std::max(1, burst)),
      last_us_(clock->NowMonotonicUs()) {}

void StartLimiter::Refill(int64_t now_us) {
  if (per_second_ > 0 && now_us > last_us_) {
    tokens_ = std::min<double>(burst_, tokens_ + (now_us - last_us_) * per_second_ / 1e6);
  }
  last_us_ = std::max(last_us_, now_us);
}

int64_t StartLimiter::TryAcquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (per_second_ <= 0) {
    ++stats_.granted;
    return 0;
  }
  Refill(clock_->NowMonotonicUs());
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    ++stats_.granted;
    return 0;
  }
  ++stats_.refused;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - tokens_) * 1e6 / per_second_)));
}

void StartLimiter::SetRate(double per_second, int burst) {
  std::lock_guard<std::mutex> lock(mu_);
  Refill(clock_->NowMonotonicUs());
  per_second_ = per_second;
  burst_ = std::max(1, burst);
  tokens_ = std::min<double>(tokens_, burst_);
}

StartLimiter::Stats StartLimiter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.per_second = per_second_;
  s.burst = burst_;
  return s;
}

StartLimiter& StartLimiter::Global() {
  static StartLimiter* limiter = new StartLimiter();  // leaked: sessions may outlive statics
  return *limiter;
}

void SetStartRateLimit(double per_second, int burst) {
  StartLimiter::Global().SetRate(per_second, burst);
}

}  // namespace skynet::ingest
