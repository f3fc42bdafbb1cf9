// Loopback sockets for ingest tests: a port nothing listens on and a listener that never
// answers. GStreamer-free (usable by `unit` tests). Not thread-safe; one test thread each.
#pragma once

namespace skynet::ingest::testing {

// A TCP port on 127.0.0.1 that nothing listens on: a connect is refused. The port stays bound
// (never listening) for the object's lifetime, so no other test running at the same time can be
// handed it and start listening there.
class ClosedPort {
 public:
  ClosedPort();
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A TCP listener on 127.0.0.1 that completes handshakes but never answers (a hung camera).
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace skynet::ingest::testing
