// CameraRunner: one configured camera inside the daemon: its frame source (ingest session), its
// 2-slot frame queue, its motion detector and vehicle pipeline, and its counters. Its events go
// to an EventSink; its source comes from a SessionFactory (both borrowed, must outlive it).
//
// Threads: OnFrame() runs on a GStreamer streaming thread and only queues the frame;
// ProcessOne() and ProcessPending() run on the camera's analytics worker (one worker per camera,
// so the detector needs no lock); Fill*() may be called from any thread (control).
//
// Overload: the frames handed over and those the 2-slot queue dropped because analytics fell
// behind are counted over the last kOverloadWindowUs; their ratio is the camera's analysis share
// (analysed / offered), and more than kOverloadDropShare of them dropped is "overloaded".
//
// Evidence: when its EventSink wants_evidence(), the vehicle pipeline's full-resolution snapshots
// of ending tracks go to EventSink::PublishEvidence (on the worker, before their vehicle_ended).
//
// Health: reconnects and stalls are timed on the injected clock and counted over the last
// hour; FillStatus() grades the camera with GradeCamera() (camera_health.h), a video quality
// fault (CameraQuality, on about one analysed frame a second in every tier) included. A codec or size
// that differs from the last one known is published as a StreamChanged event.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "daemon/camera_health.h"
#include "daemon/camera_quality.h"
#include "daemon/config.h"
#include "daemon/event_sink.h"
#include "daemon/frame_source.h"
#include "daemon/rate_meter.h"
#include "daemon/stats.h"
#include "daemon/vehicle_pipeline.h"
#include "daemon/worker_pool.h"
#include "pipeline/analytics/motion_detector.h"
#include "pipeline/core/bounded_queue.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/frame.h"
#include "skynet/v1/control.pb.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

class CameraRunner final : public PinnedWork {
 public:
  // Called after a frame was queued: wakes the camera's worker.
  using Wakeup = std::function<void()>;

  // Creates the analytics and the (not yet started) source. InvalidArgument naming the camera
  // ("cameras.<id>...") when the analytics or the factory reject its settings. `quality`: the
  // video quality diagnostics' settings (camera_id ignored), null: none.
  static Result<std::unique_ptr<CameraRunner>> Create(
      const CameraConfig& config, SessionFactory* sessions, EventSink* sink, Clock* clock,
      const CameraQualityOptions* quality = nullptr);
  ~CameraRunner() override;

  // Starts ingest (non-blocking). `wakeup` is called on every queued frame.
  void Start(Wakeup wakeup);
  // Ends what is open first: the motion interval (MotionEnded) and live vehicle tracks
  // (vehicle_ended), at the last analysed frame's time; then stops ingest and publishes the
  // final offline status. Blocks until ingest is torn down. Call once the worker pool no longer
  // runs this camera (WorkerPool::Remove), as the supervisor does.
  void Stop();
  // True on the first call only: the supervisor starts each runner at most once.
  bool ClaimStart() { return !start_claimed_.exchange(true); }
  // Publishes a CameraStatus event with the current state (e.g. disabled, after a runtime
  // change replaced the camera's session).
  void PublishStatus();

  // Analyses the oldest queued frame; false if none was queued. Worker thread only.
  bool ProcessOne() override;
  // Frames per second handed over (analytics_fps until measured): the fair-share weight.
  double OfferedRate() const override;
  // Analyses every queued frame. Worker thread only (tests drive a runner with it).
  void ProcessPending() { while (ProcessOne()) {} }

  // Over the last 10 s: dropped frames above 5% of those offered is "overloaded".
  static constexpr int64_t kOverloadWindowUs = 10'000'000;
  static constexpr double kOverloadDropShare = 0.05;
  // The analysis share over the window (1 when nothing was offered) and whether it says
  // overloaded. Any thread.
  struct Load {
    double share = 1.0;
    bool overloaded = false;
  };
  Load load() const;

  const CameraConfig& config() const { return config_; }
  bool online() const { return state_.load() == v1::CAMERA_STATE_ONLINE; }
  void FillInfo(v1::CameraInfo* info) const;
  void FillStatus(v1::CameraStatusInfo* status) const;
  // The video quality of the camera (enabled false when its diagnostics are off).
  void FillQuality(v1::CameraQualityInfo* info) const;
  // Takes the current view as the video quality reference (CameraQuality::AcceptView()).
  // Unavailable when the diagnostics are off or nothing was sampled yet. Any thread.
  Status AcceptView();
  // The counters no event reports (analytics as of the last analysed frame).
  void FillStats(CameraStats* stats) const;

 private:
  CameraRunner(const CameraConfig& config, EventSink* sink, Clock* clock);
  void OnFrame(Frame&& frame) noexcept;
  void OnState(const ingest::StateChange& change) noexcept;
  void Analyse(const Frame& frame);
  v1::Event NewEvent(int64_t capture_time_us) const;
  void CloseOpenIntervals();  // Stop()'s first step; once
  void Publish(v1::Event event);
  // Copies the analytics' counters for FillStats(). Worker thread only.
  void SnapshotAnalyticsStats();

  const CameraConfig config_;
  EventSink* const sink_;
  const VehiclePipeline::EventSink vehicle_sink_;  // into Publish()
  Clock* const clock_;
  Wakeup wakeup_;

  BoundedQueue<Frame> queue_{2};
  std::unique_ptr<analytics::MotionDetector> motion_;  // worker thread only
  std::unique_ptr<VehiclePipeline> vehicles_;          // worker thread only; null: disabled
  std::unique_ptr<CameraQuality> quality_;             // null: diagnostics off
  std::unique_ptr<FrameSource> session_;

  std::atomic<bool> start_claimed_{false};
  std::atomic<bool> closed_{false};  // CloseOpenIntervals() ran
  // The last analysed frame's times (worker thread; read by Stop() once the worker let go).
  int64_t last_capture_us_ = 0;
  int64_t last_stream_us_ = 0;
  std::atomic<int> state_{v1::CAMERA_STATE_UNSPECIFIED};
  std::atomic<uint64_t> frames_in_{0};
  std::atomic<uint64_t> frames_analysed_{0};
  std::atomic<uint64_t> motion_events_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<bool> motion_active_{false};
  std::atomic<int64_t> online_since_us_{0};
  RateMeter fps_in_;
  RateMeter fps_analysed_;
  Histogram analysis_seconds_;  // wall time of Analyse() per frame (worker writes)
  EventWindow reconnects_1h_;  // connect attempts after the first (session thread writes)
  EventWindow stalls_1h_;
  EventWindow offered_window_{kOverloadWindowUs, 1 << 14};  // frames handed over (OnFrame)
  EventWindow dropped_window_{kOverloadWindowUs, 1 << 14};  // of which the queue dropped
  bool connecting_seen_ = false;  // session thread only

  mutable std::mutex status_mu_;
  v1::StatusReason reason_ = v1::STATUS_REASON_UNSPECIFIED;
  std::string detail_;
  std::string codec_;
  int width_ = 0;
  int height_ = 0;

  mutable std::mutex stats_mu_;
  analytics::MotionStats motion_stats_;  // copies, as of the last analysed frame
  VehicleStats vehicle_stats_;
};

}  // namespace skynet::daemon
