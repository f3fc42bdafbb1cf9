// ControlServer: answers skynetctl's requests on a ZeroMQ ROUTER socket.
//
// One internal thread owns the socket. Each request is one protobuf `skynet.v1.Request`
// (from a REQ or DEALER peer, with or without the empty delimiter frame); the handler runs on
// that thread and its Response is sent back to the same peer. Before the handler, every request
// is checked: size (ZMQ_MAXMSGSIZE and a bounded parse), shape (ValidateRequest) and the
// sender's role (RequiredRole; the role comes from the ZAP handler, see security.h). Anything
// refused gets an error Response (its text valid UTF-8); the server carries on. Every refused or
// failed request and every change is written to the audit log (who, what, when, result, why) if
// one is configured; answered read-only polls (the read role's commands) only with audit_reads.
//
// ipc:// endpoints: the socket's directory is created with mode 0770, and an existing directory
// must not be accessible by others and must belong to us or root (else Create fails), so only
// root and the daemon's group (the operators) can reach the socket.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "daemon/security.h"
#include "pipeline/core/status.h"
#include "skynet/protocol.h"
#include "skynet/v1/control.pb.h"

namespace skynet::daemon {

class AuditLog;
class ServerSocket;

struct ControlServerOptions {
  // tcp://, ipc:// or inproc:// endpoint.
  std::string endpoint = "ipc:///tmp/skynetd/control.sock";
  // Largest request handled, bytes; larger ones (up to protocol::kMaxControlMessageBytes, which
  // the socket reads at all) get the answer "request too large: N bytes (limit M)", audited.
  // Config control.max_request_bytes.
  int64_t max_request_bytes = 64 << 10;
  // Larger messages make ZeroMQ drop the connection (ZMQ_MAXMSGSIZE): no answer at all. The
  // client refuses to send them (skynet/client).
  int64_t max_message_bytes = protocol::kMaxControlMessageBytes;
  // Answers are never dropped silently: one a peer cannot take yet (its queue at the high-water
  // mark: pipelined requests it does not read) waits in an outbox and is retried; after
  // reply_timeout_ms it is dropped, counted and logged, like one for a peer that has gone. While
  // max_pending_replies wait, no new request is read (back pressure on the senders).
  int reply_timeout_ms = 5000;
  size_t max_pending_replies = 4096;
  // Borrowed, may be null: then no ZAP, and every peer has `default_role`. Must outlive us.
  Security* security = nullptr;
  Role default_role = Role::kAdmin;
  // Append-only audit log (JSON lines, daemon/audit_log.h); empty: none.
  std::string audit_log;
  // Also audit answered read-only polls (status, list_cameras); off: only refusals of them.
  bool audit_reads = false;
  // Overrides of RequiredRole() by command name (tests).
  std::map<std::string, Role> required_roles;
};

// The command name of a request: its `command` oneof field ("status", "list_cameras", ...), or
// "" when unset.
std::string CommandName(const v1::Request& request);
// Role needed to run a command: read for the read-only commands (list_cameras, status, search,
// quality), admin for everything else (accept_view too), including commands added later.
Role RequiredRole(const std::string& command);
// Checks a parsed request: a known command, no unknown fields, sane values. The error says what
// is wrong, e.g. "status.camera_id: must be at most 64 characters".
Status ValidateRequest(const v1::Request& request);

class ControlServer {
 public:
  using Handler = std::function<v1::Response(const v1::Request&)>;

  // Binds and starts serving. Fails if the endpoint cannot be bound, its ipc:// directory is
  // unsafe, or the audit log cannot be opened.
  static Result<std::unique_ptr<ControlServer>> Create(const ControlServerOptions& options,
                                                       Handler handler);
  ~ControlServer();  // Stop()
  void Stop();
  uint64_t requests() const { return requests_.load(); }
  // Answers dropped: the peer had gone, or did not take it within reply_timeout_ms.
  uint64_t replies_dropped() const { return replies_dropped_.load(); }
  // Answers that waited in the outbox (the peer's queue was full when first sent).
  uint64_t replies_delayed() const { return replies_delayed_.load(); }
  // Requests handled, by (command, ok); "?" for a request too malformed to name its command.
  std::map<std::pair<std::string, bool>, uint64_t> requests_by_command() const;

  // Checks, authorises and runs one request payload from `peer`; what Run() does per message.
  // Exposed for tests and the fuzzer.
  v1::Response Handle(const void* data, size_t size, const Peer& peer);

 private:
  ControlServer(const ControlServerOptions& options, Handler handler);
  void Run();
  struct PendingReply;
  // Sends what waits in `outbox`, oldest first, each peer's answers in order; drops (counting
  // and logging) those for peers gone or past reply_timeout_ms.
  void FlushOutbox(std::deque<PendingReply>& outbox);
  // Tries to send one answer now: true when sent, or when it can never be (the peer is gone:
  // counted); false when the peer's queue is full.
  bool TrySend(PendingReply& reply);
  // `need`: the role the command requires (read: a poll).
  void Audit(const Peer& peer, const std::string& command, Role need,
             const v1::Response& response);

  const ControlServerOptions options_;
  const Handler handler_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> replies_dropped_{0};
  std::atomic<uint64_t> replies_delayed_{0};
  mutable std::mutex counts_mu_;
  std::map<std::pair<std::string, bool>, uint64_t> by_command_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<ServerSocket> socket_;
  std::thread thread_;
};

}  // namespace skynet::daemon
