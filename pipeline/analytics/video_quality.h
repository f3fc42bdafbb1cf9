// VideoQualityMonitor: video quality diagnostics for one camera (frozen, black, over-exposed, low
// contrast, blur, occlusion, moved, colour cast, noise, stripes) on frames sampled at a low rate
// (about 1 per second). Each check yields a score in [0, 1] and a state with hysteresis; a state
// change is an observation the caller publishes. docs/video-quality.md describes every check.
//
// One monitor per camera, called from the worker the camera is pinned to: not thread-safe, no
// locks. Checks that compare with the camera's own reference view (everything except frozen,
// black and over-exposed) are kLearning until the reference is learned: after a warm-up of a few
// samples, then followed slowly while every check is OK. The reference survives restarts through
// SaveReference()/LoadReference(); AcceptCurrentView() takes the current view after an intended
// change. Process() never throws and never logs. About 5-15 ms per 768x576 sample (scaling
// included) on a loaded 2-core machine: about 1% of a core at one sample per second.
//
//   auto monitor = VideoQualityMonitor::Create(options);  // Result<unique_ptr<...>>
//   QualityObservation o = (*monitor)->Process(frame, capture_time_us);
//   for (const QualityChange& c : o.changes) Publish(c);
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "pipeline/analytics/video_quality_options.h"
#include "pipeline/core/status.h"

namespace skynet::analytics {

enum class QualityCheck {
  kFrozen,
  kBlack,
  kOverexposed,
  kLowContrast,
  kBlur,
  kOcclusion,
  kMoved,
  kColourCast,
  kNoise,
  kStripes,
};
inline constexpr int kQualityCheckCount = 10;
const char* QualityCheckName(QualityCheck check);  // "frozen", "black", ... "stripes"
// The hysteresis of `check` in `options` (options.frozen for kFrozen, ...).
QualityThresholds& ThresholdsFor(VideoQualityOptions& options, QualityCheck check);
const QualityThresholds& ThresholdsFor(const VideoQualityOptions& options, QualityCheck check);

enum class QualityState {
  kLearning,  // no reference view yet (reference checks), or no sample yet
  kOk,
  kFault,
};
const char* QualityStateName(QualityState state);  // "learning", "ok", "fault"

struct QualityCheckStatus {
  float score = 0;  // this sample's score, 0 fine .. 1 certainly faulty (0 while learning)
  QualityState state = QualityState::kLearning;
  int64_t since_us = 0;  // capture time at which the current state began
  // The score was not evaluated in this sample: the picture is black, over-exposed or frozen,
  // which says nothing about focus, aim or cover; the state is kept as it was.
  bool held = false;
};

struct QualityChange {
  QualityCheck check = QualityCheck::kFrozen;
  QualityState from = QualityState::kLearning;
  QualityState to = QualityState::kLearning;
  float score = 0;      // the score at the change
  int64_t time_us = 0;  // capture time of the sample that made the change
};

struct QualityObservation {
  std::array<QualityCheckStatus, kQualityCheckCount> checks;  // indexed by QualityCheck
  std::vector<QualityChange> changes;                         // state changes at this sample
  bool reference_ready = false;    // the reference view is learned (or loaded or accepted)
  bool reference_updated = false;  // the reference image was (re)set at this sample
  cv::Point2f shift;               // registration against the reference, working pixels
  float rotation_deg = 0;          // ... and rotation, degrees

  const QualityCheckStatus& operator[](QualityCheck c) const { return checks[int(c)]; }
  bool Any(QualityState s) const;  // some check is in state s
};

// Counters for the periodic metrics reporter.
struct VideoQualityStats {
  uint64_t samples = 0;               // calls to Process()
  uint64_t rejected_samples = 0;      // empty frames, unsupported types, OpenCV errors
  uint64_t held_samples = 0;          // samples whose reference checks were held
  uint64_t reference_updates = 0;     // reference image set: warm-up, refresh, accept, load
  uint64_t registrations_failed = 0;  // too few ORB inliers against the reference
};

class VideoQualityMonitor {
 public:
  // Returns a monitor, or InvalidArgument naming the bad option.
  static Result<std::unique_ptr<VideoQualityMonitor>> Create(const VideoQualityOptions& options);
  ~VideoQualityMonitor();
  VideoQualityMonitor(const VideoQualityMonitor&) = delete;
  VideoQualityMonitor& operator=(const VideoQualityMonitor&) = delete;

  // Analyses one sampled frame. `frame`: CV_8UC3 (BGR) or CV_8UC1, any size (scaled to the
  // working width); `time_us`: capture time in microseconds, monotonic per camera. A frame of
  // another type counts as rejected and returns the current states without changes.
  QualityObservation Process(const cv::Mat& frame, int64_t time_us);

  // Takes the last sample as the reference view (after an intended change of aim or scene):
  // reference checks in fault return to OK, reported as changes by the next Process().
  // Unavailable if no sample was processed yet.
  Status AcceptCurrentView();

  // Writes the reference view (image and measures) to `path`, an OpenCV FileStorage file
  // ("*.yml.gz" keeps it small: tens of KB). Unavailable if there is no reference yet; IoError
  // if the file cannot be written.
  Status SaveReference(const std::string& path) const;
  // Reads a reference written by SaveReference(); the monitor is then past its warm-up.
  // NotFound if there is no such file, InvalidArgument if it is not a reference of this working
  // size and grid.
  Status LoadReference(const std::string& path);

  bool has_reference() const;
  const VideoQualityOptions& options() const { return options_; }
  const VideoQualityStats& stats() const { return stats_; }

 private:
  struct State;  // reference, previous sample and hysteresis state, in the .cc
  explicit VideoQualityMonitor(const VideoQualityOptions& options);

  VideoQualityOptions options_;
  VideoQualityStats stats_;
  std::unique_ptr<State> state_;
};

}  // namespace skynet::analytics
