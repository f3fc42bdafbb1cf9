// The supervisor on the real parts: camera sessions decoding a file through GStreamer (and a
// hung RTSP camera), the ZeroMQ event bus. Its logic on recording fakes: supervisor_test.cc.
#include "daemon/supervisor.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/daemon/supervisor_configs.h"
#include "tests/pipeline/ingest/ingest_test_util.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;
using skynet::testing::WaitFor;

// A supervisor on GStreamer sessions and a ZeroMQ bus (ipc:// in a temp dir).
class RealPartsFixture : public ::testing::Test {
 protected:
  void Make(const Config& config) {
    EventBusOptions bus_options;
    bus_options.endpoint = dir_.Ipc("feed");
    bus_options.heartbeat_interval_ms = 0;
    auto bus = EventBus::Create(bus_options);
    ASSERT_TRUE(bus.ok());
    bus_ = std::move(bus).value();
    auto sup = Supervisor::Create(config, &sessions_, bus_.get());
    ASSERT_TRUE(sup.ok()) << sup.status().ToString();
    sup_ = std::move(sup).value();
  }

  TempDir dir_;
  CameraSessionFactory sessions_;
  std::unique_ptr<EventBus> bus_;
  std::unique_ptr<Supervisor> sup_;
};

class SupervisorIntegrationTest : public RealPartsFixture {
 protected:
  void SetUp() override {
    auto video = ingest::testing::MakeTestVideo(dir_.path(), {});
    ASSERT_TRUE(video.ok()) << video.status().ToString();
    config_ = TwoCameras(*video);  // a file:// URL
    Make(config_);
  }

  v1::Response Status(const std::string& camera = "") {
    v1::Request r;
    r.mutable_status()->set_camera_id(camera);
    return sup_->HandleRequest(r);
  }

  Config config_;
};

TEST_F(SupervisorIntegrationTest, EnabledCameraIsAnalysedDisabledOneReportsDisabled) {
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
  // The counters of the real parts, stable once stopped: the bus's feed and the session's ingest.
  const NodeStats stats = sup_->Stats();
  EXPECT_EQ(stats.feed.node_id, bus_->node_id());
  EXPECT_FALSE(stats.feed.journal);
  ASSERT_EQ(stats.cameras.size(), 2u);
  const CameraStats& a = stats.cameras[0];
  EXPECT_GE(a.session.frames_in, a.session.frames_delivered);
  EXPECT_EQ(a.session.frames_delivered, a.frames_queued);
  // Up to two frames may still be queued when the camera stops.
  EXPECT_LE(a.frames_analysed + a.queue_drops, a.frames_queued);
  EXPECT_GE(a.motion.frames, 5u);
  // At least a's online and final status went out.
  EXPECT_TRUE(WaitFor([&] { return bus_->stats().last_seq >= 2; }));
}

const v1::CameraStatusInfo* Find(const v1::Response& r, const std::string& id) {
  for (const auto& c : r.status().cameras()) {
    if (c.id() == id) return &c;
  }
  return nullptr;
}

// A supervisor built from a config file, for reloads.
class ReloadIntegrationTest : public RealPartsFixture {
 protected:
  void SetUp() override {
    auto video = ingest::testing::MakeTestVideo(dir_.path(), {});
    ASSERT_TRUE(video.ok()) << video.status().ToString();
    url_ = *video;
    path_ = dir_.File("skynetd.yaml");
    WriteConfig({{"a", 10}, {"b", 10}, {"c", 10}});
    auto config = LoadConfigFile(path_);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    Make(*config);
  }

  void WriteConfig(const std::vector<std::pair<std::string, double>>& cameras,
                   const std::string& extra = "") {
    WriteReloadConfig(path_, url_, cameras, extra);
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

  std::string url_;
  std::string path_;
};

TEST_F(ReloadIntegrationTest, OnlyTheChangedCameraRestarts) {
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

TEST_F(SupervisorIntegrationTest, StatusAnswersWhileACameraIsStopping) {
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

}  // namespace
}  // namespace skynet::daemon
