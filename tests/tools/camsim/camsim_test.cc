#include "tools/camsim/camsim.h"

#include <chrono>
#include <fstream>
#include <thread>

#include <gst/gst.h>
#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "tests/testing/wait.h"
#include "tests/tools/camsim/rtsp_probe.h"
#include "tools/camsim/encoded_loop.h"
#include "tools/scenegen/scene.h"

namespace skynet::camsim {
namespace {

using testing::RtspProbe;
using namespace std::chrono_literals;

std::unique_ptr<Server> StartServer(std::vector<CameraSpec> cameras) {
  auto server = Server::Create({.cameras = std::move(cameras)});
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return nullptr;
  EXPECT_TRUE((*server)->Start().ok());
  return std::move(server).value();
}

TEST(CamsimServerTest, ServesTrafficAndStaticFramesOfTheRightSize) {
  auto server = StartServer(
      {{.name = "cam1", .loop_seconds = 4},
       {.name = "still", .scene = "static", .width = 320, .height = 240, .loop_seconds = 2}});
  ASSERT_TRUE(server);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->Url("cam1"), "rtsp://127.0.0.1:" + std::to_string(server->port()) + "/cam1");

  RtspProbe traffic(server->Url("cam1"));
  RtspProbe still(server->Url("still"));
  ASSERT_TRUE(traffic.WaitForFrames(10)) << traffic.error();
  ASSERT_TRUE(still.WaitForFrames(10)) << still.error();
  EXPECT_EQ(traffic.width(), 640);
  EXPECT_EQ(traffic.height(), 360);
  EXPECT_EQ(still.width(), 320);
  EXPECT_EQ(still.height(), 240);
}

TEST(CamsimServerTest, StaticCameraShowsTheRenderedScene) {
  auto server = StartServer({{.name = "still", .scene = "static", .seed = 7, .loop_seconds = 1}});
  ASSERT_TRUE(server);
  RtspProbe probe(server->Url("still"));
  ASSERT_TRUE(probe.WaitForFrames(5)) << probe.error();
  std::vector<uint8_t> got = probe.LastFrame();
  ASSERT_EQ(got.size(), 640u * 360u);

  auto renderer = scenegen::SceneRenderer::Create(
      {.kind = scenegen::SceneKind::kStatic, .width = 640, .height = 360, .seed = 7});
  ASSERT_TRUE(renderer.ok());
  cv::Mat bgr, expected;
  (*renderer)->Render(0, &bgr);
  cv::cvtColor(bgr, expected, cv::COLOR_BGR2GRAY);
  cv::Mat decoded(360, 640, CV_8UC1, got.data());
  // Correlation ignores the limited-range luma mapping; blurring ignores coding noise.
  auto similarity = [](const cv::Mat& a, const cv::Mat& b) {
    cv::Mat fa, fb, r;
    cv::GaussianBlur(a, fa, cv::Size(5, 5), 0);
    cv::GaussianBlur(b, fb, cv::Size(5, 5), 0);
    cv::matchTemplate(fa, fb, r, cv::TM_CCOEFF_NORMED);
    return r.at<float>(0, 0);
  };
  const float same = similarity(decoded, expected);
  auto other = scenegen::SceneRenderer::Create(
      {.kind = scenegen::SceneKind::kStatic, .width = 640, .height = 360, .seed = 8});
  ASSERT_TRUE(other.ok());
  (*other)->Render(0, &bgr);
  cv::cvtColor(bgr, expected, cv::COLOR_BGR2GRAY);
  const float different = similarity(decoded, expected);
  EXPECT_GT(same, 0.98f);
  EXPECT_LT(different, same - 0.05f);
}

TEST(CamsimServerTest, PacesFramesInRealTime) {
  auto server = StartServer({{.name = "cam1", .fps = 10, .loop_seconds = 2}});
  ASSERT_TRUE(server);
  RtspProbe probe(server->Url("cam1"));
  ASSERT_TRUE(probe.WaitForFrames(31)) << probe.error();
  // 20 frame intervals at 10 fps: 2 s. A burst (no pacing) would take a few milliseconds.
  const double seconds =
      std::chrono::duration<double>(probe.FrameTime(31) - probe.FrameTime(11)).count();
  EXPECT_GT(seconds, 1.4);
  EXPECT_LT(seconds, 4.0);
}

TEST(CamsimServerTest, TwoClientsShareOneMedia) {
  auto server = StartServer({{.name = "cam1", .loop_seconds = 3}});
  ASSERT_TRUE(server);
  RtspProbe a(server->Url("cam1"));
  ASSERT_TRUE(a.WaitForFrames(3)) << a.error();
  RtspProbe b(server->Url("cam1"));
  ASSERT_TRUE(a.WaitForFrames(10)) << a.error();
  ASSERT_TRUE(b.WaitForFrames(10)) << b.error();
  auto stats = server->Stats("cam1");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->medias_created, 1u);
  EXPECT_EQ(stats->active_medias, 1);
}

TEST(CamsimServerTest, ClientCanDisconnectAndReconnect) {
  auto server = StartServer({{.name = "cam1", .loop_seconds = 2}});
  ASSERT_TRUE(server);
  for (int round = 0; round < 3; ++round) {
    RtspProbe probe(server->Url("cam1"));
    ASSERT_TRUE(probe.WaitForFrames(10)) << "round " << round << ": " << probe.error();
    probe.Close();
    // Reconnect immediately in rounds 0-1; in the last round after the media was released.
    if (round == 1) {
      EXPECT_TRUE(skynet::testing::WaitFor([&] { return server->Stats("cam1")->active_medias == 0; }, 15s));
    }
  }
  EXPECT_GE(server->Stats("cam1")->medias_created, 2u);
}

TEST(CamsimServerTest, OneClientLeavingDoesNotDisturbTheOther) {
  auto server = StartServer({{.name = "cam1", .loop_seconds = 2}});
  ASSERT_TRUE(server);
  RtspProbe stays(server->Url("cam1"));
  ASSERT_TRUE(stays.WaitForFrames(5)) << stays.error();
  {
    RtspProbe leaves(server->Url("cam1"));
    ASSERT_TRUE(leaves.WaitForFrames(5)) << leaves.error();
  }
  const int before = stays.frames();
  ASSERT_TRUE(stays.WaitForFrames(before + 15)) << stays.error();
  EXPECT_EQ(server->Stats("cam1")->medias_created, 1u);
}

TEST(CamsimServerTest, SurvivesRapidReconnects) {
  auto server = StartServer({{.name = "cam1", .width = 320, .height = 240, .loop_seconds = 1}});
  ASSERT_TRUE(server);
  for (int round = 0; round < 8; ++round) {
    RtspProbe probe(server->Url("cam1"));
    // Odd rounds leave before any frame arrived: teardown while the media is preparing.
    if (round % 2 == 1) continue;
    ASSERT_TRUE(probe.WaitForFrames(3)) << "round " << round << ": " << probe.error();
  }
  RtspProbe last(server->Url("cam1"));
  ASSERT_TRUE(last.WaitForFrames(10)) << last.error();
}

TEST(CamsimServerTest, ServesManyCamerasAtOnce) {
  std::vector<CameraSpec> specs;
  for (int i = 0; i < 6; ++i) {
    specs.push_back({.name = "cam" + std::to_string(i),
                     .width = 320,
                     .height = 180,
                     .seed = static_cast<uint32_t>(1 + i % 2),
                     .loop_seconds = 2});
  }
  auto server = StartServer(specs);
  ASSERT_TRUE(server);
  std::vector<std::unique_ptr<RtspProbe>> probes;
  for (const auto& s : specs) probes.push_back(std::make_unique<RtspProbe>(server->Url(s.name)));
  for (auto& p : probes) ASSERT_TRUE(p->WaitForFrames(10)) << p->error();
}

TEST(CamsimServerTest, CamerasWithIdenticalSpecsShareOneLoop) {
  // Three cameras, two distinct loops: Create() encodes twice. We can only observe that all
  // serve, and that a shared loop does not couple their media.
  auto server = StartServer({{.name = "a", .loop_seconds = 2},
                             {.name = "b", .loop_seconds = 2},
                             {.name = "c", .seed = 2, .loop_seconds = 2}});
  ASSERT_TRUE(server);
  RtspProbe a(server->Url("a")), b(server->Url("b")), c(server->Url("c"));
  ASSERT_TRUE(a.WaitForFrames(10)) << a.error();
  ASSERT_TRUE(b.WaitForFrames(10)) << b.error();
  ASSERT_TRUE(c.WaitForFrames(10)) << c.error();
  EXPECT_EQ(LoopKey({.name = "a"}), LoopKey({.name = "b"}));
  EXPECT_NE(LoopKey({.name = "a"}), LoopKey({.name = "a", .seed = 2}));
}

TEST(CamsimServerTest, ServesH265WhenX265IsInstalled) {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  if (!HasElement("x265enc") || !HasElement("avdec_h265")) GTEST_SKIP() << "no x265enc/avdec_h265";
  auto server = StartServer({{.name = "hevc", .codec = "h265", .loop_seconds = 2}});
  ASSERT_TRUE(server);
  RtspProbe probe(server->Url("hevc"), "h265");
  ASSERT_TRUE(probe.WaitForFrames(10)) << probe.error();
  EXPECT_EQ(probe.width(), 640);
}

TEST(CamsimServerTest, FileCameraLoopsADecodedFile) {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  const std::string path = ::testing::TempDir() + "/camsim_source.mkv";
  GError* err = nullptr;
  GstElement* writer = gst_parse_launch(
      ("videotestsrc num-buffers=20 ! video/x-raw,format=I420,width=320,height=240,"
       "framerate=10/1 ! "
       "x264enc speed-preset=ultrafast ! h264parse ! matroskamux ! filesink location=" +
       path)
          .c_str(),
      &err);
  ASSERT_EQ(err, nullptr);
  gst_element_set_state(writer, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(writer);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(writer, GST_STATE_NULL);
  gst_object_unref(writer);

  // The 2 s file is shorter than the 5 s loop: it loops as it is, rescaled to 640x360@15.
  auto server = StartServer({{.name = "f", .scene = "file", .file = path, .loop_seconds = 5}});
  ASSERT_TRUE(server);
  RtspProbe probe(server->Url("f"));
  ASSERT_TRUE(probe.WaitForFrames(40)) << probe.error();  // > 30 frames: it wrapped around
  EXPECT_EQ(probe.width(), 640);
  EXPECT_EQ(probe.height(), 360);
}

TEST(CamsimServerTest, SendsRtcpSenderReports) {
  auto server = StartServer({{.name = "cam1", .loop_seconds = 2}});
  ASSERT_TRUE(server);
  RtspProbe probe(server->Url("cam1"));
  ASSERT_TRUE(probe.WaitForFrames(5)) << probe.error();
  EXPECT_TRUE(skynet::testing::WaitFor([&] { return probe.ReceivedSenderReport(); }, 20s));
}

TEST(CamsimServerTest, StopWithClientsConnectedReturnsAndIsIdempotent) {
  auto server = StartServer({{.name = "cam1", .loop_seconds = 2}});
  ASSERT_TRUE(server);
  RtspProbe a(server->Url("cam1")), b(server->Url("cam1"));
  ASSERT_TRUE(a.WaitForFrames(5)) << a.error();
  ASSERT_TRUE(b.WaitForFrames(5)) << b.error();
  const auto t0 = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_EQ(server->Stats("cam1")->active_medias, 0);
  server->Stop();
  EXPECT_FALSE(server->Start().ok());
  server.reset();  // clients still hold their (now closed) connections
}

TEST(CamsimServerTest, BusyPortIsUnavailable) {
  auto first = StartServer({{.name = "cam1", .loop_seconds = 1}});
  ASSERT_TRUE(first);
  auto second =
      Server::Create({.port = first->port(), .cameras = {{.name = "cam1", .loop_seconds = 1}}});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(std::to_string(first->port())), std::string::npos);
}

TEST(CamsimServerTest, CreateRejectsBadSpecsNamingTheCamera) {
  auto dup = Server::Create({.cameras = {{.name = "x"}, {.name = "x"}}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("'x'"), std::string::npos);

  auto codec = Server::Create({.cameras = {{.name = "y", .codec = "vp9"}}});
  ASSERT_FALSE(codec.ok());
  EXPECT_NE(codec.status().message().find("codec"), std::string::npos);

  auto missing = Server::Create(
      {.cameras = {{.name = "z", .scene = "file", .file = "/nonexistent/clip.mp4"}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("clip.mp4"), std::string::npos)
      << missing.status().ToString();
}

}  // namespace
}  // namespace skynet::camsim
