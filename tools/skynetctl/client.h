// The skynetd client side of the wire: a control-socket caller and an event-feed subscriber.
//
// Both speak only the public protocol (proto/skynet/v1) over ZeroMQ; nothing here knows daemon
// internals, so other tools may reuse this library. ZeroMQ stays inside client.cc: its exceptions
// become Status values there.
//
//   Result<ControlClient> client = ControlClient::Connect("ipc:///tmp/skynetd-control.sock", 3000);
//   skynet::v1::Request req;
//   req.mutable_status();
//   Result<skynet::v1::Response> resp = client->Call(req);  // Unavailable if nobody answers
//
// Each object owns its own ZeroMQ context and socket: use it from one thread at a time. Move-only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/core/status.h"
#include "skynet/v1/control.pb.h"
#include "skynet/v1/events.pb.h"

namespace skynet::ctl {

// Calls the daemon's control socket (a ROUTER) from a DEALER socket: a request is sent as
// [empty delimiter][Request bytes] and answered with [empty delimiter][Response bytes].
class ControlClient {
 public:
  // Prepares a connection to `endpoint` (tcp://, ipc:// or inproc://). ZeroMQ connects in the
  // background, so an absent daemon is noticed only by Call(). InvalidArgument for a malformed
  // endpoint. `timeout_ms` bounds each Call().
  static Result<ControlClient> Connect(const std::string& endpoint, int timeout_ms);

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
  static Result<FeedSubscriber> Connect(const std::string& endpoint,
                                        const std::vector<std::string>& topic_prefixes);

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

}  // namespace skynet::ctl
