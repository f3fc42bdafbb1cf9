#include "pipeline/analytics/video_quality_options.h"

#include <sstream>
#include <string>

namespace skynet::analytics {
namespace {

template <typename T>
Status CheckRange(const std::string& field, T value, T lo, T hi) {
  if (value >= lo && value <= hi) return Status::Ok();  // false for NaN
  std::ostringstream msg;
  msg << field << ": must be in [" << lo << ", " << hi << "], got " << value;
  return Status::InvalidArgument(msg.str());
}

Status CheckThresholds(const std::string& name, const QualityThresholds& t) {
  SKYNET_RETURN_IF_ERROR(CheckRange(name + ".enter", t.enter, 0.0, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckRange(name + ".leave", t.leave, 0.0, t.enter));
  SKYNET_RETURN_IF_ERROR(CheckRange(name + ".enter_ms", t.enter_ms, 0, 86'400'000));
  SKYNET_RETURN_IF_ERROR(CheckRange(name + ".leave_ms", t.leave_ms, 0, 86'400'000));
  return Status::Ok();
}

}  // namespace

Status ValidateVideoQualityOptions(const VideoQualityOptions& o) {
  SKYNET_RETURN_IF_ERROR(CheckRange<int>("work_width", o.work_width, 64, 1920));
  SKYNET_RETURN_IF_ERROR(CheckRange<int>("warmup_samples", o.warmup_samples, 1, 1000));
  SKYNET_RETURN_IF_ERROR(
      CheckRange<int>("reference_adapt_ms", o.reference_adapt_ms, 1, 2'000'000'000));
  SKYNET_RETURN_IF_ERROR(
      CheckRange<int>("reference_refresh_ms", o.reference_refresh_ms, 0, 2'000'000'000));
  SKYNET_RETURN_IF_ERROR(
      CheckRange("reference_refresh_max_shift", o.reference_refresh_max_shift, 0.0, 0.1));
  SKYNET_RETURN_IF_ERROR(CheckRange("frozen_mean_diff", o.frozen_mean_diff, 0.0, 50.0));
  SKYNET_RETURN_IF_ERROR(CheckRange("frozen_block_diff", o.frozen_block_diff, 0.0, 50.0));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("frozen", o.frozen));
  SKYNET_RETURN_IF_ERROR(CheckRange<int>("black_level", o.black_level, 0, 254));
  SKYNET_RETURN_IF_ERROR(
      CheckRange<int>("saturated_level", o.saturated_level, o.black_level + 1, 255));
  SKYNET_RETURN_IF_ERROR(CheckRange("black_fraction", o.black_fraction, 0.01, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckRange("saturated_fraction", o.saturated_fraction, 0.01, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("black", o.black));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("overexposed", o.overexposed));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("low_contrast", o.low_contrast));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("blur", o.blur));
  SKYNET_RETURN_IF_ERROR(CheckRange<int>("grid_cols", o.grid_cols, 1, 32));
  SKYNET_RETURN_IF_ERROR(CheckRange<int>("grid_rows", o.grid_rows, 1, 32));
  SKYNET_RETURN_IF_ERROR(CheckRange("cell_edge_ratio", o.cell_edge_ratio, 0.0, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckRange("cell_uniform_contrast", o.cell_uniform_contrast, 0.0, 1.0));
  SKYNET_RETURN_IF_ERROR(
      CheckRange("cell_textured_contrast", o.cell_textured_contrast, o.cell_uniform_contrast, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckRange("occluded_fraction", o.occluded_fraction, 0.01, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("occlusion", o.occlusion));
  SKYNET_RETURN_IF_ERROR(CheckRange("moved_displacement", o.moved_displacement, 0.001, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckRange<int>("min_inliers", o.min_inliers, 3, 500));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("moved", o.moved));
  SKYNET_RETURN_IF_ERROR(CheckRange("cast_chroma", o.cast_chroma, 0.01, 2.0));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("colour_cast", o.colour_cast));
  SKYNET_RETURN_IF_ERROR(CheckRange("noise_sigma", o.noise_sigma, 0.1, 128.0));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("noise", o.noise));
  SKYNET_RETURN_IF_ERROR(CheckRange("stripe_amplitude", o.stripe_amplitude, 0.001, 1.0));
  SKYNET_RETURN_IF_ERROR(CheckThresholds("stripes", o.stripes));
  return Status::Ok();
}

}  // namespace skynet::analytics
