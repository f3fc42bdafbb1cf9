// Issue 14, item 7, against a real skynetd: subscribers and control requests cannot exhaust the
// daemon or lose answers silently.
//   - a subscriber that does not read holds at most send_hwm events in the daemon: the rest of
//     its events are dropped (it sees a seq gap), the publisher and other subscribers go on;
//   - the feed's subscriber cap (feed.max_subscribers) is enforced at the handshake, counted and
//     reported in `skynetctl status` and audited; a slot that frees is usable again;
//   - pipelined control requests beyond the socket's high-water mark all get their answers;
//   - a request over control.max_request_bytes gets "request too large" naming the limit, in
//     skynetctl's output and the audit log; one over what the socket reads at all (16 MiB) is
//     refused by the client before it is sent.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "daemon/event_bus.h"
#include "skynet/client/client.h"
#include "skynet/protocol.h"
#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::ReadFile;
using testing::TempDir;

// A daemon without cameras: heartbeats every 20 ms are the feed's traffic.
struct Daemon {
  explicit Daemon(const TempDir& dir, const std::string& extra = "") {
    config = dir.File("skynetd.yaml");
    std::ofstream(config) << "node_id: limits\n"
                             "event_endpoint: "
                          << dir.Ipc("feed.sock")
                          << "\n"
                             "control_endpoint: "
                          << dir.Ipc("control.sock")
                          << "\n"
                             "metrics_endpoint: \"\"\n"
                             "heartbeat_interval_ms: 20\n"
                             "control:\n  audit_log: "
                          << dir.File("audit.log") << "\n"
                          << extra << "cameras: []\n";
    process.emplace(BuildPath("daemon/skynetd"), std::vector<std::string>{"--config", config},
                    dir.File("skynetd.log"));
  }
  std::string config;
  std::optional<ChildProcess> process;
};

v1::FeedStatus Feed(client::ControlClient& control) {
  v1::Request req;
  req.mutable_status();
  auto r = control.Call(req);
  return r.ok() && r->ok() ? r->status().feed() : v1::FeedStatus();
}

// The bus itself (in-process, real ZeroMQ on ipc://): 100 000 events to a subscriber that reads
// nothing. What reaches it afterwards is bounded by send_hwm plus the socket buffers, not by
// what was published.
TEST(SkynetdLimitsTest, NonReadingSubscriberHoldsAtMostTheSendBound) {
  TempDir dir;
  daemon::EventBusOptions o;
  o.endpoint = dir.Ipc("bus.sock");
  o.heartbeat_interval_ms = 20;
  o.send_hwm = 500;
  auto bus = daemon::EventBus::Create(o);
  ASSERT_TRUE(bus.ok()) << bus.status().ToString();
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::rcvhwm, 100);
  sub.set(zmq::sockopt::subscribe, "");
  sub.set(zmq::sockopt::rcvtimeo, 200);
  sub.connect(o.endpoint);
  zmq::message_t m;
  ASSERT_TRUE(testing::WaitFor([&] { return sub.recv(m).has_value(); }));  // joined
  while (sub.recv(m, zmq::recv_flags::dontwait)) {
  }
  constexpr uint64_t kEvents = 100000;
  const uint64_t first = (*bus)->last_seq() + 1;
  for (uint64_t i = 0; i < kEvents; ++i) {
    v1::Event ev;
    ev.set_camera_id("cam");
    ev.mutable_motion_started()->set_motion_id(i);
    (*bus)->Publish(std::move(ev));
  }
  ASSERT_TRUE(testing::WaitFor([&] { return (*bus)->last_seq() >= first + kEvents - 1; }));
  // Now read what was kept for it, up to the first heartbeat published after the burst.
  uint64_t received = 0, last = 0, gaps = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    zmq::message_t topic, body;
    if (!sub.recv(topic)) break;
    ASSERT_TRUE(sub.recv(body));
    v1::Event ev;
    ASSERT_TRUE(ev.ParseFromArray(body.data(), static_cast<int>(body.size())));
    if (ev.seq() >= first + kEvents) {  // heartbeats after the burst: all read
      // The burst's tail that was dropped shows as a jump to the heartbeat's seq.
      if (last != first + kEvents - 1) ++gaps;
      break;
    }
    if (ev.seq() < first) continue;
    if (last != 0 && ev.seq() != last + 1) ++gaps;
    last = ev.seq();
    ++received;
  }
  EXPECT_GT(gaps, 0u) << "nothing was dropped (received " << received << ")";
  // send_hwm + rcvhwm messages, plus what the kernel's socket buffers held.
  EXPECT_LT(received, 20000u) << "kept " << received << " of " << kEvents;
  EXPECT_EQ((*bus)->stats().send_hwm, 500u);
  (*bus)->Stop();
}

TEST(SkynetdLimitsTest, SubscriberCapIsEnforcedCountedReportedAndAudited) {
  TempDir dir;
  Daemon d(dir, "feed:\n  max_subscribers: 3\n  send_hwm: 500\n");
  ASSERT_TRUE(d.process->started());
  auto control = client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  ASSERT_TRUE(testing::WaitFor([&] { return Feed(*control).max_subscribers() == 3; }));
  EXPECT_EQ(Feed(*control).send_hwm(), 500u);

  // Five subscribers that never read.
  std::vector<client::FeedSubscriber> subs;
  for (int i = 0; i < 5; ++i) {
    auto s = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {});
    ASSERT_TRUE(s.ok());
    subs.push_back(std::move(*s));
  }
  ASSERT_TRUE(testing::WaitFor([&] {
    const v1::FeedStatus f = Feed(*control);
    return f.subscribers() == 3 && f.subscribers_refused() >= 2;
  })) << Feed(*control).DebugString();
  // The cap holds while the refused ones keep retrying.
  for (int i = 0; i < 10; ++i) EXPECT_LE(Feed(*control).subscribers(), 3u);

  const testing::ToolRun ctl = testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"status"});
  ASSERT_EQ(ctl.code, 0) << ctl.err;
  const std::string& text = ctl.out;
  EXPECT_NE(text.find("feed: 3 subscribers (limit 3)"), std::string::npos) << text;
  const std::string audit = ReadFile(dir.File("audit.log"));
  EXPECT_NE(audit.find("feed connect"), std::string::npos) << audit;
  EXPECT_NE(audit.find("subscriber limit reached (feed.max_subscribers 3)"), std::string::npos)
      << audit;
  EXPECT_NE(ReadFile(dir.File("skynetd.log")).find("subscriber limit reached"), std::string::npos);

  // The ones that got in receive; when they leave, the others take their places.
  int receiving = 0;
  for (auto& s : subs) {
    auto ev = s.Next(300);
    if (ev.ok() && *ev) ++receiving;
  }
  EXPECT_EQ(receiving, 3);
  subs.clear();
  // A refused subscriber is not retried by ZeroMQ (an authentication failure ends its session):
  // it connects again itself, here once the daemon has seen the others leave.
  ASSERT_TRUE(testing::WaitFor([&] { return Feed(*control).subscribers() == 0; }));
  auto late = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {});
  ASSERT_TRUE(late.ok());
  bool got = false;
  ASSERT_TRUE(testing::WaitFor([&] {
    auto ev = late->Next(200);
    got = got || (ev.ok() && *ev);
    return got;
  })) << Feed(*control).DebugString()
      << ReadFile(dir.File("skynetd.log"));
  EXPECT_TRUE(testing::WaitFor([&] { return Feed(*control).subscribers() == 1; }))
      << Feed(*control).DebugString();
}

TEST(SkynetdLimitsTest, PipelinedRequestsBeyondTheHighWaterMarkAllGetAnswers) {
  TempDir dir;
  Daemon d(dir);
  ASSERT_TRUE(d.process->started());
  auto control = client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  ASSERT_TRUE(testing::WaitFor([&] { return Feed(*control).max_subscribers() > 0; }));

  zmq::context_t ctx(1);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::sndhwm, 0);
  dealer.connect(dir.Ipc("control.sock"));
  v1::Request req;
  req.mutable_status();
  const std::string bytes = req.SerializeAsString();
  // The daemon's send high-water mark and ours are 1000 each: far more answers than fit.
  constexpr int kRequests = 5000;
  for (int i = 0; i < kRequests; ++i) {
    dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
  // Nothing read yet: the answers wait in the daemon. Now read them all.
  int ok = 0, errors = 0;
  dealer.set(zmq::sockopt::rcvtimeo, 10000);
  for (int i = 0; i < kRequests; ++i) {
    std::vector<zmq::message_t> reply;
    if (!zmq::recv_multipart(dealer, std::back_inserter(reply))) break;
    v1::Response r;
    ASSERT_EQ(reply.size(), 2u);
    ASSERT_TRUE(r.ParseFromArray(reply[1].data(), static_cast<int>(reply[1].size())));
    (r.ok() ? ok : errors)++;
  }
  EXPECT_EQ(ok + errors, kRequests) << "answers lost";
  EXPECT_EQ(ok, kRequests);
}

TEST(SkynetdLimitsTest, OverLimitRequestGetsTooLargeAnswerInSkynetctlAndTheAuditLog) {
  TempDir dir;
  Daemon d(dir, "");
  // A small limit, so that skynetctl can exceed it within one command-line argument.
  {
    std::string text = ReadFile(d.config);
    text.replace(text.find("control:\n"), 9, "control:\n  max_request_bytes: 1024\n");
    std::ofstream(d.config, std::ios::trunc) << text;
  }
  d.process.reset();
  d.process.emplace(BuildPath("daemon/skynetd"), std::vector<std::string>{"--config", d.config},
                    dir.File("skynetd2.log"));
  ASSERT_TRUE(d.process->started());
  auto control = client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  ASSERT_TRUE(testing::WaitFor([&] { return Feed(*control).max_subscribers() > 0; }));

  // skynetctl: a camera whose URL makes the request 4 KiB.
  const testing::ToolRun ctl = testing::RunSkynetctl(
      dir, dir.Ipc("control.sock"),
      {"camera", "add", "--id", "big", "--url", "rtsp://127.0.0.1:8554/" + std::string(4096, 'x')});
  EXPECT_NE(ctl.code, 0);
  const std::string& err = ctl.err;
  EXPECT_NE(err.find("request too large"), std::string::npos) << err;
  EXPECT_NE(err.find("limit 1024 bytes"), std::string::npos) << err;
  EXPECT_EQ(err.find("is it running"), std::string::npos) << err;

  // A raw 2 MiB request (over the old 1 MiB socket limit) gets the same explicit answer.
  zmq::context_t ctx(1);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 20000);
  dealer.connect(dir.Ipc("control.sock"));
  const std::string big(2 << 20, 'z');
  dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
  dealer.send(zmq::buffer(big), zmq::send_flags::none);
  std::vector<zmq::message_t> reply;
  ASSERT_TRUE(zmq::recv_multipart(dealer, std::back_inserter(reply)));
  ASSERT_EQ(reply.size(), 2u);
  v1::Response r;
  ASSERT_TRUE(r.ParseFromArray(reply[1].data(), static_cast<int>(reply[1].size())));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("request too large: 2097152 bytes (limit 1024 bytes"), std::string::npos)
      << r.error();
  const std::string audit = ReadFile(dir.File("audit.log"));
  EXPECT_NE(audit.find("request too large: 2097152 bytes"), std::string::npos) << audit;

  // Over what the socket reads at all: the client refuses it, naming the limit.
  v1::Request huge;
  huge.mutable_add_camera()->set_url(std::string(protocol::kMaxControlMessageBytes + 1, 'u'));
  auto refused = control->Call(huge);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("request too large"), std::string::npos);
  EXPECT_NE(refused.status().message().find(std::to_string(protocol::kMaxControlMessageBytes)),
            std::string::npos);
}

}  // namespace
}  // namespace skynet
