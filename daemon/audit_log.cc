#include "daemon/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "pipeline/core/logging.h"
#include "pipeline/core/url.h"

namespace skynet::daemon {

std::string JsonString(const std::string& raw) {
  const std::string s = ValidUtf8(raw);
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Status::IoError("control.audit_log " + path + ": cannot open: " + std::strerror(errno));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(fd));
}

AuditLog::~AuditLog() { ::close(fd_); }

void AuditLog::Write(const std::string& who, Role role, const std::string& command, bool ok,
                     const std::string& error) {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  ::gmtime_r(&ts.tv_sec, &utc);
  char when[64];
  std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                ts.tv_nsec / 1'000'000);
  std::string line = std::string("{\"time\":\"") + when + "\",\"who\":" + JsonString(who) +
                     ",\"role\":\"" + RoleName(role) + "\",\"command\":" + JsonString(command) +
                     ",\"ok\":" + (ok ? "true" : "false");
  if (!ok) line += ",\"error\":" + JsonString(error);
  line += "}\n";
  if (::write(fd_, line.data(), line.size()) < 0) {
    GetLogger("control")->error("audit log write failed: {}", std::strerror(errno));
  }
}

}  // namespace skynet::daemon
