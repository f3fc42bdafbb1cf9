#include "daemon/control_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <zmq.hpp>

#include "daemon/audit_log.h"
#include "daemon/server_socket.h"
#include "pipeline/core/logging.h"
#include "pipeline/core/url.h"
#include "skynet/protocol.h"

namespace skynet::daemon {
namespace {

namespace pb = google::protobuf;

constexpr size_t kMaxStringBytes = 4096;

// First problem found in `m` and its sub-messages: unknown fields or an over-long string.
std::string CheckFields(const pb::Message& m, const std::string& path) {
  const pb::Reflection* r = m.GetReflection();
  if (!r->GetUnknownFields(m).empty()) {
    return (path.empty() ? std::string("request") : path) +
           ": has fields this skynetd does not know (is skynetctl newer than skynetd?)";
  }
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    const std::string name = path.empty() ? f->name() : path + "." + f->name();
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      if (f->type() == pb::FieldDescriptor::TYPE_STRING ||
          f->type() == pb::FieldDescriptor::TYPE_BYTES) {
        std::string scratch;
        const std::string& v = f->is_repeated() ? r->GetRepeatedStringReference(m, f, i, &scratch)
                                                : r->GetStringReference(m, f, &scratch);
        if (v.size() > kMaxStringBytes) {
          return name + ": must be at most " + std::to_string(kMaxStringBytes) + " bytes";
        }
      } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
        const pb::Message& sub =
            f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f);
        if (std::string e = CheckFields(sub, name); !e.empty()) return e;
      }
    }
  }
  return "";
}

std::string CheckCameraId(const std::string& id) {
  if (id.size() > 64) return "must be at most 64 characters";
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return "may contain only letters, digits, '.', '_' and '-'";
  }
  return "";
}

// Creates the socket's directory (0770) or checks an existing one: not accessible by others,
// owned by us or root.
Status PrepareIpcDirectory(const std::string& endpoint) {
  const std::filesystem::path path(endpoint.substr(6));
  if (!path.has_parent_path()) return Status::Ok();
  const std::string dir = path.parent_path().string();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Status::IoError("control_endpoint " + endpoint +
                             ": cannot create directory: " + ec.message());
    }
    ::chmod(dir.c_str(), 0770);
    return Status::Ok();
  }
  if ((st.st_mode & 0007) != 0 || (st.st_uid != ::geteuid() && st.st_uid != 0)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied(
        "control_endpoint " + endpoint + ": directory " + dir + " (mode " + mode + ", uid " +
        std::to_string(st.st_uid) +
        ") is open to others: the control socket needs a directory only root and the operator "
        "group can enter (mode 0750 or 0770), e.g. ipc:///run/skynetd/control.sock");
  }
  return Status::Ok();
}

}  // namespace

std::string CommandName(const v1::Request& request) {
  const pb::OneofDescriptor* oneof = v1::Request::descriptor()->FindOneofByName("command");
  const pb::FieldDescriptor* f = request.GetReflection()->GetOneofFieldDescriptor(request, oneof);
  return f ? f->name() : "";
}

Role RequiredRole(const std::string& command) {
  static const std::map<std::string, Role> kReadOnly = {
      {"list_cameras", Role::kRead},
      {"status", Role::kRead},
      {"search", Role::kRead},
      {"quality", Role::kRead},
      {"clip", Role::kRead},
      {"snapshot", Role::kRead},
      {"follow", Role::kRead},
  };
  auto it = kReadOnly.find(command);
  return it == kReadOnly.end() ? Role::kAdmin : it->second;
}

Status ValidateRequest(const v1::Request& request) {
  if (request.command_case() == v1::Request::COMMAND_NOT_SET) {
    return Status::InvalidArgument("unknown or empty command (is skynetctl newer than skynetd?)");
  }
  if (std::string e = CheckFields(request, ""); !e.empty()) return Status::InvalidArgument(e);
  if (request.has_status()) {
    if (std::string e = CheckCameraId(request.status().camera_id()); !e.empty()) {
      return Status::InvalidArgument("status.camera_id: " + e);
    }
  }
  if (request.has_quality()) {
    if (std::string e = CheckCameraId(request.quality().camera_id()); !e.empty()) {
      return Status::InvalidArgument("quality.camera_id: " + e);
    }
  }
  if (request.has_accept_view()) {
    if (std::string e = CheckCameraId(request.accept_view().camera_id()); !e.empty()) {
      return Status::InvalidArgument("accept_view.camera_id: " + e);
    }
  }
  return Status::Ok();
}

ControlServer::ControlServer(const ControlServerOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::Create(const ControlServerOptions& options,
                                                             Handler handler) {
  std::unique_ptr<ControlServer> server(new ControlServer(options, std::move(handler)));
  const bool ipc = options.endpoint.rfind("ipc://", 0) == 0;
  if (ipc) SKYNET_RETURN_IF_ERROR(PrepareIpcDirectory(options.endpoint));
  if (!options.audit_log.empty()) {
    SKYNET_ASSIGN_OR_RETURN(server->audit_, AuditLog::Open(options.audit_log));
  }
  Result<std::unique_ptr<ServerSocket>> socket =
      ServerSocket::Bind({.kind = ServerSocket::Kind::kRouter,
                          .endpoint = options.endpoint,
                          .config_key = "control_endpoint",
                          .domain = "control",
                          .limits = {.max_message_bytes = options.max_message_bytes},
                          .security = options.security,
                          .router_mandatory = true});
  if (!socket) return socket.status();
  server->socket_ = std::move(socket).value();
  if (ipc) ::chmod(options.endpoint.substr(6).c_str(), 0660);
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  GetLogger("control")->info("control on {}{}", options.endpoint,
                             options.audit_log.empty() ? "" : ", audit log " + options.audit_log);
  return server;
}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  socket_.reset();
}

void ControlServer::Audit(const Peer& peer, const std::string& command, Role need,
                          const v1::Response& response) {
  if (!audit_) return;
  // Answered polls (status, list_cameras: the read role's commands) would drown the changes and
  // refusals an auditor looks for; they are logged only with audit_reads. Refusals always are.
  if (response.ok() && need == Role::kRead && !options_.audit_reads) return;
  audit_->Write(peer.user, peer.role, command, response.ok(), response.error());
}

v1::Response ControlServer::Handle(const void* data, size_t size, const Peer& peer) {
  v1::Response response;
  v1::Request request;
  std::string command = "?";
  Role need = Role::kAdmin;
  if (size > static_cast<size_t>(options_.max_request_bytes)) {
    response.set_ok(false);
    response.set_error("request too large: " + std::to_string(size) + " bytes (limit " +
                       std::to_string(options_.max_request_bytes) +
                       " bytes, control.max_request_bytes)");
  } else if (!protocol::ParseLimited(&request, data, size,
                                     static_cast<size_t>(options_.max_request_bytes))) {
    response.set_ok(false);
    response.set_error("malformed request: not a skynet.v1.Request (" + std::to_string(size) +
                       " bytes)");
  } else if (Status st = ValidateRequest(request); !st.ok()) {
    command = CommandName(request);
    response.set_ok(false);
    response.set_error(st.message());
  } else {
    command = CommandName(request);
    auto it = options_.required_roles.find(command);
    need = it != options_.required_roles.end() ? it->second : RequiredRole(command);
    if (static_cast<int>(peer.role) < static_cast<int>(need)) {
      response.set_ok(false);
      response.set_error("permission denied: " + command + " needs the " + RoleName(need) +
                         " role; " + peer.user + " has " + RoleName(peer.role));
    } else {
      response = handler_(request);
    }
  }
  // Error texts may quote what the peer or a file sent: protobuf strings must be valid UTF-8.
  if (!response.ok()) response.set_error(ValidUtf8(response.error()));
  Audit(peer, command, need, response);
  {
    std::lock_guard<std::mutex> lock(counts_mu_);
    ++by_command_[{command, response.ok()}];
  }
  return response;
}

std::map<std::pair<std::string, bool>, uint64_t> ControlServer::requests_by_command() const {
  std::lock_guard<std::mutex> lock(counts_mu_);
  return by_command_;
}

struct ControlServer::PendingReply {
  zmq::message_t identity;
  bool delimited = false;
  std::string bytes;
  std::string user;  // for the log
  std::chrono::steady_clock::time_point since;
};

bool ControlServer::TrySend(PendingReply& reply) {
  auto& socket = socket_->socket();
  try {
    zmq::message_t identity(reply.identity.data(), reply.identity.size());
    // ROUTER_MANDATORY: the identity frame fails (EAGAIN) when the peer's queue is full, and
    // then nothing of the answer was queued; once it is accepted the rest goes through.
    if (!socket.send(identity, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return false;
    }
    if (reply.delimited) socket.send(zmq::message_t(), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(reply.bytes), zmq::send_flags::none);
    return true;
  } catch (const zmq::error_t& e) {
    const uint64_t n = ++replies_dropped_;
    if (n <= 10 || n % 100 == 0) {
      GetLogger("control")->warn("answer to {} dropped: {} ({} dropped so far)", reply.user,
                                 e.num() == EHOSTUNREACH ? "the peer has gone" : e.what(), n);
    }
    return true;
  }
}

void ControlServer::FlushOutbox(std::deque<PendingReply>& outbox) {
  const auto now = std::chrono::steady_clock::now();
  const auto timeout = std::chrono::milliseconds(options_.reply_timeout_ms);
  std::vector<std::string> blocked;  // peers whose earlier answer still waits: keep their order
  for (auto it = outbox.begin(); it != outbox.end();) {
    const std::string id = it->identity.to_string();
    if (std::find(blocked.begin(), blocked.end(), id) != blocked.end()) {
      ++it;
      continue;
    }
    if (TrySend(*it)) {
      it = outbox.erase(it);
    } else if (now - it->since >= timeout) {
      const uint64_t n = ++replies_dropped_;
      if (n <= 10 || n % 100 == 0) {
        GetLogger("control")->warn(
            "answer to {} dropped: not read within {} ms (its queue is full: pipelined "
            "requests it does not read; {} dropped so far)",
            it->user, options_.reply_timeout_ms, n);
      }
      it = outbox.erase(it);
    } else {
      blocked.push_back(id);
      ++it;
    }
  }
}

void ControlServer::Run() {
  auto log = GetLogger("control");
  auto& socket = socket_->socket();
  const Peer fallback{"local", options_.default_role};
  std::vector<zmq::message_t> frames;
  std::deque<PendingReply> outbox;
  while (!stop_.load()) {
    if (!outbox.empty()) FlushOutbox(outbox);
    // A full outbox: read nothing more until answers drain (the senders wait in ZeroMQ).
    const bool reading = outbox.size() < options_.max_pending_replies;
    zmq::pollitem_t item{socket.handle(), 0, static_cast<short>(reading ? ZMQ_POLLIN : 0), 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(outbox.empty() ? 100 : 10));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      log->error("poll failed: {}", e.what());
      break;
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    frames.clear();
    size_t total = 0;  // frames in the message; at most 8 are kept (the first 7 and the last)
    try {
      bool more = true;
      while (more) {
        zmq::message_t msg;
        if (!socket.recv(msg, zmq::recv_flags::dontwait)) break;
        more = msg.more();
        ++total;
        if (frames.size() < 8) {
          frames.push_back(std::move(msg));
        } else {
          frames.back() = std::move(msg);
        }
      }
    } catch (const zmq::error_t& e) {
      log->warn("receive failed: {}", e.what());
      continue;
    }
    // [identity][payload] from a DEALER, [identity][][payload] from REQ or a DEALER using
    // the delimiter.
    if (frames.size() < 2) continue;
    const bool delimited = frames.size() >= 3 && frames[1].size() == 0;
    zmq::message_t& payload = frames.back();
    ++requests_;
    const Peer peer = PeerOf(payload, fallback);

    v1::Response response;
    if (total != frames.size() || (frames.size() != 2 && !(delimited && frames.size() == 3))) {
      response.set_ok(false);
      response.set_error("malformed request: expected one protobuf frame, got " +
                         std::to_string(total - (delimited ? 2 : 1)));
      Audit(peer, "?", Role::kAdmin, response);
    } else {
      response = Handle(payload.data(), payload.size(), peer);
    }
    if (!response.ok()) log->debug("request from {} failed: {}", peer.user, response.error());
    PendingReply reply;
    reply.identity = std::move(frames[0]);
    reply.delimited = delimited;
    response.SerializeToString(&reply.bytes);
    reply.user = peer.user;
    reply.since = std::chrono::steady_clock::now();
    // Behind an earlier answer to the same peer, or refused now: into the outbox, in order.
    const std::string id = reply.identity.to_string();
    const bool queued_behind =
        std::any_of(outbox.begin(), outbox.end(),
                    [&](const PendingReply& r) { return r.identity.to_string() == id; });
    if (queued_behind || !TrySend(reply)) {
      replies_delayed_.fetch_add(1, std::memory_order_relaxed);
      outbox.push_back(std::move(reply));
    }
  }
  if (!outbox.empty()) {
    replies_dropped_.fetch_add(outbox.size());
    log->warn("{} answers not sent: skynetd is stopping", outbox.size());
  }
}

}  // namespace skynet::daemon
