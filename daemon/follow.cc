#include "daemon/follow.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <set>

#include "pipeline/analytics/vehicle_colour.h"

namespace skynet::daemon {
namespace {

// Appearance factors. A class differs across cameras now and then (a van is a car here, a truck
// there), so a different class lowers a candidate rather than ruling it out.
constexpr double kSameClass = 1, kOtherClass = 0.25, kUnknownClass = 0.6;
// Colour names when a histogram is missing.
constexpr double kSameColour = 1, kOtherColour = 0.3, kUnknownColour = 0.6;
// Histogram distance d in [0, 1]: the factor exp(-(d / kColourScale)^2), at least kMinFactor.
constexpr double kColourScale = 0.35;
// Size: the ratio of the smaller to the larger length (and width), factor exp(-((1 - r) /
// kSizeScale)^2), at least kMinSizeFactor: a record's size is the track's last estimate, which
// a vehicle leaving the view far away or through the frame's edge can get badly wrong, so size
// only nudges. Lengths outside [kMinLength, kMaxLength] metres are not compared at all.
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
    a *= kOtherClass;
    out->add_reasons("class " + ClassName(c.vehicle_class()) + " != " +
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
    double ratio = std::min(lr, lc) / std::max(lr, lc);
    const float wr = r.size().width_m(), wc = c.size().width_m();
    if (wr > 0 && wc > 0) ratio = std::min(ratio, double{std::min(wr, wc) / std::max(wr, wc)});
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

int64_t SightingTimeUs(const v1::VehicleRecord& r) {
  if (r.crossings_size() > 0) return r.crossings(0).time_us();
  return r.first_seen_us() + (r.last_seen_us() - r.first_seen_us()) / 2;
}

std::vector<v1::FollowCandidate> RankCandidates(const StoredRecord& record,
                                                const std::vector<StoredRecord>& candidates,
                                                bool later, const CameraMap& map, int limit,
                                                const FollowOptions& options) {
  std::vector<v1::FollowCandidate> out;
  const int64_t t0 = SightingTimeUs(record.record);
  for (const StoredRecord& c : candidates) {
    if (c.camera_id == record.camera_id) continue;
    const double gap_s = (SightingTimeUs(c.record) - t0) / 1e6;
    if (later ? gap_s <= 0 : gap_s >= 0) continue;
    v1::FollowCandidate f;
    f.set_gap_s(static_cast<float>(gap_s));
    const double appearance = Appearance(record.record, c.record, &f);
    const double travel = TravelPlausibility(std::abs(gap_s),
                                             map.Between(record.camera_id, c.camera_id),
                                             options, &f);
    f.set_appearance(static_cast<float>(appearance));
    f.set_travel(static_cast<float>(travel));
    f.set_score(static_cast<float>(appearance * travel));
    v1::SearchHit* hit = f.mutable_hit();
    hit->set_node_id(c.node_id);
    hit->set_camera_id(c.camera_id);
    *hit->mutable_record() = c.record;
    out.push_back(std::move(f));
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
  RecordQuery around;
  around.from_us = record->record.first_seen_us() - (earlier ? window_us : 0);
  around.to_us = record->record.last_seen_us() + (later ? window_us : 0);
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
