// ReplayServer: serves "the events after (epoch, seq)" from the journal on a ZeroMQ ROUTER, so
// that subscribers can repair gaps (protocol: ReplayRequest/ReplayResponse in events.proto,
// docs/integration.md).
//
// One internal thread owns the socket and reads the journal; the event bus thread is never
// involved, so a storm of repair requests cannot slow the live feed. Responses are paced by a
// token bucket (events per second, burst of one second) shared by all clients. Requests are
// answered in arrival order; each answer carries at most max_events_per_response events.
// The routing envelope (every frame before the payload) is echoed, so relays can forward.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "daemon/journal.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/status.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

class Security;
class ServerSocket;

struct ReplayServerOptions {
  // tcp://, ipc:// or inproc:// endpoint to bind.
  std::string endpoint;
  // This node: requests naming another node are refused.
  std::string node_id = "node-1";
  // Token bucket: events per second over all clients; bursts of up to one second's worth.
  double max_events_per_second = 50000;
  // Most events in one response, and about the most payload bytes.
  uint32_t max_events_per_response = 1000;
  size_t max_response_bytes = 4 << 20;
  // Larger requests are dropped by ZeroMQ (ZMQ_MAXMSGSIZE); a ReplayRequest is tiny.
  int64_t max_request_bytes = 4096;
  // Borrowed, may be null (no authentication: tests, inproc). Must outlive the server.
  Security* security = nullptr;
};

// Builds the serialized ReplayResponse for `request` from `journal` (what the server sends,
// without pacing). *events is set to the number of events in it. Exposed for tests and fuzzing.
std::string BuildReplayResponse(const Journal& journal, const v1::ReplayRequest& request,
                                const ReplayServerOptions& options, size_t* events);

class ReplayServer {
 public:
  // Binds and starts serving `journal` (borrowed; must outlive the server). Fails if the
  // endpoint cannot be bound.
  static Result<std::unique_ptr<ReplayServer>> Create(const ReplayServerOptions& options,
                                                      const Journal* journal,
                                                      Clock* clock = SystemClock::Get());
  ~ReplayServer();  // Stop()
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;
  void Stop();

  uint64_t requests() const { return requests_.load(); }
  uint64_t events_sent() const { return events_sent_.load(); }
  // Time spent waiting for tokens, microseconds (how much the rate limit held replay back).
  uint64_t throttled_us() const { return throttled_us_.load(); }

 private:
  ReplayServer(const ReplayServerOptions& options, const Journal* journal, Clock* clock);
  void Run();

  const ReplayServerOptions options_;
  const Journal* const journal_;
  Clock* const clock_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> events_sent_{0};
  std::atomic<uint64_t> throttled_us_{0};
  std::unique_ptr<ServerSocket> socket_;
  std::thread thread_;
};

}  // namespace skynet::daemon
