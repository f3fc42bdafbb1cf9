// MotionOptions: every knob of the motion detector, with defaults for a typical road camera.
// Plain data; the daemon fills it from the camera's `motion:` config section and checks it with
// ValidateMotionOptions() (MotionDetector::Create() does the same).
//
// Sizes and areas are relative to the detect size (e.g. 320x180), so one config suits any camera.
// Masks are polygons in normalised coordinates; to hide an OSD clock in the top-left corner:
//   options.masks.push_back({{0, 0}, {0.35f, 0}, {0.35f, 0.08f}, {0, 0.08f}});
#pragma once

#include <cstdint>
#include <opencv2/core/types.hpp>
#include <vector>

#include "pipeline/core/status.h"

namespace skynet::analytics {

struct MotionOptions {
  // Pixel difference (0-255) from the background above which a pixel counts as changed (day).
  int threshold = 25;
  // Smallest region kept (its changed pixels), as a fraction of the frame area (day).
  double min_region_area = 0.001;
  // Frames with motion needed before MotionStarted (temporal confirmation).
  int start_frames = 3;
  // Quiet time after the last motion before MotionEnded (hysteresis), milliseconds.
  int end_quiet_ms = 2000;
  // Minimum interval between MotionUpdated events while motion lasts, milliseconds.
  int update_interval_ms = 1000;
  // Polygons in normalised coordinates [0,1]; pixels inside any polygon are ignored.
  std::vector<std::vector<cv::Point2f>> masks;

  // --- Background model ---
  // Time constant (ms) with which the background follows pixels that show no motion: shorter
  // follows lighting faster, longer keeps a slowly moving queue visible.
  int background_adapt_ms = 5000;
  // Time constant (ms) for pixels under a motion region: a vehicle that stops is learned into
  // the background over roughly this to twice this. (A vehicle that leaves is dropped from the
  // background at once: its outline is in the background but not in the frame.)
  int foreground_adapt_ms = 60000;
  // Largest frame-wide brightness change per frame (levels, robust median over the frame) that
  // the background follows at once (auto-exposure, clouds). Larger jumps are global changes.
  // 0 disables.
  int max_brightness_step = 12;
  // Changed fraction of the unmasked frame above which a frame is a global change (light switch,
  // iris, camera moved): the background is re-seeded and no motion is reported.
  double global_change_fraction = 0.5;
  // Dilation (pixels) that joins the fragments of one vehicle into one region.
  int dilate_px = 2;
  // At most this many regions per frame; the largest are kept.
  int max_regions = 16;

  // --- Camera shake ---
  // Estimate a small global translation (phase correlation against the background) and undo it
  // before differencing, so that a camera swaying on its pole is not motion.
  bool shake_compensation = true;
  // Shifts up to this many pixels are treated as no shift.
  double min_shake_px = 0.5;
  // Shifts above this many pixels are not compensated (a real move becomes a global change).
  double max_shake_px = 8.0;

  // --- Contrast and day/night ---
  // In the day profile, lower the threshold for low-contrast scenes (fog, dusk) in proportion
  // to the background's contrast, down to half: the same as stretching the contrast, for free.
  bool auto_contrast = true;
  // Background contrast (5th-95th percentile range, levels) at which the threshold applies as is.
  int contrast_reference_range = 80;
  // Mean background brightness (0-255) below which the night profile applies; day resumes
  // 10 levels above it.
  int night_brightness = 50;
  // Threshold at night: higher, against sensor noise and headlight glare on the road (dim glare
  // up to 30 levels is ignored; the beam of a passing car is not).
  int night_threshold = 30;
  // Smallest region kept at night, as a fraction of the frame area.
  double night_min_region_area = 0.0015;

  bool operator==(const MotionOptions&) const = default;
};

// Returns ok, or InvalidArgument naming the first bad field: "threshold: must be in [1, 254]...".
Status ValidateMotionOptions(const MotionOptions& options);

}  // namespace skynet::analytics
