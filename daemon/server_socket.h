// ServerSocket: one bound ZeroMQ server socket of the daemon (the feed's PUB, the replay and
// control ROUTERs), set up the same way for all three in one place: the socket lives in the
// Security's context (or in a context of its own when there is none: tests), gets its limits
// (skynet/zmq_socket.h), is prepared by Security::ConfigureServer (ZAP domain, CurveZMQ server
// key, the plaintext-TCP policy) and then binds.
//
//   auto s = ServerSocket::Bind({.kind = ServerSocket::Kind::kRouter, .endpoint = "ipc://...",
//                                .config_key = "control_endpoint", .domain = "control"});
//   zmq::socket_t& socket = (*s)->socket();  // include <zmq.hpp> to use it
//
// Threads: Bind() on any thread; afterwards the socket belongs to the one thread that uses it.
// Ownership: the object owns the socket and its own context, if any; destruction closes the
// socket first. A Security passed in is borrowed and must outlive the socket.
#pragma once

#include <memory>
#include <string>

#include "pipeline/core/status.h"
#include "skynet/zmq_socket.h"

namespace zmq {
class socket_t;
}

namespace skynet::daemon {

class Security;

class ServerSocket {
 public:
  enum class Kind { kPublisher, kRouter };
  struct Options {
    Kind kind = Kind::kRouter;
    std::string endpoint;
    // The config key of the endpoint, to name it in errors ("event_endpoint").
    std::string config_key;
    // ZAP domain and name in logs: "feed", "replay" or "control".
    std::string domain;
    protocol::SocketOptions limits;
    // Borrowed, may be null: no ZAP, no CurveZMQ (tests).
    Security* security = nullptr;
    // kRouter: a reply to a peer whose queue is full (its high-water mark) or that is gone
    // fails with EAGAIN / EHOSTUNREACH instead of vanishing (ZMQ_ROUTER_MANDATORY).
    bool router_mandatory = false;
  };

  // Creates, configures and binds the socket. Unavailable "<config_key> <endpoint>: cannot bind:
  // ..." when the endpoint cannot be bound; the Security's error (PermissionDenied for plaintext
  // TCP on a non-loopback address) when it refuses the endpoint.
  static Result<std::unique_ptr<ServerSocket>> Bind(const Options& options);
  ~ServerSocket();
  ServerSocket(const ServerSocket&) = delete;
  ServerSocket& operator=(const ServerSocket&) = delete;

  zmq::socket_t& socket();

  // Peers connected now (connections accepted minus those closed), from the socket's monitor.
  // Call from the thread that uses socket(); never blocks. 0 if the monitor could not be set up.
  uint64_t PollPeers();
  // Connections closed so far (refused ones included), as of the last PollPeers().
  uint64_t disconnects() const;

 private:
  ServerSocket();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace skynet::daemon
