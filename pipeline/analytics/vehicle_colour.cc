#include "pipeline/analytics/vehicle_colour.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace skynet::analytics {
namespace {

constexpr int kMinPixels = 20;
// Without a mask: the central body of the box.
constexpr float kSideMargin = 0.15f, kTopMargin = 0.1f, kBottomMargin = 0.25f;
// A mask with fewer than this share of the box's pixels is not trusted.
constexpr float kMinMaskShare = 0.15f;
// The road reference: the box grown by this share of its size on each side, minus the box and
// the foreground.
constexpr float kRingGrow = 0.3f;
constexpr int kMinRingPixels = 12;
// White balance gains from the road are kept within this factor of neutral (a road is not
// always grey: sodium light, a red bike lane).
constexpr float kMaxGain = 1.25f;
// Lab chroma (a*, b*) from which a pixel is paint of a hue; lightness L* below which its chroma
// is noise.
constexpr float kMinChroma = 12.f;
constexpr float kMinChromaLightness = 4.f;
// A frame votes for a hue when this share of the body is chromatic (the rest: glass, tyres,
// lights, shaded black trim).
constexpr float kChromaticShare = 0.25f;
// Achromatic paint, by luma (gamma-encoded) corrected for exposure: times (kRoadLuma / the road's
// luma) ^ kExposureWeight, within [1 / kMaxExposure, kMaxExposure]. Partly: a camera's automatic
// exposure does most of it, and roads differ (a wet road is darker, not the light).
constexpr float kRoadLuma = 94.f;
constexpr float kExposureWeight = 0.15f;
constexpr float kMaxExposure = 1.25f;
// The body's brightness at kBrightQuantile is its paint in light (above glass, tyres and the
// shaded sides, below specular highlights). Black: the body's median (dark paint and glass alike)
// below kBlackMedianLuma and its paint in light below kBlackBrightLuma (a white bus is mostly
// glass, under a white roof). White: the paint in light from kWhiteLuma. Between them silver/grey.
constexpr float kBrightQuantile = 0.9f;
constexpr float kBlackMedianLuma = 62.f;
constexpr float kBlackBrightLuma = 110.f;
constexpr float kWhiteLuma = 190.f;
// A road darker than this (night): too dark to tell colours, no vote.
constexpr float kMinRoadLuma = 45.f;
// A near vehicle's body is sampled on a grid of about this many pixels (its colour needs no more).
constexpr double kMaxSamples = 300;
// A frame's vote weighs its pixels up to this many (a far vehicle's few hazy pixels count less).
constexpr float kFullVotePixels = 150.f;

// Achromatic lightness bins of the histogram (exposure-corrected luma): black, dark grey, light
// grey, white. The first and last bounds are the vote's.
constexpr float kHistogramLuma[] = {kBlackMedianLuma, 120.f, kWhiteLuma};
constexpr int kHueSectors = 8;

float Luma(const cv::Vec3f& bgr) { return 0.114f * bgr[0] + 0.587f * bgr[1] + 0.299f * bgr[2]; }

// Lab hue angle (degrees, [0, 360)) to a palette hue. The palette's paints sit at about red 35,
// yellow 95, green 140, blue 285 (the bounds halfway between them); orange counts as red, violet
// and magenta as blue or red.
VehicleColour HueOf(float deg) {
  if (deg < 65 || deg >= 340) return VehicleColour::kRed;
  if (deg < 118) return VehicleColour::kYellow;
  if (deg < 200) return VehicleColour::kGreen;
  return VehicleColour::kBlue;
}

// Median of each channel of `pixels`.
cv::Vec3f Median(std::vector<cv::Vec3f>* pixels) {
  cv::Vec3f m;
  const size_t mid = pixels->size() / 2;
  for (int c = 0; c < 3; ++c) {
    std::nth_element(pixels->begin(), pixels->begin() + mid, pixels->end(),
                     [c](const cv::Vec3f& a, const cv::Vec3f& b) { return a[c] < b[c]; });
    m[c] = (*pixels)[mid][c];
  }
  return m;
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
  float total = 0;
  int best = 0;
  for (int c = 1; c < kNumVehicleColours; ++c) {
    total += votes[c];
    if (votes[c] > 0 && (best == 0 || votes[c] > votes[best])) best = c;
  }
  if (total <= 0 || best == 0) return v;
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
  const bool have_mask = !mask.empty() && mask.size() == frame.size() && mask.type() == CV_8UC1;

  // The body's pixels.
  cv::Mat roi_mask;
  if (have_mask) {
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
  const int stride = std::max(1, static_cast<int>(std::sqrt(area.area() / kMaxSamples)));
  std::vector<cv::Vec3f> body;
  body.reserve(area.area() / (stride * stride) + area.width + area.height);
  for (int y = area.y; y < area.y + area.height; y += stride) {
    const cv::Vec3b* p = frame.ptr<cv::Vec3b>(y);
    const uint8_t* m = roi_mask.empty() ? nullptr : mask.ptr<uint8_t>(y);
    for (int x = area.x; x < area.x + area.width; x += stride) {
      if (m != nullptr && !m[x]) continue;
      body.emplace_back(p[x][0], p[x][1], p[x][2]);
    }
  }
  if (static_cast<int>(body.size()) < kMinPixels) return none;

  // The road around it: white balance and exposure.
  const int gx = std::max(2, cvRound(r.width * kRingGrow));
  const int gy = std::max(2, cvRound(r.height * kRingGrow));
  const cv::Rect ring = cv::Rect(r.x - gx, r.y - gy, r.width + 2 * gx, r.height + 2 * gy) & full;
  std::vector<cv::Vec3f> road;
  const int step = std::max(1, static_cast<int>(std::sqrt(ring.area() / kMaxSamples)));
  for (int y = ring.y; y < ring.y + ring.height; y += step) {
    const cv::Vec3b* p = frame.ptr<cv::Vec3b>(y);
    const uint8_t* m = have_mask ? mask.ptr<uint8_t>(y) : nullptr;
    for (int x = ring.x; x < ring.x + ring.width; x += step) {
      if (r.contains({x, y}) || (m != nullptr && m[x])) continue;
      road.emplace_back(p[x][0], p[x][1], p[x][2]);
    }
  }
  cv::Vec3f gain(1, 1, 1);
  float road_luma = kRoadLuma;
  if (static_cast<int>(road.size()) >= kMinRingPixels) {
    const cv::Vec3f ref = Median(&road);
    const float grey = (ref[0] + ref[1] + ref[2]) / 3;
    for (int c = 0; c < 3; ++c) {
      gain[c] = std::clamp(grey / std::max(ref[c], 1.f), 1 / kMaxGain, kMaxGain);
    }
    road_luma = std::max(Luma(ref.mul(gain)), 1.f);
    if (road_luma < kMinRoadLuma) return none;
  }
  const float exposure =
      std::clamp(std::pow(kRoadLuma / road_luma, kExposureWeight), 1 / kMaxExposure, kMaxExposure);

  // Lab of the balanced body (OpenCV's float Lab: L* in [0, 100], a*, b* signed).
  cv::Mat bgr(1, static_cast<int>(body.size()), CV_32FC3);
  std::vector<float> luma(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    const cv::Vec3f b = body[i].mul(gain);
    luma[i] = Luma(b);
    bgr.at<cv::Vec3f>(0, static_cast<int>(i)) = cv::Vec3f(
        std::min(b[0], 255.f) / 255, std::min(b[1], 255.f) / 255, std::min(b[2], 255.f) / 255);
  }
  cv::Mat lab;
  cv::cvtColor(bgr, lab, cv::COLOR_BGR2Lab);
  std::array<float, kNumVehicleColours> hue_chroma{};
  ColourHistogram histogram{};
  int chromatic = 0;
  std::vector<float> grey_luma;
  grey_luma.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    const cv::Vec3f& p = lab.at<cv::Vec3f>(0, static_cast<int>(i));
    const float chroma = std::hypot(p[1], p[2]);
    if (p[0] >= kMinChromaLightness && chroma >= kMinChroma) {
      ++chromatic;
      float deg = std::atan2(p[2], p[1]) * 180.f / static_cast<float>(CV_PI);
      if (deg < 0) deg += 360;
      hue_chroma[static_cast<int>(HueOf(deg))] += chroma;
      histogram[std::min(kHueSectors - 1, static_cast<int>(deg / (360.f / kHueSectors)))] += 1;
    } else {
      grey_luma.push_back(luma[i]);
      const float l = luma[i] * exposure;
      int bin = 0;
      while (bin < 3 && l >= kHistogramLuma[bin]) ++bin;
      histogram[kHueSectors + bin] += 1;
    }
  }

  VehicleColour colour;
  const int n = static_cast<int>(body.size());
  if (chromatic >= kChromaticShare * n) {
    int best = 0;
    for (int c = 1; c < kNumVehicleColours; ++c) {
      if (best == 0 || hue_chroma[c] > hue_chroma[best]) best = c;
    }
    colour = static_cast<VehicleColour>(best);
  } else {
    // The median over the whole body (chromatic trim counts as not dark).
    const size_t mid = std::min(grey_luma.size() - 1, static_cast<size_t>(n / 2));
    std::nth_element(grey_luma.begin(), grey_luma.begin() + mid, grey_luma.end());
    const float median = grey_luma[mid] * exposure;
    const size_t k =
        std::min(grey_luma.size() - 1, static_cast<size_t>(kBrightQuantile * grey_luma.size()));
    std::nth_element(grey_luma.begin(), grey_luma.begin() + k, grey_luma.end());
    const float bright = grey_luma[k] * exposure;
    colour = median < kBlackMedianLuma && bright < kBlackBrightLuma ? VehicleColour::kBlack
             : bright >= kWhiteLuma                                 ? VehicleColour::kWhite
                                                                    : VehicleColour::kSilver;
  }
  ColourVote v;
  v.colour = colour;
  v.confidence = 1;
  v.pixels = n * stride * stride;
  v.votes[static_cast<int>(colour)] = std::min(1.f, n * stride * stride / kFullVotePixels);
  const float weight = v.votes[static_cast<int>(colour)];
  for (int b = 0; b < kColourHistogramBins; ++b) v.histogram[b] = histogram[b] * weight / n;
  return v;
}

ColourHistogram NormaliseHistogram(const ColourHistogram& h) {
  float total = 0;
  for (float x : h) total += x;
  ColourHistogram out{};
  if (total <= 0) return out;
  for (int b = 0; b < kColourHistogramBins; ++b) out[b] = h[b] / total;
  return out;
}

float HistogramDistance(const ColourHistogram& a, const ColourHistogram& b) {
  float ta = 0, tb = 0, common = 0;
  for (int i = 0; i < kColourHistogramBins; ++i) {
    ta += a[i];
    tb += b[i];
    common += std::min(a[i], b[i]);
  }
  if (ta <= 0 || tb <= 0) return 1;
  return std::clamp(1 - common, 0.f, 1.f);
}

}  // namespace skynet::analytics
