// ControlServer: answers skynetctl's requests on a ZeroMQ ROUTER socket.
//
// One internal thread owns the socket. Each request is one protobuf `skynet.v1.Request`
// (from a REQ or DEALER peer, with or without the empty delimiter frame); the handler runs on
// that thread and its Response is sent back to the same peer. Oversized or unparsable requests
// get an error Response; the server carries on.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "pipeline/core/status.h"
#include "skynet/v1/control.pb.h"

namespace skynet::daemon {

struct ControlServerOptions {
  // tcp://, ipc:// or inproc:// endpoint. For ipc://, the directory is created (mode 0770).
  std::string endpoint = "ipc:///tmp/skynetd-control.sock";
  // Largest request accepted, bytes; larger messages are dropped by ZeroMQ.
  int64_t max_request_bytes = 1 << 20;
};

class ControlServer {
 public:
  using Handler = std::function<v1::Response(const v1::Request&)>;

  // Binds and starts serving. Fails if the endpoint cannot be bound.
  static Result<std::unique_ptr<ControlServer>> Create(const ControlServerOptions& options,
                                                       Handler handler);
  ~ControlServer();  // Stop()
  void Stop();
  uint64_t requests() const { return requests_.load(); }

 private:
  ControlServer(const ControlServerOptions& options, Handler handler);
  void Run();

  const ControlServerOptions options_;
  const Handler handler_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  struct ZmqState;
  std::unique_ptr<ZmqState> zmq_;
  std::thread thread_;
};

}  // namespace skynet::daemon
