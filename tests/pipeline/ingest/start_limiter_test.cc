#include "pipeline/ingest/start_limiter.h"

#include <gtest/gtest.h>

namespace skynet::ingest {
namespace {

TEST(StartLimiterTest, GrantsABurstThenOneTokenPerInterval) {
  FakeClock clock;
  StartLimiter limiter(10, 3, &clock);  // 10 per second: one token every 100 ms
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.TryAcquire(), 0) << i;
  const int64_t wait = limiter.TryAcquire();
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, 100'000);
  clock.AdvanceUs(wait);
  EXPECT_EQ(limiter.TryAcquire(), 0);
  EXPECT_GT(limiter.TryAcquire(), 0);
  clock.AdvanceUs(10'000'000);  // a long pause refills only up to the burst
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.TryAcquire(), 0) << i;
  EXPECT_GT(limiter.TryAcquire(), 0);
  EXPECT_EQ(limiter.stats().granted, 7u);
  EXPECT_EQ(limiter.stats().refused, 3u);
}

TEST(StartLimiterTest, SetRateCapsTheBucketAndZeroMeansUnlimited) {
  FakeClock clock;
  StartLimiter limiter(100, 50, &clock);
  limiter.SetRate(1, 2);
  EXPECT_EQ(limiter.TryAcquire(), 0);
  EXPECT_EQ(limiter.TryAcquire(), 0);
  EXPECT_NEAR(limiter.TryAcquire(), 1'000'000, 1);
  limiter.SetRate(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.TryAcquire(), 0);
  EXPECT_EQ(limiter.stats().per_second, 0);
}

}  // namespace
}  // namespace skynet::ingest
