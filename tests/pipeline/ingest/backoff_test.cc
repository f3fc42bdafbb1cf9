#include "pipeline/ingest/backoff.h"

#include <gtest/gtest.h>

namespace skynet::ingest {
namespace {

TEST(ReconnectBackoffTest, DoublesUntilCap) {
  Backoff b(1000, 60000, 1);
  const int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (int64_t cap : expected) {
    EXPECT_EQ(b.CurrentCapMs(), cap);
    const int64_t d = b.NextDelayMs();
    EXPECT_GE(d, 0);
    EXPECT_LE(d, cap);
  }
}

TEST(ReconnectBackoffTest, FullJitterSpreadsOverTheWholeRange) {
  Backoff b(1000, 1000, 7);
  int64_t lo = 1000, hi = 0;
  for (int i = 0; i < 500; ++i) {
    const int64_t d = b.NextDelayMs();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 100);
  EXPECT_GT(hi, 900);
}

TEST(ReconnectBackoffTest, SameSeedSameDelays) {
  Backoff a(500, 8000, 42), b(500, 8000, 42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.NextDelayMs(), b.NextDelayMs());
}

TEST(ReconnectBackoffTest, ResetStartsOver) {
  Backoff b(100, 10000, 3);
  for (int i = 0; i < 5; ++i) (void)b.NextDelayMs();
  EXPECT_EQ(b.CurrentCapMs(), 3200);
  b.Reset();
  EXPECT_EQ(b.CurrentCapMs(), 100);
  EXPECT_EQ(b.failures(), 0);
}

TEST(ReconnectBackoffTest, HugeFailureCountsDoNotOverflow) {
  Backoff b(1000, 60000, 5);
  for (int i = 0; i < 200; ++i) EXPECT_LE(b.NextDelayMs(), 60000);
  EXPECT_EQ(b.CurrentCapMs(), 60000);
}

}  // namespace
}  // namespace skynet::ingest
