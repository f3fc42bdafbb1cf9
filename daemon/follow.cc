#include "daemon/follow.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <set>

#include "pipeline/analytics/vehicle_colour.h"

namespace skynet::daemon {
namespace {

// Appearance factors. A class differs across cameras now and then (a van is a car here, a truck
// there; a car merged with its neighbour is a truck), so a different class lowers a candidate
// rather than ruling it out: less between classes of a similar size (car, truck, bus; motorcycle,
// bicycle) than between a four-wheeler and a two-wheeler or a person.
constexpr double kSameClass = 1, kSimilarClass = 0.4, kOtherClass = 0.1, kUnknownClass = 0.6;
// Colour names when a histogram is missing.
constexpr double kSameColour = 1, kOtherColour = 0.3, kUnknownColour = 0.6;
// Histogram distance d in [0, 1]: the factor exp(-(d / kColourScale)^2), at least kMinFactor.
constexpr double kColourScale = 0.35;
// Size: the ratio of the smaller to the larger length, factor exp(-((1 - r) /
// kSizeScale)^2), at least kMinSizeFactor: a record's size is the track's last estimate, which
// a vehicle leaving the view far away or through the frame's edge can get badly wrong, so size
// only nudges. Lengths outside [kMinLength, kMaxLength] metres are not compared at all. Widths are
// not compared: a box's width on the ground swings with the view (a two-wheeler's box with its
// rider and shadow, a car beside another in the next lane) more than vehicles' widths differ.
constexpr double kSizeScale = 0.5, kMinSizeFactor = 0.3;
constexpr float kMinLength = 1, kMaxLength = 20;
constexpr double kMinFactor = 0.02;
// Travel: without any knowledge of the cameras' places, every gap in the window is as plausible.
constexpr double kUnknownTravel = 0.5;
// Positions only: outside the plausible bounds.
constexpr double kImplausible = 0.02;
constexpr double kEarthRadiusM = 6371000;

std::string ClassName(v1::VehicleClass c) {
  std::string s = v1::VehicleClass_Name(c).substr(14);  // after "VEHICLE_CLASS_"
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return c == v1::VEHICLE_CLASS_UNSPECIFIED ? "unknown" : s;
}

std::string ColourName(v1::VehicleColour c) {
  std::string s = v1::VehicleColour_Name(c).substr(15);  // after "VEHICLE_COLOUR_"
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return c == v1::VEHICLE_COLOUR_UNSPECIFIED ? "unknown" : s;
}

std::string Fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Whether two classes are often mistaken for each other (similar size and shape).
bool SimilarClasses(v1::VehicleClass a, v1::VehicleClass b) {
  auto group = [](v1::VehicleClass c) {
    switch (c) {
      case v1::VEHICLE_CLASS_CAR:
      case v1::VEHICLE_CLASS_BUS:
      case v1::VEHICLE_CLASS_TRUCK:
        return 1;
      case v1::VEHICLE_CLASS_MOTORCYCLE:
      case v1::VEHICLE_CLASS_BICYCLE:
        return 2;
      default:
        return 3;
    }
  };
  return group(a) == group(b);
}

std::optional<analytics::ColourHistogram> HistogramOf(const v1::VehicleRecord& r) {
  if (r.colour_histogram_size() != analytics::kColourHistogramBins) return std::nullopt;
  analytics::ColourHistogram h{};
  for (int i = 0; i < analytics::kColourHistogramBins; ++i) h[i] = r.colour_histogram(i);
  return h;
}

// Appearance of `c` against `r`, in (0, 1], with its reasons.
double Appearance(const v1::VehicleRecord& r, const v1::VehicleRecord& c,
                  v1::FollowCandidate* out) {
  double a = 1;
  if (r.vehicle_class() == v1::VEHICLE_CLASS_UNSPECIFIED ||
      c.vehicle_class() == v1::VEHICLE_CLASS_UNSPECIFIED) {
    a *= kUnknownClass;
    out->add_reasons("class " + ClassName(c.vehicle_class()) + " (not comparable)");
  } else if (r.vehicle_class() == c.vehicle_class()) {
    a *= kSameClass;
    out->add_reasons("class " + ClassName(c.vehicle_class()) + " = " +
                     ClassName(r.vehicle_class()));
  } else {
    const bool similar = SimilarClasses(r.vehicle_class(), c.vehicle_class());
    a *= similar ? kSimilarClass : kOtherClass;
    out->add_reasons("class " + ClassName(c.vehicle_class()) + (similar ? " ~ " : " != ") +
                     ClassName(r.vehicle_class()));
  }
  const auto hr = HistogramOf(r), hc = HistogramOf(c);
  out->set_colour_distance(-1);
  if (hr && hc) {
    const double d = analytics::HistogramDistance(*hr, *hc);
    out->set_colour_distance(static_cast<float>(d));
    a *= std::max(kMinFactor, std::exp(-(d / kColourScale) * (d / kColourScale)));
    out->add_reasons("colour " + ColourName(c.colour()) + " (" + ColourName(r.colour()) +
                     "), histogram distance " + Fixed(d, 2));
  } else if (r.colour() == v1::VEHICLE_COLOUR_UNSPECIFIED ||
             c.colour() == v1::VEHICLE_COLOUR_UNSPECIFIED) {
    a *= kUnknownColour;
    out->add_reasons("colour " + ColourName(c.colour()) + " (not comparable)");
  } else {
    const bool same = r.colour() == c.colour();
    a *= same ? kSameColour : kOtherColour;
    out->add_reasons("colour " + ColourName(c.colour()) + (same ? " = " : " != ") +
                     ColourName(r.colour()));
  }
  const float lr = r.size().length_m(), lc = c.size().length_m();
  if (r.calibrated() && c.calibrated() && lr >= kMinLength && lc >= kMinLength &&
      lr <= kMaxLength && lc <= kMaxLength) {
    const double ratio = std::min(lr, lc) / std::max(lr, lc);
    a *= std::max(kMinSizeFactor,
                  std::exp(-((1 - ratio) / kSizeScale) * ((1 - ratio) / kSizeScale)));
    out->add_reasons("length " + Fixed(lc, 1) + " m (" + Fixed(lr, 1) + " m)");
  }
  return a;
}

// Plausibility of `gap_s` (> 0) for the travel between two cameras, in (0, 1], with its reason.
double TravelPlausibility(double gap_s, const CameraMap::Travel& t, const FollowOptions& o,
                          v1::FollowCandidate* out) {
  out->set_expected_s(static_cast<float>(t.seconds));
  const std::string gap = Fixed(gap_s, 1) + " s apart";
  if (t.seconds <= 0) {
    out->add_reasons(gap + ", travel time unknown (no neighbours or positions)");
    return kUnknownTravel;
  }
  const double spread = std::log(gap_s / t.seconds) / o.travel_spread;
  const double bell = std::exp(-spread * spread * std::log(2.0));  // 0.5 at one spread
  if (t.hops > 1) {
    out->add_reasons(gap + ", typical " + Fixed(t.seconds, 1) + " s (" + t.source + ", " +
                     std::to_string(t.hops - 1) + " camera" + (t.hops > 2 ? "s" : "") +
                     " in between)");
    return std::max(kMinFactor, bell * std::pow(o.missed_camera, t.hops - 1));
  }
  out->add_reasons(gap + ", typical " + Fixed(t.seconds, 1) + " s (" + t.source + ")");
  if (t.max_s <= 0) return std::max(kMinFactor, bell);
  if (gap_s < t.min_s || gap_s > t.max_s) return kImplausible;
  return 0.3 + 0.7 * bell;
}

}  // namespace

double DistanceMetres(const GeoPosition& a, const GeoPosition& b) {
  constexpr double kRad = M_PI / 180;
  const double dlat = (b.lat - a.lat) * kRad, dlon = (b.lon - a.lon) * kRad;
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(a.lat * kRad) * std::cos(b.lat * kRad) * std::sin(dlon / 2) *
                       std::sin(dlon / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(h)));
}

CameraMap CameraMap::From(const std::vector<CameraConfig>& cameras) {
  CameraMap m;
  for (const CameraConfig& c : cameras) {
    if (c.position) m.positions_[c.id] = *c.position;
    for (const analytics::CountingLine& l : c.vehicles.analytics.rules.lines) {
      // Right-hand side of a->b on screen (y down): the direction rotated by +90 degrees.
      const double dx = l.b.x - l.a.x, dy = l.b.y - l.a.y;
      m.forward_deg_[c.id][l.id] = std::atan2(dx, -dy) * 180 / M_PI;
    }
    for (const CameraNeighbour& n : c.neighbours) {
      // Given on both sides with different times: the shorter.
      for (auto [x, y] : {std::pair{&c.id, &n.camera}, std::pair{&n.camera, &c.id}}) {
        auto [it, inserted] = m.neighbours_[*x].emplace(*y, n.travel_s);
        if (!inserted) it->second = std::min(it->second, n.travel_s);
      }
    }
  }
  return m;
}

CameraMap::Travel CameraMap::Between(const std::string& a, const std::string& b) const {
  Travel t;
  // Dijkstra over the neighbour graph (a handful of cameras).
  std::map<std::string, double> best{{a, 0}};
  std::map<std::string, int> hops{{a, 0}};
  using Item = std::pair<double, std::string>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> open;
  open.push({0, a});
  while (!open.empty()) {
    auto [d, id] = open.top();
    open.pop();
    if (d > best[id]) continue;
    if (id == b) {
      t.seconds = d;
      t.source = "neighbours";
      t.hops = hops[id];
      return t;
    }
    auto it = neighbours_.find(id);
    if (it == neighbours_.end()) continue;
    for (const auto& [next, s] : it->second) {
      auto [pos, inserted] = best.emplace(next, d + s);
      if (inserted || d + s < pos->second) {
        pos->second = d + s;
        hops[next] = hops[id] + 1;
        open.push({d + s, next});
      }
    }
  }
  auto pa = positions_.find(a), pb = positions_.find(b);
  if (pa != positions_.end() && pb != positions_.end()) {
    const FollowOptions o;
    const double m = DistanceMetres(pa->second, pb->second);
    t.seconds = m * o.detour / (o.typical_kmh / 3.6);
    t.min_s = m / (o.max_speed_kmh / 3.6);
    t.max_s = m * o.detour / (o.min_speed_kmh / 3.6);
    t.source = "positions";
  }
  return t;
}

std::optional<double> CameraMap::DistanceM(const std::string& a, const std::string& b) const {
  auto pa = positions_.find(a), pb = positions_.find(b);
  if (pa == positions_.end() || pb == positions_.end()) return std::nullopt;
  return DistanceMetres(pa->second, pb->second);
}

std::optional<double> CameraMap::BearingDeg(const std::string& a, const std::string& b) const {
  auto pa = positions_.find(a), pb = positions_.find(b);
  if (pa == positions_.end() || pb == positions_.end()) return std::nullopt;
  constexpr double kRad = M_PI / 180;
  const double la = pa->second.lat * kRad, lb = pb->second.lat * kRad;
  const double dlon = (pb->second.lon - pa->second.lon) * kRad;
  const double y = std::sin(dlon) * std::cos(lb);
  const double x = std::cos(la) * std::sin(lb) - std::sin(la) * std::cos(lb) * std::cos(dlon);
  if (x == 0 && y == 0) return std::nullopt;  // the same place
  return std::fmod(std::atan2(y, x) / kRad + 360, 360);
}

std::optional<double> CameraMap::CourseDeg(const std::string& camera,
                                           const v1::VehicleRecord& record) const {
  auto p = positions_.find(camera);
  if (p == positions_.end() || !p->second.bearing_deg) return std::nullopt;
  double screen_deg = record.heading_deg();
  auto lines = forward_deg_.find(camera);
  const v1::RecordCrossing* crossing = record.crossings_size() ? &record.crossings(0) : nullptr;
  if (crossing && lines != forward_deg_.end() && lines->second.count(crossing->line_id())) {
    // A crossing's side is surer than a trajectory's ends (a box that jumps at the frame's edge).
    screen_deg = lines->second.at(crossing->line_id()) + (crossing->direction() > 0 ? 0 : 180);
  } else if ((record.calibrated() && record.speed_kmh() >= 0 && record.speed_kmh() < 5) ||
             (record.heading_deg() == 0 && record.speed_kmh() <= 0)) {
    // A track that hardly moved (slower than walking, or no trajectory: heading 0 and no speed)
    // has no direction of travel.
    return std::nullopt;
  }
  // Screen: 0 right, 90 down, -90 up; up the image is the camera's bearing.
  return std::fmod(*p->second.bearing_deg + screen_deg + 90 + 720, 360);
}

int64_t SightingTimeUs(const v1::VehicleRecord& r) {
  if (r.crossings_size() > 0) return r.crossings(0).time_us();
  return r.first_seen_us() + (r.last_seen_us() - r.first_seen_us()) / 2;
}

namespace {

// Direction of travel of one sighting against the trip's bearing: 1 heading that way, `wrong`
// heading the other way (cos of the angle below -kDirectionSlack), linear in between.
constexpr double kDirectionSlack = 0.25;

double Heading(double course_deg, double trip_deg, double wrong) {
  const double c = std::cos((course_deg - trip_deg) * M_PI / 180);
  if (c >= kDirectionSlack) return 1;
  if (c <= -kDirectionSlack) return wrong;
  return wrong + (1 - wrong) * (c + kDirectionSlack) / (2 * kDirectionSlack);
}

// Whether both sightings head the way a vehicle driving from the earlier camera to the later one
// would (the bearing between the cameras' positions), else whether they head the same way, with
// a reason; 1 when the cameras' bearings are unknown.
double Direction(const std::string& from, const v1::VehicleRecord& rf, const std::string& to,
                 const v1::VehicleRecord& rt, const CameraMap& map, const FollowOptions& o,
                 v1::FollowCandidate* out) {
  const std::optional<double> cf = map.CourseDeg(from, rf), ct = map.CourseDeg(to, rt);
  if (!cf && !ct) return 1;
  const std::optional<double> trip = map.BearingDeg(from, to);
  std::string why = "heading";
  if (cf) why += " " + Fixed(*cf, 0) + " deg on " + from;
  if (ct) why += std::string(cf ? "," : "") + " " + Fixed(*ct, 0) + " deg on " + to;
  double f = 1;
  if (trip) {
    if (cf) f *= Heading(*cf, *trip, o.wrong_direction);
    if (ct) f *= Heading(*ct, *trip, o.wrong_direction);
    why += ", " + from + " to " + to + " is " + Fixed(*trip, 0) + " deg";
  } else if (cf && ct) {
    f = Heading(*ct, *cf, o.wrong_direction);
  } else {
    return 1;
  }
  out->add_reasons(why + (f >= 1 ? "" : f <= o.wrong_direction ? " (wrong way)" : " (across)"));
  return std::max(kMinFactor * kMinFactor, f);
}

// A sighting's measured speed (km/h): at its first line crossing (mid-view, steadier), else at
// the end of its track; nullopt when uncalibrated or outside the plausible road speeds.
std::optional<double> MeasuredKmh(const v1::VehicleRecord& r, const FollowOptions& o) {
  if (!r.calibrated()) return std::nullopt;
  double kmh = r.speed_kmh();
  if (r.crossings_size() > 0 && r.crossings(0).speed_kmh() > 0) kmh = r.crossings(0).speed_kmh();
  if (kmh < o.min_speed_kmh || kmh > o.max_speed_kmh) return std::nullopt;
  return kmh;
}

// With both cameras' positions and a measured speed: the plausibility of the gap for that vehicle
// (the straight distance at the mean of the two sightings' measured speeds), in (0, 1], with its
// reason; nullopt when no speed or a position is unknown.
std::optional<double> SpeedTravel(double gap_s, const std::string& a, const v1::VehicleRecord& r,
                                  const std::string& b, const v1::VehicleRecord& c,
                                  const CameraMap& map, const FollowOptions& o,
                                  v1::FollowCandidate* out) {
  const std::optional<double> m = map.DistanceM(a, b);
  const std::optional<double> va = MeasuredKmh(r, o), vb = MeasuredKmh(c, o);
  if (!m || (!va && !vb)) return std::nullopt;
  const double kmh = va && vb ? (*va + *vb) / 2 : va ? *va : *vb;
  const double expected = *m / (kmh / 3.6);
  out->set_expected_s(static_cast<float>(expected));
  const double spread = std::log(gap_s / expected) / o.speed_spread;
  std::string speeds = (va ? Fixed(*va, 0) : std::string("?")) + " and " +
                       (vb ? Fixed(*vb, 0) : std::string("?")) + " km/h";
  out->add_reasons(Fixed(gap_s, 1) + " s apart, " + Fixed(expected, 1) + " s for " +
                   Fixed(*m, 0) + " m at " + speeds + " measured");
  return std::exp(-spread * spread * std::log(2.0));
}

// The scored pair: `c` as the later (earlier) sighting of `record`'s vehicle.
v1::FollowCandidate Score(const StoredRecord& record, const StoredRecord& c, double gap_s,
                          const CameraMap& map, const FollowOptions& options) {
  v1::FollowCandidate f;
  f.set_gap_s(static_cast<float>(gap_s));
  const double appearance = Appearance(record.record, c.record, &f);
  const CameraMap::Travel typical = map.Between(record.camera_id, c.camera_id);
  v1::FollowCandidate scratch;
  double travel = TravelPlausibility(std::abs(gap_s), typical, options, &scratch);
  const bool later = gap_s > 0;
  const StoredRecord& first = later ? record : c;
  const StoredRecord& second = later ? c : record;
  if (std::optional<double> by_speed =
          SpeedTravel(std::abs(gap_s), first.camera_id, first.record, second.camera_id,
                      second.record, map, options, &f)) {
    // Speeds are measured wrong now and then (a track's box jumps): the typical time keeps a
    // share. A camera in between that missed the vehicle still costs, as with the typical time.
    const double missed =
        typical.hops > 1 ? std::pow(options.missed_camera, typical.hops - 1) : 1;
    travel = std::max(kMinFactor, options.speed_trust * *by_speed * missed +
                                      (1 - options.speed_trust) * travel);
    for (const std::string& why : scratch.reasons()) f.add_reasons(why);
  } else {
    for (const std::string& why : scratch.reasons()) f.add_reasons(why);
    f.set_expected_s(scratch.expected_s());
  }
  const double direction =
      Direction(first.camera_id, first.record, second.camera_id, second.record, map, options, &f);
  f.set_appearance(static_cast<float>(appearance));
  f.set_travel(static_cast<float>(travel));
  f.set_score(static_cast<float>(appearance * travel * direction));
  return f;
}

std::string Name(const StoredRecord& s) {
  return s.camera_id + ":" + std::to_string(s.record.track_id());
}

}  // namespace

std::vector<v1::FollowCandidate> RankCandidates(const StoredRecord& record,
                                                const std::vector<StoredRecord>& candidates,
                                                bool later, const CameraMap& map, int limit,
                                                const FollowOptions& options) {
  std::vector<v1::FollowCandidate> out;
  std::vector<const StoredRecord*> of;  // the record of each of out
  const int64_t t0 = SightingTimeUs(record.record);
  std::set<std::string> with_lines;  // cameras with records that crossed a line
  for (const StoredRecord& c : candidates) {
    if (c.record.crossings_size() > 0) with_lines.insert(c.camera_id);
  }
  for (const StoredRecord& c : candidates) {
    if (c.camera_id == record.camera_id) continue;
    const double gap_s = (SightingTimeUs(c.record) - t0) / 1e6;
    if (later ? gap_s <= 0 : gap_s >= 0) continue;
    out.push_back(Score(record, c, gap_s, map, options));
    if (record.record.crossings_size() > 0 && c.record.crossings_size() == 0 &&
        with_lines.count(c.camera_id)) {
      out.back().add_reasons("crossed no line (others on " + c.camera_id + " did)");
      out.back().set_score(static_cast<float>(out.back().score() * options.no_crossing));
    }
    v1::SearchHit* hit = out.back().mutable_hit();
    hit->set_node_id(c.node_id);
    hit->set_camera_id(c.camera_id);
    *hit->mutable_record() = c.record;
    of.push_back(&c);
  }
  // One vehicle is one sighting per camera: a candidate that another record of the followed
  // record's camera matches clearly better (that record's vehicle, most likely) is less likely
  // this one's. Only for the strongest candidates (the rest rank low anyway).
  std::vector<size_t> order(out.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return out[x].score() > out[y].score(); });
  for (size_t k = 0; k < order.size() && k < static_cast<size_t>(options.exclusive_checked); ++k) {
    v1::FollowCandidate& f = out[order[k]];
    const StoredRecord& c = *of[order[k]];
    const int64_t tc = SightingTimeUs(c.record);
    double best = 0;
    const StoredRecord* rival = nullptr;
    for (const StoredRecord& o : candidates) {
      if (o.camera_id != record.camera_id || &o == &record ||
          o.record.track_id() == record.record.track_id()) {
        continue;
      }
      const double gap_s = (tc - SightingTimeUs(o.record)) / 1e6;
      if (later ? gap_s <= 0 : gap_s >= 0) continue;
      const double s = Score(o, c, gap_s, map, options).score();
      if (s > best) {
        best = s;
        rival = &o;
      }
    }
    if (rival && best > f.score() * options.exclusive_margin) {
      const double factor = std::max(options.exclusive_floor, f.score() / best);
      f.add_reasons("a better match of " + Name(*rival) + " (" + Fixed(best, 2) + ")");
      f.set_score(static_cast<float>(f.score() * factor));
    }
  }
  // Best first; equal scores: the nearer in time first.
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    if (x.score() != y.score()) return x.score() > y.score();
    return std::abs(x.gap_s()) < std::abs(y.gap_s());
  });
  if (static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

Result<v1::FollowResponse> Follow(RecordStore* store, const CameraMap& map,
                                  const v1::FollowRequest& request, const FollowOptions& options) {
  if (request.camera_id().empty() || request.track_id() == 0) {
    return Status::InvalidArgument("follow needs the record's camera and track id");
  }
  RecordQuery find;
  find.cameras = {request.camera_id()};
  find.track_id = request.track_id();
  find.limit = 1000;
  SKYNET_ASSIGN_OR_RETURN(std::vector<StoredRecord> same, store->Query(find));
  if (same.empty()) {
    return Status::NotFound("no record of track " + std::to_string(request.track_id()) +
                            " on camera " + request.camera_id());
  }
  // The newest (Query's order), or the one seen nearest seen_us.
  const StoredRecord* record = &same.front();
  if (request.seen_us() != 0) {
    auto distance = [&](const StoredRecord& s) -> int64_t {
      const int64_t t = request.seen_us();
      if (t < s.record.first_seen_us()) return s.record.first_seen_us() - t;
      if (t > s.record.last_seen_us()) return t - s.record.last_seen_us();
      return 0;
    };
    for (const StoredRecord& s : same) {
      if (distance(s) < distance(*record)) record = &s;
    }
  }
  const int64_t window_us = int64_t{request.window_s() == 0 ? 600 : request.window_s()} * 1000000;
  const int limit =
      request.limit() == 0 ? 10 : static_cast<int>(std::min<uint32_t>(request.limit(), 100));
  const v1::FollowDirection dir = request.direction();
  const bool later = dir != v1::FOLLOW_DIRECTION_EARLIER;
  const bool earlier =
      dir == v1::FOLLOW_DIRECTION_EARLIER || dir == v1::FOLLOW_DIRECTION_BOTH;
  // Both ways: the followed camera's other records around are the rivals that a candidate may
  // match better (RankCandidates).
  RecordQuery around;
  around.from_us = record->record.first_seen_us() - window_us;
  around.to_us = record->record.last_seen_us() + window_us;
  around.limit = 20000;
  SKYNET_ASSIGN_OR_RETURN(std::vector<StoredRecord> nearby, store->Query(around));
  v1::FollowResponse response;
  v1::SearchHit* hit = response.mutable_record();
  hit->set_node_id(record->node_id);
  hit->set_camera_id(record->camera_id);
  *hit->mutable_record() = record->record;
  if (later) {
    for (auto& c : RankCandidates(*record, nearby, true, map, limit, options)) {
      *response.add_later() = std::move(c);
    }
  }
  if (earlier) {
    for (auto& c : RankCandidates(*record, nearby, false, map, limit, options)) {
      *response.add_earlier() = std::move(c);
    }
  }
  return response;
}

}  // namespace skynet::daemon
