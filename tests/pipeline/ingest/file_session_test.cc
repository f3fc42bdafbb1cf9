// CameraSession on file:// sources: sizes, formats, fast mode, looping, times, failures.
#include <gtest/gtest.h>

#include <functional>
#include <opencv2/imgproc.hpp>

#include "pipeline/ingest/camera_session.h"
#include "tests/pipeline/ingest/ingest_test_util.h"

namespace skynet::ingest {
namespace {

using testing::MakeTestVideo;
using testing::Recorder;
using testing::TempDir;
using testing::TestVideo;

SourceOptions FastFile(const std::string& url) {
  SourceOptions o;
  o.camera_id = "file-test";
  o.url = url;
  o.file_realtime = false;
  o.file_loop = false;
  o.analytics_fps = 0;
  o.backoff_initial_ms = 50;
  o.backoff_max_ms = 200;
  return o;
}

void ExpectIncreasingTimes(const std::vector<Frame>& frames) {
  for (size_t i = 1; i < frames.size(); ++i) {
    EXPECT_GT(frames[i].stream_time_us, frames[i - 1].stream_time_us) << "frame " << i;
    EXPECT_GT(frames[i].capture_time_us, frames[i - 1].capture_time_us) << "frame " << i;
    EXPECT_EQ(frames[i].index, frames[i - 1].index + 1);
  }
}

// One pass over the file at `url` in fast mode, with the options `adjust` changes, to its end:
// the frames delivered and the session's counters.
struct Pass {
  std::vector<Frame> frames;
  SessionStats stats;
};
Pass PlayOnce(const std::string& url, const std::function<void(SourceOptions&)>& adjust = {}) {
  Recorder rec;
  SourceOptions o = FastFile(url);
  if (adjust) adjust(o);
  auto session = CameraSession::Create(o, rec.Callbacks());
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  (*session)->Start();
  EXPECT_TRUE(rec.WaitForState(SessionState::kOffline));
  return {rec.frames(), (*session)->stats()};
}

TEST(FileSessionTest, FastModeDeliversEveryFrameInGray) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 45});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  Recorder rec;
  auto session = CameraSession::Create(FastFile(*url), rec.Callbacks());
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOffline));
  EXPECT_TRUE(rec.WaitForEos());
  const auto frames = rec.frames();
  ASSERT_EQ(frames.size(), 45u);
  for (const Frame& f : frames) {
    EXPECT_EQ(f.image.cols, 320);
    EXPECT_EQ(f.image.rows, 180);
    EXPECT_EQ(f.image.type(), CV_8UC1);
    EXPECT_EQ(f.source_width, 640);
    EXPECT_EQ(f.source_height, 360);
  }
  EXPECT_EQ(frames.front().index, 0u);
  EXPECT_EQ(frames.front().stream_time_us, 0);
  EXPECT_NEAR(frames.back().stream_time_us, 44 * 1'000'000 / 15, 1000);
  ExpectIncreasingTimes(frames);
  // The ball moves: frames differ.
  EXPECT_GT(cv::norm(frames[0].image, frames[20].image, cv::NORM_L1), 0);

  const auto states = rec.states();
  ASSERT_GE(states.size(), 3u);
  EXPECT_EQ(states[0].state, SessionState::kConnecting);
  EXPECT_EQ(states[0].reason, StateReason::kStarted);
  EXPECT_EQ(states[1].state, SessionState::kOnline);
  EXPECT_EQ(states[1].reason, StateReason::kConnected);
  EXPECT_EQ(states[1].codec, "h264");
  EXPECT_EQ(states[1].width, 640);
  EXPECT_EQ(states[2].state, SessionState::kOffline);
  EXPECT_EQ(states[2].reason, StateReason::kEndOfStream);

  (*session)->Stop();
  EXPECT_EQ(rec.states().back().state, SessionState::kStopped);
  const SessionStats stats = (*session)->stats();
  EXPECT_EQ(stats.frames_in, 45u);
  EXPECT_EQ(stats.frames_delivered, 45u);
  EXPECT_EQ(stats.frames_rate_limited, 0u);
  EXPECT_EQ(stats.decode_errors, 0u);
  EXPECT_GT(stats.bytes_in, 0u);
  EXPECT_EQ(stats.codec, "h264");
  EXPECT_EQ(stats.reconnects, 0u);
}

TEST(FileSessionTest, ColorGivesBgrAtEvenSizeKeepingAspect) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 10, .width = 704, .height = 576});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  const Pass pass = PlayOnce(*url, [](SourceOptions& o) {
    o.color = true;
    o.detect_width = 320;
  });
  const std::vector<Frame>& frames = pass.frames;
  ASSERT_EQ(frames.size(), 10u);
  EXPECT_EQ(frames[0].image.type(), CV_8UC3);
  EXPECT_EQ(frames[0].image.cols, 320);
  EXPECT_EQ(frames[0].image.rows, 262);  // 320 * 576 / 704 = 261.8 -> even
  EXPECT_EQ(frames[0].source_width, 704);
  // videotestsrc ball: a white ball on black; BGR channels agree on grey content.
  cv::Scalar mean = cv::mean(frames[5].image);
  EXPECT_GT(mean[0] + mean[1] + mean[2], 0);
}

TEST(FileSessionTest, KeptSourceFramesAreTheDecodedFramesAtFullSizeWithoutStallingTheDecoder) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 30, .width = 704, .height = 576});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  Recorder rec;  // holds every frame, so every decoded buffer stays referenced
  SourceOptions o = FastFile(*url);
  o.color = true;
  o.detect_width = 320;
  o.keep_source_frames = true;
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOffline));
  const auto frames = rec.frames();
  ASSERT_EQ(frames.size(), 30u);
  for (const Frame& f : frames) {
    ASSERT_NE(f.source, nullptr) << "frame " << f.index;
    EXPECT_EQ(f.source->width, 704);
    EXPECT_EQ(f.source->height, 576);
    EXPECT_EQ(f.source->planes[0].size(), cv::Size(704, 576));
  }
  // Distinct buffers (no reuse while held), and the same picture as the scaled frame.
  EXPECT_NE(frames[0].source->planes[0].data, frames[29].source->planes[0].data);
  cv::Mat gray, small_y;
  cv::cvtColor(frames[15].image, gray, cv::COLOR_BGR2GRAY);
  cv::resize(frames[15].source->planes[0], small_y, gray.size(), 0, 0, cv::INTER_AREA);
  // Y is limited range (16..235).
  EXPECT_NEAR(cv::mean(gray)[0], (cv::mean(small_y)[0] - 16) * 255 / 219, 6);
}

TEST(FileSessionTest, LoopingKeepsTimesIncreasing) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 20});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  Recorder rec;
  SourceOptions o = FastFile(*url);
  o.file_loop = true;
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForFrames(50));
  (*session)->Stop();
  const auto frames = rec.frames();
  ExpectIncreasingTimes(frames);
  // Second pass starts one file length (20 frames at 15 fps) after the first.
  EXPECT_NEAR(frames[20].stream_time_us, 20 * 1'000'000 / 15, 2000);
  EXPECT_EQ(rec.CountState(SessionState::kOffline), 0u);
  EXPECT_EQ((*session)->stats().reconnects, 0u);
}

TEST(FileSessionTest, RateLimitDropsWithoutDuplicating) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 45});
  ASSERT_TRUE(url.ok());
  const Pass pass = PlayOnce(*url, [](SourceOptions& o) {
    o.analytics_fps = 5;
  });
  const std::vector<Frame>& frames = pass.frames;
  EXPECT_GE(frames.size(), 14u);
  EXPECT_LE(frames.size(), 16u);
  ExpectIncreasingTimes(frames);
  // Original timestamps are kept (multiples of 1/15 s).
  for (const Frame& f : frames) {
    const double n = f.stream_time_us * 15.0 / 1e6;
    EXPECT_NEAR(n, std::round(n), 0.01);
  }
  const SessionStats& stats = pass.stats;
  // x264enc's default preset makes B frames: disposable ones are skipped before the decoder.
  EXPECT_EQ(stats.frames_in + stats.units_skipped, 45u);
  EXPECT_EQ(stats.decoder_errors, 0u);
  // Fast file mode delivers every admitted frame: the rest were dropped by the limit.
  EXPECT_EQ(stats.frames_delivered, frames.size());
  EXPECT_EQ(stats.frames_rate_limited, stats.frames_in - frames.size());
}

TEST(FileSessionTest, HealthTierDecodesKeyFramesOnly) {
  TempDir dir;
  auto url = MakeTestVideo(
      dir.path(),
      TestVideo{.frames = 45, .encoder = "x264enc key-int-max=15 ! h264parse ! mp4mux"});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  const Pass pass = PlayOnce(*url, [](SourceOptions& o) {
    o.analytics = AnalyticsTier::kHealth;
  });
  // Three key frames (0, 15, 30): each decoded, every delta unit skipped before the decoder.
  const std::vector<Frame>& frames = pass.frames;
  ASSERT_EQ(frames.size(), 3u);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_NEAR(frames[i].stream_time_us, int64_t(i) * 1'000'000, 1000) << i;
  }
  const SessionStats& stats = pass.stats;
  EXPECT_EQ(stats.frames_in, 3u);
  EXPECT_EQ(stats.units_skipped, 42u);
  EXPECT_EQ(stats.decoder_errors, 0u);
  EXPECT_EQ(stats.corrupt_frames, 0u);
  EXPECT_EQ(stats.degraded, 0u);
}

TEST(FileSessionTest, RateLimitSkipsDisposableFramesBeforeTheDecoder) {
  TempDir dir;
  // IBBP...: two of three frames are non-reference B frames.
  auto url = MakeTestVideo(dir.path(),
                           TestVideo{.frames = 45,
                                     .encoder = "x264enc bframes=2 b-adapt=false b-pyramid=false "
                                                "key-int-max=15 ! h264parse ! mp4mux"});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  const Pass pass = PlayOnce(*url, [](SourceOptions& o) {
    o.analytics_fps = 5;
  });
  const std::vector<Frame>& frames = pass.frames;
  EXPECT_GE(frames.size(), 12u);
  EXPECT_LE(frames.size(), 16u);
  ExpectIncreasingTimes(frames);
  const SessionStats& stats = pass.stats;
  EXPECT_GE(stats.units_skipped, 15u);           // most B frames never reach the decoder
  EXPECT_EQ(stats.frames_in + stats.units_skipped, 45u);
  EXPECT_EQ(stats.decoder_errors, 0u);
  EXPECT_EQ(stats.corrupt_frames, 0u);
}

TEST(FileSessionTest, RateLimitAboveSourceRateKeepsEveryFrame) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 12, .fps = 4});
  ASSERT_TRUE(url.ok());
  const Pass pass = PlayOnce(*url, [](SourceOptions& o) {
    o.analytics_fps = 5;
  });
  EXPECT_EQ(pass.frames.size(), 12u);
}

TEST(FileSessionTest, MissingFileIsNotFoundAndRetried) {
  Recorder rec;
  SourceOptions o = FastFile("file:///nonexistent/skynet/missing.mp4");
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  auto states = rec.states();
  auto it = std::find_if(states.begin(), states.end(),
                         [](const StateChange& c) { return c.state == SessionState::kWaiting; });
  EXPECT_EQ(it->reason, StateReason::kNotFound) << it->detail;
  // Retried after the backoff: a second connecting.
  EXPECT_TRUE(rec.WaitForStateCount(SessionState::kConnecting, 2));
  (*session)->Stop();
  EXPECT_GE((*session)->stats().reconnects, 1u);
}

TEST(FileSessionTest, UnsupportedCodecIsReported) {
  TempDir dir;
  auto url = MakeTestVideo(dir.path(), TestVideo{.frames = 10,
                                                 .encoder = "vp8enc deadline=1 ! webmmux",
                                                 .extension = "webm"});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  Recorder rec;
  auto session = CameraSession::Create(FastFile(*url), rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  (*session)->Stop();
  for (const auto& c : rec.states()) {
    if (c.state == SessionState::kWaiting) {
      EXPECT_EQ(c.reason, StateReason::kUnsupportedCodec) << c.detail;
      break;
    }
  }
  EXPECT_EQ(rec.frame_count(), 0u);
}

TEST(FileSessionTest, FileWithoutVideoIsUnsupported) {
  TempDir dir;
  const std::string path = dir.path() + "/tone.wav";
  ASSERT_TRUE(
      testing::RunGstPipeline("audiotestsrc num-buffers=20 ! wavenc ! filesink location=" + path)
          .ok());
  Recorder rec;
  SourceOptions o = FastFile("file://" + path);
  o.file_loop = true;  // must not loop forever on a file without frames
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  (*session)->Stop();
  for (const auto& c : rec.states()) {
    if (c.state == SessionState::kWaiting) {
      EXPECT_EQ(c.reason, StateReason::kUnsupportedCodec) << c.detail;
      break;
    }
  }
}

TEST(CameraSessionCreateTest, RejectsBadOptions) {
  SourceOptions o;
  o.camera_id = "x";
  o.url = "http://user:secret@host/x";
  auto r = CameraSession::Create(o, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
  o.url = "rtsp://host/x";
  o.camera_id = "";
  EXPECT_FALSE(CameraSession::Create(o, {}).ok());
  o.camera_id = "x";
  o.detect_width = 0;
  EXPECT_FALSE(CameraSession::Create(o, {}).ok());
}

TEST(CameraSessionCreateTest, StopWithoutStartIsFine) {
  SourceOptions o;
  o.camera_id = "x";
  o.url = "rtsp://127.0.0.1:1/x";
  auto r = CameraSession::Create(o, {});
  ASSERT_TRUE(r.ok());
  (*r)->Stop();
  (*r)->Stop();
}

}  // namespace
}  // namespace skynet::ingest
