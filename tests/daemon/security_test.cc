// CurveZMQ, ZAP, roles, key files and hostile control requests.
#include "daemon/security.h"

#include <sys/stat.h>

#include <fstream>

#include <zmq.hpp>

#include <gtest/gtest.h>

#include "daemon/control_server.h"
#include "daemon/event_bus.h"
#include "skynet/client/client.h"
#include "skynet/keys.h"
#include "skynet/protocol.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using skynet::testing::ReadFile;
using skynet::testing::TempDir;
using skynet::testing::WaitFor;

// A loopback TCP endpoint with a port that was free a moment ago.
std::string FreeTcpEndpoint() {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::router);
  s.set(zmq::sockopt::linger, 0);
  s.bind("tcp://127.0.0.1:*");
  return s.get(zmq::sockopt::last_endpoint);
}

v1::Response Ok(const v1::Request&) {
  v1::Response r;
  r.set_ok(true);
  return r;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(keys::WriteKeyFiles(dir_.File("server"), *keys::GenerateKeyPair()).ok());
    reader_ = *keys::GenerateKeyPair();
    admin_ = *keys::GenerateKeyPair();
    stranger_ = *keys::GenerateKeyPair();
    SecurityOptions o;
    o.server_key_file = dir_.File("server.key");
    o.clients = {{"center", reader_.public_key, Role::kRead},
                 {"alice", admin_.public_key, Role::kAdmin}};
    auto s = Security::Create(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    security_ = std::move(s).value();
    control_endpoint_ = FreeTcpEndpoint();
    ControlServerOptions co;
    co.endpoint = control_endpoint_;
    co.security = security_.get();
    co.audit_log = dir_.File("audit/audit.log");
    co.required_roles = {{"list_cameras", Role::kAdmin}};  // stands in for add/remove/reload
    auto c = ControlServer::Create(co, Ok);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    control_ = std::move(c).value();
  }
  void TearDown() override {
    control_.reset();  // sockets before the context
    security_.reset();
  }
  skynet::client::CurveCredentials As(const keys::KeyPair& pair) {
    return {security_->server_public_key(), pair.public_key, pair.secret_key};
  }
  Result<v1::Response> Call(const skynet::client::CurveCredentials& curve, bool admin_command,
                            int timeout_ms = 5000) {
    auto client = skynet::client::ControlClient::Connect(control_endpoint_, timeout_ms, curve);
    EXPECT_TRUE(client.ok());
    v1::Request req;
    if (admin_command) {
      req.mutable_list_cameras();
    } else {
      req.mutable_status();
    }
    return client->Call(req);
  }

  TempDir dir_;
  keys::KeyPair reader_, admin_, stranger_;
  std::unique_ptr<Security> security_;
  std::string control_endpoint_;
  std::unique_ptr<ControlServer> control_;
};

TEST_F(SecurityTest, ReadKeyReadsAdminKeyAdministersAndTheAuditLogSaysWho) {
  auto r = Call(As(reader_), false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok()) << r->error();
  r = Call(As(reader_), true);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok());
  EXPECT_NE(r->error().find("permission denied: list_cameras needs the admin role"),
            std::string::npos)
      << r->error();
  r = Call(As(admin_), true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok()) << r->error();
  const std::string audit = ReadFile(dir_.File("audit/audit.log"));
  // An answered poll is not audited by default (audit_reads); refusals and changes are.
  EXPECT_EQ(audit.find("\"command\":\"status\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"who\":\"center\",\"role\":\"read\",\"command\":\"list_cameras\","
                       "\"ok\":false,\"error\":\"permission denied"),
            std::string::npos)
      << audit;
  EXPECT_NE(audit.find("\"who\":\"alice\",\"role\":\"admin\",\"command\":\"list_cameras\","
                       "\"ok\":true"),
            std::string::npos)
      << audit;
}

TEST_F(SecurityTest, UnknownKeyAndPlaintextClientAreRefused) {
  auto r = Call(As(stranger_), false, 1000);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_GE(security_->denied(), 1u);
  r = Call({}, false, 1000);  // no CurveZMQ at all: the handshake fails
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  // The server carries on.
  r = Call(As(reader_), false);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
}

TEST_F(SecurityTest, FeedIsEncryptedAndOnlyForListedKeys) {
  EventBusOptions bo;
  bo.endpoint = FreeTcpEndpoint();
  bo.heartbeat_interval_ms = 10;
  bo.security = security_.get();
  auto bus = EventBus::Create(bo);
  ASSERT_TRUE(bus.ok()) << bus.status().ToString();
  auto good = skynet::client::FeedSubscriber::Connect(bo.endpoint, {""}, As(reader_));
  auto bad = skynet::client::FeedSubscriber::Connect(bo.endpoint, {""}, As(stranger_));
  auto plain = skynet::client::FeedSubscriber::Connect(bo.endpoint, {""});
  ASSERT_TRUE(good.ok() && bad.ok() && plain.ok());
  ASSERT_TRUE(WaitFor([&] {
    auto e = good->Next(10);
    return e.ok() && e->has_value();
  }));
  for (int i = 0; i < 20; ++i) {  // 20 heartbeat intervals
    auto e = bad->Next(5);
    ASSERT_TRUE(e.ok());
    EXPECT_FALSE(e->has_value());
    e = plain->Next(5);
    ASSERT_TRUE(e.ok());
    EXPECT_FALSE(e->has_value());
  }
  (*bus)->Stop();
}

TEST_F(SecurityTest, OversizedGarbageAndMultiFrameRequestsGetErrorsAndTheServerCarriesOn) {
  zmq::context_t ctx(1);
  zmq::socket_t req(ctx, zmq::socket_type::dealer);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.set(zmq::sockopt::curve_serverkey, security_->server_public_key());
  req.set(zmq::sockopt::curve_publickey, reader_.public_key);
  req.set(zmq::sockopt::curve_secretkey, reader_.secret_key);
  req.connect(control_endpoint_);
  auto ask = [&](std::vector<std::string> frames) {
    req.send(zmq::message_t(), zmq::send_flags::sndmore);
    for (size_t i = 0; i < frames.size(); ++i) {
      req.send(zmq::buffer(frames[i]),
               i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    zmq::message_t empty, body;
    EXPECT_TRUE(req.recv(empty));
    EXPECT_TRUE(req.recv(body));
    v1::Response r;
    EXPECT_TRUE(r.ParseFromArray(body.data(), static_cast<int>(body.size())));
    return r;
  };
  v1::Response r = ask({std::string(100 << 10, 'x')});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("request too large: 102400 bytes"), std::string::npos) << r.error();
  r = ask({std::string("\x0a\xff\xff\xff\xff\x0f", 6)});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("malformed request"), std::string::npos) << r.error();
  r = ask({"a", "b", "c"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("expected one protobuf frame, got 3"), std::string::npos) << r.error();
  v1::Request long_id;
  long_id.mutable_status()->set_camera_id(std::string(65, 'c'));
  r = ask({long_id.SerializeAsString()});
  EXPECT_NE(r.error().find("status.camera_id: must be at most 64 characters"), std::string::npos)
      << r.error();
  v1::Request status;
  status.mutable_status();
  EXPECT_TRUE(ask({status.SerializeAsString()}).ok());
  // Up to what the socket reads at all (protocol::kMaxControlMessageBytes) a request over
  // max_request_bytes is answered; beyond it ZMQ_MAXMSGSIZE drops the connection, without an
  // answer (skynet/client refuses to send such a request); others carry on.
  r = ask({std::string(2 << 20, 'x')});
  EXPECT_NE(r.error().find("request too large: 2097152 bytes (limit 65536 bytes"),
            std::string::npos)
      << r.error();
  {
    zmq::socket_t big(ctx, zmq::socket_type::dealer);
    big.set(zmq::sockopt::linger, 0);
    big.set(zmq::sockopt::rcvtimeo, 500);
    big.set(zmq::sockopt::curve_serverkey, security_->server_public_key());
    big.set(zmq::sockopt::curve_publickey, reader_.public_key);
    big.set(zmq::sockopt::curve_secretkey, reader_.secret_key);
    big.connect(control_endpoint_);
    big.send(zmq::message_t(), zmq::send_flags::sndmore);
    big.send(zmq::buffer(std::string(protocol::kMaxControlMessageBytes + 1, 'x')));
    zmq::message_t m;
    EXPECT_FALSE(big.recv(m));
  }
  EXPECT_TRUE(ask({status.SerializeAsString()}).ok());
}

TEST(SecurityKeysTest, KeyFilesAreWrittenPrivateAndRefusedWhenOpen) {
  TempDir dir;
  auto pair = keys::GenerateKeyPair();
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(keys::WriteKeyFiles(dir.File("k"), *pair).ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("k.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(keys::WriteKeyFiles(dir.File("k"), *pair).code(), StatusCode::kAlreadyExists);
  auto loaded = keys::LoadKeyPair(dir.File("k.key"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->secret_key, pair->secret_key);
  EXPECT_EQ(*keys::LoadPublicKey(dir.File("k.pub")), pair->public_key);
  EXPECT_EQ(*keys::LoadPublicKey(pair->public_key), pair->public_key);
  ::chmod(dir.File("k.key").c_str(), 0640);
  auto open = keys::LoadKeyPair(dir.File("k.key"));
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(open.status().message().find("mode 0640"), std::string::npos);
  auto security = Security::Create({.server_key_file = dir.File("k.key")});
  EXPECT_FALSE(security.ok());
}

TEST(SecurityKeysTest, PlaintextTcpOnlyOnLoopback) {
  auto security = Security::Create({});
  ASSERT_TRUE(security.ok());
  EventBusOptions bo;
  bo.endpoint = "tcp://0.0.0.0:0";
  bo.security = security->get();
  auto bus = EventBus::Create(bo);
  ASSERT_FALSE(bus.ok());
  EXPECT_EQ(bus.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(IsLoopbackTcp("tcp://127.0.0.1:5556"));
  EXPECT_TRUE(IsLoopbackTcp("tcp://localhost:1"));
  EXPECT_FALSE(IsLoopbackTcp("tcp://*:5556"));
  EXPECT_FALSE(IsLoopbackTcp("tcp://10.0.0.1:5556"));
}

TEST(ControlIpcTest, RefusesADirectoryOpenToOthersAndNamesTheIpcUser) {
  TempDir dir;
  ::mkdir(dir.File("open").c_str(), 0777);
  ::chmod(dir.File("open").c_str(), 0777);
  auto refused = ControlServer::Create({.endpoint = dir.Ipc("open/c.sock")}, Ok);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("open to others"), std::string::npos);

  auto security = Security::Create({});
  ASSERT_TRUE(security.ok());
  ControlServerOptions co;
  co.endpoint = dir.Ipc("private/c.sock");
  co.security = security->get();
  co.audit_log = dir.File("audit.log");
  co.audit_reads = true;  // list_cameras is a poll
  auto server = ControlServer::Create(co, Ok);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("private").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0770u);
  auto client = skynet::client::ControlClient::Connect(co.endpoint, 5000);
  v1::Request req;
  req.mutable_list_cameras();  // admin: ipc peers are operators
  auto r = client->Call(req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok()) << r->error();
  EXPECT_NE(ReadFile(dir.File("audit.log")).find("\"who\":\"ipc uid " + std::to_string(::getuid())),
            std::string::npos)
      << ReadFile(dir.File("audit.log"));
  server->reset();
}

}  // namespace
}  // namespace skynet::daemon
