#include "daemon/camera_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include "daemon/event_mapping.h"
#include "pipeline/core/logging.h"

namespace skynet::daemon {
namespace {

v1::CameraState ToProto(ingest::SessionState s) {
  switch (s) {
    case ingest::SessionState::kConnecting: return v1::CAMERA_STATE_CONNECTING;
    case ingest::SessionState::kOnline: return v1::CAMERA_STATE_ONLINE;
    case ingest::SessionState::kStalled: return v1::CAMERA_STATE_STALLED;
    case ingest::SessionState::kWaiting: return v1::CAMERA_STATE_WAITING;
    case ingest::SessionState::kOffline: return v1::CAMERA_STATE_OFFLINE;
    case ingest::SessionState::kStopped: return v1::CAMERA_STATE_OFFLINE;
    // Data arrives but analytics does not keep up: still online (no reconnect), and the reason
    // DOWNSTREAM_BLOCKED says why the frame rates fall.
    case ingest::SessionState::kBlocked: return v1::CAMERA_STATE_ONLINE;
    case ingest::SessionState::kDegraded: return v1::CAMERA_STATE_DEGRADED;
  }
  return v1::CAMERA_STATE_UNSPECIFIED;
}

v1::StatusReason ToProto(ingest::StateReason r) {
  switch (r) {
    case ingest::StateReason::kStarted: return v1::STATUS_REASON_STARTED;
    case ingest::StateReason::kConnected: return v1::STATUS_REASON_CONNECTED;
    case ingest::StateReason::kRefused: return v1::STATUS_REASON_REFUSED;
    case ingest::StateReason::kNotFound: return v1::STATUS_REASON_NOT_FOUND;
    case ingest::StateReason::kAuthFailed: return v1::STATUS_REASON_AUTH_FAILED;
    case ingest::StateReason::kTimeout: return v1::STATUS_REASON_TIMEOUT;
    case ingest::StateReason::kStall: return v1::STATUS_REASON_STALL;
    case ingest::StateReason::kEndOfStream: return v1::STATUS_REASON_END_OF_STREAM;
    case ingest::StateReason::kDecodeError: return v1::STATUS_REASON_DECODE_ERROR;
    case ingest::StateReason::kUnsupportedCodec: return v1::STATUS_REASON_UNSUPPORTED_CODEC;
    case ingest::StateReason::kStopped: return v1::STATUS_REASON_STOPPED;
    case ingest::StateReason::kError: return v1::STATUS_REASON_ERROR;
    case ingest::StateReason::kDownstreamBlocked: return v1::STATUS_REASON_DOWNSTREAM_BLOCKED;
    case ingest::StateReason::kStreamChanged: return v1::STATUS_REASON_CONNECTED;  // an event
  }
  return v1::STATUS_REASON_UNSPECIFIED;
}

// Frames arrive (cleanly or not): the online period goes on.
bool Flowing(int state) {
  return state == v1::CAMERA_STATE_ONLINE || state == v1::CAMERA_STATE_DEGRADED;
}

}  // namespace

CameraRunner::CameraRunner(const CameraConfig& config, EventSink* sink, Clock* clock)
    : config_(config),
      sink_(sink),
      vehicle_sink_([this](v1::Event ev) { Publish(std::move(ev)); }),
      clock_(clock) {
  if (config.enabled) {
    state_.store(v1::CAMERA_STATE_CONNECTING);
    reason_ = v1::STATUS_REASON_STARTED;
  } else {
    state_.store(v1::CAMERA_STATE_DISABLED);
    reason_ = v1::STATUS_REASON_STOPPED;
    detail_ = "disabled";
  }
}

Result<std::unique_ptr<CameraRunner>> CameraRunner::Create(
    const CameraConfig& config, SessionFactory* sessions, EventSink* sink, Clock* clock,
    const CameraQualityOptions* quality) {
  std::unique_ptr<CameraRunner> runner(new CameraRunner(config, sink, clock));
  auto motion = analytics::MotionDetector::Create(config.motion);
  if (!motion.ok()) {
    return Status::InvalidArgument("cameras." + config.id + ".motion: " + motion.status().message());
  }
  runner->motion_ = std::move(motion).value();
  if (VehiclesRun(config)) {
    auto vehicles = VehiclePipeline::Create(config.id, config.vehicles, config.motion.masks);
    if (!vehicles.ok()) {
      return Status(vehicles.status().code(),
                    "cameras." + config.id + "." + vehicles.status().message());
    }
    runner->vehicles_ = std::move(vehicles).value();
    if (sink->wants_evidence()) {
      runner->vehicles_->set_evidence_sink(
          [sink, id = config.id](uint64_t track, EvidenceSnapshot s) {
            sink->PublishEvidence(id, track, std::move(s));
          });
    }
  }
  if (quality != nullptr) {
    CameraQualityOptions q = *quality;
    q.camera_id = config.id;
    auto monitor = CameraQuality::Create(q, clock);
    if (!monitor.ok()) {
      return Status::InvalidArgument("video_quality: " + monitor.status().message());
    }
    runner->quality_ = std::move(monitor).value();
  }
  ingest::CameraSession::Callbacks callbacks;
  CameraRunner* self = runner.get();
  callbacks.on_frame = [self](Frame&& f) { self->OnFrame(std::move(f)); };
  callbacks.on_state = [self](const ingest::StateChange& c) { self->OnState(c); };
  auto session = sessions->Create(SourceOptionsFor(config), std::move(callbacks));
  if (!session.ok()) {
    return Status::InvalidArgument("cameras." + config.id + ": " + session.status().message());
  }
  runner->session_ = std::move(session).value();
  return runner;
}

CameraRunner::~CameraRunner() { Stop(); }

void CameraRunner::Start(Wakeup wakeup) {
  wakeup_ = std::move(wakeup);
  session_->Start();
}

void CameraRunner::Stop() {
  CloseOpenIntervals();
  if (session_) session_->Stop();
  queue_.Close();
}

void CameraRunner::CloseOpenIntervals() {
  if (closed_.exchange(true)) return;
  if (last_capture_us_ == 0 && last_stream_us_ == 0) return;  // nothing analysed
  const analytics::MotionObservation obs = motion_->Close();
  if (obs.event == analytics::MotionEventType::kEnded) {
    v1::Event ev = NewEvent(last_capture_us_);
    ev.set_stream_time_us(last_stream_us_);
    FillMotionEvent(obs, &ev);
    motion_events_.fetch_add(1, std::memory_order_relaxed);
    Publish(std::move(ev));
  }
  motion_active_.store(false, std::memory_order_relaxed);
  if (vehicles_) vehicles_->Close(vehicle_sink_);
}

void CameraRunner::OnFrame(Frame&& frame) noexcept {
  frames_in_.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = clock_->NowMonotonicUs();
  fps_in_.Tick(now);
  offered_window_.Record(now);
  // False: the oldest frame was dropped (or the queue is closed, after which nothing counts).
  if (!queue_.Push(std::move(frame))) dropped_window_.Record(now);
  if (wakeup_) wakeup_();
}

void CameraRunner::OnState(const ingest::StateChange& change) noexcept {
  const v1::CameraState state = ToProto(change.state);
  const v1::StatusReason reason = ToProto(change.reason);
  const int64_t now = clock_->NowMonotonicUs();
  if (change.state == ingest::SessionState::kConnecting) {
    if (connecting_seen_) reconnects_1h_.Record(now);
    connecting_seen_ = true;
  }
  if (change.state == ingest::SessionState::kStalled) stalls_1h_.Record(now);
  std::optional<v1::StreamChanged> stream_changed;
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    reason_ = reason;
    detail_ = change.detail;
    // A codec or size unlike the last one known: the stream changed (mid-stream, or across a
    // reconnect). The detector re-initialises itself on the new frame size.
    const bool codec_changed = !change.codec.empty() && !codec_.empty() && change.codec != codec_;
    const bool size_changed =
        change.width > 0 && width_ > 0 && (change.width != width_ || change.height != height_);
    if (codec_changed || size_changed) {
      v1::StreamChanged sc;
      sc.set_old_codec(codec_);
      sc.set_new_codec(change.codec.empty() ? codec_ : change.codec);
      sc.set_old_width(static_cast<uint32_t>(width_));
      sc.set_old_height(static_cast<uint32_t>(height_));
      sc.set_new_width(static_cast<uint32_t>(change.width > 0 ? change.width : width_));
      sc.set_new_height(static_cast<uint32_t>(change.width > 0 ? change.height : height_));
      stream_changed = std::move(sc);
    }
    if (!change.codec.empty()) codec_ = change.codec;
    if (change.width > 0) { width_ = change.width; height_ = change.height; }
  }
  const int previous = state_.exchange(state);
  if (Flowing(state) && !Flowing(previous)) {
    online_since_us_.store(clock_->NowMonotonicUs());
  }
  // A stream change while online is reported as StreamChanged alone, not as a repeated status.
  if (!(change.reason == ingest::StateReason::kStreamChanged && previous == state)) {
    v1::Event ev = NewEvent(clock_->NowWallUs());
    auto* s = ev.mutable_camera_status();
    s->set_state(state);
    s->set_reason(reason);
    s->set_detail(change.detail);
    s->set_codec(change.codec);
    s->set_width(static_cast<uint32_t>(std::max(0, change.width)));
    s->set_height(static_cast<uint32_t>(std::max(0, change.height)));
    s->set_detection_latency_ms(static_cast<uint32_t>(
        std::clamp<int64_t>(change.detection_latency_us / 1000, 0, UINT32_MAX)));
    Publish(std::move(ev));
  }
  if (stream_changed) {
    v1::Event sc = NewEvent(clock_->NowWallUs());
    *sc.mutable_stream_changed() = std::move(*stream_changed);
    Publish(std::move(sc));
  }
}

void CameraRunner::PublishStatus() {
  v1::Event ev = NewEvent(clock_->NowWallUs());
  auto* s = ev.mutable_camera_status();
  s->set_state(static_cast<v1::CameraState>(state_.load()));
  std::lock_guard<std::mutex> lock(status_mu_);
  s->set_reason(reason_);
  s->set_detail(detail_);
  s->set_codec(codec_);
  s->set_width(static_cast<uint32_t>(width_));
  s->set_height(static_cast<uint32_t>(height_));
  Publish(std::move(ev));
}

bool CameraRunner::ProcessOne() {
  auto frame = queue_.TryPop();
  if (!frame) return false;
  Analyse(*frame);
  return true;
}

double CameraRunner::OfferedRate() const {
  const double measured = fps_in_.PerSecond(clock_->NowMonotonicUs());
  return measured > 0 ? measured : config_.ingest.analytics_fps;
}

CameraRunner::Load CameraRunner::load() const {
  const int64_t now = clock_->NowMonotonicUs();
  const uint64_t offered = offered_window_.Count(now);
  const uint64_t dropped = std::min(dropped_window_.Count(now), offered);
  Load l;
  if (offered == 0) return l;
  l.share = 1.0 - static_cast<double>(dropped) / static_cast<double>(offered);
  l.overloaded = static_cast<double>(dropped) > kOverloadDropShare * static_cast<double>(offered);
  return l;
}

void CameraRunner::Analyse(const Frame& frame) {
  if (frame.image.empty()) return;
  const auto start = std::chrono::steady_clock::now();
  fps_analysed_.Tick(clock_->NowMonotonicUs());
  last_capture_us_ = frame.capture_time_us;
  last_stream_us_ = frame.stream_time_us;
  // Video quality in every tier (health: on key frames), about once a second.
  if (quality_) {
    std::vector<v1::VideoQuality> changes;
    quality_->Sample(frame.image, frame.capture_time_us, &changes);
    for (v1::VideoQuality& change : changes) {
      v1::Event ev = NewEvent(frame.capture_time_us);
      ev.set_stream_time_us(frame.stream_time_us);
      *ev.mutable_video_quality() = std::move(change);
      Publish(std::move(ev));
    }
  }
  // Health tier: key frames only, no motion or vehicle analytics.
  if (config_.ingest.analytics == ingest::AnalyticsTier::kHealth) {
    frames_analysed_.fetch_add(1, std::memory_order_release);
    return;
  }
  // The detector re-initialises itself when the frame size changes.
  const analytics::MotionObservation obs = motion_->Process(frame.image, frame.capture_time_us);
  motion_active_.store(obs.active, std::memory_order_relaxed);
  if (obs.event != analytics::MotionEventType::kNone) {
    v1::Event ev = NewEvent(frame.capture_time_us);
    ev.set_stream_time_us(frame.stream_time_us);
    FillMotionEvent(obs, &ev);
    motion_events_.fetch_add(1, std::memory_order_relaxed);
    Publish(std::move(ev));
  }
  if (vehicles_) vehicles_->Process(frame, obs, vehicle_sink_);
  SnapshotAnalyticsStats();
  // Counted once analysed, so that whoever sees the count also sees the frame's statistics.
  frames_analysed_.fetch_add(1, std::memory_order_release);
  analysis_seconds_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void CameraRunner::Publish(v1::Event event) {
  events_.fetch_add(1, std::memory_order_relaxed);
  sink_->Publish(std::move(event));
}

void CameraRunner::SnapshotAnalyticsStats() {
  // A copy of a few hundred bytes per analysed frame, under a lock only FillStats() takes.
  std::lock_guard<std::mutex> lock(stats_mu_);
  motion_stats_ = motion_->stats();
  if (!vehicles_) return;
  vehicle_stats_.pipeline = vehicles_->stats();
  vehicle_stats_.analytics = vehicles_->analytics().stats();
  if (const auto* c = vehicles_->classical_stats()) vehicle_stats_.classical = *c;
  if (const auto* d = vehicles_->dnn_stats()) vehicle_stats_.dnn = *d;
}

v1::Event CameraRunner::NewEvent(int64_t capture_time_us) const {
  v1::Event ev;
  ev.set_camera_id(config_.id);
  ev.set_capture_time_us(capture_time_us);
  return ev;
}

void CameraRunner::FillInfo(v1::CameraInfo* info) const {
  info->set_id(config_.id);
  info->set_name(config_.name.empty() ? config_.id : config_.name);
  info->set_url(RedactUrl(config_.url));
  info->set_enabled(config_.enabled);
  info->set_analytics_fps(config_.ingest.analytics_fps);
  info->set_detect_width(static_cast<uint32_t>(config_.ingest.detect_width));
  info->set_analytics(ingest::AnalyticsTierName(config_.ingest.analytics));
}

void CameraRunner::FillStatus(v1::CameraStatusInfo* s) const {
  const int64_t now = clock_->NowMonotonicUs();
  const auto state = static_cast<v1::CameraState>(state_.load());
  s->set_id(config_.id);
  s->set_state(state);
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    s->set_reason(reason_);
    s->set_detail(detail_);
    s->set_codec(codec_);
    s->set_width(static_cast<uint32_t>(width_));
    s->set_height(static_cast<uint32_t>(height_));
  }
  s->set_fps_in(fps_in_.PerSecond(now));
  s->set_fps_analysed(fps_analysed_.PerSecond(now));
  s->set_frames_in(frames_in_.load());
  s->set_frames_analysed(frames_analysed_.load());
  s->set_frames_dropped(queue_.dropped());
  s->set_motion_active(motion_active_.load());
  s->set_motion_events(motion_events_.load());
  s->set_analytics(ingest::AnalyticsTierName(config_.ingest.analytics));
  if (session_) {
    const ingest::SessionStats st = session_->stats();
    s->set_reconnects(st.reconnects);
    s->set_units_skipped(st.units_skipped);
  }
  if (Flowing(state)) {
    s->set_online_seconds(static_cast<double>(now - online_since_us_.load()) / 1e6);
  }
  const Load l = load();
  s->set_overloaded(l.overloaded);
  s->set_analysis_share(l.share);
  s->set_reconnects_last_hour(reconnects_1h_.Count(now));
  s->set_stalls_last_hour(stalls_1h_.Count(now));
  HealthFigures h;
  h.enabled = state != v1::CAMERA_STATE_DISABLED;
  h.online = Flowing(state);
  h.degraded = state == v1::CAMERA_STATE_DEGRADED;
  h.online_seconds = s->online_seconds();
  // Health tier: the key-frame rate is the stream's, not a target to judge.
  h.target_fps = config_.ingest.analytics == ingest::AnalyticsTier::kHealth
                     ? 0
                     : config_.ingest.analytics_fps;
  h.fps_analysed = s->fps_analysed();
  h.frames_in = s->frames_in();
  h.frames_dropped = s->frames_dropped();
  h.reconnects_last_hour = s->reconnects_last_hour();
  h.stalls_last_hour = s->stalls_last_hour();
  if (quality_) {
    s->set_quality(quality_->worst());
    for (std::string& f : quality_->faults()) s->add_quality_faults(std::move(f));
    h.quality_fault = s->quality() == v1::QUALITY_STATE_FAULT;
  }
  s->set_grade(GradeCamera(h));
}

void CameraRunner::FillQuality(v1::CameraQualityInfo* info) const {
  if (quality_) {
    quality_->FillInfo(info);
  } else {
    info->set_camera_id(config_.id);
    info->set_enabled(false);
  }
}

Status CameraRunner::AcceptView() {
  if (!quality_) return Status::Unavailable("video quality diagnostics are off (video_quality)");
  return quality_->AcceptView();
}

void CameraRunner::FillStats(CameraStats* stats) const {
  const int64_t now = clock_->NowMonotonicUs();
  stats->camera_id = config_.id;
  stats->state = static_cast<v1::CameraState>(state_.load());
  stats->fps_in = fps_in_.PerSecond(now);
  stats->fps_analysed = fps_analysed_.PerSecond(now);
  stats->analysis_seconds = analysis_seconds_.snapshot();
  if (session_) stats->session = session_->stats();
  stats->frames_queued = frames_in_.load();
  stats->queue_drops = queue_.dropped();
  const Load l = load();
  stats->analysis_share = l.share;
  stats->overloaded = l.overloaded;
  stats->frames_analysed = frames_analysed_.load();
  stats->events = events_.load();
  stats->vehicles = vehicles_ != nullptr;
  if (quality_) stats->quality = quality_->checks();
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats->motion = motion_stats_;
  stats->vehicle = vehicle_stats_;
}

}  // namespace skynet::daemon
