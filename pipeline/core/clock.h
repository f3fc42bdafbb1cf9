// Clock: injectable time source, so that unit tests never sleep.
//
// SystemClock reads the real clocks; FakeClock is advanced by hand in tests.
// Both are safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace skynet {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in microseconds (arbitrary origin), for durations and deadlines.
  virtual int64_t NowMonotonicUs() const = 0;
  // Wall-clock time in microseconds since the Unix epoch, for timestamps in events.
  virtual int64_t NowWallUs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMonotonicUs() const override;
  int64_t NowWallUs() const override;
  // A process-wide instance.
  static SystemClock* Get();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_us = 1'700'000'000'000'000) : mono_(0), wall_(start_us) {}
  int64_t NowMonotonicUs() const override { return mono_.load(); }
  int64_t NowWallUs() const override { return wall_.load(); }
  void AdvanceUs(int64_t us) { mono_ += us; wall_ += us; }

 private:
  std::atomic<int64_t> mono_;
  std::atomic<int64_t> wall_;
};

// CPU time consumed so far, microseconds: by the calling thread (what one camera's analytics
// cost) and by the whole process (benchmarks: honest when other jobs share the cores).
int64_t ThreadCpuUs();
int64_t ProcessCpuUs();

}  // namespace skynet
