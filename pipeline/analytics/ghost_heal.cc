#include "pipeline/analytics/ghost_heal.h"

#include <opencv2/imgproc.hpp>
#include <vector>

namespace skynet::analytics {
namespace {

// A blob whose outline has this many times more edge energy in the background than in the
// frame is where something was, not where something is; the outline's background must be at
// least this textured (mean |gx| + |gy| of the grey levels) for the test to say anything.
constexpr double kGhostEdgeRatio = 1.6;
constexpr double kGhostMinEdge = 12.0;

// Mean |gx| + |gy| (Sobel, the largest of the three colour channels: a green bus on grey
// asphalt has no edge in grey) of `bgr` over the non-zero pixels of `band` (same size).
double EdgeEnergy(const cv::Mat& bgr, const cv::Mat& band) {
  cv::Mat gx, gy, mag;
  cv::Sobel(bgr, gx, CV_16S, 1, 0, 3);
  cv::Sobel(bgr, gy, CV_16S, 0, 1, 3);
  cv::add(cv::abs(gx), cv::abs(gy), mag, cv::noArray(), CV_16S);
  std::vector<cv::Mat> channels;
  cv::split(mag, channels);
  cv::Mat most = cv::max(cv::max(channels[0], channels[1]), channels[2]);
  return cv::mean(most, band)[0] / 4.0;  // Sobel 3x3 weighs the difference by 4
}

}  // namespace

bool IsGhost(const cv::Mat& labels, int label, const cv::Rect& box, const cv::Mat& frame,
             const cv::Mat& background, const cv::Mat& kernel) {
  const cv::Rect outer = cv::Rect(box.x - 2, box.y - 2, box.width + 4, box.height + 4) &
                         cv::Rect(0, 0, frame.cols, frame.rows);
  cv::Mat mask = labels(outer) == label, grown, shrunk;
  cv::dilate(mask, grown, kernel);
  cv::erode(mask, shrunk, kernel);
  cv::Mat band = grown & ~shrunk;
  const double in_background = EdgeEnergy(background(outer), band);
  return in_background >= kGhostMinEdge &&
         in_background > kGhostEdgeRatio * EdgeEnergy(frame(outer), band);
}

void HealBlob(const cv::Mat& labels, int label, const cv::Rect& box, const cv::Mat& frame,
              const cv::Mat& prev, int threshold, ClassicalBackground* background, cv::Mat* raw,
              cv::Mat* fg) {
  cv::Mat blob = labels(box) == label;
  cv::Mat heal = blob;
  if (prev.size() == frame.size()) {
    cv::Mat diff, change;
    cv::absdiff(frame(box), prev(box), diff);
    cv::transform(diff, change, cv::Matx13f(1, 1, 1));
    heal = blob & (change <= threshold);
  }
  background->Paste(frame, box, heal);
  (*raw)(box).setTo(0, blob);
  (*fg)(box).setTo(0, blob);
}

}  // namespace skynet::analytics
