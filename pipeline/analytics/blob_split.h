// Blob splitting and merging for the classical detector (ClassicalDetector::Detect, steps 3-4):
// a foreground blob is not always one object. Two vehicles touching at a corner are split at
// their neck, a pedestrian at the kerb below or above a vehicle is cut off as a tail, vehicles of
// adjacent lanes overlapping on screen are split where their rows' extent jumps (stacked), and
// vehicles of adjacent lanes are cut where the lane under them changes (lanes configured), and
// the fragments of one vehicle (a body the road's colour shows through) are merged back.
// Blobs whose rows move differently are split by motion_split.h.
//
// Plain functions on the caller's images and scratch: no state, no locking (the detector's
// worker thread owns the scratch).
#pragma once

#include <functional>
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

// The rows one vehicle standing on the bottom edge of `box` may take on screen: at least [0] and
// at most [1] (calibrated: metres at that place's scale).
using VehicleRows = std::function<cv::Vec2i(const cv::Rect& box)>;

// Vehicles one behind the other along the road make one blob taller than any vehicle standing at
// its bottom edge. While `blob` is taller than rows(blob)[1], cuts it at the row with the fewest
// pixels of `fg` among those rows(blob)[0]..[1] above its bottom, if that row is a valley (at
// most kValleyShare of the blob's median row: one long vehicle has none): the part below becomes
// a blob of its own (appended to `parts`, box tightened to its pixels), the rest is cut again.
// Returns the number of cuts.
int CutAlongRoad(const cv::Mat& fg, const VehicleRows& rows, Blob* blob, std::vector<Blob>* parts);

// Vehicles side by side (adjacent lanes) make one blob wider than one vehicle: `max_width` px at
// its bottom edge. Splits `blob` at its emptiest column with at least `min_width` px on each
// side, if that column is a valley (as above), and the parts again while still too wide.
// Appends the parts but the leftmost (left in `blob`) to `parts`; returns the number of cuts.
using VehicleColumns = std::function<cv::Vec2i(const cv::Rect& box)>;  // [min_width, max_width]
int CutAcrossRoad(const cv::Mat& fg, const VehicleColumns& columns, Blob* blob,
                  std::vector<Blob>* parts);

// Which lane (index, or -1 for none) the ground point at a pixel lies in.
using LaneAt = std::function<int(cv::Point pixel)>;

// Vehicles of adjacent lanes overlapping on screen make one blob with no valley between them,
// but each stands on the road in its own lane. Labels each column of `blob` by the lane of its
// lowest pixel of `fg` (where that column touches the road) and cuts the blob where the lane
// changes, at the emptiest column near the change, when the columns on each side of the change
// are at least columns(part)[0] wide (the narrowest vehicle where that part stands). Appends the
// parts but the leftmost (left in `blob`) to `parts`; returns the number of cuts.
int CutAtLanes(const cv::Mat& fg, const LaneAt& lane_at, const VehicleColumns& columns, Blob* blob,
               std::vector<Blob>* parts);

// At night a vehicle's lamps light the wet road below them: a streak of reflections (and the
// beam) hangs under the lamps in the vehicle's blob. `lamp` marks the lamp pixels (frame-sized,
// 255). Finds the highest run of rows of `blob` holding lamp pixels; when the blob reaches more
// than `max_below` rows below that run's bottom (the lamps' greatest height above the road),
// cuts the rows farther down into `lower` (box tightened to its pixels of `fg`; empty box if
// none) and leaves the rest in `blob`. Returns whether it cut.
bool CutBelowLamps(const cv::Mat& fg, const cv::Mat& lamp, int max_below, Blob* blob, Blob* lower);

// A row (column) is a valley between two vehicles when it holds at most this share of the
// blob's median row (column).
constexpr double kValleyShare = 0.25;

// Whether `small` (a blob with at most max_fragment of the pixels of `big`) lies close enough to
// `big`, and their union is small enough, to be a fragment of the same object.
using FragmentTest = std::function<bool(const Blob& big, const Blob& small)>;

// Merges, until none is left, a blob into a larger one when it has at most `max_fragment` of the
// larger's pixels and `is_fragment` accepts the pair; cut blobs are never merged. Returns the
// merges.
int MergeFragments(float max_fragment, const FragmentTest& is_fragment, std::vector<Blob>* blobs);
// The same with a fixed gap: fragments within `gap` pixels of the larger blob.
int MergeFragments(int gap, float max_fragment, std::vector<Blob>* blobs);

}  // namespace skynet::analytics
