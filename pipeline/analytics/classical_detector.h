// ClassicalDetector: the model-free vehicle detector. Foreground blobs against its own colour
// background model, with cast shadows removed (darker than the road, same chromaticity, same
// texture), touching blobs split at their necks, fragments of one vehicle merged, and each blob
// classified by its real size on the ground (calibrated) or by relative size and aspect.
//
// Why its own background rather than the MotionDetector's: shadow suppression needs a colour
// background (the motion detector keeps grey), and a stationary vehicle must stay out of the
// background indefinitely (frozen under the tracker's stationary tracks) while the motion
// detector deliberately learns it within a minute or two. The motion detector's regions are still
// used: a blob no region supports (a ghost of a vehicle that left, a shake edge) is dropped and
// healed into the background, unless it lies under a frozen box. The steps live in files of
// their own: classical_background (colour model, shadows), ghost_heal (dropping and healing
// ghosts), blob_split (necks, tails, stacked vehicles, footprints, lanes, fragments) and
// motion_split (blobs whose rows move differently).
//
// One per camera, on the camera's analytics worker: not thread-safe. Detect() never throws and
// never logs; failures count into stats().
//
//   auto det = ClassicalDetector::Create(options);          // Result<unique_ptr<...>>
//   det->SetSceneContext(context);                           // calibration, stationary boxes...
//   auto found = det->Detect(frame, motion_boxes, time_us);  // then tracker.Update(found, ...)
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "pipeline/analytics/calibration.h"
#include "pipeline/analytics/classical_options.h"
#include "pipeline/analytics/detection.h"
#include "pipeline/core/status.h"

namespace skynet::analytics {

struct ClassicalDetectorStats {
  uint64_t frames = 0;           // calls to Detect()
  uint64_t rejected_frames = 0;  // empty or unsupported frames, OpenCV errors
  uint64_t reinitialisations = 0;
  uint64_t splits = 0;          // blobs split in two or more
  uint64_t merges = 0;          // fragments merged
  uint64_t unsupported = 0;     // blobs dropped for lack of motion support (ghosts included)
  uint64_t ghosts = 0;          // blobs whose outline is in the background, not the frame
  uint64_t moved = 0;           // blobs without motion support that changed since the last frame
  uint64_t tails = 0;           // narrow runs (a pedestrian at the kerb) cut off vehicle blobs
  uint64_t stacked = 0;         // blobs split into vehicles of adjacent lanes overlapping on screen
  uint64_t motion_cuts = 0;     // blobs split where their rows move differently
  uint64_t shake_aligned = 0;   // frames aligned to the steady pose (SceneContext::camera_shift)
  uint64_t footprint_cuts = 0;  // calibrated: blobs larger than one vehicle cut at valleys
  uint64_t lane_cuts = 0;       // calibrated, lanes configured: cuts where a blob's lane changes
  uint64_t reflections = 0;     // calibrated, night: light below a vehicle's lamps cut off
  uint64_t not_analysed = 0;    // blobs beyond max_distance_m or above the horizon (calibrated)
};

class ClassicalDetector final : public VehicleDetector {
 public:
  static Result<std::unique_ptr<ClassicalDetector>> Create(const ClassicalDetectorOptions& options);
  ~ClassicalDetector() override;

  // `frame`: CV_8UC3 BGR (or CV_8UC1: no colour shadow test) at the detect size. The first frame
  // (and the first after a size change or Reset()) seeds the background and yields nothing.
  // With a camera shift in the scene context the frame is first aligned to the steady pose the
  // background lives in (as the motion detector did), and the boxes moved back to this frame.
  std::vector<Detection> Detect(const cv::Mat& frame, const std::vector<cv::Rect2f>& motion_regions,
                                int64_t time_us) override;
  std::string name() const override { return "classical"; }

  // Uses all of it: the calibration classifies by real size (nullptr: by relative size); under
  // stationary boxes the background does not adapt and blobs need no motion support; a blob
  // mostly inside a tracked box needs no motion support (ghosts are still told by their
  // outline). The calibration is not owned and must outlive its use.
  void SetSceneContext(const SceneContext& context) override { context_ = context; }
  // Forgets the background (camera moved, global light change).
  void Reset();

  // Of the latest frame: 255 where an object is (shadows removed), else 0. Same size as the frame.
  const cv::Mat& foreground() const override;
  DetectorCounters counters() const override { return {stats_.frames, stats_.rejected_frames}; }
  // The current background, CV_8UC3 BGR.
  const cv::Mat& background() const;
  const ClassicalDetectorStats& stats() const { return stats_; }
  const ClassicalDetectorOptions& options() const { return options_; }

 private:
  struct State;  // images, kernels and scratch; runs the steps of Detect() (.cc)
  explicit ClassicalDetector(const ClassicalDetectorOptions& options);

  ClassicalDetectorOptions options_;
  ClassicalDetectorStats stats_;
  SceneContext context_;
  std::unique_ptr<State> state_;
};

// The class of a blob of `box` (pixels) in a frame of `frame_size`, by the options' size rules.
ObjectClass ClassifyBySize(const cv::Rect2f& box, cv::Size frame_size,
                           const Calibration* calibration, const ClassicalDetectorOptions& options);

}  // namespace skynet::analytics
