// skynet-relay (tools/relay/main.cc) between two in-process nodes (EventBus + Journal +
// ReplayServer each) and a ReliableSubscriber that knows only the relay's endpoints.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <zmq.hpp>

#include "daemon/event_bus.h"
#include "daemon/journal.h"
#include "daemon/replay_server.h"
#include "skynet/client/client.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::TempDir;

struct Node {
  std::string feed, replay;
  std::unique_ptr<daemon::Journal> journal;
  std::unique_ptr<daemon::EventBus> bus;
  std::unique_ptr<daemon::ReplayServer> replay_server;
};

std::unique_ptr<Node> StartNode(const TempDir& dir, const std::string& id) {
  auto node = std::make_unique<Node>();
  node->feed = dir.Ipc(id + "-feed");
  node->replay = dir.Ipc(id + "-replay");
  auto journal = daemon::Journal::Open(
      {.dir = dir.File(id + "-journal"), .fsync = daemon::FsyncPolicy::kNone});
  EXPECT_TRUE(journal.ok()) << journal.status().ToString();
  node->journal = std::move(journal).value();
  daemon::EventBusOptions bo;
  bo.node_id = id;
  bo.endpoint = node->feed;
  bo.heartbeat_interval_ms = 50;
  bo.journal = node->journal.get();
  auto bus = daemon::EventBus::Create(bo);
  EXPECT_TRUE(bus.ok()) << bus.status().ToString();
  node->bus = std::move(bus).value();
  daemon::ReplayServerOptions ro;
  ro.endpoint = node->replay;
  ro.node_id = id;
  ro.max_events_per_second = 1'000'000;
  auto replay = daemon::ReplayServer::Create(ro, node->journal.get());
  EXPECT_TRUE(replay.ok()) << replay.status().ToString();
  node->replay_server = std::move(replay).value();
  return node;
}

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    n1_ = StartNode(dir_, "n1");
    n2_ = StartNode(dir_, "n2");
    feed_ = dir_.Ipc("relay-feed");
    replay_ = dir_.Ipc("relay-replay");
    relay_ = std::make_unique<ChildProcess>(
        BuildPath("tools/relay/skynet-relay"),
        std::vector<std::string>{"--feed", feed_, "--replay", replay_, "--send-hwm", "10", "--node",
                                 "n1=" + n1_->feed + "," + n1_->replay,  //
                                 "--node", "n2=" + n2_->feed + "," + n2_->replay},
        dir_.File("relay.stderr"));
    ASSERT_TRUE(relay_->started());
    auto line = relay_->ReadLine(10s);
    ASSERT_TRUE(line.has_value()) << "the relay did not start";
    ASSERT_NE(line->find("ready"), std::string::npos) << *line;
  }
  void TearDown() override {
    if (relay_) {
      EXPECT_EQ(relay_->SignalAndWait(SIGTERM, 10s), 0) << "no clean exit on SIGTERM";
    }
  }

  TempDir dir_;
  std::unique_ptr<Node> n1_, n2_;
  std::string feed_, replay_;
  std::unique_ptr<ChildProcess> relay_;
};

v1::Event Motion(int i) {
  v1::Event ev;
  ev.set_camera_id("cam" + std::to_string(i % 3));
  ev.mutable_motion_updated()->set_motion_id(static_cast<uint64_t>(i));
  return ev;
}

TEST_F(RelayTest, SubscriberSeesBothNodesAndRepairsGapsFromTheRightNode) {
  skynet::client::ReliableOptions options;
  options.feed_endpoint = feed_;
  options.replay_endpoint = replay_;
  options.receive_hwm = 10;  // with the relay's --send-hwm 10: a reader that pauses loses events
  auto sub = skynet::client::ReliableSubscriber::Connect(options);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();

  struct Seen {
    uint64_t last_seq = 0, motions = 0, out_of_order = 0;
  };
  std::map<std::string, Seen> seen;
  uint64_t losses = 0;
  auto read_until = [&](const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
      auto d = sub->Next(20);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      if (!d->has_value()) continue;
      if (!(*d)->event) {
        ++losses;
        ADD_FAILURE() << "lost: " << (*d)->loss.ShortDebugString();
        continue;
      }
      const v1::Event& ev = *(*d)->event;
      Seen& s = seen[ev.node_id()];
      if (s.last_seq != 0 && ev.seq() != s.last_seq + 1) ++s.out_of_order;
      s.last_seq = ev.seq();
      if (ev.has_motion_updated()) ++s.motions;
    }
  };
  // Heartbeats of both nodes come through the relay: the subscription reached them.
  read_until([&] { return seen["n1"].last_seq > 0 && seen["n2"].last_seq > 0; }, 20s);
  ASSERT_GT(seen["n1"].last_seq, 0u);
  ASSERT_GT(seen["n2"].last_seq, 0u);

  // Both nodes publish while the subscriber does not read: the relay drops most of it.
  constexpr int kEvents = 20'000;
  for (int i = 0; i < kEvents; ++i) {
    n1_->bus->Publish(Motion(i));
    n2_->bus->Publish(Motion(i));
  }
  ASSERT_TRUE(testing::WaitFor([&] { return n1_->bus->queued() == 0 && n2_->bus->queued() == 0; }));
  read_until([&] { return seen["n1"].motions >= kEvents && seen["n2"].motions >= kEvents; }, 60s);

  EXPECT_EQ(seen["n1"].motions, static_cast<uint64_t>(kEvents));
  EXPECT_EQ(seen["n2"].motions, static_cast<uint64_t>(kEvents));
  EXPECT_EQ(seen["n1"].out_of_order, 0u);
  EXPECT_EQ(seen["n2"].out_of_order, 0u);
  EXPECT_EQ(losses, 0u);
  EXPECT_GT(sub->stats().gaps, 0u) << "nothing was dropped: the test did not exercise replay";
  EXPECT_GT(sub->stats().replayed, 0u);
  // Each node was asked for its own events (a node refuses another node's id: that would
  // have been reported as a loss).
  EXPECT_GT(n1_->replay_server->requests(), 0u);
  EXPECT_GT(n2_->replay_server->requests(), 0u);
}

// Sends one ReplayRequest to the relay's replay front from a DEALER, returns the answer.
v1::ReplayResponse AskRelay(const std::string& endpoint, const v1::ReplayRequest& request) {
  zmq::context_t context(1);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(endpoint);
  dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
  dealer.send(zmq::buffer(request.SerializeAsString()), zmq::send_flags::none);
  v1::ReplayResponse response;
  zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(5000)) == 0) return response;
  zmq::message_t empty, payload;
  EXPECT_TRUE(dealer.recv(empty));
  EXPECT_TRUE(dealer.recv(payload));
  EXPECT_TRUE(response.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
  return response;
}

TEST_F(RelayTest, ReplayRequestsAreRoutedByNodeIdAndBadOnesAreAnswered) {
  n2_->bus->Publish(Motion(1));
  ASSERT_TRUE(testing::WaitFor([&] { return n2_->bus->queued() == 0; }));
  v1::ReplayRequest request;
  request.set_node_id("n2");
  request.set_request_id(7);
  v1::ReplayResponse r = AskRelay(replay_, request);
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.node_id(), "n2");
  EXPECT_EQ(r.request_id(), 7u);
  EXPECT_GE(r.items_size(), 1);

  request.set_node_id("elsewhere");
  r = AskRelay(replay_, request);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("unknown node 'elsewhere'"), std::string::npos) << r.error();

  request.clear_node_id();  // two nodes: the relay cannot guess
  r = AskRelay(replay_, request);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("node_id is required"), std::string::npos) << r.error();

  // Garbage gets an answer too, and the relay carries on.
  zmq::context_t context(1);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(replay_);
  dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
  dealer.send(zmq::str_buffer("\xff\xff\xff garbage"), zmq::send_flags::none);
  zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(5000)), 1);
  request.set_node_id("n1");
  r = AskRelay(replay_, request);
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.node_id(), "n1");
}

TEST(RelayReplayTest, NodeWithoutReplayEndpointIsAnsweredWithAnError) {
  TempDir dir;
  ChildProcess relay(BuildPath("tools/relay/skynet-relay"),
                     {"--feed", dir.Ipc("feed"), "--replay", dir.Ipc("replay"), "--node",
                      "solo=" + dir.Ipc("solo-feed")},
                     dir.File("relay.stderr"));
  auto line = relay.ReadLine(10s);
  ASSERT_TRUE(line.has_value()) << "the relay did not start";
  v1::ReplayRequest request;  // no node_id: the relay serves one node
  request.set_request_id(3);
  v1::ReplayResponse r = AskRelay(dir.Ipc("replay"), request);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.request_id(), 3u);
  EXPECT_NE(r.error().find("node 'solo' has no replay endpoint"), std::string::npos) << r.error();
  EXPECT_EQ(relay.SignalAndWait(SIGINT, 10s), 0);
}

TEST(RelayArgsTest, BadArgumentsExitWithTwo) {
  TempDir dir;
  const std::string relay = BuildPath("tools/relay/skynet-relay");
  for (std::vector<std::string> args : {
           std::vector<std::string>{"--feed", dir.Ipc("f")},                  // no --node
           std::vector<std::string>{"--feed", dir.Ipc("f"), "--node", "n1"},  // no endpoint
           std::vector<std::string>{"--feed", dir.Ipc("f"), "--node", "n1=nowhere"},
           std::vector<std::string>{"--feed", dir.Ipc("f"), "--node", "a=" + dir.Ipc("x"), "--node",
                                    "a=" + dir.Ipc("y")},  // twice
       }) {
    ChildProcess child(relay, args, dir.File("stderr"));
    EXPECT_EQ(child.Wait(10s), 2) << args.back();
  }
}

}  // namespace
}  // namespace skynet
