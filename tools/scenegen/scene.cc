#include "tools/scenegen/scene.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <opencv2/imgproc.hpp>

namespace skynet::scenegen {
namespace {

// Stateless hashing instead of a sequential RNG: the attributes of vehicle k must be computable
// without generating vehicles 0..k-1, and must not depend on the platform's RNG.
uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from (seed, a, b, salt).
double Unit(uint32_t seed, int64_t a, int64_t b, int salt) {
  uint64_t h = SplitMix(seed);
  h = SplitMix(h ^ static_cast<uint64_t>(a));
  h = SplitMix(h ^ static_cast<uint64_t>(b));
  h = SplitMix(h ^ static_cast<uint64_t>(salt));
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

enum class Cls { kCar, kBus, kTruck, kPerson };
const char* ClsName(Cls c) {
  switch (c) {
    case Cls::kCar:
      return "car";
    case Cls::kBus:
      return "bus";
    case Cls::kTruck:
      return "truck";
    case Cls::kPerson:
      return "person";
  }
  return "?";
}

// BGR: white, black, silver, red, blue, yellow, green.
const cv::Scalar kVehicleColours[] = {{235, 235, 235}, {30, 30, 32},  {190, 192, 195},
                                      {40, 40, 200},   {170, 80, 30}, {30, 205, 230},
                                      {50, 130, 40}};
const cv::Scalar kClothes[] = {{60, 40, 30},    {40, 40, 160}, {150, 110, 60},
                               {200, 200, 200}, {40, 120, 40}, {20, 20, 20}};
const cv::Scalar kWindow(70, 55, 45);
const cv::Scalar kTyre(20, 20, 20);

constexpr double kOccupancy = 0.8;   // share of lane slots that hold an object
constexpr double kMaxJitter = 0.35;  // slot start jitter, as a share of the headway
constexpr int kMaxLanes = 64;

cv::Scalar Darker(const cv::Scalar& c) { return c * 0.55; }

void DrawVehicle(cv::Mat& img, Cls cls, const cv::Rect2d& b, int dir, const cv::Scalar& col) {
  const double x = b.x, y = b.y, L = b.width, h = b.height;
  auto R = [&](double x0, double y0, double x1, double y1) {  // box-relative fractions
    if (dir < 0) std::swap(x0, x1), x0 = 1 - x0, x1 = 1 - x1;
    return cv::Rect(cv::Point(cvRound(x + x0 * L), cvRound(y + y0 * h)),
                    cv::Point(cvRound(x + x1 * L), cvRound(y + y1 * h)));
  };
  auto fill = [&](const cv::Rect& r, const cv::Scalar& c) { cv::rectangle(img, r, c, cv::FILLED); };
  const cv::Scalar edge = Darker(col);
  switch (cls) {
    case Cls::kCar: {
      fill(R(0.0, 0.38, 1.0, 0.85), col);
      fill(R(0.22, 0.0, 0.78, 0.42), col);
      fill(R(0.26, 0.08, 0.48, 0.38), kWindow);
      fill(R(0.52, 0.08, 0.74, 0.38), kWindow);
      cv::rectangle(img, R(0.0, 0.38, 1.0, 0.85), edge, 1);
      break;
    }
    case Cls::kBus: {
      fill(R(0.0, 0.0, 1.0, 0.88), col);
      for (int i = 0; i < 6; ++i) {
        double x0 = 0.05 + i * 0.15;
        fill(R(x0, 0.12, x0 + 0.12, 0.45), kWindow);
      }
      cv::rectangle(img, R(0.0, 0.0, 1.0, 0.88), edge, 1);
      break;
    }
    case Cls::kTruck: {
      fill(R(0.0, 0.0, 0.72, 0.85), col);                                    // cargo box
      fill(R(0.75, 0.25, 1.0, 0.85), Darker(col) + cv::Scalar(40, 40, 40));  // cab
      fill(R(0.80, 0.32, 0.96, 0.55), kWindow);
      cv::rectangle(img, R(0.0, 0.0, 0.72, 0.85), edge, 1);
      break;
    }
    case Cls::kPerson:
      break;
  }
  const int r = std::max(2, cvRound(0.15 * h));
  for (double fx : {0.18, 0.82}) {
    cv::Rect w = R(fx, 0.85, fx, 0.85);
    cv::circle(img, w.tl(), r, kTyre, cv::FILLED);
  }
}

void DrawPerson(cv::Mat& img, const cv::Rect2d& b, double phase, const cv::Scalar& clothes) {
  const double x = b.x, y = b.y, w = b.width, h = b.height;
  const cv::Point head(cvRound(x + w / 2), cvRound(y + 0.1 * h));
  cv::circle(img, head, std::max(2, cvRound(0.1 * h)), cv::Scalar(120, 150, 190), cv::FILLED);
  cv::rectangle(img, cv::Point(cvRound(x), cvRound(y + 0.2 * h)),
                cv::Point(cvRound(x + w), cvRound(y + 0.6 * h)), clothes, cv::FILLED);
  const double swing = 0.5 * w * std::sin(phase);
  const cv::Point hip(cvRound(x + w / 2), cvRound(y + 0.6 * h));
  const int thick = std::max(2, cvRound(0.25 * w));
  cv::line(img, hip, cv::Point(cvRound(x + w / 2 + swing), cvRound(y + h)), Darker(clothes), thick);
  cv::line(img, hip, cv::Point(cvRound(x + w / 2 - swing), cvRound(y + h)), Darker(clothes), thick);
}

}  // namespace

// A band of the frame in which objects of one kind move horizontally at one speed. Objects
// occupy "slots" k = ..., -1, 0, 1, ...; slot k starts entering at (k + jitter_k) * headway
// seconds. One speed per lane means objects in a lane never overtake each other.
struct SceneRenderer::Lane {
  bool sidewalk = false;
  double y_bottom = 0;  // objects stand on this line
  double lane_height = 0;
  int dir = 1;                   // +1 left to right, -1 right to left
  double speed = 0;              // px/s
  double headway = 0;            // s between slots
  int64_t slots_per_period = 0;  // periodic scenes: slot attributes repeat with this period
};

struct SceneRenderer::Placed {
  Cls cls;
  cv::Rect2d box;
  int dir;
  cv::Scalar colour;
  double phase;
  int64_t track_id;
};

const char* SceneKindName(SceneKind kind) {
  switch (kind) {
    case SceneKind::kTraffic:
      return "traffic";
    case SceneKind::kStatic:
      return "static";
  }
  return "?";
}

Result<SceneKind> ParseSceneKind(std::string_view name) {
  if (name == "traffic") return SceneKind::kTraffic;
  if (name == "static") return SceneKind::kStatic;
  return Status::InvalidArgument("scene: unknown kind '" + std::string(name) +
                                 "' (expected traffic or static)");
}

Result<std::unique_ptr<SceneRenderer>> SceneRenderer::Create(const SceneOptions& o) {
  if (o.width < 64 || o.height < 64 || o.width > 7680 || o.height > 4320 || o.width % 2 ||
      o.height % 2) {
    return Status::InvalidArgument(
        "scene: width/height must be even and within 64x64..7680x4320, got " +
        std::to_string(o.width) + "x" + std::to_string(o.height));
  }
  if (!(o.fps > 0 && o.fps <= 240)) {
    return Status::InvalidArgument("scene: fps must be in (0, 240], got " + std::to_string(o.fps));
  }
  if (!(o.period_seconds >= 0) || (o.period_seconds > 0 && o.period_seconds * o.fps < 1)) {
    return Status::InvalidArgument("scene: period_seconds must be 0 or at least one frame long");
  }
  if (!(o.density >= 0 && o.density <= 10)) {
    return Status::InvalidArgument("scene: density must be in [0, 10]");
  }
  if (o.effects != kEffectNone) {
    return Status::InvalidArgument("scene: effects are not implemented yet");
  }
  std::unique_ptr<SceneRenderer> r(new SceneRenderer(o));
  r->BuildBackground();
  return r;
}

SceneRenderer::~SceneRenderer() = default;

SceneRenderer::SceneRenderer(const SceneOptions& o) : options_(o) {
  if (o.period_seconds > 0) period_frames_ = std::llround(o.period_seconds * o.fps);
  if (o.kind != SceneKind::kTraffic || o.density <= 0) return;

  const double W = o.width, H = o.height;
  const double lane_h = 0.10 * H;
  const double period = period_frames_ > 0 ? period_frames_ / o.fps : 0;
  auto add_lane = [&](bool sidewalk, double y_bottom, int dir, int index) {
    Lane l;
    l.sidewalk = sidewalk;
    l.y_bottom = y_bottom;
    l.lane_height = lane_h;
    l.dir = dir;
    double target;
    if (sidewalk) {
      l.speed = 0.09 * H * (0.6 + 0.3 * Unit(o.seed, index, -1, 1));
      target = (4.0 + 5.0 * Unit(o.seed, index, -1, 2)) / o.density;
    } else {
      l.speed = W * (0.12 + 0.13 * Unit(o.seed, index, -1, 1));
      const double longest = 3.6 * 0.85 * lane_h;  // a bus
      const double min_headway = (longest + 0.05 * W) / ((1 - kMaxJitter) * l.speed);
      target = std::max(min_headway, (2.5 + 2.5 * Unit(o.seed, index, -1, 2)) / o.density);
    }
    l.headway = target;
    if (period > 0) {
      l.slots_per_period = std::max<int64_t>(1, static_cast<int64_t>(std::floor(period / target)));
      l.headway = period / static_cast<double>(l.slots_per_period);
    }
    lanes_.push_back(l);
  };
  // Back to front, so that drawing in lane order gives the right occlusion.
  add_lane(true, 0.39 * H, -1, 0);
  add_lane(false, 0.49 * H, -1, 1);
  add_lane(false, 0.59 * H, -1, 2);
  add_lane(false, 0.69 * H, +1, 3);
  add_lane(false, 0.79 * H, +1, 4);
  add_lane(true, 0.87 * H, +1, 5);
}

void SceneRenderer::BuildBackground() {
  const int W = options_.width, H = options_.height;
  cv::RNG rng(0x5CE7E000u ^ options_.seed);
  cv::Mat bg(H, W, CV_32FC3);
  auto band = [&](double y0, double y1) {
    int a = std::clamp(cvRound(y0 * H), 0, H), b = std::clamp(cvRound(y1 * H), 0, H);
    return cv::Rect(0, a, W, b - a);
  };
  auto textured = [&](const cv::Rect& r, const cv::Scalar& base, double sigma, int blur) {
    if (r.area() == 0) return;
    cv::Mat noise(r.size(), CV_32F);
    rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
    if (blur > 1) cv::GaussianBlur(noise, noise, cv::Size(0, 0), blur / 2.0);
    cv::Mat n3;
    cv::merge(std::vector<cv::Mat>{noise, noise, noise}, n3);
    cv::Mat roi = bg(r);
    roi.setTo(base);
    roi += n3;
  };

  // Sky with a vertical gradient.
  cv::Rect sky = band(0, 0.32);
  for (int y = 0; y < sky.height; ++y) {
    double f = static_cast<double>(y) / std::max(1, sky.height);
    bg.row(y).setTo(cv::Scalar(235 - 30 * f, 205 - 20 * f, 170 - 10 * f));
  }
  // Buildings along the far side of the street.
  for (double x = -0.02 * W; x < W;) {
    double bw = W * (0.08 + 0.10 * rng.uniform(0.0, 1.0));
    double top = H * (0.05 + 0.17 * rng.uniform(0.0, 1.0));
    cv::Rect r(cv::Point(cvRound(x), cvRound(top)), cv::Point(cvRound(x + bw), cvRound(0.32 * H)));
    r &= cv::Rect(0, 0, W, H);
    double g = rng.uniform(90.0, 170.0);
    textured(r, cv::Scalar(g - 10, g, g + rng.uniform(0.0, 40.0)), 4, 0);
    const int ww = std::max(2, W / 120), wh = std::max(2, H / 60);
    for (int wy = r.y + wh; wy + wh < r.br().y - wh; wy += 2 * wh) {
      for (int wx = r.x + ww; wx + ww < r.br().x - ww / 2; wx += 2 * ww) {
        bool lit = rng.uniform(0.0, 1.0) < 0.3;
        cv::rectangle(bg, cv::Rect(wx, wy, ww, wh),
                      lit ? cv::Scalar(140, 210, 230) : cv::Scalar(70, 60, 55), cv::FILLED);
      }
    }
    x += bw + W * 0.01;
  }
  textured(band(0.32, 0.40), cv::Scalar(165, 168, 170), 5, 0);  // far sidewalk
  textured(band(0.40, 0.80), cv::Scalar(92, 94, 96), 7, 0);     // asphalt
  textured(band(0.80, 0.87), cv::Scalar(165, 168, 170), 5, 0);  // near sidewalk
  textured(band(0.87, 1.00), cv::Scalar(50, 125, 70), 14, 3);   // grass verge

  // Paving joints.
  for (int x = 0; x < W; x += std::max(8, W / 32)) {
    cv::line(bg, {x, cvRound(0.32 * H)}, {x, cvRound(0.40 * H) - 1}, cv::Scalar(130, 132, 134), 1);
    cv::line(bg, {x, cvRound(0.80 * H)}, {x, cvRound(0.87 * H) - 1}, cv::Scalar(130, 132, 134), 1);
  }
  // Lane markings: solid edges, double yellow centre line, dashed lane dividers.
  const int t = std::max(1, H / 180);
  const cv::Scalar white(225, 228, 230), yellow(40, 190, 225);
  cv::line(bg, {0, cvRound(0.405 * H)}, {W, cvRound(0.405 * H)}, white, t);
  cv::line(bg, {0, cvRound(0.795 * H)}, {W, cvRound(0.795 * H)}, white, t);
  cv::line(bg, {0, cvRound(0.597 * H)}, {W, cvRound(0.597 * H)}, yellow, t);
  cv::line(bg, {0, cvRound(0.603 * H)}, {W, cvRound(0.603 * H)}, yellow, t);
  const int dash = std::max(6, W / 24);
  for (double yy : {0.50, 0.70}) {
    for (int x = 0; x < W; x += 2 * dash) {
      cv::line(bg, {x, cvRound(yy * H)}, {x + dash, cvRound(yy * H)}, white, t);
    }
  }
  bg.convertTo(background_, CV_8UC3);
}

std::vector<SceneRenderer::Placed> SceneRenderer::Place(int64_t frame_index) const {
  std::vector<Placed> out;
  if (lanes_.empty()) return out;
  const double W = options_.width;
  int64_t loop = 0, f = frame_index;
  if (period_frames_ > 0) {
    loop = FloorDiv(frame_index, period_frames_);
    f = FloorMod(frame_index, period_frames_);
  }
  const double t = static_cast<double>(f) / options_.fps;
  for (size_t li = 0; li < lanes_.size(); ++li) {
    const Lane& l = lanes_[li];
    const double max_len = l.sidewalk ? 0.05 * options_.height : 3.6 * 0.85 * l.lane_height;
    const double crossing = (W + max_len) / l.speed;
    const int64_t k_lo = static_cast<int64_t>(std::floor((t - crossing) / l.headway)) - 1;
    const int64_t k_hi = static_cast<int64_t>(std::floor(t / l.headway));
    for (int64_t k = k_lo; k <= k_hi; ++k) {
      const int64_t key = l.slots_per_period > 0 ? FloorMod(k, l.slots_per_period) : k;
      const int lane_id = static_cast<int>(li);
      if (Unit(options_.seed, lane_id, key, 10) >= kOccupancy) continue;
      const double start = (k + kMaxJitter * Unit(options_.seed, lane_id, key, 11)) * l.headway;
      const double dt = t - start;
      if (dt < 0) continue;
      Placed p;
      p.dir = l.dir;
      p.phase = dt * 2 * std::numbers::pi * 1.6;
      double len, h;
      const double c = Unit(options_.seed, lane_id, key, 12);
      const int colour = static_cast<int>(Unit(options_.seed, lane_id, key, 13) * 1e6);
      if (l.sidewalk) {
        p.cls = Cls::kPerson;
        h = 0.09 * options_.height * (0.85 + 0.3 * c);
        len = 0.3 * h;
        p.colour = kClothes[colour % std::size(kClothes)];
      } else {
        p.cls = c < 0.75 ? Cls::kCar : (c < 0.88 ? Cls::kTruck : Cls::kBus);
        h = (p.cls == Cls::kCar ? 0.7 : 0.85) * l.lane_height;
        len = h * (p.cls == Cls::kCar ? 2.3 : (p.cls == Cls::kTruck ? 3.0 : 3.6));
        p.colour = kVehicleColours[colour % std::size(kVehicleColours)];
      }
      const double x = l.dir > 0 ? -len + l.speed * dt : W - l.speed * dt;
      if (x >= W || x + len <= 0) continue;
      p.box = cv::Rect2d(x, l.y_bottom - h, len, h);
      const int64_t k_unwrapped = k + loop * l.slots_per_period;
      p.track_id = (k_unwrapped + (int64_t{1} << 40)) * kMaxLanes + lane_id + 1;
      out.push_back(p);
    }
  }
  return out;
}

void SceneRenderer::Render(int64_t frame_index, cv::Mat* bgr_out) const {
  background_.copyTo(*bgr_out);
  for (const Placed& p : Place(frame_index)) {
    if (p.cls == Cls::kPerson) {
      DrawPerson(*bgr_out, p.box, p.phase, p.colour);
    } else {
      DrawVehicle(*bgr_out, p.cls, p.box, p.dir, p.colour);
    }
  }
}

std::vector<ObjectTruth> SceneRenderer::Objects(int64_t frame_index) const {
  std::vector<ObjectTruth> out;
  const cv::Rect frame(0, 0, options_.width, options_.height);
  for (const Placed& p : Place(frame_index)) {
    cv::Rect box(cv::Point(cvRound(p.box.x), cvRound(p.box.y)),
                 cv::Point(cvRound(p.box.x + p.box.width), cvRound(p.box.y + p.box.height)));
    box &= frame;
    if (box.area() == 0) continue;
    out.push_back({p.track_id, ClsName(p.cls), box});
  }
  return out;
}

}  // namespace skynet::scenegen
