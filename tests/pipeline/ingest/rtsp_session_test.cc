// CameraSession on rtsp:// against a loopback RTSP server.
#include <chrono>
#include <optional>

#include <gtest/gtest.h>

#include "pipeline/ingest/camera_session.h"
#include "tests/pipeline/ingest/ingest_test_util.h"
#include "tools/camsim/camsim.h"

namespace skynet::ingest {
namespace {

using testing::Recorder;
using testing::RtspTestServer;
using Codec = RtspTestServer::Codec;

SourceOptions Rtsp(const std::string& url) {
  SourceOptions o;
  o.camera_id = "rtsp-test";
  o.url = url;
  o.analytics_fps = 5;
  o.backoff_initial_ms = 100;
  o.backoff_max_ms = 400;
  return o;
}

// A camsim server with short loops (quick to encode) for each of `cameras`.
std::unique_ptr<camsim::Server> StartCamsim(std::vector<camsim::CameraSpec> cameras) {
  for (auto& c : cameras) c.loop_seconds = 3;
  auto server = camsim::Server::Create({.cameras = std::move(cameras)});
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return nullptr;
  const Status st = (*server)->Start();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return st.ok() ? std::move(*server) : nullptr;
}

std::optional<StateChange> FirstState(const std::vector<StateChange>& states, SessionState s) {
  for (const auto& c : states) {
    if (c.state == s) return c;
  }
  return std::nullopt;
}

void ExpectFramesFlow(const std::string& codec_name) {
  auto server = StartCamsim({{.name = "cam", .codec = codec_name}});
  ASSERT_TRUE(server);
  Recorder rec;
  auto session = CameraSession::Create(Rtsp(server->Url("cam")), rec.Callbacks());
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const int64_t start_wall = SystemClock::Get()->NowWallUs();
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForFrames(10));
  const auto states = rec.states();
  ASSERT_GE(states.size(), 2u);
  EXPECT_EQ(states[0].state, SessionState::kConnecting);
  EXPECT_EQ(states[0].reason, StateReason::kStarted);
  EXPECT_EQ(states[1].state, SessionState::kOnline);
  EXPECT_EQ(states[1].codec, codec_name);
  EXPECT_EQ(states[1].width, 640);
  EXPECT_EQ(states[1].height, 360);
  const auto frames = rec.frames();
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].image.cols, 320);
    EXPECT_EQ(frames[i].image.rows, 180);
    EXPECT_EQ(frames[i].image.type(), CV_8UC1);
    EXPECT_GE(frames[i].capture_time_us, start_wall - 1'000'000);
    EXPECT_LE(frames[i].capture_time_us, SystemClock::Get()->NowWallUs());
    if (i > 0) {
      EXPECT_GT(frames[i].stream_time_us, frames[i - 1].stream_time_us);
    }
  }
  // ~5 fps out of 15.
  const double span_s = (frames.back().stream_time_us - frames.front().stream_time_us) / 1e6;
  EXPECT_NEAR((frames.size() - 1) / span_s, 5.0, 1.0);
  const auto t0 = std::chrono::steady_clock::now();
  (*session)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(rec.states().back().state, SessionState::kStopped);
  EXPECT_EQ((*session)->stats().codec, codec_name);
}

TEST(RtspSessionTest, H264FramesArriveOnline) { ExpectFramesFlow("h264"); }

TEST(RtspSessionTest, H265FramesArriveOnline) { ExpectFramesFlow("h265"); }

TEST(RtspSessionTest, UdpTransportWorksInColor) {
  auto server = StartCamsim({{.name = "cam"}});
  ASSERT_TRUE(server);
  Recorder rec;
  SourceOptions o = Rtsp(server->Url("cam"));
  o.rtsp_tcp = false;
  o.color = true;
  o.detect_width = 160;
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForFrames(5));
  (*session)->Stop();
  const auto frames = rec.frames();
  EXPECT_EQ(frames[0].image.type(), CV_8UC3);
  EXPECT_EQ(frames[0].image.cols, 160);
  EXPECT_EQ(frames[0].image.rows, 90);
}

TEST(RtspSessionTest, ClosedPortIsRefusedAndRetriedWithBackoff) {
  testing::ClosedPort closed;
  const std::string url =
      "rtsp://admin:hunter2@127.0.0.1:" + std::to_string(closed.port()) + "/cam";
  Recorder rec;
  auto session = CameraSession::Create(Rtsp(url), rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForStateCount(SessionState::kWaiting, 3));
  (*session)->Stop();
  const auto states = rec.states();
  const std::optional<StateChange> waiting = FirstState(states, SessionState::kWaiting);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->reason, StateReason::kRefused) << waiting->detail;
  EXPECT_LE(waiting->retry_in_ms, 100);
  for (const auto& c : states) {
    EXPECT_EQ(c.detail.find("hunter2"), std::string::npos) << c.detail;
    if (c.state == SessionState::kWaiting) {
      EXPECT_LE(c.retry_in_ms, 400);
    }
  }
  EXPECT_GE((*session)->stats().reconnects, 2u);
  EXPECT_EQ(rec.frame_count(), 0u);
}

TEST(RtspSessionTest, WrongPathIsNotFound) {
  auto server = StartCamsim({{.name = "cam"}});
  ASSERT_TRUE(server);
  Recorder rec;
  auto session = CameraSession::Create(Rtsp(server->Url("nope")), rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  (*session)->Stop();
  const std::optional<StateChange> waiting = FirstState(rec.states(), SessionState::kWaiting);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->reason, StateReason::kNotFound) << waiting->detail;
}

TEST(RtspSessionTest, UnsupportedCodecIsReported) {
  auto server = RtspTestServer::Start({{"/vp8", Codec::kVp8}});
  ASSERT_TRUE(server.ok());
  Recorder rec;
  auto session = CameraSession::Create(Rtsp((*server)->Url("/vp8")), rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  (*session)->Stop();
  const std::optional<StateChange> waiting = FirstState(rec.states(), SessionState::kWaiting);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->reason, StateReason::kUnsupportedCodec) << waiting->detail;
}

TEST(RtspSessionTest, ServerGoneIsOfflineAndRetried) {
  auto server = StartCamsim({{.name = "cam"}});
  ASSERT_TRUE(server);
  Recorder rec;
  SourceOptions o = Rtsp(server->Url("cam"));
  o.stall_timeout_ms = 1500;
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline));
  server->Stop();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  const std::optional<StateChange> waiting = FirstState(rec.states(), SessionState::kWaiting);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_NE(waiting->reason, StateReason::kConnected);
  // Keeps retrying while the server is gone.
  ASSERT_TRUE(rec.WaitForStateCount(SessionState::kConnecting, 3));
  const auto t0 = std::chrono::steady_clock::now();
  (*session)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(RtspSessionTest, CaptureTimesFollowRtcpSenderReports) {
  auto server = StartCamsim({{.name = "cam"}});
  ASSERT_TRUE(server);
  Recorder rec;
  auto session = CameraSession::Create(Rtsp(server->Url("cam")), rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline));
  // The first SR arrives within a few seconds.
  bool synced = false;
  for (int i = 0; i < 150 && !synced; ++i) {
    synced = (*session)->stats().rtcp_sync;
    if (!synced) rec.WaitForState(SessionState::kStopped, std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(synced);
  EXPECT_LT(std::abs((*session)->stats().camera_clock_offset_us), 1'000'000);
  const size_t n = rec.frame_count();
  ASSERT_TRUE(rec.WaitForFrames(n + 5));
  const auto frames = rec.frames();
  const int64_t now = SystemClock::Get()->NowWallUs();
  // Same host: the sender's NTP clock is ours.
  EXPECT_NEAR(frames.back().capture_time_us, now, 1'000'000);
  for (size_t i = n + 1; i < frames.size(); ++i) {
    EXPECT_GT(frames[i].capture_time_us, frames[i - 1].capture_time_us);
  }
  (*session)->Stop();
}

TEST(RtspSessionTest, FrozenCameraStallsThenRecovers) {
  auto server = RtspTestServer::Start({{"/cam", Codec::kH264}});
  ASSERT_TRUE(server.ok());
  Recorder rec;
  SourceOptions o = Rtsp((*server)->Url("/cam"));
  o.stall_timeout_ms = 1000;
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline));
  (*server)->SetFrozen(true);
  ASSERT_TRUE(rec.WaitForState(SessionState::kStalled));
  const std::optional<StateChange> stalled = FirstState(rec.states(), SessionState::kStalled);
  ASSERT_TRUE(stalled.has_value());
  EXPECT_EQ(stalled->reason, StateReason::kStall);
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  EXPECT_EQ(FirstState(rec.states(), SessionState::kWaiting)->reason, StateReason::kStall);
  (*server)->SetFrozen(false);
  ASSERT_TRUE(rec.WaitForStateCount(SessionState::kOnline, 2));
  (*session)->Stop();
  const SessionStats stats = (*session)->stats();
  EXPECT_GE(stats.stalls, 1u);
  EXPECT_GE(stats.reconnects, 1u);
}

TEST(RtspSessionTest, WrongPasswordIsAuthFailedAndRightOneWorks) {
  auto server = RtspTestServer::Start({{"/cam", Codec::kH264}}, "viewer", "correct-horse");
  ASSERT_TRUE(server.ok());
  {
    Recorder rec;
    SourceOptions o = Rtsp((*server)->Url("/cam"));
    o.username = "viewer";
    o.password = "battery-staple";
    auto session = CameraSession::Create(o, rec.Callbacks());
    ASSERT_TRUE(session.ok());
    (*session)->Start();
    ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
    (*session)->Stop();
    const std::optional<StateChange> waiting = FirstState(rec.states(), SessionState::kWaiting);
    EXPECT_EQ(waiting->reason, StateReason::kAuthFailed) << waiting->detail;
    EXPECT_EQ(waiting->detail.find("battery-staple"), std::string::npos);
  }
  {
    Recorder rec;
    const std::string url = "rtsp://viewer:correct-horse@127.0.0.1:" +
                            std::to_string((*server)->port()) + "/cam";
    auto session = CameraSession::Create(Rtsp(url), rec.Callbacks());
    ASSERT_TRUE(session.ok());
    (*session)->Start();
    ASSERT_TRUE(rec.WaitForFrames(3));
    (*session)->Stop();
  }
}

TEST(RtspSessionTest, SilentServerTimesOutAndStopIsPrompt) {
  testing::SilentServer silent;
  Recorder rec;
  SourceOptions o = Rtsp("rtsp://127.0.0.1:" + std::to_string(silent.port()) + "/cam");
  o.connect_timeout_ms = 1000;
  auto session = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(session.ok());
  (*session)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  EXPECT_EQ(FirstState(rec.states(), SessionState::kWaiting)->reason, StateReason::kTimeout)
      << FirstState(rec.states(), SessionState::kWaiting)->detail;
  // Stop while the next attempt hangs in the RTSP handshake.
  ASSERT_TRUE(rec.WaitForStateCount(SessionState::kConnecting, 2));
  const auto t0 = std::chrono::steady_clock::now();
  (*session)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_EQ(rec.states().back().state, SessionState::kStopped);
}

}  // namespace
}  // namespace skynet::ingest
