// Issue 15, item 5, against a real skynetd and camsim: when analytics cannot keep up, every
// camera's analysis rate falls by the same share (none starved, a 5 fps camera keeps its share
// beside 10 fps ones), and status and `skynetctl status` say "overloaded". The overload is
// forced with the testing-only `testing.analysis_hold_ms` on one analytics worker: three cameras
// offer 25 frames per second to a worker that analyses at most about 12 (it sleeps 80 ms after
// each frame). Asserts shares of frame counts, never wall-clock time.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
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

TEST(SkynetdOverloadTest, OverloadedWorkerSharesFramesEvenlyAndSaysSo) {
  TempDir dir;
  testing::Camsim sim_run =
      testing::StartCamsim(dir, {"--port", "0", "--loop-seconds", "4", "--size", "320x180", "--fps",
                                 "10", "--traffic", "3", "--log-level", "warn"});
  const testing::CamsimReady& sim = sim_run.ready;
  ASSERT_EQ(sim.urls.size(), 3u);
  const std::string config = dir.File("skynetd.yaml");
  {
    std::ofstream f(config);
    f << "node_id: overload\n"
      << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
      << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
      << "metrics_endpoint: \"\"\n"
      << "analytics_workers: 1\n"
      << "testing: {analysis_hold_ms: 80}\n"
      << "cameras:\n";
    const double fps[] = {10, 10, 5};
    for (int i = 0; i < 3; ++i) {
      f << "  - id: cam" << i << "\n    url: " << sim.urls[i] << "\n    analytics_fps: " << fps[i]
        << "\n";
    }
  }
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config}, dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  auto control = client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  v1::Request request;
  request.mutable_status();
  auto status = [&]() -> v1::StatusResponse {
    auto r = control->Call(request);
    if (!r.ok() || !r->ok()) return {};
    return r->status();
  };
  // Every camera online and overloaded, the node too (the drop window is 10 s).
  v1::StatusResponse s;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        s = status();
        if (s.cameras_size() != 3 || !s.overloaded() || s.overloaded_cameras() != 3) return false;
        for (const auto& c : s.cameras()) {
          if (c.state() != v1::CAMERA_STATE_ONLINE || !c.overloaded()) return false;
        }
        return true;
      },
      120s))
      << s.DebugString() << ReadFile(dir.File("skynetd.log"));
  EXPECT_LT(s.analysis_share(), 0.9);

  // Frames handed over and analysed per camera, over the next ~120 analysed frames.
  std::map<std::string, std::pair<uint64_t, uint64_t>> before, after;  // id -> (in, analysed)
  auto counts = [&](std::map<std::string, std::pair<uint64_t, uint64_t>>* out) {
    const v1::StatusResponse now = status();
    out->clear();
    for (const auto& c : now.cameras()) (*out)[c.id()] = {c.frames_in(), c.frames_analysed()};
    return now.cameras_size() == 3;
  };
  ASSERT_TRUE(counts(&before));
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        if (!counts(&after)) return false;
        uint64_t analysed = 0;
        for (const auto& [id, c] : after) analysed += c.second - before[id].second;
        return analysed >= 120;
      },
      120s));
  double lo = 1, hi = 0;
  std::string shares;
  for (const auto& [id, c] : after) {
    const double in = static_cast<double>(c.first - before[id].first);
    const double analysed = static_cast<double>(c.second - before[id].second);
    ASSERT_GT(in, 0) << id;
    EXPECT_GT(analysed, 0) << id << " starved";
    const double share = analysed / in;
    lo = std::min(lo, share);
    hi = std::max(hi, share);
    shares += id + " " + std::to_string(analysed) + "/" + std::to_string(in) + "  ";
  }
  // The same share of each camera's frames, whatever its rate (10, 10 and 5 fps): within 0.15.
  std::cout << "analysed/offered per camera: " << shares << "\n";
  EXPECT_LE(hi - lo, 0.15) << shares;
  EXPECT_LT(hi, 0.9) << shares;  // and overloaded indeed

  const testing::ToolRun ctl = testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"status"});
  ASSERT_EQ(ctl.code, 0) << ctl.err;
  EXPECT_NE(ctl.out.find("OVERLOADED: 3 cameras drop frames"), std::string::npos) << ctl.out;
  EXPECT_NE(ctl.out.find("cam2: overloaded: "), std::string::npos) << ctl.out;
}

}  // namespace
}  // namespace skynet
