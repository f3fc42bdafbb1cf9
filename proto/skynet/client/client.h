// libskynet-client: the client side of skynetd's wire, for integrators and skynetctl: a
// control-socket caller, an event-feed subscriber and a gap-repairing subscriber
// (ReliableSubscriber). Key files: skynet/keys.h; topics and event ids: skynet/protocol.h.
//
// Everything here speaks only the public protocol (proto/skynet/v1) over ZeroMQ; nothing knows
// daemon internals. ZeroMQ stays inside client.cc: its exceptions become Status values there.
// Installed with its headers and a pkg-config file (docs/integration.md §7):
//   c++ -std=c++20 app.cc $(pkg-config --cflags --libs skynet-client)
//
//   Result<ControlClient> client = ControlClient::Connect("ipc:///tmp/skynetd/control.sock", 3000);
//   skynet::v1::Request req;
//   req.mutable_status();
//   Result<skynet::v1::Response> resp = client->Call(req);  // Unavailable if nobody answers
//
// Each object owns its own ZeroMQ context and socket: use it from one thread at a time. Move-only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/core/status.h"
#include "skynet/v1/control.pb.h"
#include "skynet/v1/events.pb.h"
#include "skynet/zmq_socket.h"

namespace skynet::client {

// The library's version ("0.1.0"), the project version it was built from.
const char* Version();

// CurveZMQ client credentials (server public key, own key pair); all empty for plaintext.
using protocol::CurveCredentials;

// Calls the daemon's control socket (a ROUTER) from a DEALER socket: a request is sent as
// [empty delimiter][Request bytes] and answered with [empty delimiter][Response bytes].
class ControlClient {
 public:
  // Prepares a connection to `endpoint` (tcp://, ipc:// or inproc://). ZeroMQ connects in the
  // background, so an absent daemon is noticed only by Call(). InvalidArgument for a malformed
  // endpoint. `timeout_ms` bounds each Call().
  static Result<ControlClient> Connect(const std::string& endpoint, int timeout_ms,
                                       const CurveCredentials& curve = {});

  ControlClient(ControlClient&&) noexcept;
  ControlClient& operator=(ControlClient&&) noexcept;
  ~ControlClient();

  // Sends `request` and waits for the answer. A Response with ok=false is still a success here:
  // the caller reads its error. Failures: Unavailable "no answer from skynetd at <endpoint>
  // within N ms (is it running?)"; Internal for an answer that is not a Response. After a
  // timeout the socket is replaced, so a late answer cannot be taken for the next call's.
  Result<skynet::v1::Response> Call(const skynet::v1::Request& request);

  const std::string& endpoint() const;
  int timeout_ms() const;

 private:
  struct Impl;
  explicit ControlClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Receives events from the daemon's feed (a PUB socket). Each message has two frames: the topic
// ("camera/<id>", "motion/<id>" or "heartbeat") and the Event bytes.
class FeedSubscriber {
 public:
  // Subscribes to every topic starting with one of `topic_prefixes` (all topics if empty).
  // A prefix is only a coarse filter ("camera/cam1" also matches "camera/cam10"): compare
  // Event::camera_id for an exact match. InvalidArgument for a malformed endpoint.
  // `receive_hwm`: messages ZeroMQ queues before it drops (0: its default, 1000).
  static Result<FeedSubscriber> Connect(const std::string& endpoint,
                                        const std::vector<std::string>& topic_prefixes,
                                        const CurveCredentials& curve = {}, int receive_hwm = 0);

  FeedSubscriber(FeedSubscriber&&) noexcept;
  FeedSubscriber& operator=(FeedSubscriber&&) noexcept;
  ~FeedSubscriber();

  // Waits up to `timeout_ms` (-1: forever) for the next event. Empty when the time runs out or
  // a signal interrupts the wait. Internal for a message that is not a well-formed event (the
  // subscriber stays usable).
  Result<std::optional<skynet::v1::Event>> Next(int timeout_ms);

  const std::string& endpoint() const;

 private:
  struct Impl;
  explicit FeedSubscriber(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A position in a node's feed: the event (epoch, seq).
struct FeedPosition {
  uint64_t epoch = 0;
  uint64_t seq = 0;
};
// "EPOCH:SEQ" -> position; InvalidArgument otherwise.
Result<FeedPosition> ParseFeedPosition(const std::string& text);

struct ReliableOptions {
  std::string feed_endpoint;
  // The node's (or relay's) replay endpoint; empty: gaps cannot be repaired and are reported.
  std::string replay_endpoint;
  CurveCredentials curve;
  // Receive high-water mark of the feed socket (0: ZeroMQ's default, 1000).
  int receive_hwm = 0;
  // Resume: deliver everything after this position first (of `from_node`, or of the first node
  // seen when empty).
  std::optional<FeedPosition> from;
  std::string from_node;
  // Each replay request waits this long, and is tried this many times, before the gap is
  // reported as lost (GAP_REASON_UNAVAILABLE).
  int replay_timeout_ms = 3000;
  int replay_attempts = 3;
  // Events per replay request (the server may cap it).
  uint32_t replay_batch = 1000;
};

// One thing a ReliableSubscriber hands out: an event, or the record of events lost for good.
struct Delivery {
  std::optional<skynet::v1::Event> event;  // set for events
  skynet::v1::ReplayGap loss;              // set when !event
  bool replayed = false;                   // the event came from replay, not the live feed
};

struct ReliableStats {
  uint64_t live = 0;        // events delivered from the feed
  uint64_t replayed = 0;    // events delivered from replay
  uint64_t duplicates = 0;  // dropped: seen already
  uint64_t gaps = 0;        // gaps detected (seq jump, new epoch, resume)
  uint64_t lost = 0;        // events reported lost (unknown-size losses count 1)
  uint64_t replay_requests = 0;
};

// A gap-free view of the feed of one or more nodes (directly or through skynet-relay).
//
// Subscribes to every topic (gap detection needs the whole sequence; filter what Next() returns).
// Per node it tracks the last delivered (epoch, seq). An event right after it is delivered; an
// older one is a duplicate and dropped; a newer one means a gap (or a new epoch, or a resume):
// the subscriber then asks the replay endpoint for everything after its position, delivers that
// in order, and reports what the node no longer has (ReplayGap records: beyond retention, not
// journaled, replay unreachable). Repair happens inside Next(), synchronously.
//
// One thread at a time; move-only.
class ReliableSubscriber {
 public:
  static Result<ReliableSubscriber> Connect(const ReliableOptions& options);
  ReliableSubscriber(ReliableSubscriber&&) noexcept;
  ReliableSubscriber& operator=(ReliableSubscriber&&) noexcept;
  ~ReliableSubscriber();

  // The next delivery, waiting up to `timeout_ms` (-1: forever) for the feed; empty when the
  // time runs out. Internal for a malformed message (the subscriber stays usable).
  Result<std::optional<Delivery>> Next(int timeout_ms);

  const ReliableStats& stats() const;
  // Last delivered position of `node_id` (epoch 0 if none).
  FeedPosition position(const std::string& node_id) const;

 private:
  struct Impl;
  explicit ReliableSubscriber(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace skynet::client
