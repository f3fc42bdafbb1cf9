#include "daemon/event_bus.h"

#include <malloc.h>

#include <algorithm>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <zmq.hpp>

#include "daemon/security.h"
#include "daemon/server_socket.h"
#include "pipeline/core/logging.h"
#include "skynet/protocol.h"

namespace skynet::daemon {
namespace {

// After a subscriber left: ZeroMQ frees its queue on its I/O thread; trim once that is done.
constexpr int64_t kTrimDelayUs = 500'000;

// The name of the event's payload field ("motion_started", "line_crossed", ...), for metrics.
const std::string& PayloadName(const v1::Event& event) {
  static const std::string kNone = "none";
  static const google::protobuf::OneofDescriptor* const payload =
      v1::Event::descriptor()->FindOneofByName("payload");
  const google::protobuf::FieldDescriptor* field =
      v1::Event::GetReflection()->GetOneofFieldDescriptor(event, payload);
  return field != nullptr ? field->name() : kNone;
}

}  // namespace

v1::JournalStatus JournalStatusOf(const Journal& journal) {
  const JournalHealth h = journal.health();
  v1::JournalStatus s;
  s.set_state(h.failing ? v1::JOURNAL_STATE_FAILING : v1::JOURNAL_STATE_OK);
  s.set_detail(h.reason);
  s.set_first_seq_not_journaled(h.first_seq_not_journaled);
  s.set_last_seq_not_journaled(h.last_seq_not_journaled);
  s.set_events_not_journaled(h.events_not_journaled);
  s.set_damaged_segments(static_cast<uint32_t>(journal.recovery().damaged_segments));
  s.set_corrupt_events(journal.recovery().corrupt_seqs);
  return s;
}

EventBus::EventBus(const EventBusOptions& options, HeartbeatSource source, Clock* clock)
    : options_(options),
      heartbeat_source_(std::move(source)),
      clock_(clock),
      epoch_(options.epoch != 0 ? options.epoch : static_cast<uint64_t>(clock->NowWallUs())) {}

Result<std::unique_ptr<EventBus>> EventBus::Create(const EventBusOptions& options,
                                                   HeartbeatSource heartbeat_source,
                                                   Clock* clock) {
  std::unique_ptr<EventBus> bus(new EventBus(options, std::move(heartbeat_source), clock));
  if (options.journal != nullptr) {
    bus->epoch_ = std::max(bus->epoch_, options.journal->LastEpoch() + 1);
    SKYNET_RETURN_IF_ERROR(options.journal->StartEpoch(bus->epoch_));
  }
  Result<std::unique_ptr<ServerSocket>> socket = ServerSocket::Bind(
      {.kind = ServerSocket::Kind::kPublisher,
       .endpoint = options.endpoint,
       .config_key = "event_endpoint",
       .domain = "feed",
       // Subscription messages are the only input of a PUB socket.
       .limits = {.linger_ms = 2000, .max_message_bytes = 4096, .send_hwm = options.send_hwm},
       .security = options.security});
  if (!socket) return socket.status();
  bus->socket_ = std::move(socket).value();
  if (options.security != nullptr) {
    options.security->SetAdmission("feed", [b = bus.get()](bool allowed) {
      return b->Admit(allowed);
    });
  }
  // The socket is handed to the bus thread, which uses it exclusively from now on.
  bus->thread_ = std::thread([b = bus.get()] { b->Run(); });
  GetLogger("events")->info("event feed on {} (node {}, epoch {})", options.endpoint,
                            options.node_id, bus->epoch_);
  return bus;
}

EventBus::~EventBus() { Stop(); }

std::string EventBus::Admit(bool allowed) {
  if (!allowed) {
    refused_other_.fetch_add(1);
    return "";
  }
  const uint64_t cap = static_cast<uint64_t>(std::max(0, options_.max_subscribers));
  const uint64_t refused = refused_.load() + refused_other_.load();
  const uint64_t gone = disconnects_.load(), in = admitted_.load();
  const uint64_t left = gone > refused ? gone - refused : 0;
  const uint64_t live = in > left ? in - left : 0;
  if (cap > 0 && live >= cap) {
    refused_.fetch_add(1);
    return "subscriber limit reached (feed.max_subscribers " + std::to_string(cap) + ")";
  }
  admitted_.fetch_add(1);
  return "";
}

void EventBus::Publish(v1::Event event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    pending_.push_back(std::move(event));
  }
  cv_.notify_one();
}

uint64_t EventBus::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

FeedStats EventBus::stats() const {
  FeedStats s;
  s.node_id = options_.node_id;
  s.epoch = epoch_;
  s.last_seq = last_seq_.load();
  s.queued = queued();
  s.dropped = dropped_.load();
  s.send_errors = send_errors_.load();
  s.journal = options_.journal != nullptr;
  s.journal_errors = journal_errors_.load();
  if (options_.journal != nullptr) {
    s.journal_bytes = options_.journal->total_bytes();
    s.journal_fsync_seconds = options_.journal->fsync_seconds();
    s.journal_fsync_errors = options_.journal->fsync_errors();
    s.journal_status = JournalStatusOf(*options_.journal);
  } else {
    s.journal_status.set_state(v1::JOURNAL_STATE_DISABLED);
  }
  s.subscribers = subscribers_.load();
  s.max_subscribers = static_cast<uint64_t>(std::max(0, options_.max_subscribers));
  s.subscribers_refused = refused_.load();
  s.send_hwm = static_cast<uint64_t>(std::max(0, options_.send_hwm));
  std::lock_guard<std::mutex> lock(counts_mu_);
  s.events = events_by_type_;
  s.crossings = crossings_;
  return s;
}

void EventBus::Stop() {
  if (options_.security != nullptr) options_.security->SetAdmission("feed", {});
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  socket_.reset();
}

void EventBus::Run() {
  zmq::socket_t& socket = socket_->socket();
  auto log = GetLogger("events");
  const int64_t hb_us = int64_t{options_.heartbeat_interval_ms} * 1000;
  int64_t next_heartbeat = clock_->NowMonotonicUs() + hb_us;
  std::deque<v1::Event> batch;
  // Serialized events of the current batch; kept across batches to reuse their buffers.
  std::vector<std::string> topics, bytes;
  std::vector<Journal::Entry> entries;
  // The journal's state as announced on the feed. FAILING is announced at the first failed
  // batch; OK only once appends have kept succeeding for kJournalOkAfterUs (a batch at least
  // that long after the first good one, none failing in between), so that a nearly full disk
  // does not flip the state, with an event and a log line, at every batch.
  constexpr int64_t kJournalOkAfterUs = 1'000'000;
  // State changes are logged at most once per this, the others counted.
  constexpr int64_t kJournalLogEveryUs = 10'000'000;
  bool journal_failing = false;
  int64_t journal_good_since_us = -1;  // first good batch while FAILING (-1: none yet)
  int64_t journal_logged_us = -kJournalLogEveryUs;
  uint64_t journal_changes_not_logged = 0;
  std::deque<v1::Event> journal_events;  // JournalStatus events to publish after a batch
  int64_t trim_at_us = 0;  // when to give freed subscriber queues back (0: nothing to do)

  // Stamps, journals (one append for the whole batch) and then publishes `events`.
  auto publish = [&](std::deque<v1::Event>& events) {
    const size_t n = events.size();
    if (topics.size() < n) {
      topics.resize(n);
      bytes.resize(n);
    }
    uint64_t seq = last_seq_.load();
    const int64_t now_us = clock_->NowWallUs();
    for (size_t i = 0; i < n; ++i) {
      v1::Event& ev = events[i];
      ++seq;
      protocol::StampEnvelope(options_.node_id, epoch_, seq, &ev);
      ev.set_publish_time_us(now_us);
      if (ev.has_heartbeat()) ev.mutable_heartbeat()->set_last_seq(seq - 1);
      topics[i] = protocol::TopicFor(ev);
      bytes[i].clear();
      ev.SerializeToString(&bytes[i]);
    }
    if (options_.journal != nullptr) {
      entries.clear();
      for (size_t i = 0; i < n; ++i) entries.push_back({seq - n + 1 + i, bytes[i]});
      const Status st = options_.journal->Append(entries);
      if (!st.ok()) {
        // Still published: a live subscriber gets them, only replay cannot.
        if (journal_errors_++ % 1000 == 0) {
          log->error("{} ({} failed batches so far)", st.message(), journal_errors_.load());
        }
      }
      const int64_t mono_us = clock_->NowMonotonicUs();
      bool change = false;
      if (!st.ok()) {
        change = !journal_failing;
        journal_good_since_us = -1;
      } else if (journal_failing) {
        if (journal_good_since_us < 0) journal_good_since_us = mono_us;
        change = mono_us - journal_good_since_us >= kJournalOkAfterUs;
      }
      if (change) {  // say so on the feed, right after this batch
        journal_failing = !st.ok();
        journal_good_since_us = -1;
        journal_events.emplace_back();
        *journal_events.back().mutable_journal_status() = JournalStatusOf(*options_.journal);
        journal_events.back().set_capture_time_us(now_us);
        const v1::JournalStatus& js = journal_events.back().journal_status();
        if (mono_us - journal_logged_us < kJournalLogEveryUs) {
          ++journal_changes_not_logged;
        } else {
          journal_logged_us = mono_us;
          const std::string also =
              journal_changes_not_logged == 0
                  ? std::string()
                  : fmt::format(" ({} earlier changes not logged)", journal_changes_not_logged);
          journal_changes_not_logged = 0;
          if (journal_failing) {
            log->error("journal failing from seq {}: {}; events are published but not journaled{}",
                       js.first_seq_not_journaled(), js.detail(), also);
          } else {
            log->warn(
                "journal works again: seqs {}..{} were not journaled ({} events this "
                "epoch){}",
                js.first_seq_not_journaled(), js.last_seq_not_journaled(),
                js.events_not_journaled(), also);
          }
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(counts_mu_);
      for (size_t i = 0; i < n; ++i) {
        const v1::Event& ev = events[i];
        ++events_by_type_[{ev.camera_id(), PayloadName(ev)}];
        if (ev.has_line_crossed()) {
          const v1::LineCrossed& c = ev.line_crossed();
          ++crossings_[{ev.camera_id(), c.line_id(), c.direction() < 0 ? -1 : 1}];
        }
      }
    }
    for (size_t i = 0; i < n; ++i) {
      try {
        socket.send(zmq::buffer(topics[i]), zmq::send_flags::sndmore);
        socket.send(zmq::buffer(bytes[i]), zmq::send_flags::none);
      } catch (const zmq::error_t& e) {
        if (send_errors_++ == 0) log->error("publish failed: {}", e.what());
      }
      last_seq_.store(seq - n + 1 + i);
    }
  };

  while (true) {
    bool stop = false;
    rounds_.fetch_add(1);
    const uint64_t peers = socket_->PollPeers();
    disconnects_.store(socket_->disconnects());
    // A subscriber that left frees its queue (on ZeroMQ's I/O thread, a little later): hand the
    // memory back to the system rather than keep it in the allocator's free lists.
    const int64_t now_us = clock_->NowMonotonicUs();
    if (peers < subscribers_.exchange(peers)) trim_at_us = now_us + kTrimDelayUs;
    if (trim_at_us != 0 && now_us >= trim_at_us) {
      trim_at_us = 0;
      malloc_trim(0);
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      waiting_.store(true);
      if (hb_us > 0) {
        const int64_t wait_us = std::max<int64_t>(0, next_heartbeat - clock_->NowMonotonicUs());
        cv_.wait_for(lock, std::chrono::microseconds(wait_us),
                     [&] { return stopping_ || !pending_.empty(); });
      } else {
        cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      }
      waiting_.store(false);
      batch.swap(pending_);
      stop = stopping_;
    }
    if (!batch.empty()) publish(batch);
    batch.clear();
    while (!journal_events.empty()) {  // until journaling stops changing (usually one)
      batch.swap(journal_events);
      publish(batch);
      batch.clear();
    }
    if (stop) break;
    if (hb_us > 0 && clock_->NowMonotonicUs() >= next_heartbeat) {
      batch.emplace_back();
      auto* h = batch.back().mutable_heartbeat();
      if (heartbeat_source_) {
        const HeartbeatInfo info = heartbeat_source_();
        h->set_cameras_online(info.cameras_online);
        h->set_cameras_total(info.cameras_total);
      }
      batch.back().set_capture_time_us(clock_->NowWallUs());
      publish(batch);
      batch.clear();
      while (!journal_events.empty()) {
        batch.swap(journal_events);
        publish(batch);
        batch.clear();
      }
      next_heartbeat = clock_->NowMonotonicUs() + hb_us;
    }
  }
  if (send_errors_ > 1) log->error("{} publish errors in total", send_errors_.load());
}

}  // namespace skynet::daemon
