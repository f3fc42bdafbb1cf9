// ZeroMQ socket setup shared by every skynet program (daemon servers, skynet-relay, the client
// library): the limits a socket gets and CurveZMQ client credentials, applied in one place.
//
//   zmq::socket_t s(context, zmq::socket_type::dealer);
//   SKYNET_RETURN_IF_ERROR(ApplySocketOptions(s, {.max_message_bytes = 64 << 20}));
//   SKYNET_RETURN_IF_ERROR(ApplyCurveClient(s, credentials));
//
// Functions of their arguments; the caller owns the socket and uses it from one thread.
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/core/status.h"

namespace zmq {
class socket_t;
}

namespace skynet::protocol {

struct SocketOptions {
  // Milliseconds unsent messages are kept when the socket closes; 0 drops them at once.
  int linger_ms = 0;
  // Incoming messages larger than this drop the connection (a peer cannot make us allocate
  // without bound); -1: no limit.
  int64_t max_message_bytes = -1;
  // High-water marks in messages: 0 is no limit, -1 keeps ZeroMQ's default (1000).
  int send_hwm = -1;
  int receive_hwm = -1;
  // Send timeout in milliseconds; -1 blocks (ZeroMQ's default).
  int send_timeout_ms = -1;
};

// Sets `options` on `socket`. Internal if ZeroMQ refuses one (the message names the option).
Status ApplySocketOptions(zmq::socket_t& socket, const SocketOptions& options);

// CurveZMQ client credentials, for a node (or relay) with security.server_key_file. All empty:
// plaintext (ipc://, or tcp:// on loopback).
struct CurveCredentials {
  std::string server_public_key;  // Z85: the node's .pub
  std::string public_key;         // Z85: this client's key pair (skynetctl keygen)
  std::string secret_key;
  bool enabled() const { return !server_public_key.empty(); }
};

// Makes `socket` a CurveZMQ client of the server with `credentials` (nothing when they are not
// enabled). Set before connect(). Internal if ZeroMQ refuses the keys.
Status ApplyCurveClient(zmq::socket_t& socket, const CurveCredentials& credentials);

}  // namespace skynet::protocol
