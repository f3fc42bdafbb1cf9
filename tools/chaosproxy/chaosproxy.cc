#include "tools/chaosproxy/chaosproxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "pipeline/core/logging.h"

namespace skynet::chaos {
namespace {

constexpr size_t kReadChunk = 16384;
constexpr size_t kMaxControlLine = 4096;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// close() with SO_LINGER 0: the peer sees RST.
void Reset(int fd) {
  if (fd < 0) return;
  const linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  close(fd);
}

Result<int> Listen(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, 64) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return Status::Unavailable("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

struct Chunk {
  int64_t due_ms = 0;
  std::string data;
  size_t off = 0;
};

// One direction of a connection: bytes read from one side, waiting to be written to the other.
struct Flow {
  std::deque<Chunk> queue;
  size_t bytes = 0;
  bool eof = false;       // the reading side closed
  bool shut = false;      // shutdown(SHUT_WR) sent to the writing side
  bool Due(int64_t now) const { return !queue.empty() && queue.front().due_ms <= now; }
};

struct Conn {
  int client = -1;
  int upstream = -1;
  bool connecting = true;
  Flow up;    // client -> target
  Flow down;  // target -> client
  bool dead = false;
};

struct ControlConn {
  int fd = -1;
  std::string in;
};

}  // namespace

Result<Mode> ParseMode(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::string verb, arg, extra;
  in >> verb >> arg >> extra;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("'" + std::string(line) + "': " + why);
  };
  Mode m;
  const bool takes_arg = verb == "delay" || verb == "corrupt";
  if (!extra.empty() || takes_arg == arg.empty()) {
    return bad(takes_arg ? "expected " + verb + (verb == "delay" ? " MS" : " RATE")
                         : "unexpected argument");
  }
  try {
    if (verb == "pass") {
      m.kind = Mode::Kind::kPass;
    } else if (verb == "delay") {
      m.kind = Mode::Kind::kDelay;
      size_t used = 0;
      m.delay_ms = std::stoi(arg, &used);
      if (used != arg.size() || m.delay_ms < 0 || m.delay_ms > 600000) {
        return bad("delay must be 0..600000 ms");
      }
    } else if (verb == "blackhole") {
      m.kind = Mode::Kind::kBlackhole;
    } else if (verb == "reset") {
      m.kind = Mode::Kind::kReset;
    } else if (verb == "corrupt") {
      m.kind = Mode::Kind::kCorrupt;
      size_t used = 0;
      m.corrupt_rate = std::stod(arg, &used);
      if (used != arg.size() || !(m.corrupt_rate >= 0 && m.corrupt_rate <= 1)) {
        return bad("rate must be 0..1");
      }
    } else if (verb == "refuse") {
      m.kind = Mode::Kind::kRefuse;
    } else {
      return bad("unknown mode (pass, delay MS, blackhole, reset, corrupt RATE, refuse)");
    }
  } catch (const std::exception&) {
    return bad("not a number");
  }
  return m;
}

std::string ModeName(const Mode& m) {
  switch (m.kind) {
    case Mode::Kind::kPass: return "pass";
    case Mode::Kind::kDelay: return "delay " + std::to_string(m.delay_ms);
    case Mode::Kind::kBlackhole: return "blackhole";
    case Mode::Kind::kReset: return "reset";
    case Mode::Kind::kCorrupt: {
      std::ostringstream o;
      o << "corrupt " << m.corrupt_rate;
      return o.str();
    }
    case Mode::Kind::kRefuse: return "refuse";
  }
  return "?";
}

class Proxy::Impl {
 public:
  ~Impl() {
    if (thread_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        quit_ = true;
      }
      Wake();
      thread_.join();
    }
    for (Conn& c : conns_) {
      if (c.client >= 0) close(c.client);
      if (c.upstream >= 0) close(c.upstream);
    }
    for (ControlConn& c : controls_) close(c.fd);
    for (int fd : {listen_fd_, control_fd_, wake_fd_}) {
      if (fd >= 0) close(fd);
    }
  }

  Status Init(ProxyOptions options) {
    options_ = std::move(options);
    if (options_.target_port <= 0 || options_.target_port > 65535) {
      return Status::InvalidArgument("target port must be 1..65535");
    }
    if (options_.max_buffer_bytes < kReadChunk) {
      return Status::InvalidArgument("max_buffer_bytes must be >= " + std::to_string(kReadChunk));
    }
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(options_.target_host.c_str(), std::to_string(options_.target_port).c_str(),
                    &hints, &res) != 0 || !res) {
      return Status::Unavailable("cannot resolve " + options_.target_host);
    }
    std::memcpy(&target_, res->ai_addr, sizeof target_);
    freeaddrinfo(res);
    auto l = Listen(options_.listen_port);
    if (!l) return l.status();
    listen_fd_ = *l;
    port_ = BoundPort(listen_fd_);
    if (options_.control_port >= 0) {
      auto c = Listen(options_.control_port);
      if (!c) return c.status();
      control_fd_ = *c;
      control_port_ = BoundPort(control_fd_);
    }
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return Status::Internal("eventfd failed");
    mode_ = options_.mode;
    thread_ = std::thread([this] { Run(); });
    return SetMode(options_.mode);
  }

  int port() const { return port_; }
  int control_port() const { return control_port_; }

  Status SetMode(const Mode& mode) {
    std::unique_lock<std::mutex> lock(mu_);
    pending_ = mode;
    const uint64_t want = ++requested_;
    lock.unlock();
    Wake();
    lock.lock();
    if (!cv_.wait_for(lock, std::chrono::seconds(5), [&] { return applied_ >= want; })) {
      return Status::Internal("chaosproxy: proxy thread does not answer");
    }
    return apply_status_;
  }

  Status Control(std::string_view line, std::string* reply) {
    if (line == "stats") {
      const ProxyStats s = stats();
      if (reply) {
        *reply = "accepted=" + std::to_string(s.accepted) + " active=" + std::to_string(s.active) +
                 " forwarded=" + std::to_string(s.bytes_forwarded) +
                 " swallowed=" + std::to_string(s.bytes_swallowed) +
                 " corrupted=" + std::to_string(s.bytes_corrupted) +
                 " resets=" + std::to_string(s.resets);
      }
      return Status::Ok();
    }
    auto mode = ParseMode(line);
    if (!mode) return mode.status();
    return SetMode(*mode);
  }

  ProxyStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  void Wake() {
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
    }
  }

  // Proxy thread: applies a mode switch.
  void Apply(const Mode& mode) {
    mode_ = mode;
    Status st;
    const auto k = mode.kind;
    if (k == Mode::Kind::kReset || k == Mode::Kind::kRefuse) {
      for (Conn& c : conns_) Kill(c);
    }
    if (k == Mode::Kind::kBlackhole) {
      for (Conn& c : conns_) {
        c.up = {};
        c.down = {};
      }
    }
    if (k == Mode::Kind::kRefuse && listen_fd_ >= 0) {
      close(listen_fd_);
      listen_fd_ = -1;
    } else if (k != Mode::Kind::kRefuse && listen_fd_ < 0) {
      auto l = Listen(port_);  // same port: clients come back to where they were
      if (l) {
        listen_fd_ = *l;
      } else {
        st = l.status();
      }
    }
    GetLogger("chaos")->info("mode {}", ModeName(mode));
    std::lock_guard<std::mutex> lock(mu_);
    apply_status_ = st;
  }

  void Kill(Conn& c) {
    if (c.dead) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.resets;
    }
    Reset(c.client);
    Reset(c.upstream);
    c.client = c.upstream = -1;
    c.dead = true;
  }

  void Close(Conn& c) {
    if (c.dead) return;
    if (c.client >= 0) close(c.client);
    if (c.upstream >= 0) close(c.upstream);
    c.client = c.upstream = -1;
    c.dead = true;
  }

  void Reap() {
    std::erase_if(conns_, [](const Conn& c) { return c.dead; });
    std::lock_guard<std::mutex> lock(mu_);
    stats_.active = conns_.size();
  }

  void Accept() {
    while (true) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.accepted;
      }
      if (mode_.kind == Mode::Kind::kReset) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.resets;
        }
        Reset(fd);
        continue;
      }
      Conn c;
      c.client = fd;
      c.upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.upstream < 0 || (connect(c.upstream, reinterpret_cast<sockaddr*>(&target_),
                                     sizeof target_) != 0 && errno != EINPROGRESS)) {
        Close(c);
        continue;
      }
      conns_.push_back(std::move(c));
    }
  }

  // Reads what `from` has into `flow` (or drops it in blackhole mode). False on EOF/error.
  bool ReadInto(int from, Flow& flow, bool downstream, int64_t now) {
    char buf[kReadChunk];
    const ssize_t n = recv(from, buf, sizeof buf, 0);
    if (n == 0) {
      flow.eof = true;
      return true;
    }
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (mode_.kind == Mode::Kind::kBlackhole) {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.bytes_swallowed += static_cast<uint64_t>(n);
      return true;
    }
    Chunk chunk;
    chunk.data.assign(buf, static_cast<size_t>(n));
    // `now` is truncated to the millisecond, so the chunk arrived up to 1 ms after it: one more
    // millisecond makes the hold at least delay_ms.
    chunk.due_ms = now + (mode_.kind == Mode::Kind::kDelay ? mode_.delay_ms + 1 : 0);
    if (downstream && mode_.kind == Mode::Kind::kCorrupt && mode_.corrupt_rate > 0) {
      std::bernoulli_distribution flip(mode_.corrupt_rate);
      uint64_t flipped = 0;
      for (char& b : chunk.data) {
        if (flip(rng_)) {
          b = static_cast<char>(b ^ 0xff);
          ++flipped;
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      stats_.bytes_corrupted += flipped;
    }
    flow.bytes += chunk.data.size();
    flow.queue.push_back(std::move(chunk));
    return true;
  }

  // Writes the due chunks of `flow` to `to`. False on a write error.
  bool WriteFrom(Flow& flow, int to, int64_t now) {
    while (flow.Due(now)) {
      Chunk& c = flow.queue.front();
      const ssize_t n = send(to, c.data.data() + c.off, c.data.size() - c.off, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      c.off += static_cast<size_t>(n);
      flow.bytes -= static_cast<size_t>(n);
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.bytes_forwarded += static_cast<uint64_t>(n);
      }
      if (c.off < c.data.size()) return true;
      flow.queue.pop_front();
    }
    return true;
  }

  void HandleControl(ControlConn& c) {
    char buf[1024];
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) {
      close(c.fd);
      c.fd = -1;
      return;
    }
    c.in.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = c.in.find('\n')) != std::string::npos;) {
      std::string line = c.in.substr(0, nl);
      c.in.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      std::string reply;
      Status st;
      if (line == "stats") {
        st = Control(line, &reply);
      } else if (auto mode = ParseMode(line); mode) {
        Apply(*mode);  // on this thread: SetMode() would wait for ourselves
        std::lock_guard<std::mutex> lock(mu_);
        st = apply_status_;
      } else {
        st = mode.status();
      }
      const std::string out = (st.ok() ? "ok" + (reply.empty() ? "" : " " + reply)
                                       : "error: " + st.message()) + "\n";
      if (send(c.fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) break;
    }
    if (c.in.size() > kMaxControlLine) {
      close(c.fd);
      c.fd = -1;
    }
  }

  void Run() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (quit_) return;
        if (applied_ < requested_) {
          const Mode m = pending_;
          const uint64_t upto = requested_;
          lock.unlock();
          Apply(m);
          lock.lock();
          applied_ = upto;
          cv_.notify_all();
        }
      }
      const int64_t now = NowMs();
      // Index 0: wake, 1: listener, 2: control listener, then controls, then 2 per connection.
      std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0},
                                 {listen_fd_, short(listen_fd_ >= 0 ? POLLIN : 0), 0},
                                 {control_fd_, short(control_fd_ >= 0 ? POLLIN : 0), 0}};
      for (const ControlConn& c : controls_) fds.push_back({c.fd, POLLIN, 0});
      const size_t first_conn = fds.size();
      int64_t next_due = -1;
      auto note_due = [&](const Flow& f) {
        if (!f.queue.empty() && (next_due < 0 || f.queue.front().due_ms < next_due)) {
          next_due = f.queue.front().due_ms;
        }
      };
      for (const Conn& c : conns_) {
        short ce = 0, ue = 0;
        if (!c.up.eof && c.up.bytes < options_.max_buffer_bytes) ce |= POLLIN;
        if (c.down.Due(now)) ce |= POLLOUT;
        if (c.connecting) {
          ue |= POLLOUT;
        } else {
          if (!c.down.eof && c.down.bytes < options_.max_buffer_bytes) ue |= POLLIN;
          if (c.up.Due(now)) ue |= POLLOUT;
        }
        note_due(c.up);
        note_due(c.down);
        fds.push_back({c.client, ce, 0});
        fds.push_back({c.upstream, ue, 0});
      }
      int timeout = 1000;
      if (next_due >= 0) timeout = static_cast<int>(std::clamp<int64_t>(next_due - now, 0, 1000));
      if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
      if (fds[0].revents) {
        uint64_t v;
        if (read(wake_fd_, &v, sizeof v) < 0) {
        }
      }
      if (fds[1].revents & POLLIN) Accept();
      if (fds[2].revents & POLLIN) {
        const int fd = accept4(control_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) controls_.push_back({fd, {}});
      }
      for (size_t i = 3; i < first_conn; ++i) {
        if (fds[i].revents) HandleControl(controls_[i - 3]);
      }
      std::erase_if(controls_, [](const ControlConn& c) { return c.fd < 0; });
      const int64_t t = NowMs();
      // Connections accepted above are not in fds; they are polled next round.
      for (size_t i = 0; first_conn + 2 * i + 1 < fds.size() && i < conns_.size(); ++i) {
        Conn& c = conns_[i];
        if (c.dead) continue;
        const short cr = fds[first_conn + 2 * i].revents;
        const short ur = fds[first_conn + 2 * i + 1].revents;
        if (c.connecting && ur) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c.upstream, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            Close(c);  // the target refuses: so does the proxy (FIN to the client)
            continue;
          }
          c.connecting = false;
        }
        bool ok = true;
        if (cr & (POLLIN | POLLHUP | POLLERR)) ok = ok && ReadInto(c.client, c.up, false, t);
        if (!c.connecting && (ur & (POLLIN | POLLHUP | POLLERR))) {
          ok = ok && ReadInto(c.upstream, c.down, true, t);
        }
        if (ok) ok = WriteFrom(c.down, c.client, t);
        if (ok && !c.connecting) ok = WriteFrom(c.up, c.upstream, t);
        if (!ok) {
          Kill(c);  // a reset on one side is passed on to the other
          continue;
        }
        // Half-close once a side ended and everything it sent was written.
        if (c.up.eof && c.up.queue.empty() && !c.up.shut && !c.connecting) {
          shutdown(c.upstream, SHUT_WR);
          c.up.shut = true;
        }
        if (c.down.eof && c.down.queue.empty() && !c.down.shut) {
          shutdown(c.client, SHUT_WR);
          c.down.shut = true;
        }
        if (c.up.shut && c.down.shut) Close(c);
      }
      Reap();
    }
  }

  ProxyOptions options_;
  sockaddr_in target_{};
  int listen_fd_ = -1;
  int control_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  int control_port_ = 0;
  std::thread thread_;
  // Proxy thread only.
  Mode mode_;
  std::vector<Conn> conns_;
  std::vector<ControlConn> controls_;
  std::mt19937_64 rng_{12345};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool quit_ = false;        // guarded by mu_
  Mode pending_;             // guarded by mu_
  uint64_t requested_ = 0;   // guarded by mu_
  uint64_t applied_ = 0;     // guarded by mu_
  Status apply_status_;      // guarded by mu_
  ProxyStats stats_;         // guarded by mu_
};

Result<std::unique_ptr<Proxy>> Proxy::Start(ProxyOptions options) {
  auto impl = std::make_unique<Impl>();
  SKYNET_RETURN_IF_ERROR(impl->Init(std::move(options)));
  return std::unique_ptr<Proxy>(new Proxy(std::move(impl)));
}

Proxy::Proxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Proxy::~Proxy() = default;
int Proxy::port() const { return impl_->port(); }
int Proxy::control_port() const { return impl_->control_port(); }
Status Proxy::SetMode(const Mode& mode) { return impl_->SetMode(mode); }
Status Proxy::Control(std::string_view line, std::string* reply) {
  return impl_->Control(line, reply);
}
ProxyStats Proxy::stats() const { return impl_->stats(); }

}  // namespace skynet::chaos
