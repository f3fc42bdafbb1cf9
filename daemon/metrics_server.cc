#include "daemon/metrics_server.h"

#include <httplib.h>

#include <chrono>

#include "pipeline/core/logging.h"

namespace skynet::daemon {

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& endpoint,
                                                            Render render) {
  std::string host;
  int port = -1;
  const size_t colon = endpoint.rfind(':');
  if (colon != std::string::npos) {
    host = endpoint.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    try {
      size_t used = 0;
      port = std::stoi(endpoint.substr(colon + 1), &used);
      if (used != endpoint.size() - colon - 1) port = -1;
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (host.empty() || port < 0 || port > 65535) {
    return Status::InvalidArgument("metrics_endpoint '" + endpoint +
                                   "': expected host:port, e.g. 127.0.0.1:9464");
  }
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->server_ = std::make_unique<httplib::Server>();
  m->server_->Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    try {
      res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("metrics: ") + e.what() + "\n", "text/plain");
    }
  });
  m->server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("skynetd: metrics at /metrics\n", "text/plain");
  });
  if (port == 0) {
    m->port_ = m->server_->bind_to_any_port(host);
    if (m->port_ <= 0) {
      return Status::Unavailable("metrics_endpoint '" + endpoint + "': cannot bind");
    }
  } else {
    if (!m->server_->bind_to_port(host, port)) {
      return Status::Unavailable("metrics_endpoint '" + endpoint +
                                 "': cannot bind (address in use or not local?)");
    }
    m->port_ = port;
  }
  httplib::Server* server = m->server_.get();
  m->thread_ = std::thread([server] { server->listen_after_bind(); });
  // stop() before the listener runs would be lost (httplib only stops a running server), so
  // Start() returns once it runs.
  while (!server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  GetLogger("daemon")->info("metrics on http://{}:{}/metrics", endpoint.substr(0, colon), m->port_);
  return m;
}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace skynet::daemon
