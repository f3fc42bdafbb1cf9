#include "pipeline/analytics/motion_options.h"

#include <cmath>
#include <sstream>
#include <string>

namespace skynet::analytics {
namespace {

template <typename T>
Status CheckRange(const char* field, T value, T lo, T hi) {
  if (value >= lo && value <= hi) return Status::Ok();  // false for NaN
  std::ostringstream msg;
  msg << field << ": must be in [" << lo << ", " << hi << "], got " << value;
  return Status::InvalidArgument(msg.str());
}

}  // namespace

Status ValidateMotionOptions(const MotionOptions& o) {
  SKYNET_RETURN_IF_ERROR(CheckRange("threshold", o.threshold, 1, 254));
  SKYNET_RETURN_IF_ERROR(CheckRange("min_region_area", o.min_region_area, 0.0, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckRange("start_frames", o.start_frames, 1, 1000));
  SKYNET_RETURN_IF_ERROR(CheckRange("end_quiet_ms", o.end_quiet_ms, 0, 3'600'000));
  SKYNET_RETURN_IF_ERROR(CheckRange("update_interval_ms", o.update_interval_ms, 0, 3'600'000));
  for (size_t i = 0; i < o.masks.size(); ++i) {
    const auto& polygon = o.masks[i];
    const std::string name = "masks[" + std::to_string(i) + "]";
    if (polygon.size() < 3) {
      return Status::InvalidArgument(name + ": a polygon needs at least 3 points, got " +
                                     std::to_string(polygon.size()));
    }
    for (size_t j = 0; j < polygon.size(); ++j) {
      const cv::Point2f& p = polygon[j];
      if (!(p.x >= 0.f && p.x <= 1.f && p.y >= 0.f && p.y <= 1.f)) {
        std::ostringstream msg;
        msg << name << "[" << j << "]: coordinates must be normalised to [0, 1], got (" << p.x
            << ", " << p.y << ")";
        return Status::InvalidArgument(msg.str());
      }
    }
  }
  SKYNET_RETURN_IF_ERROR(CheckRange("background_adapt_ms", o.background_adapt_ms, 1, 86'400'000));
  SKYNET_RETURN_IF_ERROR(CheckRange("foreground_adapt_ms", o.foreground_adapt_ms, 1, 86'400'000));
  SKYNET_RETURN_IF_ERROR(CheckRange("max_brightness_step", o.max_brightness_step, 0, 255));
  SKYNET_RETURN_IF_ERROR(CheckRange("global_change_fraction", o.global_change_fraction, 0.01, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckRange("dilate_px", o.dilate_px, 0, 20));
  SKYNET_RETURN_IF_ERROR(CheckRange("max_regions", o.max_regions, 1, 1000));
  SKYNET_RETURN_IF_ERROR(CheckRange("min_shake_px", o.min_shake_px, 0.0, 32.0));
  SKYNET_RETURN_IF_ERROR(CheckRange("max_shake_px", o.max_shake_px, o.min_shake_px, 32.0));
  SKYNET_RETURN_IF_ERROR(
      CheckRange("contrast_reference_range", o.contrast_reference_range, 1, 255));
  SKYNET_RETURN_IF_ERROR(CheckRange("night_brightness", o.night_brightness, 0, 255));
  SKYNET_RETURN_IF_ERROR(CheckRange("night_threshold", o.night_threshold, 1, 254));
  SKYNET_RETURN_IF_ERROR(CheckRange("night_min_region_area", o.night_min_region_area, 0.0, 1.0));
  return Status::Ok();
}

}  // namespace skynet::analytics
