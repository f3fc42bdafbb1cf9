#include "pipeline/ingest/rate_limiter.h"

#include <gtest/gtest.h>

namespace skynet::ingest {
namespace {

constexpr int64_t kMs = 1'000'000;

int CountAdmitted(RateLimiter& r, double in_fps, int frames, int64_t start_ns = 0) {
  int n = 0;
  for (int i = 0; i < frames; ++i) n += r.Admit(start_ns + static_cast<int64_t>(i * 1e9 / in_fps));
  return n;
}

TEST(RateLimiterTest, DecimatesToTheTarget) {
  RateLimiter r(5);
  EXPECT_EQ(CountAdmitted(r, 15, 150), 50);  // 10 s
  RateLimiter r30(5);
  EXPECT_EQ(CountAdmitted(r30, 30, 300), 50);
  RateLimiter r25(5);
  EXPECT_EQ(CountAdmitted(r25, 25, 250), 50);
}

TEST(RateLimiterTest, SlowerInputPassesWhole) {
  RateLimiter r(5);
  EXPECT_EQ(CountAdmitted(r, 4, 40), 40);
  RateLimiter fractional(0.5);
  EXPECT_EQ(CountAdmitted(fractional, 10, 100), 5);  // 10 s at 0.5 fps
}

TEST(RateLimiterTest, ToleratesJitter) {
  RateLimiter r(5);
  int n = 0;
  for (int i = 0; i < 150; ++i) {
    const int64_t jitter = (i % 2 ? 3 : -3) * kMs;
    n += r.Admit(i * 1'000'000'000LL / 15 + jitter + 10 * kMs);
  }
  EXPECT_GE(n, 48);
  EXPECT_LE(n, 51);
}

TEST(RateLimiterTest, VariableRateAndGaps) {
  RateLimiter r(5);
  EXPECT_TRUE(r.Admit(0));
  EXPECT_FALSE(r.Admit(50 * kMs));
  EXPECT_TRUE(r.Admit(5000 * kMs));  // after a 5 s gap: re-anchored
  EXPECT_FALSE(r.Admit(5100 * kMs));
  EXPECT_TRUE(r.Admit(5200 * kMs));
}

TEST(RateLimiterTest, BackwardsJumpStartsOver) {
  RateLimiter r(5);
  EXPECT_EQ(CountAdmitted(r, 15, 30), 10);
  EXPECT_TRUE(r.Admit(0));  // looped back to the start
  r.Reset();
  EXPECT_TRUE(r.Admit(10 * kMs));
}

TEST(RateLimiterTest, ZeroMeansNoLimit) {
  RateLimiter r(0);
  EXPECT_EQ(CountAdmitted(r, 60, 120), 120);
}

}  // namespace
}  // namespace skynet::ingest
