#include "daemon/supervisor.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "pipeline/core/logging.h"
#include "pipeline/ingest/start_limiter.h"

namespace skynet::daemon {
namespace {

// Teardowns that may run at once. Each is bounded by CameraSession::Stop() (a few seconds);
// a handful in parallel keeps one dead camera from delaying the others.
constexpr int kStopperThreads = 4;

v1::Response Error(const std::string& message) {
  v1::Response r;
  r.set_ok(false);
  r.set_error(message);
  return r;
}

v1::Response Changed(const std::string& id, const std::string& message) {
  v1::Response r;
  r.set_ok(true);
  r.mutable_camera_change()->set_camera_id(id);
  r.mutable_camera_change()->set_message(message);
  return r;
}

std::string JoinIds(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

// Settings read only at start: a reload that changes them warns instead of failing.
std::vector<std::string> StartOnlyChanges(const Config& was, const Config& now) {
  std::vector<std::string> out;
  auto check = [&](bool same, const std::string& what) {
    if (!same) out.push_back(what + " changed: applies at the next start of skynetd");
  };
  auto quoted = [](const std::string& a, const std::string& b) {
    return " ('" + a + "' -> '" + b + "')";
  };
  check(was.node_id == now.node_id, "node_id" + quoted(was.node_id, now.node_id));
  check(was.event_endpoint == now.event_endpoint,
        "event_endpoint" + quoted(was.event_endpoint, now.event_endpoint));
  check(was.control_endpoint == now.control_endpoint,
        "control_endpoint" + quoted(was.control_endpoint, now.control_endpoint));
  check(was.replay_endpoint == now.replay_endpoint,
        "replay_endpoint" + quoted(was.replay_endpoint, now.replay_endpoint));
  check(was.heartbeat_interval_ms == now.heartbeat_interval_ms, "heartbeat_interval_ms");
  check(was.replay_max_events_per_second == now.replay_max_events_per_second,
        "replay_max_events_per_second");
  check(was.analytics_workers == now.analytics_workers, "analytics_workers");
  check(was.dnn == now.dnn, "dnn (threads)");
  check(was.testing == now.testing, "testing (analysis_hold_ms)");
  check(was.journal == now.journal, "journal");
  check(was.records == now.records, "records");
  check(was.evidence == now.evidence, "evidence");
  check(was.security == now.security, "security");
  check(was.control == now.control, "control (audit_log, audit_reads, max_request_bytes)");
  check(was.feed == now.feed, "feed (send_hwm, max_subscribers)");
  check(was.video_quality == now.video_quality, "video_quality");
  return out;
}

// Node-wide settings a reload applies at once: the log level and the start rate limit.
void ApplyRuntimeSettings(const Config& next, Config* running) {
  if (next.log_level != running->log_level) {
    SetLogLevel(next.log_level);
    running->log_level = next.log_level;
  }
  if (next.ingest != running->ingest) {
    ingest::SetStartRateLimit(next.ingest.start_rate_per_second, next.ingest.start_burst);
    running->ingest = next.ingest;
  }
}

// The log line of a reload: "reload of PATH: 1 added, 0 removed, ...; restarted: b".
std::string ReloadSummary(const std::string& path, const v1::ReloadResponse& out) {
  std::string line = "reload of " + path + ": " + std::to_string(out.added_size()) + " added, " +
                     std::to_string(out.removed_size()) + " removed, " +
                     std::to_string(out.restarted_size()) + " restarted, " +
                     std::to_string(out.unchanged_size()) + " unchanged";
  if (out.restarted_size() > 0) line += "; restarted: " + JoinIds(out.restarted());
  if (out.removed_runtime_size() > 0) {
    line += "; runtime cameras removed: " + JoinIds(out.removed_runtime());
  }
  if (out.warnings_size() > 0) line += "; warnings: " + JoinIds(out.warnings());
  return line;
}

}  // namespace

Supervisor::Supervisor(const Config& config, SessionFactory* sessions, EventFeed* feed,
                       Clock* clock)
    : config_(config),
      sessions_(sessions),
      feed_(feed),
      clock_(clock),
      started_us_(clock->NowMonotonicUs()),
      quality_dir_(QualityReferenceDir(config)),
      pool_(WorkerPool::Options{
          config.analytics_workers,
          std::chrono::milliseconds(config.testing.analysis_hold_ms)}) {
  config_.cameras.clear();  // cameras_ is the truth from here on
  for (int i = 0; i < kStopperThreads; ++i) {
    stoppers_.emplace_back([this] { StopperLoop(); });
    pthread_setname_np(stoppers_.back().native_handle(), "cam-stopper");
  }
}

Result<std::unique_ptr<Supervisor>> Supervisor::Create(const Config& config,
                                                       SessionFactory* sessions, EventFeed* feed,
                                                       Clock* clock) {
  std::unique_ptr<Supervisor> sup(new Supervisor(config, sessions, feed, clock));
  for (const CameraConfig& cam : config.cameras) {
    auto runner = sup->NewRunner(cam);
    if (!runner.ok()) return runner.status();
    sup->cameras_.push_back(Camera{std::move(runner).value(), sup->next_session_id_++, false});
  }
  return sup;
}

Supervisor::~Supervisor() { Stop(); }

Result<std::shared_ptr<CameraRunner>> Supervisor::NewRunner(const CameraConfig& config) {
  std::optional<CameraQualityOptions> quality;
  if (config_.video_quality.enabled) {
    quality = QualityOptionsFor(config_.video_quality, config.id, quality_dir_);
  }
  auto runner =
      CameraRunner::Create(config, sessions_, feed_, clock_, quality ? &*quality : nullptr);
  if (!runner.ok()) return runner.status();
  return std::shared_ptr<CameraRunner>(std::move(runner).value());
}

void Supervisor::StartRunner(CameraRunner* runner) {
  if (!runner->config().enabled || !runner->ClaimStart()) return;
  const int worker = pool_.Add(runner);
  runner->Start([this, worker] { pool_.Wake(worker); });
}

void Supervisor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_ || started_) return;
  started_ = true;
  auto log = GetLogger("daemon");
  int started = 0;
  for (Camera& cam : cameras_) {
    if (!cam.runner->config().enabled) continue;
    StartRunner(cam.runner.get());
    ++started;
  }
  log->info("{} of {} cameras started on {} analytics workers", started, cameras_.size(),
            pool_.size());
}

void Supervisor::Stop() {
  std::vector<Job> last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (const Camera& cam : cameras_) last.push_back(Job{cam.runner->config().id, cam.runner, {}});
  }
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    no_more_starts_ = true;
  }
  // The stoppers tear the cameras down in parallel, after any change still pending.
  for (Job& job : last) Enqueue(std::move(job));
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    jobs_quit_ = true;
  }
  jobs_cv_.notify_all();
  for (std::thread& t : stoppers_) t.join();
  stoppers_.clear();
  pool_.Stop();
}

void Supervisor::WaitIdle() {
  std::unique_lock<std::mutex> lock(jobs_mu_);
  jobs_cv_.wait(lock, [this] { return jobs_.empty() && running_jobs_ == 0; });
}

void Supervisor::Enqueue(Job job) {
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    jobs_.push_back(std::move(job));
  }
  jobs_cv_.notify_all();
}

void Supervisor::StopperLoop() {
  std::unique_lock<std::mutex> lock(jobs_mu_);
  while (true) {
    auto next = jobs_.end();
    jobs_cv_.wait(lock, [&] {
      // The oldest job of a camera that has none running: one camera's jobs stay in order.
      next = std::find_if(jobs_.begin(), jobs_.end(),
                          [&](const Job& j) { return busy_ids_.count(j.id) == 0; });
      return next != jobs_.end() || (jobs_quit_ && jobs_.empty());
    });
    if (next == jobs_.end()) return;
    Job job = std::move(*next);
    jobs_.erase(next);
    busy_ids_.insert(job.id);
    ++running_jobs_;
    const bool may_start = !no_more_starts_;
    lock.unlock();

    if (job.stop) {
      pool_.Remove(job.stop.get());  // the worker no longer touches it
      job.stop->Stop();  // bounded, may take seconds on a dead camera
      job.stop.reset();
      // Removed (no camera of that id now, none starting): its per-camera state may go.
      bool gone;
      {
        std::lock_guard<std::mutex> sup_lock(mu_);
        gone = !job.start && FindLocked(job.id) < 0;
      }
      if (gone) sessions_->Released(job.id);
    }
    if (job.start) {
      bool started;
      {
        std::lock_guard<std::mutex> sup_lock(mu_);
        started = started_;
      }
      // Before Start(), Start() itself starts the camera.
      if (may_start && started) StartRunner(job.start.get());
      if (!job.start->config().enabled) job.start->PublishStatus();
      job.start.reset();
    }

    lock.lock();
    busy_ids_.erase(job.id);
    --running_jobs_;
    jobs_cv_.notify_all();
  }
}

int Supervisor::FindLocked(const std::string& id) const {
  for (size_t i = 0; i < cameras_.size(); ++i) {
    if (cameras_[i].runner->config().id == id) return static_cast<int>(i);
  }
  return -1;
}

void Supervisor::ReplaceLocked(size_t index, std::shared_ptr<CameraRunner> runner) {
  Camera& cam = cameras_[index];
  std::shared_ptr<CameraRunner> old = std::move(cam.runner);
  cam.runner = runner;
  cam.session_id = next_session_id_++;
  Enqueue(Job{runner->config().id, std::move(old), std::move(runner)});
}

EventBus::HeartbeatInfo Supervisor::Heartbeat() const {
  std::lock_guard<std::mutex> lock(mu_);
  EventBus::HeartbeatInfo info;
  info.cameras_total = static_cast<uint32_t>(cameras_.size());
  for (const Camera& cam : cameras_) {
    if (cam.runner->online()) ++info.cameras_online;
  }
  return info;
}

NodeStats Supervisor::Stats() const {
  NodeStats stats;
  stats.feed = feed_->stats();
  std::lock_guard<std::mutex> lock(mu_);
  stats.cameras.resize(cameras_.size());
  for (size_t i = 0; i < cameras_.size(); ++i) cameras_[i].runner->FillStats(&stats.cameras[i]);
  return stats;
}

v1::Response Supervisor::AddCamera(const v1::AddCameraRequest& request) {
  CameraConfig cam;
  if (!request.yaml().empty()) {
    if (!request.id().empty() || !request.url().empty() || !request.name().empty() ||
        request.analytics_fps() != 0 || request.detect_width() != 0 || request.disabled()) {
      return Error("add_camera: give either yaml or the fields, not both");
    }
    Result<CameraConfig> parsed = ParseCameraConfig(request.yaml(), "add_camera");
    if (!parsed.ok()) return Error(parsed.status().message());
    cam = std::move(parsed).value();
  } else {
    cam.id = request.id();
    cam.name = request.name().empty() ? request.id() : request.name();
    cam.url = request.url();
    if (request.analytics_fps() != 0) cam.ingest.analytics_fps = request.analytics_fps();
    if (request.detect_width() != 0) {
      cam.ingest.detect_width = static_cast<int>(request.detect_width());
    }
    cam.enabled = !request.disabled();
    if (Status st = ValidateCameraConfig(cam); !st.ok())
      return Error("add_camera: " + st.message());
  }
  auto runner = NewRunner(cam);
  if (!runner.ok()) return Error("add_camera: " + runner.status().message());

  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return Error("add_camera: skynetd is shutting down");
  if (FindLocked(cam.id) >= 0) return Error("add_camera: camera '" + cam.id + "' exists already");
  cameras_.push_back(Camera{*runner, next_session_id_++, true});
  // Through the stopper queue: should a camera of this id still be stopping (removed just
  // before), the new one starts after it.
  Enqueue(Job{cam.id, {}, std::move(runner).value()});
  GetLogger("daemon")->info("[cam {}] added at runtime{}", cam.id,
                            cam.enabled ? "" : " (disabled)");
  return Changed(cam.id, cam.enabled ? "added, starting" : "added, disabled");
}

v1::Response Supervisor::RemoveCamera(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return Error("remove_camera: skynetd is shutting down");
  const int index = FindLocked(id);
  if (index < 0) return Error("remove_camera: no camera with id '" + id + "'");
  Enqueue(Job{id, std::move(cameras_[index].runner), {}});
  cameras_.erase(cameras_.begin() + index);
  GetLogger("daemon")->info("[cam {}] removed at runtime", id);
  return Changed(id, "removed, stopping in the background");
}

v1::Response Supervisor::SetEnabled(const std::string& id, bool enabled) {
  const std::string command = enabled ? "enable_camera" : "disable_camera";
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return Error(command + ": skynetd is shutting down");
  const int index = FindLocked(id);
  if (index < 0) return Error(command + ": no camera with id '" + id + "'");
  CameraConfig cam = cameras_[index].runner->config();
  if (cam.enabled == enabled) return Changed(id, enabled ? "already enabled" : "already disabled");
  cam.enabled = enabled;
  // Creating a runner neither connects nor blocks (CameraSession::Create checks options only).
  auto runner = NewRunner(cam);
  if (!runner.ok()) return Error(command + ": " + runner.status().message());
  ReplaceLocked(static_cast<size_t>(index), std::move(runner).value());
  GetLogger("daemon")->info("[cam {}] {} at runtime", id, enabled ? "enabled" : "disabled");
  return Changed(id, enabled ? "enabled, starting" : "disabled, stopping in the background");
}

v1::Response Supervisor::AcceptView(const std::string& id) {
  std::shared_ptr<CameraRunner> runner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int index = FindLocked(id);
    if (index < 0) return Error("accept_view: no camera with id '" + id + "'");
    runner = cameras_[index].runner;
  }
  // Outside mu_: it writes the reference file.
  const Status st = runner->AcceptView();
  if (st.code() == StatusCode::kIoError) {
    return Error("accept_view: the view is accepted but not kept: " + st.message());
  }
  if (!st.ok()) return Error("accept_view: " + st.message());
  return Changed(id, "current view accepted as the video quality reference");
}

Result<v1::ReloadResponse> Supervisor::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  auto log = GetLogger("daemon");
  Result<Config> loaded = LoadConfigFile(config_.path);
  if (!loaded.ok()) {
    log->error("reload rejected, running config kept: {}", loaded.status().message());
    return loaded.status();
  }
  const Config& next = *loaded;

  v1::ReloadResponse out;
  out.set_config_path(config_.path);
  std::vector<Camera> cameras;
  std::vector<Job> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return Status::Unavailable("skynetd is shutting down");
    // New sessions first: should one fail, nothing has changed yet.
    std::vector<std::shared_ptr<CameraRunner>> fresh(next.cameras.size());
    for (size_t i = 0; i < next.cameras.size(); ++i) {
      const CameraConfig& cam = next.cameras[i];
      const int index = FindLocked(cam.id);
      if (index >= 0 && cameras_[index].runner->config() == cam) continue;
      auto runner = NewRunner(cam);
      if (!runner.ok()) {
        log->error("reload rejected, running config kept: {}", runner.status().message());
        return runner.status();
      }
      fresh[i] = std::move(runner).value();
    }
    std::vector<bool> kept(cameras_.size(), false);
    for (size_t i = 0; i < next.cameras.size(); ++i) {
      const std::string& id = next.cameras[i].id;
      const int index = FindLocked(id);
      if (index >= 0) kept[index] = true;
      if (!fresh[i]) {
        cameras.push_back(cameras_[index]);
        cameras.back().runtime = false;  // the file has it now
        out.add_unchanged(id);
        continue;
      }
      cameras.push_back(Camera{fresh[i], next_session_id_++, false});
      if (index >= 0) {
        out.add_restarted(id);
        jobs.push_back(Job{id, cameras_[index].runner, fresh[i]});
      } else {
        out.add_added(id);
        jobs.push_back(Job{id, {}, fresh[i]});
      }
    }
    for (size_t i = 0; i < cameras_.size(); ++i) {
      if (kept[i]) continue;
      const std::string& id = cameras_[i].runner->config().id;
      out.add_removed(id);
      if (cameras_[i].runtime) out.add_removed_runtime(id);
      jobs.push_back(Job{id, cameras_[i].runner, {}});
    }
    cameras_ = std::move(cameras);
    for (Job& job : jobs) Enqueue(std::move(job));
  }

  for (std::string& w : StartOnlyChanges(config_, next)) out.add_warnings(std::move(w));
  ApplyRuntimeSettings(next, &config_);
  const std::string line = ReloadSummary(config_.path, out);
  if (out.warnings_size() > 0) {
    log->warn("{}", line);
  } else {
    log->info("{}", line);
  }
  return out;
}

v1::Response Supervisor::HandleRequest(const v1::Request& request) {
  switch (request.command_case()) {
    case v1::Request::kAddCamera:
      return AddCamera(request.add_camera());
    case v1::Request::kRemoveCamera:
      return RemoveCamera(request.remove_camera().camera_id());
    case v1::Request::kEnableCamera:
      return SetEnabled(request.enable_camera().camera_id(), true);
    case v1::Request::kDisableCamera:
      return SetEnabled(request.disable_camera().camera_id(), false);
    case v1::Request::kAcceptView:
      return AcceptView(request.accept_view().camera_id());
    case v1::Request::kReload: {
      Result<v1::ReloadResponse> r = Reload();
      if (!r.ok()) return Error("reload rejected, running config kept: " + r.status().message());
      v1::Response response;
      response.set_ok(true);
      *response.mutable_reload() = std::move(r).value();
      return response;
    }
    default:
      break;
  }

  v1::Response response;
  std::lock_guard<std::mutex> lock(mu_);
  switch (request.command_case()) {
    case v1::Request::kListCameras: {
      auto* list = response.mutable_list_cameras();
      for (const Camera& cam : cameras_) {
        v1::CameraInfo* info = list->add_cameras();
        cam.runner->FillInfo(info);
        info->set_runtime(cam.runtime);
      }
      response.set_ok(true);
      break;
    }
    case v1::Request::kStatus: {
      const std::string& want = request.status().camera_id();
      auto* st = response.mutable_status();
      const FeedStats feed = feed_->stats();
      st->set_node_id(feed.node_id);
      st->set_epoch(feed.epoch);
      st->set_last_seq(feed.last_seq);
      st->set_uptime_seconds(static_cast<double>(clock_->NowMonotonicUs() - started_us_) / 1e6);
      st->set_version(SKYNET_VERSION);
      *st->mutable_journal() = feed.journal_status;
      v1::FeedStatus* fs = st->mutable_feed();
      fs->set_subscribers(static_cast<uint32_t>(feed.subscribers));
      fs->set_max_subscribers(static_cast<uint32_t>(feed.max_subscribers));
      fs->set_subscribers_refused(feed.subscribers_refused);
      fs->set_send_hwm(static_cast<uint32_t>(feed.send_hwm));
      uint32_t overloaded = 0;
      int shared = 0;
      double share_sum = 0;
      for (const Camera& cam : cameras_) {
        const CameraRunner::Load l = cam.runner->load();
        if (l.overloaded) ++overloaded;
        if (!cam.runner->online()) continue;
        ++shared;
        share_sum += l.share;
      }
      st->set_overloaded(overloaded > 0);
      st->set_overloaded_cameras(overloaded);
      st->set_analysis_share(shared > 0 ? share_sum / shared : 1.0);
      bool found = want.empty();
      for (const Camera& cam : cameras_) {
        if (!want.empty() && cam.runner->config().id != want) continue;
        found = true;
        v1::CameraStatusInfo* info = st->add_cameras();
        cam.runner->FillStatus(info);
        info->set_session_id(cam.session_id);
      }
      if (!found) {
        response.clear_status();
        response.set_ok(false);
        response.set_error("status: no camera with id '" + want + "'");
      } else {
        response.set_ok(true);
      }
      break;
    }
    case v1::Request::kQuality: {
      const std::string& want = request.quality().camera_id();
      auto* q = response.mutable_quality();
      for (const Camera& cam : cameras_) {
        if (!want.empty() && cam.runner->config().id != want) continue;
        cam.runner->FillQuality(q->add_cameras());
      }
      if (!want.empty() && q->cameras_size() == 0) {
        response.clear_quality();
        response.set_ok(false);
        response.set_error("quality: no camera with id '" + want + "'");
      } else {
        response.set_ok(true);
      }
      break;
    }
    default:
      response.set_ok(false);
      response.set_error("empty request");
      break;
  }
  return response;
}

}  // namespace skynet::daemon
