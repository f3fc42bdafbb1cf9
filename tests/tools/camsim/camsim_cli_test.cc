// Runs the skynet-camsim binary as a user would: spawn, wait for "ready", stream, SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/tools/camsim/rtsp_probe.h"

extern char** environ;

namespace skynet::camsim {
namespace {

using namespace std::chrono_literals;

// A child process whose stdout is read line by line.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    std::string bin = SKYNET_CAMSIM_BIN;
    std::vector<char*> argv = {bin.data()};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2], errs[2];
    if (pipe(fds) != 0 || pipe(errs) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_adddup2(&actions, errs[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, errs[0]);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    close(errs[1]);
    out_ = fds[0];
    err_ = errs[0];
    // stderr is drained by a thread so that a chatty child never blocks on a full pipe.
    err_reader_ = std::thread([this] {
      char chunk[512];
      ssize_t n;
      while ((n = read(err_, chunk, sizeof chunk)) > 0) {
        std::lock_guard<std::mutex> lock(err_mu_);
        err_text_.append(chunk, static_cast<size_t>(n));
      }
    });
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_reader_.joinable()) err_reader_.join();
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  // Everything the child wrote to stderr; complete once it exited and Wait() returned.
  std::string Stderr() {
    if (pid_ <= 0 && err_reader_.joinable()) err_reader_.join();
    std::lock_guard<std::mutex> lock(err_mu_);
    return err_text_;
  }

  // Next stdout line, or nullopt on EOF/deadline.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[512];
      ssize_t n = read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Exit code after `sig`, or -1 if it did not exit normally within the timeout.
  int SignalAndWait(int sig, std::chrono::milliseconds timeout) {
    kill(pid_, sig);
    return Wait(timeout);
  }
  int Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      poll(nullptr, 0, 20);  // waitpid has no timeout
    }
    return -1;
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string buffer_;
  std::thread err_reader_;
  std::mutex err_mu_;
  std::string err_text_;
};

TEST(CamsimCliTest, PrintsUrlsThenReadyServesAndExitsZeroOnSigterm) {
  Child child({"--port", "0", "--loop-seconds", "2", "--camera", "north:traffic:320x240@10",
               "--static", "1", "--log-level", "warn"});
  ASSERT_TRUE(child.started());
  std::vector<std::string> urls;
  bool ready = false;
  while (auto line = child.ReadLine(60s)) {
    if (*line == "ready") {
      ready = true;
      break;
    }
    urls.push_back(*line);
  }
  ASSERT_TRUE(ready);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(urls[0].rfind("rtsp://127.0.0.1:", 0), 0u) << urls[0];
  EXPECT_NE(urls[0].find("/north"), std::string::npos);
  EXPECT_NE(urls[1].find("/static1"), std::string::npos);

  testing::RtspProbe probe(urls[0]);
  ASSERT_TRUE(probe.WaitForFrames(10)) << probe.error();
  EXPECT_EQ(probe.width(), 320);
  probe.Close();
  EXPECT_EQ(child.SignalAndWait(SIGTERM, 15s), 0);
}

TEST(CamsimCliTest, SigintWhileClientConnectedExitsZero) {
  Child child({"--port", "0", "--loop-seconds", "1", "--traffic", "1", "--log-level", "warn"});
  auto url = child.ReadLine(60s);
  ASSERT_TRUE(url);
  ASSERT_EQ(child.ReadLine(60s).value_or(""), "ready");
  testing::RtspProbe probe(*url);
  ASSERT_TRUE(probe.WaitForFrames(5)) << probe.error();
  EXPECT_EQ(child.SignalAndWait(SIGINT, 15s), 0);
}

// Sends one line to 127.0.0.1:`port` and returns the one-line answer.
std::string ControlLine(int port, const std::string& line) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, (line + "\n").data(), line.size() + 1, MSG_NOSIGNAL) > 0) {
    char c;
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 30000) > 0 && read(fd, &c, 1) == 1 && c != '\n') reply += c;
  }
  close(fd);
  return reply;
}

TEST(CamsimCliTest, ControlPortAppliesFaultsLineByLine) {
  Child child({"--port", "0", "--loop-seconds", "1", "--traffic", "1", "--control-port", "0",
               "--log-level", "warn"});
  auto url = child.ReadLine(60s);
  ASSERT_TRUE(url);
  const std::string control = child.ReadLine(60s).value_or("");
  ASSERT_EQ(control.rfind("control 127.0.0.1:", 0), 0u) << control;
  const int port = std::stoi(control.substr(control.rfind(':') + 1));
  ASSERT_EQ(child.ReadLine(60s).value_or(""), "ready");
  testing::RtspProbe probe(*url);
  ASSERT_TRUE(probe.WaitForFrames(3)) << probe.error();
  EXPECT_EQ(ControlLine(port, "resize cam1 320x240"), "ok");
  EXPECT_TRUE(probe.WaitForFrames(40)) << probe.error();
  EXPECT_EQ(probe.width(), 320);
  EXPECT_EQ(ControlLine(port, "stall cam1"), "ok");
  EXPECT_EQ(ControlLine(port, "stall cam9").rfind("error: camera 'cam9' not found", 0), 0u);
  EXPECT_EQ(ControlLine(port, "explode cam1").rfind("error: 'explode cam1'", 0), 0u);
  probe.Close();
  EXPECT_EQ(child.SignalAndWait(SIGTERM, 15s), 0);
}

TEST(CamsimCliTest, BadArgumentsExitTwoNamingTheArgument) {
  struct Case {
    std::vector<std::string> args;
    std::string named;  // must appear in the error message
  };
  const std::vector<Case> cases = {
      {{"--camera", "cam1:rain"}, "cam1:rain"},
      {{"--port", "http"}, "--port"},
      {{"--codec", "vp9", "--traffic", "1"}, "--codec"},
      {{"--size", "big", "--traffic", "1"}, "--size"},
      {{"--file", "/nonexistent/clip.mp4"}, "--file"},
      {{"--traffic", "1", "--fps", "0"}, "--fps"},
      {{}, "no cameras"},
  };
  for (const Case& c : cases) {
    Child child(c.args);
    ASSERT_TRUE(child.started());
    EXPECT_EQ(child.Wait(10s), 2) << c.named;
    EXPECT_NE(child.Stderr().find(c.named), std::string::npos) << child.Stderr();
  }
}

}  // namespace
}  // namespace skynet::camsim
