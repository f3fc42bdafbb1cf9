// VideoQualityOptions: every knob of the video quality diagnostics (VideoQualityMonitor), with
// defaults for a fixed surveillance camera sampled at about 1 frame per second. Plain data,
// checked by ValidateVideoQualityOptions() (VideoQualityMonitor::Create() does the same).
//
// Each check computes a score in [0, 1] per sample (0 = fine, 1 = certainly faulty) and has its
// own hysteresis: it enters the fault state after its score stayed >= `enter` for `enter_ms`, and
// leaves it after the score stayed <= `leave` for `leave_ms`. "Stayed" tolerates dips no further
// back than the middle of enter and leave, as long as the mean score over that time is beyond the
// threshold (video_quality.cc, Hysteresis). docs/video-quality.md says what each score measures.
#pragma once

#include <cstdint>

#include "pipeline/core/status.h"

namespace skynet::analytics {

// Hysteresis of one check.
struct QualityThresholds {
  double enter = 0.5;   // score at or above which the fault is pending
  double leave = 0.3;   // score at or below which the fault is pending to clear (<= enter)
  int enter_ms = 5000;  // the score must stay >= enter this long before the fault is raised
  int leave_ms = 5000;  // ... and <= leave this long before it clears

  bool operator==(const QualityThresholds&) const = default;
};

struct VideoQualityOptions {
  // Width (pixels) of the working image every sample is scaled to (aspect ratio kept).
  int work_width = 320;
  // Samples, all with black/over-exposed/frozen OK, averaged into the first reference view.
  int warmup_samples = 5;
  // Time constant (ms) with which the reference measures follow the scene while every check is
  // OK (day/night, seasons). Faults never feed the reference.
  int reference_adapt_ms = 600'000;
  // The reference image (for registration and per-cell edges) is replaced by the current view
  // at most this often (ms), and only when every check is OK and the view is registered within
  // `reference_refresh_max_shift` of it.
  int reference_refresh_ms = 600'000;
  // Largest registration displacement (fraction of the working width) at which the reference
  // image may be refreshed: a slow drift is not learned away.
  double reference_refresh_max_shift = 0.004;

  // --- Frozen picture ---
  // Mean absolute difference (levels) between consecutive samples below which they are equal.
  double frozen_mean_diff = 0.4;
  // ... and largest difference of any 8x8 block mean (levels): no local change either.
  double frozen_block_diff = 2.0;
  QualityThresholds frozen{0.5, 0.5, 10'000, 2000};

  // --- Black and over-exposed picture ---
  int black_level = 24;       // pixels at or below this level (0-255) are black
  int saturated_level = 250;  // pixels at or above this level are saturated
  // Score: black (saturated) share of the picture, relative to the share below.
  double black_fraction = 0.98;      // share of black pixels that makes score 1
  double saturated_fraction = 0.75;  // share of saturated pixels that makes score 1
  QualityThresholds black{0.99, 0.9, 3000, 3000};
  QualityThresholds overexposed{0.8, 0.6, 5000, 5000};

  // --- Low contrast / fog: contrast (p95-p5)/(p95+p5) relative to the reference's ---
  QualityThresholds low_contrast{0.6, 0.45, 15'000, 10'000};

  // --- Blur / defocus: edge energy (normalised by the contrast range) relative to reference ---
  QualityThresholds blur{0.55, 0.4, 10'000, 10'000};

  // --- Occlusion / cover, per grid cell ---
  int grid_cols = 12;
  int grid_rows = 8;
  // A cell lost its edges when its edge energy fell below this share of the reference cell's
  // and below half the median share over all cells (a frame-wide loss is blur, not cover).
  double cell_edge_ratio = 0.35;
  // A cell is uniform when its standard deviation is below this share of the frame's contrast
  // range (p95 - p5), so fog and dusk, which lower both, do not make cells uniform ...
  double cell_uniform_contrast = 0.03;
  // ... and a cell counts only if it had texture in the reference: std at least this share.
  double cell_textured_contrast = 0.08;
  // Score: share of the textured reference cells that were lost, relative to this share.
  double occluded_fraction = 0.15;
  QualityThresholds occlusion{0.5, 0.25, 8000, 8000};

  // --- Camera moved / rotated: ORB registration against the reference view ---
  // Largest displacement of the working image's corners under the registration, as a fraction
  // of the working width, that makes score 1 (shake jitter stays far below enter * this).
  double moved_displacement = 0.08;
  // Fewest RANSAC inliers for a registration; below this on a textured, unobstructed view the
  // scene is not the reference's (score 1).
  int min_inliers = 15;
  QualityThresholds moved{0.35, 0.2, 10'000, 10'000};

  // --- Colour cast: grey-world chroma of the frame beyond the reference's ---
  // Chroma distance from neutral (above the reference's) that makes score 1.
  double cast_chroma = 0.3;
  QualityThresholds colour_cast{0.5, 0.3, 10'000, 10'000};

  // --- Noise / snow: noise sigma estimate (levels, at working size) above the reference's ---
  double noise_sigma = 4.0;  // excess sigma that makes score 1
  QualityThresholds noise{0.5, 0.3, 10'000, 10'000};

  // --- Stripes / interference: periodic energy of row and column means ---
  // Amplitude of the strongest periodic component (share of the contrast range) above the
  // reference's that makes score 1.
  double stripe_amplitude = 0.12;
  QualityThresholds stripes{0.5, 0.3, 10'000, 10'000};

  bool operator==(const VideoQualityOptions&) const = default;
};

// Returns ok, or InvalidArgument naming the first bad field: "blur.enter: must be in [0, 1]...".
Status ValidateVideoQualityOptions(const VideoQualityOptions& options);

}  // namespace skynet::analytics
