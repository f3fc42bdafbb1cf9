#include "pipeline/ingest/encoded_ring.h"

#include <gtest/gtest.h>

namespace skynet::ingest {
namespace {

// A unit captured at `t_ms`, key or delta, of `bytes` bytes.
EncodedUnit Unit(int64_t t_ms, bool key, size_t bytes = 100) {
  EncodedUnit u;
  u.capture_us = t_ms * 1000;
  u.pts_ns = u.dts_ns = t_ms * 1'000'000;
  u.key = key;
  u.data = std::make_shared<const std::string>(bytes, key ? 'K' : 'd');
  return u;
}

// 10 frames a second, a key frame every second, from t=0 to `seconds`.
void Feed(EncodedRing& ring, int seconds, size_t bytes = 100) {
  for (int i = 0; i < seconds * 10; ++i) ring.Push(Unit(i * 100, i % 10 == 0, bytes));
}

TEST(EncodedRingTest, KeepsThePreRollFromAKeyFrameAndNoMore) {
  EncodedRing ring({.max_bytes = 1 << 20, .keep_us = 5'000'000});
  Feed(ring, 20);
  const EncodedRingStats st = ring.stats();
  // Newest at 19.9 s: the oldest kept key frame is at or before 14.9 s (14 s), none older.
  EXPECT_EQ(st.oldest_us, 14'000'000);
  EXPECT_EQ(st.newest_us, 19'900'000);
  EXPECT_EQ(st.units, 60);
  EXPECT_EQ(st.bytes, 6000);
  EXPECT_EQ(st.evicted_for_bytes, 0u);
}

TEST(EncodedRingTest, FindsTheKeyFrameAtOrBeforeATime) {
  EncodedRing ring({.max_bytes = 1 << 20, .keep_us = 5'000'000});
  Feed(ring, 20);
  auto seq = ring.KeyFrameAtOrBefore(16'500'000);
  ASSERT_TRUE(seq);
  std::vector<EncodedUnit> units = ring.ReadFrom(*seq, 1000);
  ASSERT_FALSE(units.empty());
  EXPECT_TRUE(units.front().key);
  EXPECT_EQ(units.front().capture_us, 16'000'000);
  EXPECT_EQ(units.back().capture_us, 19'900'000);
  // Exactly on a key frame: that one.
  EXPECT_EQ(ring.ReadFrom(*ring.KeyFrameAtOrBefore(17'000'000), 1).front().capture_us, 17'000'000);
  // Before the ring: its oldest key frame (a short pre-roll).
  EXPECT_EQ(ring.ReadFrom(*ring.KeyFrameAtOrBefore(1'000'000), 1).front().capture_us, 14'000'000);
  // Reading on from a seq gives the following units in order.
  std::vector<EncodedUnit> next = ring.ReadFrom(units[3].seq, 2);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].seq, units[3].seq);
  EXPECT_EQ(next[1].seq, units[3].seq + 1);
}

TEST(EncodedRingTest, ByteCapEvictsWholeGroupsAndStillStartsAtAKeyFrame) {
  EncodedRing ring({.max_bytes = 2500, .keep_us = 5'000'000});
  Feed(ring, 20);
  const EncodedRingStats st = ring.stats();
  EXPECT_LE(st.bytes, 2500);
  EXPECT_GT(st.evicted_for_bytes, 0u);
  std::vector<EncodedUnit> units = ring.ReadFrom(0, 1000);
  ASSERT_FALSE(units.empty());
  EXPECT_TRUE(units.front().key);
  EXPECT_EQ(units.back().capture_us, 19'900'000);
}

TEST(EncodedRingTest, DeltaUnitsBeforeTheFirstKeyFrameAreDropped) {
  EncodedRing ring({.max_bytes = 1 << 20, .keep_us = 5'000'000});
  ring.Push(Unit(0, false));
  ring.Push(Unit(100, false));
  EXPECT_FALSE(ring.KeyFrameAtOrBefore(1'000'000));
  ring.Push(Unit(200, true));
  ring.Push(Unit(300, false));
  const EncodedRingStats st = ring.stats();
  EXPECT_EQ(st.dropped_no_key, 2u);
  EXPECT_EQ(st.units, 2);
  EXPECT_EQ(ring.ReadFrom(0, 10).front().seq, 1u);
  ring.Clear();
  EXPECT_EQ(ring.stats().units, 0);
  EXPECT_FALSE(ring.KeyFrameAtOrBefore(1'000'000));
}

}  // namespace
}  // namespace skynet::ingest
