// Issue 15 on a real skynetd and camsim: camsim's `freeze` picture fault raises a VideoQuality
// fault (check frozen) on the feed, `skynetctl quality` and status show it (graded poor, still
// online), `resume` clears it; `skynetctl accept-view` writes the camera's reference file, which
// the next start of skynetd loads. The frozen check's hysteresis is shortened in the config.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

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
using testing::ReadFile;
using testing::TempDir;

TEST(SkynetdQualityTest, FreezeIsAQualityFaultUntilResumeAndTheAcceptedViewSurvivesARestart) {
  TempDir dir;
  testing::Camsim sim_run = testing::StartCamsim(
      dir, {"--port", "0", "--loop-seconds", "4", "--size", "320x180", "--fps", "10", "--traffic",
            "1", "--control-port", "0", "--log-level", "warn"});
  const testing::CamsimReady& sim = sim_run.ready;
  ASSERT_EQ(sim.urls.size(), 1u);
  ASSERT_GT(sim.control_port, 0);
  const std::string config = dir.File("skynetd.yaml");
  std::ofstream(config) << "node_id: quality\n"
                           "event_endpoint: "
                        << dir.Ipc("feed.sock") << "\ncontrol_endpoint: " << dir.Ipc("control.sock")
                        << "\nmetrics_endpoint: \"\"\n"
                           "analytics_workers: 1\n"
                           "video_quality:\n"
                           "  sample_interval_ms: 250\n"
                           "  warmup_samples: 2\n"
                           "  reference_dir: "
                        << dir.File("quality")
                        << "\n"
                           "  checks:\n"
                           "    frozen: {enter_ms: 1500, leave_ms: 1000}\n"
                           "cameras:\n  - id: cam0\n    url: "
                        << sim.urls[0] << "\n    analytics_fps: 5\n";
  const std::string reference = dir.File("quality/cam0.yml.gz");

  auto daemon = std::make_unique<ChildProcess>(BuildPath("daemon/skynetd"),
                                               std::vector<std::string>{"--config", config},
                                               dir.File("skynetd.log"));
  ASSERT_TRUE(daemon->started());
  auto feed = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {"quality/"});
  ASSERT_TRUE(feed.ok());
  // A client per daemon start.
  auto control = std::make_unique<Result<client::ControlClient>>(
      client::ControlClient::Connect(dir.Ipc("control.sock"), 10000));
  ASSERT_TRUE(control->ok());
  auto quality = [&]() -> v1::CameraQualityInfo {
    v1::Request request;
    request.mutable_quality()->set_camera_id("cam0");
    auto r = (*control)->Call(request);
    if (!r.ok() || !r->ok() || r->quality().cameras_size() != 1) return {};
    return r->quality().cameras(0);
  };
  auto status = [&]() -> v1::CameraStatusInfo {
    v1::Request request;
    request.mutable_status();
    auto r = (*control)->Call(request);
    if (!r.ok() || !r->ok() || r->status().cameras_size() != 1) return {};
    return r->status().cameras(0);
  };
  // The next VideoQuality event of `check` going to `to`; false if none within the deadline.
  auto next_change = [&](const std::string& check, v1::QualityState to, v1::Event* out) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto ev = feed->Next(500);
      if (!ev.ok() || !*ev || !(*ev)->has_video_quality()) continue;
      if ((*ev)->video_quality().check() == check && (*ev)->video_quality().to() == to) {
        *out = **ev;
        return true;
      }
    }
    return false;
  };

  // Learned, every check judged, the reference kept.
  ASSERT_TRUE(testing::WaitFor([&] { return quality().worst() == v1::QUALITY_STATE_OK; }, 120s))
      << ReadFile(dir.File("skynetd.log"));
  EXPECT_EQ(quality().reference(), "learned");
  EXPECT_TRUE(std::filesystem::exists(reference));

  ASSERT_EQ(testing::CamsimCommand(sim.control_port, "freeze cam1"), "ok");
  v1::Event ev;
  ASSERT_TRUE(next_change("frozen", v1::QUALITY_STATE_FAULT, &ev))
      << ReadFile(dir.File("skynetd.log"));
  EXPECT_EQ(ev.camera_id(), "cam0");
  EXPECT_EQ(ev.video_quality().from(), v1::QUALITY_STATE_OK);
  EXPECT_EQ(ev.video_quality().worst(), v1::QUALITY_STATE_FAULT);
  EXPECT_GE(ev.video_quality().score(), 0.5f);
  // Still under the fault: online, graded poor at best; skynetctl shows it.
  const v1::CameraStatusInfo during = status();
  EXPECT_EQ(during.state(), v1::CAMERA_STATE_ONLINE);
  EXPECT_EQ(during.grade(), v1::GRADE_POOR);
  EXPECT_EQ(during.quality(), v1::QUALITY_STATE_FAULT);
  testing::ToolRun ctl = testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"quality"});
  ASSERT_EQ(ctl.code, 0) << ctl.err;
  EXPECT_NE(ctl.out.find("cam0: FAULT frozen"), std::string::npos) << ctl.out;
  EXPECT_NE(ctl.out.find("frozen        fault"), std::string::npos) << ctl.out;
  ctl = testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"status"});
  EXPECT_NE(ctl.out.find("FAULT frozen"), std::string::npos) << ctl.out;

  ASSERT_EQ(testing::CamsimCommand(sim.control_port, "resume cam1"), "ok");
  ASSERT_TRUE(next_change("frozen", v1::QUALITY_STATE_OK, &ev));
  EXPECT_EQ(ev.video_quality().from(), v1::QUALITY_STATE_FAULT);

  // accept-view writes the reference; the next start loads it.
  const auto written = std::filesystem::last_write_time(reference);
  ctl = testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"accept-view", "cam0"});
  ASSERT_EQ(ctl.code, 0) << ctl.err;
  EXPECT_EQ(ctl.out, "cam0: current view accepted as the video quality reference\n");
  EXPECT_EQ(quality().reference(), "accepted");
  EXPECT_NE(std::filesystem::last_write_time(reference), written);
  EXPECT_EQ(daemon->SignalAndWait(SIGTERM, 30s), 0);

  daemon = std::make_unique<ChildProcess>(BuildPath("daemon/skynetd"),
                                          std::vector<std::string>{"--config", config},
                                          dir.File("skynetd2.log"));
  ASSERT_TRUE(daemon->started());
  control = std::make_unique<Result<client::ControlClient>>(
      client::ControlClient::Connect(dir.Ipc("control.sock"), 10000));
  ASSERT_TRUE(control->ok());
  EXPECT_TRUE(testing::WaitFor([&] { return quality().reference() == "loaded"; }, 60s))
      << ReadFile(dir.File("skynetd2.log"));
  EXPECT_NE(ReadFile(dir.File("skynetd2.log"))
                .find("[cam cam0] video quality: reference view loaded from " + reference),
            std::string::npos);
}

}  // namespace
}  // namespace skynet
