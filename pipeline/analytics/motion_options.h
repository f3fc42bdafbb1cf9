// MotionOptions: every knob of the motion detector, with defaults for a typical road camera.
// Plain data; the daemon fills it from the camera's `motion:` config section.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core/types.hpp>

namespace skynet::analytics {

struct MotionOptions {
  // Pixel difference (0-255) from the background above which a pixel counts as changed.
  int threshold = 25;
  // Smallest region kept, as a fraction of the frame area.
  double min_region_area = 0.0015;
  // Frames with motion needed before MotionStarted (temporal confirmation).
  int start_frames = 3;
  // Quiet time after the last motion before MotionEnded (hysteresis), milliseconds.
  int end_quiet_ms = 2000;
  // Minimum interval between MotionUpdated events while motion lasts, milliseconds.
  int update_interval_ms = 1000;
  // Polygons in normalised coordinates [0,1]; pixels inside any polygon are ignored.
  std::vector<std::vector<cv::Point2f>> masks;
};

}  // namespace skynet::analytics
