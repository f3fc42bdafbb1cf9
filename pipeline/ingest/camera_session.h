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
// Threads: Start/Stop/stats/state may be called from any thread (Start and Stop not
// concurrently with each other). on_frame runs on a GStreamer streaming thread and on_state on
// the session thread; neither is called after Stop() returns. Callbacks must be cheap and should
// not throw (an exception is caught, counted and dropped). Do not call Stop() from a callback.
#pragma once

#include <functional>
#include <memory>

#include "pipeline/core/clock.h"
#include "pipeline/core/frame.h"
#include "pipeline/core/status.h"
#include "pipeline/ingest/session_state.h"
#include "pipeline/ingest/source_options.h"

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
  };

  // Validates `options` (camera_id, URL scheme, sizes, timeouts) and checks that the needed
  // GStreamer plugins exist. Does not connect. InvalidArgument / Internal on failure.
  static Result<std::unique_ptr<CameraSession>> Create(SourceOptions options, Callbacks callbacks,
                                                       Clock* clock = SystemClock::Get());

  ~CameraSession();  // Stop()s
  CameraSession(const CameraSession&) = delete;
  CameraSession& operator=(const CameraSession&) = delete;

  // Starts the session thread, which connects in the background and reconnects on failure
  // with backoff. Returns at once. A second call (also after Stop()) does nothing: a stopped
  // session is not restarted; create a new one.
  void Start();
  // Tears the pipeline down and joins the session thread; emits kStopped. Bounded: a pipeline
  // that does not reach NULL within a few seconds (a dead camera blocking TEARDOWN) is left to
  // a reaper thread. Idempotent.
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
