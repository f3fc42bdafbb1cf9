// CameraSession: ingests one camera (RTSP) or video file into decoded, scaled Frames.
//
// One GStreamer pipeline per session, rebuilt on every reconnect, run by one session thread
// that owns the state machine: connecting -> online -> (stalled ->) waiting -> connecting ...
// Failures are states with reasons (reported through on_state), never errors of the caller.
//
//   auto s = CameraSession::Create(opts, {.on_frame = [&](Frame&& f) { q.Push(std::move(f)); },
//                                         .on_state = [&](const StateChange& c) { ... }});
//   if (!s) return s.status();
//   (*s)->Start();  ...  (*s)->Stop();
//
// Frame times: stream_time_us is the buffer PTS in stream time (files: plus the length of
// earlier passes when looping, so it keeps increasing). capture_time_us is, for RTSP, the
// camera's clock from RTCP sender reports once one arrived and while it is within 5 s of
// arrival time (SessionStats::rtcp_sync), else the arrival time (the jitter buffer's arrival
// timestamp, not the later delivery time); for files, the session start plus stream time.
// Frame::index counts from 0 on every (re)connect.
//
// Starts: every pipeline start takes a token from a StartLimiter (node-wide by default, see
// start_limiter.h); the first attempt gets first_connect_timeout_ms. While waiting to
// reconnect, a TCP probe notices a returning camera (SourceOptions::probe_interval_ms).
// Probes: no network data for stall_timeout_ms is a stall (reconnect); data without decoded
// frames is a decode error (reconnect); decoded frames that are not consumed (on_frame blocks)
// are kBlocked/kDownstreamBlocked, alarmed but not reconnected. Frames decoded from damaged data
// (libav errors and concealment, corrupt frames, decode warnings, units without frames: see
// decode_health.h) are kDegraded/kDecodeError within 1 s of the first sign, not reconnected,
// and kOnline again after 2 s without any. A codec or size change is
// reported as kOnline/kStreamChanged and frames keep flowing.
//
// Threads: Start/Stop/stats/state may be called from any thread (Start and Stop not
// concurrently with each other). on_frame runs on a GStreamer streaming thread and on_state on
// the session thread. on_state is not called after Stop() returns; no new on_frame call starts
// after Stop() returns, but a call that was blocked for longer than teardown_deadline_ms is
// abandoned with its pipeline and may still return later. Callbacks must be cheap and should
// not throw (an exception is caught, counted and dropped). Do not call Stop() from a callback.
#pragma once

#include <functional>
#include <memory>

#include "pipeline/core/clock.h"
#include "pipeline/core/frame.h"
#include "pipeline/core/status.h"
#include "pipeline/ingest/encoded_ring.h"
#include "pipeline/ingest/session_state.h"
#include "pipeline/ingest/source_options.h"
#include "pipeline/ingest/start_limiter.h"

namespace skynet::ingest {

// Initialises GStreamer once for the process. Idempotent and thread-safe; Create() calls it.
[[nodiscard]] Status InitGStreamer();

class CameraSession {
 public:
  struct Callbacks {
    // A decoded frame at the detect size. Runs on a streaming thread: hand it over and return.
    std::function<void(Frame&&)> on_frame;
    // Every state transition, in order, on the session thread.
    std::function<void(const StateChange&)> on_state;
    // Optional: a file without loop has ended (after the kOffline/kEndOfStream change).
    std::function<void()> on_eos_offline;
    // Optional: every compressed access unit as it goes into the decoder, before any unit is
    // dropped (analytics tier, disposable units), for clips (encoded_ring.h). Runs on the
    // decoder's input streaming thread: push and return. A pipeline abandoned to the reaper may
    // still call it after Stop(), so whatever it captures must stay valid (a shared_ptr).
    std::function<void(EncodedUnit&&)> on_encoded;
  };

  // Validates `options` (camera_id, URL scheme, sizes, timeouts) and checks that the needed
  // GStreamer plugins exist. Does not connect. InvalidArgument / Internal on failure.
  // `limiter`: the start rate limiter to share (default StartLimiter::Global()); not owned,
  // must outlive the session.
  static Result<std::unique_ptr<CameraSession>> Create(SourceOptions options, Callbacks callbacks,
                                                       Clock* clock = SystemClock::Get(),
                                                       StartLimiter* limiter = nullptr);

  ~CameraSession();  // Stop()s
  CameraSession(const CameraSession&) = delete;
  CameraSession& operator=(const CameraSession&) = delete;

  // Starts the session thread, which connects in the background and reconnects on failure
  // with backoff. Returns at once. A second call (also after Stop()) does nothing: a stopped
  // session is not restarted; create a new one.
  void Start();
  // Tears the pipeline down and joins the session thread; emits kStopped. Bounded: a pipeline
  // that does not reach NULL within teardown_deadline_ms (a dead camera blocking TEARDOWN, a
  // consumer blocked in on_frame) is left to a reaper thread and counted. Idempotent.
  void Stop();

  SessionStats stats() const;
  SessionState state() const;
  const SourceOptions& options() const;

 private:
  struct Impl;
  explicit CameraSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace skynet::ingest
