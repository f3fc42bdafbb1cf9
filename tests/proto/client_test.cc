#include "skynet/client/client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace skynet::client {
namespace {

namespace v1 = skynet::v1;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A fresh directory under /tmp for ipc:// sockets, removed at the end of the test.
class IpcDir {
 public:
  IpcDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "skynetctl-test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~IpcDir() { std::filesystem::remove_all(path_); }
  std::string Endpoint(const std::string& name) const { return "ipc://" + path_ + "/" + name; }

 private:
  std::string path_;
};

// A stand-in for the daemon's control socket: a ROUTER that answers Status requests on its own
// thread and records what it received.
class FakeControlServer {
 public:
  explicit FakeControlServer(const std::string& endpoint)
      : socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeControlServer() {
    stop_ = true;
    thread_.join();
  }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, milliseconds(20)) == 0) continue;
      std::vector<zmq::message_t> frames;  // [identity][empty][request]
      if (!zmq::recv_multipart(socket_, std::back_inserter(frames))) continue;
      ++requests_;
      v1::Request request;
      v1::Response response;
      if (frames.size() == 3 && frames[1].size() == 0 &&
          request.ParseFromArray(frames[2].data(), static_cast<int>(frames[2].size())) &&
          request.has_status()) {
        response.set_ok(true);
        v1::StatusResponse* s = response.mutable_status();
        s->set_node_id("fake-node");
        s->set_last_seq(42);
        s->add_cameras()->set_id(request.status().camera_id());
      } else {
        response.set_ok(false);
        response.set_error("unsupported request");
      }
      std::string bytes = response.SerializeAsString();
      std::array<zmq::const_buffer, 3> reply = {zmq::buffer(frames[0].data(), frames[0].size()),
                                                zmq::const_buffer(nullptr, 0), zmq::buffer(bytes)};
      zmq::send_multipart(socket_, reply);
    }
  }

  zmq::context_t context_;
  zmq::socket_t socket_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TEST(ControlClientTest, CallGetsTheDaemonsAnswer) {
  IpcDir dir;
  const std::string endpoint = dir.Endpoint("control.sock");
  FakeControlServer server(endpoint);
  Result<ControlClient> client = ControlClient::Connect(endpoint, 5000);
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  v1::Request request;
  request.mutable_status()->set_camera_id("cam7");
  Result<v1::Response> response = client->Call(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_TRUE(response->ok());
  EXPECT_EQ(response->status().node_id(), "fake-node");
  EXPECT_EQ(response->status().last_seq(), 42u);
  ASSERT_EQ(response->status().cameras_size(), 1);
  EXPECT_EQ(response->status().cameras(0).id(), "cam7");

  // The same client can call again.
  Result<v1::Response> again = client->Call(request);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(server.requests(), 2);
}

TEST(ControlClientTest, ErrorResponseIsReturnedForTheCallerToRead) {
  IpcDir dir;
  const std::string endpoint = dir.Endpoint("control.sock");
  FakeControlServer server(endpoint);
  Result<ControlClient> client = ControlClient::Connect(endpoint, 5000);
  ASSERT_TRUE(client.ok());
  v1::Request request;
  request.mutable_list_cameras();
  Result<v1::Response> response = client->Call(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_FALSE(response->ok());
  EXPECT_EQ(response->error(), "unsupported request");
}

TEST(ControlClientTest, NoAnswerIsUnavailableNamingTheEndpoint) {
  IpcDir dir;
  const std::string endpoint = dir.Endpoint("nobody.sock");
  Result<ControlClient> client = ControlClient::Connect(endpoint, 150);
  ASSERT_TRUE(client.ok());
  v1::Request request;
  request.mutable_status();
  auto start = Clock::now();
  Result<v1::Response> response = client->Call(request);
  auto took = Clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(response.status().message(),
            "no answer from skynetd at " + endpoint + " within 150 ms (is it running?)");
  EXPECT_GE(took, milliseconds(140));
  EXPECT_LT(took, milliseconds(5000));
}

TEST(ControlClientTest, LateAnswerIsNotTakenForTheNextCall) {
  IpcDir dir;
  const std::string endpoint = dir.Endpoint("control.sock");
  Result<ControlClient> client = ControlClient::Connect(endpoint, 100);
  ASSERT_TRUE(client.ok());
  v1::Request request;
  request.mutable_status()->set_camera_id("first");
  // Nobody listens yet: the first call times out, its request may still be queued.
  ASSERT_FALSE(client->Call(request).ok());

  FakeControlServer server(endpoint);
  request.mutable_status()->set_camera_id("second");
  Result<v1::Response> response = Result<v1::Response>(Status::Unavailable("not yet"));
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!response.ok() && Clock::now() < deadline) response = client->Call(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(response->status().cameras_size(), 1);
  EXPECT_EQ(response->status().cameras(0).id(), "second");
}

TEST(ControlClientTest, MalformedEndpointIsInvalidArgument) {
  Result<ControlClient> client = ControlClient::Connect("not-an-endpoint", 100);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find("'not-an-endpoint'"), std::string::npos);
}

// Publishes `event` on `topic`.
void Publish(zmq::socket_t& pub, const std::string& topic, const v1::Event& event) {
  std::string bytes = event.SerializeAsString();
  std::array<zmq::const_buffer, 2> frames = {zmq::buffer(topic), zmq::buffer(bytes)};
  zmq::send_multipart(pub, frames);
}

// A stand-in for the daemon's feed: a PUB socket bound to `endpoint`.
struct FakeFeed {
  explicit FakeFeed(const std::string& endpoint) {
    pub.set(zmq::sockopt::linger, 0);
    pub.bind(endpoint);
  }
  zmq::context_t context;  // before its socket
  zmq::socket_t pub{context, zmq::socket_type::pub};
};

v1::Event MotionEvent(const std::string& camera, uint64_t seq) {
  v1::Event e;
  e.set_camera_id(camera);
  e.set_seq(seq);
  e.mutable_motion_started()->set_motion_id(seq);
  return e;
}

TEST(FeedSubscriberTest, ReceivesOnlyTheSubscribedTopics) {
  IpcDir dir;
  const std::string endpoint = dir.Endpoint("feed.sock");
  FakeFeed fake(endpoint);
  zmq::socket_t& pub = fake.pub;

  Result<FeedSubscriber> feed = FeedSubscriber::Connect(endpoint, {"motion/cam1"});
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();

  // A subscription takes a moment to reach the publisher (slow joiner): publish a round of
  // events until one arrives, then check that only the subscribed topic ever came through.
  int got_cam1 = 0;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  uint64_t seq = 0;
  while (got_cam1 < 3 && Clock::now() < deadline) {
    ++seq;
    Publish(pub, "motion/cam2", MotionEvent("cam2", seq));
    Publish(pub, "heartbeat", v1::Event());
    Publish(pub, "camera/cam1", MotionEvent("cam1", seq));
    Publish(pub, "motion/cam1", MotionEvent("cam1", seq));
    for (;;) {
      Result<std::optional<v1::Event>> next = feed->Next(20);
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      if (!next->has_value()) break;
      EXPECT_EQ((*next)->camera_id(), "cam1");
      EXPECT_TRUE((*next)->has_motion_started());
      ++got_cam1;
    }
  }
  EXPECT_GE(got_cam1, 3);
}

TEST(FeedSubscriberTest, NextTimesOutEmpty) {
  IpcDir dir;
  Result<FeedSubscriber> feed = FeedSubscriber::Connect(dir.Endpoint("silent.sock"), {});
  ASSERT_TRUE(feed.ok());
  auto start = Clock::now();
  Result<std::optional<v1::Event>> next = feed->Next(50);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_GE(Clock::now() - start, milliseconds(45));
}

TEST(FeedSubscriberTest, MalformedMessageIsAnErrorAndTheFeedGoesOn) {
  IpcDir dir;
  const std::string endpoint = dir.Endpoint("feed.sock");
  FakeFeed fake(endpoint);
  zmq::socket_t& pub = fake.pub;
  Result<FeedSubscriber> feed = FeedSubscriber::Connect(endpoint, {});
  ASSERT_TRUE(feed.ok());

  bool saw_error = false, saw_event = false;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!(saw_error && saw_event) && Clock::now() < deadline) {
    pub.send(zmq::buffer(std::string("motion/cam1")));  // one frame only
    Publish(pub, "motion/cam1", MotionEvent("cam1", 1));
    for (;;) {
      Result<std::optional<v1::Event>> next = feed->Next(20);
      if (!next.ok()) {
        saw_error = true;
        EXPECT_NE(next.status().message().find(endpoint), std::string::npos);
        continue;
      }
      if (!next->has_value()) break;
      saw_event = true;
    }
  }
  EXPECT_TRUE(saw_error);
  EXPECT_TRUE(saw_event);
}

}  // namespace
}  // namespace skynet::client
