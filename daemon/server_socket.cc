#include "daemon/server_socket.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "daemon/security.h"

namespace skynet::daemon {

struct ServerSocket::State {
  std::optional<zmq::context_t> own_context;  // when there is no Security; outlives the socket
  std::optional<zmq::socket_t> socket;
  // The socket's monitor (ZMQ_EVENT_ACCEPTED / DISCONNECTED), read by PollPeers().
  std::optional<zmq::socket_t> monitor;
  int64_t peers = 0;
  uint64_t disconnects = 0;
};

ServerSocket::ServerSocket() : state_(std::make_unique<State>()) {}

ServerSocket::~ServerSocket() {
  state_->monitor.reset();
  state_->socket.reset();  // before its context
}

uint64_t ServerSocket::PollPeers() {
  State& s = *state_;
  if (!s.monitor) return 0;
  try {
    // Each monitor event is two frames: 6 bytes (event id, value) and the endpoint.
    zmq::message_t head, address;
    while (s.monitor->recv(head, zmq::recv_flags::dontwait)) {
      if (head.more()) (void)s.monitor->recv(address, zmq::recv_flags::none);
      if (head.size() < sizeof(uint16_t)) continue;
      uint16_t event = 0;
      std::memcpy(&event, head.data(), sizeof(event));
      if (event == ZMQ_EVENT_ACCEPTED) ++s.peers;
      if (event == ZMQ_EVENT_DISCONNECTED) {
        ++s.disconnects;
        if (s.peers > 0) --s.peers;
      }
    }
  } catch (const zmq::error_t&) {
    // Leave the count as it was; the next poll tries again.
  }
  return static_cast<uint64_t>(s.peers);
}

uint64_t ServerSocket::disconnects() const { return state_->disconnects; }

zmq::socket_t& ServerSocket::socket() { return *state_->socket; }

Result<std::unique_ptr<ServerSocket>> ServerSocket::Bind(const Options& options) {
  std::unique_ptr<ServerSocket> server(new ServerSocket());
  State& s = *server->state_;
  zmq::context_t& context =
      options.security ? options.security->context() : s.own_context.emplace(1);
  try {
    s.socket.emplace(context, options.kind == Kind::kPublisher ? zmq::socket_type::pub
                                                               : zmq::socket_type::router);
    SKYNET_RETURN_IF_ERROR(protocol::ApplySocketOptions(*s.socket, options.limits));
    // Unroutable answers (a client gone) are dropped, never an error, unless router_mandatory.
    if (options.kind == Kind::kRouter) {
      s.socket->set(zmq::sockopt::router_mandatory, options.router_mandatory ? 1 : 0);
    }
    if (options.security) {
      SKYNET_RETURN_IF_ERROR(
          options.security->ConfigureServer(*s.socket, options.endpoint, options.domain));
    }
    s.socket->bind(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(options.config_key + " " + options.endpoint +
                               ": cannot bind: " + e.what());
  }
  // A monitor for the peer count (metrics); without it only that figure is missing.
  const std::string monitor_endpoint =
      "inproc://skynet-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(server.get()));
  if (zmq_socket_monitor(s.socket->handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) == 0) {
    try {
      s.monitor.emplace(context, zmq::socket_type::pair);
      s.monitor->connect(monitor_endpoint);
    } catch (const zmq::error_t&) {
      s.monitor.reset();
    }
  }
  return server;
}

}  // namespace skynet::daemon
