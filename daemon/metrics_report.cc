#include "daemon/metrics_report.h"

#include <dirent.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "daemon/metrics.h"

namespace skynet::daemon {
namespace {

// Samples grouped by family: a family's HELP and TYPE come once, before all its samples, in the
// order families were first used.
class Families {
 public:
  explicit Families(MetricsText* out) : out_(out) {}
  ~Families() { Flush(); }

  void Add(const std::string& name, const char* type, const char* help, MetricLabels labels,
           double value) {
    Family& f = Get(name, type, help);
    f.samples.push_back({std::move(labels), value});
  }
  void AddHistogram(const std::string& name, const char* help, MetricLabels labels,
                    const HistogramSnapshot& h) {
    Family& f = Get(name, "histogram", help);
    f.histograms.push_back({std::move(labels), h});
  }

 private:
  struct Family {
    std::string name, type, help;
    std::vector<std::pair<MetricLabels, double>> samples;
    std::vector<std::pair<MetricLabels, HistogramSnapshot>> histograms;
  };
  Family& Get(const std::string& name, const char* type, const char* help) {
    auto it = index_.find(name);
    if (it != index_.end()) return families_[it->second];
    index_[name] = families_.size();
    families_.push_back({name, type, help, {}, {}});
    return families_.back();
  }
  void Flush() {
    for (const Family& f : families_) {
      out_->Family(f.name, f.type, f.help);
      for (const auto& [labels, value] : f.samples) out_->Sample(f.name, labels, value);
      for (const auto& [labels, h] : f.histograms) out_->HistogramSamples(f.name, labels, h);
    }
  }

  MetricsText* out_;
  std::vector<Family> families_;
  std::map<std::string, size_t> index_;
};

// "CAMERA_STATE_ONLINE" -> "online".
std::string StateLabel(v1::CameraState state) {
  std::string name = v1::CameraState_Name(state);
  constexpr std::string_view kPrefix = "CAMERA_STATE_";
  if (name.rfind(kPrefix, 0) == 0) name.erase(0, kPrefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// One sample per (kind, value) of a camera's counter family `name` (label kind="...").
template <typename Counters>
void AddKinds(Families* f, const char* name, const char* help, const MetricLabels& cam,
              const Counters& kinds) {
  for (const auto& [kind, value] : kinds) {
    MetricLabels labels = cam;
    labels.emplace_back("kind", kind);
    f->Add(name, "counter", help, std::move(labels), static_cast<double>(value));
  }
}

constexpr v1::CameraState kStates[] = {v1::CAMERA_STATE_CONNECTING, v1::CAMERA_STATE_ONLINE,
                                       v1::CAMERA_STATE_STALLED,    v1::CAMERA_STATE_OFFLINE,
                                       v1::CAMERA_STATE_WAITING,    v1::CAMERA_STATE_DISABLED,
                                       v1::CAMERA_STATE_DEGRADED};

void AddCamera(const CameraStats& c, Families* f) {
  const MetricLabels cam = {{"camera", c.camera_id}};
  auto with = [&](const char* key, std::string value) {
    MetricLabels l = cam;
    l.emplace_back(key, std::move(value));
    return l;
  };
  for (v1::CameraState s : kStates) {
    f->Add("skynet_camera_state", "gauge", "1 for the camera's current state, else 0",
           with("state", StateLabel(s)), c.state == s ? 1 : 0);
  }
  f->Add("skynet_camera_up", "gauge", "1 while the camera delivers frames", cam,
         c.state == v1::CAMERA_STATE_ONLINE ? 1 : 0);
  f->Add("skynet_camera_fps_received", "gauge", "frames per second handed to analytics", cam,
         c.fps_in);
  f->Add("skynet_camera_fps_analysed", "gauge", "frames per second analysed", cam, c.fps_analysed);
  f->Add("skynet_camera_analysis_share", "gauge",
         "frames analysed / handed to analytics, last 10 s (1: all)", cam, c.analysis_share);
  f->Add("skynet_camera_overloaded", "gauge",
         "1 when analytics dropped over 5% of the camera's frames in the last 10 s", cam,
         c.overloaded ? 1 : 0);
  const ingest::SessionStats& s = c.session;
  f->Add("skynet_camera_frames_decoded_total", "counter", "frames decoded by ingest", cam,
         s.frames_in);
  f->Add("skynet_camera_frames_received_total", "counter",
         "frames handed to the camera's analytics queue", cam, c.frames_queued);
  f->Add("skynet_camera_frames_analysed_total", "counter", "frames analysed", cam,
         c.frames_analysed);
  f->Add("skynet_camera_frames_dropped_total", "counter", "frames not analysed, by cause",
         with("cause", "rate_limit"), s.frames_rate_limited);
  f->Add("skynet_camera_frames_dropped_total", "counter", "frames not analysed, by cause",
         with("cause", "queue"), c.queue_drops);
  f->Add("skynet_camera_frames_dropped_total", "counter", "frames not analysed, by cause",
         with("cause", "decode_error"), s.decode_errors);
  const uint64_t accounted = s.frames_rate_limited + s.frames_delivered;
  f->Add("skynet_camera_frames_dropped_total", "counter", "frames not analysed, by cause",
         with("cause", "ingest_busy"), s.frames_in > accounted ? s.frames_in - accounted : 0);
  f->Add("skynet_camera_bytes_total", "counter", "compressed bytes into the decoder", cam,
         s.bytes_in);
  f->Add("skynet_camera_network_bytes_total", "counter", "RTP bytes received (RTSP)", cam,
         s.bytes_received);
  f->Add("skynet_camera_reconnects_total", "counter", "pipeline rebuilds after the first", cam,
         s.reconnects);
  f->Add("skynet_camera_stalls_total", "counter", "streams that stopped delivering frames", cam,
         s.stalls);
  f->Add("skynet_camera_decode_errors_total", "counter", "connections ended by a decode error", cam,
         s.decode_errors);
  f->Add("skynet_camera_blocked_total", "counter", "times frames stopped being consumed", cam,
         s.blocked);
  f->Add("skynet_camera_degraded_total", "counter", "times the stream started decoding to errors",
         cam, s.degraded);
  f->Add("skynet_camera_decoder_errors_total", "counter",
         "libav decoder error messages (damage it concealed)", cam, s.decoder_errors);
  f->Add("skynet_camera_corrupt_frames_total", "counter", "decoded frames flagged corrupted", cam,
         s.corrupt_frames);
  f->Add("skynet_camera_stream_changes_total", "counter", "codec or size changes", cam,
         s.stream_changes);
  f->Add("skynet_camera_teardowns_abandoned_total", "counter",
         "pipelines left to the reaper after the teardown deadline", cam, s.teardowns_abandoned);
  f->Add("skynet_camera_probe_shortcuts_total", "counter",
         "reconnect waits cut short because the camera answered TCP", cam, s.probe_shortcuts);
  f->Add("skynet_camera_gstreamer_warnings_total", "counter", "GStreamer warnings", cam,
         s.warnings);
  f->Add("skynet_camera_callback_exceptions_total", "counter",
         "exceptions from frame or state callbacks (dropped)", cam, s.callback_exceptions);
  f->Add("skynet_camera_rtcp_sync", "gauge", "1 when capture times come from RTCP", cam,
         s.rtcp_sync ? 1 : 0);
  f->Add("skynet_camera_clock_offset_seconds", "gauge", "camera RTCP clock minus arrival time", cam,
         s.camera_clock_offset_us / 1e6);
  f->Add("skynet_camera_events_total", "counter", "events the camera published", cam, c.events);
  f->AddHistogram("skynet_camera_analysis_seconds",
                  "wall time per analysed frame (motion and vehicles)", cam, c.analysis_seconds);
  for (size_t i = 0; i < c.quality.size(); ++i) {
    const char* check = analytics::QualityCheckName(static_cast<analytics::QualityCheck>(i));
    const analytics::QualityState state = c.quality[i].state;
    f->Add("skynet_video_quality_state", "gauge",
           "video quality check of the camera: 0 ok, 1 fault, -1 learning", with("check", check),
           state == analytics::QualityState::kFault ? 1
           : state == analytics::QualityState::kOk  ? 0
                                                    : -1);
    f->Add("skynet_video_quality_score", "gauge",
           "video quality check's last score: 0 fine .. 1 certainly faulty", with("check", check),
           c.quality[i].score);
  }

  const analytics::MotionStats& m = c.motion;
  const std::pair<const char*, uint64_t> motion[] = {{"frames", m.frames},
                                                     {"rejected_frames", m.rejected_frames},
                                                     {"reinitialisations", m.reinitialisations},
                                                     {"global_changes", m.global_changes},
                                                     {"exposure_steps", m.exposure_steps},
                                                     {"shake_compensated", m.shake_compensated},
                                                     {"night_frames", m.night_frames},
                                                     {"ghosts_absorbed", m.ghosts_absorbed}};
  AddKinds(f, "skynet_motion_total", "motion detector counters, by kind", cam, motion);
  if (!c.vehicles) return;
  const VehicleStats& v = c.vehicle;
  const std::pair<const char*, uint64_t> vehicle[] = {
      {"frames", v.pipeline.frames},
      {"rate_skipped", v.pipeline.rate_skipped},
      {"events", v.pipeline.events},
      {"snapshots", v.pipeline.snapshots},
      {"encode_failures", v.pipeline.encode_failures},
      {"source_frames_refused", v.pipeline.source_frames_refused},
      {"evidence_snapshots", v.pipeline.evidence_snapshots},
      {"evidence_failures", v.pipeline.evidence_failures},
      {"detector_calls", v.pipeline.detector.calls},
      {"detector_failures", v.pipeline.detector.failures},
      {"detections", v.analytics.detections},
      {"tracks_started", v.analytics.tracks_started},
      {"tracks_ended", v.analytics.tracks_ended},
      {"track_updates", v.analytics.track_updates},
      {"rule_events", v.analytics.rule_events},
      {"calibration_errors", v.analytics.calibration_errors},
      {"rejected_frames", v.analytics.rejected_frames}};
  AddKinds(f, "skynet_vehicles_total", "vehicle pipeline counters, by kind", cam, vehicle);
  f->Add("skynet_vehicles_source_frames_held", "gauge",
         "decoded frames at camera resolution held for full-resolution snapshots", cam,
         v.pipeline.source_frames_held);
  f->Add("skynet_vehicles_source_frames_held_max", "gauge",
         "the most decoded frames held at once for full-resolution snapshots "
         "(at most vehicles.snapshot_frames)",
         cam, v.pipeline.source_frames_held_max);
  f->Add("skynet_vehicles_cpu_seconds_total", "counter", "thread CPU time of vehicle analytics",
         cam, v.pipeline.cpu_us / 1e6);
  const std::pair<const char*, uint64_t> classical[] = {
      {"frames", v.classical.frames},
      {"rejected_frames", v.classical.rejected_frames},
      {"reinitialisations", v.classical.reinitialisations},
      {"splits", v.classical.splits},
      {"merges", v.classical.merges},
      {"unsupported", v.classical.unsupported},
      {"moved", v.classical.moved},
      {"ghosts", v.classical.ghosts},
      {"tails", v.classical.tails},
      {"stacked", v.classical.stacked},
      {"motion_cuts", v.classical.motion_cuts},
      {"shake_aligned", v.classical.shake_aligned}};
  AddKinds(f, "skynet_classical_detector_total",
           "classical detector counters, by kind (classical backend)", cam, classical);
  const std::pair<const char*, uint64_t> dnn[] = {
      {"calls", static_cast<uint64_t>(v.dnn.calls)},
      {"rate_skipped", static_cast<uint64_t>(v.dnn.rate_skipped)},
      {"no_motion", static_cast<uint64_t>(v.dnn.no_motion)},
      {"inferences", static_cast<uint64_t>(v.dnn.inferences)},
      {"crops", static_cast<uint64_t>(v.dnn.crops)},
      {"failures", static_cast<uint64_t>(v.dnn.failures)},
      {"detections", static_cast<uint64_t>(v.dnn.detections)}};
  AddKinds(f, "skynet_dnn_detector_total",
           "DNN detector counters, by kind (dnn backend); failures: inferences that failed", cam,
           dnn);
  f->Add("skynet_dnn_inference_seconds_total", "counter", "wall time of DNN forward passes", cam,
         v.dnn.infer_ms_total / 1e3);
}

void AddFeed(const FeedStats& feed, Families* f) {
  f->Add("skynet_feed_last_seq", "gauge", "sequence number of the last event published", {},
         feed.last_seq);
  f->Add("skynet_feed_epoch", "gauge", "epoch of this run (microseconds since the Unix epoch)", {},
         feed.epoch);
  f->Add("skynet_feed_queued", "gauge", "events accepted, not yet published", {}, feed.queued);
  f->Add("skynet_feed_subscribers", "gauge", "connections to the event feed", {}, feed.subscribers);
  f->Add("skynet_feed_max_subscribers", "gauge", "feed.max_subscribers (0: no limit)", {},
         feed.max_subscribers);
  f->Add("skynet_feed_subscribers_refused_total", "counter",
         "feed connections refused at feed.max_subscribers", {}, feed.subscribers_refused);
  f->Add("skynet_feed_send_hwm", "gauge", "events queued per subscriber before ZeroMQ drops", {},
         feed.send_hwm);
  f->Add("skynet_feed_dropped_total", "counter", "events not published, by cause",
         {{"cause", "stopping"}}, feed.dropped);
  f->Add("skynet_feed_dropped_total", "counter", "events not published, by cause",
         {{"cause", "send_error"}}, feed.send_errors);
  for (const auto& [key, n] : feed.events) {
    f->Add("skynet_events_total", "counter", "events published, by camera and type",
           {{"camera", key.first}, {"type", key.second}}, n);
  }
  for (const auto& [key, n] : feed.crossings) {
    const auto& [camera, line, direction] = key;
    f->Add(
        "skynet_line_crossings_total", "counter",
        "vehicles counted on a line, by direction (forward: to the right of a->b)",
        {{"camera", camera}, {"line", line}, {"direction", direction > 0 ? "forward" : "backward"}},
        n);
  }
  f->Add("skynet_journal_enabled", "gauge", "1 when events are journaled", {},
         feed.journal ? 1 : 0);
  if (!feed.journal) return;
  f->Add("skynet_journal_bytes", "gauge", "retained journal size", {}, feed.journal_bytes);
  f->Add("skynet_journal_errors_total", "counter",
         "journal appends that failed (their events were still published, not replayable)", {},
         feed.journal_errors);
  f->Add("skynet_journal_fsync_errors_total", "counter", "fdatasync calls that failed", {},
         feed.journal_fsync_errors);
  f->AddHistogram("skynet_journal_fsync_seconds", "fdatasync time of the journal", {},
                  feed.journal_fsync_seconds);
  const v1::JournalStatus& js = feed.journal_status;
  f->Add("skynet_journal_failing", "gauge",
         "1 while journal appends fail (events are published but not replayable)", {},
         js.state() == v1::JOURNAL_STATE_FAILING ? 1 : 0);
  f->Add("skynet_journal_events_not_journaled_total", "counter",
         "events of this epoch published but not journaled", {}, js.events_not_journaled());
  f->Add("skynet_journal_damaged_segments", "gauge",
         "damaged segments found at start and moved aside (*.seg.damaged)", {},
         js.damaged_segments());
  f->Add("skynet_journal_corrupt_events", "gauge",
         "journaled events destroyed by damage on disk, found at start", {}, js.corrupt_events());
}

void AddNode(const NodeExtras& extras, const ProcessFigures& p, Families* f) {
  f->Add("skynet_replay_enabled", "gauge", "1 when the replay server runs", {},
         extras.replay ? 1 : 0);
  if (extras.replay) {
    f->Add("skynet_replay_requests_total", "counter", "replay requests served", {},
           extras.replay_requests);
    f->Add("skynet_replay_events_total", "counter", "events sent by the replay server", {},
           extras.replay_events_sent);
  }
  for (const auto& [key, n] : extras.control_requests) {
    f->Add("skynet_control_requests_total", "counter", "control requests, by command and result",
           {{"command", key.first}, {"result", key.second ? "ok" : "error"}}, n);
  }
  f->Add("skynet_control_replies_dropped_total", "counter",
         "control answers dropped: the peer had gone or did not read it in time", {},
         extras.control_replies_dropped);
  f->Add("skynet_control_replies_delayed_total", "counter",
         "control answers that waited for a peer's full queue", {}, extras.control_replies_delayed);
  if (extras.evidence) {
    f->Add("skynet_evidence_bytes", "gauge", "bytes of the evidence files kept", {},
           static_cast<double>(extras.evidence_bytes));
    f->Add("skynet_evidence_files", "gauge", "evidence files kept", {},
           static_cast<double>(extras.evidence_files));
    f->Add("skynet_evidence_deleted_files_total", "counter", "evidence files deleted by retention",
           {}, extras.evidence_deleted_files);
    f->Add("skynet_evidence_write_errors_total", "counter",
           "evidence writes that failed (disk full included)", {}, extras.evidence_write_errors);
    f->Add("skynet_evidence_stopped", "gauge", "1 while a full disk stops evidence writing", {},
           extras.evidence_stopped ? 1 : 0);
    f->Add("skynet_clips_total", "counter", "clips by outcome",
           {{"result", "completed"}}, extras.clips_completed);
    f->Add("skynet_clips_total", "counter", "clips by outcome", {{"result", "cut_short"}},
           extras.clips_cut_short);
    f->Add("skynet_clips_total", "counter", "clips by outcome", {{"result", "failed"}},
           extras.clips_failed);
    f->Add("skynet_clips_total", "counter", "clips by outcome", {{"result", "refused"}},
           extras.clips_refused);
    f->Add("skynet_clip_ring_bytes", "gauge", "compressed video held in memory for clips", {},
           static_cast<double>(extras.clip_ring_bytes));
  }
  f->Add("process_cpu_seconds_total", "counter", "user and system CPU time", {}, p.cpu_seconds);
  f->Add("process_resident_memory_bytes", "gauge", "resident memory", {},
         static_cast<double>(p.resident_bytes));
  f->Add("process_virtual_memory_bytes", "gauge", "virtual memory", {},
         static_cast<double>(p.virtual_bytes));
  f->Add("process_threads", "gauge", "threads of the process", {}, static_cast<double>(p.threads));
  f->Add("process_open_fds", "gauge", "open file descriptors", {}, static_cast<double>(p.open_fds));
  f->Add("process_start_time_seconds", "gauge", "start time since the Unix epoch", {},
         p.start_time_seconds);
}

}  // namespace

ProcessFigures ReadProcessFigures() {
  ProcessFigures p;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const size_t close = line.rfind(')');
    std::istringstream rest(close == std::string::npos ? "" : line.substr(close + 2));
    std::vector<std::string> fields;
    for (std::string field; rest >> field;) fields.push_back(field);
    auto field = [&](size_t n) {  // n: the field number of proc(5), 3-based here
      return n - 3 < fields.size() ? std::stod(fields[n - 3]) : 0.0;
    };
    if (ticks > 0) {
      p.cpu_seconds = (field(14) + field(15)) / ticks;
      double boot = 0;
      std::ifstream sys("/proc/stat");
      for (std::string l; std::getline(sys, l);) {
        if (l.rfind("btime ", 0) == 0) boot = std::stod(l.substr(6));
      }
      p.start_time_seconds = boot + field(22) / ticks;
    }
    p.threads = static_cast<uint64_t>(field(20));
    p.virtual_bytes = static_cast<uint64_t>(field(23));
    p.resident_bytes = static_cast<uint64_t>(field(24) * page);
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++p.open_fds;
    }
    ::closedir(d);
    if (p.open_fds > 0) --p.open_fds;  // the directory stream itself
  }
  return p;
}

std::string RenderMetrics(const NodeStats& node, const NodeExtras& extras,
                          const ProcessFigures& process) {
  MetricsText text;
  {
    Families f(&text);
    f.Add("skynet_info", "gauge", "the node's id", {{"node", node.feed.node_id}}, 1);
    f.Add("skynet_cameras", "gauge", "cameras configured", {},
          static_cast<double>(node.cameras.size()));
    for (const CameraStats& c : node.cameras) AddCamera(c, &f);
    int overloaded = 0;
    for (const CameraStats& c : node.cameras) overloaded += c.overloaded ? 1 : 0;
    f.Add("skynet_overloaded", "gauge", "1 when analytics cannot keep up (a camera is overloaded)",
          {}, overloaded > 0 ? 1 : 0);
    f.Add("skynet_overloaded_cameras", "gauge", "cameras whose analytics drop frames", {},
          overloaded);
    AddFeed(node.feed, &f);
    AddNode(extras, process, &f);
  }
  return text.Take();
}

}  // namespace skynet::daemon
