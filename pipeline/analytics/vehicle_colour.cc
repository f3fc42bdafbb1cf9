#include "pipeline/analytics/vehicle_colour.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

namespace skynet::analytics {
namespace {

// OpenCV 8-bit HSV: H in [0, 180), S and V in [0, 255].
constexpr int kBlackMaxV = 60;       // darker: black (or a window, a tyre, shadow)
constexpr int kGreyMaxS = 55;        // less saturated: white / silver / black
constexpr int kWhiteMinV = 185;      // brighter achromatic: white
constexpr float kDarkWeight = 0.6f;  // black votes count less: windows and tyres are dark
// Saturated pixels win when they are at least this share of all votes.
constexpr float kChromaticShare = 0.25f;
constexpr int kMinPixels = 20;
// Without a mask: the central body of the box.
constexpr float kSideMargin = 0.15f, kTopMargin = 0.1f, kBottomMargin = 0.25f;
// A mask with fewer than this share of the box's pixels is not trusted.
constexpr float kMinMaskShare = 0.15f;

VehicleColour Hue(int h) {
  if (h < 10 || h >= 160) return VehicleColour::kRed;  // includes maroon and orange-red
  if (h < 18) return VehicleColour::kRed;              // orange
  if (h < 35) return VehicleColour::kYellow;
  if (h < 85) return VehicleColour::kGreen;
  return VehicleColour::kBlue;  // cyan to violet
}

bool Chromatic(VehicleColour c) {
  return c == VehicleColour::kRed || c == VehicleColour::kBlue || c == VehicleColour::kYellow ||
         c == VehicleColour::kGreen;
}

}  // namespace

const char* VehicleColourName(VehicleColour c) {
  switch (c) {
    case VehicleColour::kWhite:
      return "white";
    case VehicleColour::kBlack:
      return "black";
    case VehicleColour::kSilver:
      return "silver";
    case VehicleColour::kRed:
      return "red";
    case VehicleColour::kBlue:
      return "blue";
    case VehicleColour::kYellow:
      return "yellow";
    case VehicleColour::kGreen:
      return "green";
    case VehicleColour::kUnknown:
      break;
  }
  return "unknown";
}

ColourVote DecideColour(const std::array<float, kNumVehicleColours>& votes) {
  ColourVote v;
  v.votes = votes;
  float total = 0, chromatic = 0;
  for (int c = 1; c < kNumVehicleColours; ++c) {
    total += votes[c];
    if (Chromatic(static_cast<VehicleColour>(c))) chromatic += votes[c];
  }
  if (total <= 0) return v;
  const bool pick_chromatic = chromatic >= kChromaticShare * total;
  int best = 0;
  for (int c = 1; c < kNumVehicleColours; ++c) {
    if (Chromatic(static_cast<VehicleColour>(c)) != pick_chromatic) continue;
    if (best == 0 || votes[c] > votes[best]) best = c;
  }
  v.colour = static_cast<VehicleColour>(best);
  v.confidence = votes[best] / total;
  return v;
}

ColourVote DominantColour(const cv::Mat& frame, const cv::Rect2f& box, const cv::Mat& mask) {
  ColourVote none;
  if (frame.empty() || frame.type() != CV_8UC3) return none;
  const cv::Rect full(0, 0, frame.cols, frame.rows);
  const cv::Rect r = cv::Rect(box) & full;
  if (r.width < 2 || r.height < 2) return none;

  cv::Mat roi_mask;
  if (!mask.empty() && mask.size() == frame.size() && mask.type() == CV_8UC1) {
    roi_mask = mask(r);
    if (cv::countNonZero(roi_mask) < kMinMaskShare * r.area()) roi_mask.release();
  }
  cv::Rect area = r;
  if (roi_mask.empty()) {
    // The central body: no road at the sides, no tyres or shadow at the bottom.
    area = cv::Rect(r.x + cvRound(r.width * kSideMargin), r.y + cvRound(r.height * kTopMargin),
                    std::max(1, cvRound(r.width * (1 - 2 * kSideMargin))),
                    std::max(1, cvRound(r.height * (1 - kTopMargin - kBottomMargin))));
  }
  cv::Mat hsv;
  cv::cvtColor(frame(area), hsv, cv::COLOR_BGR2HSV);
  std::array<float, kNumVehicleColours> votes{};
  int pixels = 0;
  for (int y = 0; y < hsv.rows; ++y) {
    const cv::Vec3b* p = hsv.ptr<cv::Vec3b>(y);
    const uint8_t* m = roi_mask.empty() ? nullptr : roi_mask.ptr<uint8_t>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      if (m != nullptr && !m[x]) continue;
      const int h = p[x][0], s = p[x][1], v = p[x][2];
      ++pixels;
      if (v < kBlackMaxV) {
        votes[static_cast<int>(VehicleColour::kBlack)] += kDarkWeight;
      } else if (s < kGreyMaxS) {
        votes[static_cast<int>(v >= kWhiteMinV ? VehicleColour::kWhite : VehicleColour::kSilver)] +=
            1;
      } else {
        votes[static_cast<int>(Hue(h))] += 1;
      }
    }
  }
  if (pixels < kMinPixels) return none;
  ColourVote result = DecideColour(votes);
  result.pixels = pixels;
  return result;
}

}  // namespace skynet::analytics
