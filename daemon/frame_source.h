// FrameSource: one camera's ingest as a CameraRunner sees it (start, stop, counters);
// SessionFactory: makes them. The daemon wires CameraSessionFactory (ingest::CameraSession,
// GStreamer); unit tests pass a fake whose test pushes frames and state changes
// (tests/testing/fake_frame_source.h).
//
// Threads: a source calls its callbacks as ingest::CameraSession documents (on_frame on a
// streaming thread, on_state on the session thread, none after Stop() returns). Start(), Stop()
// and stats() may be called from any thread; Create() too. The factory is borrowed by the
// runners and must outlive them; a runner owns its source.
#pragma once

#include <memory>

#include "pipeline/core/clock.h"
#include "pipeline/core/status.h"
#include "pipeline/ingest/camera_session.h"
#include "pipeline/ingest/session_state.h"
#include "pipeline/ingest/source_options.h"

namespace skynet::daemon {

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Starts delivering (non-blocking); a second call does nothing.
  virtual void Start() = 0;
  // Stops; emits a final kStopped state if it was started. Blocks until no callback runs.
  virtual void Stop() = 0;
  // The session's counters since Create() (frames decoded and delivered, reconnects, ...).
  virtual ingest::SessionStats stats() const = 0;
};

class SessionFactory {
 public:
  virtual ~SessionFactory() = default;
  // A source for `options`, not started. InvalidArgument naming the bad option on failure.
  virtual Result<std::unique_ptr<FrameSource>> Create(
      const ingest::SourceOptions& options, ingest::CameraSession::Callbacks callbacks) = 0;
  // Camera `camera_id` is gone: removed, its last source stopped and destroyed, none starting.
  // What a factory keeps per camera across restarts (a clip recorder's video in memory) may go.
  virtual void Released(const std::string& camera_id) { (void)camera_id; }
};

// The real one: an ingest::CameraSession per camera, timed on `clock`, started through the
// node-wide start limiter.
class CameraSessionFactory final : public SessionFactory {
 public:
  explicit CameraSessionFactory(Clock* clock = SystemClock::Get()) : clock_(clock) {}
  Result<std::unique_ptr<FrameSource>> Create(const ingest::SourceOptions& options,
                                              ingest::CameraSession::Callbacks callbacks) override;

 private:
  Clock* const clock_;
};

}  // namespace skynet::daemon
