#include "daemon/control_server.h"

#include <sys/stat.h>

#include <filesystem>
#include <vector>

#include <zmq.hpp>

#include "pipeline/core/logging.h"

namespace skynet::daemon {

struct ControlServer::ZmqState {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::router};
};

ControlServer::ControlServer(const ControlServerOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::Create(const ControlServerOptions& options,
                                                             Handler handler) {
  std::unique_ptr<ControlServer> server(new ControlServer(options, std::move(handler)));
  const std::string ipc_prefix = "ipc://";
  if (options.endpoint.rfind(ipc_prefix, 0) == 0) {
    const std::filesystem::path path(options.endpoint.substr(ipc_prefix.size()));
    std::error_code ec;
    if (path.has_parent_path() && !std::filesystem::exists(path.parent_path(), ec)) {
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) {
        return Status::IoError("control_endpoint " + options.endpoint +
                               ": cannot create directory: " + ec.message());
      }
      ::chmod(path.parent_path().c_str(), 0770);
    }
  }
  server->zmq_ = std::make_unique<ZmqState>();
  try {
    auto& s = server->zmq_->socket;
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::maxmsgsize, options.max_request_bytes);
    s.set(zmq::sockopt::router_mandatory, 0);
    s.bind(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("control_endpoint " + options.endpoint + ": cannot bind: " +
                               e.what());
  }
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  GetLogger("control")->info("control on {}", options.endpoint);
  return server;
}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  zmq_.reset();
}

void ControlServer::Run() {
  auto log = GetLogger("control");
  auto& socket = zmq_->socket;
  std::vector<zmq::message_t> frames;
  while (!stop_.load()) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      log->error("poll failed: {}", e.what());
      break;
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    frames.clear();
    try {
      do {
        zmq::message_t msg;
        if (!socket.recv(msg, zmq::recv_flags::dontwait)) break;
        frames.push_back(std::move(msg));
      } while (frames.back().more());
    } catch (const zmq::error_t& e) {
      log->warn("receive failed: {}", e.what());
      continue;
    }
    // [identity][payload] from a DEALER, [identity][][payload] from REQ or a DEALER using
    // the delimiter.
    if (frames.size() < 2) continue;
    const bool delimited = frames.size() >= 3 && frames[1].size() == 0;
    const zmq::message_t& payload = frames.back();
    ++requests_;

    v1::Response response;
    v1::Request request;
    if ((frames.size() != 2 && !(delimited && frames.size() == 3))) {
      response.set_ok(false);
      response.set_error("malformed request: expected one protobuf frame, got " +
                         std::to_string(frames.size() - 1));
    } else if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      response.set_ok(false);
      response.set_error("malformed request: not a skynet.v1.Request (" +
                         std::to_string(payload.size()) + " bytes)");
    } else if (request.command_case() == v1::Request::COMMAND_NOT_SET) {
      response.set_ok(false);
      response.set_error("unknown or empty command (is skynetctl newer than skynetd?)");
    } else {
      response = handler_(request);
    }
    if (!response.ok()) log->debug("request failed: {}", response.error());
    std::string bytes;
    response.SerializeToString(&bytes);
    try {
      socket.send(frames[0], zmq::send_flags::sndmore);
      if (delimited) socket.send(zmq::message_t(), zmq::send_flags::sndmore);
      socket.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      log->warn("reply failed: {}", e.what());
    }
  }
}

}  // namespace skynet::daemon
