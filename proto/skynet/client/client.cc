#include "skynet/client/client.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <deque>
#include <iterator>
#include <map>
#include <utility>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "skynet/client/version.h"
#include "skynet/protocol.h"

namespace skynet::client {
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

// Largest message accepted from the daemon: a replay answer is at most a few MiB.
constexpr int64_t kMaxMessageBytes = 64 << 20;
// Largest message accepted on the feed: events are small.
constexpr int64_t kMaxEventBytes = int64_t{1} << 20;

// A feed socket's limits; `receive_hwm` 0 keeps ZeroMQ's default.
protocol::SocketOptions FeedLimits(int receive_hwm) {
  return {.max_message_bytes = kMaxEventBytes, .receive_hwm = receive_hwm > 0 ? receive_hwm : -1};
}

// Limits and CurveZMQ credentials of a fresh client socket, before it connects.
Status Prepare(zmq::socket_t& socket, const protocol::SocketOptions& limits,
               const CurveCredentials& curve) {
  SKYNET_RETURN_IF_ERROR(protocol::ApplySocketOptions(socket, limits));
  return protocol::ApplyCurveClient(socket, curve);
}

bool ParseLimited(google::protobuf::MessageLite* m, const void* data, size_t size) {
  return protocol::ParseLimited(m, data, size, kMaxMessageBytes);
}

}  // namespace

// --- ControlClient ----------------------------------------------------------------------------

struct ControlClient::Impl {
  std::string endpoint;
  int timeout_ms = 0;
  CurveCredentials curve;
  zmq::context_t context{1};  // declared before the socket, so it outlives it
  std::optional<zmq::socket_t> socket;

  // A fresh DEALER socket: linger 0 so that an unanswered request never delays exit. Throws
  // zmq::error_t for a malformed endpoint.
  Status OpenSocket() {
    socket.reset();
    socket.emplace(context, zmq::socket_type::dealer);
    SKYNET_RETURN_IF_ERROR(Prepare(
        *socket, {.max_message_bytes = kMaxMessageBytes, .send_timeout_ms = timeout_ms}, curve));
    socket->connect(endpoint);
    return Status::Ok();
  }
};

ControlClient::ControlClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlClient::ControlClient(ControlClient&&) noexcept = default;
ControlClient& ControlClient::operator=(ControlClient&&) noexcept = default;
ControlClient::~ControlClient() = default;

const std::string& ControlClient::endpoint() const { return impl_->endpoint; }
int ControlClient::timeout_ms() const { return impl_->timeout_ms; }

Result<ControlClient> ControlClient::Connect(const std::string& endpoint, int timeout_ms,
                                             const CurveCredentials& curve) {
  auto impl = std::make_unique<Impl>();
  impl->endpoint = endpoint;
  impl->timeout_ms = timeout_ms;
  impl->curve = curve;
  try {
    SKYNET_RETURN_IF_ERROR(impl->OpenSocket());
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
    if (payload.size() > static_cast<size_t>(protocol::kMaxControlMessageBytes)) {
      return Status::InvalidArgument("request too large: " + std::to_string(payload.size()) +
                                     " bytes (skynetd reads at most " +
                                     std::to_string(protocol::kMaxControlMessageBytes) + ")");
    }
    std::array<zmq::const_buffer, 2> frames = {zmq::const_buffer(nullptr, 0), zmq::buffer(payload)};
    if (!zmq::send_multipart(*s.socket, frames, zmq::send_flags::none)) {
      SKYNET_RETURN_IF_ERROR(s.OpenSocket());
      return no_answer;
    }
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || !WaitReadable(*s.socket, left.count())) {
        if (Clock::now() < deadline) continue;  // a signal cut the wait short
        // Drop the pending request: its late answer must not be read later.
        SKYNET_RETURN_IF_ERROR(s.OpenSocket());
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
      if (!ParseLimited(&response, reply[1].data(), reply[1].size())) {
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
                                               const std::vector<std::string>& topic_prefixes,
                                               const CurveCredentials& curve, int receive_hwm) {
  auto impl = std::make_unique<Impl>();
  impl->endpoint = endpoint;
  try {
    impl->socket.emplace(impl->context, zmq::socket_type::sub);
    SKYNET_RETURN_IF_ERROR(Prepare(*impl->socket, FeedLimits(receive_hwm), curve));
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
    if (!ParseLimited(&event, frames[1].data(), frames[1].size())) {
      return Status::Internal("malformed event on topic '" + frames[0].to_string() + "' at " +
                              s.endpoint);
    }
    return std::optional<skynet::v1::Event>(std::move(event));
  } catch (const zmq::error_t& e) {
    return Status::Internal("receiving from the feed at " + s.endpoint +
                            " failed: " + ZmqMessage(e));
  }
}

// --- ReliableSubscriber ------------------------------------------------------------------------

Result<FeedPosition> ParseFeedPosition(const std::string& text) {
  const size_t colon = text.find(':');
  FeedPosition p;
  try {
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) throw 0;
    size_t used = 0;
    p.epoch = std::stoull(text.substr(0, colon), &used);
    if (used != colon) throw 0;
    p.seq = std::stoull(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw 0;
  } catch (...) {
    return Status::InvalidArgument("'" + text + "' is not EPOCH:SEQ (two decimal numbers)");
  }
  return p;
}

struct ReliableSubscriber::Impl {
  struct Node {
    uint64_t epoch = 0;
    uint64_t seq = 0;            // last delivered (or skipped as lost) seq of `epoch`
    bool epoch_closed = false;   // `epoch` ended at `seq`: next is seq 1 of a newer epoch
  };

  ReliableOptions options;
  zmq::context_t context{1};
  std::optional<zmq::socket_t> feed;
  std::optional<zmq::socket_t> replay;
  std::map<std::string, Node> nodes;
  std::deque<Delivery> out;
  ReliableStats stats;
  uint64_t next_request_id = 1;
  bool from_used = false;

  // Throws zmq::error_t for a malformed endpoint.
  Status OpenReplay() {
    replay.reset();
    replay.emplace(context, zmq::socket_type::dealer);
    SKYNET_RETURN_IF_ERROR(
        Prepare(*replay, {.max_message_bytes = kMaxMessageBytes}, options.curve));
    replay->connect(options.replay_endpoint);
    return Status::Ok();
  }

  static bool IsNext(const Node& n, uint64_t epoch, uint64_t seq) {
    if (n.epoch_closed) return epoch > n.epoch && seq == 1;
    return epoch == n.epoch && seq == n.seq + 1;
  }
  static bool Seen(const Node& n, uint64_t epoch, uint64_t seq) {
    return epoch < n.epoch || (epoch == n.epoch && seq <= n.seq);
  }

  void Deliver(Node& n, skynet::v1::Event ev, bool replayed) {
    n.epoch = ev.epoch();
    n.seq = ev.seq();
    n.epoch_closed = false;
    ++(replayed ? stats.replayed : stats.live);
    Delivery d;
    d.event = std::move(ev);
    d.replayed = replayed;
    out.push_back(std::move(d));
  }

  void Lose(const std::string& node, uint64_t epoch, uint64_t first, uint64_t last,
            skynet::v1::GapReason reason) {
    Delivery d;
    d.loss.set_node_id(node);
    d.loss.set_epoch(epoch);
    d.loss.set_first_seq(first);
    d.loss.set_last_seq(last);
    d.loss.set_reason(reason);
    stats.lost += last >= first ? last - first + 1 : 1;
    out.push_back(std::move(d));
  }

  // Reports everything between the node's position and `ev` as lost; `ev` follows.
  void LoseUpTo(const std::string& node_id, Node& n, const skynet::v1::Event& ev,
                skynet::v1::GapReason reason) {
    if (ev.epoch() == n.epoch && !n.epoch_closed) {
      if (ev.seq() > n.seq + 1) Lose(node_id, ev.epoch(), n.seq + 1, ev.seq() - 1, reason);
    } else {
      if (!n.epoch_closed) Lose(node_id, n.epoch, n.seq + 1, 0, reason);
      if (ev.seq() > 1) Lose(node_id, ev.epoch(), 1, ev.seq() - 1, reason);
    }
  }

  // One replay round trip. Empty on timeout or a malformed answer.
  std::optional<skynet::v1::ReplayResponse> Ask(const std::string& node_id, const Node& n) {
    skynet::v1::ReplayRequest req;
    req.set_node_id(node_id);
    req.set_epoch(n.epoch);
    req.set_after_seq(n.seq);
    req.set_max_events(options.replay_batch);
    req.set_request_id(next_request_id++);
    const std::string bytes = req.SerializeAsString();
    ++stats.replay_requests;
    std::array<zmq::const_buffer, 2> frames = {zmq::const_buffer(nullptr, 0), zmq::buffer(bytes)};
    if (!zmq::send_multipart(*replay, frames, zmq::send_flags::dontwait)) return std::nullopt;
    const auto deadline = Clock::now() + std::chrono::milliseconds(options.replay_timeout_ms);
    while (true) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return std::nullopt;
      if (!WaitReadable(*replay, left)) continue;
      std::vector<zmq::message_t> reply;
      if (!zmq::recv_multipart(*replay, std::back_inserter(reply), zmq::recv_flags::dontwait)) {
        continue;
      }
      skynet::v1::ReplayResponse resp;
      if (reply.size() != 2 || !ParseLimited(&resp, reply[1].data(), reply[1].size())) {
        return std::nullopt;
      }
      if (resp.request_id() != req.request_id()) continue;  // a late answer to a timed-out ask
      return resp;
    }
  }

  // Repairs the gap before `ev` (received live) from replay, then delivers `ev` if still new.
  void Repair(const std::string& node_id, Node& n, skynet::v1::Event ev) {
    ++stats.gaps;
    if (options.replay_endpoint.empty()) {
      LoseUpTo(node_id, n, ev, skynet::v1::GAP_REASON_NO_REPLAY);
      Deliver(n, std::move(ev), false);
      return;
    }
    int failures = 0;
    while (!Seen(n, ev.epoch(), ev.seq()) && !IsNext(n, ev.epoch(), ev.seq())) {
      std::optional<skynet::v1::ReplayResponse> resp = Ask(node_id, n);
      if (!resp || !resp->ok()) {
        if (resp) failures = options.replay_attempts;  // an error answer: no point retrying
        // A new socket drops anything queued for the old one.
        if (++failures < options.replay_attempts && OpenReplay().ok()) continue;
        LoseUpTo(node_id, n, ev, skynet::v1::GAP_REASON_UNAVAILABLE);
        break;
      }
      failures = 0;
      const uint64_t epoch_before = n.epoch, seq_before = n.seq;
      const bool closed_before = n.epoch_closed;
      for (skynet::v1::ReplayItem& item : *resp->mutable_items()) {
        if (item.has_event()) {
          skynet::v1::Event* e = item.mutable_event();
          if (Seen(n, e->epoch(), e->seq())) {
            ++stats.duplicates;
            continue;
          }
          if (!IsNext(n, e->epoch(), e->seq())) {  // the server skipped without saying why
            LoseUpTo(node_id, n, *e, skynet::v1::GAP_REASON_NOT_JOURNALED);
          }
          Deliver(n, std::move(*e), true);
        } else if (item.has_gap()) {
          const skynet::v1::ReplayGap& g = item.gap();
          if (g.epoch() < n.epoch || (g.epoch() == n.epoch && g.last_seq() != 0 &&
                                      g.last_seq() <= n.seq)) {
            continue;  // lost events this subscriber has anyway
          }
          const uint64_t first = g.epoch() == n.epoch ? std::max(g.first_seq(), n.seq + 1) : 1;
          Lose(node_id, g.epoch(), first, g.last_seq(), g.reason());
          n.epoch = g.epoch();
          if (g.last_seq() == 0) {
            n.epoch_closed = true;
          } else {
            n.seq = g.last_seq();
            n.epoch_closed = false;
          }
        } else if (item.has_epoch_end()) {
          const skynet::v1::EpochEnd& e = item.epoch_end();
          if (e.epoch() < n.epoch) continue;
          if (e.epoch() == n.epoch && !n.epoch_closed && n.seq < e.last_seq()) {
            Lose(node_id, e.epoch(), n.seq + 1, e.last_seq(), skynet::v1::GAP_REASON_NOT_JOURNALED);
          }
          n.epoch = e.epoch();
          n.seq = std::max(n.seq, e.last_seq());
          n.epoch_closed = true;
        }
      }
      const bool moved =
          n.epoch != epoch_before || n.seq != seq_before || n.epoch_closed != closed_before;
      if (resp->end_of_journal() || !moved) {
        // Everything journaled is delivered; what is still missing before `ev` is not there.
        if (!Seen(n, ev.epoch(), ev.seq()) && !IsNext(n, ev.epoch(), ev.seq())) {
          LoseUpTo(node_id, n, ev, skynet::v1::GAP_REASON_NOT_JOURNALED);
        }
        break;
      }
    }
    if (Seen(n, ev.epoch(), ev.seq())) {
      ++stats.duplicates;
    } else {
      Deliver(n, std::move(ev), false);
    }
  }

  void OnLive(skynet::v1::Event ev) {
    if (ev.seq() == 0) {  // not sequenced (not from skynetd's bus): nothing to check
      ++stats.live;
      Delivery d;
      d.event = std::move(ev);
      out.push_back(std::move(d));
      return;
    }
    const std::string node_id = ev.node_id();
    auto [it, inserted] = nodes.try_emplace(node_id);
    Node& n = it->second;
    if (inserted) {
      if (options.from && !from_used &&
          (options.from_node.empty() || options.from_node == node_id)) {
        from_used = true;
        n.epoch = options.from->epoch;
        n.seq = options.from->seq;
        n.epoch_closed = n.epoch == 0;  // 0:0 = from the oldest retained event
      } else {  // start where the feed is now
        n.epoch = ev.epoch();
        n.seq = ev.seq() - 1;
      }
    }
    if (Seen(n, ev.epoch(), ev.seq())) {
      ++stats.duplicates;
    } else if (IsNext(n, ev.epoch(), ev.seq())) {
      Deliver(n, std::move(ev), false);
    } else {
      Repair(node_id, n, std::move(ev));
    }
  }
};

ReliableSubscriber::ReliableSubscriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReliableSubscriber::ReliableSubscriber(ReliableSubscriber&&) noexcept = default;
ReliableSubscriber& ReliableSubscriber::operator=(ReliableSubscriber&&) noexcept = default;
ReliableSubscriber::~ReliableSubscriber() = default;

const ReliableStats& ReliableSubscriber::stats() const { return impl_->stats; }

FeedPosition ReliableSubscriber::position(const std::string& node_id) const {
  auto it = impl_->nodes.find(node_id);
  if (it == impl_->nodes.end()) return {};
  return {it->second.epoch, it->second.seq};
}

Result<ReliableSubscriber> ReliableSubscriber::Connect(const ReliableOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  try {
    impl->feed.emplace(impl->context, zmq::socket_type::sub);
    SKYNET_RETURN_IF_ERROR(Prepare(*impl->feed, FeedLimits(options.receive_hwm), options.curve));
    impl->feed->set(zmq::sockopt::subscribe, "");
    impl->feed->connect(options.feed_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("invalid feed endpoint '" + options.feed_endpoint +
                                   "': " + ZmqMessage(e));
  }
  if (!options.replay_endpoint.empty()) {
    try {
      SKYNET_RETURN_IF_ERROR(impl->OpenReplay());
    } catch (const zmq::error_t& e) {
      return Status::InvalidArgument("invalid replay endpoint '" + options.replay_endpoint +
                                     "': " + ZmqMessage(e));
    }
  }
  return ReliableSubscriber(std::move(impl));
}

Result<std::optional<Delivery>> ReliableSubscriber::Next(int timeout_ms) {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  try {
    while (s.out.empty()) {
      long wait = -1;
      if (timeout_ms >= 0) {
        wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                   .count();
        if (wait < 0) wait = 0;
      }
      if (!WaitReadable(*s.feed, wait)) return std::optional<Delivery>();
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(*s.feed, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        continue;
      }
      skynet::v1::Event ev;
      if (frames.size() != 2 || !ParseLimited(&ev, frames[1].data(), frames[1].size())) {
        return Status::Internal("malformed message on the feed at " + s.options.feed_endpoint);
      }
      s.OnLive(std::move(ev));
    }
  } catch (const zmq::error_t& e) {
    return Status::Internal("receiving from " + s.options.feed_endpoint + " failed: " +
                            ZmqMessage(e));
  }
  Delivery d = std::move(s.out.front());
  s.out.pop_front();
  return std::optional<Delivery>(std::move(d));
}

const char* Version() { return SKYNET_CLIENT_VERSION; }

}  // namespace skynet::client
