#include "pipeline/ingest/decode_health.h"

#include <gtest/gtest.h>

namespace skynet::ingest {
namespace {

using Change = DecodeHealth::Change;
constexpr int64_t kPollUs = 100'000;

// A clean stream at 10 fps: one unit in, one frame out per poll.
struct Stream {
  DecodeTotals t;
  int64_t now = 1'000'000;
  DecodeHealth::Verdict Poll(DecodeHealth& h, uint64_t errors = 0, bool frame = true) {
    now += kPollUs;
    t.units_in += 1;
    t.frames_out += frame ? 1 : 0;
    t.decoder_errors += errors;
    return h.Observe(now, t);
  }
};

TEST(DecodeHealthTest, CleanStreamStaysClean) {
  DecodeHealth h;
  Stream s;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Poll(h).change, Change::kNone);
  EXPECT_FALSE(h.degraded());
}

TEST(DecodeHealthTest, ALoneErrorIsNotDegraded) {
  DecodeHealth h;
  Stream s;
  for (int i = 0; i < 10; ++i) s.Poll(h);
  EXPECT_EQ(s.Poll(h, 1).change, Change::kNone);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(s.Poll(h).change, Change::kNone);
}

TEST(DecodeHealthTest, ConcealedErrorsDegradeWithinTheWindowAndCleanUpAfter) {
  DecodeHealth h;
  Stream s;
  for (int i = 0; i < 10; ++i) s.Poll(h);
  EXPECT_EQ(s.Poll(h, 1).change, Change::kNone);
  const DecodeHealth::Verdict v = s.Poll(h, 3);  // frames still come out: concealed
  ASSERT_EQ(v.change, Change::kDegraded);
  EXPECT_EQ(v.latency_us, kPollUs);  // from the first error seen
  EXPECT_NE(v.detail.find("4 decoder errors"), std::string::npos) << v.detail;
  EXPECT_TRUE(h.degraded());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.Poll(h, 2).change, Change::kNone);
  for (int i = 0; i < 19; ++i) EXPECT_EQ(s.Poll(h).change, Change::kNone);  // clean 1.9 s
  EXPECT_EQ(s.Poll(h).change, Change::kClean);
  EXPECT_FALSE(h.degraded());
}

TEST(DecodeHealthTest, UnitsWithoutFramesDegrade) {
  DecodeHealth h;
  Stream s;
  for (int i = 0; i < 10; ++i) s.Poll(h);
  DecodeHealth::Verdict v;
  int polls = 0;
  while (v.change == Change::kNone && polls < 20) {
    v = s.Poll(h, 0, false);
    ++polls;
  }
  EXPECT_EQ(v.change, Change::kDegraded);
  EXPECT_LE(polls, 10);  // within the 1 s window
  EXPECT_NE(v.detail.find("0 frames from"), std::string::npos) << v.detail;
}

TEST(DecodeHealthTest, CorruptFramesAndDecodeWarningsCount) {
  DecodeHealth h;
  Stream s;
  s.Poll(h);
  s.t.corrupt_frames += 1;
  s.t.decode_warnings += 1;
  EXPECT_EQ(s.Poll(h).change, Change::kDegraded);
}

}  // namespace
}  // namespace skynet::ingest
