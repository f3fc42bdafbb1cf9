#include "daemon/security.h"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "daemon/audit_log.h"
#include "pipeline/core/logging.h"
#include "skynet/keys.h"

namespace skynet::daemon {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string Transport(const std::string& endpoint) {
  const size_t p = endpoint.find("://");
  return p == std::string::npos ? "" : endpoint.substr(0, p);
}

// ZAP metadata: name length (1 byte), name, value length (4 bytes, big endian), value.
std::string Property(const std::string& name, const std::string& value) {
  std::string out;
  out.push_back(static_cast<char>(name.size()));
  out += name;
  const uint32_t n = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  out += value;
  return out;
}

}  // namespace

Peer PeerOf(zmq::message_t& message, const Peer& fallback) {
  const char* user = zmq_msg_gets(message.handle(), "User-Id");
  if (user == nullptr || *user == '\0') return fallback;
  Peer peer{user, Role::kNone};
  const char* role = zmq_msg_gets(message.handle(), "X-Role");
  if (role != nullptr) ParseRole(role, &peer.role);
  return peer;
}

bool IsLoopbackTcp(const std::string& endpoint) {
  if (endpoint.rfind("tcp://", 0) != 0) return false;
  const std::string host = endpoint.substr(6);
  return host.rfind("127.", 0) == 0 || host.rfind("localhost:", 0) == 0 ||
         host.rfind("[::1]:", 0) == 0;
}

struct Security::State {
  zmq::context_t context{1};
  zmq::socket_t zap{context, zmq::socket_type::rep};
};

Result<std::unique_ptr<Security>> Security::Create(const SecurityOptions& options) {
  std::unique_ptr<Security> s(new Security());
  if (!options.audit_log.empty()) {
    SKYNET_ASSIGN_OR_RETURN(s->audit_, AuditLog::Open(options.audit_log));
  }
  if (!options.server_key_file.empty()) {
    if (!zmq_has("curve")) {
      return Status::Unavailable("security.server_key_file: libzmq was built without CURVE");
    }
    auto pair = keys::LoadKeyPair(options.server_key_file);
    if (!pair.ok()) return Status(pair.status().code(), "security.server_key_file: " +
                                                            pair.status().message());
    s->server_public_ = pair->public_key;
    s->server_secret_ = pair->secret_key;
  }
  for (const ClientKey& c : options.clients) {
    std::string binary(32, '\0');
    if (!keys::IsZ85Key(c.public_key) ||
        zmq_z85_decode(reinterpret_cast<uint8_t*>(binary.data()), c.public_key.c_str()) ==
            nullptr) {
      return Status::InvalidArgument("security.clients: " + c.name + ": invalid public_key");
    }
    s->clients_[binary] = c;
  }
  s->state_ = std::make_unique<State>();
  try {
    s->state_->zap.set(zmq::sockopt::linger, 0);
    s->state_->zap.set(zmq::sockopt::maxmsgsize, int64_t{4096});
    s->state_->zap.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Status::Internal(std::string("cannot start the ZAP handler: ") + e.what());
  }
  s->zap_thread_ = std::thread([p = s.get()] { p->RunZap(); });
  GetLogger("control")->info("security: curve {}, {} client keys", s->curve() ? "on" : "off",
                             s->clients_.size());
  return s;
}

Security::~Security() {
  stop_.store(true);
  if (zap_thread_.joinable()) zap_thread_.join();
  state_.reset();
}

zmq::context_t& Security::context() { return state_->context; }

Status Security::ConfigureServer(zmq::socket_t& socket, const std::string& endpoint,
                                 const std::string& domain) {
  const std::string transport = Transport(endpoint);
  if (transport == "tcp" && !curve() && !IsLoopbackTcp(endpoint)) {
    return Status::PermissionDenied(
        domain + " endpoint " + endpoint +
        ": plaintext TCP on a non-loopback address; set security.server_key_file (CurveZMQ) or "
        "bind to 127.0.0.1");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    domain_transport_[domain] = transport;
  }
  try {
    socket.set(zmq::sockopt::zap_domain, domain);
    if (transport == "tcp" && curve()) {
      socket.set(zmq::sockopt::curve_server, 1);
      socket.set(zmq::sockopt::curve_secretkey, server_secret_);
    }
  } catch (const zmq::error_t& e) {
    return Status::Internal(domain + " endpoint " + endpoint + ": " + e.what());
  }
  if (transport == "tcp" && !curve()) {
    GetLogger("control")->warn("{} endpoint {}: plaintext TCP on loopback (no server key)", domain,
                               endpoint);
  }
  return Status::Ok();
}

void Security::SetAdmission(const std::string& domain, Admission admit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (admit) {
    admission_[domain] = std::move(admit);
  } else {
    admission_.erase(domain);
  }
}

void Security::RunZap() {
  auto log = GetLogger("control");
  zmq::socket_t& zap = state_->zap;
  while (!stop_.load()) {
    zmq::pollitem_t item{zap.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      if (e.num() == ETERM) break;
      continue;
    }
    std::vector<zmq::message_t> req;
    try {
      if (!zmq::recv_multipart(zap, std::back_inserter(req), zmq::recv_flags::dontwait)) continue;
    } catch (const zmq::error_t&) {
      continue;
    }
    // version, request id, domain, address, identity, mechanism, credentials...
    std::string code = "400", text = "denied", user;
    std::string who = "?", where = "?", why;  // for a refusal: peer address, domain, reason
    Role role = Role::kNone;
    if (req.size() >= 6 && req[0].to_string() == "1.0") {
      const std::string domain = req[2].to_string();
      const std::string address = req[3].to_string();
      const std::string mechanism = req[5].to_string();
      std::string transport;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = domain_transport_.find(domain);
        if (it != domain_transport_.end()) transport = it->second;
      }
      if (mechanism == "CURVE" && req.size() >= 7 && req[6].size() == 32) {
        auto it = clients_.find(req[6].to_string());
        if (it != clients_.end()) {
          user = it->second.name;
          role = it->second.role;
        } else {
          char z85[41];
          zmq_z85_encode(z85, static_cast<const uint8_t*>(req[6].data()), 32);
          text = "unknown client key";
          why = std::string("unknown client key ") + z85;
        }
      } else if (mechanism == "NULL" && transport == "ipc") {
        // address is "<host>:<uid>:<gid>:<pid>" (SO_PEERCRED).
        std::string uid = "?";
        const size_t a = address.find(':');
        const size_t b = a == std::string::npos ? a : address.find(':', a + 1);
        if (b != std::string::npos) uid = address.substr(a + 1, b - a - 1);
        user = "ipc uid " + uid;
        role = Role::kAdmin;
      } else if (mechanism == "NULL" && transport == "inproc") {
        user = "inproc";
        role = Role::kAdmin;
      } else if (mechanism == "NULL" && transport == "tcp" && !curve()) {
        user = "tcp " + address;
        role = Role::kRead;
      } else {
        text = "mechanism " + mechanism + " not allowed";
        why = text + (transport.empty() ? "" : " on " + transport);
      }
      who = (transport.empty() ? "" : transport + " ") + (address.empty() ? "?" : address);
      where = domain;
      Admission admit;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = admission_.find(domain);
        if (it != admission_.end()) admit = it->second;
      }
      const bool allowed = role != Role::kNone;
      const std::string refusal = admit ? admit(allowed) : std::string();
      if (allowed) {
        if (!refusal.empty()) {
          role = Role::kNone;
          text = refusal;
          why = refusal + " (" + user + ")";
        }
      }
    } else {
      why = "malformed ZAP request";
    }
    if (role != Role::kNone) {
      code = "200";
      text = "OK";
      ++allowed_;
    } else {
      const uint64_t n = ++denied_;
      if (n <= 10 || n % 100 == 0) {
        log->warn("{}: refused {}: {} ({} connections refused so far; logged: the first 10, then "
                  "every 100th, all in the audit log)",
                  where, who, why, n);
      }
      if (audit_) audit_->Write(who, Role::kNone, where + " connect", false, why);
    }
    std::array<zmq::const_buffer, 6> reply = {
        zmq::buffer(std::string_view("1.0")),
        zmq::buffer(req.size() > 1 ? req[1].data() : nullptr, req.size() > 1 ? req[1].size() : 0),
        zmq::buffer(code),
        zmq::buffer(text),
        zmq::buffer(user),
        zmq::const_buffer(nullptr, 0)};
    const std::string metadata = role == Role::kNone ? "" : Property("X-Role", RoleName(role));
    reply[5] = zmq::buffer(metadata);
    try {
      zmq::send_multipart(zap, reply);
    } catch (const zmq::error_t& e) {
      log->warn("zap reply failed: {}", e.what());
    }
  }
}

}  // namespace skynet::daemon
