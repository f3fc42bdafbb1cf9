// file:// paced like a live camera.
#include <chrono>

#include <gtest/gtest.h>

#include "pipeline/ingest/camera_session.h"
#include "tests/pipeline/ingest/ingest_test_util.h"

namespace skynet::ingest {
namespace {

using testing::MakeTestVideo;
using testing::Recorder;
using testing::TempDir;
using testing::TestVideo;

TEST(FileRealtimeTest, PacedAtSourceSpeedAndRateLimited) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 45});  // 3 s at 15 fps
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  Recorder rec;
  SourceOptions o;
  o.camera_id = "paced";
  o.url = *url;
  o.file_realtime = true;
  o.file_loop = false;
  o.analytics_fps = 5;
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  const auto start = std::chrono::steady_clock::now();
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOffline));
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(elapsed_s, 2.5);
  const auto frames = rec.frames();
  EXPECT_GE(frames.size(), 13u);
  EXPECT_LE(frames.size(), 16u);
  for (size_t i = 1; i < frames.size(); ++i) {
    EXPECT_GT(frames[i].capture_time_us, frames[i - 1].capture_time_us);
  }
  (*session)->Stop();
}

TEST(FileRealtimeTest, LoopsUntilStopped) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 15});  // 1 s
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  Recorder rec;
  SourceOptions o;
  o.camera_id = "paced-loop";
  o.url = *url;
  o.analytics_fps = 0;
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForFrames(40));  // > 2.5 passes
  const auto t0 = std::chrono::steady_clock::now();
  (*session)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  const auto frames = rec.frames();
  for (size_t i = 1; i < frames.size(); ++i) {
    EXPECT_GT(frames[i].stream_time_us, frames[i - 1].stream_time_us);
  }
  EXPECT_EQ(rec.states().back().state, SessionState::kStopped);
}

}  // namespace
}  // namespace skynet::ingest
