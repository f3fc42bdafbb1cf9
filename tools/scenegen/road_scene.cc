#include "tools/scenegen/road_scene.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <opencv2/imgproc.hpp>

#include "tools/scenegen/scene_internal.h"

namespace skynet::scenegen {
namespace {

using internal::Cls;
using internal::ClsName;
using internal::kClothes;
using internal::kVehicleColourNames;
using internal::kVehicleColours;
using internal::Motion;
using internal::SplitMix;
using internal::StoppingMotion;
using internal::Unit;

constexpr double kPi = std::numbers::pi;
constexpr double kLaneWidth = 3.5;
constexpr double kRoadHalf = 2 * kLaneWidth;  // two lanes each way
constexpr double kBikeOuter = kRoadHalf + 1.5;
constexpr double kWalkOuter = kBikeOuter + 3.0;
constexpr double kBuildingX = kWalkOuter + 2.5;
constexpr double kEntryBehind = -25;  // objects enter and leave this far behind the camera
constexpr double kFarEnd = 420;       // and this far down the road
constexpr double kMaxLength = 12.5;   // a bus
constexpr double kOccupancy = 0.8;    // share of lane slots that hold an object
constexpr double kMaxJitter = 0.35;   // slot start jitter, as a share of the headway
constexpr double kSignalCycle = 60;   // s: red, then green, 30 s each
constexpr double kRed = 30;
constexpr double kParkingCycle = 100;  // s, as the side-on parking scene
constexpr double kWrongWayCycle = 30;  // s
constexpr double kNear = 0.05;         // m: the camera's near plane

const cv::Scalar kGlass(62, 52, 46);
const cv::Scalar kTyre(22, 22, 24);
const cv::Scalar kSkin(120, 150, 190);

// A box of an object, in its own frame: a across (+ right), b along (+ front), z up; metres.
struct Part {
  double a0, a1, b0, b1, z0, z1;
  cv::Scalar colour;
  bool glass_sides = false;  // windows all round, roof in `colour`
};

// Hash noise in [-1, 1] on a grid cell.
double Grain(int64_t i, int64_t j, int salt) {
  return 2 *
             static_cast<double>(SplitMix(SplitMix(static_cast<uint64_t>(i) * 0x9E37u + salt) ^
                                          static_cast<uint64_t>(j)) >>
                                 11) /
             9007199254740992.0 -
         1;
}

cv::Scalar Mix(const cv::Scalar& a, const cv::Scalar& b, double f) { return a * (1 - f) + b * f; }

// Where a segment leaves the rectangle [0, w] x [0, h] (Liang-Barsky); false if it misses it.
bool ClipSegment(cv::Point2d* a, cv::Point2d* b, double w, double h) {
  double t0 = 0, t1 = 1;
  const cv::Point2d d = *b - *a;
  const double p[] = {-d.x, d.x, -d.y, d.y};
  const double q[] = {a->x, w - a->x, a->y, h - a->y};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    const double r = q[i] / p[i];
    if (p[i] < 0) t0 = std::max(t0, r);
    if (p[i] > 0) t1 = std::min(t1, r);
  }
  if (t0 > t1) return false;
  const cv::Point2d a0 = *a;
  *a = a0 + t0 * d;
  *b = a0 + t1 * d;
  return true;
}

}  // namespace

// A stream of objects of one kind along one axis. Main-road lanes run along y (x = `at`),
// crossing lanes along x (y = `at`). Slots as in the side-on scenes; a signalled lane instead
// queues the vehicles that reach its stop line on red and releases them on green.
struct RoadScene::Lane {
  enum Kind { kVehicle, kBike, kWalk } kind = kVehicle;
  bool crossing = false;                     // runs along x
  double at = 0;                             // x of a main-road lane, y of a crossing lane
  int dir = 1;                               // +1 towards +y (+x), -1 the other way
  double from = kEntryBehind, to = kFarEnd;  // extent along the axis
  double speed = 10;                         // m/s
  double headway = 5;                        // s between slots
  bool scripted = false;                     // no regular objects (scripted ones only)
  bool signalled = false;
  double stop_at = 0;     // stop line, along the axis (the front stops there)
  double red_offset = 0;  // s: red is [c * cycle + offset, + kRed)
  int max_queue = 8;
  double max_queue_m = 1e9;  // queue length limit, metres
};

struct RoadScene::Actor {
  Cls cls = Cls::kCar;
  int64_t id = 0;
  cv::Point2d centre;  // of the footprint, ground metres
  double heading = 0;  // radians: direction of travel (sin h, cos h); 0 is +y
  double length = 4.5, width = 1.8, height = 1.5;
  cv::Scalar colour, colour2;
  int colour_index = 0;  // of colour in kVehicleColours
  double phase = 0;      // walking / pedalling
  cv::Point2d velocity;  // m/s on the ground
  double still_for = 0, still_left = 0;
  cv::Point3d World(double a, double b, double z) const {
    const double s = std::sin(heading), c = std::cos(heading);
    return {centre.x + a * c + b * s, centre.y - a * s + b * c, z};
  }
};

PinholeCamera RoadCamera(uint32_t seed, int width, int height) {
  PinholeCamera c;
  c.width = width;
  c.height = height;
  c.height_m = 5 + 7 * Unit(seed, 0, 0, 200);
  c.hfov_deg = 40 + 30 * Unit(seed, 0, 0, 201);
  c.x_m = 9.5 * Unit(seed, 0, 0, 202);  // from above the centre line to above the sidewalk
  // Aimed near the road's centre 60 m away, give or take 3 degrees.
  c.yaw_deg = -std::atan2(c.x_m, 60.0) * 180 / kPi + 6 * (Unit(seed, 0, 0, 203) - 0.5);
  // Pitched 8-25 degrees, but not so steeply that the road ends before ~120 m at the top.
  const double vfov_half = std::atan(std::tan(c.hfov_deg * kPi / 360) * height / width) * 180 / kPi;
  const double steepest = std::min(25.0, vfov_half + std::atan2(c.height_m, 120.0) * 180 / kPi);
  c.pitch_deg = 8 + std::max(0.0, steepest - 8) * Unit(seed, 0, 0, 204);
  return c;
}

RoadScene::RoadScene(SceneKind kind, const SceneOptions& o)
    : kind_(kind),
      options_(o),
      camera_(RoadCamera(o.camera_seed != 0 ? o.camera_seed : o.seed, o.width, o.height)) {
  night_ = kind == SceneKind::kRoadNight;
  wet_ = night_ || kind == SceneKind::kRoadRain;
  overcast_ = kind == SceneKind::kRoadRain;
  const double azimuth = 2 * kPi * Unit(o.seed, 0, 0, 210);
  const double elevation = (35 + 25 * Unit(o.seed, 0, 0, 211)) * kPi / 180;
  sun_ = {std::cos(elevation) * std::sin(azimuth), std::cos(elevation) * std::cos(azimuth),
          std::sin(elevation)};
  cv::Point2d g;
  near_y_ = camera_.PixelToGround({0.5 * o.width, o.height - 1.0}, &g) ? g.y : 10;
  count_y_ = near_y_ + 8;
  stop_y_ = count_y_ + 6;
  junction_y_ = count_y_ + 45;
  BuildLanes();
  BuildBackground();
}

RoadScene::~RoadScene() = default;

void RoadScene::BuildLanes() {
  const uint32_t seed = options_.seed;
  double density = options_.density;
  if (kind_ == SceneKind::kRoadNight) density *= 0.6;
  if (kind_ == SceneKind::kRoadRain) density *= 0.8;
  if (density <= 0) density = 1e-6;  // no slot is ever reached
  const bool dense = kind_ == SceneKind::kRoadDense;
  const bool junction = kind_ == SceneKind::kRoadIntersection;
  auto add = [&](Lane l, int index) {
    const double u = Unit(seed, index, -1, 1);
    double target = 0;
    switch (l.kind) {
      case Lane::kVehicle:
        l.speed = (dense || junction ? 30 + 15 * u : 40 + 20 * u) / 3.6;
        target = (dense ? 1.6 + 1.0 * Unit(seed, index, -1, 2) : 3 + 3 * Unit(seed, index, -1, 2));
        break;
      case Lane::kBike:
        l.speed = (14 + 8 * u) / 3.6;
        target = 8 + 8 * Unit(seed, index, -1, 2);
        l.to = std::min(l.to, 250.0);
        break;
      case Lane::kWalk:
        l.speed = 1.1 + 0.5 * u;
        target = 6 + 6 * Unit(seed, index, -1, 2);
        l.to = std::min(l.to, 160.0);
        break;
    }
    const double min_headway = (kMaxLength + 4) / ((1 - kMaxJitter) * l.speed);
    l.headway = std::max(min_headway, target / density);
    lanes_.push_back(l);
  };
  // 0-1: inbound (outer, inner); 2-3: outbound (inner, outer); 4-5 bike lanes; 6-9 sidewalks.
  for (int i = 0; i < 4; ++i) {
    Lane l;
    l.at = (i - 1.5) * kLaneWidth;
    l.dir = i < 2 ? -1 : 1;
    l.to += options_.road_extra_m;  // a multi-camera set: the road past every camera
    if (dense && l.dir < 0) {
      l.signalled = true;
      l.stop_at = stop_y_;
      l.max_queue = 9;
    }
    if (junction) {
      l.signalled = true;
      l.stop_at = l.dir < 0 ? junction_y_ + 9.5 : junction_y_ - 9.5;
      l.max_queue = l.dir < 0 ? 6 : 4;
      if (l.dir > 0) l.max_queue_m = std::max(8.0, junction_y_ - 9.5 - count_y_ - 4);
    }
    l.scripted = i == 3 && (kind_ == SceneKind::kRoadParking || kind_ == SceneKind::kRoadWrongWay);
    add(l, i);
  }
  for (int side : {-1, 1}) {
    Lane b;
    b.kind = Lane::kBike;
    b.at = side * (kRoadHalf + 0.75);
    b.dir = side;
    if (junction) {
      b.signalled = true;
      b.stop_at = side < 0 ? junction_y_ + 9.5 : junction_y_ - 9.5;
      b.max_queue = 3;
    }
    add(b, side < 0 ? 4 : 5);
  }
  for (int i = 0; i < 4; ++i) {
    Lane w;
    w.kind = Lane::kWalk;
    const int side = i < 2 ? -1 : 1;
    w.at = side * (kBikeOuter + (i % 2 ? 2.1 : 0.9));
    w.dir = i % 2 ? -1 : 1;
    if (junction) {
      w.signalled = true;
      w.stop_at = w.dir < 0 ? junction_y_ + 8.5 : junction_y_ - 8.5;
      w.max_queue = 3;
    }
    add(w, 6 + i);
  }
  if (junction) {
    for (int i = 0; i < 4; ++i) {
      Lane c;
      c.crossing = true;
      c.dir = i < 2 ? 1 : -1;  // +x lanes on the near side (drive on the right)
      c.at = junction_y_ + (i - 1.5) * kLaneWidth;
      c.from = -110;
      c.to = 110;
      c.signalled = true;
      c.stop_at = c.dir > 0 ? -kBikeOuter - 1.5 : kBikeOuter + 1.5;
      c.red_offset = kRed;  // red while the main road has green
      c.max_queue = 5;
      add(c, 10 + i);
    }
  }
}

RoadScene::Actor RoadScene::MakeActor(const Lane& lane, int index, int64_t key, double along,
                                      double speed) const {
  const uint32_t seed = options_.seed;
  Actor a;
  const double c = Unit(seed, index, key, 12), u = Unit(seed, index, key, 14);
  const int colour = static_cast<int>(Unit(seed, index, key, 13) * 1e6);
  a.colour_index = colour % static_cast<int>(std::size(kVehicleColours));
  a.colour = kVehicleColours[a.colour_index];
  a.colour2 = kClothes[(colour / 7) % std::size(kClothes)];
  switch (lane.kind) {
    case Lane::kVehicle:
      a.cls = c < 0.70   ? Cls::kCar
              : c < 0.78 ? Cls::kMotorcycle
              : c < 0.89 ? Cls::kTruck
                         : Cls::kBus;
      break;
    case Lane::kBike:
      a.cls = Cls::kBicycle;
      break;
    case Lane::kWalk:
      a.cls = Cls::kPerson;
      break;
  }
  switch (a.cls) {
    case Cls::kCar:
      a.length = 4.2 + 0.7 * u, a.width = 1.75 + 0.15 * u, a.height = 1.42 + 0.2 * u;
      break;
    case Cls::kBus:
      a.length = 11.5 + u, a.width = 2.55, a.height = 3.1 + 0.2 * u;
      break;
    case Cls::kTruck:
      a.length = 8 + 2.5 * u, a.width = 2.5, a.height = 3.4 + 0.4 * u;
      a.colour2 = Mix(cv::Scalar(225, 228, 230), a.colour, 0.3 * u);  // cargo box
      break;
    case Cls::kMotorcycle:
      a.length = 2.1, a.width = 0.8, a.height = 1.75;
      break;
    case Cls::kBicycle:
      a.length = 1.75, a.width = 0.6, a.height = 1.75;
      break;
    case Cls::kPerson:
      a.length = 0.35, a.width = 0.5, a.height = 1.6 + 0.3 * u;
      break;
  }
  const double centre = along - lane.dir * a.length / 2;
  a.heading = lane.crossing ? (lane.dir > 0 ? kPi / 2 : -kPi / 2) : (lane.dir > 0 ? 0 : kPi);
  a.centre = lane.crossing ? cv::Point2d(centre, lane.at) : cv::Point2d(lane.at, centre);
  a.velocity = lane.crossing ? cv::Point2d(lane.dir * speed, 0) : cv::Point2d(0, lane.dir * speed);
  a.id = ((key + (int64_t{1} << 30)) << 6) + index;
  return a;
}

void RoadScene::PlaceFree(const Lane& l, int index, double t, std::vector<Actor>* out) const {
  const double span = l.to - l.from + kMaxLength;
  const int64_t k_lo = static_cast<int64_t>(std::floor((t - span / l.speed) / l.headway)) - 1;
  const int64_t k_hi = static_cast<int64_t>(std::floor(t / l.headway));
  for (int64_t k = k_lo; k <= k_hi; ++k) {
    if (Unit(options_.seed, index, k, 10) >= kOccupancy) continue;
    const double start = (k + kMaxJitter * Unit(options_.seed, index, k, 11)) * l.headway;
    const double s = l.speed * (t - start);
    if (s < 0 || s > span) continue;
    Actor a = MakeActor(l, index, k, l.dir > 0 ? l.from + s : l.to - s, l.speed);
    a.phase = (t - start) * 2 * kPi * 1.6;
    out->push_back(a);
  }
}

// Cycle c: red [c * kSignalCycle + red_offset, + kRed), then green. Objects that reach the stop
// line on red queue behind it (front to back, 2.5 m apart; 0.8 m for pedestrians), 1.5-3.5 s
// apart, and leave 1.5 s after one another from 1 s into green. On green, after the queue has
// left, free ones pass 2.5-5 s apart until 4 s (plus the time to cross) before red.
void RoadScene::PlaceSignalled(const Lane& l, int index, double t, std::vector<Actor>* out) const {
  const uint32_t seed = options_.seed;
  const double entry = l.dir > 0 ? l.from : l.to;
  const double to_stop = std::abs(l.stop_at - entry);
  const double span = l.to - l.from + kMaxLength;
  const double gap = l.kind == Lane::kWalk ? 0.8 : 2.5;
  const double cross_s = 22 / l.speed;  // to clear the junction (or the crosswalk)
  const int64_t now = static_cast<int64_t>(std::floor((t - l.red_offset) / kSignalCycle));
  for (int64_t c = now - 2; c <= now + 2; ++c) {
    const double red = c * kSignalCycle + l.red_offset, green = red + kRed;
    auto emit = [&](int64_t key, double along_s, double v, const Motion& m) {
      if (along_s < 0 || along_s > span) return;
      Actor a = MakeActor(l, index, key, l.dir > 0 ? l.from + along_s : l.to - along_s, v);
      a.phase = along_s / std::max(0.3, l.speed) * 2 * kPi * 1.6;
      a.still_for = m.still_for;
      a.still_left = m.still_left;
      out->push_back(a);
    };
    // The queue.
    double arrive = red + 2 + 2 * Unit(seed, index, c, 20);
    double front = to_stop;
    int n = 0;
    if (!l.scripted) {
      for (; n < l.max_queue && arrive <= green - 1; ++n) {
        const int64_t key = c * 64 + n;
        const double length = MakeActor(l, index, key, 0, 0).length;
        if (to_stop - front + length > l.max_queue_m && n > 0) break;
        const double go = green + 1 + 1.5 * n;
        if (go + (to_stop - front) / l.speed + cross_s > green + kRed - 2 && n > 0) break;
        const Motion m = StoppingMotion(t, front, arrive, go - arrive, l.speed);
        emit(key, m.x, m.vx, m);
        front -= length + gap;
        arrive += 1.5 + 2 * Unit(seed, index, c * 64 + n, 21);
      }
      // Free passage on green.
      double pass = green + 1.5 * n + 10 + 2 * Unit(seed, index, c, 22);
      for (int j = 0; pass <= green + kRed - 4 - cross_s; ++j) {
        Motion m;
        m.x = to_stop + l.speed * (t - pass);
        emit(c * 64 + 32 + j, m.x, l.speed, m);
        pass += 2.5 + 2.5 * Unit(seed, index, c * 64 + 32 + j, 23);
      }
    }
  }
}

// Parking (every kParkingCycle s, lane 3): car 0 stands 40 s from 10 s with its front at
// count + 20 m, car 1 stands 6 s from 62 s at count + 27 m, cars 2-5 pass from 72 s, 8 s apart.
// Wrong way (every kWrongWayCycle s): one car drives lane 3 towards the camera from 5 s, entering
// 150 m down the road.
void RoadScene::PlaceScripted(double t, std::vector<Actor>* out) const {
  const bool parking = kind_ == SceneKind::kRoadParking;
  if (!parking && kind_ != SceneKind::kRoadWrongWay) return;
  const Lane& l = lanes_[3];
  const double cycle = parking ? kParkingCycle : kWrongWayCycle;
  const int64_t now = static_cast<int64_t>(std::floor(t / cycle));
  const double v = 40 / 3.6;
  for (int64_t c = now - 1; c <= now; ++c) {
    const double t0 = c * cycle;
    for (int item = 0; item < (parking ? 6 : 1); ++item) {
      Lane lane = l;
      Motion m;
      if (!parking) {
        lane.dir = -1;
        lane.to = 150;
        m.x = v * (t - (t0 + 5));
        m.vx = v;
      } else if (item == 0) {
        m = StoppingMotion(t, count_y_ + 20 - l.from, t0 + 10, 40, v);
      } else if (item == 1) {
        m = StoppingMotion(t, count_y_ + 27 - l.from, t0 + 62, 6, v);
      } else {
        m.x = v * (t - (t0 + 72 + 8 * (item - 2) + Unit(options_.seed, c, item, 80)));
        m.vx = v;
      }
      if (m.x < 0 || m.x > lane.to - lane.from + kMaxLength) continue;
      Actor a = MakeActor(lane, 3, c * 64 + 40 + item,
                          lane.dir > 0 ? lane.from + m.x : lane.to - m.x, m.vx);
      // Always a car: the script is about cars.
      const double u = Unit(options_.seed, c, item, 81);
      a.cls = Cls::kCar;
      a.length = 4.5, a.width = 1.8, a.height = 1.5;
      a.centre.y = (lane.dir > 0 ? lane.from + m.x : lane.to - m.x) - lane.dir * a.length / 2;
      a.colour_index = static_cast<int>(u * 1e6) % static_cast<int>(std::size(kVehicleColours));
      a.colour = kVehicleColours[a.colour_index];
      a.still_for = m.still_for;
      a.still_left = m.still_left;
      a.id = ((c * 64 + 40 + item + (int64_t{1} << 30)) << 6) + 63;
      out->push_back(a);
    }
  }
}

std::vector<RoadScene::Actor> RoadScene::Place(double t) const {
  std::vector<Actor> out;
  for (size_t i = 0; i < lanes_.size(); ++i) {
    const Lane& l = lanes_[i];
    if (l.signalled) {
      PlaceSignalled(l, static_cast<int>(i), t, &out);
    } else if (!l.scripted) {
      PlaceFree(l, static_cast<int>(i), t, &out);
    }
  }
  PlaceScripted(t, &out);
  // A camera of a multi-camera set further down the road: the world moves the other way; what
  // is far behind it or beyond its view is dropped.
  if (options_.camera_along_m != 0) {
    std::vector<Actor> near;
    for (Actor& a : out) {
      a.centre.y -= options_.camera_along_m;
      if (a.centre.y > kEntryBehind - kMaxLength && a.centre.y < kFarEnd + kMaxLength) {
        near.push_back(a);
      }
    }
    out = std::move(near);
  }
  // Far to near: the painter's order.
  const cv::Point3d cam(camera_.x_m, 0, camera_.height_m);
  std::vector<std::pair<double, size_t>> order;
  for (size_t i = 0; i < out.size(); ++i) {
    const cv::Point3d c = out[i].World(0, 0, out[i].height / 2) - cam;
    order.push_back({-c.dot(c), i});
  }
  std::stable_sort(order.begin(), order.end());
  std::vector<Actor> sorted;
  for (const auto& [d, i] : order) sorted.push_back(out[i]);
  return sorted;
}

namespace {

std::vector<Part> Wheels(double half_w, double half_l, double inset_b, double radius,
                         double tyre_w) {
  std::vector<Part> w;
  for (double side : {-1.0, 1.0}) {
    for (double end : {-1.0, 1.0}) {
      const double b = end * (half_l - inset_b);
      const double a = side * (half_w - tyre_w / 2);
      w.push_back({a - tyre_w / 2, a + tyre_w / 2, b - radius, b + radius, 0, 2 * radius, kTyre});
    }
  }
  return w;
}

std::vector<Part> PartsOf(const RoadScene::Actor& a) {
  const double hw = a.width / 2, hl = a.length / 2, h = a.height;
  std::vector<Part> p;
  switch (a.cls) {
    case Cls::kCar: {
      p = Wheels(hw - 0.05, hl, 0.8, 0.31, 0.22);
      p.push_back({-hw, hw, -hl, hl, 0.28, 0.55 * h, a.colour});
      p.push_back({-hw + 0.1, hw - 0.1, -hl + 0.55, hl - 1.35, 0.55 * h, h, a.colour, true});
      break;
    }
    case Cls::kBus: {
      p = Wheels(hw - 0.05, hl, 2.2, 0.5, 0.3);
      p.push_back({-hw, hw, -hl, hl, 0.35, 1.2, a.colour});
      p.push_back({-hw, hw, -hl, hl, 1.2, h - 0.6, a.colour, true});
      p.push_back({-hw, hw, -hl, hl, h - 0.6, h, a.colour});
      break;
    }
    case Cls::kTruck: {
      p = Wheels(hw - 0.05, hl, 1.2, 0.5, 0.3);
      p.push_back({-hw, hw, hl - 2.3, hl, 0.5, 1.7, a.colour});
      p.push_back({-hw + 0.05, hw - 0.05, hl - 2.2, hl, 1.7, 2.5, a.colour, true});
      p.push_back({-hw, hw, -hl, hl - 2.5, 0.9, h, a.colour2});
      break;
    }
    case Cls::kMotorcycle:
    case Cls::kBicycle: {
      const bool motor = a.cls == Cls::kMotorcycle;
      const double r = motor ? 0.31 : 0.34, tyre = motor ? 0.14 : 0.05;
      p.push_back({-tyre / 2, tyre / 2, -hl, -hl + 2 * r, 0, 2 * r, kTyre});
      p.push_back({-tyre / 2, tyre / 2, hl - 2 * r, hl, 0, 2 * r, kTyre});
      if (motor) {
        p.push_back({-0.3, 0.3, -hl + 0.3, hl - 0.25, 0.4, 0.95, a.colour});
      } else {
        p.push_back({-0.04, 0.04, -hl + 0.35, hl - 0.35, 0.45, 0.75, a.colour});
      }
      const double seat = motor ? 0.95 : 0.9;
      const double lean = std::sin(a.phase) * 0.08;  // pedalling legs
      p.push_back({-0.17, 0.17, -0.15 + lean, 0.05 + lean, 0.35, seat, a.colour2 * 0.6});
      p.push_back({-0.22, 0.22, -0.3, 0.05, seat, seat + 0.6, a.colour2});
      p.push_back({-0.12, 0.12, -0.24, 0.0, seat + 0.6, std::min(h, seat + 0.87),
                   motor ? cv::Scalar(30, 30, 30) : kSkin});
      break;
    }
    case Cls::kPerson: {
      const double step = 0.18 * std::sin(a.phase), legs = 0.5 * h;
      p.push_back({-0.2, -0.03, -0.08 + step, 0.08 + step, 0, legs, a.colour2 * 0.55});
      p.push_back({0.03, 0.2, -0.08 - step, 0.08 - step, 0, legs, a.colour2 * 0.55});
      p.push_back({-0.23, 0.23, -0.13, 0.13, legs, 0.86 * h, a.colour2});
      p.push_back({-0.1, 0.1, -0.1, 0.1, 0.87 * h, h, kSkin});
      break;
    }
  }
  return p;
}

// A face of a part: corners (world), outward normal.
struct Face {
  std::array<cv::Point3d, 4> corners;
  cv::Point3d normal;
  bool glass = false;
};

std::vector<Face> FacesOf(const RoadScene::Actor& a, const Part& p) {
  // Corner i of the box: a1 if bit 0, b1 if bit 1, z1 if bit 2.
  std::array<cv::Point3d, 8> c;
  for (int i = 0; i < 8; ++i) {
    c[i] = a.World(i & 1 ? p.a1 : p.a0, i & 2 ? p.b1 : p.b0, i & 4 ? p.z1 : p.z0);
  }
  const cv::Point3d up(0, 0, 1);
  const cv::Point3d fwd = a.World(0, 1, 0) - a.World(0, 0, 0);
  const cv::Point3d right = a.World(1, 0, 0) - a.World(0, 0, 0);
  struct Side {
    int corners[4];
    cv::Point3d normal;
    bool glass;
  };
  const Side sides[] = {{{4, 5, 7, 6}, up, false},
                        {{0, 2, 6, 4}, -right, p.glass_sides},
                        {{1, 3, 7, 5}, right, p.glass_sides},
                        {{0, 1, 5, 4}, -fwd, p.glass_sides},
                        {{2, 3, 7, 6}, fwd, p.glass_sides},
                        {{0, 1, 3, 2}, -up, false}};
  std::vector<Face> f;
  for (const Side& side : sides) {
    f.push_back({{c[side.corners[0]], c[side.corners[1]], c[side.corners[2]], c[side.corners[3]]},
                 side.normal,
                 side.glass});
  }
  return f;
}

// The face's outline in pixels after clipping at the near plane; empty if nothing is in front.
std::vector<cv::Point2d> Outline(const PinholeCamera& cam, const std::array<cv::Point3d, 4>& c) {
  std::vector<cv::Point3d> in;
  for (const cv::Point3d& p : c) in.push_back(cam.ToCamera(p));
  std::vector<cv::Point2d> out;
  for (const cv::Point3d& p : ClipToNear(in, kNear)) out.push_back(cam.CameraToPixel(p));
  return out;
}

void FillPolygon(cv::Mat& img, const std::vector<cv::Point2d>& poly, const cv::Scalar& colour) {
  if (poly.size() < 3) return;
  std::vector<cv::Point> pts;
  const double lim = 1e6;  // keep the fixed-point coordinates in range
  for (const cv::Point2d& p : poly) {
    pts.emplace_back(cvRound(std::clamp(p.x, -lim, lim) * 16),
                     cvRound(std::clamp(p.y, -lim, lim) * 16));
  }
  cv::fillConvexPoly(img, pts, colour, cv::LINE_8, 4);
}

// Multiplies the pixels of img inside poly by `factor`.
void Darken(cv::Mat& img, const std::vector<cv::Point2d>& poly, double factor) {
  if (poly.size() < 3) return;
  const std::vector<cv::Point2d> clipped = ClipToRect(poly, img.cols, img.rows);
  if (clipped.size() < 3) return;
  cv::Rect2d bound = cv::boundingRect(std::vector<cv::Point2f>(clipped.begin(), clipped.end()));
  const cv::Rect roi = cv::Rect(cv::Point(cvFloor(bound.x), cvFloor(bound.y)),
                                cv::Point(cvCeil(bound.br().x) + 1, cvCeil(bound.br().y) + 1)) &
                       cv::Rect(0, 0, img.cols, img.rows);
  if (roi.area() == 0) return;
  cv::Mat mask = cv::Mat::zeros(roi.size(), CV_8U);
  std::vector<cv::Point2d> local;
  for (const cv::Point2d& p : clipped) local.push_back(p - cv::Point2d(roi.x, roi.y));
  FillPolygon(mask, local, cv::Scalar(255));
  cv::Mat part = img(roi), dark;
  part.convertTo(dark, -1, factor, 0);
  dark.copyTo(part, mask);
}

}  // namespace

RoadObject RoadScene::Truth(const Actor& a) const {
  RoadObject o;
  o.cls = ClsName(a.cls);
  if (a.cls == Cls::kCar || a.cls == Cls::kBus) o.colour = kVehicleColourNames[a.colour_index];
  o.id = a.id;
  double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
  for (const Part& p : PartsOf(a)) {
    for (const Face& f : FacesOf(a, p)) {
      for (const cv::Point2d& q : Outline(camera_, f.corners)) {
        x0 = std::min(x0, q.x), y0 = std::min(y0, q.y);
        x1 = std::max(x1, q.x), y1 = std::max(y1, q.y);
      }
    }
  }
  if (x1 > x0 && y1 > y0) o.box = cv::Rect2d(x0, y0, x1 - x0, y1 - y0);
  // The footprint's point nearest the camera's foot.
  const cv::Point2d foot(camera_.x_m, 0);
  const double s = std::sin(a.heading), c = std::cos(a.heading);
  const cv::Point2d d = foot - a.centre;
  const double along = std::clamp(d.x * s + d.y * c, -a.length / 2, a.length / 2);
  const double across = std::clamp(d.x * c - d.y * s, -a.width / 2, a.width / 2);
  o.ground = a.centre + cv::Point2d(across * c + along * s, -across * s + along * c);
  o.distance_m = cv::norm(o.ground - foot);
  const double speed = cv::norm(a.velocity);
  o.speed_kmh = speed * 3.6;
  cv::Point2d p0, p1;
  constexpr double kDt = 0.04;
  if (speed > 0 && camera_.Project({o.ground.x, o.ground.y, 0}, &p0) &&
      camera_.Project({o.ground.x + a.velocity.x * kDt, o.ground.y + a.velocity.y * kDt, 0}, &p1)) {
    o.velocity = (p1 - p0) / kDt;
  }
  o.still_for = a.still_for;
  o.still_left = a.still_left;
  return o;
}

std::vector<RoadObject> RoadScene::Objects(double t) const {
  std::vector<RoadObject> out;
  for (const Actor& a : Place(t)) {
    RoadObject o = Truth(a);
    if (o.box.area() > 0) out.push_back(o);
  }
  return out;
}

namespace {

// Lamps of one object: position (world) and whether each is a head (white) or tail (red) lamp.
struct Lamp {
  cv::Point3d at;
  bool head;
};

std::vector<Lamp> LampsOf(const RoadScene::Actor& a) {
  std::vector<Lamp> l;
  const double hw = a.width / 2, hl = a.length / 2;
  switch (a.cls) {
    case Cls::kCar:
    case Cls::kBus:
    case Cls::kTruck:
      for (double s : {-1.0, 1.0}) {
        l.push_back({a.World(s * (hw - 0.3), hl + 0.02, 0.7), true});
        l.push_back({a.World(s * (hw - 0.2), -hl - 0.02, a.cls == Cls::kCar ? 0.85 : 1.0), false});
      }
      break;
    case Cls::kMotorcycle:
    case Cls::kBicycle:
      l.push_back({a.World(0, hl + 0.02, a.cls == Cls::kMotorcycle ? 0.9 : 0.8), true});
      l.push_back({a.World(0, -hl - 0.02, 0.8), false});
      break;
    case Cls::kPerson:
      break;
  }
  return l;
}

}  // namespace

void RoadScene::Draw(double t, cv::Mat& img) const {
  const std::vector<Actor> actors = Place(t);
  const cv::Point3d cam(camera_.x_m, 0, camera_.height_m);
  const bool sunny = !night_ && !overcast_;
  // Shadows first, on the ground only: objects drawn later cover them where they should.
  if (sunny) {
    const cv::Point2d slope(sun_.x / sun_.z, sun_.y / sun_.z);
    for (const Actor& a : actors) {
      std::vector<cv::Point2f> ground;
      for (double sa : {-0.5, 0.5}) {
        for (double sb : {-0.5, 0.5}) {
          const cv::Point3d p = a.World(sa * a.width, sb * a.length, 0);
          ground.emplace_back(p.x, p.y);
          ground.emplace_back(p.x - 0.9 * a.height * slope.x, p.y - 0.9 * a.height * slope.y);
        }
      }
      std::vector<cv::Point2f> hull;
      cv::convexHull(ground, hull);
      std::vector<cv::Point3d> poly;
      for (const cv::Point2f& p : hull) poly.push_back(camera_.ToCamera({p.x, p.y, 0}));
      std::vector<cv::Point2d> px;
      for (const cv::Point3d& p : ClipToNear(poly, kNear)) px.push_back(camera_.CameraToPixel(p));
      Darken(img, px, 0.55);
    }
  }
  // Lamps (night, rain): glow, beams and wet-road reflections on a quarter-size layer that is
  // blurred and added at the end; each lamp's bright core is drawn with its object, so that
  // nearer objects hide it.
  const bool lamps = night_ || wet_;
  const double q = 0.25;
  cv::Mat glow;
  if (lamps) glow = cv::Mat::zeros(cvRound(img.rows * q), cvRound(img.cols * q), CV_8UC3);
  const double focal = camera_.FocalPx();
  const double strength = night_ ? 1.0 : 0.5;
  auto draw_lamps = [&](const Actor& a) {
    if (a.cls == Cls::kPerson) return;
    const cv::Point3d fwd = a.World(0, 1, 0) - a.World(0, 0, 0);
    if (night_ && a.cls != Cls::kBicycle) {
      // The beam on the road ahead.
      std::vector<cv::Point3d> beam;
      const double hl = a.length / 2, hw = a.width / 2;
      for (const auto& [sa, sb] : {std::pair{-hw, hl}, std::pair{hw, hl},
                                   std::pair{hw + 3, hl + 25}, std::pair{-hw - 3, hl + 25}}) {
        beam.push_back(camera_.ToCamera(a.World(sa, sb, 0)));
      }
      std::vector<cv::Point2d> px;
      for (const cv::Point3d& p : ClipToNear(beam, kNear)) {
        px.push_back(camera_.CameraToPixel(p) * q);
      }
      FillPolygon(glow, px, cv::Scalar(30, 36, 42));
    }
    for (const Lamp& l : LampsOf(a)) {
      const cv::Point3d to_cam = cam - l.at;
      if (fwd.dot(to_cam) * (l.head ? 1 : -1) <= 0) continue;  // its face looks away
      const cv::Point3d c = camera_.ToCamera(l.at);
      if (c.z <= 1) continue;
      const cv::Point2d p = camera_.CameraToPixel(c);
      const double r = std::max(1.0, focal * (l.head ? 0.11 : 0.08) / c.z);
      const cv::Scalar colour =
          (l.head ? cv::Scalar(200, 225, 240) : cv::Scalar(30, 30, 200)) * strength;
      cv::circle(glow, p * q, std::max(1, cvRound(2.5 * r * q)), colour * 0.8, cv::FILLED);
      if (wet_) {
        // The lamp's mirror image under the road, smeared towards the camera by the wet surface.
        cv::Point2d m, m2;
        if (camera_.Project({l.at.x, l.at.y, -l.at.z}, &m) &&
            camera_.Project({l.at.x, l.at.y, -3 * l.at.z}, &m2)) {
          cv::line(glow, m * q, m2 * q, colour * 0.45, std::max(1, cvRound(1.5 * r * q)));
        }
      }
      cv::circle(img, cv::Point(cvRound(p.x * 16), cvRound(p.y * 16)), cvRound(r * 16),
                 l.head ? cv::Scalar(235, 248, 255) : cv::Scalar(50, 50, 235), cv::FILLED,
                 cv::LINE_AA, 4);
    }
  };
  const double ambient = night_ ? 0.16 : overcast_ ? 0.75 : 0.55;
  const double diffuse = night_ ? 0.0 : overcast_ ? 0.15 : 0.55;
  const cv::Scalar haze = overcast_ ? cv::Scalar(175, 175, 172) : cv::Scalar(215, 205, 190);
  for (const Actor& a : actors) {
    std::vector<Part> parts = PartsOf(a);
    // Far parts of an object first, too.
    std::vector<std::pair<double, size_t>> order;
    for (size_t i = 0; i < parts.size(); ++i) {
      const Part& p = parts[i];
      const cv::Point3d c = a.World((p.a0 + p.a1) / 2, (p.b0 + p.b1) / 2, (p.z0 + p.z1) / 2) - cam;
      order.push_back({-c.dot(c), i});
    }
    std::stable_sort(order.begin(), order.end());
    const double distance = cv::norm(a.World(0, 0, 0) - cam);
    const double fog = night_ ? 0 : std::min(0.55, distance / 900);
    for (const auto& [d, i] : order) {
      const Part& p = parts[i];
      for (const Face& f : FacesOf(a, p)) {
        const cv::Point3d centre = (f.corners[0] + f.corners[2]) * 0.5;
        if (f.normal.dot(cam - centre) <= 0) continue;  // facing away
        cv::Scalar colour;
        if (f.glass) {
          colour = kGlass * (night_ ? 0.4 : 1.0) + cv::Scalar::all(night_ ? 0 : 25 * f.normal.z);
        } else {
          const double light = ambient + diffuse * std::max(0.0, f.normal.dot(sun_));
          colour = p.colour * light;
        }
        FillPolygon(img, Outline(camera_, f.corners), Mix(colour, haze, fog));
      }
    }
    if (lamps) draw_lamps(a);
  }
  if (!lamps) return;
  cv::GaussianBlur(glow, glow, cv::Size(0, 0), std::max(1.0, 0.004 * img.cols * q));
  cv::Mat full;
  cv::resize(glow, full, img.size(), 0, 0, cv::INTER_LINEAR);
  cv::add(img, full, img);
}

void RoadScene::FillGeometry(SceneGeometry* g) const {
  const double W = options_.width, H = options_.height;
  g->has_vehicles = true;
  g->has_camera = true;
  g->camera = {camera_.x_m,     camera_.height_m, camera_.pitch_deg,
               camera_.yaw_deg, camera_.hfov_deg, camera_.FocalPx()};
  // Four image points below the horizon (the pitch is at least 8 degrees, so the lower half is
  // ground) and where they are on the ground: the exact homography.
  g->image_points = {{0.2, 0.6}, {0.8, 0.6}, {0.8, 0.95}, {0.2, 0.95}};
  g->ground_points.clear();
  for (const cv::Point2d& p : g->image_points) {
    cv::Point2d ground;
    camera_.PixelToGround({p.x * W, p.y * H}, &ground);
    g->ground_points.push_back(ground);
  }
  auto normalised = [&](const std::vector<cv::Point2d>& ground_poly) {
    std::vector<cv::Point3d> c;
    for (const cv::Point2d& p : ground_poly) c.push_back(camera_.ToCamera({p.x, p.y, 0}));
    std::vector<cv::Point2d> px;
    for (const cv::Point3d& p : ClipToNear(c, kNear)) px.push_back(camera_.CameraToPixel(p));
    NormalizedPolygon out;
    for (const cv::Point2d& p : ClipToRect(px, W, H)) {
      out.emplace_back(static_cast<float>(p.x / W), static_cast<float>(p.y / H));
    }
    return out;
  };
  // The counting line, kerb to kerb, clipped to the frame.
  cv::Point2d a, b;
  camera_.Project({-kRoadHalf, count_y_, 0}, &a);
  camera_.Project({kRoadHalf, count_y_, 0}, &b);
  ClipSegment(&a, &b, W, H);
  g->lines = {{"count", {a.x / W, a.y / H}, {b.x / W, b.y / H}}};
  // Lanes from the bottom of the frame to 100 m (or the junction).
  const double lane_far = kind_ == SceneKind::kRoadIntersection ? junction_y_ - 9.5 : 100.0;
  const double lane_near = std::max(1.0, near_y_ - 2);
  g->lanes.clear();
  for (int side : {-1, 1}) {
    SceneGeometry::LaneArea l;
    l.id = side < 0 ? "inbound" : "outbound";
    const double x0 = side < 0 ? -kRoadHalf : 0, x1 = side < 0 ? 0 : kRoadHalf;
    l.ground = {{x0, lane_near}, {x1, lane_near}, {x1, lane_far}, {x0, lane_far}};
    l.polygon = normalised(l.ground);
    cv::Point2d far_px, near_px;
    const double xc = side * kLaneWidth;
    camera_.Project({xc, lane_far, 0}, &far_px);
    camera_.Project({xc, std::max(lane_near, count_y_), 0}, &near_px);
    cv::Point2d d = side < 0 ? near_px - far_px : far_px - near_px;
    d *= 1.0 / cv::norm(d);
    l.direction = d;
    g->lanes.push_back(l);
  }
  g->zones.clear();
  if (kind_ == SceneKind::kRoadParking) {
    SceneGeometry::Zone z;
    z.id = "no-parking";
    z.no_parking = true;
    z.max_stop_ms = 20000;
    z.ground = {{kLaneWidth, count_y_ + 6},
                {kRoadHalf, count_y_ + 6},
                {kRoadHalf, count_y_ + 32},
                {kLaneWidth, count_y_ + 32}};
    z.polygon = normalised(z.ground);
    g->zones.push_back(z);
  }
}

void RoadScene::BuildBackground() {
  const int W = options_.width, H = options_.height;
  const uint32_t seed = options_.seed;
  const bool junction = kind_ == SceneKind::kRoadIntersection;
  const cv::Point3d cam(camera_.x_m, 0, camera_.height_m);
  const cv::Scalar sky_low = night_      ? cv::Scalar(40, 28, 22)
                             : overcast_ ? cv::Scalar(178, 178, 175)
                                         : cv::Scalar(225, 212, 195);
  const cv::Scalar sky_high = night_      ? cv::Scalar(25, 12, 8)
                              : overcast_ ? cv::Scalar(150, 150, 148)
                                          : cv::Scalar(230, 180, 130);
  const cv::Scalar asphalt = wet_ ? cv::Scalar(62, 62, 64) : cv::Scalar(92, 94, 96);
  const cv::Scalar white(225, 228, 230), yellow(40, 190, 225);
  auto building_height = [&](int side, int64_t block) {
    return 8 + 17 * Unit(seed, side, block, 220);
  };
  auto in_gap = [&](double y) { return junction && std::abs(y - junction_y_) < 10; };
  // Street lamps (by night): every 30 m on both sides, 8 m up over the bike lanes.
  auto lamp_light = [&](double x, double y) {
    double light = 0.10;
    const int64_t k = static_cast<int64_t>(std::lround((y - 5) / 30));
    for (int64_t j = k - 1; j <= k + 1; ++j) {
      for (int side : {-1, 1}) {
        const double dx = x - side * kBikeOuter, dy = y - (5 + 30.0 * j);
        light += 0.9 / (1 + (dx * dx + dy * dy) / 40);
      }
    }
    return std::min(1.0, light);
  };
  auto ground_colour = [&](double x, double y) {
    const double ax = std::abs(x);
    const bool cross_road = junction && std::abs(y - junction_y_) <= kRoadHalf;
    cv::Scalar c;
    const double grain =
        Grain(static_cast<int64_t>(std::floor(x * 4)), static_cast<int64_t>(std::floor(y * 4)), 1);
    if (ax <= kRoadHalf || cross_road) {
      c = asphalt + cv::Scalar::all(6 * grain);
      if (cross_road && ax > kRoadHalf) {
        if (std::abs(y - junction_y_) < 0.12 && std::fmod(std::abs(x), 8.0) < 4) c = white;
      } else if (!cross_road) {
        if (ax < 0.22 && ax > 0.06) c = yellow;
        if (std::abs(ax - kLaneWidth) < 0.07 && std::fmod(y + 1000, 12.0) < 3) c = white;
        if (std::abs(ax - (kRoadHalf - 0.15)) < 0.08) c = white;
        const bool dense_stop =
            kind_ == SceneKind::kRoadDense && x < 0 && y >= stop_y_ && y < stop_y_ + 0.5;
        const bool junction_stop =
            junction && ((x < 0 && y >= junction_y_ + 9.5 && y < junction_y_ + 10) ||
                         (x > 0 && y <= junction_y_ - 9.5 && y > junction_y_ - 10));
        if (dense_stop || junction_stop) c = white;
      }
    } else if (ax <= kBikeOuter) {
      c = cv::Scalar(70, 82, 125) * (wet_ ? 0.75 : 1.0) + cv::Scalar::all(5 * grain);
    } else if (ax <= kWalkOuter) {
      c = cv::Scalar(165, 168, 170) * (wet_ ? 0.7 : 1.0) + cv::Scalar::all(4 * grain);
      if (std::fmod(y + 1000, 1.5) < 0.06 || std::abs(ax - kBikeOuter) < 0.12) {
        c = c * 0.8;
      }
    } else {
      c = cv::Scalar(50, 120, 70) * (wet_ ? 0.8 : 1.0) + cv::Scalar::all(14 * grain);
    }
    if (night_) c = c * lamp_light(x, y);
    return c;
  };
  auto building_colour = [&](int side, double y, double z) {
    const int64_t block = static_cast<int64_t>(std::floor((y + 200) / 20));
    const double g = 90 + 80 * Unit(seed, side, block, 221);
    cv::Scalar c(g - 10, g, g + 30 * Unit(seed, side, block, 222));
    const double fz = std::fmod(z, 3.0) / 3.0, fy = std::fmod(y + 1000, 2.5) / 2.5;
    const bool window = fz > 0.35 && fz < 0.8 && fy > 0.2 && fy < 0.75 && z > 2;
    if (window) {
      const bool lit =
          Unit(seed, static_cast<int64_t>(std::floor(z / 3)),
               static_cast<int64_t>(std::floor((y + 1000) / 2.5)) * 2 + (side > 0), 223) < 0.3;
      c = night_ && lit ? cv::Scalar(110, 170, 200) : cv::Scalar(70, 60, 55);
      if (night_) return c;
    }
    return night_ ? c * 0.12 : c;
  };
  auto shade = [&](const cv::Point3d& dir) {
    // Ground, a building front, or the sky.
    double best = 1e18;
    cv::Scalar c;
    if (dir.z < 0) {
      const double t = cam.z / -dir.z;
      const cv::Point3d p = cam + t * dir;
      best = t;
      c = ground_colour(p.x, p.y);
    }
    for (int side : {-1, 1}) {
      if (std::abs(dir.x) < 1e-9) continue;
      const double t = (side * kBuildingX - cam.x) / dir.x;
      if (t <= 0 || t >= best) continue;
      const cv::Point3d p = cam + t * dir;
      if (p.y < -5 || in_gap(p.y)) continue;
      const int64_t block = static_cast<int64_t>(std::floor((p.y + 200) / 20));
      if (p.z < 0 || p.z > building_height(side, block)) continue;
      best = t;
      c = building_colour(side, p.y, p.z);
    }
    if (best == 1e18) {
      const double e = std::clamp(dir.z * 4, 0.0, 1.0);
      return Mix(sky_low, sky_high, e);
    }
    const double fog = night_ ? 0 : 1 - std::exp(-best / 700);
    return Mix(c, sky_low, fog);
  };
  cv::Mat bg(H, W, CV_8UC3);
  for (int y = 0; y < H; ++y) {
    cv::Vec3b* row = bg.ptr<cv::Vec3b>(y);
    for (int x = 0; x < W; ++x) {
      cv::Scalar sum;
      for (double dy : {0.25, 0.75}) {
        for (double dx : {0.25, 0.75}) sum += shade(camera_.Ray({x + dx, y + dy}));
      }
      for (int ch = 0; ch < 3; ++ch) row[x][ch] = cv::saturate_cast<uint8_t>(sum[ch] / 4);
    }
  }
  if (night_) {
    cv::Mat glow = cv::Mat::zeros(H, W, CV_8UC3);
    std::vector<cv::Point2d> heads;
    for (int j = 0; j < 14; ++j) {
      for (int side : {-1, 1}) {
        cv::Point2d p;
        if (camera_.Project({side * kBikeOuter, 5 + 30.0 * j, 8}, &p)) heads.push_back(p);
      }
    }
    for (const cv::Point2d& p : heads) {
      cv::circle(glow, p, std::max(2, cvRound(0.006 * W)), cv::Scalar(120, 160, 190), cv::FILLED);
    }
    cv::GaussianBlur(glow, glow, cv::Size(0, 0), std::max(1.0, 0.004 * W));
    cv::add(bg, glow, bg);
    for (const cv::Point2d& p : heads) {
      cv::circle(bg, p, std::max(1, cvRound(0.002 * W)), cv::Scalar(200, 235, 250), cv::FILLED);
    }
  }
  background_ = bg;
}

}  // namespace skynet::scenegen
