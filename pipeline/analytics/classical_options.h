// ClassicalDetectorOptions: every knob of the classical vehicle detector (ClassicalDetector),
// with defaults for a road camera analysed at 320x180. Plain data; the daemon fills it from a
// camera's `vehicles.classical:` config section and checks it with
// ValidateClassicalDetectorOptions() (ClassicalDetector::Create() does the same).
#pragma once

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
  // Also lamp light on a dark road at night (calibrated, along the road: docs/vehicles.md, night).
  bool shadow_suppression = true;
  // A shadow pixel's brightness is this fraction of the background's...
  float shadow_min_ratio = 0.4f;
  float shadow_max_ratio = 0.92f;
  // ...its colour differs from the scaled background by at most this (relative)...
  float shadow_chroma_tolerance = 0.08f;
  // ...and its local gradient matches the scaled background's within this fraction (+ 4 levels).
  float shadow_texture_tolerance = 0.35f;

  // --- Blobs, uncalibrated (a camera with a calibration uses the metre sizes below) ---
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

  // --- Blobs, calibrated: metres at the ground scale where the blob stands, so one setting
  // suits every detect width and every distance from the camera ---
  // Closing radius, metres at each image row's ground scale.
  float close_m = 0.3f;
  // Smallest blob kept, square metres at the ground scale of its bottom edge.
  float min_blob_area_m2 = 0.7f;
  // Merge a fragment (see merge_max_fragment) within this many metres of the larger blob.
  float merge_gap_m = 0.6f;
  // A blob wider (higher, at the ground scale of its bottom edge) than this holds more than one
  // vehicle: it is cut at a valley of its columns (rows) if it has one.
  float max_vehicle_width_m = 3.0f;
  float max_vehicle_height_m = 4.0f;
  // Blobs standing farther than this from the camera (ground distance) are not analysed: not
  // reported (0: no limit).
  float max_distance_m = 120.0f;

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

}  // namespace skynet::analytics
