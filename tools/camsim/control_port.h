// ControlPort: a line-protocol TCP control channel on loopback, for scripting faults.
//
// Each line a client sends ("stall cam1\n") is handed to the handler, whose answer is sent
// back as one line ("ok\n" or "error: ...\n"). One thread polls the listener and every client;
// the handler runs on that thread, one line at a time. Lines longer than 4 KiB close the
// client. Used by skynet-camsim's --control-port.
//
//   auto port = ControlPort::Start(0, [&](std::string_view line) { return Reply(line); });
//   (*port)->port();  // the bound port
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "pipeline/core/status.h"

namespace skynet::camsim {

class ControlPort {
 public:
  using Handler = std::function<std::string(std::string_view line)>;

  // Listens on 127.0.0.1:`port` (0: a free port) and starts the thread. Unavailable if the
  // port cannot be bound.
  static Result<std::unique_ptr<ControlPort>> Start(int port, Handler handler);
  ~ControlPort();  // closes every connection and joins the thread
  ControlPort(const ControlPort&) = delete;
  ControlPort& operator=(const ControlPort&) = delete;

  int port() const { return port_; }

 private:
  ControlPort() = default;
  void Run();

  Handler handler_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: wakes the thread to stop
  int port_ = 0;
  std::thread thread_;
};

}  // namespace skynet::camsim
