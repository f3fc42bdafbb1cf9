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
// healed into the background, unless it lies under a frozen box.
//
// One per camera, on the camera's analytics worker: not thread-safe. Detect() never throws and
// never logs; failures count into stats().
//
//   auto det = ClassicalDetector::Create(options);          // Result<unique_ptr<...>>
//   det->set_calibration(&calibration);                      // optional
//   auto found = det->Detect(frame, motion_boxes, time_us);  // then tracker.Update(found, ...)
//   det->SetFrozenBoxes(tracker.StationaryBoxes());          // applies from the next frame
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "pipeline/analytics/calibration.h"
#include "pipeline/analytics/detection.h"
#include "pipeline/core/status.h"

namespace skynet::analytics {

struct ClassicalDetectorOptions {
  // Colour distance from the background (sum of |dB| + |dG| + |dR|) above which a pixel is
  // foreground.
  int threshold = 45;
  // Background time constants, ms: for free road, and for pixels under a blob.
  int background_adapt_ms = 5000;
  int foreground_adapt_ms = 60000;
  // Drop blobs that no motion region supports (see the class comment). Off only for callers that
  // have no motion detector.
  bool require_motion_support = true;

  // --- Shadows ---
  bool shadow_suppression = true;
  // A shadow pixel's brightness is this fraction of the background's...
  float shadow_min_ratio = 0.4f;
  float shadow_max_ratio = 0.92f;
  // ...its colour differs from the scaled background by at most this (relative)...
  float shadow_chroma_tolerance = 0.08f;
  // ...and its local gradient matches the scaled background's within this fraction (+ 4 levels).
  float shadow_texture_tolerance = 0.35f;

  // --- Blobs ---
  // Closing radius that fills a vehicle's holes (windows like the road), pixels at 320x180.
  int close_px = 2;
  // Smallest blob kept, fraction of the frame area.
  double min_blob_area = 0.0008;
  // Split a blob at its neck when two cores remain at this fraction of its largest inner
  // distance (0 disables).
  float split_core_ratio = 0.5f;
  // Merge two blobs whose boxes are within this many pixels (at 320x180) when the smaller has at
  // most merge_max_fragment of the larger's pixels.
  int merge_gap_px = 4;
  float merge_max_fragment = 0.35f;

  // --- Classes (calibrated, metres) ---
  float person_max_width_m = 1.6f;       // narrower than this (a walker's stride) and...
  float person_min_aspect = 1.2f;        // ...box height / width above this: a person
  float two_wheeler_max_width_m = 1.2f;  // narrower, not upright: a motorcycle/bicycle
  float large_min_width_m = 7.0f;        // wider than this, or...
  float large_min_height_m = 2.8f;       // ...taller than this: a bus/truck (reported as truck)
  float min_object_m = 0.3f;             // smaller in both dimensions: unknown
  // --- Classes (uncalibrated fallback, fractions of the frame area) ---
  double person_max_area = 0.02;
  float person_min_aspect_uncalibrated = 1.5f;
  double large_min_area = 0.08;
  bool operator==(const ClassicalDetectorOptions&) const = default;
};

// Returns ok, or InvalidArgument naming the first bad field ("classical.threshold: ...").
Status ValidateClassicalDetectorOptions(const ClassicalDetectorOptions& options);

struct ClassicalDetectorStats {
  uint64_t frames = 0;           // calls to Detect()
  uint64_t rejected_frames = 0;  // empty or unsupported frames, OpenCV errors
  uint64_t reinitialisations = 0;
  uint64_t splits = 0;       // blobs split in two or more
  uint64_t merges = 0;       // fragments merged
  uint64_t unsupported = 0;  // blobs dropped for lack of motion support (ghosts included)
  uint64_t ghosts = 0;       // blobs whose outline is in the background, not the frame
  uint64_t tails = 0;        // narrow runs (a pedestrian at the kerb) cut off vehicle blobs
  uint64_t stacked = 0;      // blobs split into vehicles of adjacent lanes overlapping on screen
  uint64_t motion_cuts = 0;  // blobs split where their rows move differently
};

class ClassicalDetector final : public VehicleDetector {
 public:
  static Result<std::unique_ptr<ClassicalDetector>> Create(const ClassicalDetectorOptions& options);
  ~ClassicalDetector() override;

  // `frame`: CV_8UC3 BGR (or CV_8UC1: no colour shadow test) at the detect size. The first frame
  // (and the first after a size change or Reset()) seeds the background and yields nothing.
  std::vector<Detection> Detect(const cv::Mat& frame, const std::vector<cv::Rect2f>& motion_regions,
                                int64_t time_us) override;
  std::string name() const override { return "classical"; }

  // Not owned; nullptr (default) classifies by relative size. Must outlive its use.
  void set_calibration(const Calibration* calibration) { calibration_ = calibration; }
  // Pixel boxes (e.g. Tracker::StationaryBoxes()) under which the background does not adapt and
  // blobs need no motion support, from the next Detect() on.
  void SetFrozenBoxes(std::vector<cv::Rect2f> boxes) { frozen_ = std::move(boxes); }
  // Pixel boxes of objects being tracked (seen in the latest frame, at least twice): a blob
  // mostly inside one needs no motion support, so a vehicle that has just stopped (no motion,
  // not yet stationary) or a slow pedestrian is not healed into the background. Ghosts are
  // still told by their outline.
  void SetTrackedBoxes(std::vector<cv::Rect2f> boxes) { tracked_ = std::move(boxes); }
  // Forgets the background (camera moved, global light change).
  void Reset();

  // Of the latest frame: 255 where an object is (shadows removed), else 0. Same size as the frame.
  const cv::Mat& foreground() const;
  // The current background, CV_8UC3 BGR.
  const cv::Mat& background() const;
  const ClassicalDetectorStats& stats() const { return stats_; }
  const ClassicalDetectorOptions& options() const { return options_; }

 private:
  struct State;
  explicit ClassicalDetector(const ClassicalDetectorOptions& options);

  ClassicalDetectorOptions options_;
  ClassicalDetectorStats stats_;
  const Calibration* calibration_ = nullptr;
  std::vector<cv::Rect2f> frozen_;
  std::vector<cv::Rect2f> tracked_;
  std::unique_ptr<State> state_;
};

// The class of a blob of `box` (pixels) in a frame of `frame_size`, by the options' size rules.
ObjectClass ClassifyBySize(const cv::Rect2f& box, cv::Size frame_size,
                           const Calibration* calibration, const ClassicalDetectorOptions& options);

}  // namespace skynet::analytics
