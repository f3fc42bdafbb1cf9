#include "skynet/zmq_socket.h"

#include <zmq.hpp>

namespace skynet::protocol {

Status ApplySocketOptions(zmq::socket_t& socket, const SocketOptions& options) {
  const char* option = "linger";
  try {
    socket.set(zmq::sockopt::linger, options.linger_ms);
    option = "maxmsgsize";
    socket.set(zmq::sockopt::maxmsgsize, options.max_message_bytes);
    option = "sndhwm";
    if (options.send_hwm >= 0) socket.set(zmq::sockopt::sndhwm, options.send_hwm);
    option = "rcvhwm";
    if (options.receive_hwm >= 0) socket.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    option = "sndtimeo";
    if (options.send_timeout_ms >= 0) socket.set(zmq::sockopt::sndtimeo, options.send_timeout_ms);
  } catch (const zmq::error_t& e) {
    return Status::Internal(std::string("zeromq socket option ") + option + ": " + e.what());
  }
  return Status::Ok();
}

Status ApplyCurveClient(zmq::socket_t& socket, const CurveCredentials& credentials) {
  if (!credentials.enabled()) return Status::Ok();
  try {
    socket.set(zmq::sockopt::curve_serverkey, credentials.server_public_key);
    socket.set(zmq::sockopt::curve_publickey, credentials.public_key);
    socket.set(zmq::sockopt::curve_secretkey, credentials.secret_key);
  } catch (const zmq::error_t& e) {
    return Status::Internal(std::string("curve keys: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace skynet::protocol
