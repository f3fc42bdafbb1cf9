#include "daemon/app.h"

#include <signal.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "daemon/control_server.h"
#include "daemon/event_bus.h"
#include "daemon/follow.h"
#include "daemon/frame_source.h"
#include "daemon/journal.h"
#include "daemon/metrics_report.h"
#include "daemon/metrics_server.h"
#include "daemon/record_collector.h"
#include "daemon/record_store.h"
#include "daemon/replay_server.h"
#include "daemon/security.h"
#include "daemon/service_notify.h"
#include "daemon/supervisor.h"
#include "pipeline/core/logging.h"
#include "pipeline/ingest/camera_session.h"
#include "pipeline/ingest/start_limiter.h"
#include "skynet/keys.h"

namespace skynet::daemon {
namespace {

using namespace std::chrono_literals;

// The threads whose progress feeds the systemd watchdog: the analytics workers and the event
// bus's publishing thread.
void AddLivenessProbes(LivenessMonitor* liveness, const Supervisor* supervisor,
                       const EventBus* bus) {
  liveness->Add("analytics worker", [supervisor] {
    std::vector<LivenessMonitor::Sample> samples;
    for (const WorkerPool::Progress& p : supervisor->WorkerProgress()) {
      samples.push_back({p.passes, p.idle});
    }
    return samples;
  });
  liveness->Add("event bus", [bus] {
    const EventBus::Progress p = bus->progress();
    return std::vector<LivenessMonitor::Sample>{{p.rounds, p.idle}};
  });
}

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGPIPE);
  return set;
}

}  // namespace

void BlockSignals() {
  sigset_t set = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int CheckConfig(const std::string& path) {
  auto config = LoadConfigFile(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  // What start refuses beyond the file itself: the server key (readable by group or others, not
  // a key pair), by the same function start uses.
  if (!config->security.server_key_file.empty()) {
    Result<keys::KeyPair> pair = keys::LoadKeyPair(config->security.server_key_file);
    if (!pair.ok()) {
      std::fprintf(stderr, "%s: security.server_key_file: %s\n", path.c_str(),
                   ValidUtf8(pair.status().message()).c_str());
      return 1;
    }
  }
  std::printf("%s: ok: node %s, %zu cameras\n", path.c_str(), config->node_id.c_str(),
              config->cameras.size());
  return 0;
}

namespace {

// The node's parts, in construction order (they are destroyed in reverse): every socket lives in
// the security's context, the journal outlives the bus that writes to it, the supervisor
// publishes into the bus, the control and metrics servers call the supervisor.
struct Node {
  std::unique_ptr<Security> security;
  std::unique_ptr<Journal> journal;
  std::atomic<Supervisor*> supervisor_ptr{nullptr};  // for the bus's heartbeats
  std::unique_ptr<EventBus> bus;
  std::unique_ptr<ReplayServer> replay;
  std::unique_ptr<RecordWriter> record_writer;  // null: records not stored
  std::unique_ptr<RecordCollector> records;     // null: no records; else between cameras and bus
  std::unique_ptr<RecordStore> record_reader;   // the control thread's connection, for search
  CameraSessionFactory sessions;  // the real parts behind the supervisor's seams
  std::unique_ptr<Supervisor> supervisor;
  std::unique_ptr<ControlServer> control;
  std::unique_ptr<MetricsServer> metrics;
};

Status OpenJournal(const JournalConfig& config, Node* node) {
  auto log = GetLogger("daemon");
  if (config.dir.empty()) {
    log->warn("no journal (journal.dir): missed events cannot be replayed");
    return Status::Ok();
  }
  JournalOptions jo;
  jo.dir = config.dir;
  jo.fsync = config.fsync;
  jo.max_bytes = static_cast<uint64_t>(config.max_bytes);
  jo.max_age_hours = config.max_age_hours;
  jo.segment_bytes = static_cast<uint64_t>(config.segment_bytes);
  SKYNET_ASSIGN_OR_RETURN(node->journal, Journal::Open(jo));
  const JournalRecovery& r = node->journal->recovery();
  log->info("journal {}: {} segments, {} events recovered", jo.dir, r.segments, r.records);
  if (r.moved_segments > 0 || r.damaged_last_files > 0) {
    log->warn(
        "journal {}: {} damaged segments newly moved aside as *.seg.damaged and {} damaged "
        "*.last files as *.last.damaged",
        jo.dir, r.moved_segments, r.damaged_last_files);
  }
  if (r.damaged_segments > 0) {
    log->info(
        "journal {}: {} damaged segments kept as *.seg.damaged ({} bytes unreadable, {} "
        "intact events kept from them); {} events lost to the damage are replayed as "
        "CORRUPT gaps",
        jo.dir, r.damaged_segments, r.damaged_bytes, r.damaged_records, r.corrupt_seqs);
  }
  return Status::Ok();
}

// The vehicle records: the collector between the cameras and the feed, and the store's writer.
// A database that cannot be opened is logged (naming the path) and the node runs on: its records
// are published but counted as lost for the store.
void OpenRecords(const Config& config, Node* node) {
  auto log = GetLogger("daemon");
  if (!config.records.enabled) return;
  if (!config.records.path.empty()) {
    RecordStoreOptions ro;
    ro.path = config.records.path;
    ro.retention_days = config.records.retention_days;
    ro.max_records = config.records.max_records;
    Result<std::unique_ptr<RecordStore>> store = RecordStore::Open(ro);
    if (store.ok()) {
      log->info("records database {}", ro.path);
    } else {
      log->error("{}; running without storing records (they are counted as lost)",
                 store.status().message());
    }
    if (store.ok()) {
      auto reader = RecordStore::Open(ro);
      if (reader.ok()) node->record_reader = std::move(reader).value();
    }
    RecordWriterOptions wo;
    wo.max_queued = static_cast<size_t>(config.records.max_queued);
    node->record_writer = std::make_unique<RecordWriter>(
        store.ok() ? std::move(store).value() : nullptr, wo);
  }
  node->records = std::make_unique<RecordCollector>(config.node_id, node->bus.get(),
                                                    node->record_writer.get());
}

// A search of the record store (on the control thread).
v1::Response Search(RecordStore* reader, const v1::SearchRequest& s) {
  v1::Response response;
  if (!reader) {
    response.set_error("no record store: set records.path (docs/evidence.md)");
    return response;
  }
  RecordQuery q;
  q.from_us = s.from_us();
  q.to_us = s.to_us();
  q.cameras.assign(s.camera_ids().begin(), s.camera_ids().end());
  q.vehicle_class = s.vehicle_class();
  q.colour = s.colour();
  q.line_id = s.line_id();
  q.direction = s.direction() > 0 ? 1 : s.direction() < 0 ? -1 : 0;
  q.min_speed_kmh = s.min_speed_kmh();
  const int limit = s.limit() == 0 ? 100 : static_cast<int>(std::min<uint32_t>(s.limit(), 1000));
  q.limit = limit + 1;  // one more tells whether another page follows
  q.offset = static_cast<int64_t>(s.offset());
  Result<std::vector<StoredRecord>> found = reader->Query(q);
  if (!found.ok()) {
    response.set_error(found.status().message());
    return response;
  }
  response.set_ok(true);
  v1::SearchResponse* out = response.mutable_search();
  out->set_more(static_cast<int>(found->size()) > limit);
  for (int i = 0; i < static_cast<int>(found->size()) && i < limit; ++i) {
    StoredRecord& r = (*found)[i];
    v1::SearchHit* hit = out->add_records();
    hit->set_node_id(std::move(r.node_id));
    hit->set_camera_id(std::move(r.camera_id));
    *hit->mutable_record() = std::move(r.record);
  }
  return response;
}

// Follow a record across cameras (on the control thread).
v1::Response FollowRecord(RecordStore* reader, const CameraMap& map, const v1::FollowRequest& f) {
  v1::Response response;
  if (!reader) {
    response.set_error("no record store: set records.path (docs/evidence.md)");
    return response;
  }
  Result<v1::FollowResponse> trail = Follow(reader, map, f);
  if (!trail.ok()) {
    response.set_error(trail.status().message());
    return response;
  }
  response.set_ok(true);
  *response.mutable_follow() = std::move(trail).value();
  return response;
}

// Security, journal, feed and replay: the parts the cameras publish through.
Status OpenFeed(const Config& config, Node* node) {
  SecurityOptions security_options;
  security_options.server_key_file = config.security.server_key_file;
  security_options.audit_log = config.control.audit_log;  // refused connections
  for (const ClientKeyConfig& c : config.security.clients) {
    security_options.clients.push_back(ClientKey{c.name, c.public_key, c.role});
  }
  SKYNET_ASSIGN_OR_RETURN(node->security, Security::Create(security_options));
  SKYNET_RETURN_IF_ERROR(OpenJournal(config.journal, node));

  EventBusOptions bus_options;
  bus_options.journal = node->journal.get();
  bus_options.security = node->security.get();
  bus_options.node_id = config.node_id;
  bus_options.endpoint = config.event_endpoint;
  bus_options.heartbeat_interval_ms = config.heartbeat_interval_ms;
  bus_options.send_hwm = config.feed.send_hwm;
  bus_options.max_subscribers = config.feed.max_subscribers;
  std::atomic<Supervisor*>* sup = &node->supervisor_ptr;
  SKYNET_ASSIGN_OR_RETURN(node->bus, EventBus::Create(bus_options, [sup] {
                            Supervisor* s = sup->load();
                            return s ? s->Heartbeat() : EventBus::HeartbeatInfo{};
                          }));
  if (!config.replay_endpoint.empty() && node->journal) {
    ReplayServerOptions ro;
    ro.endpoint = config.replay_endpoint;
    ro.node_id = config.node_id;
    ro.max_events_per_second = config.replay_max_events_per_second;
    ro.security = node->security.get();
    SKYNET_ASSIGN_OR_RETURN(node->replay, ReplayServer::Create(ro, node->journal.get()));
  }
  OpenRecords(config, node);
  return Status::Ok();
}

// One Prometheus scrape of the running node (daemon/metrics_report.h).
std::string Scrape(const Node& node) {
  NodeExtras extras;
  if (node.replay) {
    extras.replay = true;
    extras.replay_requests = node.replay->requests();
    extras.replay_events_sent = node.replay->events_sent();
  }
  extras.control_requests = node.control->requests_by_command();
  extras.control_replies_dropped = node.control->replies_dropped();
  extras.control_replies_delayed = node.control->replies_delayed();
  return RenderMetrics(node.supervisor->Stats(), extras, ReadProcessFigures());
}

// Cameras, control and metrics. A metrics endpoint that cannot be bound is logged and the node
// runs without it: cameras and events matter more than their figures.
Status StartServices(const Config& config, Node* node) {
  ingest::SetStartRateLimit(config.ingest.start_rate_per_second, config.ingest.start_burst);
  SKYNET_ASSIGN_OR_RETURN(node->supervisor,
                          Supervisor::Create(config, &node->sessions,
                                             node->records ? static_cast<EventFeed*>(
                                                                 node->records.get())
                                                           : node->bus.get()));
  node->supervisor_ptr.store(node->supervisor.get());

  ControlServerOptions control_options;
  control_options.endpoint = config.control_endpoint;
  control_options.security = node->security.get();
  control_options.audit_log = config.control.audit_log;
  control_options.audit_reads = config.control.audit_reads;
  control_options.max_request_bytes = config.control.max_request_bytes;
  Supervisor* sup = node->supervisor.get();
  RecordStore* reader = node->record_reader.get();
  // Positions and neighbours as started with (a reload does not change what follow uses).
  auto map = std::make_shared<const CameraMap>(CameraMap::From(config.cameras));
  SKYNET_ASSIGN_OR_RETURN(
      node->control,
      ControlServer::Create(control_options, [sup, reader, map](const v1::Request& r) {
        if (r.has_search()) return Search(reader, r.search());
        if (r.has_follow()) return FollowRecord(reader, *map, r.follow());
        return sup->HandleRequest(r);
      }));
  if (!config.metrics_endpoint.empty()) {
    auto metrics = MetricsServer::Start(config.metrics_endpoint, [node] { return Scrape(*node); });
    if (metrics.ok()) {
      node->metrics = std::move(metrics).value();
      GetLogger("daemon")->info("metrics on http://{}/metrics", config.metrics_endpoint);
    } else {
      GetLogger("daemon")->error("{}; running without metrics", metrics.status().message());
    }
  }
  node->supervisor->Start();
  return Status::Ok();
}

// Waits for SIGINT/SIGTERM; SIGHUP reloads. Between signals, every half watchdog interval (or
// 10 s), feeds systemd's watchdog while the workers and the bus make progress, and updates
// STATUS=. systemd learns READY=1 on entry (the cameras are started).
void ServeUntilStopped(Node* node, const ServiceNotifier& notify) {
  auto log = GetLogger("daemon");
  auto summary = [node] {
    const EventBus::HeartbeatInfo h = node->supervisor->Heartbeat();
    return fmt::format("{}/{} cameras online, {} events published", h.cameras_online,
                       h.cameras_total, node->bus->last_seq());
  };
  notify.Ready(summary());
  LivenessMonitor liveness;
  AddLivenessProbes(&liveness, node->supervisor.get(), node->bus.get());
  const auto watchdog = notify.watchdog_interval();
  const auto tick = watchdog.count() > 0 ? std::min<std::chrono::microseconds>(watchdog / 2, 10s)
                                         : std::chrono::microseconds(10s);
  bool stuck_logged = false;
  const sigset_t signals = HandledSignals();
  while (true) {
    timespec timeout{};
    timeout.tv_sec = tick.count() / 1000000;
    timeout.tv_nsec = (tick.count() % 1000000) * 1000;
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig < 0) {  // timeout (or EINTR): a watchdog tick
      if (Status alive = liveness.Check(); alive.ok()) {
        if (watchdog.count() > 0) notify.WatchdogPing();
        stuck_logged = false;
      } else if (!stuck_logged) {
        log->error("{}: not feeding the systemd watchdog", alive.message());
        stuck_logged = true;
      }
      notify.Status(summary());
      continue;
    }
    if (sig == SIGINT || sig == SIGTERM) {
      log->info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
      return;
    }
    // The same path as `skynetctl reload`; Reload() logs the one-line result.
    if (sig == SIGHUP) {
      notify.Reloading();
      (void)node->supervisor->Reload();
      notify.Ready(summary());
    }
  }
}

// Stops what runs, in the order that loses nothing: requests first, then cameras, then the
// feed (which publishes what is queued).
void StopNode(Node* node) {
  node->metrics.reset();
  if (node->control) node->control->Stop();
  node->supervisor_ptr.store(nullptr);
  if (node->supervisor) node->supervisor->Stop();
  if (node->replay) node->replay->Stop();
  if (node->record_writer) {
    node->record_writer.reset();  // writes what is queued first
  }
  if (node->bus) node->bus->Stop();
}

}  // namespace

int RunDaemon(const Config& config) {
  auto log = GetLogger("daemon");
  log->info("skynetd {} starting: node {}, {} cameras, config {}", SKYNET_VERSION, config.node_id,
            config.cameras.size(), config.path);
  if (Status st = ingest::InitGStreamer(); !st.ok()) {
    log->critical("cannot initialise gstreamer: {}", st.message());
    return 1;
  }
  Node node;
  Status started = OpenFeed(config, &node);
  if (started.ok()) started = StartServices(config, &node);
  if (!started.ok()) {
    log->critical("{}", started.message());
    StopNode(&node);
    return 1;
  }
  log->info("running");
  const ServiceNotifier notify = ServiceNotifier::FromEnvironment();
  ServeUntilStopped(&node, notify);
  notify.Stopping();
  StopNode(&node);
  log->info("stopped: last seq {}", node.bus->last_seq());
  return 0;
}

}  // namespace skynet::daemon
