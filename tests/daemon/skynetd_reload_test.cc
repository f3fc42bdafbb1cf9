// Reload under load on a real skynetd: camsim streams several cameras, the config file is edited
// and the daemon gets SIGHUP (and later a reload request): only the changed cameras reconnect,
// the others' sessions and feeds go on untouched.
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

constexpr int kCameras = 4;

// cam0..camN-1 on the camsim URLs; `fps` per camera id (default 5).
void WriteConfig(const TempDir& dir, const std::vector<std::string>& urls,
                 const std::map<std::string, double>& fps, const std::set<std::string>& skip = {}) {
  std::ofstream f(dir.File("skynetd.yaml"));
  f << "node_id: reload-node\n"
    << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
    << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
    << "metrics_endpoint: \"\"\n"  // the default port is one for every test running at once
    << "heartbeat_interval_ms: 200\n"
    << "analytics_workers: 2\n"
    << "cameras:\n";
  for (size_t i = 0; i < urls.size(); ++i) {
    const std::string id = "cam" + std::to_string(i);
    if (skip.count(id)) continue;
    auto it = fps.find(id);
    f << "  - id: " << id << "\n    url: " << urls[i]
      << "\n    analytics_fps: " << (it == fps.end() ? 5.0 : it->second) << "\n";
  }
}

class Feed {
 public:
  explicit Feed(const std::string& endpoint)
      : sub_(skynet::client::FeedSubscriber::Connect(endpoint, {""})) {}
  bool ok() const { return sub_.ok(); }
  // Reads events until `done` holds or `budget` passes.
  bool PumpUntil(std::chrono::milliseconds budget, const std::function<bool()>& done) {
    return testing::WaitFor(
        [&] {
          auto next = sub_->Next(50);
          if (next.ok() && next->has_value()) {
            const v1::Event& ev = **next;
            if (ev.has_camera_status()) {
              status_[ev.camera_id()].push_back(ev.camera_status().state());
              if (ev.camera_status().state() == v1::CAMERA_STATE_ONLINE) {
                online_.insert(ev.camera_id());
              }
            }
            if (ev.has_heartbeat()) ++heartbeats_;
          }
          return done();
        },
        budget, 0ms);
  }
  std::map<std::string, std::vector<v1::CameraState>> status_;  // per camera, in order
  std::set<std::string> online_;
  int heartbeats_ = 0;

 private:
  Result<skynet::client::FeedSubscriber> sub_;
};

std::map<std::string, uint64_t> SessionIds(skynet::client::ControlClient& control) {
  v1::Request req;
  req.mutable_status();
  std::map<std::string, uint64_t> out;
  auto r = control.Call(req);
  if (!r.ok() || !r->ok()) return out;
  for (const auto& c : r->status().cameras()) out[c.id()] = c.session_id();
  return out;
}

TEST(SkynetdReloadTest, SighupAndReloadRestartOnlyChangedCameras) {
  TempDir dir;
  ChildProcess camsim(BuildPath("tools/camsim/skynet-camsim"),
                      {"--port", "0", "--loop-seconds", "4", "--size", "320x180", "--fps", "10",
                       "--traffic", std::to_string(kCameras), "--log-level", "warn"},
                      dir.File("camsim.log"));
  ASSERT_TRUE(camsim.started());
  const std::vector<std::string> urls = testing::ReadCamsimReady(camsim).urls;
  ASSERT_EQ(urls.size(), static_cast<size_t>(kCameras));
  WriteConfig(dir, urls, {});

  Feed feed(dir.Ipc("feed.sock"));
  ASSERT_TRUE(feed.ok());
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", dir.File("skynetd.yaml")},
                      dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  ASSERT_TRUE(feed.PumpUntil(90s, [&] { return feed.online_.size() == kCameras; }))
      << feed.online_.size() << " cameras online";
  auto control = skynet::client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  const std::map<std::string, uint64_t> before = SessionIds(*control);
  ASSERT_EQ(before.size(), static_cast<size_t>(kCameras));

  // SIGHUP after editing cam1: cam1 goes offline and comes back; nobody else moves.
  feed.status_.clear();
  feed.online_.clear();
  WriteConfig(dir, urls, {{"cam1", 4}});
  ASSERT_EQ(kill(daemon.pid(), SIGHUP), 0);
  ASSERT_TRUE(feed.PumpUntil(60s, [&] { return feed.online_.count("cam1") == 1; }));
  // A little more of the feed (heartbeats come every 200 ms), to catch late stragglers.
  const int hb = feed.heartbeats_;
  ASSERT_TRUE(feed.PumpUntil(30s, [&] { return feed.heartbeats_ >= hb + 5; }));
  EXPECT_EQ(feed.status_.size(), 1u) << "status events of other cameras after the reload";
  ASSERT_GE(feed.status_["cam1"].size(), 2u);
  EXPECT_EQ(feed.status_["cam1"].front(), v1::CAMERA_STATE_OFFLINE);  // the old session stops
  EXPECT_EQ(feed.status_["cam1"].back(), v1::CAMERA_STATE_ONLINE);
  std::map<std::string, uint64_t> after = SessionIds(*control);
  for (const auto& [id, session] : before) {
    if (id == "cam1") {
      EXPECT_NE(after[id], session);
    } else {
      EXPECT_EQ(after[id], session) << id;
    }
  }

  // The reload request takes the same path: cam3 removed, cam2 changed, an invalid file first.
  {
    std::ofstream(dir.File("skynetd.yaml"), std::ios::app) << "  - id: bad\n    url: http://x\n";
  }
  v1::Request reload;
  reload.mutable_reload();
  auto rejected = control->Call(reload);
  ASSERT_TRUE(rejected.ok());
  EXPECT_FALSE(rejected->ok());
  EXPECT_NE(rejected->error().find(dir.File("skynetd.yaml") + ":"), std::string::npos)
      << rejected->error();
  EXPECT_EQ(SessionIds(*control), after);

  feed.status_.clear();
  feed.online_.clear();
  WriteConfig(dir, urls, {{"cam1", 4}, {"cam2", 3}}, {"cam3"});
  auto applied = control->Call(reload);
  ASSERT_TRUE(applied.ok());
  ASSERT_TRUE(applied->ok()) << applied->error();
  EXPECT_EQ(applied->reload().restarted_size(), 1);
  EXPECT_EQ(applied->reload().removed_size(), 1);
  EXPECT_EQ(applied->reload().unchanged_size(), 2);
  ASSERT_TRUE(feed.PumpUntil(60s, [&] { return feed.online_.count("cam2") == 1; }));
  const int hb2 = feed.heartbeats_;
  ASSERT_TRUE(feed.PumpUntil(30s, [&] { return feed.heartbeats_ >= hb2 + 5; }));
  std::set<std::string> moved;
  for (const auto& [id, states] : feed.status_) moved.insert(id);
  EXPECT_EQ(moved, (std::set<std::string>{"cam2", "cam3"}));
  const std::map<std::string, uint64_t> last = SessionIds(*control);
  EXPECT_EQ(last.size(), 3u);
  EXPECT_EQ(last.at("cam0"), after.at("cam0"));
  EXPECT_EQ(last.at("cam1"), after.at("cam1"));

  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 10s), 0);
  EXPECT_EQ(camsim.SignalAndWait(SIGTERM, 30s), 0);

  // One log line per reload, whichever way it came.
  std::ifstream log(dir.File("skynetd.log"));
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("1 restarted, 3 unchanged; restarted: cam1"), std::string::npos) << text;
  EXPECT_NE(text.find("reload rejected, running config kept"), std::string::npos) << text;
  EXPECT_NE(text.find("1 restarted, 2 unchanged; restarted: cam2"), std::string::npos) << text;
}

}  // namespace
}  // namespace skynet
