// Analytics tiers on a real skynetd: camsim streams two cameras with one key frame a second; the
// health-tier camera decodes only key frames (delta units are skipped before the decoder) and
// stays online although its decoded frames are further apart than stall_timeout_ms; a reload
// switches the tiers of both cameras at runtime, restarting only them. A stream with B frames
// analysed below its rate has its disposable units dropped before the decoder.
#include <signal.h>

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "skynet/client/client.h"
#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::TempDir;

constexpr int kFps = 10;  // camsim's GOP is one second: one key frame in kFps

// cam0, cam1 with the given tiers. stall_timeout_ms below the key-frame interval: a health
// camera that took its sparse frames for a stall would reconnect.
void WriteConfig(const TempDir& dir, const std::vector<std::string>& urls,
                 const std::string& tier0, const std::string& tier1) {
  std::ofstream f(dir.File("skynetd.yaml"));
  f << "node_id: tier-node\n"
    << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
    << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
    << "metrics_endpoint: \"\"\n"
    << "analytics_workers: 2\n"
    << "cameras:\n";
  const std::string tiers[] = {tier0, tier1};
  for (int i = 0; i < 2; ++i) {
    f << "  - id: cam" << i << "\n    url: " << urls[i] << "\n    analytics: " << tiers[i]
      << "\n    analytics_fps: 5\n    stall_timeout_ms: 700\n";
  }
}

std::map<std::string, v1::CameraStatusInfo> Status(skynet::client::ControlClient& control) {
  v1::Request req;
  req.mutable_status();
  std::map<std::string, v1::CameraStatusInfo> out;
  auto r = control.Call(req);
  if (!r.ok() || !r->ok()) return out;
  for (const auto& c : r->status().cameras()) out[c.id()] = c;
  return out;
}

// Waits until `id` has decoded `frames` frames and skipped `skipped` units in its session.
bool WaitForProgress(skynet::client::ControlClient& control, const std::string& id,
                     uint64_t frames, uint64_t skipped, v1::CameraStatusInfo* last) {
  return testing::WaitFor(
      [&] {
        auto all = Status(control);
        if (!all.count(id)) return false;
        *last = all[id];
        return last->frames_in() >= frames && last->units_skipped() >= skipped;
      },
      90s, 100ms);
}

// Health: about one decoded frame per key frame (kFps - 1 skipped for each), online, no stall.
void ExpectHealthTier(const v1::CameraStatusInfo& c) {
  EXPECT_EQ(c.analytics(), "health");
  EXPECT_EQ(c.state(), v1::CAMERA_STATE_ONLINE) << c.detail();
  EXPECT_EQ(c.stalls_last_hour(), 0u);
  EXPECT_EQ(c.reconnects(), 0u);
  EXPECT_GE(c.units_skipped(), (kFps - 2) * (c.frames_in() - 1)) << c.frames_in();
  EXPECT_LE(c.units_skipped(), kFps * (c.frames_in() + 1)) << c.frames_in();
  EXPECT_EQ(c.motion_events(), 0u);
}

TEST(SkynetdTierTest, HealthDecodesKeyFramesOnlyAndTiersSwitchAtRuntime) {
  TempDir dir;
  ChildProcess camsim(BuildPath("tools/camsim/skynet-camsim"),
                      {"--port", "0", "--loop-seconds", "4", "--size", "320x180", "--fps",
                       std::to_string(kFps), "--traffic", "2", "--log-level", "warn"},
                      dir.File("camsim.log"));
  ASSERT_TRUE(camsim.started());
  const std::vector<std::string> urls = testing::ReadCamsimReady(camsim).urls;
  ASSERT_EQ(urls.size(), 2u);
  WriteConfig(dir, urls, "health", "full");
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", dir.File("skynetd.yaml")},
                      dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  auto control = skynet::client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());

  // Eight key frames: eight seconds of sparse decoding with a 700 ms stall timeout.
  v1::CameraStatusInfo health, full;
  ASSERT_TRUE(WaitForProgress(*control, "cam0", 8, 8 * (kFps - 2), &health))
      << health.ShortDebugString();
  ExpectHealthTier(health);
  ASSERT_TRUE(WaitForProgress(*control, "cam1", 8 * kFps, 0, &full)) << full.ShortDebugString();
  EXPECT_EQ(full.analytics(), "full");
  EXPECT_EQ(full.units_skipped(), 0u);
  EXPECT_EQ(full.state(), v1::CAMERA_STATE_ONLINE);
  const uint64_t session0 = health.session_id(), session1 = full.session_id();

  // Switched at runtime: each camera's session restarts in its new tier.
  WriteConfig(dir, urls, "full", "health");
  v1::Request reload;
  reload.mutable_reload();
  auto applied = control->Call(reload);
  ASSERT_TRUE(applied.ok());
  ASSERT_TRUE(applied->ok()) << applied->error();
  EXPECT_EQ(applied->reload().restarted_size(), 2);
  v1::CameraStatusInfo now_full, now_health;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto all = Status(*control);
        now_full = all["cam0"];
        now_health = all["cam1"];
        return now_full.session_id() != session0 && now_health.session_id() != session1 &&
               now_full.frames_in() >= 4 * kFps && now_health.frames_in() >= 5 &&
               now_health.units_skipped() >= 5 * (kFps - 2);
      },
      90s, 100ms))
      << now_full.ShortDebugString() << "\n" << now_health.ShortDebugString();
  EXPECT_EQ(now_full.analytics(), "full");
  EXPECT_EQ(now_full.units_skipped(), 0u);
  EXPECT_EQ(now_full.state(), v1::CAMERA_STATE_ONLINE);
  ExpectHealthTier(now_health);

  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 10s), 0);
  EXPECT_EQ(camsim.SignalAndWait(SIGTERM, 30s), 0);
}

// A live stream with B frames (camsim --bframes 2: two of every three pictures are non-reference)
// analysed at a third of its rate: the full tier drops disposable units before the decoder, so
// fewer frames are decoded than streamed, the camera stays online and is analysed at its rate.
void ExpectDisposableBFramesDropped(const std::string& codec) {
  TempDir dir;
  constexpr int kStreamFps = 15;
  ChildProcess camsim(BuildPath("tools/camsim/skynet-camsim"),
                      {"--port", "0", "--loop-seconds", "4", "--size", "320x180", "--fps",
                       std::to_string(kStreamFps), "--bframes", "2", "--codec", codec,
                       "--traffic", "1", "--log-level", "warn"},
                      dir.File("camsim.log"));
  ASSERT_TRUE(camsim.started());
  const std::vector<std::string> urls = testing::ReadCamsimReady(camsim).urls;
  ASSERT_EQ(urls.size(), 1u);
  std::ofstream(dir.File("skynetd.yaml"))
      << "node_id: bframes-node\n"
      << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
      << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
      << "metrics_endpoint: \"\"\n"
      << "cameras:\n  - id: cam0\n    url: " << urls[0] << "\n    analytics_fps: 5\n";
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", dir.File("skynetd.yaml")},
                      dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  auto control = skynet::client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());

  // Six seconds of stream at the analysed rate.
  v1::CameraStatusInfo cam;
  ASSERT_TRUE(WaitForProgress(*control, "cam0", 6 * 5, 6 * 5, &cam)) << cam.ShortDebugString();
  EXPECT_EQ(cam.analytics(), "full");
  EXPECT_EQ(cam.state(), v1::CAMERA_STATE_ONLINE) << cam.detail();
  EXPECT_EQ(cam.reconnects(), 0u);
  // Streamed = decoded + skipped; at least a third of the stream never reached the decoder.
  EXPECT_GE(3 * cam.units_skipped(), cam.frames_in() + cam.units_skipped())
      << cam.ShortDebugString();
  EXPECT_GT(cam.frames_analysed(), 0u);

  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 10s), 0);
  EXPECT_EQ(camsim.SignalAndWait(SIGTERM, 30s), 0);
}

TEST(SkynetdTierTest, FullTierDropsDisposableBFramesOfALiveStreamBeforeTheDecoder) {
  ExpectDisposableBFramesDropped("h264");
}

// H.265 B frames that no picture refers to are TRAIL_N pictures on the only temporal sub-layer.
TEST(SkynetdTierTest, FullTierDropsDisposableH265PicturesBeforeTheDecoder) {
  ExpectDisposableBFramesDropped("h265");
}

}  // namespace
}  // namespace skynet
