// Ghosts and healing for the classical detector (ClassicalDetector::Detect, step 2). A blob no
// motion region supports, or whose outline has its edges in the background rather than in the
// frame (a ghost: where a vehicle present at start-up or a parked car that left was), is not an
// object: the background is healed there at once, where the frame stands still. Ghosts of the
// first frame that traffic keeps inside a supported blob are healed pixel by pixel (SeedGhosts).
//
// IsGhost and HealBlob are plain functions on the caller's images; SeedGhosts keeps per-pixel
// state and is owned by one ClassicalDetector, on its camera's analytics worker (not
// thread-safe).
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "pipeline/analytics/classical_background.h"

namespace skynet::analytics {

// Whether component `label` of `labels` (box `box`) is a ghost: the band around its outline (a
// 3x3 `kernel` wide each way) has clearly more edge energy in `background` than in `frame`
// (both CV_8UC3, the frame's size).
bool IsGhost(const cv::Mat& labels, int label, const cv::Rect& box, const cv::Mat& frame,
             const cv::Mat& background, const cv::Mat& kernel);

// Heals component `label` (box `box`) into `background`: its pixels that changed by at most
// `threshold` since `prev` (the previous frame; any size but the frame's: all of them) are
// copied from `frame`, so a pedestrian merged with the ghost it left is not pasted in (it would
// leave a new ghost). The whole blob is cleared from `raw` and `fg`.
void HealBlob(const cv::Mat& labels, int label, const cv::Rect& box, const cv::Mat& frame,
              const cv::Mat& prev, int threshold, ClassicalBackground* background, cv::Mat* raw,
              cv::Mat* fg);

// Ghosts of the first frame: a vehicle present when the background was seeded (a bus 15 m away,
// traffic passing) leaves a ghost that passing traffic keeps inside a blob with motion support,
// where IsGhost cannot see its outline and the background adapts only on the slow foreground
// time constant. SeedGhosts heals it pixel by pixel, where the background still holds the seed:
// - the picture first differed from the seed within the row's leave time (how long a vehicle of
//   the first frame at road speed takes to leave a point of the road there: its length plus the
//   road its height hides, which grows with the distance); a pixel that first differs later is
//   something arriving (a car parking), not a ghost appearing;
// - it has not matched the background since;
// - and it has held still for the row's hold time, against the picture at the start of the run
//   (not the previous frame: a far vehicle moving a pixel a frame looks still frame to frame).
//
//   seed.Seed(frame, rows);                                        // the first frame
//   seed.Heal(frame, dt_us, threshold, &background, &raw, &fg);    // each frame after Classify
class SeedGhosts {
 public:
  struct Row {
    float leave_s = 0;  // the picture must first differ from the seed within this (seconds)
    float hold_s = 0;   // and then hold still this long (seconds) before it is healed
  };

  // Starts from the first frame `bgr` with `rows` (one per row of `bgr`; empty: never heal).
  void Seed(const cv::Mat& bgr, const std::vector<Row>& rows);

  // Of `bgr` (`dt_us` after the last frame), classified into `raw` (255 = changed): pastes into
  // `background` the changed pixels that are ghosts of the seed (above) and have held still
  // (summed channel change at most `threshold`) for their hold time, and clears them from `raw`
  // and `fg`. Returns how many pixels were healed.
  // Nothing inside `frozen` (pixel boxes of stationary tracks) is healed.
  int Heal(const cv::Mat& bgr, int64_t dt_us, int threshold, const std::vector<cv::Rect>& frozen,
           ClassicalBackground* background, cv::Mat* raw, cv::Mat* fg);

 private:
  bool active_ = false;
  double elapsed_s_ = 0;  // since the seed
  float max_leave_s_ = 0;  // the largest leave time
  bool leave_passed_ = false;  // elapsed_s_ is past it
  float max_s_ = 0;        // the largest leave or hold time
  cv::Rect roi_;           // where pixels are not known yet (after the leave times), shrinking
  cv::Mat leave_, hold_;  // CV_32F: the rows' times per pixel
  cv::Mat known_;         // CV_8U: 255 where the background is known right (never healed here)
  cv::Mat differed_;      // CV_8U: 255 where the picture has differed from the background
  cv::Mat ref_;           // CV_8UC3: the picture at the start of each pixel's still run
  cv::Mat still_s_;       // CV_32F: how long each pixel has held still, seconds (capped)
  cv::Mat diff_, change_, heal_, scratch_;  // scratch
};

}  // namespace skynet::analytics
