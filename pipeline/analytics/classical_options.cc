#include "pipeline/analytics/classical_options.h"

namespace skynet::analytics {

Status ValidateClassicalDetectorOptions(const ClassicalDetectorOptions& o) {
  if (o.threshold < 3 || o.threshold > 765) {
    return Status::InvalidArgument("classical.threshold: must be in [3, 765]");
  }
  if (o.background_adapt_ms <= 0 || o.foreground_adapt_ms <= 0) {
    return Status::InvalidArgument(
        "classical.background_adapt_ms/foreground_adapt_ms: must be > 0");
  }
  if (!(o.shadow_min_ratio > 0 && o.shadow_min_ratio < o.shadow_max_ratio &&
        o.shadow_max_ratio <= 1)) {
    return Status::InvalidArgument(
        "classical.shadow_min_ratio/shadow_max_ratio: need 0 < min < max <= 1");
  }
  if (o.shadow_chroma_tolerance < 0 || o.shadow_texture_tolerance < 0) {
    return Status::InvalidArgument("classical.shadow_*_tolerance: must be >= 0");
  }
  if (o.close_px < 0 || o.close_px > 20) {
    return Status::InvalidArgument("classical.close_px: must be in [0, 20]");
  }
  if (!(o.min_blob_area > 0 && o.min_blob_area < 0.5)) {
    return Status::InvalidArgument("classical.min_blob_area: must be in (0, 0.5)");
  }
  if (o.split_core_ratio < 0 || o.split_core_ratio >= 1) {
    return Status::InvalidArgument("classical.split_core_ratio: must be in [0, 1)");
  }
  if (o.merge_gap_px < 0 || o.merge_max_fragment < 0 || o.merge_max_fragment > 1) {
    return Status::InvalidArgument("classical.merge_gap_px/merge_max_fragment: out of range");
  }
  if (!(o.close_m >= 0 && o.close_m <= 2)) {
    return Status::InvalidArgument("classical.close_m: must be in [0, 2]");
  }
  if (!(o.min_blob_area_m2 > 0 && o.min_blob_area_m2 <= 20)) {
    return Status::InvalidArgument("classical.min_blob_area_m2: must be in (0, 20]");
  }
  if (!(o.merge_gap_m >= 0 && o.merge_gap_m <= 10)) {
    return Status::InvalidArgument("classical.merge_gap_m: must be in [0, 10]");
  }
  if (!(o.max_vehicle_width_m > 0 && o.max_vehicle_width_m <= 20 && o.max_vehicle_height_m > 0 &&
        o.max_vehicle_height_m <= 20)) {
    return Status::InvalidArgument(
        "classical.max_vehicle_width_m/max_vehicle_height_m: must be in (0, 20]");
  }
  if (!(o.max_distance_m >= 0 && o.max_distance_m <= 10000)) {
    return Status::InvalidArgument("classical.max_distance_m: must be in [0, 10000] (0: no limit)");
  }
  return Status::Ok();
}

}  // namespace skynet::analytics
