#include "pipeline/ingest/camera_session.h"

#include <gst/gst.h>
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "pipeline/core/logging.h"
#include "pipeline/ingest/backoff.h"
#include "pipeline/ingest/decode_health.h"
#include "pipeline/ingest/decoder_log.h"
#include "pipeline/ingest/ingest_pipeline.h"
#include "pipeline/ingest/redactor.h"
#include "pipeline/ingest/tcp_probe.h"

namespace skynet::ingest {
namespace {

constexpr int kPollMs = 100;
constexpr int kProbeTimeoutMs = 1000;
// A connection that stayed online this long resets the backoff to its initial delay.
constexpr int64_t kBackoffResetOnlineUs = 30'000'000;
constexpr int64_t kReportIntervalUs = 60'000'000;

bool HasFactory(const char* name) {
  GstElementFactory* f = gst_element_factory_find(name);  // transfer full
  if (!f) return false;
  gst_object_unref(f);
  return true;
}

}  // namespace

Status InitGStreamer() {
  static std::once_flag once;
  static Status status;
  std::call_once(once, [] {
    GError* err = nullptr;
    if (!gst_init_check(nullptr, nullptr, &err)) {
      status = Status::Internal(std::string("gst_init failed: ") + (err ? err->message : "?"));
      if (err) g_error_free(err);
      return;
    }
    InstallDecoderLog();
  });
  return status;
}

struct CameraSession::Impl {
  SourceOptions options;
  Callbacks callbacks;
  Clock* clock;
  StartLimiter* limiter;
  Redactor redactor;
  bool is_file;
  std::shared_ptr<spdlog::logger> log = GetLogger("ingest");
  std::shared_ptr<SessionCounters> counters = std::make_shared<SessionCounters>();

  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // guarded by mu
  bool started = false;   // Start/Stop caller only

  std::atomic<SessionState> state{SessionState::kConnecting};
  std::atomic<StateReason> reason{StateReason::kStarted};
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> stalls{0};
  std::atomic<uint64_t> decode_errors{0};
  std::atomic<uint64_t> blocked{0};
  std::atomic<uint64_t> degraded{0};
  std::atomic<uint64_t> stream_changes{0};
  std::atomic<uint64_t> teardowns_abandoned{0};
  std::atomic<uint64_t> probe_shortcuts{0};
  std::atomic<int64_t> online_since_us{0};
  // Session thread only: what the last online period decoded, for kStreamChanged.
  std::string last_codec;
  int last_width = 0;
  int last_height = 0;

  Impl(SourceOptions o, Callbacks cb, Clock* c, StartLimiter* l)
      : options(std::move(o)),
        callbacks(std::move(cb)),
        clock(c),
        limiter(l),
        redactor(options.url, options.password),
        is_file(options.url.rfind("file://", 0) == 0) {}

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu);
    return stopping;
  }

  // Sleeps `ms` on the session Clock; false if Stop() interrupted it.
  bool SleepUnlessStopped(int64_t ms) {
    const int64_t deadline = clock->NowMonotonicUs() + ms * 1000;
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      const int64_t left_us = deadline - clock->NowMonotonicUs();
      if (left_us <= 0) return true;
      cv.wait_for(lock, std::chrono::microseconds(std::min<int64_t>(left_us, 50'000)));
    }
    return false;
  }

  // Frames flow (maybe slowly or damaged): the online period goes on.
  static bool Flowing(SessionState s) {
    return s == SessionState::kOnline || s == SessionState::kBlocked ||
           s == SessionState::kDegraded;
  }

  void Emit(SessionState s, StateReason r, std::string detail, int64_t retry_in_ms = 0,
            const StateChange* previous = nullptr, int64_t detection_latency_us = 0) {
    const SessionState before = state.exchange(s);
    reason.store(r);
    if (!Flowing(s)) {
      online_since_us.store(0);
    } else if (!Flowing(before)) {
      online_since_us.store(clock->NowMonotonicUs());
    }
    StateChange change;
    if (previous) {
      change.previous_codec = previous->previous_codec;
      change.previous_width = previous->previous_width;
      change.previous_height = previous->previous_height;
    }
    change.state = s;
    change.reason = r;
    change.detail = redactor(std::move(detail));
    {
      std::lock_guard<std::mutex> lock(counters->mu);
      change.codec = counters->codec;
    }
    change.width = counters->width.load();
    change.height = counters->height.load();
    change.retry_in_ms = retry_in_ms;
    change.detection_latency_us = detection_latency_us;
    if (s == SessionState::kOnline && r == StateReason::kStreamChanged) {
      log->info("[cam {}] stream changed: {} {}x{} -> {} {}x{}", options.camera_id,
                change.previous_codec, change.previous_width, change.previous_height,
                change.codec, change.width, change.height);
    } else if (s == SessionState::kOnline) {
      log->info("[cam {}] online: {} {}x{}{}", options.camera_id, change.codec, change.width,
                change.height, change.detail.empty() ? "" : " (" + change.detail + ")");
    } else if (s == SessionState::kBlocked) {
      log->warn("[cam {}] blocked ({}): {}", options.camera_id, StateReasonName(r), change.detail);
    } else if (s == SessionState::kDegraded) {
      log->warn("[cam {}] degraded ({}, detected in {} ms): {}", options.camera_id,
                StateReasonName(r), detection_latency_us / 1000, change.detail);
    } else {
      log->info("[cam {}] {} ({}){}{}", options.camera_id, SessionStateName(s), StateReasonName(r),
                change.detail.empty() ? "" : ": ", change.detail);
    }
    if (!callbacks.on_state) return;
    try {
      callbacks.on_state(change);
    } catch (...) {
      counters->callback_exceptions.fetch_add(1);
    }
  }

  struct Outcome {
    StateReason reason = StateReason::kError;
    std::string detail;
    bool stopped = false;   // Stop() was called
    bool finished = false;  // a file without loop ended
    bool stalled = false;
    bool was_online = false;
    int64_t online_us = 0;
  };

  // The periodic totals line (the per-frame path only counts).
  void ReportTotals() {
    log->info("[cam {}] frames in {} delivered {} bytes in {} reconnects {} stalls {}{}",
              options.camera_id, counters->frames_in.load(), counters->frames_delivered.load(),
              counters->bytes_in.load(), reconnects.load(), stalls.load(),
              counters->callback_exceptions.load()
                  ? " callback exceptions " + std::to_string(counters->callback_exceptions.load())
                  : std::string());
  }

  // After a pipeline went online: reports a codec or size different from the last online
  // period (a camera reconfigured while we were away).
  void NoteOnline() {
    std::string codec;
    {
      std::lock_guard<std::mutex> lock(counters->mu);
      codec = counters->codec;
    }
    const int w = counters->width.load(), h = counters->height.load();
    const bool changed =
        !last_codec.empty() && (codec != last_codec || w != last_width || h != last_height);
    StateChange prev;
    prev.previous_codec = last_codec;
    prev.previous_width = last_width;
    prev.previous_height = last_height;
    last_codec = codec;
    last_width = w;
    last_height = h;
    if (changed) {
      stream_changes.fetch_add(1);
      Emit(SessionState::kOnline, StateReason::kStreamChanged,
           prev.previous_codec + " " + std::to_string(prev.previous_width) + "x" +
               std::to_string(prev.previous_height) + " -> " + codec + " " + std::to_string(w) +
               "x" + std::to_string(h),
           0, &prev);
    }
  }

  // What RunPipeline tracks while one pipeline plays (session thread).
  struct RunState {
    int64_t start_us = 0;
    int64_t online_at_us = 0;  // 0 until the first frame
    int64_t last_report_us = 0;
    bool clock_warned = false;
    bool is_blocked = false;
    DecodeHealth health;  // judged while online and not blocked
  };

  Outcome Finish(const RunState& run, Outcome o) {
    o.was_online = run.online_at_us != 0;
    o.online_us = run.online_at_us ? clock->NowMonotonicUs() - run.online_at_us : 0;
    return o;
  }

  // A size change reported by the decoder while this pipeline plays.
  void OnStreamChanged(const PipelineEvent& ev, bool is_blocked) {
    StateChange prev;
    prev.previous_width = ev.previous_width;
    prev.previous_height = ev.previous_height;
    {
      std::lock_guard<std::mutex> lock(counters->mu);
      prev.previous_codec = counters->codec;
    }
    last_width = counters->width.load();
    last_height = counters->height.load();
    stream_changes.fetch_add(1);
    Emit(is_blocked ? SessionState::kBlocked : SessionState::kOnline, StateReason::kStreamChanged,
         std::to_string(ev.previous_width) + "x" + std::to_string(ev.previous_height) + " -> " +
             std::to_string(last_width) + "x" + std::to_string(last_height),
         0, &prev);
  }

  // End of stream: a file loops (or ends), a camera that ends its stream is a failure.
  std::optional<Outcome> OnEndOfStream(IngestPipeline& pipeline) {
    if (is_file && pipeline.frames_decoded() == 0) {
      return Outcome{StateReason::kUnsupportedCodec, "no decodable video stream in file"};
    }
    if (is_file && options.file_loop) {
      if (pipeline.Rewind()) {
        log->debug("[cam {}] end of file, looping", options.camera_id);
        return std::nullopt;
      }
      return Outcome{StateReason::kError, "cannot seek to the start of the file"};
    }
    if (is_file) {
      Outcome o{StateReason::kEndOfStream, "end of file"};
      o.finished = true;
      return o;
    }
    return Outcome{StateReason::kEndOfStream, "the camera ended the stream"};
  }

  // Acts on one bus event; an Outcome when it ends this pipeline.
  std::optional<Outcome> OnEvent(IngestPipeline& pipeline, const PipelineEvent& ev, RunState& run) {
    switch (ev.kind) {
      case PipelineEvent::Kind::kFirstFrame:
        if (!run.online_at_us) {
          run.online_at_us = clock->NowMonotonicUs();
          Emit(SessionState::kOnline, StateReason::kConnected, "");
          NoteOnline();
        }
        return std::nullopt;
      case PipelineEvent::Kind::kStreamChanged:
        OnStreamChanged(ev, run.is_blocked);
        return std::nullopt;
      case PipelineEvent::Kind::kError:
        return Outcome{ev.reason, ev.detail};
      case PipelineEvent::Kind::kEndOfStream:
        return OnEndOfStream(pipeline);
      case PipelineEvent::Kind::kNone:
        return std::nullopt;
    }
    return std::nullopt;
  }

  // The periodic totals line, and one warning when the camera's clock is not believed.
  void ReportAndWarn(RunState& run, int64_t now) {
    if (run.online_at_us && now - run.last_report_us >= kReportIntervalUs) {
      run.last_report_us = now;
      ReportTotals();
    }
    if (!run.clock_warned && !is_file) {
      const int64_t off = counters->camera_clock_offset_us.load();
      if (off != 0 && !counters->rtcp_sync.load()) {
        run.clock_warned = true;
        log->warn("[cam {}] camera clock is off by {:.1f} s; using arrival time", options.camera_id,
                  off / 1e6);
      }
    }
  }

  // Online: which of the probes stopped? A quiet network is a stall; frames not taken are
  // kBlocked (until they flow again); data that does not decode is a decode error.
  std::optional<Outcome> CheckProgress(IngestPipeline& pipeline, RunState& run, int64_t now) {
    const int64_t stall_us = int64_t(options.stall_timeout_ms) * 1000;
    const bool network_quiet = now - pipeline.last_network_us() > stall_us;
    const bool input_quiet = now - pipeline.last_input_us() > stall_us;
    const bool frames_quiet = now - pipeline.last_progress_us() > stall_us;
    const bool sink_stuck = pipeline.sink_busy_us() > stall_us;
    const std::string stall_ms = std::to_string(options.stall_timeout_ms);
    if (network_quiet) {
      Outcome o{StateReason::kStall, "no data for " + stall_ms + " ms"};
      o.stalled = true;
      return o;
    }
    const bool now_blocked = sink_stuck || (input_quiet && frames_quiet);
    if (now_blocked && !run.is_blocked) {
      run.is_blocked = true;
      blocked.fetch_add(1);
      Emit(SessionState::kBlocked, StateReason::kDownstreamBlocked,
           sink_stuck
               ? "frames not consumed for " + std::to_string(pipeline.sink_busy_us() / 1000) +
                     " ms (on_frame blocked)"
               : "data arrives but the pipeline takes none for " + stall_ms + " ms");
    } else if (!now_blocked && run.is_blocked && !frames_quiet) {
      run.is_blocked = false;
      if (run.health.degraded()) {
        Emit(SessionState::kDegraded, StateReason::kDecodeError, "frames flow again, damaged");
      } else {
        Emit(SessionState::kOnline, StateReason::kConnected, "frames flow again");
      }
    } else if (!now_blocked && !run.is_blocked && frames_quiet) {
      return Outcome{StateReason::kDecodeError,
                     "data arrives but nothing decodes for " + stall_ms + " ms"};
    }
    if (!run.is_blocked) CheckDecoding(run, now);
    return std::nullopt;
  }

  // Online: frames that come from damaged data make the camera kDegraded, not offline.
  void CheckDecoding(RunState& run, int64_t now) {
    DecodeTotals t;
    t.decoder_errors = counters->decoder_errors.load(std::memory_order_relaxed);
    t.decode_warnings = counters->decode_warnings.load(std::memory_order_relaxed);
    t.corrupt_frames = counters->corrupt_frames.load(std::memory_order_relaxed);
    t.units_in = counters->units_in.load(std::memory_order_relaxed);
    // A unit skipped on purpose was taken, not lost: it counts like a frame out.
    t.frames_out = counters->frames_in.load(std::memory_order_relaxed) +
                   counters->units_skipped.load(std::memory_order_relaxed);
    const DecodeHealth::Verdict v = run.health.Observe(now, t);
    if (v.change == DecodeHealth::Change::kDegraded) {
      degraded.fetch_add(1);
      Emit(SessionState::kDegraded, StateReason::kDecodeError, v.detail, 0, nullptr, v.latency_us);
    } else if (v.change == DecodeHealth::Change::kClean) {
      Emit(SessionState::kOnline, StateReason::kConnected, "decoding is clean again");
    }
  }

  // Plays one pipeline until it fails, ends or Stop() is called.
  Outcome RunPipeline(IngestPipeline& pipeline, int connect_timeout_ms) {
    pipeline.Play();
    RunState run;
    run.start_us = run.last_report_us = clock->NowMonotonicUs();
    while (true) {
      if (Stopping()) return Finish(run, {StateReason::kStopped, "", true});
      if (std::optional<Outcome> o = OnEvent(pipeline, pipeline.Poll(kPollMs), run)) {
        return Finish(run, std::move(*o));
      }
      const int64_t now = clock->NowMonotonicUs();
      ReportAndWarn(run, now);
      if (!run.online_at_us) {
        if (now - run.start_us > int64_t(connect_timeout_ms) * 1000) {
          return Finish(run, {StateReason::kTimeout,
                              "no frame within " + std::to_string(connect_timeout_ms) + " ms"});
        }
        continue;
      }
      if (std::optional<Outcome> o = CheckProgress(pipeline, run, now)) {
        return Finish(run, std::move(*o));
      }
    }
  }

  // Waits for a start token from the limiter; false if Stop() interrupted it.
  bool AcquireStart() {
    while (true) {
      const int64_t wait_us = limiter->TryAcquire();
      if (wait_us == 0) return true;
      if (!SleepUnlessStopped(std::max<int64_t>(1, (wait_us + 999) / 1000))) return false;
    }
  }

  // Waits `delay_ms` before the next attempt. For RTSP, probes the camera's TCP port every
  // probe_interval_ms: once a camera that was unreachable (refused, or no answer to a probe)
  // accepts a connection again, the wait ends early. False if Stop() interrupted it.
  bool WaitToRetry(int64_t delay_ms, StateReason failure) {
    const int64_t interval_ms = options.probe_interval_ms;
    if (is_file || interval_ms <= 0 || delay_ms <= interval_ms) return SleepUnlessStopped(delay_ms);
    const int64_t deadline = clock->NowMonotonicUs() + delay_ms * 1000;
    bool unreachable = failure == StateReason::kRefused;
    while (true) {
      const int64_t left_ms = (deadline - clock->NowMonotonicUs()) / 1000;
      if (left_ms <= 0) return true;
      if (!SleepUnlessStopped(std::min(left_ms, interval_ms))) return false;
      if (clock->NowMonotonicUs() >= deadline) return true;
      if (ProbeTcp(options.url, kProbeTimeoutMs)) {
        if (unreachable) {
          probe_shortcuts.fetch_add(1);
          log->info("[cam {}] camera accepts connections again; retrying now", options.camera_id);
          return true;
        }
      } else {
        unreachable = true;
      }
    }
  }

  // One connection attempt: builds a pipeline, runs it and tears it down.
  Outcome Attempt(int connect_timeout_ms) {
    try {
      SourceOptions attempt = options;  // rtspsrc's tcp-timeout follows the attempt's window
      attempt.connect_timeout_ms = connect_timeout_ms;
      auto built = IngestPipeline::Build(attempt, redactor, callbacks.on_frame, counters, clock,
                                           callbacks.on_encoded);
      if (!built) return {StateReason::kError, built.status().message()};
      Outcome out = RunPipeline(**built, connect_timeout_ms);
      if (!(*built)->TearDown(options.teardown_deadline_ms)) teardowns_abandoned.fetch_add(1);
      return out;
    } catch (const std::exception& e) {
      return {StateReason::kError, e.what()};
    }
  }

  // A file without loop ended: reports it and waits for Stop().
  void FinishFile(const Outcome& out) {
    Emit(SessionState::kOffline, StateReason::kEndOfStream, out.detail);
    if (callbacks.on_eos_offline) {
      try {
        callbacks.on_eos_offline();
      } catch (...) {
      }
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return stopping; });
  }

  // After a failed attempt: counts and reports it; the delay before the next one.
  int64_t NoteFailure(const Outcome& out, Backoff& backoff) {
    if (out.reason == StateReason::kDecodeError) decode_errors.fetch_add(1);
    if (out.stalled) {
      stalls.fetch_add(1);
      Emit(SessionState::kStalled, StateReason::kStall, out.detail);
    } else if (out.reason == StateReason::kEndOfStream) {
      Emit(SessionState::kOffline, StateReason::kEndOfStream, out.detail);
    }
    if (out.online_us >= kBackoffResetOnlineUs) backoff.Reset();
    const int64_t delay_ms = backoff.NextDelayMs();
    Emit(SessionState::kWaiting, out.reason, out.detail, delay_ms);
    return delay_ms;
  }

  void Run() noexcept {
    // "ing-<camera id>" in top/gdb (15 characters at most).
    pthread_setname_np(pthread_self(), ("ing-" + options.camera_id).substr(0, 15).c_str());
    Backoff backoff(options.backoff_initial_ms, options.backoff_max_ms, std::random_device{}());
    StateReason connect_reason = StateReason::kStarted;
    std::string connect_detail;
    bool first = true;
    while (!Stopping()) {
      if (!AcquireStart()) break;
      if (!first) reconnects.fetch_add(1);
      const int connect_timeout_ms =
          first ? std::max(options.first_connect_timeout_ms, options.connect_timeout_ms)
                : options.connect_timeout_ms;
      first = false;
      Emit(SessionState::kConnecting, connect_reason, connect_detail);
      const Outcome out = Attempt(connect_timeout_ms);
      if (out.stopped || Stopping()) break;
      if (out.finished) {
        FinishFile(out);
        break;
      }
      const int64_t delay_ms = NoteFailure(out, backoff);
      if (!WaitToRetry(delay_ms, out.reason)) break;
      connect_reason = out.reason;
      connect_detail = "retry " + std::to_string(backoff.failures());
    }
    Emit(SessionState::kStopped, StateReason::kStopped, "");
  }
};

CameraSession::CameraSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CameraSession::~CameraSession() { Stop(); }

Result<std::unique_ptr<CameraSession>> CameraSession::Create(SourceOptions options,
                                                             Callbacks callbacks, Clock* clock,
                                                             StartLimiter* limiter) {
  SKYNET_RETURN_IF_ERROR(InitGStreamer());
  if (options.camera_id.empty()) return Status::InvalidArgument("camera_id: must not be empty");
  const Redactor redactor(options.url, options.password);
  const std::string& url = options.url;
  const bool rtsp = url.rfind("rtsp://", 0) == 0 || url.rfind("rtsps://", 0) == 0;
  const bool file = url.rfind("file://", 0) == 0;
  if (!rtsp && !file) {
    return Status::InvalidArgument("url: must be rtsp://, rtsps:// or file:// (got '" +
                                   redactor(url) + "')");
  }
  if (options.detect_width < 2) return Status::InvalidArgument("detect_width: must be >= 2");
  if (options.connect_timeout_ms <= 0 || options.stall_timeout_ms <= 0 ||
      options.teardown_deadline_ms <= 0) {
    return Status::InvalidArgument(
        "connect_timeout_ms, stall_timeout_ms, teardown_deadline_ms: must be > 0");
  }
  if (options.probe_interval_ms < 0) {
    return Status::InvalidArgument("probe_interval_ms: must be >= 0");
  }
  if (options.backoff_initial_ms <= 0 || options.backoff_max_ms < options.backoff_initial_ms) {
    return Status::InvalidArgument("backoff: need 0 < backoff_initial_ms <= backoff_max_ms");
  }
  if (!clock) return Status::InvalidArgument("clock: must not be null");
  std::vector<const char*> needed = {"videoscale", "videoconvert", "capsfilter", "appsink",
                                     "avdec_h264", "avdec_h265"};
  if (rtsp) {
    for (const char* e : {"rtspsrc", "rtph264depay", "rtph265depay", "h264parse", "h265parse"}) {
      needed.push_back(e);
    }
  } else {
    needed.push_back("filesrc");
    needed.push_back("parsebin");
  }
  for (const char* e : needed) {
    if (!HasFactory(e)) {
      return Status::Internal(std::string("gstreamer element '") + e + "' not found (plugin missing)");
    }
  }
  return std::unique_ptr<CameraSession>(new CameraSession(
      std::make_unique<Impl>(std::move(options), std::move(callbacks), clock,
                             limiter ? limiter : &StartLimiter::Global())));
}

void CameraSession::Start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->log->info("[cam {}] starting {}", impl_->options.camera_id, impl_->redactor.url());
  impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
}

void CameraSession::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

SessionState CameraSession::state() const { return impl_->state.load(); }
const SourceOptions& CameraSession::options() const { return impl_->options; }

SessionStats CameraSession::stats() const {
  SessionStats s;
  s.state = impl_->state.load();
  s.reason = impl_->reason.load();
  s.frames_in = impl_->counters->frames_in.load();
  s.frames_delivered = impl_->counters->frames_delivered.load();
  s.frames_rate_limited = impl_->counters->frames_rate_limited.load();
  s.bytes_in = impl_->counters->bytes_in.load();
  s.units_skipped = impl_->counters->units_skipped.load();
  s.reconnects = impl_->reconnects.load();
  s.stalls = impl_->stalls.load();
  s.decode_errors = impl_->decode_errors.load();
  s.blocked = impl_->blocked.load();
  s.degraded = impl_->degraded.load();
  s.decoder_errors = impl_->counters->decoder_errors.load();
  s.corrupt_frames = impl_->counters->corrupt_frames.load();
  s.stream_changes = impl_->stream_changes.load();
  s.teardowns_abandoned = impl_->teardowns_abandoned.load();
  s.probe_shortcuts = impl_->probe_shortcuts.load();
  s.bytes_received = impl_->counters->bytes_received.load();
  s.warnings = impl_->counters->warnings.load();
  s.callback_exceptions = impl_->counters->callback_exceptions.load();
  {
    std::lock_guard<std::mutex> lock(impl_->counters->mu);
    s.codec = impl_->counters->codec;
  }
  s.width = impl_->counters->width.load();
  s.height = impl_->counters->height.load();
  s.online_since_us = impl_->online_since_us.load();
  s.rtcp_sync = impl_->counters->rtcp_sync.load();
  s.camera_clock_offset_us = impl_->counters->camera_clock_offset_us.load();
  return s;
}

}  // namespace skynet::ingest
