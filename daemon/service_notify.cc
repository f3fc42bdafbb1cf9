#include "daemon/service_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace skynet::daemon {

ServiceNotifier ServiceNotifier::FromEnvironment() {
  ServiceNotifier n;
  const char* socket = std::getenv("NOTIFY_SOCKET");
  n.enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  // > 0: WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process.
  if (n.enabled_ && sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0) {
    n.watchdog_ = std::chrono::microseconds(usec);
  }
  return n;
}

void ServiceNotifier::Send(const std::string& message) const {
  // A failed notification is not the daemon's error: systemd times the service out if READY or
  // the watchdog never arrives, which is the right outcome.
  if (enabled_) (void)sd_notify(/*unset_environment=*/0, message.c_str());
}

// STATUS= is one line: newlines would start another assignment.
static std::string OneLine(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

void ServiceNotifier::Ready(std::string_view status) const {
  Send("READY=1\nSTATUS=" + OneLine(status));
}
void ServiceNotifier::Status(std::string_view status) const { Send("STATUS=" + OneLine(status)); }
void ServiceNotifier::Reloading() const { Send("RELOADING=1\nSTATUS=reloading configuration"); }
void ServiceNotifier::Stopping() const { Send("STOPPING=1\nSTATUS=stopping"); }
void ServiceNotifier::WatchdogPing() const { Send("WATCHDOG=1"); }

void LivenessMonitor::Add(std::string name, Probe probe) {
  entries_.push_back(Entry{std::move(name), std::move(probe), {}, false});
}

skynet::Status LivenessMonitor::Check() {
  std::string stuck;
  for (Entry& e : entries_) {
    std::vector<Sample> now = e.probe();
    if (e.primed && now.size() == e.last.size()) {
      for (size_t i = 0; i < now.size(); ++i) {
        const bool moved = now[i].progress != e.last[i].progress;
        if (moved || now[i].idle || e.last[i].idle) continue;
        if (!stuck.empty()) stuck += ", ";
        stuck += now.size() > 1 ? e.name + " " + std::to_string(i) : e.name;
      }
    }
    e.last = std::move(now);
    e.primed = true;
  }
  if (stuck.empty()) return skynet::Status::Ok();
  return skynet::Status::DeadlineExceeded(stuck +
                                          " made no progress since the last watchdog check");
}

}  // namespace skynet::daemon
