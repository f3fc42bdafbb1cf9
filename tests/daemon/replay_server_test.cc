// The replay server on a real ZeroMQ socket (ipc:// in a temp dir) and a real journal, asked
// as a subscriber would: a DEALER with an empty delimiter frame. Paced on a fake clock.
#include "daemon/replay_server.h"

#include <optional>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;
using skynet::testing::WaitFor;

// Appends events epoch/1..last to `journal` (the epoch started).
void AppendEvents(Journal* journal, uint64_t epoch, uint64_t last) {
  for (uint64_t s = 1; s <= last; ++s) {
    v1::Event ev;
    ev.set_epoch(epoch);
    ev.set_seq(s);
    ev.set_camera_id("cam1");
    ASSERT_TRUE(journal->Append({{s, ev.SerializeAsString()}}).ok());
  }
}

class ReplayServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open({.dir = dir_.path()});
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(j).value();
    options_.endpoint = dir_.Ipc("replay");
    options_.node_id = "n1";
    dealer_.set(zmq::sockopt::linger, 0);
    dealer_.connect(options_.endpoint);
  }

  void Serve() {
    auto server = ReplayServer::Create(options_, journal_.get(), &clock_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  void Send(const std::string& body) {
    dealer_.send(zmq::message_t(), zmq::send_flags::sndmore);
    dealer_.send(zmq::buffer(body));
  }
  // The next answer, or nullopt if none came within `timeout`.
  std::optional<v1::ReplayResponse> Receive(
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    dealer_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    zmq::message_t empty, body;
    if (!dealer_.recv(empty) || !dealer_.recv(body)) return std::nullopt;
    v1::ReplayResponse resp;
    if (!resp.ParseFromArray(body.data(), static_cast<int>(body.size()))) return std::nullopt;
    return resp;
  }
  v1::ReplayResponse Ask(uint64_t epoch, uint64_t after_seq, uint32_t max_events = 0) {
    v1::ReplayRequest req;
    req.set_epoch(epoch);
    req.set_after_seq(after_seq);
    req.set_max_events(max_events);
    req.set_request_id(++request_id_);
    Send(req.SerializeAsString());
    std::optional<v1::ReplayResponse> resp = Receive();
    EXPECT_TRUE(resp.has_value()) << "no answer";
    return resp.value_or(v1::ReplayResponse());
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Journal> journal_;
  ReplayServerOptions options_;
  std::unique_ptr<ReplayServer> server_;
  zmq::context_t context_{1};
  zmq::socket_t dealer_{context_, zmq::socket_type::dealer};
  uint64_t request_id_ = 0;
};

std::vector<uint64_t> Seqs(const v1::ReplayResponse& resp) {
  std::vector<uint64_t> out;
  for (const v1::ReplayItem& item : resp.items()) {
    if (item.has_event()) out.push_back(item.event().seq());
  }
  return out;
}

TEST_F(ReplayServerTest, AnswersARangeInPiecesUntilCaughtUp) {
  ASSERT_TRUE(journal_->StartEpoch(5).ok());
  AppendEvents(journal_.get(), 5, 10);
  Serve();

  v1::ReplayResponse first = Ask(5, 3, 4);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first.request_id(), request_id_);
  EXPECT_EQ(first.node_id(), "n1");
  EXPECT_EQ(first.live_epoch(), 5u);
  EXPECT_EQ(Seqs(first), (std::vector<uint64_t>{4, 5, 6, 7}));
  EXPECT_EQ(first.next_epoch(), 5u);
  EXPECT_EQ(first.next_seq(), 7u);
  EXPECT_FALSE(first.end_of_journal());

  v1::ReplayResponse rest = Ask(first.next_epoch(), first.next_seq());
  EXPECT_EQ(Seqs(rest), (std::vector<uint64_t>{8, 9, 10}));
  EXPECT_TRUE(rest.end_of_journal());
  EXPECT_EQ(rest.items(0).event().camera_id(), "cam1");  // the journaled bytes, as they were

  v1::ReplayResponse nothing = Ask(5, 10);
  EXPECT_TRUE(nothing.ok());
  EXPECT_EQ(nothing.items_size(), 0);
  EXPECT_TRUE(nothing.end_of_journal());
  EXPECT_EQ(server_->requests(), 3u);
  EXPECT_TRUE(WaitFor([&] { return server_->events_sent() == 7; }));
}

TEST_F(ReplayServerTest, MissingEpochIsAGapAndEpochsEndInOrder) {
  ASSERT_TRUE(journal_->StartEpoch(10).ok());
  AppendEvents(journal_.get(), 10, 3);
  journal_.reset();  // a restart: the next run has a newer epoch
  auto j = Journal::Open({.dir = dir_.path()});
  ASSERT_TRUE(j.ok());
  journal_ = std::move(j).value();
  ASSERT_TRUE(journal_->StartEpoch(11).ok());
  AppendEvents(journal_.get(), 11, 2);
  Serve();

  // Epoch 9 is not in the journal at all: a gap of unknown end, then all that is there.
  v1::ReplayResponse resp = Ask(9, 7);
  ASSERT_TRUE(resp.ok()) << resp.error();
  ASSERT_EQ(resp.items_size(), 1 + 3 + 1 + 2);
  ASSERT_TRUE(resp.items(0).has_gap());
  EXPECT_EQ(resp.items(0).gap().node_id(), "n1");
  EXPECT_EQ(resp.items(0).gap().epoch(), 9u);
  EXPECT_EQ(resp.items(0).gap().first_seq(), 8u);
  EXPECT_EQ(resp.items(0).gap().last_seq(), 0u);
  EXPECT_EQ(resp.items(0).gap().reason(), v1::GAP_REASON_RETENTION);
  EXPECT_EQ(resp.items(1).event().epoch(), 10u);
  ASSERT_TRUE(resp.items(4).has_epoch_end());
  EXPECT_EQ(resp.items(4).epoch_end().epoch(), 10u);
  EXPECT_EQ(resp.items(4).epoch_end().last_seq(), 3u);
  EXPECT_EQ(resp.items(5).event().epoch(), 11u);
  EXPECT_EQ(resp.items(6).event().seq(), 2u);
  EXPECT_EQ(resp.next_epoch(), 11u);
  EXPECT_EQ(resp.next_seq(), 2u);
  EXPECT_TRUE(resp.end_of_journal());

  // Epoch 0: from the oldest retained event, without a gap before it.
  v1::ReplayResponse all = Ask(0, 0);
  EXPECT_EQ(Seqs(all), (std::vector<uint64_t>{1, 2, 3, 1, 2}));
}

TEST_F(ReplayServerTest, BadRequestsGetAnErrorAnswer) {
  ASSERT_TRUE(journal_->StartEpoch(5).ok());
  AppendEvents(journal_.get(), 5, 2);
  Serve();

  v1::ReplayRequest other;
  other.set_node_id("n2");
  other.set_request_id(77);
  Send(other.SerializeAsString());
  std::optional<v1::ReplayResponse> resp = Receive();
  ASSERT_TRUE(resp.has_value());
  EXPECT_FALSE(resp->ok());
  EXPECT_EQ(resp->request_id(), 77u);
  EXPECT_EQ(resp->error(), "this is node 'n1', not 'n2'");

  v1::ReplayResponse future = Ask(6, 0);
  EXPECT_FALSE(future.ok());
  EXPECT_EQ(future.error(), "epoch 6 is newer than this node's current epoch 5");

  Send(std::string("\xff\xff\xff", 3));
  resp = Receive();
  ASSERT_TRUE(resp.has_value());
  EXPECT_FALSE(resp->ok());
  EXPECT_EQ(resp->error(), "malformed replay request: not a skynet.v1.ReplayRequest (3 bytes)");
  EXPECT_EQ(server_->events_sent(), 0u);
}

TEST_F(ReplayServerTest, AnswersWaitForTheRateLimit) {
  ASSERT_TRUE(journal_->StartEpoch(5).ok());
  AppendEvents(journal_.get(), 5, 30);
  options_.max_events_per_second = 10;  // a bucket of 10 events, full at the start
  options_.max_events_per_response = 10;
  Serve();

  v1::ReplayResponse first = Ask(5, 0);
  EXPECT_EQ(first.items_size(), 10);
  EXPECT_EQ(server_->throttled_us(), 0u);

  // The bucket is empty and the fake clock stands still: the next answer waits for tokens.
  v1::ReplayRequest req;
  req.set_epoch(5);
  req.set_after_seq(10);
  Send(req.SerializeAsString());
  EXPECT_FALSE(Receive(std::chrono::milliseconds(300)).has_value());
  clock_.AdvanceUs(1'000'000);  // ten more tokens
  std::optional<v1::ReplayResponse> second = Receive();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(Seqs(*second).front(), 11u);
  EXPECT_EQ(second->items_size(), 10);
  EXPECT_EQ(server_->throttled_us(), 1'000'000u);
  // Counted just after the answer went out.
  EXPECT_TRUE(WaitFor([&] { return server_->events_sent() == 20; }));
}

}  // namespace
}  // namespace skynet::daemon
