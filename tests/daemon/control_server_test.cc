#include "daemon/control_server.h"

#include <zmq.hpp>

#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;

// A REQ client with a generous receive deadline.
class Client {
 public:
  explicit Client(const std::string& endpoint) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.set(zmq::sockopt::rcvtimeo, 30000);
    sock_.connect(endpoint);
  }
  v1::Response CallRaw(const std::string& bytes) {
    sock_.send(zmq::buffer(bytes), zmq::send_flags::none);
    zmq::message_t reply;
    EXPECT_TRUE(sock_.recv(reply));
    v1::Response r;
    EXPECT_TRUE(r.ParseFromArray(reply.data(), static_cast<int>(reply.size())));
    return r;
  }
  v1::Response Call(const v1::Request& req) { return CallRaw(req.SerializeAsString()); }

 private:
  zmq::context_t ctx_{1};
  zmq::socket_t sock_{ctx_, zmq::socket_type::req};
};

v1::Response Echo(const v1::Request& req) {
  v1::Response r;
  r.set_ok(true);
  r.mutable_status()->set_node_id("asked:" + req.status().camera_id());
  return r;
}

TEST(ControlServerTest, AnswersRequests) {
  TempDir dir;
  auto server = ControlServer::Create({.endpoint = dir.Ipc("sub/control.sock")}, Echo);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Client c(dir.Ipc("sub/control.sock"));
  v1::Request req;
  req.mutable_status()->set_camera_id("cam3");
  v1::Response r = c.Call(req);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.status().node_id(), "asked:cam3");
}

// `quality` is a poll (read role); `accept_view` changes the reference view (admin, like enable).
TEST(ControlServerTest, QualityNeedsReadAndAcceptViewNeedsAdmin) {
  EXPECT_EQ(RequiredRole("quality"), Role::kRead);
  EXPECT_EQ(RequiredRole("accept_view"), Role::kAdmin);
  TempDir dir;
  auto server = ControlServer::Create(
      {.endpoint = dir.Ipc("control.sock"), .default_role = Role::kRead}, Echo);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const Peer reader{"center", Role::kRead};
  v1::Request quality;
  quality.mutable_quality()->set_camera_id("cam1");
  const std::string q = quality.SerializeAsString();
  EXPECT_TRUE((*server)->Handle(q.data(), q.size(), reader).ok());
  v1::Request accept;
  accept.mutable_accept_view()->set_camera_id("cam1");
  const std::string a = accept.SerializeAsString();
  const v1::Response refused = (*server)->Handle(a.data(), a.size(), reader);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), "permission denied: accept_view needs the admin role; center has read");
  EXPECT_TRUE((*server)->Handle(a.data(), a.size(), {"alice", Role::kAdmin}).ok());
  accept.mutable_accept_view()->set_camera_id("cam 1");
  const std::string bad = accept.SerializeAsString();
  EXPECT_EQ((*server)->Handle(bad.data(), bad.size(), {"alice", Role::kAdmin}).error(),
            "accept_view.camera_id: may contain only letters, digits, '.', '_' and '-'");
}

TEST(ControlServerTest, GarbageGetsAnErrorAndServerCarriesOn) {
  TempDir dir;
  auto server = ControlServer::Create({.endpoint = dir.Ipc("control.sock")}, Echo);
  ASSERT_TRUE(server.ok());
  Client c(dir.Ipc("control.sock"));
  v1::Response bad = c.CallRaw(std::string("\xff\xff\xff\x07garbage", 11));
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("malformed request"), std::string::npos);
  v1::Response empty = c.CallRaw("");
  EXPECT_FALSE(empty.ok());
  EXPECT_NE(empty.error().find("empty command"), std::string::npos);
  v1::Request req;
  req.mutable_status();
  EXPECT_TRUE(c.Call(req).ok());
  EXPECT_EQ((*server)->requests(), 3u);
}

// Issue 14 items 3 and 8: an error quoting invalid UTF-8 (a reload of random bytes) still makes
// a valid protobuf answer and a valid audit line; answered polls are audited only on request.
TEST(ControlServerTest, ErrorsAndAuditLinesAreValidUtf8AndPollsAreNotAudited) {
  TempDir dir;
  auto failing = [](const v1::Request&) {
    v1::Response r;
    r.set_ok(false);
    r.set_error("reload rejected: t.yaml:1:1: got '\xff\xfe\xc3('");
    return r;
  };
  ControlServerOptions options{.endpoint = dir.Ipc("control.sock")};
  options.audit_log = dir.File("audit.log");
  auto server = ControlServer::Create(options, failing);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  v1::Request reload;
  reload.mutable_reload();
  const std::string bytes = reload.SerializeAsString();
  v1::Response r = (*server)->Handle(bytes.data(), bytes.size(), Peer{"ops", Role::kAdmin});
  EXPECT_EQ(r.error(), "reload rejected: t.yaml:1:1: got '\\xFF\\xFE\\xC3('");
  v1::Request status;
  status.mutable_status();
  const std::string poll = status.SerializeAsString();
  (*server)->Handle(poll.data(), poll.size(), Peer{"ops", Role::kAdmin});  // refused: audited
  auto echo = ControlServer::Create({.endpoint = dir.Ipc("echo.sock"),
                                     .audit_log = dir.File("audit.log")},
                                    Echo);
  ASSERT_TRUE(echo.ok());
  (*echo)->Handle(poll.data(), poll.size(), Peer{"ops", Role::kAdmin});  // answered: not
  const std::string audit = skynet::testing::ReadFile(dir.File("audit.log"));
  EXPECT_NE(audit.find("\"who\":\"ops\",\"role\":\"admin\",\"command\":\"reload\",\"ok\":false,"
                       "\"error\":\"reload rejected: t.yaml:1:1: got '\\\\xFF\\\\xFE\\\\xC3('\"}"),
            std::string::npos)
      << audit;
  EXPECT_NE(audit.find("\"command\":\"status\",\"ok\":false"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("\"command\":\"status\",\"ok\":true"), std::string::npos) << audit;
}

TEST(ControlServerTest, BindFailureNamesTheEndpoint) {
  auto server = ControlServer::Create({.endpoint = "tcp://256.0.0.1:1"}, Echo);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("control_endpoint tcp://256.0.0.1:1"),
            std::string::npos);
}

}  // namespace
}  // namespace skynet::daemon
