#include "tools/scenegen/picture_fault.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <opencv2/imgproc.hpp>

#include "tools/scenegen/scene_internal.h"

namespace skynet::scenegen {
namespace {

using internal::SplitMix;

constexpr double kPi = std::numbers::pi;

double Smooth(double x) {
  x = std::clamp(x, 0.0, 1.0);
  return x * x * (3 - 2 * x);
}

double Lerp(double a, double b, double u) { return a + (b - a) * u; }

// Share of non-zero pixels of a CV_8U mask.
double Share(const cv::Mat& mask) { return double(cv::countNonZero(mask)) / double(mask.total()); }

// Finds the scale in (0, hi] at which draw(scale) covers `target` of the frame (the share grows
// with the scale); a bisection of 20 steps.
template <typename Draw>
double FitScale(double target, double hi, const Draw& draw) {
  double lo = 0;
  for (int i = 0; i < 20; ++i) {
    const double mid = 0.5 * (lo + hi);
    (Share(draw(mid)) < target ? lo : hi) = mid;
  }
  return hi;
}

cv::Point Pt(cv::Point2d p) { return {cvRound(p.x), cvRound(p.y)}; }

}  // namespace

const char* PictureFaultName(PictureFaultKind kind) {
  switch (kind) {
    case PictureFaultKind::kNone:
      return "none";
    case PictureFaultKind::kCover:
      return "cover";
    case PictureFaultKind::kPaint:
      return "paint";
    case PictureFaultKind::kDefocus:
      return "defocus";
    case PictureFaultKind::kKnock:
      return "knock";
    case PictureFaultKind::kFreeze:
      return "freeze";
    case PictureFaultKind::kCast:
      return "cast";
    case PictureFaultKind::kNoise:
      return "noise";
    case PictureFaultKind::kBlack:
      return "black";
  }
  return "?";
}

const std::vector<PictureFaultKind>& AllPictureFaults() {
  static const std::vector<PictureFaultKind> kAll = {
      PictureFaultKind::kCover, PictureFaultKind::kPaint,  PictureFaultKind::kDefocus,
      PictureFaultKind::kKnock, PictureFaultKind::kFreeze, PictureFaultKind::kCast,
      PictureFaultKind::kNoise, PictureFaultKind::kBlack};
  return kAll;
}

Result<PictureFaultKind> ParsePictureFault(std::string_view name) {
  std::string names = "none";
  for (PictureFaultKind k : AllPictureFaults()) names += std::string(", ") + PictureFaultName(k);
  if (name == "none") return PictureFaultKind::kNone;
  for (PictureFaultKind k : AllPictureFaults()) {
    if (name == PictureFaultName(k)) return k;
  }
  return Status::InvalidArgument("unknown picture fault '" + std::string(name) +
                                 "' (faults: " + names + ")");
}

PictureFault::PictureFault(const PictureFaultOptions& options, cv::Size frame, double fps)
    : options_(options), size_(frame), fps_(fps) {
  start_frame_ = std::max<int64_t>(0, std::llround(std::ceil(options.start_s * fps - 1e-9)));
  const uint32_t seed = options.seed;
  auto u = [seed](int salt) { return internal::Unit(seed, 15, 0, salt); };
  const double W = frame.width;
  switch (options.kind) {
    case PictureFaultKind::kNone:
    case PictureFaultKind::kFreeze:
      break;
    case PictureFaultKind::kCover:
      BuildCover();
      break;
    case PictureFaultKind::kPaint:
      BuildPaint();
      break;
    case PictureFaultKind::kDefocus:
      defocus_sigma_ = Lerp(0.008, 0.016, u(1)) * W;
      ramp_s_ = Lerp(4, 12, u(2));
      parameters_["sigma_share_of_width"] = defocus_sigma_ / W;
      parameters_["ramp_s"] = ramp_s_;
      break;
    case PictureFaultKind::kKnock: {
      const double angle = (u(3) < 0.5 ? -1 : 1) * Lerp(1.5, 4, u(4));
      const double shift = Lerp(0.02, 0.05, u(5)) * W;
      const double direction = 2 * kPi * u(6);
      cv::Mat m =
          cv::getRotationMatrix2D(cv::Point2f(frame.width / 2.0f, frame.height / 2.0f), angle, 1.0);
      m.at<double>(0, 2) += shift * std::cos(direction);
      m.at<double>(1, 2) += shift * std::sin(direction);
      knock_ = cv::Matx23d(m);
      double corner = 0;
      for (cv::Point2d p : {cv::Point2d(0, 0), cv::Point2d(W, 0), cv::Point2d(0, frame.height),
                            cv::Point2d(W, frame.height)}) {
        const cv::Point2d q(knock_(0, 0) * p.x + knock_(0, 1) * p.y + knock_(0, 2),
                            knock_(1, 0) * p.x + knock_(1, 1) * p.y + knock_(1, 2));
        corner = std::max(corner, cv::norm(q - p));
      }
      parameters_["rotation_deg"] = angle;
      parameters_["shift_share_of_width"] = shift / W;
      parameters_["corner_displacement_share_of_width"] = corner / W;
      break;
    }
    case PictureFaultKind::kCast: {
      // Directions (B, G, R): magenta (a stuck IR-cut filter), green, blue, amber, red.
      static const cv::Vec3d kDirections[] = {
          {0.6, -1, 0.6}, {-0.6, 1, -0.6}, {1, -0.2, -0.8}, {-1, 0.3, 0.8}, {-0.6, -0.6, 1}};
      const int d = std::min(4, int(u(7) * 5));
      const double strength = Lerp(0.35, 0.6, u(8));
      for (int c = 0; c < 3; ++c) gains_[c] = std::max(0.2, 1 + strength * kDirections[d][c]);
      parameters_["direction"] = d;
      parameters_["strength"] = strength;
      parameters_["gain_b"] = gains_[0];
      parameters_["gain_g"] = gains_[1];
      parameters_["gain_r"] = gains_[2];
      break;
    }
    case PictureFaultKind::kNoise:
      noise_sigma_ = Lerp(18, 35, u(9));
      snow_ = u(10) < 0.5 ? 0 : Lerp(0.005, 0.02, u(11));
      parameters_["sigma"] = noise_sigma_;
      parameters_["snow_share"] = snow_;
      break;
    case PictureFaultKind::kBlack:
      black_gain_ = Lerp(0, 0.05, u(12));
      black_offset_ = Lerp(0, 10, u(13));
      black_noise_ = Lerp(1, 3, u(14));
      parameters_["gain"] = black_gain_;
      parameters_["offset"] = black_offset_;
      parameters_["noise_sigma"] = black_noise_;
      break;
  }
}

// A hand (palm, four fingers, thumb and wrist) or a bag (a wrinkled round shape) reaching in
// from one edge, fitted to cover 30-70% of the view, dark and far out of focus.
void PictureFault::BuildCover() {
  const uint32_t seed = options_.seed;
  auto u = [seed](int salt) { return internal::Unit(seed, 16, 0, salt); };
  const double W = size_.width, H = size_.height;
  const bool hand = u(1) < 0.5;
  const double target = Lerp(0.3, 0.7, u(2));
  // Where it enters: a point on the border, and the direction into the view.
  const int edge = std::min(3, int(u(3) * 4));
  const double along = Lerp(0.2, 0.8, u(4));
  cv::Point2d entry, inward;
  switch (edge) {
    case 0:
      entry = {0, along * H}, inward = {1, 0};
      break;
    case 1:
      entry = {W, along * H}, inward = {-1, 0};
      break;
    case 2:
      entry = {along * W, 0}, inward = {0, 1};
      break;
    default:
      entry = {along * W, H}, inward = {0, -1};
      break;
  }
  const double tilt = Lerp(-0.5, 0.5, u(5));
  inward = {inward.x * std::cos(tilt) - inward.y * std::sin(tilt),
            inward.x * std::sin(tilt) + inward.y * std::cos(tilt)};
  const cv::Point2d side(-inward.y, inward.x);
  const double heading = std::atan2(inward.y, inward.x) * 180 / kPi;
  const double phase1 = 2 * kPi * u(6), phase2 = 2 * kPi * u(7);
  const double diag = std::hypot(W, H);

  auto draw = [&](double scale) {
    cv::Mat m = cv::Mat::zeros(size_, CV_8U);
    const double r = scale * diag;
    if (hand) {
      const cv::Point2d palm = entry + inward * (0.55 * r);
      // Wrist and forearm back to the edge and beyond.
      const cv::Point2d back = entry - inward * r;
      std::vector<cv::Point> arm = {Pt(palm + side * (0.4 * r)), Pt(palm - side * (0.4 * r)),
                                    Pt(back - side * (0.45 * r)), Pt(back + side * (0.45 * r))};
      cv::fillConvexPoly(m, arm, 255, cv::LINE_AA);
      cv::ellipse(m, Pt(palm), cv::Size(cvRound(0.55 * r), cvRound(0.48 * r)), heading, 0, 360, 255,
                  cv::FILLED, cv::LINE_AA);
      for (int f = 0; f < 4; ++f) {
        const double a = (-0.35 + 0.233 * f) + 0.05 * std::sin(phase1 + f);
        const cv::Point2d dir(inward.x * std::cos(a) - inward.y * std::sin(a),
                              inward.x * std::sin(a) + inward.y * std::cos(a));
        const double length = (f == 0 || f == 3 ? 0.36 : 0.46) * r;
        const cv::Point2d centre = palm + dir * (0.45 * r + length * 0.5);
        cv::ellipse(m, Pt(centre), cv::Size(cvRound(length * 0.55), cvRound(0.1 * r)),
                    std::atan2(dir.y, dir.x) * 180 / kPi, 0, 360, 255, cv::FILLED, cv::LINE_AA);
      }
      const double a = (u(8) < 0.5 ? 1 : -1) * 1.1;
      const cv::Point2d thumb(inward.x * std::cos(a) - inward.y * std::sin(a),
                              inward.x * std::sin(a) + inward.y * std::cos(a));
      cv::ellipse(m, Pt(palm + thumb * (0.55 * r)), cv::Size(cvRound(0.28 * r), cvRound(0.11 * r)),
                  std::atan2(thumb.y, thumb.x) * 180 / kPi, 0, 360, 255, cv::FILLED, cv::LINE_AA);
    } else {
      const cv::Point2d centre = entry + inward * (0.35 * r);
      std::vector<cv::Point> outline;
      for (int i = 0; i < 64; ++i) {
        const double th = 2 * kPi * i / 64;
        const double rr =
            r * (1 + 0.08 * std::sin(3 * th + phase1) + 0.05 * std::sin(5 * th + phase2));
        const cv::Point2d p =
            centre + inward * (rr * 0.8 * std::cos(th)) + side * (rr * std::sin(th));
        outline.push_back(Pt(p));
      }
      cv::fillPoly(m, std::vector<std::vector<cv::Point>>{outline}, 255, cv::LINE_AA);
    }
    cv::threshold(m, m, 127, 255, cv::THRESH_BINARY);
    return m;
  };
  const cv::Mat mask = draw(FitScale(target, 2.0, draw));
  // So near the lens it is far out of focus: a wide blur.
  const double blur = Lerp(0.02, 0.05, u(9)) * W;
  mask.convertTo(alpha_, CV_32F, 1 / 255.0);
  cv::GaussianBlur(alpha_, alpha_, cv::Size(), blur);
  const double opacity = Lerp(0.93, 1.0, u(10));
  alpha_ *= opacity;
  // Skin or a bag's fabric in the shadow of the lens; lit a little more from one side.
  cv::Vec3d base = hand ? cv::Vec3d(95, 125, 175) : cv::Vec3d(70 + 40 * u(11), 70, 80 - 30 * u(11));
  const double brightness = hand ? Lerp(0.2, 0.45, u(12)) : Lerp(0.25, 0.7, u(12));
  colour_.create(size_, CV_32FC3);
  for (int y = 0; y < size_.height; ++y) {
    cv::Vec3f* row = colour_.ptr<cv::Vec3f>(y);
    for (int x = 0; x < size_.width; ++x) {
      const double shade = 0.8 + 0.4 * ((x - entry.x) * side.x + (y - entry.y) * side.y) / diag;
      row[x] = cv::Vec3f(base * (brightness * shade));
    }
  }
  parameters_["shape_hand"] = hand ? 1 : 0;
  parameters_["share"] = Share(mask);
  parameters_["edge"] = edge;
  parameters_["blur_share_of_width"] = blur / W;
  parameters_["opacity"] = opacity;
  parameters_["brightness"] = brightness;
}

// 3-7 blotches of one colour, each a cluster of overlapping spray circles with droplets around,
// fitted to cover 25-60% of the view together; semi-opaque (70-95%) and blurred on the dome.
void PictureFault::BuildPaint() {
  const uint32_t seed = options_.seed;
  auto u = [seed](int a, int salt) { return internal::Unit(seed, 17, a, salt); };
  const double W = size_.width, H = size_.height, diag = std::hypot(W, H);
  static const cv::Vec3d kPaints[] = {{25, 25, 28},  {40, 40, 190},   {160, 70, 30},
                                      {50, 140, 40}, {230, 230, 230}, {180, 180, 185},
                                      {30, 120, 230}};
  const int paint = std::min(6, int(u(0, 1) * 7));
  const int blotches = 3 + std::min(4, int(u(0, 2) * 5));
  const double target = Lerp(0.25, 0.6, u(0, 3));
  auto draw_one = [&](int b, double scale) {
    cv::Mat m = cv::Mat::zeros(size_, CV_8U);
    const cv::Point2d centre(Lerp(0.15, 0.85, u(b + 1, 4)) * W, Lerp(0.15, 0.85, u(b + 1, 5)) * H);
    const double r = scale * diag * Lerp(0.6, 1.2, u(b + 1, 6));
    const int circles = 5 + int(u(b + 1, 7) * 8);
    for (int c = 0; c < circles; ++c) {
      const double a = 2 * kPi * u(b + 1, 20 + c), d = r * 0.7 * u(b + 1, 40 + c);
      cv::circle(m, Pt(centre + cv::Point2d(std::cos(a), std::sin(a)) * d),
                 cvRound(r * Lerp(0.3, 0.6, u(b + 1, 60 + c))), 255, cv::FILLED, cv::LINE_AA);
    }
    return m;
  };
  auto draw_all = [&](double scale) {
    cv::Mat all = cv::Mat::zeros(size_, CV_8U);
    for (int b = 0; b < blotches; ++b) all |= draw_one(b, scale);
    return all;
  };
  const double scale = FitScale(target, 1.0, draw_all);
  const cv::Mat all = draw_all(scale);
  const double blur = Lerp(0.006, 0.02, u(0, 8)) * W;
  const double opacity = Lerp(0.7, 0.95, u(0, 9));
  cv::RNG rng(SplitMix(seed ^ 0x5eed));
  for (int b = 0; b < blotches; ++b) {
    cv::Mat m = draw_one(b, scale);
    // Droplets around the blotch.
    cv::Mat dilated;
    cv::dilate(m, dilated, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(41, 41)));
    for (int k = 0; k < 60; ++k) {
      const cv::Point p(rng.uniform(0, size_.width), rng.uniform(0, size_.height));
      if (dilated.at<uint8_t>(p) && !m.at<uint8_t>(p)) {
        cv::circle(m, p, rng.uniform(1, 4), 160, cv::FILLED, cv::LINE_AA);
      }
    }
    cv::Mat a;
    m.convertTo(a, CV_32F, opacity / 255.0);
    cv::GaussianBlur(a, a, cv::Size(), blur);
    paint_alpha_.push_back(a);
  }
  colour_ =
      cv::Mat(size_, CV_32FC3, cv::Scalar(kPaints[paint][0], kPaints[paint][1], kPaints[paint][2]));
  parameters_["colour"] = paint;
  parameters_["blotches"] = blotches;
  parameters_["share"] = Share(all);
  parameters_["opacity"] = opacity;
  parameters_["blur_share_of_width"] = blur / W;
}

bool PictureFault::active(int64_t frame_index) const {
  return options_.kind != PictureFaultKind::kNone && frame_index >= start_frame_;
}

int64_t PictureFault::SourceFrame(int64_t frame_index) const {
  return options_.kind == PictureFaultKind::kFreeze && frame_index > start_frame_ ? start_frame_
                                                                                  : frame_index;
}

double PictureFault::Onset(int64_t frame_index, double ramp_s) const {
  if (!active(frame_index)) return 0;
  const double t = double(frame_index - start_frame_) / fps_;
  return ramp_s <= 0 ? 1 : Smooth((t + 1 / fps_) / ramp_s);
}

void PictureFault::ApplyOptical(int64_t frame_index, cv::Mat& img) const {
  if (!active(frame_index)) return;
  // Blends what lies on the lens over the picture with opacity `alpha` * `onset`.
  auto cover = [&](const cv::Mat& alpha, double onset) {
    for (int y = 0; y < img.rows; ++y) {
      cv::Vec3b* p = img.ptr<cv::Vec3b>(y);
      const float* a = alpha.ptr<float>(y);
      const cv::Vec3f* c = colour_.ptr<cv::Vec3f>(y);
      for (int x = 0; x < img.cols; ++x) {
        const float w = float(onset) * a[x];
        if (w <= 0.002f) continue;
        for (int k = 0; k < 3; ++k)
          p[x][k] = cv::saturate_cast<uint8_t>(p[x][k] * (1 - w) + c[x][k] * w);
      }
    }
  };
  const double t = double(frame_index - start_frame_) / fps_;
  switch (options_.kind) {
    case PictureFaultKind::kCover:
      cover(alpha_, Onset(frame_index, 0.6));
      break;
    case PictureFaultKind::kPaint: {
      // Sprayed over 2 s: blotch k starts at 2k/n s and fades in over 0.3 s.
      const int n = int(paint_alpha_.size());
      for (int k = 0; k < n; ++k) {
        const double onset = Smooth((t - 2.0 * k / n + 1 / fps_) / 0.3);
        if (onset > 0) cover(paint_alpha_[k], onset);
      }
      break;
    }
    case PictureFaultKind::kDefocus: {
      const double sigma = defocus_sigma_ * Onset(frame_index, ramp_s_);
      if (sigma > 0.25) cv::GaussianBlur(img, img, cv::Size(), sigma);
      break;
    }
    case PictureFaultKind::kKnock: {
      // A jolt of 0.3 s, then the camera stays where it was knocked to.
      const double k = Onset(frame_index, 0.3);
      cv::Matx23d m = knock_;
      const cv::Matx23d identity(1, 0, 0, 0, 1, 0);
      for (int i = 0; i < 6; ++i) m.val[i] = Lerp(identity.val[i], knock_.val[i], k);
      cv::Mat moved;
      cv::warpAffine(img, moved, m, img.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
      img = moved;
      break;
    }
    default:
      break;
  }
}

void PictureFault::ApplySensor(int64_t frame_index, cv::Mat& img) const {
  if (!active(frame_index)) return;
  switch (options_.kind) {
    case PictureFaultKind::kCast: {
      const double k = Onset(frame_index, 1.0);
      std::vector<cv::Mat> planes;
      cv::split(img, planes);
      for (int c = 0; c < 3; ++c) planes[c].convertTo(planes[c], -1, Lerp(1, gains_[c], k));
      cv::merge(planes, img);
      break;
    }
    case PictureFaultKind::kNoise: {
      cv::RNG rng(SplitMix(options_.seed ^ SplitMix(uint64_t(frame_index) + 77)));
      cv::Mat noise(img.size(), CV_16SC3);
      rng.fill(noise, cv::RNG::NORMAL, 0, noise_sigma_);
      cv::add(img, noise, img, cv::noArray(), CV_8U);
      if (snow_ > 0) {
        const int dots = int(snow_ * img.total());
        for (int i = 0; i < dots; ++i) {
          const cv::Point p(rng.uniform(0, img.cols), rng.uniform(0, img.rows));
          const uint8_t v = rng.uniform(0, 2) ? 255 : 0;
          img.at<cv::Vec3b>(p) = cv::Vec3b(v, v, v);
        }
      }
      break;
    }
    case PictureFaultKind::kBlack: {
      const double k = Onset(frame_index, 0.3);
      img.convertTo(img, -1, Lerp(1, black_gain_, k), black_offset_ * k);
      cv::RNG rng(SplitMix(options_.seed ^ SplitMix(uint64_t(frame_index) + 91)));
      cv::Mat noise(img.size(), CV_16SC3);
      rng.fill(noise, cv::RNG::NORMAL, 0, black_noise_ * k);
      cv::add(img, noise, img, cv::noArray(), CV_8U);
      break;
    }
    default:
      break;
  }
}

}  // namespace skynet::scenegen
