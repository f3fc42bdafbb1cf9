// Ghosts and healing for the classical detector (ClassicalDetector::Detect, step 2). A blob no
// motion region supports, or whose outline has its edges in the background rather than in the
// frame (a ghost: where a vehicle present at start-up or a parked car that left was), is not an
// object: the background is healed there at once, where the frame stands still.
//
// Plain functions on the caller's images: no state, no locking.
#pragma once

#include <opencv2/core.hpp>

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

}  // namespace skynet::analytics
