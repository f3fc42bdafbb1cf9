// End to end on loopback: skynet-camsim (RTSP) -> skynetd -> a ZeroMQ subscriber and skynetctl.
#include <signal.h>

#include <fstream>
#include <map>
#include <set>

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

// Starts camsim with the given arguments and returns the URLs it printed before "ready".
std::string WriteConfig(const TempDir& dir, const std::string& traffic_url,
                        const std::string& static_url) {
  const std::string path = dir.File("skynetd.yaml");
  std::ofstream f(path);
  f << "node_id: e2e-node\n"
    << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
    << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
    << "metrics_endpoint: \"\"\n"  // the default port is one for every test running at once
    << "heartbeat_interval_ms: 500\n"
    << "analytics_workers: 2\n"
    << "cameras:\n"
    << "  - id: road\n"
    << "    url: " << traffic_url << "\n"
    << "    analytics_fps: 5\n"
    << "  - id: quiet\n"
    << "    url: " << static_url << "\n"
    << "    analytics_fps: 5\n";
  return path;
}

TEST(EndToEndTest, CamerasGoOnlineMotionOnlyOnTrafficContiguousSeqCleanSigterm) {
  TempDir dir;
  ChildProcess camsim(BuildPath("tools/camsim/skynet-camsim"),
                      {"--port", "0", "--loop-seconds", "10", "--size", "640x360", "--fps", "10",
                       "--traffic", "1", "--static", "1", "--log-level", "warn"},
                      dir.File("camsim.log"));
  ASSERT_TRUE(camsim.started());
  const std::vector<std::string> urls = testing::ReadCamsimReady(camsim).urls;
  ASSERT_EQ(urls.size(), 2u);
  const std::string config = WriteConfig(dir, urls[0], urls[1]);

  // Subscribe before the daemon binds, so the feed is seen from its first event.
  auto feed = skynet::client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {""});
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();

  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config},
                      dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());

  std::set<std::string> online;
  std::map<std::string, int> motion_started;
  uint64_t last_seq = 0;
  uint64_t epoch = 0;
  int heartbeats_after_motion = 0;
  auto pump = [&](std::chrono::milliseconds budget, const std::function<bool()>& done) {
    return testing::WaitFor(
        [&] {
          auto next = feed->Next(100);
          EXPECT_TRUE(next.ok());
          if (next.ok() && next->has_value()) {
            const v1::Event& ev = **next;
            if (epoch == 0) epoch = ev.epoch();
            EXPECT_EQ(ev.epoch(), epoch);
            // Contiguous from the first event this subscriber saw (a PUB drops what it sends
            // before the subscription reaches it: ZeroMQ's slow joiner).
            if (last_seq != 0) {
              EXPECT_EQ(ev.seq(), last_seq + 1) << "sequence gap";
            }
            last_seq = ev.seq();
            EXPECT_EQ(ev.node_id(), "e2e-node");
            if (ev.has_camera_status() &&
                ev.camera_status().state() == v1::CAMERA_STATE_ONLINE) {
              online.insert(ev.camera_id());
            }
            if (ev.has_motion_started()) ++motion_started[ev.camera_id()];
            if (ev.has_heartbeat() && !motion_started.empty()) ++heartbeats_after_motion;
          }
          return done();
        },
        budget, 1ms);
  };

  ASSERT_TRUE(pump(90s, [&] { return online.size() == 2 && motion_started.count("road"); }))
      << "online: " << online.size() << ", road motion: " << motion_started.count("road");
  EXPECT_EQ(last_seq > 0, true);

  // The static camera is analysed for a while and must stay quiet.
  auto control = skynet::client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  v1::Request status_request;
  status_request.mutable_status()->set_camera_id("quiet");
  ASSERT_TRUE(pump(90s, [&] {
    auto r = control->Call(status_request);
    return r.ok() && r->ok() && r->status().cameras(0).frames_analysed() >= 40;
  }));
  ASSERT_TRUE(pump(30s, [&] { return heartbeats_after_motion >= 2; }));
  EXPECT_EQ(motion_started.count("quiet"), 0u) << "motion on a static scene";

  // skynetctl sees the same daemon.
  {
    ChildProcess ctl(BuildPath("tools/skynetctl/skynetctl"),
                     {"--control", dir.Ipc("control.sock"), "status"});
    std::string out;
    while (auto line = ctl.ReadLine(30s)) out += *line + "\n";
    EXPECT_EQ(ctl.Wait(30s), 0) << out;
    EXPECT_NE(out.find("road"), std::string::npos) << out;
    EXPECT_NE(out.find("quiet"), std::string::npos) << out;
    EXPECT_NE(out.find("online"), std::string::npos) << out;
  }

  // SIGTERM: a clean exit within 5 s.
  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 5s), 0);
  EXPECT_EQ(camsim.SignalAndWait(SIGTERM, 30s), 0);
}

TEST(EndToEndTest, CheckConfigReportsThePlaceOfAnError) {
  TempDir dir;
  const std::string path = dir.File("bad.yaml");
  std::ofstream(path) << "node_id: n\ncameras:\n  - id: a\n    url: http://x/y\n";
  ChildProcess check(BuildPath("daemon/skynetd"), {"--check-config", path},
                     dir.File("stderr.txt"));
  EXPECT_EQ(check.Wait(30s), 1);
  std::ifstream err(dir.File("stderr.txt"));
  std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(path + ":4:10: cameras[0].url:"), std::string::npos) << text;
}

}  // namespace
}  // namespace skynet
