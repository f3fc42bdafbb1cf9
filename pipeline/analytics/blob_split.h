// Blob splitting and merging for the classical detector (ClassicalDetector::Detect, steps 3-4):
// a foreground blob is not always one object. Two vehicles touching at a corner are split at
// their neck, a pedestrian at the kerb below or above a vehicle is cut off as a tail, vehicles of
// adjacent lanes overlapping on screen are split where their rows' extent jumps (stacked), and
// the fragments of one vehicle (a body the road's colour shows through) are merged back.
// Blobs whose rows move differently are split by motion_split.h.
//
// Plain functions on the caller's images and scratch: no state, no locking (the detector's
// worker thread owns the scratch).
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace skynet::analytics {

struct Blob {
  cv::Rect box;
  int area = 0;      // foreground pixels
  bool cut = false;  // cut off or cut from another blob (tails, motion): never merged back
};

// Distance in pixels between two boxes (0 if they touch or overlap).
int Gap(const cv::Rect& a, const cv::Rect& b);

// A cut needs at least this many rows on each side (tails, motion split).
constexpr int kTailMinRows = 3;
// A calibrated blob at least this tall (metres) is more than one road vehicle: CutStacked() then
// skips its containment test (two cars of adjacent lanes nearly aligned along the road).
constexpr float kStackMinHeightM = 3.0f;

// Images reused by SplitAtNeck() from call to call.
struct NeckScratch {
  cv::Mat roi_mask, dist, cores, core_labels, core_stats, core_centroids, seeds, seed_dist,
      seed_labels;
};

// Splits component `label` of `labels` (box `box`, `area` pixels) where two or more cores remain
// at `core_ratio` (> 0) of its largest inner distance, each pixel going to its nearest core; only
// a blob several times `min_area` that leaves its box's corners empty (two vehicles touching) is
// tried. Appends the parts (frame pixels) to `parts` and returns true when there are two or more;
// else leaves `parts` alone and returns false.
bool SplitAtNeck(const cv::Mat& labels, int label, const cv::Rect& box, int area, double min_area,
                 float core_ratio, NeckScratch* scratch, std::vector<Blob>* parts);

// Cuts a run of narrow rows at the top or bottom of `blob` (pixels of `fg` inside its box) into
// `tail` when what remains is vehicle-shaped. Returns whether it cut.
bool CutTail(const cv::Mat& fg, Blob* blob, Blob* tail);

// Splits `blob` into an upper part (left in `blob`) and a `lower` one when its rows' horizontal
// extent jumps at one row and neither part's extent holds the other's (unless `too_tall` for
// one vehicle). Returns whether it cut.
bool CutStacked(const cv::Mat& fg, bool too_tall, Blob* blob, Blob* lower);

// Merges, until none is left, a blob into a larger one within `gap` pixels of it when it has at
// most `max_fragment` of the larger's pixels; cut blobs are never merged. Returns the merges.
int MergeFragments(int gap, float max_fragment, std::vector<Blob>* blobs);

}  // namespace skynet::analytics
