// skynetd as a service, on a real daemon: systemd's notify protocol against a datagram socket
// the test binds (READY=1, STATUS=, WATCHDOG=1, RELOADING=1 on SIGHUP, STOPPING=1), and the
// Prometheus endpoint scraped over HTTP and parsed by python3-prometheus-client's parser
// (tests/daemon/metrics_scrape.py) while camsim streams a camera.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/metrics_port.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::TempDir;

// The datagram socket systemd would listen on (NOTIFY_SOCKET).
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }

  // Reads datagrams until `count` of them hold `line` as one of their lines; all are kept.
  bool WaitForLine(const std::string& line, std::chrono::milliseconds budget, size_t count = 1) {
    return testing::WaitFor(
        [&] {
          Pump();
          return Count(line) >= count;
        },
        budget, 20ms);
  }
  // Reads every datagram waiting.
  void Pump() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
      messages_.emplace_back(buf, static_cast<size_t>(n));
    }
  }
  // Index of the first message holding `line` (messages_.size() if none).
  size_t IndexOf(const std::string& line) const {
    for (size_t i = 0; i < messages_.size(); ++i) {
      if (("\n" + messages_[i] + "\n").find("\n" + line + "\n") != std::string::npos) return i;
    }
    return messages_.size();
  }
  size_t Count(const std::string& line) const {
    size_t n = 0;
    for (const std::string& m : messages_) {
      if (("\n" + m + "\n").find("\n" + line + "\n") != std::string::npos) ++n;
    }
    return n;
  }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<std::string> messages_;
};

int WaitExit(pid_t pid, std::chrono::seconds budget) {
  int status = -1;
  testing::WaitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, budget, 20ms);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SkynetdServiceTest, SpeaksSystemdsNotifyProtocol) {
  TempDir dir;
  NotifySocket notify(dir.File("notify.sock"));
  ASSERT_TRUE(notify.bound());
  {
    std::ofstream f(dir.File("skynetd.yaml"));
    f << "node_id: notify-node\n"
      << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
      << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
      << "metrics_endpoint: ''\n"
      << "heartbeat_interval_ms: 200\n"
      << "cameras: []\n";
  }
  // What systemd passes with Type=notify and WatchdogSec=2s.
  ::setenv("NOTIFY_SOCKET", dir.File("notify.sock").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", dir.File("skynetd.yaml")},
                      dir.File("skynetd.log"));
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(daemon.started());

  ASSERT_TRUE(notify.WaitForLine("READY=1", 60s)) << "no READY=1";
  bool status_seen = false;
  for (const std::string& m : notify.messages()) {
    if (m.find("STATUS=0/0 cameras online") != std::string::npos) status_seen = true;
  }
  EXPECT_TRUE(status_seen) << "READY=1 without a STATUS= summary";
  // The watchdog is fed every half interval while the bus and the (idle) workers are alive.
  ASSERT_TRUE(notify.WaitForLine("WATCHDOG=1", 60s, 2))
      << notify.Count("WATCHDOG=1") << " watchdog pings";

  ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
  ASSERT_TRUE(notify.WaitForLine("RELOADING=1", 60s));
  const size_t reloading = notify.IndexOf("RELOADING=1");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        notify.Pump();
        for (size_t i = reloading + 1; i < notify.messages().size(); ++i) {
          if (notify.messages()[i].find("READY=1") != std::string::npos) return true;
        }
        return false;
      },
      60s, 20ms))
      << "no READY=1 after the reload";

  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  ASSERT_TRUE(notify.WaitForLine("STOPPING=1", 60s));
  EXPECT_EQ(WaitExit(daemon.pid(), 60s), 0);
}

TEST(SkynetdServiceTest, MetricsAreScrapedAndParsedWithPrometheusClient) {
  TempDir dir;
  ChildProcess camsim(BuildPath("tools/camsim/skynet-camsim"),
                      {"--port", "0", "--loop-seconds", "4", "--size", "320x180", "--fps", "10",
                       "--traffic", "1", "--log-level", "warn"},
                      dir.File("camsim.log"));
  ASSERT_TRUE(camsim.started());
  const std::vector<std::string> urls = testing::ReadCamsimReady(camsim).urls;
  ASSERT_EQ(urls.size(), 1u) << "camsim did not print its URL and ready";
  {
    std::ofstream f(dir.File("skynetd.yaml"));
    f << "node_id: metrics-node\n"
      << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
      << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
      << "metrics_endpoint: 127.0.0.1:0\n"
      << "journal:\n  dir: " << dir.File("journal") << "\n"
      << "cameras:\n  - id: cam0\n    url: " << urls[0] << "\n    analytics_fps: 5\n";
  }
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", dir.File("skynetd.yaml")},
                      dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  const int port = testing::MetricsPort(dir.File("skynetd.log"));
  ASSERT_GT(port, 0) << "skynetd logged no metrics port";

  // The scraper polls until the camera is up and has analysed frames, then checks the families.
  ChildProcess scrape("/usr/bin/python3",
                      {testing::SourcePath("tests/daemon/metrics_scrape.py"),
                       "http://127.0.0.1:" + std::to_string(port) + "/metrics", "--camera", "cam0",
                       "--timeout", "120"},
                      dir.File("scrape.log"));
  ASSERT_TRUE(scrape.started());
  std::vector<std::string> out;
  while (auto line = scrape.ReadLine(180s)) out.push_back(*line);
  std::ifstream log(dir.File("scrape.log"));
  const std::string errors((std::istreambuf_iterator<char>(log)), {});
  ASSERT_FALSE(out.empty()) << errors;
  EXPECT_EQ(out.back(), "ok") << errors;
  EXPECT_EQ(WaitExit(scrape.pid(), 30s), 0) << errors;
}

}  // namespace
}  // namespace skynet
