#include "tools/camsim/control_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace skynet::camsim {
namespace {

constexpr size_t kMaxLine = 4096;

struct Client {
  int fd = -1;
  std::string in;
};

}  // namespace

Result<std::unique_ptr<ControlPort>> ControlPort::Start(int port, Handler handler) {
  std::unique_ptr<ControlPort> p(new ControlPort());
  p->handler_ = std::move(handler);
  p->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(p->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (p->listen_fd_ < 0 || bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ||
      listen(p->listen_fd_, 8)) {
    return Status::Unavailable("control port 127.0.0.1:" + std::to_string(port) + ": " +
                               std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  p->port_ = ntohs(addr.sin_port);
  p->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (p->wake_fd_ < 0) return Status::Internal("eventfd failed");
  ControlPort* raw = p.get();
  p->thread_ = std::thread([raw] { raw->Run(); });
  return p;
}

ControlPort::~ControlPort() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
    }
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ControlPort::Run() {
  std::vector<Client> clients;
  while (true) {
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) clients.push_back({fd, {}});
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Client& c = clients[i - 2];
      char buf[1024];
      const ssize_t n = read(c.fd, buf, sizeof buf);
      if (n <= 0) {
        close(c.fd);
        c.fd = -1;
        continue;
      }
      c.in.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = c.in.find('\n')) != std::string::npos;) {
        std::string line = c.in.substr(0, nl);
        c.in.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const std::string reply = handler_(line) + "\n";
        // Replies are short; a client that does not read them is not our problem.
        if (send(c.fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
      }
      if (c.in.size() > kMaxLine) {
        close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
  }
  for (Client& c : clients) close(c.fd);
}

}  // namespace skynet::camsim
