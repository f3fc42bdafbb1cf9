#include "daemon/app.h"

#include <signal.h>

#include <atomic>
#include <cstdio>

#include "daemon/control_server.h"
#include "daemon/event_bus.h"
#include "daemon/frame_source.h"
#include "daemon/journal.h"
#include "daemon/replay_server.h"
#include "daemon/security.h"
#include "daemon/supervisor.h"
#include "pipeline/core/logging.h"
#include "pipeline/ingest/camera_session.h"
#include "pipeline/ingest/start_limiter.h"

namespace skynet::daemon {
namespace {

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
  std::printf("%s: ok: node %s, %zu cameras\n", path.c_str(), config->node_id.c_str(),
              config->cameras.size());
  return 0;
}

int RunDaemon(const Config& config) {
  auto log = GetLogger("daemon");
  log->info("skynetd {} starting: node {}, {} cameras, config {}", SKYNET_VERSION, config.node_id,
            config.cameras.size(), config.path);
  if (Status st = ingest::InitGStreamer(); !st.ok()) {
    log->critical("cannot initialise gstreamer: {}", st.message());
    return 1;
  }

  // Declared first: every socket lives in its context, which must outlive them.
  SecurityOptions security_options;
  security_options.server_key_file = config.security.server_key_file;
  for (const ClientKeyConfig& c : config.security.clients) {
    security_options.clients.push_back(ClientKey{c.name, c.public_key, c.role});
  }
  auto security = Security::Create(security_options);
  if (!security.ok()) {
    log->critical("{}", security.status().message());
    return 1;
  }

  // Declared before the bus, which writes to it until it stops.
  std::unique_ptr<Journal> journal;
  if (!config.journal.dir.empty()) {
    JournalOptions jo;
    jo.dir = config.journal.dir;
    jo.fsync = config.journal.fsync;
    jo.max_bytes = static_cast<uint64_t>(config.journal.max_bytes);
    jo.max_age_hours = config.journal.max_age_hours;
    jo.segment_bytes = static_cast<uint64_t>(config.journal.segment_bytes);
    auto opened = Journal::Open(jo);
    if (!opened.ok()) {
      log->critical("{}", opened.status().message());
      return 1;
    }
    journal = std::move(opened).value();
    const JournalRecovery& r = journal->recovery();
    log->info("journal {}: {} segments, {} events recovered; {} torn tails truncated ({} bytes), "
              "{} unreadable segments removed",
              jo.dir, r.segments, r.records, r.truncated_segments, r.truncated_bytes,
              r.removed_segments);
  } else {
    log->warn("no journal (journal.dir): missed events cannot be replayed");
  }

  std::atomic<Supervisor*> supervisor_ptr{nullptr};
  EventBusOptions bus_options;
  bus_options.journal = journal.get();
  bus_options.security = security->get();
  bus_options.node_id = config.node_id;
  bus_options.endpoint = config.event_endpoint;
  bus_options.heartbeat_interval_ms = config.heartbeat_interval_ms;
  auto bus = EventBus::Create(bus_options, [&supervisor_ptr] {
    Supervisor* s = supervisor_ptr.load();
    return s ? s->Heartbeat() : EventBus::HeartbeatInfo{};
  });
  if (!bus.ok()) {
    log->critical("{}", bus.status().message());
    return 1;
  }

  std::unique_ptr<ReplayServer> replay;
  if (!config.replay_endpoint.empty() && journal) {
    ReplayServerOptions ro;
    ro.endpoint = config.replay_endpoint;
    ro.node_id = config.node_id;
    ro.max_events_per_second = config.replay_max_events_per_second;
    ro.security = security->get();
    auto created = ReplayServer::Create(ro, journal.get());
    if (!created.ok()) {
      log->critical("{}", created.status().message());
      return 1;
    }
    replay = std::move(created).value();
  }

  ingest::SetStartRateLimit(config.ingest.start_rate_per_second, config.ingest.start_burst);
  // The real parts behind the supervisor's seams: GStreamer sessions, the ZeroMQ feed.
  CameraSessionFactory sessions;
  auto supervisor = Supervisor::Create(config, &sessions, bus->get());
  if (!supervisor.ok()) {
    log->critical("{}", supervisor.status().message());
    return 1;
  }
  supervisor_ptr.store(supervisor->get());

  ControlServerOptions control_options;
  control_options.endpoint = config.control_endpoint;
  control_options.security = security->get();
  control_options.audit_log = config.control.audit_log;
  Supervisor* sup = supervisor->get();
  auto control = ControlServer::Create(
      control_options, [sup](const v1::Request& r) { return sup->HandleRequest(r); });
  if (!control.ok()) {
    log->critical("{}", control.status().message());
    return 1;
  }

  (*supervisor)->Start();
  log->info("running");

  const sigset_t signals = HandledSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGINT || sig == SIGTERM) {
      log->info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    // The same path as `skynetctl reload`; Reload() logs the one-line result.
    if (sig == SIGHUP) (void)(*supervisor)->Reload();
  }

  (*control)->Stop();
  supervisor_ptr.store(nullptr);
  (*supervisor)->Stop();
  if (replay) replay->Stop();
  (*bus)->Stop();
  log->info("stopped: last seq {}", (*bus)->last_seq());
  return 0;
}

}  // namespace skynet::daemon
