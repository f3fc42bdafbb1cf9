#include "daemon/supervisor.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/pipeline/ingest/ingest_test_util.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;
using skynet::testing::WaitFor;

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto video = ingest::testing::MakeTestVideo(dir_.path(), {});
    ASSERT_TRUE(video.ok()) << video.status().ToString();
    CameraConfig a;
    a.id = "a";
    a.name = "A";
    a.url = *video;  // a file:// URL
    a.ingest.analytics_fps = 10;
    CameraConfig b;
    b.id = "b";
    b.url = "rtsp://admin:hunter2@127.0.0.1:9/stream";
    b.enabled = false;
    config_.node_id = "sup";
    config_.analytics_workers = 1;
    config_.cameras = {a, b};
    EventBusOptions bus_options;
    bus_options.endpoint = dir_.Ipc("feed");
    bus_options.heartbeat_interval_ms = 0;
    auto bus = EventBus::Create(bus_options);
    ASSERT_TRUE(bus.ok());
    bus_ = std::move(bus).value();
    auto sup = Supervisor::Create(config_, bus_.get());
    ASSERT_TRUE(sup.ok()) << sup.status().ToString();
    sup_ = std::move(sup).value();
  }

  v1::Response Status(const std::string& camera = "") {
    v1::Request r;
    r.mutable_status()->set_camera_id(camera);
    return sup_->HandleRequest(r);
  }

  TempDir dir_;
  Config config_;
  std::unique_ptr<EventBus> bus_;
  std::unique_ptr<Supervisor> sup_;
};

TEST_F(SupervisorTest, ListsCamerasWithRedactedUrls) {
  v1::Request r;
  r.mutable_list_cameras();
  v1::Response resp = sup_->HandleRequest(r);
  ASSERT_TRUE(resp.ok());
  ASSERT_EQ(resp.list_cameras().cameras_size(), 2);
  EXPECT_EQ(resp.list_cameras().cameras(0).name(), "A");
  EXPECT_EQ(resp.list_cameras().cameras(1).url(), "rtsp://***@127.0.0.1:9/stream");
  EXPECT_FALSE(resp.list_cameras().cameras(1).enabled());
}

TEST_F(SupervisorTest, EnabledCameraIsAnalysedDisabledOneReportsDisabled) {
  sup_->Start();
  ASSERT_TRUE(WaitFor([&] {
    v1::Response r = Status("a");
    return r.ok() && r.status().cameras(0).state() == v1::CAMERA_STATE_ONLINE &&
           r.status().cameras(0).frames_analysed() >= 5;
  }));
  v1::Response b = Status("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.status().cameras(0).state(), v1::CAMERA_STATE_DISABLED);
  EXPECT_EQ(b.status().cameras(0).grade(), v1::GRADE_UNSPECIFIED);
  v1::Response all = Status();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.status().cameras_size(), 2);
  EXPECT_EQ(all.status().node_id(), bus_->node_id());
  EXPECT_EQ(sup_->Heartbeat().cameras_online, 1u);
  EXPECT_EQ(sup_->Heartbeat().cameras_total, 2u);
  sup_->Stop();
  EXPECT_EQ(sup_->Heartbeat().cameras_online, 0u);
}

TEST_F(SupervisorTest, UnknownCameraIsAClearError) {
  v1::Response r = Status("nope");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "status: no camera with id 'nope'");
}

// --- Runtime changes --------------------------------------------------------------------------

v1::Response Call(Supervisor* sup, const std::function<void(v1::Request*)>& fill) {
  v1::Request r;
  fill(&r);
  return sup->HandleRequest(r);
}

const v1::CameraStatusInfo* Find(const v1::Response& r, const std::string& id) {
  for (const auto& c : r.status().cameras()) {
    if (c.id() == id) return &c;
  }
  return nullptr;
}

TEST_F(SupervisorTest, AddRemoveEnableDisableChangeOneCamera) {
  sup_->Start();
  ASSERT_TRUE(WaitFor([&] { return Status("a").status().cameras(0).frames_analysed() >= 3; }));
  const uint64_t a_session = Status("a").status().cameras(0).session_id();

  // Add by fields.
  v1::Response add = Call(sup_.get(), [&](v1::Request* r) {
    auto* a = r->mutable_add_camera();
    a->set_id("c");
    a->set_url(config_.cameras[0].url);
    a->set_analytics_fps(10);
  });
  ASSERT_TRUE(add.ok()) << add.error();
  EXPECT_EQ(add.camera_change().message(), "added, starting");
  ASSERT_TRUE(WaitFor([&] {
    v1::Response r = Status("c");
    return r.ok() && r.status().cameras(0).state() == v1::CAMERA_STATE_ONLINE &&
           r.status().cameras(0).frames_analysed() >= 3;
  }));

  // Duplicates and bad values are refused with a clear error.
  v1::Response dup = Call(sup_.get(), [&](v1::Request* r) {
    r->mutable_add_camera()->set_id("a");
    r->mutable_add_camera()->set_url(config_.cameras[0].url);
  });
  EXPECT_FALSE(dup.ok());
  EXPECT_EQ(dup.error(), "add_camera: camera 'a' exists already");
  v1::Response bad_url = Call(sup_.get(), [&](v1::Request* r) {
    r->mutable_add_camera()->set_id("d");
    r->mutable_add_camera()->set_url("http://x/y");
  });
  EXPECT_EQ(bad_url.error(), "add_camera: camera d: url: must be rtsp://, rtsps:// or file://");
  v1::Response bad_yaml = Call(sup_.get(), [&](v1::Request* r) {
    r->mutable_add_camera()->set_yaml("id: d\nurl: " + config_.cameras[0].url +
                                      "\nanalytics_fps: 99\n");
  });
  EXPECT_EQ(bad_yaml.error(), "add_camera:3:16: analytics_fps: must be > 0 and <= 60, got 99");

  // Add by YAML, disabled: listed, not started.
  v1::Response add_yaml = Call(sup_.get(), [&](v1::Request* r) {
    r->mutable_add_camera()->set_yaml("id: d\nurl: " + config_.cameras[0].url +
                                      "\nenabled: false\n");
  });
  ASSERT_TRUE(add_yaml.ok()) << add_yaml.error();
  EXPECT_EQ(add_yaml.camera_change().message(), "added, disabled");
  EXPECT_EQ(Status("d").status().cameras(0).state(), v1::CAMERA_STATE_DISABLED);
  v1::Request list;
  list.mutable_list_cameras();
  v1::Response cams = sup_->HandleRequest(list);
  ASSERT_EQ(cams.list_cameras().cameras_size(), 4);
  EXPECT_FALSE(cams.list_cameras().cameras(0).runtime());
  EXPECT_TRUE(cams.list_cameras().cameras(3).runtime());

  // Disable and enable c: a new session each time; a is left alone throughout.
  const uint64_t c_session = Status("c").status().cameras(0).session_id();
  v1::Response dis = Call(sup_.get(), [](v1::Request* r) {
    r->mutable_disable_camera()->set_camera_id("c");
  });
  ASSERT_TRUE(dis.ok()) << dis.error();
  EXPECT_EQ(Status("c").status().cameras(0).state(), v1::CAMERA_STATE_DISABLED);
  EXPECT_NE(Status("c").status().cameras(0).session_id(), c_session);
  EXPECT_EQ(Call(sup_.get(), [](v1::Request* r) {
              r->mutable_disable_camera()->set_camera_id("c");
            }).camera_change().message(),
            "already disabled");
  ASSERT_TRUE(Call(sup_.get(), [](v1::Request* r) {
                r->mutable_enable_camera()->set_camera_id("c");
              }).ok());
  ASSERT_TRUE(WaitFor([&] {
    return Status("c").status().cameras(0).state() == v1::CAMERA_STATE_ONLINE;
  }));

  // Remove.
  v1::Response rm = Call(sup_.get(), [](v1::Request* r) {
    r->mutable_remove_camera()->set_camera_id("c");
  });
  ASSERT_TRUE(rm.ok()) << rm.error();
  EXPECT_FALSE(Status("c").ok());
  EXPECT_EQ(Call(sup_.get(), [](v1::Request* r) {
              r->mutable_remove_camera()->set_camera_id("c");
            }).error(),
            "remove_camera: no camera with id 'c'");
  EXPECT_EQ(Call(sup_.get(), [](v1::Request* r) {
              r->mutable_enable_camera()->set_camera_id("zz");
            }).error(),
            "enable_camera: no camera with id 'zz'");

  sup_->WaitIdle();
  const v1::CameraStatusInfo a = Status("a").status().cameras(0);
  EXPECT_EQ(a.session_id(), a_session);
  EXPECT_EQ(a.state(), v1::CAMERA_STATE_ONLINE);
  EXPECT_EQ(a.reconnects(), 0u);
}

// A supervisor built from a config file, for reloads.
class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto video = ingest::testing::MakeTestVideo(dir_.path(), {});
    ASSERT_TRUE(video.ok()) << video.status().ToString();
    url_ = *video;
    path_ = dir_.File("skynetd.yaml");
    WriteConfig({{"a", 10}, {"b", 10}, {"c", 10}});
    auto config = LoadConfigFile(path_);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EventBusOptions bus_options;
    bus_options.endpoint = dir_.Ipc("feed");
    bus_options.heartbeat_interval_ms = 0;
    auto bus = EventBus::Create(bus_options);
    ASSERT_TRUE(bus.ok());
    bus_ = std::move(bus).value();
    auto sup = Supervisor::Create(*config, bus_.get());
    ASSERT_TRUE(sup.ok()) << sup.status().ToString();
    sup_ = std::move(sup).value();
  }

  // Cameras as (id, analytics_fps); `extra` is appended verbatim.
  void WriteConfig(const std::vector<std::pair<std::string, double>>& cameras,
                   const std::string& extra = "") {
    std::ofstream f(path_);
    f << "node_id: reload-test\nanalytics_workers: 1\ncameras:\n";
    for (const auto& [id, fps] : cameras) {
      f << "  - id: " << id << "\n    url: " << url_ << "\n    analytics_fps: " << fps << "\n";
    }
    f << extra;
  }

  v1::Response Status() {
    v1::Request r;
    r.mutable_status();
    return sup_->HandleRequest(r);
  }
  bool AllOnline() {
    v1::Response r = Status();
    for (const auto& c : r.status().cameras()) {
      if (c.state() != v1::CAMERA_STATE_ONLINE || c.frames_analysed() < 3) return false;
    }
    return r.ok();
  }

  TempDir dir_;
  std::string url_;
  std::string path_;
  std::unique_ptr<EventBus> bus_;
  std::unique_ptr<Supervisor> sup_;
};

TEST_F(ReloadTest, OnlyTheChangedCameraRestarts) {
  sup_->Start();
  ASSERT_TRUE(WaitFor([&] { return AllOnline(); }));
  const v1::Response before = Status();

  // b changes, c goes, d comes, a stays.
  WriteConfig({{"a", 10}, {"b", 7}, {"d", 10}});
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::vector<std::string>(r->unchanged().begin(), r->unchanged().end()),
            std::vector<std::string>{"a"});
  EXPECT_EQ(std::vector<std::string>(r->restarted().begin(), r->restarted().end()),
            std::vector<std::string>{"b"});
  EXPECT_EQ(std::vector<std::string>(r->added().begin(), r->added().end()),
            std::vector<std::string>{"d"});
  EXPECT_EQ(std::vector<std::string>(r->removed().begin(), r->removed().end()),
            std::vector<std::string>{"c"});
  EXPECT_EQ(r->warnings_size(), 0);

  ASSERT_TRUE(WaitFor([&] { return AllOnline(); }));
  const v1::Response after = Status();
  ASSERT_EQ(after.status().cameras_size(), 3);
  // a kept its session: same identity, its counters went on growing, no reconnect.
  EXPECT_EQ(Find(after, "a")->session_id(), Find(before, "a")->session_id());
  EXPECT_GT(Find(after, "a")->frames_in(), Find(before, "a")->frames_in());
  EXPECT_EQ(Find(after, "a")->reconnects(), 0u);
  EXPECT_NE(Find(after, "b")->session_id(), Find(before, "b")->session_id());
  EXPECT_EQ(Find(after, "c"), nullptr);

  // The same file again: nothing restarts.
  Result<v1::ReloadResponse> again = sup_->Reload();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged_size(), 3);
  EXPECT_EQ(again->restarted_size() + again->added_size() + again->removed_size(), 0);
}

TEST_F(ReloadTest, MotionOptionsCountAsAChange) {
  WriteConfig({{"a", 10}, {"b", 10}, {"c", 10}}, "    motion:\n      threshold: 30\n");
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::vector<std::string>(r->restarted().begin(), r->restarted().end()),
            std::vector<std::string>{"c"});
}

// Once missing from a hand-written comparison: a reload that changed it kept the old tracker.
TEST_F(ReloadTest, TrackerSplitMergedCountsAsAChange) {
  WriteConfig({{"a", 10}, {"b", 10}, {"c", 10}},
              "    vehicles:\n      tracker: {split_merged: false}\n");
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::vector<std::string>(r->restarted().begin(), r->restarted().end()),
            std::vector<std::string>{"c"});
}

TEST_F(ReloadTest, InvalidFileIsRejectedWithItsPlaceAndTheRunningConfigStays) {
  sup_->Start();
  const v1::Response before = Status();
  WriteConfig({{"a", 10}, {"b", 99}});
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path_ + ":9:20: cameras[1].analytics_fps: must be > 0 and <= 60, got 99");
  v1::Request req;
  req.mutable_reload();
  v1::Response resp = sup_->HandleRequest(req);
  EXPECT_FALSE(resp.ok());
  EXPECT_EQ(resp.error(), "reload rejected, running config kept: " + r.status().message());
  const v1::Response after = Status();
  ASSERT_EQ(after.status().cameras_size(), 3);
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_EQ(Find(after, id)->session_id(), Find(before, id)->session_id()) << id;
  }
}

TEST_F(ReloadTest, StartOnlySettingsWarnAndRuntimeCamerasAreNamed) {
  v1::Request add;
  add.mutable_add_camera()->set_id("extra");
  add.mutable_add_camera()->set_url(url_);
  ASSERT_TRUE(sup_->HandleRequest(add).ok());
  {
    std::ofstream f(path_);
    f << "node_id: renamed\ncameras:\n  - id: a\n    url: " << url_
      << "\n    analytics_fps: 10\n";
  }
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::vector<std::string>(r->removed_runtime().begin(), r->removed_runtime().end()),
            std::vector<std::string>{"extra"});
  EXPECT_EQ(r->removed_size(), 3);
  ASSERT_EQ(r->warnings_size(), 2);  // node_id, analytics_workers (1 -> default)
  EXPECT_EQ(r->warnings(0),
            "node_id ('reload-test' -> 'renamed') changed: applies at the next start of skynetd");
}

// Accepts TCP connections on 127.0.0.1 and never says a word: an RTSP camera that hangs.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        if (stop_) {
          ::close(c);
          return;
        }
        accepted_.fetch_add(1);
        clients_.push_back(c);  // held open, never read
      }
    });
  }
  ~SilentServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    for (int c : clients_) ::close(c);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> clients_;
  std::thread thread_;
};

TEST_F(SupervisorTest, StatusAnswersWhileACameraIsStopping) {
  SilentServer silent;
  sup_->Start();
  v1::Request add;
  add.mutable_add_camera()->set_yaml("id: hung\nurl: rtsp://127.0.0.1:" +
                                     std::to_string(silent.port()) +
                                     "/stream\nconnect_timeout_ms: 60000\n");
  ASSERT_TRUE(sup_->HandleRequest(add).ok());
  ASSERT_TRUE(WaitFor([&] { return silent.accepted() >= 1; }));

  using Clock = std::chrono::steady_clock;
  auto timed = [&](const v1::Request& r, v1::Response* out) {
    const auto t0 = Clock::now();
    *out = sup_->HandleRequest(r);
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  };
  v1::Request remove;
  remove.mutable_remove_camera()->set_camera_id("hung");
  v1::Response resp;
  EXPECT_LT(timed(remove, &resp).count(), 500);
  ASSERT_TRUE(resp.ok()) << resp.error();
  // While the teardown runs in the background, status answers at once, every time.
  std::atomic<bool> idle{false};
  std::thread waiter([&] {
    sup_->WaitIdle();
    idle = true;
  });
  v1::Request status;
  status.mutable_status();
  int answered = 0;
  while (!idle) {
    EXPECT_LT(timed(status, &resp).count(), 500);
    EXPECT_TRUE(resp.ok());
    ++answered;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  waiter.join();
  EXPECT_GE(answered, 1);
  EXPECT_EQ(Status("hung").error(), "status: no camera with id 'hung'");
}

TEST_F(SupervisorTest, SlowTeardownBlocksNeitherControlNorOtherCameras) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> blocked{0};
  Supervisor::Hooks hooks;
  hooks.before_stop = [&](const std::string& id) {
    if (id != "slow") return;
    blocked.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
  };
  EventBusOptions bus_options;
  bus_options.endpoint = dir_.Ipc("feed2");
  bus_options.heartbeat_interval_ms = 0;
  auto bus = EventBus::Create(bus_options);
  ASSERT_TRUE(bus.ok());
  auto created = Supervisor::Create(config_, bus->get(), SystemClock::Get(), hooks);
  ASSERT_TRUE(created.ok());
  std::unique_ptr<Supervisor> sup = std::move(created).value();
  struct Release {  // even when an assertion fails, so that the supervisor can stop
    std::function<void()> fn;
    ~Release() { fn(); }
  } guard{[&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
    }
    cv.notify_all();
  }};
  auto status = [&](const std::string& id) {
    v1::Request r;
    r.mutable_status()->set_camera_id(id);
    return sup->HandleRequest(r);
  };
  auto add_slow = [&] {
    v1::Request r;
    r.mutable_add_camera()->set_id("slow");
    r.mutable_add_camera()->set_url(config_.cameras[0].url);
    return sup->HandleRequest(r);
  };
  sup->Start();
  ASSERT_TRUE(add_slow().ok());
  ASSERT_TRUE(WaitFor([&] {
    return status("slow").status().cameras(0).state() == v1::CAMERA_STATE_ONLINE &&
           status("a").status().cameras(0).state() == v1::CAMERA_STATE_ONLINE;
  }));

  using Clock = std::chrono::steady_clock;
  v1::Request remove;
  remove.mutable_remove_camera()->set_camera_id("slow");
  auto t0 = Clock::now();
  ASSERT_TRUE(sup->HandleRequest(remove).ok());
  ASSERT_TRUE(WaitFor([&] { return blocked.load() == 1; }));
  // The teardown hangs; control answers at once and camera a keeps being analysed.
  const uint64_t a_frames = status("a").status().cameras(0).frames_analysed();
  for (int i = 0; i < 20; ++i) {
    auto t = Clock::now();
    v1::Response r = status("");
    EXPECT_TRUE(r.ok());
    EXPECT_LT(Clock::now() - t, std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(WaitFor([&] {
    return status("a").status().cameras(0).frames_analysed() > a_frames + 3;
  }));
  // Added again while its old session is still stopping: listed at once, started only after.
  ASSERT_TRUE(add_slow().ok());
  EXPECT_EQ(status("slow").status().cameras(0).state(), v1::CAMERA_STATE_CONNECTING);
  EXPECT_EQ(status("slow").status().cameras(0).frames_in(), 0u);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
  guard.fn();
  ASSERT_TRUE(WaitFor([&] {
    return status("slow").status().cameras(0).state() == v1::CAMERA_STATE_ONLINE;
  }));
  sup->Stop();
}

}  // namespace
}  // namespace skynet::daemon
