#include "pipeline/core/clock.h"

#include <time.h>

#include <chrono>

namespace skynet {

int64_t SystemClock::NowMonotonicUs() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t SystemClock::NowWallUs() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
int64_t CpuUs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}
}  // namespace

int64_t ThreadCpuUs() { return CpuUs(CLOCK_THREAD_CPUTIME_ID); }
int64_t ProcessCpuUs() { return CpuUs(CLOCK_PROCESS_CPUTIME_ID); }

SystemClock* SystemClock::Get() {
  static SystemClock clock;
  return &clock;
}

}  // namespace skynet
