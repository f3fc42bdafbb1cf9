// CameraQuality: one camera's video quality diagnostics inside the daemon (docs/video-quality.md).
// It samples the camera's analysed frames (one per sample interval, on the camera time of the
// injected clock), runs a VideoQualityMonitor on them, turns each check's state change into a
// VideoQuality event, and keeps the camera's reference view in a file: loaded at Create(),
// written whenever the monitor (re)sets it and on AcceptView(). A missing file means learning;
// an unreadable or damaged one is logged (naming the file) and the view is learned again.
//
// Threads: Sample() runs on the camera's analytics worker; AcceptView() on the control thread;
// Fill*(), worst() and faults() on any thread. The monitor is not thread-safe: a mutex held for
// one sample (a few ms, about once a second) serialises Sample() and AcceptView(); the snapshot
// that Fill*() read has its own mutex, so status never waits for a sample.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "daemon/config.h"
#include "pipeline/analytics/video_quality.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/status.h"
#include "skynet/v1/control.pb.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

struct CameraQualityOptions {
  std::string camera_id;
  int sample_interval_ms = 1000;
  // The reference view's file; empty: not kept (learned again at every start).
  std::string reference_file;
  analytics::VideoQualityOptions monitor;
};

// A check's state for metrics and displays.
struct QualityCheckSnapshot {
  analytics::QualityState state = analytics::QualityState::kLearning;
  float score = 0;
};

class CameraQuality {
 public:
  // InvalidArgument naming the bad option. Loads the reference file if there is one.
  static Result<std::unique_ptr<CameraQuality>> Create(const CameraQualityOptions& options,
                                                       Clock* clock);
  ~CameraQuality();

  // Analyses `image` if a sample is due; appends a VideoQuality payload per state change to
  // `changes` (the caller publishes them with `capture_time_us`). Worker thread.
  void Sample(const cv::Mat& image, int64_t capture_time_us,
              std::vector<v1::VideoQuality>* changes);

  // Takes the last sample as the reference view and writes its file. The changes it causes
  // (reference checks in fault back to ok) come with the next Sample(). Unavailable before the
  // first sample; IoError if the file cannot be written (the view is accepted all the same).
  Status AcceptView();

  void FillInfo(v1::CameraQualityInfo* info) const;
  // Worst check (QUALITY_STATE_OK/LEARNING/FAULT) and the checks in fault, for status.
  v1::QualityState worst() const;
  std::vector<std::string> faults() const;
  std::vector<QualityCheckSnapshot> checks() const;  // indexed by analytics::QualityCheck

 private:
  CameraQuality(const CameraQualityOptions& options, Clock* clock);
  // Writes the reference view (to a temporary file, then renamed). Caller holds monitor_mu_.
  Status SaveLocked();
  void Snapshot(const analytics::QualityObservation& obs);  // takes snapshot_mu_

  const CameraQualityOptions options_;
  Clock* const clock_;

  std::mutex monitor_mu_;
  std::unique_ptr<analytics::VideoQualityMonitor> monitor_;  // guarded by monitor_mu_
  int64_t next_sample_us_ = 0;   // monotonic; worker only
  int64_t last_time_us_ = 0;     // the monitor's time: capture time, never backwards; worker
  bool save_failed_logged_ = false;

  mutable std::mutex snapshot_mu_;
  analytics::QualityObservation last_;  // checks of the last sample
  bool sampled_ = false;
  std::string reference_ = "learning";  // learning, learned, loaded, accepted, refreshed
  int64_t reference_time_us_ = 0;
  uint64_t samples_ = 0;
  int64_t last_sample_us_ = 0;
};

// The options of camera `camera_id` under the config's `video_quality:` section (the live
// daemon's and `skynetd analyze`'s): its sample interval and monitor options, and the reference
// file <reference_dir>/<camera id>.yml.gz (none with an empty reference_dir).
CameraQualityOptions QualityOptionsFor(const VideoQualityConfig& config,
                                       const std::string& camera_id,
                                       const std::string& reference_dir);

// "frozen" -> v1 enum, and the state names the protocol uses.
v1::QualityState ToProto(analytics::QualityState state);

}  // namespace skynet::daemon
