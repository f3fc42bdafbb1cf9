#include "pipeline/analytics/classical_background.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace skynet::analytics {
namespace {

// Backgrounds darker than this (|B|^2, summed over channels) say nothing about shadows.
constexpr int kMinShadowBackground = 3 * 20 * 20;
// Texture test slack, in summed-channel levels (about 4 grey levels).
constexpr float kTextureSlack = 12.f;

// Lamp light (IsLampLight): the road is dark (night) when its mean brightness under a blob is at
// most this (summed over B, G, R: a grey of 70); a pixel is lit when at least kLitRatio times as
// bright as the road under it and kLitMinRise levels (summed) brighter; a blob is lamp light when
// at least kLampLightShare of its pixels are lit.
constexpr int kDarkRoad = 3 * 70;
constexpr int kLitRatio = 2;
constexpr int kLitMinRise = 3 * 25;
constexpr double kLampLightShare = 0.5;
// A scene is at night when its background's mean brightness (summed B+G+R) is below this (a grey
// of 65: an overcast or rainy day is 80 or more, a night street 40-60) and at least
// kNightDarkShare of it is near-black (darker than a grey of 25: unlit sky, walls and road between
// the lamps). A day darkened by a cloud or an exposure step is dim all over, not black.
constexpr int kNightScene = 3 * 65;
constexpr int kNearBlack = 3 * 25;
constexpr double kNightDarkShare = 0.12;
// A pixel with a channel at least this bright is a lamp (or its core), never lit road.
constexpr int kLampLevel = 230;
// Texture slack of the lit-road test, summed-channel levels: a beam's own soft edge.
constexpr float kLitSlack = 24.f;

// Exposure (ExposureGain): sampled every kGainStep-th pixel of every kGainStep-th row, over
// background pixels neither dark (summed B+G+R below kGainMinBackground) nor with a saturated
// channel in the frame; a gain within kGainTolerance of 1 is left alone.
constexpr int kGainStep = 3;
constexpr int kGainMinBackground = 3 * 30;
constexpr double kGainTolerance = 0.03;
// ...and only when at least kGainAgreeShare of the samples are within kGainAgreement (relative)
// of that gain.
constexpr double kGainAgreement = 0.08;
constexpr double kGainAgreeShare = 0.5;

double AdaptRate(int64_t dt_us, int tau_ms) {
  if (dt_us <= 0) return 0;
  return 1.0 - std::exp(-static_cast<double>(dt_us) / (1000.0 * tau_ms));
}

// The shadow test's parameters, from the options.
struct ShadowTest {
  float lo, hi, chroma2, tex;

  // Whether pixel x of row `in` (with the rows above and below, and the background's) is a
  // shadow on the background: darker by a ratio in [lo, hi], the same colour scaled, and the
  // background's texture scaled. `bb`: |background pixel|^2, at least kMinShadowBackground.
  bool IsShadow(int x, int w, const uint8_t* in, const uint8_t* in_up, const uint8_t* in_dn,
                const uint8_t* bk, const uint8_t* bk_up, const uint8_t* bk_dn, int bb) const {
    const int i0 = in[3 * x], i1 = in[3 * x + 1], i2 = in[3 * x + 2];
    const int b0 = bk[3 * x], b1 = bk[3 * x + 1], b2 = bk[3 * x + 2];
    const float alpha = static_cast<float>(i0 * b0 + i1 * b1 + i2 * b2) / bb;
    if (alpha < lo || alpha > hi) return false;
    const float e0 = i0 - alpha * b0, e1 = i1 - alpha * b1, e2 = i2 - alpha * b2;
    if (e0 * e0 + e1 * e1 + e2 * e2 > chroma2 * alpha * alpha * bb) return false;
    // Texture: a shadow darkens the road's own pattern; a vehicle replaces it.
    const int xl = std::max(0, x - 1), xr = std::min(w - 1, x + 1);
    auto sum = [](const uint8_t* p, int i) { return p[3 * i] + p[3 * i + 1] + p[3 * i + 2]; };
    const float gxi = static_cast<float>(sum(in, xr) - sum(in, xl));
    const float gyi = static_cast<float>(sum(in_dn, x) - sum(in_up, x));
    const float gxb = static_cast<float>(sum(bk, xr) - sum(bk, xl));
    const float gyb = static_cast<float>(sum(bk_dn, x) - sum(bk_up, x));
    const float err = std::abs(gxi - alpha * gxb) + std::abs(gyi - alpha * gyb);
    return err <= tex * alpha * (std::abs(gxb) + std::abs(gyb)) + kTextureSlack;
  }
};

// Whether pixel x of row `in` is lamp light on a dark road (a headlight beam, a lamp's glow or
// its reflection on a wet road): the road there is dark (night), the pixel brighter but no lamp
// itself (no channel near saturation), and the road's texture shows through, added to or scaled
// (a vehicle's body replaces it). `b`, `i`: summed B+G+R of the background and the pixel.
bool IsLitRoad(int x, int w, int i, int b, const uint8_t* in, const uint8_t* in_up,
               const uint8_t* in_dn, const uint8_t* bk, const uint8_t* bk_up, const uint8_t* bk_dn,
               float tex) {
  if (b > kDarkRoad || i <= b) return false;
  if (std::max({in[3 * x], in[3 * x + 1], in[3 * x + 2]}) >= kLampLevel) return false;
  const int xl = std::max(0, x - 1), xr = std::min(w - 1, x + 1);
  auto sum = [](const uint8_t* p, int k) { return p[3 * k] + p[3 * k + 1] + p[3 * k + 2]; };
  const float gxi = static_cast<float>(sum(in, xr) - sum(in, xl));
  const float gyi = static_cast<float>(sum(in_dn, x) - sum(in_up, x));
  const float gxb = static_cast<float>(sum(bk, xr) - sum(bk, xl));
  const float gyb = static_cast<float>(sum(bk_dn, x) - sum(bk_up, x));
  const float alpha = static_cast<float>(i) / std::max(1, b);
  const float added = std::abs(gxi - gxb) + std::abs(gyi - gyb);
  const float scaled = std::abs(gxi - alpha * gxb) + std::abs(gyi - alpha * gyb);
  return std::min(added, scaled) <= tex * alpha * (std::abs(gxb) + std::abs(gyb)) + kLitSlack;
}

// The frame's brightness over the background's: the median of the per-pixel ratios of summed
// B+G+R over a sparse grid (1 if too few samples). An auto-exposure step or a cloud's shade
// scales the whole road; vehicles cover well under half the frame, so the median is the road's.
double ExposureGain(const cv::Mat& bgr, const cv::Mat& bg8, std::vector<float>* ratios) {
  ratios->clear();
  for (int y = kGainStep / 2; y < bgr.rows; y += kGainStep) {
    const uint8_t* in = bgr.ptr<uint8_t>(y);
    const uint8_t* bk = bg8.ptr<uint8_t>(y);
    for (int x = kGainStep / 2; x < bgr.cols; x += kGainStep) {
      const int b = bk[3 * x] + bk[3 * x + 1] + bk[3 * x + 2];
      if (b < kGainMinBackground ||
          std::max({in[3 * x], in[3 * x + 1], in[3 * x + 2]}) >= kLampLevel) {
        continue;
      }
      ratios->push_back(static_cast<float>(in[3 * x] + in[3 * x + 1] + in[3 * x + 2]) / b);
    }
  }
  if (ratios->size() < 100) return 1;
  const auto mid = ratios->begin() + static_cast<std::ptrdiff_t>(ratios->size() / 2);
  std::nth_element(ratios->begin(), mid, ratios->end());
  const float gain = *mid;
  // One gain must explain most of the road: at night, headlights light parts of it, not all.
  const auto agree = std::count_if(ratios->begin(), ratios->end(), [gain](float r) {
    return std::abs(r - gain) <= kGainAgreement * gain;
  });
  return agree >= kGainAgreeShare * static_cast<double>(ratios->size()) ? gain : 1.0;
}

}  // namespace

void ClassicalBackground::Seed(const cv::Mat& bgr) {
  bgr.convertTo(bg_, CV_32FC3);
  bgr.copyTo(bg8_);
}

void ClassicalBackground::Classify(const cv::Mat& bgr, const ClassicalDetectorOptions& options,
                                   bool lamp_light, cv::Mat* fg, cv::Mat* raw) const {
  const int w = bgr.cols, h = bgr.rows;
  fg->create(bgr.size(), CV_8U);
  raw->create(bgr.size(), CV_8U);
  const int thr = options.threshold;
  const bool shadows = options.shadow_suppression;
  const ShadowTest shadow{options.shadow_min_ratio, options.shadow_max_ratio,
                          options.shadow_chroma_tolerance * options.shadow_chroma_tolerance,
                          options.shadow_texture_tolerance};
  // The frame is compared with the background at the frame's exposure: after an exposure step
  // or under a cloud the whole road would differ (brighter: objects everywhere) until the
  // background followed.
  const double gain = ExposureGain(bgr, bg8_, &gain_ratios_);
  const cv::Mat* background = &bg8_;
  if (std::abs(gain - 1) > kGainTolerance) {
    bg8_.convertTo(exposed_, -1, gain);
    background = &exposed_;
  }
  for (int y = 0; y < h; ++y) {
    const uint8_t* in = bgr.ptr<uint8_t>(y);
    const uint8_t* bk = background->ptr<uint8_t>(y);
    const uint8_t* in_up = bgr.ptr<uint8_t>(std::max(0, y - 1));
    const uint8_t* in_dn = bgr.ptr<uint8_t>(std::min(h - 1, y + 1));
    const uint8_t* bk_up = background->ptr<uint8_t>(std::max(0, y - 1));
    const uint8_t* bk_dn = background->ptr<uint8_t>(std::min(h - 1, y + 1));
    uint8_t* f = fg->ptr<uint8_t>(y);
    uint8_t* r = raw->ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const int i0 = in[3 * x], i1 = in[3 * x + 1], i2 = in[3 * x + 2];
      const int b0 = bk[3 * x], b1 = bk[3 * x + 1], b2 = bk[3 * x + 2];
      const int d = std::abs(i0 - b0) + std::abs(i1 - b1) + std::abs(i2 - b2);
      if (d <= thr) {
        f[x] = r[x] = 0;
        continue;
      }
      r[x] = 255;
      f[x] = 255;
      if (!shadows) continue;
      if (lamp_light && IsLitRoad(x, w, i0 + i1 + i2, b0 + b1 + b2, in, in_up, in_dn, bk, bk_up,
                                  bk_dn, shadow.tex)) {
        f[x] = 0;
        continue;
      }
      const int bb = b0 * b0 + b1 * b1 + b2 * b2;
      if (bb < kMinShadowBackground) continue;
      if (shadow.IsShadow(x, w, in, in_up, in_dn, bk, bk_up, bk_dn, bb)) f[x] = 0;
    }
  }
}

bool ClassicalBackground::IsLampLight(const cv::Mat& bgr, const cv::Mat& mask,
                                      const cv::Rect& box) const {
  int64_t road = 0;
  int pixels = 0, lit = 0;
  for (int y = box.y; y < box.br().y; ++y) {
    const uint8_t* m = mask.ptr<uint8_t>(y);
    const uint8_t* in = bgr.ptr<uint8_t>(y);
    const uint8_t* bk = bg8_.ptr<uint8_t>(y);
    for (int x = box.x; x < box.br().x; ++x) {
      if (!m[x]) continue;
      const int i = in[3 * x] + in[3 * x + 1] + in[3 * x + 2];
      const int b = bk[3 * x] + bk[3 * x + 1] + bk[3 * x + 2];
      road += b;
      ++pixels;
      if (i >= kLitRatio * b && i >= b + kLitMinRise) ++lit;
    }
  }
  return pixels > 0 && road <= static_cast<int64_t>(kDarkRoad) * pixels &&
         lit >= kLampLightShare * pixels;
}

bool ClassicalBackground::Night() const {
  int64_t sum = 0;
  int black = 0;
  for (int y = 0; y < bg8_.rows; ++y) {
    const uint8_t* p = bg8_.ptr<uint8_t>(y);
    for (int x = 0; x < bg8_.cols; ++x) {
      const int v = p[3 * x] + p[3 * x + 1] + p[3 * x + 2];
      sum += v;
      if (v < kNearBlack) ++black;
    }
  }
  const int64_t n = static_cast<int64_t>(bg8_.rows) * bg8_.cols;
  return n > 0 && sum < static_cast<int64_t>(kNightScene) * n && black >= kNightDarkShare * n;
}

void ClassicalBackground::MarkLamps(const cv::Mat& bgr, const cv::Mat& mask, const cv::Rect& box,
                                    cv::Mat* lamp) const {
  for (int y = box.y; y < box.br().y; ++y) {
    const uint8_t* m = mask.ptr<uint8_t>(y);
    const uint8_t* in = bgr.ptr<uint8_t>(y);
    const uint8_t* bk = bg8_.ptr<uint8_t>(y);
    uint8_t* l = lamp->ptr<uint8_t>(y);
    for (int x = box.x; x < box.br().x; ++x) {
      const bool on = m[x] && bk[3 * x] + bk[3 * x + 1] + bk[3 * x + 2] <= kDarkRoad &&
                      std::max({in[3 * x], in[3 * x + 1], in[3 * x + 2]}) >= kLampLevel;
      l[x] = on ? 255 : 0;
    }
  }
}

void ClassicalBackground::Paste(const cv::Mat& bgr, const cv::Rect& box, const cv::Mat& mask) {
  bgr(box).copyTo(bg8_(box), mask);
  cv::Mat bgf = bg_(box);
  bgr(box).convertTo(pasted_, CV_32FC3);
  pasted_.copyTo(bgf, mask);
}

void ClassicalBackground::Adapt(const cv::Mat& bgr, const cv::Mat& raw,
                                const std::vector<cv::Rect>& frozen, int64_t dt_us,
                                const ClassicalDetectorOptions& options, const cv::Mat& kernel) {
  cv::dilate(raw, update_, kernel);
  frozen_ = cv::Mat::zeros(bgr.size(), CV_8U);
  for (const cv::Rect& r : frozen) frozen_(r).setTo(255);
  cv::bitwise_or(update_, frozen_, not_update_);
  cv::bitwise_not(not_update_, not_update_);  // free road
  const double rate = AdaptRate(dt_us, options.background_adapt_ms);
  const double fg_rate = AdaptRate(dt_us, options.foreground_adapt_ms);
  if (rate > 0) {
    cv::accumulateWeighted(bgr, bg_, rate, not_update_);
    if (!frozen.empty()) update_.setTo(0, frozen_);
    cv::accumulateWeighted(bgr, bg_, fg_rate, update_);
    bg_.convertTo(bg8_, CV_8U);
  }
}

}  // namespace skynet::analytics
