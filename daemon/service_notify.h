// ServiceNotifier: skynetd's side of systemd's notify protocol (Type=notify, WatchdogSec=).
//
// systemd passes NOTIFY_SOCKET (and WATCHDOG_USEC) in the environment; without NOTIFY_SOCKET
// every call is a no-op, so the daemon runs the same outside systemd. Messages go through
// libsystemd's sd_notify(): READY=1 once the cameras are started, STATUS= one-line summaries,
// RELOADING=1/READY=1 around a reload, STOPPING=1 at shutdown, WATCHDOG=1 only while
// LivenessMonitor says every watched thread makes progress (a hung analytics worker or event bus
// thread stops the pings, and systemd restarts the daemon).
//
// Threads: any thread may call the notifier (sd_notify sends one datagram per call). The
// liveness monitor is called from the main thread only.
//
//   ServiceNotifier notify = ServiceNotifier::FromEnvironment();
//   notify.Ready("3 cameras starting");
//   if (monitor.Check().ok()) notify.WatchdogPing();
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/status.h"

namespace skynet::daemon {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC (honouring WATCHDOG_PID) from the environment.
  static ServiceNotifier FromEnvironment();

  // True when systemd (or a test) listens on NOTIFY_SOCKET.
  bool enabled() const { return enabled_; }
  // The watchdog interval systemd expects pings within; zero: no watchdog.
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

  void Ready(std::string_view status) const;
  void Status(std::string_view status) const;
  void Reloading() const;
  void Stopping() const;
  void WatchdogPing() const;

 private:
  void Send(const std::string& message) const;

  bool enabled_ = false;
  std::chrono::microseconds watchdog_{0};
};

// LivenessMonitor: decides whether the daemon's threads make progress, for the watchdog.
// Each probe returns a progress sample: a counter the thread bumps each time round its loop, and
// whether it is idle (blocked waiting for work, which is not a hang). A probe fails when its
// counter has not moved since the previous Check() and it was not idle at either check.
class LivenessMonitor {
 public:
  struct Sample {
    uint64_t progress = 0;
    bool idle = false;
  };
  using Probe = std::function<std::vector<Sample>()>;

  // `name` appears in errors ("analytics worker 2 made no progress ..."); one probe may report
  // several threads (one sample each, named "<name> <index>" when there are several).
  void Add(std::string name, Probe probe);

  // OK when every thread progressed or was idle; otherwise an error naming the stuck threads.
  // The first call only records the samples.
  skynet::Status Check();

 private:
  struct Entry {
    std::string name;
    Probe probe;
    std::vector<Sample> last;
    bool primed = false;
  };
  std::vector<Entry> entries_;
};

}  // namespace skynet::daemon
