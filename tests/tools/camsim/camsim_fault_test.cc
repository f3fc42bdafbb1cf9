// camsim's fault controls, seen from real clients: a GStreamer RtspProbe and, where the
// difference between FIN and RST matters, a raw RTSP client on a plain socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/wait.h"
#include "tests/tools/camsim/rtsp_probe.h"
#include "tools/camsim/camsim.h"

namespace skynet::camsim {
namespace {

using namespace std::chrono_literals;
using skynet::testing::WaitFor;
using testing::RtspProbe;

std::unique_ptr<Server> StartServer(std::vector<CameraSpec> cameras) {
  for (auto& c : cameras) c.loop_seconds = 2;  // quick to encode
  auto server = Server::Create({.cameras = std::move(cameras)});
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return nullptr;
  EXPECT_TRUE((*server)->Start().ok());
  return std::move(server).value();
}

uint64_t FramesSent(Server& s, const std::string& cam) { return s.Stats(cam)->frames_sent; }

// A minimal RTSP client on a plain socket: DESCRIBE, SETUP (TCP interleaved), PLAY.
class RawRtspClient {
 public:
  explicit RawRtspClient(int port, const std::string& path) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    const std::string url = "rtsp://127.0.0.1:" + std::to_string(port) + "/" + path;
    const std::string sdp = Request("DESCRIBE " + url + " RTSP/1.0\r\nAccept: application/sdp\r\n");
    const size_t at = sdp.find("a=control:stream");
    if (at == std::string::npos) return;
    std::string control = sdp.substr(at + 10, sdp.find_first_of("\r\n", at) - at - 10);
    if (control.rfind("rtsp://", 0) != 0) control = url + "/" + control;
    const std::string setup = Request("SETUP " + control +
                                      " RTSP/1.0\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
    const size_t s = setup.find("Session: ");
    if (s == std::string::npos) return;
    session_ = setup.substr(s + 9, setup.find_first_of(";\r\n", s) - s - 9);
    playing_ = Request("PLAY " + url + " RTSP/1.0\r\nSession: " + session_ + "\r\n")
                   .find("200 OK") != std::string::npos;
  }
  ~RawRtspClient() {
    if (fd_ >= 0) close(fd_);
  }
  bool playing() const { return playing_; }

  // Reads until the server ends the connection: 0 for an orderly close (FIN), the errno
  // (ECONNRESET for RST), or -1 if it is still open after `timeout`. Counts bytes read.
  int ReadUntilClosed(std::chrono::milliseconds timeout, size_t* bytes = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[16384];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return 0;
      if (n < 0) return errno;
      if (bytes) *bytes += static_cast<size_t>(n);
    }
    return -1;
  }

 private:
  // Sends one request, returns the response headers and body (interleaved data skipped).
  std::string Request(const std::string& head) {
    const std::string req = head + "CSeq: " + std::to_string(++cseq_) + "\r\n\r\n";
    if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) < 0) return {};
    std::string in;
    char buf[4096];
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      const size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        if (size_t cl = in.find("Content-Length: "); cl != std::string::npos && cl < end) {
          length = std::stoul(in.substr(cl + 16));
        }
        if (in.size() >= end + 4 + length) return in;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return in;
      in.append(buf, static_cast<size_t>(n));
    }
    return in;
  }

  int fd_ = -1;
  int cseq_ = 0;
  std::string session_;
  bool playing_ = false;
};

TEST(FaultLineTest, ParsesEveryCommand) {
  std::string cam;
  auto c = ParseFaultLine("stall cam1", &cam);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(cam, "cam1");
  EXPECT_EQ(c->kind, FaultCommand::Kind::kStall);
  c = ParseFaultLine("resize north 320x180", &cam);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->kind, FaultCommand::Kind::kResize);
  EXPECT_EQ(c->width, 320);
  EXPECT_EQ(c->height, 180);
  c = ParseFaultLine("auth cam2 off", &cam);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->on);
  for (const char* verb : {"stop", "kill", "start", "restart", "garbage", "resume"}) {
    EXPECT_TRUE(ParseFaultLine(std::string(verb) + " c", &cam).ok()) << verb;
  }
  for (const char* verb : {"cover", "blur", "knock", "freeze", "tint"}) {
    c = ParseFaultLine(std::string(verb) + " c", &cam);
    ASSERT_TRUE(c.ok()) << verb;
    EXPECT_EQ(c->kind, FaultCommand::Kind::kPicture);
    EXPECT_EQ(c->picture, verb);
  }
}

TEST(FaultLineTest, RejectsBadLinesQuotingThem) {
  std::string cam;
  for (const char* line : {"", "stall", "explode cam1", "resize cam1", "resize cam1 big",
                           "auth cam1 maybe", "stall cam1 now", "cover cam1 now"}) {
    auto c = ParseFaultLine(line, &cam);
    EXPECT_FALSE(c.ok()) << line;
    if (!c.ok()) {
      EXPECT_NE(c.status().message().find(line), std::string::npos);
    }
  }
}

TEST(CamsimFaultTest, UnknownCameraIsNotFound) {
  auto server = StartServer({{.name = "cam"}});
  ASSERT_TRUE(server);
  EXPECT_EQ(server->Control("stall nope").code(), StatusCode::kNotFound);
}

TEST(CamsimFaultTest, StallKeepsTheConnectionAndResumeRestartsFrames) {
  auto server = StartServer({{.name = "cam"}});
  ASSERT_TRUE(server);
  RawRtspClient raw(server->port(), "cam");
  ASSERT_TRUE(raw.playing());
  RtspProbe probe(server->Url("cam"));
  ASSERT_TRUE(probe.WaitForFrames(5));
  ASSERT_TRUE(server->Control("stall cam").ok());
  EXPECT_TRUE(server->Stats("cam")->stalled);
  const uint64_t sent = FramesSent(*server, "cam");
  // Absence needs a window: nothing is sent for 1 s, and the connection stays open.
  EXPECT_FALSE(WaitFor([&] { return FramesSent(*server, "cam") > sent; }, 1000ms));
  EXPECT_EQ(raw.ReadUntilClosed(200ms), -1);
  EXPECT_TRUE(probe.error().empty()) << probe.error();
  const int before = probe.frames();
  ASSERT_TRUE(server->Control("resume cam").ok());
  EXPECT_TRUE(probe.WaitForFrames(before + 5));
}

TEST(CamsimFaultTest, KillResetsAndStopClosesTheConnection) {
  auto server = StartServer({{.name = "cam"}, {.name = "other"}});
  ASSERT_TRUE(server);
  {
    RawRtspClient raw(server->port(), "cam");
    ASSERT_TRUE(raw.playing());
    RawRtspClient bystander(server->port(), "other");
    ASSERT_TRUE(bystander.playing());
    size_t bytes = 0;
    ASSERT_TRUE(WaitFor([&] { return raw.ReadUntilClosed(50ms, &bytes) == -1 && bytes > 1000; }));
    ASSERT_TRUE(server->Control("kill cam").ok());
    EXPECT_EQ(raw.ReadUntilClosed(10s), ECONNRESET);
    EXPECT_EQ(bystander.ReadUntilClosed(300ms), -1);  // other cameras are not touched
    EXPECT_EQ(server->Stats("cam")->clients_closed, 1u);
    EXPECT_FALSE(server->Stats("cam")->serving);
  }
  ASSERT_TRUE(server->Control("start cam").ok());
  {
    RawRtspClient raw(server->port(), "cam");
    ASSERT_TRUE(raw.playing());
    size_t bytes = 0;
    ASSERT_TRUE(WaitFor([&] { return raw.ReadUntilClosed(50ms, &bytes) == -1 && bytes > 1000; }));
    ASSERT_TRUE(server->Control("stop cam").ok());
    EXPECT_EQ(raw.ReadUntilClosed(10s), 0);  // FIN
  }
}

TEST(CamsimFaultTest, StoppedCameraIsNotFoundUntilStarted) {
  auto server = StartServer({{.name = "cam"}});
  ASSERT_TRUE(server);
  ASSERT_TRUE(server->Control("stop cam").ok());
  {
    RtspProbe probe(server->Url("cam"));
    ASSERT_TRUE(WaitFor([&] { return !probe.error().empty(); }));
    EXPECT_NE(probe.error().find("Not found"), std::string::npos) << probe.error();
  }
  ASSERT_TRUE(server->Control("start cam").ok());
  RtspProbe probe(server->Url("cam"));
  EXPECT_TRUE(probe.WaitForFrames(3));
}

TEST(CamsimFaultTest, RestartCutsClientsAndServesAgainAtOnce) {
  auto server = StartServer({{.name = "cam"}});
  ASSERT_TRUE(server);
  RtspProbe first(server->Url("cam"));
  ASSERT_TRUE(first.WaitForFrames(3));
  ASSERT_TRUE(server->Control("restart cam").ok());
  EXPECT_EQ(server->Stats("cam")->clients_closed, 1u);
  EXPECT_TRUE(server->Stats("cam")->serving);
  RtspProbe second(server->Url("cam"));
  EXPECT_TRUE(second.WaitForFrames(3));
}

TEST(CamsimFaultTest, ResizeSwitchesTheStreamWithoutReconnecting) {
  auto server = StartServer({{.name = "cam"}});
  ASSERT_TRUE(server);
  RtspProbe probe(server->Url("cam"));
  ASSERT_TRUE(probe.WaitForFrames(3));
  EXPECT_EQ(probe.width(), 640);
  ASSERT_TRUE(server->Control("resize cam 320x240").ok());
  EXPECT_EQ(server->Stats("cam")->width, 320);
  EXPECT_TRUE(WaitFor([&] { return probe.width() == 320 && probe.height() == 240; }, 15s));
  EXPECT_TRUE(probe.error().empty()) << probe.error();
  EXPECT_EQ(server->Stats("cam")->medias_created, 1u);
  EXPECT_EQ(server->Control("resize cam 3x3").code(), StatusCode::kInvalidArgument);
}

// Picture faults re-render the loop: a uniform patch over the middle of the view (cover), every
// frame the same (freeze), and the moving scene again after resume.
TEST(CamsimFaultTest, PictureFaultsChangeThePictureUntilResume) {
  auto server = StartServer({{.name = "cam", .width = 320, .height = 180, .fps = 10}});
  ASSERT_TRUE(server);
  RtspProbe probe(server->Url("cam"));
  ASSERT_TRUE(probe.WaitForFrames(3));
  // Levels spanned by the middle of the view (inside the cover's patch).
  auto middle_range = [&] {
    const std::vector<uint8_t> f = probe.LastFrame();
    if (f.size() != 320u * 180u) return 255;
    int lo = 255, hi = 0;
    for (int y = 70; y < 110; ++y) {
      for (int x = 130; x < 190; ++x) {
        lo = std::min<int>(lo, f[y * 320 + x]);
        hi = std::max<int>(hi, f[y * 320 + x]);
      }
    }
    return hi - lo;
  };
  // Whether the next few frames equal the current one.
  auto still = [&] {
    const std::vector<uint8_t> a = probe.LastFrame();
    const int n = probe.frames();
    if (!WaitFor([&] { return probe.frames() >= n + 3; }, 10s)) return false;
    return probe.LastFrame() == a;
  };
  ASSERT_TRUE(server->Control("cover cam").ok());
  EXPECT_EQ(server->Stats("cam")->picture, "cover");
  EXPECT_TRUE(WaitFor([&] { return middle_range() <= 6; }, 15s)) << middle_range();
  ASSERT_TRUE(server->Control("freeze cam").ok());
  EXPECT_EQ(server->Stats("cam")->picture, "freeze");
  EXPECT_TRUE(WaitFor(still, 15s));
  ASSERT_TRUE(server->Control("resume cam").ok());
  EXPECT_EQ(server->Stats("cam")->picture, "");
  EXPECT_TRUE(WaitFor([&] { return !still(); }, 15s));
  EXPECT_TRUE(probe.error().empty()) << probe.error();
  EXPECT_EQ(server->Stats("cam")->medias_created, 1u);  // no reconnect
}

TEST(CamsimFaultTest, AuthOnNeedsTheCredentials) {
  auto server = StartServer({{.name = "cam"}, {.name = "open"}});
  ASSERT_TRUE(server);
  ASSERT_TRUE(server->Control("auth cam on").ok());
  {
    RtspProbe probe(server->Url("cam"));
    ASSERT_TRUE(WaitFor([&] { return !probe.error().empty(); }));
    EXPECT_NE(probe.error().find("Unauthorized"), std::string::npos) << probe.error();
  }
  {
    RtspProbe probe("rtsp://viewer:camsim@127.0.0.1:" + std::to_string(server->port()) + "/cam");
    EXPECT_TRUE(probe.WaitForFrames(3)) << probe.error();
  }
  {
    RtspProbe probe(server->Url("open"));  // other cameras stay open
    EXPECT_TRUE(probe.WaitForFrames(3)) << probe.error();
  }
  ASSERT_TRUE(server->Control("auth cam off").ok());
  RtspProbe probe(server->Url("cam"));
  EXPECT_TRUE(probe.WaitForFrames(3)) << probe.error();
}

TEST(CamsimFaultTest, GarbageCorruptsButKeepsServing) {
  auto server = StartServer({{.name = "cam"}});
  ASSERT_TRUE(server);
  RawRtspClient raw(server->port(), "cam");
  ASSERT_TRUE(raw.playing());
  ASSERT_TRUE(server->Control("garbage cam").ok());
  EXPECT_TRUE(server->Stats("cam")->garbage);
  const uint64_t sent = FramesSent(*server, "cam");
  EXPECT_TRUE(WaitFor([&] { return FramesSent(*server, "cam") > sent + 10; }));
  ASSERT_TRUE(server->Control("resume cam").ok());
  EXPECT_FALSE(server->Stats("cam")->garbage);
  RtspProbe probe(server->Url("cam"));
  EXPECT_TRUE(probe.WaitForFrames(3)) << probe.error();
}

}  // namespace
}  // namespace skynet::camsim
