// AuditLog: the append-only audit log of the control plane, one JSON object per line:
//   {"time":"2026-12-06T16:30:00.123Z","who":"center","role":"read","command":"status",
//    "ok":false,"error":"permission denied: ..."}
// Written by the control server (requests and their refusals) and by the ZAP handler (refused
// connections: "command":"connect"). Each owns its own AuditLog on the same file: lines are
// appended with one write(2) on an O_APPEND descriptor, so writers never interleave. Every line
// is valid UTF-8 (invalid bytes in a field become "\xNN"). Any thread may call Write().
#pragma once

#include <memory>
#include <string>

#include "daemon/role.h"
#include "pipeline/core/status.h"

namespace skynet::daemon {

class AuditLog {
 public:
  // Opens (creates, mode 0640) `path` for appending, creating its directory. IoError naming the
  // path if it cannot.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one line; `error` only when !ok. A failed write is logged, not returned.
  void Write(const std::string& who, Role role, const std::string& command, bool ok,
             const std::string& error = "");

 private:
  explicit AuditLog(int fd) : fd_(fd) {}
  int fd_;
};

// `s` as a JSON string literal (quotes included), valid UTF-8.
std::string JsonString(const std::string& s);

}  // namespace skynet::daemon
