// Motion split for the classical detector (ClassicalDetector::Detect, step 3c): objects that
// overlap on screen but move differently (vehicles of adjacent lanes at other speeds or in the
// other direction, a pedestrian at the kerb far slower than the vehicle it touches).
//
// Each row of a blob is matched against the previous frame at every horizontal shift up to the
// largest plausible motion; motions are added while one more explains a good share of the rows'
// error away; then every pixel goes to the motion that explains its neighbourhood clearly best
// (or, where none does, such as a uniform body, to its row's best), and each motion's connected
// parts become blobs. Shifts are horizontal: a view across the road, where vehicles of adjacent
// lanes overlap on screen. Seen along the road, vehicles move mostly vertically, no shift
// explains them and the blob is left whole (to the other splits).
//
// A plain function on the caller's images and scratch: no state, no locking.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "pipeline/analytics/blob_split.h"

namespace skynet::analytics {

// At most this many motions per blob.
constexpr int kMaxMotions = 4;

// Buffers reused from blob to blob and frame to frame.
struct MotionScratch {
  std::vector<int> count;
  std::vector<double> rows;            // rows x shifts: the row's error at each shift
  std::vector<double> windowed;        // the same, summed over a few rows around each
  std::vector<double> windowed_count;  // per row: pixels in those rows
  std::vector<double> best;            // per row: the least error among the chosen motions
  std::vector<double> sum;             // per shift
  std::vector<double> refined;         // per row, at one shift
  std::vector<int> cumulative;         // rows x (width + 1): pixels of the row left of x
  std::vector<int> owner;              // per row: the motion that explains it best
  std::vector<char> mine;              // per row: this motion explains it best
  std::vector<Blob> parts;             // of the blob being split
  cv::Mat diff, row_sum;
  cv::Mat error[kMaxMotions], label, part, comp, comp_stats, comp_centroids;
};

// Splits the blob of `box` whose pixels are `own` (box-sized mask) in `grey` (this frame).
// `prev_padded`: the previous grey frame with `max_shift` (> 0) columns of its edge repeated on
// both sides; shifts are searched `step` pixels apart, then refined to the pixel; two motions
// differ by at least `min_shift` pixels; pieces of one motion at most `join_gap` apart are one
// object; `open_kernel`: 3x3. Appends the blob's parts to `parts` and returns true when two or
// more motions are found; else leaves `parts` as it was and returns false.
bool SplitByMotion(const cv::Mat& grey, const cv::Mat& prev_padded, const cv::Rect& box,
                   const cv::Mat& own, int max_shift, int step, double min_shift, int join_gap,
                   const cv::Mat& open_kernel, MotionScratch* scratch, std::vector<Blob>* parts);

}  // namespace skynet::analytics
