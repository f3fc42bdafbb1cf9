#include "tools/scenegen/scene.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <opencv2/imgproc.hpp>

#include "tools/scenegen/road_scene.h"
#include "tools/scenegen/scene_internal.h"

namespace skynet::scenegen {
namespace {

using internal::Cls;
using internal::ClsName;
using internal::FloorDiv;
using internal::FloorMod;
using internal::kClothes;
using internal::kVehicleColourNames;
using internal::kVehicleColours;
using internal::Motion;
using internal::SplitMix;
using internal::StoppingMotion;
using internal::Unit;

const cv::Scalar kWindow(70, 55, 45);
const cv::Scalar kTyre(20, 20, 20);

constexpr double kOccupancy = 0.8;   // share of lane slots that hold an object
constexpr double kMaxJitter = 0.35;  // slot start jitter, as a share of the headway
constexpr int kMaxLanes = 64;

// Scripted vehicles of the parking and wrong-way scenes (lane 4, the nearest). Their track ids
// use "lane" numbers from kScriptedIdBase, above the real lanes.
constexpr int kScriptedIdBase = 16;
constexpr int kScriptedLane = 4;
constexpr double kParkingCycle = 100;  // s: long stop, short stop, then passing cars
constexpr double kWrongWayCycle = 45;  // s
constexpr double kWrongWayEntry = 15;  // s into each cycle

// Dense traffic draws vehicles this much taller (and longer) than the traffic scene, so a
// vehicle in the nearer lane hides the lower part of the one in the lane behind it.
constexpr double kDenseScale = 1.75;

// Share of `box` that is inside `frame` and under none of `above`, exactly for rectangles.
double VisibleShare(const cv::Rect2d& box, const cv::Rect2d& frame,
                    const std::vector<cv::Rect2d>& above) {
  if (box.area() <= 0) return 0;
  const cv::Rect2d clip = box & frame;
  if (clip.area() <= 0) return 0;
  std::vector<cv::Rect2d> covers;
  std::vector<double> xs = {clip.x, clip.x + clip.width}, ys = {clip.y, clip.y + clip.height};
  for (const cv::Rect2d& r : above) {
    const cv::Rect2d c = r & clip;
    if (c.area() <= 0) continue;
    covers.push_back(c);
    xs.insert(xs.end(), {c.x, c.x + c.width});
    ys.insert(ys.end(), {c.y, c.y + c.height});
  }
  if (covers.empty()) return clip.area() / box.area();
  std::sort(xs.begin(), xs.end());
  std::sort(ys.begin(), ys.end());
  double free = 0;
  for (size_t i = 0; i + 1 < xs.size(); ++i) {
    for (size_t j = 0; j + 1 < ys.size(); ++j) {
      const double w = xs[i + 1] - xs[i], h = ys[j + 1] - ys[j];
      if (w <= 0 || h <= 0) continue;
      const cv::Point2d c(xs[i] + w / 2, ys[j] + h / 2);
      bool covered = false;
      for (const cv::Rect2d& r : covers) {
        covered =
            covered || (c.x > r.x && c.x < r.x + r.width && c.y > r.y && c.y < r.y + r.height);
      }
      if (!covered) free += w * h;
    }
  }
  return std::clamp(free / box.area(), 0.0, 1.0);
}

double SideOf(cv::Point2d a, cv::Point2d b, cv::Point2d p) {
  return (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
}

bool InsidePolygon(const std::vector<cv::Point2f>& normalised, double w, double h, cv::Point2d p) {
  std::vector<cv::Point2f> px;
  for (const cv::Point2f& q : normalised) px.emplace_back(q.x * w, q.y * h);
  return cv::pointPolygonTest(px, cv::Point2f(static_cast<float>(p.x), static_cast<float>(p.y)),
                              false) >= 0;
}

// Whether an object is in a zone or lane: its contact point in the ground polygon along the
// road, its anchor in the image polygon side-on.
template <typename Area>
bool InsideArea(const Area& area, double w, double h, const ObjectTruth& o) {
  if (area.ground.empty()) return InsidePolygon(area.polygon, w, h, o.anchor);
  std::vector<cv::Point2f> g(area.ground.begin(), area.ground.end());
  return cv::pointPolygonTest(g, cv::Point2f(o.ground), false) >= 0;
}

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
    default:  // side-on scenes have no two-wheelers; persons are drawn by DrawPerson
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
  bool scripted = false;  // no regular slots: only scripted vehicles (parking's lane 4)
  double y_bottom = 0;    // objects stand on this line
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
  const char* paint = "";  // the truth's colour name (ObjectTruth::colour), or empty
  double phase;
  int64_t track_id;
  double vx = 0;  // px/s
  double still_for = 0, still_left = 0;
};

const char* SceneKindName(SceneKind kind) {
  switch (kind) {
    case SceneKind::kTraffic:
      return "traffic";
    case SceneKind::kStatic:
      return "static";
    case SceneKind::kNightRain:
      return "night-rain";
    case SceneKind::kIllumination:
      return "illumination";
    case SceneKind::kShake:
      return "shake";
    case SceneKind::kEmpty:
      return "empty";
    case SceneKind::kDense:
      return "dense";
    case SceneKind::kParking:
      return "parking";
    case SceneKind::kWrongWay:
      return "wrong-way";
    case SceneKind::kRoadDay:
      return "road-day";
    case SceneKind::kRoadDense:
      return "road-dense";
    case SceneKind::kRoadNight:
      return "road-night";
    case SceneKind::kRoadRain:
      return "road-rain";
    case SceneKind::kRoadClouds:
      return "road-clouds";
    case SceneKind::kRoadShake:
      return "road-shake";
    case SceneKind::kRoadParking:
      return "road-parking";
    case SceneKind::kRoadWrongWay:
      return "road-wrongway";
    case SceneKind::kRoadIntersection:
      return "road-intersection";
  }
  return "?";
}

const std::vector<SceneKind>& AllSceneKinds() {
  static const std::vector<SceneKind> kAll = {
      SceneKind::kTraffic,      SceneKind::kStatic,       SceneKind::kNightRain,
      SceneKind::kIllumination, SceneKind::kShake,        SceneKind::kEmpty,
      SceneKind::kDense,        SceneKind::kParking,      SceneKind::kWrongWay,
      SceneKind::kRoadDay,      SceneKind::kRoadDense,    SceneKind::kRoadNight,
      SceneKind::kRoadRain,     SceneKind::kRoadClouds,   SceneKind::kRoadShake,
      SceneKind::kRoadParking,  SceneKind::kRoadWrongWay, SceneKind::kRoadIntersection};
  return kAll;
}

bool IsRoadScene(SceneKind kind) {
  switch (kind) {
    case SceneKind::kRoadDay:
    case SceneKind::kRoadDense:
    case SceneKind::kRoadNight:
    case SceneKind::kRoadRain:
    case SceneKind::kRoadClouds:
    case SceneKind::kRoadShake:
    case SceneKind::kRoadParking:
    case SceneKind::kRoadWrongWay:
    case SceneKind::kRoadIntersection:
      return true;
    default:
      return false;
  }
}

cv::Size RoadFrameSize(uint32_t seed) {
  static const cv::Size kSizes[] = {{1280, 720}, {1920, 1080}, {960, 540}};
  return kSizes[(seed + 2) % 3];
}

const char* SceneKindDescription(SceneKind kind) {
  switch (kind) {
    case SceneKind::kTraffic:
      return "day traffic in both directions, pedestrians on the sidewalks";
    case SceneKind::kStatic:
      return "the empty road; every frame identical";
    case SceneKind::kNightRain:
      return "night: headlights and beams, street lamps, rain, sensor noise, OSD clock";
    case SceneKind::kIllumination:
      return "almost empty road: clouds, auto-exposure steps, IR day/night switch, trees, OSD";
    case SceneKind::kShake:
      return "day traffic from a camera shaking +-1..3 px on its pole, sensor noise";
    case SceneKind::kEmpty:
      return "nothing moves but an OSD clock, swaying trees and sensor noise";
    case SceneKind::kDense:
      return "dense day traffic, tall vehicles: nearer lanes hide the lower part of farther ones";
    case SceneKind::kParking:
      return "day traffic; lane 4: a car stops 40 s and one 6 s in a no-parking zone (max 20 s)";
    case SceneKind::kWrongWay:
      return "day traffic; a car drives right to left in lane 4 at 15 s of every 45 s";
    case SceneKind::kRoadDay:
      return "along the road: sunny day traffic of every class, cyclists, pedestrians, shadows";
    case SceneKind::kRoadDense:
      return "along the road: dense traffic; inbound lanes queue at a stop line (60 s signal)";
    case SceneKind::kRoadNight:
      return "along the road at night: headlights, tail lights, street lamps, wet reflections";
    case SceneKind::kRoadRain:
      return "along the road in rain: overcast, streaks, wet road, lights on, noise, OSD";
    case SceneKind::kRoadClouds:
      return "along the road: passing clouds and auto-exposure steps, noise, OSD";
    case SceneKind::kRoadShake:
      return "along the road from a camera shaking on its pole, noise";
    case SceneKind::kRoadParking:
      return "along the road; a car stands 40 s (one 6 s) in a no-parking zone (max 20 s)";
    case SceneKind::kRoadWrongWay:
      return "along the road; a car drives towards the camera in an outbound lane every 30 s";
    case SceneKind::kRoadIntersection:
      return "along the road to a signalled junction: crossing traffic, queues both ways";
  }
  return "?";
}

Result<SceneKind> ParseSceneKind(std::string_view name) {
  std::string names;
  for (SceneKind k : AllSceneKinds()) {
    if (name == SceneKindName(k)) return k;
    names += (names.empty() ? "" : ", ") + std::string(SceneKindName(k));
  }
  return Status::InvalidArgument("scene: unknown kind '" + std::string(name) + "' (expected " +
                                 names + ")");
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
  if (!(o.camera_along_m >= 0 && o.camera_along_m <= 10000) ||
      !(o.road_extra_m >= 0 && o.road_extra_m <= 10000)) {
    return Status::InvalidArgument("scene: camera_along_m and road_extra_m must be in [0, 10000]");
  }
  if (!(o.fault.start_s >= 0 && o.fault.start_s <= 1e6)) {
    return Status::InvalidArgument("scene: fault.start_s must be in [0, 1e6] seconds");
  }
  if (o.effects != kEffectNone) {
    return Status::InvalidArgument("scene: effects are not implemented yet");
  }
  std::unique_ptr<SceneRenderer> r(new SceneRenderer(o));
  r->BuildBackground();
  r->BuildEffects();
  if (o.fault.kind != PictureFaultKind::kNone) {
    r->fault_ = std::make_unique<PictureFault>(o.fault, cv::Size(o.width, o.height), o.fps);
  }
  return r;
}

SceneRenderer::~SceneRenderer() = default;

SceneRenderer::SceneRenderer(const SceneOptions& o) : options_(o) {
  if (o.period_seconds > 0) period_frames_ = std::llround(o.period_seconds * o.fps);
  if (IsRoadScene(o.kind)) {
    road_ = std::make_unique<RoadScene>(o.kind, o);
    road_->FillGeometry(&geometry_);
    return;
  }
  double density = o.density;
  switch (o.kind) {
    case SceneKind::kStatic:
    case SceneKind::kEmpty:
      density = 0;
      break;
    case SceneKind::kNightRain:
      density *= 0.5;
      break;
    case SceneKind::kIllumination:
      density *= 0.06;
      break;
    case SceneKind::kDense:
      density *= 2;
      vehicle_scale_ = kDenseScale;
      break;
    default:  // traffic, shake, parking, wrong way
      break;
  }
  const bool scripted = o.kind == SceneKind::kParking || o.kind == SceneKind::kWrongWay;
  if (density <= 0 && !scripted) return;
  // Scripted scenes keep their lanes at density 0, for the scripted vehicles, without slots.
  const bool no_slots = density <= 0;
  if (no_slots) density = 1;

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
      target = (4.0 + 5.0 * Unit(o.seed, index, -1, 2)) / density;
    } else {
      l.speed = W * (0.12 + 0.13 * Unit(o.seed, index, -1, 1));
      if (o.kind == SceneKind::kDense) {
        // Same-direction lanes differ so that they overtake; the scale keeps km/h realistic.
        constexpr double kBase[] = {0, 0.12, 0.19, 0.15, 0.21};
        l.speed = W * kDenseScale * (kBase[index] + 0.03 * Unit(o.seed, index, -1, 1));
      }
      const double longest = 3.6 * 0.85 * lane_h * vehicle_scale_;  // a bus
      const double min_headway = (longest + 0.05 * W) / ((1 - kMaxJitter) * l.speed);
      target = std::max(min_headway, (2.5 + 2.5 * Unit(o.seed, index, -1, 2)) / density);
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
  if (o.kind == SceneKind::kParking) lanes_[kScriptedLane].scripted = true;
  for (Lane& l : lanes_) l.scripted = l.scripted || no_slots;
  BuildGeometry();
}

void SceneRenderer::BuildGeometry() {
  const double W = options_.width, H = options_.height;
  SceneGeometry& g = geometry_;
  g.has_vehicles = true;
  g.metres_per_px_x = 4.5 / (2.3 * 0.7 * vehicle_scale_ * 0.10 * H);  // a car is 4.5 m long
  g.metres_per_px_y = 3.5 / (0.10 * H);
  const double length_m = W * g.metres_per_px_x, width_m = 0.40 * H * g.metres_per_px_y;
  g.image_points = {{0, 0.40}, {1, 0.40}, {1, 0.80}, {0, 0.80}};
  g.ground_points = {{0, 0}, {length_m, 0}, {length_m, width_m}, {0, width_m}};
  // Geometry is where the anchors (bottom-centres) are: lane k's vehicles stand at
  // 0.39 + 0.10 k of the height, pedestrians at 0.39 and 0.87; bounds keep 0.03..0.05 away.
  g.lines = {{"count", {0.5, 0.42}, {0.5, 0.84}}};
  g.lanes = {{"westbound", {{0, 0.42f}, {1, 0.42f}, {1, 0.64f}, {0, 0.64f}}, {-1, 0}, {}},
             {"eastbound", {{0, 0.64f}, {1, 0.64f}, {1, 0.84f}, {0, 0.84f}}, {1, 0}, {}}};
  if (options_.kind == SceneKind::kParking) {
    g.zones = {{"no-parking",
                {{0.55f, 0.74f}, {0.95f, 0.74f}, {0.95f, 0.84f}, {0.55f, 0.84f}},
                true,
                20000,
                {}}};
  }
}

void SceneRenderer::BuildBackground() {
  if (road_) {
    background_ = road_->background();
    return;
  }
  const int W = options_.width, H = options_.height;
  cv::RNG rng(0x5CE7E000u ^ options_.seed);
  cv::Mat bg(H, W, CV_32FC3);
  lit_windows_ = cv::Mat::zeros(H, W, CV_8U);
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
        if (lit) cv::rectangle(lit_windows_, cv::Rect(wx, wy, ww, wh), 255, cv::FILLED);
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
    if (static_cast<int>(li) == kScriptedLane + 1) PlaceScripted(t, loop, &out);
    if (l.scripted) continue;
    const double max_len =
        l.sidewalk ? 0.05 * options_.height : 3.6 * 0.85 * l.lane_height * vehicle_scale_;
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
      if (options_.kind == SceneKind::kWrongWay && lane_id == kScriptedLane &&
          WrongWayBlocks(start, start + crossing)) {
        continue;
      }
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
        h = (p.cls == Cls::kCar ? 0.7 : 0.85) * l.lane_height * vehicle_scale_;
        len = h * (p.cls == Cls::kCar ? 2.3 : (p.cls == Cls::kTruck ? 3.0 : 3.6));
        p.colour = kVehicleColours[colour % std::size(kVehicleColours)];
        if (p.cls != Cls::kTruck)
          p.paint = kVehicleColourNames[colour % std::size(kVehicleColours)];
      }
      const double x = l.dir > 0 ? -len + l.speed * dt : W - l.speed * dt;
      if (x >= W || x + len <= 0) continue;
      p.box = cv::Rect2d(x, l.y_bottom - h, len, h);
      const int64_t k_unwrapped = k + loop * l.slots_per_period;
      p.track_id = (k_unwrapped + (int64_t{1} << 40)) * kMaxLanes + lane_id + 1;
      p.vx = l.dir * l.speed;
      out.push_back(p);
    }
  }
  return out;
}

bool SceneRenderer::WrongWayBlocks(double begin, double end) const {
  const double W = options_.width;
  const double len = 2.3 * 0.7 * lanes_[kScriptedLane].lane_height * vehicle_scale_;
  const double present = (W + len) / (0.2 * W);  // the wrong-way car's time in view
  for (int64_t c = static_cast<int64_t>(std::floor(begin / kWrongWayCycle)) - 1;
       c <= static_cast<int64_t>(std::floor(end / kWrongWayCycle)) + 1; ++c) {
    const double enter = c * kWrongWayCycle + kWrongWayEntry;
    if (begin < enter + present + 1 && end > enter - 1) return true;
  }
  return false;
}

// Parking (every kParkingCycle s): car 0 stands 40 s from 10 s with its anchor at 0.72 W, car 1
// stands 6 s from 62 s at 0.80 W, cars 2-5 pass from 72 s, 8 s apart; never two at once.
// Wrong way (every kWrongWayCycle s): one car right to left from kWrongWayEntry s.
void SceneRenderer::PlaceScripted(double t, int64_t loop, std::vector<Placed>* out) const {
  const bool parking = options_.kind == SceneKind::kParking;
  if (!parking && options_.kind != SceneKind::kWrongWay) return;
  const double W = options_.width;
  const Lane& l = lanes_[kScriptedLane];
  const double h = 0.7 * l.lane_height * vehicle_scale_, len = 2.3 * h;
  const double cycle = parking ? kParkingCycle : kWrongWayCycle;
  const double period = period_frames_ > 0 ? period_frames_ / options_.fps : 0;
  const int64_t cycles_per_loop = static_cast<int64_t>(std::floor(period / cycle)) + 2;
  const int64_t now = static_cast<int64_t>(std::floor(t / cycle));
  for (int64_t c = now - 1; c <= now; ++c) {
    const double t0 = c * cycle;
    const int items = parking ? 6 : 1;
    for (int item = 0; item < items; ++item) {
      Motion m;
      int dir = +1;
      if (!parking) {
        dir = -1;
        m.vx = -0.2 * W;
        m.x = W + m.vx * (t - (t0 + kWrongWayEntry));
      } else if (item == 0) {
        m = StoppingMotion(t, 0.72 * W - len / 2, t0 + 10, 40, 0.18 * W);
      } else if (item == 1) {
        m = StoppingMotion(t, 0.80 * W - len / 2, t0 + 62, 6, 0.18 * W);
      } else {
        const double enter = t0 + 72 + 8 * (item - 2) + Unit(options_.seed, c, item, 80);
        m.vx = 0.18 * W;
        m.x = -len + m.vx * (t - enter);
      }
      if (m.x >= W || m.x + len <= 0) continue;
      Placed p;
      p.cls = Cls::kCar;
      p.dir = dir;
      p.phase = 0;
      const int colour = static_cast<int>(Unit(options_.seed, c, item, 81) * 1e6);
      p.colour = kVehicleColours[colour % std::size(kVehicleColours)];
      p.paint = kVehicleColourNames[colour % std::size(kVehicleColours)];
      p.box = cv::Rect2d(m.x, l.y_bottom - h, len, h);
      p.vx = m.vx;
      p.still_for = m.still_for;
      p.still_left = m.still_left;
      const int64_t n = c + loop * cycles_per_loop;
      p.track_id = (n + (int64_t{1} << 40)) * kMaxLanes + kScriptedIdBase + item;
      out->push_back(p);
    }
  }
}

double SceneRenderer::SceneTime(int64_t frame_index) const {
  const int64_t f = period_frames_ > 0 ? FloorMod(frame_index, period_frames_) : frame_index;
  return static_cast<double>(f) / options_.fps;
}

// A blob of a tree's crown; it sways with the wind around its rest position.
struct SceneRenderer::Blob {
  cv::Point2d centre;
  double radius = 0;
  cv::Scalar colour;
  double amplitude = 0;  // px
  double frequency = 0;  // Hz
  double phase = 0;
};

struct SceneRenderer::Lighting {
  double gain = 1;      // frame-wide exposure (clouds x auto-exposure)
  double gradient = 0;  // extra darkening towards the right edge (a cloud's edge), 0..1
  bool ir = false;      // IR (night) mode: monochrome, its own exposure
};

void SceneRenderer::BuildEffects() {
  const SceneKind k = options_.kind;
  const int W = options_.width, H = options_.height;
  night_ = rain_ = k == SceneKind::kNightRain;
  rain_ = rain_ || k == SceneKind::kRoadRain;
  lighting_ = k == SceneKind::kIllumination || k == SceneKind::kRoadClouds;
  ir_switch_ = k == SceneKind::kIllumination;
  shake_ = k == SceneKind::kShake || k == SceneKind::kRoadShake;
  osd_ = k == SceneKind::kNightRain || k == SceneKind::kIllumination || k == SceneKind::kEmpty ||
         k == SceneKind::kRoadNight || k == SceneKind::kRoadRain || k == SceneKind::kRoadClouds;
  const bool trees = k == SceneKind::kIllumination || k == SceneKind::kEmpty;
  switch (k) {
    case SceneKind::kNightRain:
    case SceneKind::kRoadNight:
      noise_sigma_ = 4;
      break;
    case SceneKind::kIllumination:
    case SceneKind::kShake:
    case SceneKind::kRoadClouds:
    case SceneKind::kRoadShake:
      noise_sigma_ = 2.5;
      break;
    case SceneKind::kEmpty:
    case SceneKind::kRoadRain:
      noise_sigma_ = 3;
      break;
    default:  // clean day scenes
      break;
  }

  auto add_mask = [&](cv::Rect r) {
    // Rounded outwards to 1% steps, so the config shows short numbers.
    auto down = [](double v) { return std::max(0.0, std::floor(v * 100) / 100); };
    auto up = [](double v) { return std::min(1.0, std::ceil(v * 100) / 100); };
    const float x0 = static_cast<float>(down(double(r.x) / W));
    const float y0 = static_cast<float>(down(double(r.y) / H));
    const float x1 = static_cast<float>(up(double(r.br().x) / W));
    const float y1 = static_cast<float>(up(double(r.br().y) / H));
    masks_.push_back({{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}});
    mask_rects_.push_back(cv::Rect(cv::Point(cvFloor(x0 * W), cvFloor(y0 * H)),
                                   cv::Point(cvCeil(x1 * W), cvCeil(y1 * H))));
  };

  if (osd_) {
    osd_scale_ = 0.5 * H / 360.0;
    osd_thickness_ = std::max(1, cvRound(H / 360.0));
    int baseline = 0;
    const cv::Size text = cv::getTextSize("2026-11-28 23:59:59  CAM 07", cv::FONT_HERSHEY_SIMPLEX,
                                          osd_scale_, osd_thickness_ + 2, &baseline);
    osd_origin_ = cv::Point(cvRound(0.02 * W), cvRound(0.02 * H) + text.height);
    add_mask(cv::Rect(osd_origin_.x - 4, osd_origin_.y - text.height - 4, text.width + 8,
                      text.height + baseline + 8));
  }

  if (trees) {
    // Two trees behind the far sidewalk, right of centre; their crowns sway, trunks stand.
    cv::Rect extent;
    const double trees_at[][3] = {{0.80, 0.13, 0.11}, {0.92, 0.16, 0.09}};  // x, y, radius / H
    for (int t = 0; t < 2; ++t) {
      const cv::Point2d c(trees_at[t][0] * W, trees_at[t][1] * H);
      const double r = trees_at[t][2] * H;
      trunks_.push_back(cv::Rect(cv::Point(cvRound(c.x - 0.008 * W), cvRound(c.y)),
                                 cv::Point(cvRound(c.x + 0.008 * W), cvRound(0.31 * H))));
      for (int b = 0; b < 14; ++b) {
        Blob blob;
        const double a = 2 * std::numbers::pi * Unit(options_.seed, t, b, 30);
        const double d = 0.6 * r * std::sqrt(Unit(options_.seed, t, b, 31));
        blob.centre = c + cv::Point2d(d * std::cos(a), 0.8 * d * std::sin(a));
        blob.radius = r * (0.35 + 0.2 * Unit(options_.seed, t, b, 32));
        const double g = 70 + 60 * Unit(options_.seed, t, b, 33);
        blob.colour = cv::Scalar(0.45 * g, g, 0.55 * g);
        // Outer and higher leaves move more.
        blob.amplitude = 0.006 * W * (0.6 + 0.8 * Unit(options_.seed, t, b, 34));
        blob.frequency = 0.35 + 0.5 * Unit(options_.seed, t, b, 35);
        blob.phase = 2 * std::numbers::pi * Unit(options_.seed, t, b, 36);
        const double reach = blob.radius + 1.5 * blob.amplitude + 2;
        const cv::Rect box(
            cv::Point(cvFloor(blob.centre.x - reach), cvFloor(blob.centre.y - reach)),
            cv::Point(cvCeil(blob.centre.x + reach), cvCeil(blob.centre.y + reach)));
        extent = extent.area() ? (extent | box) : box;
        tree_blobs_.push_back(blob);
      }
    }
    add_mask(extent & cv::Rect(0, 0, W, H));
  }

  if (night_) {
    cv::Mat lights = cv::Mat::zeros(H, W, CV_8UC3);
    lights.setTo(cv::Scalar(105, 158, 172), lit_windows_);  // 0.75 of the window colour
    cv::Mat pools = cv::Mat::zeros(H, W, CV_8UC3);
    for (int i = 0; i < 4; ++i) {
      const int x = cvRound((0.1 + 0.25 * i) * W);
      cv::ellipse(pools, cv::Point(x, cvRound(0.56 * H)),
                  cv::Size(cvRound(0.11 * W), cvRound(0.12 * H)), 0, 0, 360, cv::Scalar(38, 48, 58),
                  cv::FILLED);
    }
    cv::GaussianBlur(pools, pools, cv::Size(0, 0), 0.03 * H);
    lights += pools;
    for (int i = 0; i < 4; ++i) {
      const int x = cvRound((0.1 + 0.25 * i) * W);
      cv::line(lights, {x, cvRound(0.40 * H)}, {x, cvRound(0.22 * H)}, cv::Scalar(25, 25, 25),
               std::max(1, W / 320));
      cv::circle(lights, {x, cvRound(0.22 * H)}, std::max(2, cvRound(0.012 * H)),
                 cv::Scalar(190, 225, 250), cv::FILLED);
    }
    night_lights_ = lights;
  }

  if (noise_sigma_ > 0) {
    cv::RNG rng(0x0015E000u ^ options_.seed);
    for (int i = 0; i < 4; ++i) {
      cv::Mat n(H + 16, W + 16, CV_16SC3);
      rng.fill(n, cv::RNG::NORMAL, 0, noise_sigma_);
      noise_bank_.push_back(n);
    }
  }
}

cv::Point2d SceneRenderer::Shake(int64_t frame_index) const {
  if (!shake_) return {};
  // A pole swaying in the wind (two modes) plus vibration; up to 3 px at a 320-pixel width.
  const double t = SceneTime(frame_index);
  const int64_t f = period_frames_ > 0 ? FloorMod(frame_index, period_frames_) : frame_index;
  const double unit = options_.width / 320.0;
  const uint32_t seed = options_.seed;
  const double two_pi = 2 * std::numbers::pi;
  double dx = 1.4 * std::sin(two_pi * 1.1 * t + two_pi * Unit(seed, 0, 0, 40)) +
              0.8 * std::sin(two_pi * 2.3 * t + two_pi * Unit(seed, 0, 0, 41)) +
              0.6 * (2 * Unit(seed, f, 0, 42) - 1);
  double dy = 0.9 * std::sin(two_pi * 0.8 * t + two_pi * Unit(seed, 0, 0, 43)) +
              0.5 * (2 * Unit(seed, f, 0, 44) - 1);
  dx = std::clamp(dx, -3.0, 3.0) * unit;
  dy = std::clamp(dy, -2.0, 2.0) * unit;
  return {dx, dy};
}

SceneRenderer::Lighting SceneRenderer::LightingAt(double t) const {
  Lighting l;
  if (!lighting_) return l;
  const uint32_t seed = options_.seed;
  auto smooth = [](double x) {
    x = std::clamp(x, 0.0, 1.0);
    return x * x * (3 - 2 * x);
  };
  // Clouds: one passage per 16 s slot, 4-8 s long, ramps of 1.5-3 s, 25-45% darker.
  constexpr double kCloudSlot = 16;
  const int64_t k = static_cast<int64_t>(std::floor(t / kCloudSlot));
  const double start = k * kCloudSlot + 1 + 6 * Unit(seed, k, 0, 50);
  const double length = 4 + 4 * Unit(seed, k, 0, 51);
  const double depth = 0.25 + 0.2 * Unit(seed, k, 0, 52);
  const double ramp = 1.5 + 1.5 * Unit(seed, k, 0, 53);
  const double cloud = smooth((t - start) / ramp) * smooth((start + length - t) / ramp);
  // Auto-exposure: a level per 5 s slot, half of them stepped 6-20% up or down.
  constexpr double kExposureSlot = 5;
  const int64_t e = static_cast<int64_t>(std::floor(t / kExposureSlot));
  double exposure = 1;
  if (Unit(seed, e, 0, 60) >= 0.5) {
    const double step = 0.06 + 0.14 * Unit(seed, e, 0, 61);
    exposure = Unit(seed, e, 0, 62) < 0.5 ? 1 - step : 1 + step;
  }
  l.gain = (1 - depth * cloud) * exposure;
  l.gradient = 0.3 * depth * cloud;
  // IR: the camera switches to monochrome night mode for 12 s once per 45 s.
  constexpr double kIrSlot = 45;
  const int64_t r = static_cast<int64_t>(std::floor(t / kIrSlot));
  const double ir_start = r * kIrSlot + 20 + 5 * Unit(seed, r, 0, 70);
  l.ir = ir_switch_ && t >= ir_start && t < ir_start + 12;
  return l;
}

void SceneRenderer::ApplyLighting(double t, cv::Mat& img) const {
  const Lighting l = LightingAt(t);
  if (l.ir) {
    // Near-infrared: no colour, foliage and paint look alike, the IR illuminator lifts the road.
    cv::Mat gray;
    cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
    gray.convertTo(gray, -1, 0.85, 35);
    cv::cvtColor(gray, img, cv::COLOR_GRAY2BGR);
    return;
  }
  if (l.gain == 1 && l.gradient == 0) return;
  std::vector<float> column(img.cols);
  for (int x = 0; x < img.cols; ++x) {
    column[x] = static_cast<float>(l.gain * (1 - l.gradient * x / img.cols));
  }
  for (int y = 0; y < img.rows; ++y) {
    uint8_t* p = img.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      for (int c = 0; c < 3; ++c)
        p[3 * x + c] = cv::saturate_cast<uint8_t>(p[3 * x + c] * column[x]);
    }
  }
}

void SceneRenderer::DrawTrees(double t, cv::Mat& img) const {
  const cv::Scalar bark(40, 55, 70);
  for (const cv::Rect& trunk : trunks_) cv::rectangle(img, trunk, bark, cv::FILLED);
  const double two_pi = 2 * std::numbers::pi;
  const double gust = 0.6 + 0.4 * std::sin(two_pi * 0.07 * t + 1.0);
  for (const Blob& b : tree_blobs_) {
    const double dx = b.amplitude * gust * std::sin(two_pi * b.frequency * t + b.phase);
    const double dy =
        0.35 * b.amplitude * gust * std::sin(two_pi * 1.7 * b.frequency * t + b.phase);
    cv::circle(img, cv::Point(cvRound(b.centre.x + dx), cvRound(b.centre.y + dy)),
               cvRound(b.radius), b.colour, cv::FILLED, cv::LINE_AA);
  }
}

void SceneRenderer::DrawNight(const std::vector<Placed>& placed, cv::Mat& img) const {
  img.convertTo(img, -1, 0.2, 0);
  cv::add(img, night_lights_, img);
  cv::Mat beams = cv::Mat::zeros(img.size(), CV_8UC3);
  for (const Placed& p : placed) {
    if (p.cls == Cls::kPerson) continue;
    const cv::Rect2d& b = p.box;
    const double front = p.dir > 0 ? b.x + b.width : b.x;
    const double reach = 1.2 * b.width * p.dir;
    const std::vector<cv::Point> beam = {{cvRound(front), cvRound(b.y + 0.70 * b.height)},
                                         {cvRound(front + reach), cvRound(b.y + 0.45 * b.height)},
                                         {cvRound(front + reach), cvRound(b.y + 1.10 * b.height)},
                                         {cvRound(front), cvRound(b.y + 0.95 * b.height)}};
    cv::fillConvexPoly(beams, beam, cv::Scalar(55, 62, 68));
  }
  cv::GaussianBlur(beams, beams, cv::Size(0, 0), std::max(1.0, 0.006 * img.cols));
  cv::add(img, beams, img);
  for (const Placed& p : placed) {
    if (p.cls == Cls::kPerson) continue;
    const cv::Rect2d& b = p.box;
    const double front = p.dir > 0 ? b.x + b.width - 1 : b.x;
    const double rear = p.dir > 0 ? b.x : b.x + b.width - 1;
    const int r = std::max(2, cvRound(0.08 * b.height));
    cv::circle(img, cv::Point(cvRound(front), cvRound(b.y + 0.62 * b.height)), r,
               cv::Scalar(235, 245, 255), cv::FILLED, cv::LINE_AA);
    cv::circle(img, cv::Point(cvRound(rear), cvRound(b.y + 0.55 * b.height)),
               std::max(1, r * 2 / 3), cv::Scalar(40, 40, 210), cv::FILLED, cv::LINE_AA);
  }
}

void SceneRenderer::DrawRain(int64_t frame_index, cv::Mat& img) const {
  const int64_t f = period_frames_ > 0 ? FloorMod(frame_index, period_frames_) : frame_index;
  cv::RNG rng(SplitMix(options_.seed ^ (static_cast<uint64_t>(f) << 20) ^ 0x7a1full));
  const int W = img.cols, H = img.rows;
  const int drops = W * H / 900;
  for (int i = 0; i < drops; ++i) {
    const double x = rng.uniform(0.0, double(W)), y = rng.uniform(0.0, double(H));
    const double len = H * rng.uniform(0.02, 0.04);
    const int v = rng.uniform(60, 100);
    cv::line(img, cv::Point(cvRound(x), cvRound(y)),
             cv::Point(cvRound(x + 0.25 * len), cvRound(y + len)), cv::Scalar(v, v, v + 5), 1,
             cv::LINE_AA);
  }
}

void SceneRenderer::DrawOsd(int64_t frame_index, cv::Mat& img) const {
  // A burned-in clock, ticking once a second from 14:03:00.
  const int64_t second = 14 * 3600 + 3 * 60 + static_cast<int64_t>(SceneTime(frame_index));
  char text[64];
  std::snprintf(text, sizeof text, "2026-11-28 %02d:%02d:%02d  CAM 07",
                static_cast<int>(second / 3600 % 24), static_cast<int>(second / 60 % 60),
                static_cast<int>(second % 60));
  cv::putText(img, text, osd_origin_, cv::FONT_HERSHEY_SIMPLEX, osd_scale_, cv::Scalar(0, 0, 0),
              osd_thickness_ + 2, cv::LINE_AA);
  cv::putText(img, text, osd_origin_, cv::FONT_HERSHEY_SIMPLEX, osd_scale_,
              cv::Scalar(255, 255, 255), osd_thickness_, cv::LINE_AA);
}

void SceneRenderer::Render(int64_t frame_index, cv::Mat* bgr_out) const {
  if (fault_) frame_index = fault_->SourceFrame(frame_index);  // a frozen picture
  const double t = SceneTime(frame_index);
  background_.copyTo(*bgr_out);
  cv::Mat& img = *bgr_out;
  if (!tree_blobs_.empty()) DrawTrees(t, img);
  if (road_) {
    road_->Draw(t, img);
  } else {
    const std::vector<Placed> placed = Place(frame_index);
    for (const Placed& p : placed) {
      if (p.cls == Cls::kPerson) {
        DrawPerson(img, p.box, p.phase, p.colour);
      } else {
        DrawVehicle(img, p.cls, p.box, p.dir, p.colour);
      }
    }
    if (night_) DrawNight(placed, img);
  }
  if (rain_) DrawRain(frame_index, img);
  if (lighting_) ApplyLighting(t, img);
  if (shake_) {
    // The whole view moves: img(x) = scene(x - shift).
    const cv::Point2d s = Shake(frame_index);
    const cv::Matx23d m(1, 0, s.x, 0, 1, s.y);
    cv::Mat moved;
    cv::warpAffine(img, moved, m, img.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
    img = moved;
  }
  if (fault_) fault_->ApplyOptical(frame_index, img);  // on the lens or the aim
  if (!noise_bank_.empty()) {
    const uint64_t h =
        SplitMix(options_.seed ^
                 SplitMix(static_cast<uint64_t>(
                     period_frames_ > 0 ? FloorMod(frame_index, period_frames_) : frame_index)));
    const cv::Mat& bank = noise_bank_[h % noise_bank_.size()];
    const cv::Rect crop(static_cast<int>((h >> 8) % 16), static_cast<int>((h >> 16) % 16), img.cols,
                        img.rows);
    cv::add(img, bank(crop), img, cv::noArray(), CV_8U);
  }
  if (fault_) fault_->ApplySensor(frame_index, img);  // in the sensor: the OSD stays
  if (osd_) DrawOsd(frame_index, img);
}

std::vector<ObjectTruth> SceneRenderer::Objects(int64_t frame_index) const {
  // Side-on objects in the road objects' terms; then both alike.
  std::vector<RoadObject> drawn;
  if (road_) {
    drawn = road_->Objects(SceneTime(frame_index));
    // A looped road scene keeps its ids unique per loop (its seam is not seamless).
    const int64_t loop = period_frames_ > 0 ? FloorDiv(frame_index, period_frames_) : 0;
    for (RoadObject& o : drawn) o.id += loop << 40;
  } else {
    for (const Placed& p : Place(frame_index)) {
      RoadObject o;
      o.cls = ClsName(p.cls);
      o.colour = p.paint;
      o.id = p.track_id;
      o.box = p.box;
      o.velocity = cv::Point2d(p.vx, 0);
      o.speed_kmh = std::abs(p.vx) * geometry_.metres_per_px_x * 3.6;
      o.still_for = p.still_for;
      o.still_left = p.still_left;
      o.ground = {-1, -1};
      o.distance_m = -1;
      drawn.push_back(o);
    }
  }
  std::vector<ObjectTruth> out;
  const cv::Rect frame(0, 0, options_.width, options_.height);
  const cv::Rect2d frame_d(0, 0, options_.width, options_.height);
  const cv::Point2d s = Shake(frame_index);
  std::vector<cv::Rect2d> full;  // unclipped, shaken
  for (const RoadObject& p : drawn)
    full.emplace_back(p.box.x + s.x, p.box.y + s.y, p.box.width, p.box.height);
  for (size_t i = 0; i < drawn.size(); ++i) {
    const RoadObject& p = drawn[i];
    const double x = full[i].x, y = full[i].y;
    cv::Rect box(cv::Point(cvRound(x), cvRound(y)),
                 cv::Point(cvRound(x + p.box.width), cvRound(y + p.box.height)));
    box &= frame;
    if (box.area() == 0) continue;
    ObjectTruth o;
    o.track_id = p.id;
    o.cls = p.cls;
    o.colour = p.colour;
    o.box = box;
    o.visible = VisibleShare(full[i], frame_d, {full.begin() + i + 1, full.end()});
    o.anchor = cv::Point2d(x + p.box.width / 2, y + p.box.height);
    o.velocity = p.velocity;
    o.speed_kmh = p.speed_kmh;
    o.still_for_s = p.still_for;
    o.still_left_s = p.still_left;
    o.ground = p.ground;
    o.distance_m = p.distance_m;
    out.push_back(std::move(o));
  }
  return out;
}

ClipTruth SceneRenderer::Truth(int64_t frames_total) const {
  ClipTruth out;
  const double fps = options_.fps, W = options_.width, H = options_.height;
  out.duration = static_cast<double>(frames_total) / fps;
  const SceneGeometry& g = geometry_;
  std::map<int64_t, size_t> track_index;
  std::vector<std::vector<double>> speeds;
  std::map<int64_t, cv::Point2d> previous;  // anchors of the previous frame
  std::map<std::pair<int64_t, size_t>, bool> counted;
  std::map<std::pair<int64_t, size_t>, size_t> open_stop, open_wrong;
  std::map<std::pair<int64_t, size_t>, int64_t> wrong_last_frame;
  for (int64_t i = 0; i < frames_total; ++i) {
    const double t = static_cast<double>(i) / fps;
    std::map<int64_t, cv::Point2d> current;
    for (const ObjectTruth& o : Objects(i)) {
      current[o.track_id] = o.anchor;
      auto [it, added] = track_index.emplace(o.track_id, out.tracks.size());
      if (added) {
        out.tracks.push_back({o.track_id, o.cls, t, t, 0});
        speeds.emplace_back();
      }
      out.tracks[it->second].last = t;
      speeds[it->second].push_back(o.speed_kmh);
      if (o.cls == "person") continue;
      // Line crossings: the anchor's step between consecutive frames, as skynetd counts them.
      auto prev = previous.find(o.track_id);
      for (size_t li = 0; li < g.lines.size() && prev != previous.end(); ++li) {
        const cv::Point2d a(g.lines[li].a.x * W, g.lines[li].a.y * H);
        const cv::Point2d b(g.lines[li].b.x * W, g.lines[li].b.y * H);
        const cv::Point2d p = prev->second, q = o.anchor;
        const double d1 = SideOf(a, b, p), d2 = SideOf(a, b, q);
        if (d1 == 0 || (d1 > 0 && d2 > 0) || (d1 < 0 && d2 < 0)) continue;
        const double d3 = SideOf(p, q, a), d4 = SideOf(p, q, b);
        if (!((d3 >= 0 && d4 <= 0) || (d3 <= 0 && d4 >= 0))) continue;
        if (counted[{o.track_id, li}]) continue;
        counted[{o.track_id, li}] = true;
        const cv::Point2d normal(-(b.y - a.y), b.x - a.x);
        const int direction = (q - p).dot(normal) >= 0 ? 1 : -1;
        out.crossings.push_back(
            {g.lines[li].id, o.track_id, o.cls, t - (1 - d1 / (d1 - d2)) / fps, direction});
      }
      // Standing still in a no-parking zone: exact begin and end from the script.
      for (size_t zi = 0; zi < g.zones.size(); ++zi) {
        const SceneGeometry::Zone& z = g.zones[zi];
        if (!z.no_parking || o.velocity != cv::Point2d() || !InsideArea(z, W, H, o)) {
          continue;
        }
        const double begin = std::max(0.0, t - o.still_for_s);
        const double end = std::min(out.duration, t + o.still_left_s);
        auto open = open_stop.find({o.track_id, zi});
        if (open != open_stop.end() && out.stops[open->second].end >= t - 1e-9) {
          out.stops[open->second].end = end;
          continue;
        }
        open_stop[{o.track_id, zi}] = out.stops.size();
        out.stops.push_back({o.track_id, z.id, begin, end});
      }
      // Wrong way: in view, anchor in a lane, moving against the lane's direction.
      for (size_t li = 0; li < g.lanes.size(); ++li) {
        const SceneGeometry::LaneArea& lane = g.lanes[li];
        if (o.velocity.dot(lane.direction) >= 0 || !InsideArea(lane, W, H, o)) {
          continue;
        }
        const std::pair<int64_t, size_t> key{o.track_id, li};
        auto last = wrong_last_frame.find(key);
        if (last != wrong_last_frame.end() && last->second == i - 1) {
          out.wrong_way[open_wrong[key]].end = t;
        } else {
          open_wrong[key] = out.wrong_way.size();
          out.wrong_way.push_back({o.track_id, lane.id, t, t});
        }
        wrong_last_frame[key] = i;
      }
    }
    previous = std::move(current);
  }
  for (size_t k = 0; k < out.tracks.size(); ++k) {
    std::vector<double>& v = speeds[k];
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    out.tracks[k].speed_kmh = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  }
  std::stable_sort(out.crossings.begin(), out.crossings.end(),
                   [](const auto& a, const auto& b) { return a.t < b.t; });
  return out;
}

bool SceneRenderer::MovingOutsideMasks(int64_t frame_index) const {
  for (const ObjectTruth& o : Objects(frame_index)) {
    if (o.velocity == cv::Point2d()) continue;  // standing still
    bool masked = false;
    for (const cv::Rect& m : mask_rects_) masked = masked || (o.box & m) == o.box;
    if (!masked) return true;
  }
  return false;
}

}  // namespace skynet::scenegen
