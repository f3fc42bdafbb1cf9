#include "pipeline/ingest/tcp_probe.h"

#include "pipeline/core/url.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace skynet::ingest {
namespace {

// What TryConnect returns besides 0 (accepted) and an errno.
constexpr int kUnresolved = -1;
constexpr int kNoSocket = -2;

// Non-blocking connect within `timeout_ms`: 0 if accepted, else the errno (ETIMEDOUT, ...),
// kUnresolved if the host does not resolve, kNoSocket if no socket could be made.
int TryConnect(const HostPort& to, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(to.host.c_str(), to.port.c_str(), &hints, &res) != 0 || !res) {
    return kUnresolved;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> holder(res, freeaddrinfo);
  const int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return kNoSocket;
  int err = 0;
  if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      if (poll(&pfd, 1, timeout_ms) == 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
  }
  close(fd);
  return err;
}

}  // namespace

std::optional<HostPort> SplitHostPort(const std::string& url) {
  // Where the userinfo ends is decided in one place, pipeline/core/url.h.
  const UrlParts parts = SplitUrl(url);
  if (parts.scheme.empty()) return std::nullopt;
  const std::string& hostport = parts.authority;
  HostPort out{hostport, parts.scheme == "rtsps" ? "322" : "554"};
  if (!hostport.empty() && hostport.front() == '[') {  // [v6]:port
    const size_t close = hostport.find(']');
    out.host = hostport.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < hostport.size() && hostport[close + 1] == ':') {
      out.port = hostport.substr(close + 2);
    }
  } else if (const size_t colon = hostport.rfind(':'); colon != std::string::npos) {
    out.host = hostport.substr(0, colon);
    out.port = hostport.substr(colon + 1);
  }
  return out;
}

bool ProbeTcp(const std::string& url, int timeout_ms) {
  const std::optional<HostPort> to = SplitHostPort(url);
  return to && TryConnect(*to, timeout_ms) == 0;
}

StateReason DiagnoseConnect(const std::string& url, int timeout_ms, std::string* detail) {
  const std::optional<HostPort> to = SplitHostPort(url);
  if (!to) return StateReason::kError;
  const std::string where = to->host + ":" + to->port;
  switch (const int err = TryConnect(*to, timeout_ms)) {
    case kUnresolved:
      *detail = "cannot resolve host " + to->host;
      return StateReason::kError;
    case kNoSocket:
      *detail = "connection failed";
      return StateReason::kError;
    case ECONNREFUSED:
      *detail = "connection refused by " + where;
      return StateReason::kRefused;
    case ETIMEDOUT:
      *detail = "no answer from " + where;
      return StateReason::kTimeout;
    case 0:
      *detail = "connected to " + where + " but rtsp failed";
      return StateReason::kError;
    default:
      *detail = std::string(std::strerror(err)) + " (" + where + ")";
      return err == EHOSTUNREACH || err == ENETUNREACH ? StateReason::kTimeout
                                                       : StateReason::kError;
  }
}

}  // namespace skynet::ingest
