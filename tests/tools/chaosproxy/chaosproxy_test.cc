// chaosproxy in front of a loopback echo server: every mode, switched at runtime.
#include "tools/chaosproxy/chaosproxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/wait.h"

namespace skynet::chaos {
namespace {

using namespace std::chrono_literals;
using skynet::testing::WaitFor;

// Echoes every byte back, on one thread polling all connections.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      std::vector<int> conns;
      while (!stop_) {
        std::vector<pollfd> fds = {{fd_, POLLIN, 0}};
        for (int c : conns) fds.push_back({c, POLLIN, 0});
        if (poll(fds.data(), fds.size(), 50) <= 0) continue;
        if (fds[0].revents) conns.push_back(accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC));
        for (size_t i = 1; i < fds.size(); ++i) {
          if (!fds[i].revents) continue;
          char buf[4096];
          const ssize_t n = recv(fds[i].fd, buf, sizeof buf, 0);
          if (n <= 0) {
            close(fds[i].fd);
            std::erase(conns, fds[i].fd);
            continue;
          }
          send(fds[i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        }
      }
      for (int c : conns) close(c);
    });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A blocking client with receive deadlines.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    connect_errno_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ? errno : 0;
  }
  ~Client() { close(fd_); }
  int connect_errno() const { return connect_errno_; }
  bool Send(const std::string& s) { return send(fd_, s.data(), s.size(), MSG_NOSIGNAL) > 0; }
  // Up to `want` bytes within `timeout`; stops early at EOF or error (then sets last_errno).
  std::string Receive(size_t want, std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, std::min(sizeof buf, want - out.size()), 0);
      if (n <= 0) {
        last_errno = n == 0 ? 0 : errno;
        closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  bool closed = false;
  int last_errno = 0;

 private:
  int fd_ = -1;
  int connect_errno_ = 0;
};

std::unique_ptr<Proxy> StartProxy(int target, int control_port = -1) {
  ProxyOptions o;
  o.target_port = target;
  o.control_port = control_port;
  auto p = Proxy::Start(o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(*p) : nullptr;
}

TEST(ChaosModeTest, ParsesAndNamesModes) {
  for (const char* line : {"pass", "delay 250", "blackhole", "reset", "corrupt 0.5", "refuse"}) {
    auto m = ParseMode(line);
    ASSERT_TRUE(m.ok()) << line;
    EXPECT_EQ(ModeName(*m), line);
  }
  for (const char* line : {"", "delay", "delay x", "delay -1", "corrupt 2", "pass 1", "explode"}) {
    auto m = ParseMode(line);
    EXPECT_FALSE(m.ok()) << line;
    if (!m.ok()) {
      EXPECT_NE(m.status().message().find("'" + std::string(line) + "'"), std::string::npos);
    }
  }
}

TEST(ChaosProxyTest, PassForwardsBothWays) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_TRUE(proxy);
  Client c(proxy->port());
  ASSERT_EQ(c.connect_errno(), 0);
  const std::string msg(100000, 'x');
  ASSERT_TRUE(c.Send(msg));
  EXPECT_EQ(c.Receive(msg.size(), 10s), msg);
  // The proxy counts a chunk after its send() returned, which can be after the client read it.
  EXPECT_TRUE(WaitFor([&] { return proxy->stats().bytes_forwarded >= 2 * msg.size(); }));
}

TEST(ChaosProxyTest, DelayHoldsEachChunk) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_TRUE(proxy);
  ASSERT_TRUE(proxy->SetMode({.kind = Mode::Kind::kDelay, .delay_ms = 150}).ok());
  Client c(proxy->port());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send("ping"));
  EXPECT_EQ(c.Receive(4, 10s), "ping");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);  // 150 ms each way
}

TEST(ChaosProxyTest, BlackholeSwallowsAndKeepsTheConnectionOpen) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_TRUE(proxy);
  Client c(proxy->port());
  ASSERT_TRUE(c.Send("a"));
  ASSERT_EQ(c.Receive(1, 10s), "a");
  ASSERT_TRUE(proxy->Control("blackhole").ok());
  ASSERT_TRUE(c.Send("lost"));
  EXPECT_EQ(c.Receive(4, 500ms), "");  // absence needs a window
  EXPECT_FALSE(c.closed);
  EXPECT_TRUE(WaitFor([&] { return proxy->stats().bytes_swallowed >= 4; }));
  ASSERT_TRUE(proxy->Control("pass").ok());
  ASSERT_TRUE(c.Send("back"));
  EXPECT_EQ(c.Receive(4, 10s), "back");
}

TEST(ChaosProxyTest, ResetResetsCurrentAndNewConnections) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_TRUE(proxy);
  Client c(proxy->port());
  ASSERT_TRUE(c.Send("a"));
  ASSERT_EQ(c.Receive(1, 10s), "a");
  ASSERT_TRUE(proxy->Control("reset").ok());
  c.Receive(1, 10s);
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.last_errno, ECONNRESET);
  // A new connection is reset as soon as the proxy accepts it, and the client learns of the
  // RST in whichever call is running when it arrives. On loopback the proxy can accept and
  // reset before the connecting thread has returned from connect(): connect() then fails with
  // ECONNRESET (consuming the error) and leaves the socket unconnected, so a recv() would say
  // ENOTCONN. Otherwise connect() succeeds and the first recv() reports ECONNRESET. Either way
  // the reset is reported once, as ECONNRESET.
  Client d(proxy->port());  // no send: a send after the RST would consume the error
  ASSERT_TRUE(WaitFor([&] { return proxy->stats().resets >= 2; }));
  if (d.connect_errno() == 0) {
    d.Receive(1, 10s);
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.last_errno, ECONNRESET);
  } else {
    EXPECT_EQ(d.connect_errno(), ECONNRESET);
  }
}

TEST(ChaosProxyTest, CorruptFlipsBytesTowardTheClient) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_TRUE(proxy);
  ASSERT_TRUE(proxy->Control("corrupt 1").ok());
  Client c(proxy->port());
  const std::string msg(1000, 'x');
  ASSERT_TRUE(c.Send(msg));
  const std::string got = c.Receive(msg.size(), 10s);
  ASSERT_EQ(got.size(), msg.size());
  EXPECT_EQ(got, std::string(1000, static_cast<char>('x' ^ 0xff)));
  EXPECT_EQ(proxy->stats().bytes_corrupted, 1000u);
}

TEST(ChaosProxyTest, RefuseClosesTheListenerUntilPass) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_TRUE(proxy);
  ASSERT_TRUE(proxy->Control("refuse").ok());
  EXPECT_EQ(Client(proxy->port()).connect_errno(), ECONNREFUSED);
  ASSERT_TRUE(proxy->Control("pass").ok());
  Client c(proxy->port());
  ASSERT_EQ(c.connect_errno(), 0);
  ASSERT_TRUE(c.Send("hi"));
  EXPECT_EQ(c.Receive(2, 10s), "hi");
}

TEST(ChaosProxyTest, ControlPortSpeaksLines) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port(), 0);
  ASSERT_TRUE(proxy);
  ASSERT_GT(proxy->control_port(), 0);
  Client control(proxy->control_port());
  ASSERT_TRUE(control.Send("blackhole\nbogus\nstats\n"));
  std::string replies;
  ASSERT_TRUE(WaitFor([&] {
    replies += control.Receive(1000, 20ms);
    return std::count(replies.begin(), replies.end(), '\n') >= 3;
  }));
  EXPECT_EQ(replies.rfind("ok\nerror: 'bogus': unknown mode", 0), 0u) << replies;
  EXPECT_NE(replies.find("\nok accepted=0 active=0"), std::string::npos) << replies;
  Client c(proxy->port());
  ASSERT_TRUE(c.Send("x"));
  EXPECT_EQ(c.Receive(1, 300ms), "");
}

TEST(ChaosProxyTest, StopsPromptlyWithConnectionsOpen) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port());
  ASSERT_TRUE(proxy);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(std::make_unique<Client>(proxy->port()));
  ASSERT_TRUE(WaitFor([&] { return proxy->stats().active == 20; }));
  const auto t0 = std::chrono::steady_clock::now();
  proxy.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

}  // namespace
}  // namespace skynet::chaos
