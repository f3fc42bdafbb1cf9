// ClassicalBackground: the classical detector's colour background model (ClassicalDetector,
// steps 1 and 5). Tells object pixels from the road and from cast shadows (darker than the
// road, same chromaticity, same texture), and adapts: free road quickly, pixels under a blob
// slowly, pixels under a frozen box (a parked vehicle) not at all.
//
// Why colour, and why not the MotionDetector's background: see classical_detector.h.
//
// Owned by one ClassicalDetector, on its camera's analytics worker: not thread-safe.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "pipeline/analytics/classical_options.h"

namespace skynet::analytics {

class ClassicalBackground {
 public:
  // Starts the model from `bgr` (CV_8UC3).
  void Seed(const cv::Mat& bgr);

  // Of `bgr` (the background's size): `raw` marks every changed pixel (shadows too: the
  // background must not learn them), `fg` only object pixels (255, else 0). One pass, against
  // the background scaled to the frame's exposure (the median brightness ratio of the two: an
  // auto-exposure step or a cloud's shade scales the whole road, not the objects on it). With
  // `lamp_light` (and shadow suppression), lamp light on a dark road is no object either: a
  // brighter pixel, no lamp itself, over which the road's texture shows (beams, glow, wet-road
  // reflections at night).
  void Classify(const cv::Mat& bgr, const ClassicalDetectorOptions& options, bool lamp_light,
                cv::Mat* fg, cv::Mat* raw) const;

  // Copies the pixels of `bgr` inside `box` where `mask` (box-sized) is set into the background
  // at once (healing a ghost).
  void Paste(const cv::Mat& bgr, const cv::Rect& box, const cv::Mat& mask);

  // Follows `bgr` after `dt_us`: pixels near `raw` (dilated by `kernel`) with the foreground time
  // constant, others with the background one, pixels in `frozen` (pixel boxes) not at all.
  void Adapt(const cv::Mat& bgr, const cv::Mat& raw, const std::vector<cv::Rect>& frozen,
             int64_t dt_us, const ClassicalDetectorOptions& options, const cv::Mat& kernel);

  // Whether the object pixels of `mask` (frame-sized, 255 = object) inside `box` are mostly lamp
  // light at night: the road under them is dark and at least half of them are much brighter than
  // it (headlights, their beams, their reflections on a wet road), rather than a vehicle's body.
  bool IsLampLight(const cv::Mat& bgr, const cv::Mat& mask, const cv::Rect& box) const;

  // Marks in `lamp` (frame-sized CV_8U, set to 255 inside `box` only) the lamps at night: object
  // pixels of `mask` with a channel near saturation over a dark road.
  void MarkLamps(const cv::Mat& bgr, const cv::Mat& mask, const cv::Rect& box, cv::Mat* lamp) const;

  // Whether the scene is at night: the background's mean brightness is low (street lamps and
  // headlights light it). Lamp light is told from objects only then.
  bool Night() const;

  // The background, CV_8UC3 BGR.
  const cv::Mat& image() const { return bg8_; }

 private:
  cv::Mat bg_;                                     // CV_32FC3: the model
  cv::Mat bg8_;                                    // CV_8UC3: the same, rounded
  cv::Mat update_, not_update_, frozen_, pasted_;  // scratch
  // Classify's scratch: the background at the frame's exposure, the sampled ratios.
  mutable cv::Mat exposed_;
  mutable std::vector<float> gain_ratios_;
};

}  // namespace skynet::analytics
