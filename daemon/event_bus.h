// EventBus: numbers every event and publishes it on the ZeroMQ feed.
//
// Any thread may call Publish(); one internal thread owns the PUB socket, assigns the per-node
// sequence number (contiguous from 1 within an epoch), stamps node id, epoch, event id and publish
// time, appends the batch to the journal (if any) and then sends each event as two frames:
// [topic][Event protobuf] (topic, envelope and event id: skynet/protocol.h). An event is never
// published before it is journaled; when the journal fails (disk full) events are still published
// and a JournalStatus event says so, and another one once journaling has worked again for a
// second (no flapping on a nearly full disk). The same thread sends a Heartbeat every
// `heartbeat_interval_ms`. Accepted events are never dropped: the hand-over queue is unbounded and
// its depth is reported in stats. What each subscriber can hold is bounded (send_hwm) and so is
// their number (max_subscribers, enforced at the ZAP handshake); both are in stats().
//
//   auto bus = EventBus::Create({.node_id = "n1", .endpoint = "tcp://127.0.0.1:5556"});
//   (*bus)->Publish(std::move(event));   // camera_id and payload set by the caller
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "daemon/event_sink.h"
#include "daemon/journal.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/status.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

class Security;
class ServerSocket;

struct EventBusOptions {
  // Identifies this node in every event.
  std::string node_id = "node-1";
  // ZeroMQ PUB endpoint (tcp://, ipc:// or inproc://).
  std::string endpoint = "tcp://127.0.0.1:5556";
  // Heartbeat interval in milliseconds; 0 disables heartbeats.
  int heartbeat_interval_ms = 1000;
  // Outgoing high-water mark per subscriber, in events: what a subscriber that does not read can
  // hold in the daemon (about 200 bytes each); beyond it ZeroMQ drops that subscriber's events
  // (it sees a seq gap). Config feed.send_hwm.
  int send_hwm = 10000;
  // Subscribers connected at once; more are refused at the handshake (through the Security's
  // admission, so only with a Security), counted and audited. 0: no limit. Config
  // feed.max_subscribers.
  int max_subscribers = 64;
  // Epoch of this run; 0 = now in microseconds since the Unix epoch. With a journal, the epoch
  // is raised if needed to be newer than every journaled epoch (a clock stepped back).
  uint64_t epoch = 0;
  // Borrowed, may be null; must outlive the bus. Written only by the bus thread.
  Journal* journal = nullptr;
  // Borrowed, may be null (no ZAP, no CurveZMQ: tests). Must outlive the bus.
  Security* security = nullptr;
};

// The journal's health and what Open() found, as status and events report it.
v1::JournalStatus JournalStatusOf(const Journal& journal);

class EventBus final : public EventFeed {
 public:
  struct HeartbeatInfo {
    uint32_t cameras_online = 0;
    uint32_t cameras_total = 0;
  };
  using HeartbeatSource = std::function<HeartbeatInfo()>;

  // Binds the PUB socket and starts the publishing thread. Fails if the endpoint cannot be bound.
  static Result<std::unique_ptr<EventBus>> Create(const EventBusOptions& options,
                                                  HeartbeatSource heartbeat_source = {},
                                                  Clock* clock = SystemClock::Get());
  ~EventBus() override;  // Stop()
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // Queues `event` for publication. Sets envelope fields on the bus thread. Never blocks long.
  void Publish(v1::Event event) override;

  // Publishes everything already queued, then closes the socket and joins the thread.
  void Stop();

  uint64_t epoch() const { return epoch_; }
  const std::string& node_id() const { return options_.node_id; }
  // Sequence number of the last event sent (0 before the first).
  uint64_t last_seq() const { return last_seq_.load(); }
  uint64_t queued() const;
  // Batches the journal refused (disk full...); their events were still published.
  uint64_t journal_errors() const { return journal_errors_.load(); }
  // Position and counters, the journal's included.
  FeedStats stats() const override;
  // For the systemd watchdog: rounds of the publishing thread's loop, and whether it waits for
  // events (idle is not hung). Without heartbeats an idle bus does not go round.
  struct Progress {
    uint64_t rounds = 0;
    bool idle = false;
  };
  Progress progress() const { return {rounds_.load(), waiting_.load()}; }

 private:
  EventBus(const EventBusOptions& options, HeartbeatSource source, Clock* clock);
  void Run();

  const EventBusOptions options_;
  const HeartbeatSource heartbeat_source_;
  Clock* const clock_;
  uint64_t epoch_;
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<uint64_t> journal_errors_{0};
  std::atomic<uint64_t> send_errors_{0};
  std::atomic<uint64_t> dropped_{0};  // Publish() after Stop()
  std::atomic<uint64_t> rounds_{0};
  std::atomic<bool> waiting_{false};
  std::atomic<uint64_t> subscribers_{0};
  // Admission (Security's ZAP thread): connections admitted, refused at the cap and refused by
  // the security rules, and the disconnects seen by the bus thread; live subscribers =
  // admitted - (disconnects - refusals). Connections that close before their handshake make it
  // lenient, never stricter.
  std::string Admit(bool allowed);
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> refused_other_{0};
  std::atomic<uint64_t> disconnects_{0};
  mutable std::mutex counts_mu_;  // events_by_type_, crossings_ (written by the bus thread)
  std::map<std::pair<std::string, std::string>, uint64_t> events_by_type_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> crossings_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::Event> pending_;
  bool stopping_ = false;

  std::unique_ptr<ServerSocket> socket_;
  std::thread thread_;
};

}  // namespace skynet::daemon
