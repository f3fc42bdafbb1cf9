// MotionDetector: finds moving things in a fixed traffic camera's frames and turns them into
// motion intervals (started, updated, ended).
//
// One detector per camera, called from the analytics worker the camera is pinned to: not
// thread-safe, no locks. It keeps a running background (which follows slow light changes,
// learns a stopped vehicle only slowly, and drops at once the "ghost" of a vehicle that has
// left), compensates small camera shake, suppresses frame-wide changes, and picks a day or
// night profile from the scene brightness. Process() never throws and never logs; it counts
// into stats(). About 0.3-0.5 ms CPU per 320x180 frame (skynet-bench-motion).
//
//   auto detector = MotionDetector::Create(options);   // Result<unique_ptr<MotionDetector>>
//   MotionObservation o = (*detector)->Process(frame.image, frame.capture_time_us);
//   if (o.event == MotionEventType::kStarted) Publish(o);
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <vector>

#include "pipeline/analytics/motion_options.h"
#include "pipeline/core/status.h"

namespace skynet::analytics {

struct MotionRegion {
  cv::Rect2f box;  // normalised [0,1], tight around the changed pixels
  float fill = 0;  // changed px / box px
};

enum class MotionEventType { kNone, kStarted, kUpdated, kEnded };

struct MotionObservation {
  MotionEventType event = MotionEventType::kNone;  // at most one lifecycle event per frame
  uint64_t motion_id = 0;             // id of the current/finished interval (1,2,3... per detector)
  std::vector<MotionRegion> regions;  // regions in this frame (also when event==kNone)
  float changed_fraction = 0;         // changed unmasked area / unmasked area
  bool active = false;                // a motion interval is open after this frame
  int64_t started_at_us = 0;          // while active and for kEnded: capture time of the start
  int64_t duration_ms = 0;            // for kEnded: from the start to the last frame with motion
  float peak_changed_fraction = 0;    // for kEnded (and while active: the peak so far)
  // A global change (light, cloud, exposure step, IR switch): the frame was suppressed (the
  // background re-seeded), or the brightness jump was followed at once (re-lit) and only what
  // it does not explain was analysed. A camera-health signal.
  bool global_change = false;
  bool night = false;        // the night profile was used for this frame
  cv::Point2f camera_shift;  // shake compensated in this frame, pixels (0,0 if none)
};

// Counters for the periodic metrics reporter.
struct MotionStats {
  uint64_t frames = 0;             // calls to Process()
  uint64_t rejected_frames = 0;    // empty frames, unsupported types, OpenCV errors
  uint64_t reinitialisations = 0;  // background (re)started: first frame, size change, Reset()
  uint64_t global_changes = 0;     // frames with a global change (suppressed or re-lit)
  uint64_t exposure_steps = 0;     // of those: brightness steps followed by re-lighting
  uint64_t shake_compensated = 0;  // frames aligned to the background before differencing
  uint64_t night_frames = 0;       // frames analysed with the night profile
  uint64_t ghosts_absorbed = 0;    // regions of departed objects copied into the background
};

class MotionDetector {
 public:
  // Returns a detector, or InvalidArgument naming the bad option (see ValidateMotionOptions).
  static Result<std::unique_ptr<MotionDetector>> Create(const MotionOptions& options);
  ~MotionDetector();
  MotionDetector(const MotionDetector&) = delete;
  MotionDetector& operator=(const MotionDetector&) = delete;

  // Analyses one frame. `frame`: CV_8UC1 or CV_8UC3 (BGR) at the detect size (e.g. 320x180);
  // `time_us`: capture time in microseconds, monotonic per camera (if it jumps back, e.g. a
  // wall clock stepped by NTP, timers treat that frame as simultaneous). The first frame, and the
  // first after a size change or Reset(), only seeds the background; if an interval was open,
  // that frame reports its kEnded. A frame of another type counts as rejected and yields an
  // observation without regions.
  MotionObservation Process(const cv::Mat& frame, int64_t time_us);

  // Forgets the background (e.g. after a resolution change or a reconnect); the next frame
  // re-initialises it and closes any open interval.
  void Reset();

  // Ends the open motion interval now (the camera is going away: removed, disabled, stopped):
  // an observation with kEnded as Process() would give it, or kNone if none is open.
  MotionObservation Close();

  const MotionOptions& options() const { return options_; }
  const MotionStats& stats() const { return stats_; }

 private:
  struct State;  // image buffers and interval state, in the .cc
  explicit MotionDetector(const MotionOptions& options);

  MotionOptions options_;
  MotionStats stats_;
  std::unique_ptr<State> state_;
};

}  // namespace skynet::analytics
