#include "daemon/app.h"

#include <signal.h>
#include <sys/statvfs.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "daemon/clip_recorder.h"
#include "daemon/control_server.h"
#include "daemon/event_bus.h"
#include "daemon/evidence_store.h"
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
#include "pipeline/analytics/dnn/dnn_detector.h"
#include "pipeline/core/logging.h"
#include "pipeline/ingest/camera_session.h"
#include "pipeline/ingest/start_limiter.h"
#include "skynet/keys.h"
#include "skynet/protocol.h"

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
  std::shared_ptr<EvidenceStore> evidence;      // null: no evidence files (evidence.path)
  std::unique_ptr<RecordWriter> record_writer;  // null: records not stored
  std::unique_ptr<RecordCollector> records;     // null: no records; else between cameras and bus
  std::unique_ptr<RecordStore> record_reader;   // the control thread's connection, for search
  CameraSessionFactory sessions;  // the real parts behind the supervisor's seams
  // Null without evidence; else around `sessions` (the rings) and between cameras and records.
  std::unique_ptr<ClipRecorder> clips;
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

// The evidence store, if evidence.path is set. A directory that cannot be made or read is
// logged (naming it) and the node runs on without evidence files.
void OpenEvidence(const EvidenceConfig& config, Node* node) {
  if (config.path.empty()) return;
  EvidenceStoreOptions eo;
  eo.path = config.path;
  eo.max_bytes = config.max_bytes;
  eo.max_bytes_per_camera = config.max_bytes_per_camera;
  eo.retention_days = config.retention_days;
  Result<std::shared_ptr<EvidenceStore>> store = EvidenceStore::Open(eo);
  if (!store.ok()) {
    GetLogger("daemon")->error("{}; running without evidence files", store.status().message());
    return;
  }
  node->evidence = std::move(store).value();
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
    // With evidence files, records and their files are one unit: one age limit for both.
    ro.retention_days =
        node->evidence ? config.evidence.retention_days : config.records.retention_days;
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
        store.ok() ? std::move(store).value() : nullptr, wo, node->evidence);
  }
  // Full-resolution snapshot files and clips are named in the records.
  node->records = std::make_unique<RecordCollector>(
      config.node_id, node->bus.get(), node->record_writer.get(), node->evidence,
      [node](const std::string& camera, uint64_t track) {
        std::optional<ClipState> clip =
            node->clips ? node->clips->ClipOfTrack(camera, track) : std::nullopt;
        return clip ? clip->file : std::string();
      });
}

// The clip recorder (docs/evidence.md), in front of the record collector, on the evidence store
// OpenEvidence() opened.
void OpenClips(const Config& config, Node* node) {
  const EvidenceConfig& e = config.evidence;
  if (!node->evidence) return;
  EventFeed* next = node->records ? static_cast<EventFeed*>(node->records.get()) : node->bus.get();
  node->clips = std::make_unique<ClipRecorder>(
      ClipRecorderOptions{.pre_roll_us = static_cast<int64_t>(e.pre_roll_s * 1e6),
                          .post_roll_us = static_cast<int64_t>(e.post_roll_s * 1e6),
                          .on_vehicle_rules = e.clip_on_vehicle_rules,
                          .on_motion_start = e.clip_on_motion_start,
                          .ring_max_bytes = e.ring_max_bytes,
                          .record_cameras = e.record_cameras,
                          .segment_us = static_cast<int64_t>(e.segment_s * 1e6)},
      node->evidence, &node->sessions, next);
}

// One chunk of a clip for skynetctl clip (on the control thread): starts the clip on the first
// request (by record, event or time range), then reads the file on from `offset`.
v1::Response Clip(Node* node, const v1::ClipRequest& c) {
  v1::Response response;
  if (!node->evidence || !node->clips) {
    response.set_error("no evidence store: set evidence.path (docs/evidence.md)");
    return response;
  }
  ClipRecorder& clips = *node->clips;
  const ClipRecorderOptions& o = clips.options();
  std::string file = c.file();
  auto start = [&](const std::string& camera, int64_t from_us, int64_t to_us) -> Status {
    Result<ClipState> st = clips.Start(camera, from_us, to_us);
    if (!st.ok()) return st.status();
    file = st->file;
    return Status::Ok();
  };
  Status st = Status::Ok();
  if (file.empty() && !c.event_id().empty()) {
    // "<node>/<epoch>/<seq>": the event from the journal, then its track's clip or its time.
    const size_t a = c.event_id().find('/'), b = c.event_id().rfind('/');
    uint64_t epoch = 0, seq = 0;
    std::vector<JournalRecord> found;
    v1::Event ev;
    if (a == std::string::npos || a == b ||
        (epoch = std::strtoull(c.event_id().c_str() + a + 1, nullptr, 10)) == 0 ||
        (seq = std::strtoull(c.event_id().c_str() + b + 1, nullptr, 10)) == 0) {
      st = Status::InvalidArgument("event id must be <node>/<epoch>/<seq>");
    } else if (!node->journal) {
      st = Status::NotFound("no journal to find the event in (journal.dir)");
    } else if (!node->journal->ReadEpoch(epoch, seq - 1, 1, 1 << 20, &found).ok() ||
               found.empty() || found.front().seq != seq ||
               !ev.ParseFromString(found.front().payload)) {
      st = Status::NotFound("no event " + c.event_id() + " in the journal");
    } else if (ev.camera_id().empty()) {
      st = Status::InvalidArgument("event " + c.event_id() + " is not a camera's");
    } else {
      uint64_t track = 0;
      if (ev.has_line_crossed()) track = ev.line_crossed().track_id();
      std::optional<ClipState> clip = track ? clips.ClipOfTrack(ev.camera_id(), track)
                                            : std::nullopt;
      if (clip) {
        file = clip->file;
      } else {
        st = start(ev.camera_id(), ev.capture_time_us() - o.pre_roll_us,
                   ev.capture_time_us() + o.post_roll_us);
      }
    }
  } else if (file.empty() && c.track_id() != 0) {
    // A record: its clip, else its time while still in memory.
    if (std::optional<ClipState> clip = clips.ClipOfTrack(c.camera_id(), c.track_id())) {
      file = clip->file;
    } else if (node->record_reader) {
      RecordQuery q;
      q.cameras = {c.camera_id()};
      q.limit = 5000;
      Result<std::vector<StoredRecord>> found = node->record_reader->Query(q);
      const v1::VehicleRecord* rec = nullptr;
      if (found.ok()) {
        for (const StoredRecord& r : *found) {  // newest first: track ids restart with the daemon
          if (r.record.track_id() == c.track_id()) {
            rec = &r.record;
            break;
          }
        }
      }
      if (!rec) {
        st = Status::NotFound("no record of track " + std::to_string(c.track_id()) +
                              " of camera " + c.camera_id());
      } else if (!rec->clip_file().empty()) {
        file = rec->clip_file();
      } else {
        st = start(c.camera_id(), rec->first_seen_us() - o.pre_roll_us,
                   rec->last_seen_us() + o.post_roll_us);
      }
    } else {
      st = Status::NotFound("no clip of track " + std::to_string(c.track_id()) + " of camera " +
                            c.camera_id());
    }
  } else if (file.empty()) {
    if (c.camera_id().empty() || c.to_us() <= c.from_us()) {
      st = Status::InvalidArgument("clip: give a record, an event, or a camera and a time range");
    } else {
      st = start(c.camera_id(), c.from_us(), c.to_us());
    }
  }
  if (!st.ok()) {
    response.set_error(st.message());
    return response;
  }
  std::optional<ClipState> state = clips.Find(file);
  v1::ClipResponse* out = response.mutable_clip();
  out->set_file(file);
  out->set_offset(c.offset());
  if (state) {
    out->set_start_us(state->start_us);
    out->set_end_us(state->end_us);
    out->set_from_recordings(state->from_recordings);
    if (c.offset() == 0) {
      for (const std::string& n : state->notes) out->add_notes(n);
    }
  }
  Result<std::string> path = node->evidence->Resolve(file);
  if (!path.ok()) {
    if (state && !state->done) {  // being opened by the writer thread: ask again
      response.set_ok(true);
      return response;
    }
    response.clear_clip();
    response.set_error(path.status().message());
    return response;
  }
  const size_t chunk = c.max_bytes() == 0 ? 256u << 10 : std::min<size_t>(c.max_bytes(), 4u << 20);
  std::ifstream in(*path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const uint64_t size = in ? static_cast<uint64_t>(in.tellg()) : 0;
  std::string data;
  if (c.offset() < size) {
    data.resize(std::min<uint64_t>(chunk, size - c.offset()));
    in.seekg(static_cast<std::streamoff>(c.offset()));
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<size_t>(in.gcount()));
  }
  out->set_size(size);
  out->set_complete(!state || state->done);
  out->set_data(std::move(data));
  response.set_ok(true);
  return response;
}

// The evidence part of a status answer (docs/cli.md, "status"): the alarm while writing is
// stopped, and how full the directory is.
void FillEvidenceStatus(const EvidenceStore& store, v1::StatusResponse* status) {
  const EvidenceStats e = store.stats();
  v1::EvidenceStatus* out = status->mutable_evidence();
  out->set_directory(store.path());
  out->set_stopped(e.stopped);
  out->set_stopped_since_us(e.stopped ? e.stopped_since_us : 0);
  out->set_failed_path(e.failed_path);
  out->set_error(e.error);
  out->set_refused(e.refused);
  out->set_disk_full(e.disk_full);
  out->set_bytes(e.bytes);
  out->set_max_bytes(store.options().max_bytes);
  out->set_files(e.files);
  struct statvfs fs {};
  out->set_disk_free_bytes(::statvfs(store.path().c_str(), &fs) == 0
                               ? static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize)
                               : -1);
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

// The snapshot file of a record (on the control thread): found with the record store, read from
// the evidence store. A file larger than a control message is named for copying instead.
v1::Response Snapshot(RecordStore* reader, const EvidenceStore* evidence,
                      const v1::SnapshotRequest& s) {
  v1::Response response;
  if (!reader || !evidence) {
    response.set_error(!reader ? "no record store: set records.path (docs/evidence.md)"
                               : "no evidence store: set evidence.path (docs/evidence.md)");
    return response;
  }
  RecordQuery q;
  q.cameras = {s.camera_id()};
  q.track_id = s.track_id();
  q.limit = 1;
  Result<std::vector<StoredRecord>> found = reader->Query(q);
  if (!found.ok()) {
    response.set_error(found.status().message());
    return response;
  }
  const std::string record = s.camera_id() + ":" + std::to_string(s.track_id());
  if (found->empty() || s.track_id() == 0) {
    response.set_error("no record " + record);
    return response;
  }
  const v1::VehicleRecord& r = found->front().record;
  const std::string suffix = s.scene() ? "-scene.jpg" : "-crop.jpg";
  std::string file;
  for (const std::string& f : r.snapshot_files()) {
    if (f.size() >= suffix.size() &&
        f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0) {
      file = f;
    }
  }
  if (file.empty()) {
    response.set_error("record " + record + " has no " + (s.scene() ? "scene" : "crop") +
                       " snapshot file");
    return response;
  }
  Result<std::string> path = evidence->Resolve(file);
  if (!path.ok()) {
    response.set_error(record + ": " + path.status().message());
    return response;
  }
  std::ifstream in(*path, std::ios::binary | std::ios::ate);
  const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : -1;
  if (size < 0) {
    response.set_error(record + ": cannot read " + *path);
    return response;
  }
  if (size > protocol::kMaxControlMessageBytes - 4096) {
    response.set_error(record + ": " + *path + " (" + std::to_string(size) +
                       " bytes) is larger than a control reply; copy it from the evidence "
                       "directory");
    return response;
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) {
    response.set_error(record + ": cannot read " + *path);
    return response;
  }
  response.set_ok(true);
  v1::SnapshotResponse* out = response.mutable_snapshot();
  out->set_jpeg(std::move(bytes));
  out->set_file(file);
  out->set_last_seen_us(r.last_seen_us());
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
  OpenEvidence(config.evidence, node);
  OpenRecords(config, node);
  OpenClips(config, node);
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
  if (node.evidence && node.clips) {
    const EvidenceStats e = node.evidence->stats();
    const ClipStats c = node.clips->clip_stats();
    extras.evidence = true;
    extras.evidence_bytes = e.bytes;
    extras.evidence_files = e.files;
    extras.evidence_deleted_files = e.files_deleted;
    extras.evidence_write_errors = e.write_errors;
    extras.evidence_stopped = e.stopped;
    extras.clips_started = c.started;
    extras.clips_completed = c.completed;
    extras.clips_cut_short = c.cut_short;
    extras.clips_failed = c.failed;
    extras.clips_refused = c.refused;
    extras.clip_ring_bytes = c.ring_bytes;
  }
  return RenderMetrics(node.supervisor->Stats(), extras, ReadProcessFigures());
}

// Cameras, control and metrics. A metrics endpoint that cannot be bound is logged and the node
// runs without it: cameras and events matter more than their figures.
Status StartServices(const Config& config, Node* node) {
  ingest::SetStartRateLimit(config.ingest.start_rate_per_second, config.ingest.start_burst);
  SKYNET_ASSIGN_OR_RETURN(node->supervisor,
                          Supervisor::Create(
                              config,
                              node->clips ? static_cast<SessionFactory*>(node->clips.get())
                                          : &node->sessions,
                              node->clips     ? static_cast<EventFeed*>(node->clips.get())
                              : node->records ? static_cast<EventFeed*>(node->records.get())
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
  const EvidenceStore* evidence = node->evidence.get();
  // Positions and neighbours as started with (a reload does not change what follow uses).
  auto map = std::make_shared<const CameraMap>(CameraMap::From(config.cameras));
  SKYNET_ASSIGN_OR_RETURN(
      node->control,
      ControlServer::Create(control_options, [sup, reader, evidence, node,
                                              map](const v1::Request& r) {
        if (r.has_search()) return Search(reader, r.search());
        if (r.has_clip()) return Clip(node, r.clip());
        if (r.has_snapshot()) return Snapshot(reader, evidence, r.snapshot());
        if (r.has_follow()) return FollowRecord(reader, *map, r.follow());
        v1::Response response = sup->HandleRequest(r);
        if (response.has_status() && evidence) FillEvidenceStatus(*evidence, response.mutable_status());
        return response;
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
    std::string text = fmt::format("{}/{} cameras online, {} events published", h.cameras_online,
                                   h.cameras_total, node->bus->last_seq());
    if (node->evidence && node->evidence->stats().stopped) {
      text += "; degraded: evidence writing stopped (disk full)";
    }
    return text;
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
  node->clips.reset();  // finishes the clips being written; their events go out below
  if (node->replay) node->replay->Stop();
  // The collector's snapshot writer hands its last records to the record writer: first.
  node->records.reset();
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
  // Before any camera runs: the node-wide thread budget of inference (docs/operations.md).
  log->info("inference on {} opencv threads (dnn.threads {}), {} analytics workers",
            analytics::SetInferenceThreads(config.dnn.threads), config.dnn.threads,
            config.analytics_workers);
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
