// Security: the ZeroMQ context of the daemon's sockets, its ZAP handler, and who may connect.
//
// Every server socket (feed, replay, control) lives in context() and is prepared with
// ConfigureServer() before it binds: it gets a ZAP domain, and on tcp:// endpoints CurveZMQ
// with this node's key when a server key is configured. The ZAP handler (its own thread, on
// inproc://zeromq.zap.01) then decides each connection:
//   CURVE: the client's public key must be on the allow-list; User-Id = its name, role as listed.
//   NULL on ipc://: file permissions already decided; User-Id "ipc uid N", role admin.
//   NULL on inproc://: User-Id "inproc", role admin.
//   NULL on tcp:// (only without a server key, only on loopback): User-Id "tcp <addr>", role read.
// The role travels as the ZAP metadata property "X-Role"; servers read both with PeerOf().
// Every refusal is counted (denied()), written to the audit log if one is configured, and logged
// as a warning: the first 10, then every 100th, each with the count so far.
//
// Destroy Security last: its context terminates only after every socket in it is closed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/role.h"
#include "pipeline/core/status.h"

namespace zmq {
class context_t;
class socket_t;
class message_t;
}  // namespace zmq

namespace skynet::daemon {

struct ClientKey {
  std::string name;
  std::string public_key;  // Z85
  Role role = Role::kRead;
};

struct SecurityOptions {
  // This node's key pair file (0600); empty: no CurveZMQ, and tcp:// only on loopback.
  std::string server_key_file;
  std::vector<ClientKey> clients;
  // Audit log (daemon/audit_log.h) that gets one line per refused connection: who (the peer's
  // address), why (unknown client key <z85>, mechanism not allowed); empty: none.
  std::string audit_log;
};

// Who sent a message, from its ZAP properties.
struct Peer {
  std::string user;  // "ops-center", "ipc uid 1000", ...
  Role role = Role::kNone;
};
// Reads User-Id and X-Role of a received message; `fallback` when it carries none (a socket
// without ZAP, e.g. in tests).
Peer PeerOf(zmq::message_t& message, const Peer& fallback);

// True for tcp:// endpoints on 127.0.0.0/8, localhost or ::1.
bool IsLoopbackTcp(const std::string& endpoint);

class AuditLog;

class Security {
 public:
  // Loads the server key (refusing a file group or others can read), builds the allow-list and
  // starts the ZAP handler.
  static Result<std::unique_ptr<Security>> Create(const SecurityOptions& options);
  ~Security();
  Security(const Security&) = delete;
  Security& operator=(const Security&) = delete;

  zmq::context_t& context();
  bool curve() const { return !server_public_.empty(); }
  const std::string& server_public_key() const { return server_public_; }

  // Prepares `socket` (of context()) to bind `endpoint`, as described above. `domain` names the
  // endpoint in logs and ZAP ("feed", "replay", "control"). PermissionDenied for plaintext tcp://
  // on a non-loopback address.
  Status ConfigureServer(zmq::socket_t& socket, const std::string& endpoint,
                         const std::string& domain);

  // Admission for `domain` ("feed"): called on the ZAP thread for each connection to it, with
  // whether the rules above allow it. For an allowed one, a non-empty answer refuses it with that
  // reason (counted, logged and audited like any refusal); for a refused one the answer is
  // ignored (the callback only learns of it, to count connections). Must be cheap and
  // thread-safe; SetAdmission(domain, {}) removes it.
  using Admission = std::function<std::string(bool allowed)>;
  void SetAdmission(const std::string& domain, Admission admit);

  uint64_t allowed() const { return allowed_.load(); }
  uint64_t denied() const { return denied_.load(); }

 private:
  Security() = default;
  void RunZap();

  struct State;
  std::unique_ptr<State> state_;
  std::string server_public_, server_secret_;
  std::map<std::string, ClientKey> clients_;  // by 32-byte binary key
  std::mutex mu_;
  std::map<std::string, std::string> domain_transport_;  // domain -> "tcp", "ipc", "inproc"
  std::map<std::string, Admission> admission_;           // guarded by mu_
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> allowed_{0}, denied_{0};
  std::unique_ptr<AuditLog> audit_;
  std::thread zap_thread_;
};

}  // namespace skynet::daemon
