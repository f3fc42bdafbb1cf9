// The session's waits run on the injected Clock: reconnect backoff does not use real time.
#include <gtest/gtest.h>

#include "pipeline/core/clock.h"
#include "pipeline/ingest/camera_session.h"
#include "tests/pipeline/ingest/ingest_test_util.h"

namespace skynet::ingest {
namespace {

TEST(SessionClockTest, BackoffWaitsOnTheInjectedClock) {
  FakeClock clock;
  testing::Recorder rec;
  SourceOptions o;
  o.camera_id = "fake-clock";
  testing::ClosedPort closed;
  o.url = "rtsp://127.0.0.1:" + std::to_string(closed.port()) + "/cam";
  o.backoff_initial_ms = 10'000;  // ten fake seconds
  o.backoff_max_ms = 10'000;
  auto session = CameraSession::Create(o, rec.Callbacks(), &clock);
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  int64_t retry_ms = 0;
  for (const auto& c : rec.states()) {
    if (c.state == SessionState::kWaiting) retry_ms = c.retry_in_ms;
  }
  if (retry_ms > 0) {
    // Real time passes, fake time does not: no second attempt.
    EXPECT_FALSE(rec.WaitForStateCount(SessionState::kConnecting, 2, std::chrono::milliseconds(300)));
  }
  clock.AdvanceUs((retry_ms + 1) * 1000);
  EXPECT_TRUE(rec.WaitForStateCount(SessionState::kConnecting, 2));
  (*session)->Stop();
  EXPECT_EQ(rec.states().back().state, SessionState::kStopped);
}

}  // namespace
}  // namespace skynet::ingest
