// Issue 14, item 5, against a real skynetd and camsim: a camera whose stream turns to garbage
// (camsim's `garbage` fault: flipped bytes that libav conceals, so frames keep coming) is reported
// DEGRADED with reason DECODE_ERROR on the feed, in `skynetctl status` (grade poor) and in the
// log within 2 s of the first damaged frame, while the fault lasts; and ONLINE again after it.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

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

TEST(SkynetdDegradedTest, GarbageStreamIsDegradedWhileItLastsThenOnline) {
  TempDir dir;
  testing::Camsim sim_run = testing::StartCamsim(
      dir, {"--port", "0", "--loop-seconds", "4", "--size", "320x180", "--fps", "10", "--traffic",
            "1", "--control-port", "0", "--log-level", "warn"});
  const testing::CamsimReady& sim = sim_run.ready;
  ASSERT_EQ(sim.urls.size(), 1u);
  ASSERT_GT(sim.control_port, 0);
  const std::string config = dir.File("skynetd.yaml");
  std::ofstream(config) << "node_id: degraded\n"
                           "event_endpoint: "
                        << dir.Ipc("feed.sock")
                        << "\n"
                           "control_endpoint: "
                        << dir.Ipc("control.sock")
                        << "\n"
                           "metrics_endpoint: \"\"\n"
                           "analytics_workers: 1\n"
                           "cameras:\n  - id: cam0\n    url: "
                        << sim.urls[0]
                        << "\n"
                           "    analytics_fps: 5\n";
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config}, dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  auto feed = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {"camera/"});
  ASSERT_TRUE(feed.ok());
  auto control = client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  v1::Request status;
  status.mutable_status();
  auto camera = [&]() -> v1::CameraStatusInfo {
    auto r = control->Call(status);
    if (!r.ok() || !r->ok() || r->status().cameras_size() != 1) return {};
    return r->status().cameras(0);
  };
  // The next camera status event on the feed in `state`; false if none within the deadline.
  auto next_status = [&](v1::CameraState state, v1::CameraStatus* out) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto ev = feed->Next(500);
      if (!ev.ok() || !*ev || !(*ev)->has_camera_status()) continue;
      if ((*ev)->camera_status().state() == state) {
        *out = (*ev)->camera_status();
        return true;
      }
    }
    return false;
  };
  v1::CameraStatus seen;
  // The first ONLINE may be published before the subscription is in place (a slow joiner):
  // status says it either way.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        const v1::CameraStatusInfo c = camera();
        return c.state() == v1::CAMERA_STATE_ONLINE && c.frames_analysed() >= 10;
      },
      120s))
      << ReadFile(dir.File("skynetd.log"));

  ASSERT_EQ(testing::CamsimCommand(sim.control_port, "garbage cam1"), "ok");
  ASSERT_TRUE(next_status(v1::CAMERA_STATE_DEGRADED, &seen));
  EXPECT_EQ(seen.reason(), v1::STATUS_REASON_DECODE_ERROR);
  EXPECT_LE(seen.detection_latency_ms(), 2000u) << seen.detail();
  EXPECT_NE(seen.detail().find("decode errors"), std::string::npos) << seen.detail();
  // Still under the fault: status says so, graded poor at best; skynetctl shows it.
  const v1::CameraStatusInfo during = camera();
  EXPECT_EQ(during.state(), v1::CAMERA_STATE_DEGRADED);
  EXPECT_EQ(during.grade(), v1::GRADE_POOR);
  const testing::ToolRun ctl = testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"status"});
  ASSERT_EQ(ctl.code, 0) << ctl.err;
  const std::string& text = ctl.out;
  EXPECT_NE(text.find("degraded"), std::string::npos) << text;
  EXPECT_NE(text.find("decode error"), std::string::npos) << text;
  // The same for a program: the whole answer as one JSON object (the .proto field names).
  const testing::ToolRun as_json =
      testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"status", "cam0", "--json"});
  ASSERT_EQ(as_json.code, 0) << as_json.err;
  v1::StatusResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(as_json.out, &parsed).ok())
      << as_json.out;
  ASSERT_EQ(parsed.cameras_size(), 1) << as_json.out;
  EXPECT_EQ(parsed.cameras(0).id(), "cam0");
  EXPECT_EQ(parsed.cameras(0).state(), v1::CAMERA_STATE_DEGRADED);
  EXPECT_NE(as_json.out.find("\"node_id\""), std::string::npos) << as_json.out;
  EXPECT_NE(ReadFile(dir.File("skynetd.log")).find("[cam cam0] degraded (decode error"),
            std::string::npos);

  ASSERT_EQ(testing::CamsimCommand(sim.control_port, "resume cam1"), "ok");
  ASSERT_TRUE(next_status(v1::CAMERA_STATE_ONLINE, &seen));
  ASSERT_TRUE(testing::WaitFor([&] { return camera().state() == v1::CAMERA_STATE_ONLINE; }));
  EXPECT_TRUE(testing::WaitFor([&] {
    return ReadFile(dir.File("skynetd.log")).find("decoding is clean again") != std::string::npos;
  }));
}

}  // namespace
}  // namespace skynet
