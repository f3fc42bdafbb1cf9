#include "daemon/event_bus.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <zmq.hpp>

#include "daemon/journal.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;
using skynet::testing::WaitFor;

v1::Event MotionEvent(const std::string& camera) {
  v1::Event ev;
  ev.set_camera_id(camera);
  ev.mutable_motion_started()->set_motion_id(1);
  return ev;
}

// Receives [topic][event] messages from a SUB socket.
struct Subscriber {
  zmq::context_t ctx{1};
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  explicit Subscriber(const std::string& endpoint, const std::string& prefix = "") {
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, prefix);
    sub.set(zmq::sockopt::rcvtimeo, 100);
    sub.connect(endpoint);
  }
  bool Next(std::string* topic, v1::Event* ev) {
    zmq::message_t t, b;
    if (!sub.recv(t)) return false;
    EXPECT_TRUE(t.more());
    EXPECT_TRUE(sub.recv(b));
    *topic = t.to_string();
    return ev->ParseFromArray(b.data(), static_cast<int>(b.size()));
  }
};

TEST(EventBusTest, NumbersEventsContiguouslyAndStampsEnvelope) {
  TempDir dir;
  EventBusOptions o;
  o.node_id = "n1";
  o.endpoint = dir.Ipc("feed");
  o.heartbeat_interval_ms = 50;
  auto bus = EventBus::Create(o, [] { return EventBus::HeartbeatInfo{2, 3}; });
  ASSERT_TRUE(bus.ok()) << bus.status().ToString();
  Subscriber s(o.endpoint);
  // Heartbeats prove the subscription is live before real events are sent (slow joiner).
  std::string topic;
  v1::Event ev;
  ASSERT_TRUE(WaitFor([&] { return s.Next(&topic, &ev) && topic == "heartbeat"; }));
  EXPECT_EQ(ev.heartbeat().cameras_online(), 2u);
  EXPECT_EQ(ev.heartbeat().cameras_total(), 3u);
  EXPECT_EQ(ev.heartbeat().last_seq(), ev.seq() - 1);

  for (int i = 0; i < 500; ++i) (*bus)->Publish(MotionEvent("cam" + std::to_string(i % 3)));
  uint64_t prev = ev.seq();
  int motions = 0;
  ASSERT_TRUE(WaitFor([&] {
    while (motions < 500 && s.Next(&topic, &ev)) {
      EXPECT_EQ(ev.seq(), prev + 1) << "gap after " << prev;
      prev = ev.seq();
      EXPECT_EQ(ev.node_id(), "n1");
      EXPECT_EQ(ev.epoch(), (*bus)->epoch());
      EXPECT_EQ(ev.schema_version(), 1u);
      EXPECT_EQ(ev.event_id(), "n1/" + std::to_string(ev.epoch()) + "/" + std::to_string(ev.seq()));
      EXPECT_GT(ev.publish_time_us(), 0);
      if (ev.has_motion_started()) {
        EXPECT_EQ(topic, "motion/" + ev.camera_id());
        ++motions;
      }
    }
    return motions == 500;
  }));
}

TEST(EventBusTest, StopFlushesQueuedEvents) {
  TempDir dir;
  EventBusOptions o;
  o.endpoint = dir.Ipc("feed");
  o.heartbeat_interval_ms = 20;
  auto bus = EventBus::Create(o);
  ASSERT_TRUE(bus.ok());
  Subscriber s(o.endpoint);
  std::string topic;
  v1::Event ev;
  ASSERT_TRUE(WaitFor([&] { return s.Next(&topic, &ev); }));  // connected
  for (int i = 0; i < 100; ++i) (*bus)->Publish(MotionEvent("c"));
  (*bus)->Stop();
  EXPECT_GE((*bus)->last_seq(), 100u);
  int got = 0;
  while (s.Next(&topic, &ev)) {
    if (ev.has_motion_started()) ++got;
  }
  EXPECT_EQ(got, 100);
}

TEST(EventBusTest, BindFailureNamesTheEndpoint) {
  EventBusOptions o;
  o.endpoint = "tcp://256.1.1.1:1";
  auto bus = EventBus::Create(o);
  ASSERT_FALSE(bus.ok());
  EXPECT_NE(bus.status().message().find("tcp://256.1.1.1:1"), std::string::npos);
}

// (Moved from journal_test: it binds the feed socket, so it runs with the integration tests.)
TEST(EventBusTest, JournalsEveryEventBeforePublishingAndRaisesTheEpoch) {
  TempDir dir;
  JournalOptions jo{.dir = dir.File("j")};
  uint64_t first_epoch = 0;
  for (int run = 0; run < 2; ++run) {
    auto j = Journal::Open(jo);
    ASSERT_TRUE(j.ok());
    EventBusOptions o;
    o.endpoint = dir.Ipc("feed");
    o.heartbeat_interval_ms = 5;
    o.epoch = 1000;  // a clock that does not move: the journal forces a newer epoch
    o.journal = j->get();
    auto bus = EventBus::Create(o);
    ASSERT_TRUE(bus.ok()) << bus.status().ToString();
    if (run == 0) first_epoch = (*bus)->epoch();
    if (run == 1) {
      EXPECT_EQ((*bus)->epoch(), first_epoch + 1);
    }
    for (int i = 0; i < 300; ++i) {
      v1::Event ev;
      ev.set_camera_id("c");
      ev.mutable_motion_started()->set_motion_id(i);
      (*bus)->Publish(std::move(ev));
    }
    (*bus)->Stop();
    (*bus)->Publish(MotionEvent("late"));  // after Stop(): refused and counted
    const uint64_t last = (*bus)->last_seq();
    ASSERT_GE(last, 300u);
    const FeedStats stats = (*bus)->stats();
    EXPECT_EQ(stats.last_seq, last);
    EXPECT_EQ(stats.epoch, (*bus)->epoch());
    EXPECT_EQ(stats.queued, 0u);
    EXPECT_EQ(stats.dropped, 1u);
    EXPECT_TRUE(stats.journal);
    EXPECT_EQ(stats.journal_errors, 0u);
    EXPECT_EQ(stats.journal_bytes, (*j)->total_bytes());
    EXPECT_GT(stats.journal_bytes, 0u);
    std::vector<JournalRecord> out;
    ASSERT_TRUE((*j)->ReadEpoch((*bus)->epoch(), 0, 100000, 1 << 30, &out).ok());
    ASSERT_EQ(out.size(), last);
    for (size_t i = 0; i < out.size(); ++i) {
      v1::Event ev;
      ASSERT_TRUE(ev.ParseFromString(out[i].payload));
      EXPECT_EQ(ev.seq(), i + 1);
      EXPECT_EQ(ev.epoch(), (*bus)->epoch());
    }
  }
}

// A journal whose appends fail, work, fail and work again within a second announces FAILING once
// and OK only once appends have kept working for a second (FakeClock: no waiting).
TEST(EventBusTest, JournalOkIsAnnouncedOnlyAfterASecondOfGoodAppends) {
  TempDir dir;
  const std::string jdir = dir.File("j");
  // One record per segment: every append creates a file, which fails while the directory is away.
  auto j = Journal::Open({.dir = jdir, .segment_bytes = 1});
  ASSERT_TRUE(j.ok());
  FakeClock clock;
  EventBusOptions o;
  o.endpoint = dir.Ipc("feed");
  o.heartbeat_interval_ms = 0;
  o.journal = j->get();
  auto bus = EventBus::Create(o, {}, &clock);
  ASSERT_TRUE(bus.ok()) << bus.status().ToString();
  Subscriber sub(o.endpoint);
  std::vector<v1::JournalState> states;  // of the JournalStatus events received
  int motion = 0;
  // Publishes one event (its own batch) and receives everything up to it.
  auto publish_one = [&] {
    const std::string camera = "c" + std::to_string(++motion);
    (*bus)->Publish(MotionEvent(camera));
    std::string topic;
    v1::Event ev;
    ASSERT_TRUE(WaitFor([&] {
      while (sub.Next(&topic, &ev)) {
        if (ev.has_journal_status()) states.push_back(ev.journal_status().state());
        if (ev.camera_id() == camera) return true;
      }
      return false;
    }));
  };
  ASSERT_TRUE(WaitFor([&] {  // the subscription is in place once an event arrives
    (*bus)->Publish(MotionEvent("join"));
    std::string topic;
    v1::Event ev;
    return sub.Next(&topic, &ev);
  }));
  auto away = [&](bool go) {
    std::filesystem::rename(go ? jdir : jdir + ".away", go ? jdir + ".away" : jdir);
  };
  away(true);
  publish_one();
  away(false);
  for (int i = 0; i < 3; ++i) publish_one();  // good, but not for a second yet
  away(true);
  publish_one();  // failing again: no new event, it never stopped
  away(false);
  publish_one();
  clock.AdvanceUs(999'000);
  publish_one();
  EXPECT_EQ(states, std::vector<v1::JournalState>{v1::JOURNAL_STATE_FAILING});
  clock.AdvanceUs(1'000);
  publish_one();
  publish_one();  // the OK event follows the batch that decided it
  EXPECT_EQ(states,
            (std::vector<v1::JournalState>{v1::JOURNAL_STATE_FAILING, v1::JOURNAL_STATE_OK}));
  (*bus)->Stop();
}

}  // namespace
}  // namespace skynet::daemon
