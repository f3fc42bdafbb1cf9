// MetricsServer: serves Prometheus metrics over HTTP (GET /metrics) on `metrics_endpoint`.
//
// cpp-httplib runs the listener on one thread of its own plus its small worker pool; each scrape
// calls `render` on one of those threads, so `render` must be safe to call from any thread
// (the daemon reads atomics and takes the supervisor's lock briefly). Start() binds or fails with
// a message naming the endpoint; Stop() (and the destructor) returns once the listener ended.
//
//   auto server = MetricsServer::Start("127.0.0.1:9464", [&] { return RenderMetrics(...); });
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "pipeline/core/status.h"

namespace httplib {
class Server;
}

namespace skynet::daemon {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // `endpoint` is "host:port" ("[::1]:9464" for IPv6); port 0 picks a free port (see port()).
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& endpoint, Render render);
  ~MetricsServer();

  void Stop();
  // The bound port (useful after port 0).
  int port() const { return port_; }

 private:
  MetricsServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace skynet::daemon
