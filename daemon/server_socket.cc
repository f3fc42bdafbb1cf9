#include "daemon/server_socket.h"

#include <optional>
#include <zmq.hpp>

#include "daemon/security.h"

namespace skynet::daemon {

struct ServerSocket::State {
  std::optional<zmq::context_t> own_context;  // when there is no Security; outlives the socket
  std::optional<zmq::socket_t> socket;
};

ServerSocket::ServerSocket() : state_(std::make_unique<State>()) {}

ServerSocket::~ServerSocket() {
  state_->socket.reset();  // before its context
}

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
    // Unroutable answers (a client gone) are dropped, never an error.
    if (options.kind == Kind::kRouter) s.socket->set(zmq::sockopt::router_mandatory, 0);
    if (options.security) {
      SKYNET_RETURN_IF_ERROR(
          options.security->ConfigureServer(*s.socket, options.endpoint, options.domain));
    }
    s.socket->bind(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(options.config_key + " " + options.endpoint +
                               ": cannot bind: " + e.what());
  }
  return server;
}

}  // namespace skynet::daemon
