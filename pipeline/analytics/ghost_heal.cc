#include "pipeline/analytics/ghost_heal.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <utility>
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

void SeedGhosts::Seed(const cv::Mat& bgr, const std::vector<Row>& rows) {
  active_ = static_cast<int>(rows.size()) == bgr.rows && bgr.rows > 0;
  elapsed_s_ = 0;
  leave_passed_ = false;
  max_leave_s_ = max_s_ = 0;
  leave_.create(bgr.size(), CV_32F);
  hold_.create(bgr.size(), CV_32F);
  for (int y = 0; y < bgr.rows && active_; ++y) {
    leave_.row(y).setTo(rows[y].leave_s);
    hold_.row(y).setTo(rows[y].hold_s);
    max_leave_s_ = std::max(max_leave_s_, rows[y].leave_s);
    max_s_ = std::max({max_s_, rows[y].leave_s, rows[y].hold_s});
  }
  known_ = cv::Mat::zeros(bgr.size(), CV_8U);
  differed_ = cv::Mat::zeros(bgr.size(), CV_8U);
  bgr.copyTo(ref_);
  still_s_ = cv::Mat::zeros(bgr.size(), CV_32F);
  roi_ = cv::Rect(0, 0, bgr.cols, bgr.rows);
}

int SeedGhosts::Heal(const cv::Mat& bgr, int64_t dt_us, int threshold,
                     const std::vector<cv::Rect>& frozen, ClassicalBackground* background,
                     cv::Mat* raw, cv::Mat* fg) {
  if (!active_ || bgr.size() != ref_.size()) return 0;
  elapsed_s_ += static_cast<double>(dt_us) / 1e6;
  if (!leave_passed_) {
    // Known: never differed within the leave time (the seed held: road, or a vehicle that
    // stayed). Once every row's leave time has passed, no pixel becomes a ghost any more: only
    // those not known yet are looked at, within their bounding box, which only shrinks.
    cv::compare(leave_, elapsed_s_, scratch_, cv::CMP_LT);
    cv::bitwise_and(scratch_, ~differed_, scratch_);
    cv::bitwise_or(known_, scratch_, known_);
    leave_passed_ = elapsed_s_ > max_leave_s_;
  } else {
    cv::bitwise_not(known_(roi_), scratch_);
    const cv::Rect doubtful = cv::boundingRect(scratch_);
    if (doubtful.empty()) {
      active_ = false;  // every pixel is known: nothing left to heal
      return 0;
    }
    roi_ = doubtful + roi_.tl();
  }
  const cv::Rect r = roi_;
  cv::Mat known = known_(r), differed = differed_(r), ref = ref_(r), still = still_s_(r);
  const cv::Mat in = bgr(r);
  cv::Mat changed = (*raw)(r);
  // ... or matched the background after having differed from it.
  cv::bitwise_or(differed, changed, differed);
  differed.copyTo(scratch_);
  scratch_.setTo(0, changed);
  cv::bitwise_or(known, scratch_, known);
  // Stillness against the picture at the start of the run.
  cv::absdiff(in, ref, diff_);
  cv::transform(diff_, change_, cv::Matx13f(1, 1, 1));
  cv::compare(change_, threshold, change_, cv::CMP_GT);
  in.copyTo(ref, change_);
  cv::add(still, cv::Scalar(static_cast<double>(dt_us) / 1e6), still);
  cv::min(still, max_s_, still);
  still.setTo(0, change_);
  // Heal: changed, a ghost of the seed, still for the row's hold time.
  cv::compare(still, hold_(r), heal_, cv::CMP_GE);
  cv::bitwise_and(heal_, changed, heal_);
  heal_.setTo(0, known);
  for (const cv::Rect& box : frozen) {
    const cv::Rect inside = (box & r) - r.tl();
    if (!inside.empty()) heal_(inside).setTo(0);
  }
  const int healed = cv::countNonZero(heal_);
  if (healed == 0) return 0;
  background->Paste(bgr, r, heal_);
  known.setTo(255, heal_);
  changed.setTo(0, heal_);
  (*fg)(r).setTo(0, heal_);
  return healed;
}

}  // namespace skynet::analytics
