#include "tools/skynetctl/client.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <iterator>
#include <utility>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace skynet::ctl {
namespace {

using Clock = std::chrono::steady_clock;

std::string ZmqMessage(const zmq::error_t& e) { return e.what(); }

// Waits until `socket` has a message or `timeout_ms` passes (-1: forever). False on timeout or
// when a signal interrupts the wait (EINTR), so that Ctrl-C reaches the caller promptly.
bool WaitReadable(zmq::socket_t& socket, long timeout_ms) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  try {
    return zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) > 0;
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    throw;
  }
}

}  // namespace

// --- ControlClient ----------------------------------------------------------------------------

struct ControlClient::Impl {
  std::string endpoint;
  int timeout_ms = 0;
  zmq::context_t context{1};  // declared before the socket, so it outlives it
  std::optional<zmq::socket_t> socket;

  // A fresh DEALER socket: linger 0 so that an unanswered request never delays exit.
  void OpenSocket() {
    socket.reset();
    socket.emplace(context, zmq::socket_type::dealer);
    socket->set(zmq::sockopt::linger, 0);
    socket->set(zmq::sockopt::sndtimeo, timeout_ms);
    socket->connect(endpoint);
  }
};

ControlClient::ControlClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlClient::ControlClient(ControlClient&&) noexcept = default;
ControlClient& ControlClient::operator=(ControlClient&&) noexcept = default;
ControlClient::~ControlClient() = default;

const std::string& ControlClient::endpoint() const { return impl_->endpoint; }
int ControlClient::timeout_ms() const { return impl_->timeout_ms; }

Result<ControlClient> ControlClient::Connect(const std::string& endpoint, int timeout_ms) {
  auto impl = std::make_unique<Impl>();
  impl->endpoint = endpoint;
  impl->timeout_ms = timeout_ms;
  try {
    impl->OpenSocket();
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("invalid control endpoint '" + endpoint + "': " + ZmqMessage(e));
  }
  return ControlClient(std::move(impl));
}

Result<skynet::v1::Response> ControlClient::Call(const skynet::v1::Request& request) {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + std::chrono::milliseconds(s.timeout_ms);
  const Status no_answer =
      Status::Unavailable("no answer from skynetd at " + s.endpoint + " within " +
                          std::to_string(s.timeout_ms) + " ms (is it running?)");
  try {
    std::string payload;
    if (!request.SerializeToString(&payload)) {
      return Status::Internal("cannot serialise the control request");
    }
    std::array<zmq::const_buffer, 2> frames = {zmq::const_buffer(nullptr, 0), zmq::buffer(payload)};
    if (!zmq::send_multipart(*s.socket, frames, zmq::send_flags::none)) {
      s.OpenSocket();
      return no_answer;
    }
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || !WaitReadable(*s.socket, left.count())) {
        if (Clock::now() < deadline) continue;  // a signal cut the wait short
        s.OpenSocket();  // drop the pending request: its late answer must not be read later
        return no_answer;
      }
      std::vector<zmq::message_t> reply;
      if (!zmq::recv_multipart(*s.socket, std::back_inserter(reply), zmq::recv_flags::dontwait)) {
        continue;
      }
      if (reply.size() != 2 || reply[0].size() != 0) {
        return Status::Internal("malformed answer from skynetd at " + s.endpoint + ": " +
                                std::to_string(reply.size()) + " frames");
      }
      skynet::v1::Response response;
      if (!response.ParseFromArray(reply[1].data(), static_cast<int>(reply[1].size()))) {
        return Status::Internal("malformed answer from skynetd at " + s.endpoint +
                                ": not a skynet.v1.Response");
      }
      return response;
    }
  } catch (const zmq::error_t& e) {
    return Status::Internal("control call to " + s.endpoint + " failed: " + ZmqMessage(e));
  }
}

// --- FeedSubscriber ---------------------------------------------------------------------------

struct FeedSubscriber::Impl {
  std::string endpoint;
  zmq::context_t context{1};
  std::optional<zmq::socket_t> socket;
};

FeedSubscriber::FeedSubscriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FeedSubscriber::FeedSubscriber(FeedSubscriber&&) noexcept = default;
FeedSubscriber& FeedSubscriber::operator=(FeedSubscriber&&) noexcept = default;
FeedSubscriber::~FeedSubscriber() = default;

const std::string& FeedSubscriber::endpoint() const { return impl_->endpoint; }

Result<FeedSubscriber> FeedSubscriber::Connect(const std::string& endpoint,
                                               const std::vector<std::string>& topic_prefixes) {
  auto impl = std::make_unique<Impl>();
  impl->endpoint = endpoint;
  try {
    impl->socket.emplace(impl->context, zmq::socket_type::sub);
    impl->socket->set(zmq::sockopt::linger, 0);
    if (topic_prefixes.empty()) {
      impl->socket->set(zmq::sockopt::subscribe, "");
    } else {
      for (const std::string& prefix : topic_prefixes) {
        impl->socket->set(zmq::sockopt::subscribe, prefix);
      }
    }
    impl->socket->connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("invalid feed endpoint '" + endpoint + "': " + ZmqMessage(e));
  }
  return FeedSubscriber(std::move(impl));
}

Result<std::optional<skynet::v1::Event>> FeedSubscriber::Next(int timeout_ms) {
  Impl& s = *impl_;
  try {
    if (!WaitReadable(*s.socket, timeout_ms)) return std::optional<skynet::v1::Event>();
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(*s.socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      return std::optional<skynet::v1::Event>();
    }
    if (frames.size() != 2) {
      return Status::Internal("malformed message on the feed at " + s.endpoint + ": " +
                              std::to_string(frames.size()) + " frames, expected 2");
    }
    skynet::v1::Event event;
    if (!event.ParseFromArray(frames[1].data(), static_cast<int>(frames[1].size()))) {
      return Status::Internal("malformed event on topic '" + frames[0].to_string() + "' at " +
                              s.endpoint);
    }
    return std::optional<skynet::v1::Event>(std::move(event));
  } catch (const zmq::error_t& e) {
    return Status::Internal("receiving from the feed at " + s.endpoint +
                            " failed: " + ZmqMessage(e));
  }
}

}  // namespace skynet::ctl
