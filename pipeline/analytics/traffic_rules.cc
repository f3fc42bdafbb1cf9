#include "pipeline/analytics/traffic_rules.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <set>

namespace skynet::analytics {
namespace {

double Cross(cv::Point2f o, cv::Point2f a, cv::Point2f b) {
  return static_cast<double>(a.x - o.x) * (b.y - o.y) -
         static_cast<double>(a.y - o.y) * (b.x - o.x);
}

// True if segments p-q and a-b intersect. A segment that ends exactly on the line counts, one that
// starts on it does not, so a track resting on the line is not counted twice.
bool Crosses(cv::Point2f p, cv::Point2f q, cv::Point2f a, cv::Point2f b) {
  const double d1 = Cross(a, b, p), d2 = Cross(a, b, q);
  const double d3 = Cross(p, q, a), d4 = Cross(p, q, b);
  if (d1 == 0) return false;                                   // starts on the line
  if ((d1 > 0 && d2 > 0) || (d1 < 0 && d2 < 0)) return false;  // stays on one side
  return (d3 >= 0 && d4 <= 0) || (d3 <= 0 && d4 >= 0);
}

bool Inside(const std::vector<cv::Point2f>& polygon, cv::Point2f p) {
  return cv::pointPolygonTest(polygon, p, false) >= 0;
}

// A counted vehicle is followed this long after its track was last seen (Counted).
constexpr int64_t kRecountUs = 2'000'000;
// A track is the same vehicle as another when this share of its box lies inside the other's
// (predicted to this frame, grown by kRecountGrow of its size on every side): a fragment, or a
// track re-created where a lost one was.
constexpr float kRecountInside = 0.5f;
constexpr float kRecountGrow = 0.1f;
// Calibrated: a crossing of the same line in the same direction, at the same place along it
// (within kSameLaneM on the ground: vehicles side by side cross about a lane width, 3-3.75 m,
// apart; the pieces of a truck up to 2 m), sooner after a counted one than a vehicle's length
// takes at their speed, is another piece of that vehicle (a near vehicle broken into a roof and
// a bonnet, each with a track): no real vehicle follows that close. The length is the longest
// of either track's class (metres, as the pieces' anchors lie up to about a vehicle length apart
// once their height is projected on the road); the wait is at most kMaxFragmentUs (a slow
// queue: its cars follow a few metres apart, and a truck close behind a car 0.8 s or more).
constexpr float kSameLaneM = 2.0f;
// A tall vehicle's pieces cross further apart on the ground (a roof's box projects onto the road
// beyond the vehicle, and further out the further the lane is from below the camera): up to
// kPieceSpreadM when the later piece also lies in the counted vehicle's column in the picture,
// the column running across the line (it overlaps the vehicle's box along the line by
// kColumnShare of the wider box and touches it across the line, as a trailer behind a cab does).
// Vehicles side by side in two lanes stand side by side along the line, not in one column.
constexpr float kPieceSpreadM = 4.5f;
constexpr float kColumnShare = 0.7f;
constexpr float kColumnGap = 0.25f;
// `along_x`: the line runs more across the picture than down it.
bool InColumn(const cv::Rect2f& vehicle, const cv::Rect2f& piece, bool along_x) {
  // Extents along the line ([lo, hi) of each box) and across it.
  auto span = [&](const cv::Rect2f& r, bool x) {
    return x ? std::pair(r.x, r.x + r.width) : std::pair(r.y, r.y + r.height);
  };
  const auto [v0, v1] = span(vehicle, along_x);
  const auto [p0, p1] = span(piece, along_x);
  const auto [w0, w1] = span(vehicle, !along_x);
  const auto [q0, q1] = span(piece, !along_x);
  const float along = std::min(v1, p1) - std::max(v0, p0);
  const float gap = std::max(w0, q0) - std::min(w1, q1);
  return along >= kColumnShare * std::max(v1 - v0, p1 - p0) &&
         gap <= kColumnGap * std::max(w1 - w0, q1 - q0);
}
constexpr int64_t kMaxFragmentUs = 800'000;
constexpr float kMinFragmentSpeedMps = 1.0f;
float FragmentSpanM(ObjectClass c) {
  switch (c) {
    case ObjectClass::kBus:
    case ObjectClass::kTruck:
      return 14.f;
    case ObjectClass::kMotorcycle:
    case ObjectClass::kBicycle:
      return 3.f;
    default:
      return 7.f;
  }
}

// A wrong-way direction is the robust velocity of this much recent measured track, at least
// kDirectionMinSpanUs of it.
constexpr int64_t kDirectionWindowUs = 1'000'000;
constexpr int64_t kDirectionMinSpanUs = 300'000;
// A wrong-way run starts again when the track's real width changes by more than this factor.
constexpr float kRunWidthChange = 1.5f;

// Vehicle rules (stopped, wrong way, speeding, statistics) skip people; unknown may be a vehicle.
bool VehicleLike(ObjectClass c) { return IsVehicle(c) || c == ObjectClass::kUnknown; }

Status CheckPolygon(const std::vector<cv::Point2f>& polygon, const std::string& where) {
  if (polygon.size() < 3) return Status::InvalidArgument(where + ": needs at least 3 points");
  for (const cv::Point2f& p : polygon) {
    if (!(p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1)) {
      return Status::InvalidArgument(where + ": points must be normalised, in [0, 1]");
    }
  }
  if (std::abs(cv::contourArea(polygon)) < 1e-6) {
    return Status::InvalidArgument(where + ": has no area");
  }
  return Status::Ok();
}

}  // namespace

struct TrafficRules::TrackState {
  cv::Point2f last_anchor;  // the latest measured anchor (or the rest point)
  bool resting = false;     // the track is stationary...
  cv::Point2f rest_anchor;  // ...and this is where it stopped
  std::vector<char> counted;      // per line
  std::vector<char> in_zone;      // per zone
  std::vector<int64_t> enter_us;  // per zone, while inside
  std::vector<char> stop_fired;   // per zone
  int lane = -1;                  // lane the anchor is in now
  std::vector<char> in_lane;      // per lane (for entries)
  int wrong_frames = 0;           // in wrong_lane
  float wrong_distance = 0;
  int wrong_lane = -1;
  std::vector<char> wrong_fired;  // per lane
  float wrong_width_m = 0;        // calibrated: the track's real width when the run began
  int with_frames = 0;            // consecutive measured frames moving with wrong_lane
  std::vector<char> drove_with;   // per lane: moved with it for wrong_way_frames in a row
  int speeding_run = 0;
  float speeding_max = 0;
  bool speeding_fired = false;
};

// A counted crossing, followed while its track is seen (and predicted on from where it was last
// seen for kRecountUs after that): a later crossing of the same line in the same direction by
// another track whose box lies mostly inside this vehicle's box is the same vehicle again (a
// fragment of it with a track of its own, or its track lost and re-created).
struct TrafficRules::Counted {
  int line = 0;
  int direction = 0;
  uint64_t track_id = 0;
  cv::Rect2f box;            // the track's box when last seen, pixels
  cv::Point2f velocity_px_s;  // its velocity then
  int64_t seen_us = 0;        // when
  // The crossing: when and where on the line (pixels), and the track's ground velocity then
  // (`calibrated`: it had one) and class.
  int64_t count_us = 0;
  cv::Point2f at;
  bool calibrated = false;
  cv::Point2f velocity_mps;
  ObjectClass object_class = ObjectClass::kUnknown;
};

// A confirmed track not seen in this frame (coasting, or ended), kept for kRecountUs: a new
// track where its vehicle would be now continues it (Continue()).
struct TrafficRules::Lost {
  uint64_t track_id = 0;
  cv::Rect2f box;  // its box at `at_us`, pixels (the tracker's prediction while coasting)
  cv::Point2f velocity_px_s;
  int64_t at_us = 0;
  cv::Point2f last_anchor;     // its last measured anchor
  std::vector<char> counted;  // per line
  bool taken = false;         // continued by a new track
};

struct TrafficRules::LaneCounters {
  int count = 0;
  double speed_sum = 0;
  int speed_samples = 0;
  double occupied_s = 0;
  int64_t last_entry_us = -1;  // across intervals, for headways
  double headway_sum = 0;
  int headways = 0;
  int queue = 0;
};

const char* RuleEventTypeName(RuleEventType type) {
  switch (type) {
    case RuleEventType::kLineCrossed:
      return "line_crossed";
    case RuleEventType::kZoneEntered:
      return "zone_entered";
    case RuleEventType::kZoneLeft:
      return "zone_left";
    case RuleEventType::kVehicleStopped:
      return "vehicle_stopped";
    case RuleEventType::kWrongWay:
      return "wrong_way";
    case RuleEventType::kSpeeding:
      return "speeding";
    case RuleEventType::kTrafficStats:
      return "traffic_stats";
  }
  return "unknown";
}

Status ValidateTrafficRulesOptions(const TrafficRulesOptions& o) {
  auto check_ids = [](const auto& items, const std::string& what) -> Status {
    std::set<std::string> seen;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string where = "rules." + what + "[" + std::to_string(i) + "].id";
      if (items[i].id.empty()) return Status::InvalidArgument(where + ": must not be empty");
      if (!seen.insert(items[i].id).second) {
        return Status::InvalidArgument(where + ": duplicate id '" + items[i].id + "'");
      }
    }
    return Status::Ok();
  };
  SKYNET_RETURN_IF_ERROR(check_ids(o.lines, "lines"));
  SKYNET_RETURN_IF_ERROR(check_ids(o.zones, "zones"));
  SKYNET_RETURN_IF_ERROR(check_ids(o.lanes, "lanes"));
  for (size_t i = 0; i < o.lines.size(); ++i) {
    const CountingLine& l = o.lines[i];
    const std::string where = "rules.lines[" + std::to_string(i) + "]";
    for (const cv::Point2f& p : {l.a, l.b}) {
      if (!(p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1)) {
        return Status::InvalidArgument(where + ": points must be normalised, in [0, 1]");
      }
    }
    if (cv::norm(l.a - l.b) < 1e-4) return Status::InvalidArgument(where + ": a and b coincide");
  }
  for (size_t i = 0; i < o.zones.size(); ++i) {
    const std::string where = "rules.zones[" + std::to_string(i) + "]";
    SKYNET_RETURN_IF_ERROR(CheckPolygon(o.zones[i].polygon, where + ".polygon"));
    if (o.zones[i].max_stop_ms < 0) {
      return Status::InvalidArgument(where + ".max_stop_ms: must be >= 0");
    }
  }
  for (size_t i = 0; i < o.lanes.size(); ++i) {
    const std::string where = "rules.lanes[" + std::to_string(i) + "]";
    SKYNET_RETURN_IF_ERROR(CheckPolygon(o.lanes[i].polygon, where + ".polygon"));
    if (o.lanes[i].speed_limit_kmh < 0) {
      return Status::InvalidArgument(where + ".speed_limit_kmh: must be >= 0");
    }
  }
  if (o.speed_limit_kmh < 0) return Status::InvalidArgument("rules.speed_limit_kmh: must be >= 0");
  if (o.speeding_frames < 1 || o.wrong_way_frames < 1) {
    return Status::InvalidArgument("rules.speeding_frames/wrong_way_frames: must be >= 1");
  }
  if (!(o.wrong_way_cos > 0 && o.wrong_way_cos < 1)) {
    return Status::InvalidArgument("rules.wrong_way_cos: must be in (0, 1)");
  }
  if (o.wrong_way_min_distance_m < 0 || o.wrong_way_min_distance < 0 || o.min_moving_speed < 0) {
    return Status::InvalidArgument("rules.wrong_way_min_distance*/min_moving_speed: must be >= 0");
  }
  if (o.stats_interval_ms < 0) {
    return Status::InvalidArgument("rules.stats_interval_ms: must be >= 0");
  }
  return Status::Ok();
}

Result<std::unique_ptr<TrafficRules>> TrafficRules::Create(const TrafficRulesOptions& options) {
  SKYNET_RETURN_IF_ERROR(ValidateTrafficRulesOptions(options));
  return std::unique_ptr<TrafficRules>(new TrafficRules(options));
}

TrafficRules::TrafficRules(const TrafficRulesOptions& options)
    : options_(options), lane_counters_(options.lanes.size()) {}
TrafficRules::~TrafficRules() = default;

void TrafficRules::Rescale(cv::Size size) {
  size_ = size;
  const cv::Point2f s(static_cast<float>(size.width), static_cast<float>(size.height));
  auto px = [&](cv::Point2f p) { return cv::Point2f(p.x * s.x, p.y * s.y); };
  lines_px_.clear();
  for (const CountingLine& l : options_.lines) lines_px_.emplace_back(px(l.a), px(l.b));
  auto polygons = [&](const auto& items, std::vector<std::vector<cv::Point2f>>& out) {
    out.clear();
    for (const auto& item : items) {
      std::vector<cv::Point2f> poly;
      for (const cv::Point2f& p : item.polygon) poly.push_back(px(p));
      out.push_back(std::move(poly));
    }
  };
  polygons(options_.zones, zones_px_);
  polygons(options_.lanes, lanes_px_);
}

std::vector<int> TrafficRules::ZonesOf(uint64_t id) const {
  std::vector<int> zones;
  const auto it = states_.find(id);
  if (it == states_.end()) return zones;
  for (size_t z = 0; z < it->second->in_zone.size(); ++z) {
    if (it->second->in_zone[z]) zones.push_back(static_cast<int>(z));
  }
  return zones;
}

int TrafficRules::LaneOf(uint64_t id) const {
  const auto it = states_.find(id);
  return it == states_.end() ? -1 : it->second->lane;
}

// What one Process() call knows about its frame, and where its events go.
struct TrafficRules::FrameInfo {
  int64_t time_us;
  double dt_s;  // since the previous frame
  cv::Size size;
  const Calibration* calibration;
  std::vector<RuleEvent>* events;
  std::vector<int> queue;      // per lane: stationary vehicles in it this frame
  std::vector<char> occupied;  // per lane: a vehicle in it this frame
};

namespace {

// An event of `type` for rule `rule` and track `t` at `at` (pixels).
RuleEvent Make(int64_t time_us, RuleEventType type, const std::string& rule, const Track& t,
               cv::Point2f at) {
  RuleEvent e;
  e.type = type;
  e.time_us = time_us;
  e.rule_id = rule;
  e.track_id = t.id;
  e.object_class = t.object_class;
  e.anchor = at;
  // -1: uncalibrated, or not measured long enough for a speed yet.
  e.speed_kmh = t.calibrated && !t.stationary ? t.speed_kmh : (t.calibrated ? 0.f : -1.f);
  return e;
}

}  // namespace

std::vector<RuleEvent> TrafficRules::Process(const std::vector<Track>& tracks,
                                             const std::vector<Track>& ended, cv::Size frame_size,
                                             const Calibration* calibration, int64_t time_us) {
  std::vector<RuleEvent> events;
  if (frame_size.width <= 0 || frame_size.height <= 0) return events;
  if (frame_size != size_) Rescale(frame_size);
  if (!started_) {
    interval_start_us_ = last_time_us_ = time_us;
    started_ = true;
  }
  if (time_us < last_time_us_) time_us = last_time_us_;  // never backwards
  const double dt_s = (time_us - last_time_us_) * 1e-6;
  last_time_us_ = time_us;

  const size_t nl = options_.lanes.size();
  FrameInfo f{time_us,
              dt_s,
              frame_size,
              calibration,
              &events,
              std::vector<int>(nl, 0),
              std::vector<char>(nl, false)};
  for (const Track& t : tracks) {
    if (!t.confirmed) continue;
    // Evidence only: a frame in which a detection was matched has a measured anchor (the
    // detection's bottom-centre); a coasting track's box is the tracker's prediction, and no
    // rule judges it. Crossings interpolate between two measured anchors. A track matched only
    // to its predicted box cut from a merged blob (a queue) still counts and keeps its zones and
    // lane there, but its direction and speed are not judged on it: a degenerate prediction
    // drifting through a queue is no driver going the wrong way.
    const bool measured = t.matched && !t.trajectory.empty();
    const bool own_measurement = measured && !t.matched_prediction;
    const cv::Point2f box_anchor =
        own_measurement ? t.trajectory.back().point : BottomCentre(t.box);
    const bool known = states_.count(t.id) != 0;
    TrackState& s = StateOf(t, box_anchor, time_us);
    if (!known && measured) ReplayTentative(t, &f, &s);
    // A stationary vehicle has not moved, whatever its box does meanwhile (a pedestrian passing
    // in front of a parked car merges with it for a moment): its rules use where it stopped.
    if (t.stationary && !s.resting) s.rest_anchor = measured ? box_anchor : s.last_anchor;
    s.resting = t.stationary;
    const cv::Point2f anchor = s.resting ? s.rest_anchor : box_anchor;
    const Lane* lane = nullptr;
    if (measured || s.resting) {
      if (measured) CheckLines(t, anchor, &f, &s);
      const cv::Point2f previous = s.last_anchor;
      s.last_anchor = anchor;
      CheckZones(t, anchor, &f, &s);
      CheckLanes(t, anchor, &f, &s);
      lane = s.lane >= 0 ? &options_.lanes[s.lane] : nullptr;
      if (own_measurement) {
        CheckWrongWay(t, previous, anchor, lane, &f, &s);
        CheckSpeeding(t, anchor, lane, &f, &s);
      }
    }
    CountLane(t, measured, &f, s);
  }
  FollowCounted(tracks, time_us);
  FollowLost(tracks, ended, time_us);
  EndTracks(ended, &f);
  CloseInterval(&f);
  return events;
}

TrafficRules::TrackState& TrafficRules::StateOf(const Track& t, cv::Point2f box_anchor,
                                                int64_t time_us) {
  auto& slot = states_[t.id];
  if (slot == nullptr) {
    slot = std::make_unique<TrackState>();
    slot->counted.assign(options_.lines.size(), false);
    slot->in_zone.assign(options_.zones.size(), false);
    slot->enter_us.assign(options_.zones.size(), 0);
    slot->stop_fired.assign(options_.zones.size(), false);
    slot->in_lane.assign(options_.lanes.size(), false);
    slot->wrong_fired.assign(options_.lanes.size(), false);
    slot->drove_with.assign(options_.lanes.size(), false);
    // Start from the oldest known point, so a line crossed while the track was tentative
    // still counts (ReplayTentative).
    slot->last_anchor = t.trajectory.empty() ? box_anchor : t.trajectory.front().point;
    Continue(t, time_us, slot.get());
  }
  return *slot;
}

void TrafficRules::ReplayTentative(const Track& t, FrameInfo* f, TrackState* s) {
  // Continued from a lost track: its crossings are judged from the lost track's last anchor.
  if (t.trajectory.size() < 3 || s->last_anchor != t.trajectory.front().point) return;
  // Step by step, as if the track had been confirmed all along: the first box of a vehicle is
  // often a part of it (its lower half hidden), whose anchor may lie on the far side of a line
  // the vehicle is about to cross; a straight step from it to now would miss the crossing.
  // A step counts only if the track is still beyond the line now: a young track's velocity is
  // too uncertain to tell the partial box's jump from a crossing.
  const cv::Point2f end = t.trajectory.back().point;
  for (size_t k = 1; k + 1 < t.trajectory.size(); ++k) {
    CheckLines(t, t.trajectory[k].point, f, s, &end);
    s->last_anchor = t.trajectory[k].point;
  }
}

namespace {

// Box `box` (seen `dt_s` ago moving at `velocity`) where it would be now, grown by kRecountGrow.
cv::Rect2f Predicted(cv::Rect2f box, cv::Point2f velocity, float dt_s) {
  box.x += velocity.x * dt_s - kRecountGrow * box.width;
  box.y += velocity.y * dt_s - kRecountGrow * box.height;
  box.width *= 1 + 2 * kRecountGrow;
  box.height *= 1 + 2 * kRecountGrow;
  return box;
}

}  // namespace

void TrafficRules::Continue(const Track& t, int64_t time_us, TrackState* s) {
  Lost* best = nullptr;
  float best_inside = 0;
  for (Lost& l : lost_) {
    if (l.taken || l.track_id == t.id) continue;
    const cv::Rect2f there =
        Predicted(l.box, l.velocity_px_s, static_cast<float>((time_us - l.at_us) * 1e-6));
    const float inside = (there & t.box).area() / std::max(1e-3f, t.box.area());
    if (inside >= kRecountInside && inside > best_inside) {
      best = &l;
      best_inside = inside;
    }
  }
  if (best == nullptr) return;
  // The lost track's vehicle: its crossings are judged from its last measured anchor on (an
  // interpolation between two measurements of one vehicle), and what it counted stays counted.
  best->taken = true;
  s->last_anchor = best->last_anchor;
  for (size_t i = 0; i < s->counted.size() && i < best->counted.size(); ++i) {
    s->counted[i] = s->counted[i] || best->counted[i];
  }
}

void TrafficRules::FollowLost(const std::vector<Track>& tracks, const std::vector<Track>& ended,
                              int64_t time_us) {
  auto record = [&](const Track& t) {
    const auto st = states_.find(t.id);
    if (st == states_.end()) return;
    auto it = std::find_if(lost_.begin(), lost_.end(),
                           [&](const Lost& l) { return l.track_id == t.id; });
    if (it == lost_.end()) it = lost_.insert(lost_.end(), Lost{});
    if (it->taken) return;
    it->track_id = t.id;
    it->box = t.box;
    it->velocity_px_s = t.velocity_px_s;
    it->at_us = time_us;
    it->last_anchor = st->second->last_anchor;
    it->counted = st->second->counted;
  };
  for (const Track& t : tracks) {
    if (!t.confirmed) continue;
    if (t.matched) {
      std::erase_if(lost_, [&](const Lost& l) { return l.track_id == t.id; });
    } else {
      record(t);
    }
  }
  for (const Track& t : ended) {
    if (t.confirmed) record(t);
  }
  std::erase_if(lost_, [&](const Lost& l) { return time_us - l.at_us > kRecountUs; });
}

void TrafficRules::CheckLines(const Track& t, cv::Point2f anchor, FrameInfo* fp, TrackState* sp,
                              const cv::Point2f* replay_end) {
  FrameInfo& f = *fp;
  TrackState& s = *sp;
  // Lines: the anchor's step since the previous frame crosses the line.
  for (size_t i = 0; i < lines_px_.size(); ++i) {
    if (s.counted[i]) continue;
    const auto& [a, b] = lines_px_[i];
    if (!Crosses(s.last_anchor, anchor, a, b)) continue;
    if (replay_end != nullptr && Cross(a, b, *replay_end) * Cross(a, b, anchor) < 0) continue;
    const cv::Point2f normal(-(b.y - a.y), b.x - a.x);  // right-hand side of a->b on screen
    const cv::Point2f step = anchor - s.last_anchor;
    const int dir = step.dot(normal) >= 0 ? 1 : -1;
    // A box that jumps back over the line while its vehicle moves the other way (a part of it
    // hidden or uncovered) has not crossed.
    const float along =
        t.velocity_px_s.dot(normal) / std::max(1e-3f, std::hypot(normal.x, normal.y));
    if (along * dir < 0 &&
        std::abs(along) >= options_.min_moving_speed * std::max(1.f, t.box.width)) {
      continue;
    }
    const LineDirection want = options_.lines[i].count;
    s.counted[i] = true;  // once per track and line, even if this direction is not reported
    // Where the step crossed the line.
    const double d1 = Cross(a, b, s.last_anchor), d2 = Cross(a, b, anchor);
    const cv::Point2f at = s.last_anchor + static_cast<float>(d1 / (d1 - d2)) * step;
    if (Recount(t, static_cast<int>(i), dir, at, f.calibration, f.time_us)) continue;
    if (want == LineDirection::kBoth || (want == LineDirection::kForward && dir > 0) ||
        (want == LineDirection::kBackward && dir < 0)) {
      RuleEvent e = Make(f.time_us, RuleEventType::kLineCrossed, options_.lines[i].id, t, anchor);
      e.direction = dir;
      f.events->push_back(std::move(e));
    }
  }
}

bool TrafficRules::Recount(const Track& t, int line, int dir, cv::Point2f at,
                           const Calibration* calibration, int64_t time_us) {
  bool again = false;
  const auto& [a, b] = lines_px_[line];
  const bool along_x = std::abs(b.x - a.x) >= std::abs(b.y - a.y);
  for (const Counted& c : counted_) {
    if (c.line != line || c.direction != dir || c.track_id == t.id) continue;
    // Where the counted vehicle is now: its box as last seen, moved on at its velocity then.
    const cv::Rect2f vehicle =
        Predicted(c.box, c.velocity_px_s, static_cast<float>((time_us - c.seen_us) * 1e-6));
    if ((vehicle & t.box).area() >= kRecountInside * t.box.area()) again = true;
    // Another piece of the counted vehicle, crossing where it crossed just after it. Either
    // track's speed will do (a piece's track may be too young for one), and either class's
    // length (the first piece of a truck is often classed a car).
    const bool t_speed = t.calibrated && t.speed_kmh >= 0;
    if (calibration != nullptr && (c.calibrated || t_speed)) {
      const float speed =
          std::max(c.calibrated ? static_cast<float>(cv::norm(c.velocity_mps)) : 0.f,
                   t_speed ? static_cast<float>(cv::norm(t.velocity_mps)) : 0.f);
      const float span = std::max(FragmentSpanM(c.object_class), FragmentSpanM(t.object_class));
      const float apart = calibration->GroundDistance(c.at, at);
      if (speed >= kMinFragmentSpeedMps &&
          time_us - c.count_us <=
              std::min<int64_t>(kMaxFragmentUs, static_cast<int64_t>(span / speed * 1e6)) &&
          (apart <= kSameLaneM || (apart <= kPieceSpreadM && InColumn(vehicle, t.box, along_x)))) {
        again = true;
      }
    }
  }
  // Recorded even when it is a recount, so that a third fragment is caught by this one too.
  counted_.push_back({line,
                      dir,
                      t.id,
                      t.box,
                      t.velocity_px_s,
                      time_us,
                      time_us,
                      at,
                      t.calibrated && t.speed_kmh >= 0,
                      t.velocity_mps,
                      t.object_class});
  return again;
}

void TrafficRules::FollowCounted(const std::vector<Track>& tracks, int64_t time_us) {
  for (Counted& c : counted_) {
    for (const Track& t : tracks) {
      if (t.id != c.track_id || !t.matched) continue;
      c.box = t.box;
      c.velocity_px_s = t.velocity_px_s;
      c.seen_us = time_us;
    }
  }
  counted_.erase(std::remove_if(counted_.begin(), counted_.end(),
                                [&](const Counted& c) { return time_us - c.seen_us > kRecountUs; }),
                 counted_.end());
}

void TrafficRules::CheckZones(const Track& t, cv::Point2f anchor, FrameInfo* fp, TrackState* sp) {
  FrameInfo& f = *fp;
  TrackState& s = *sp;
  // Zones: enter, leave, dwell; stopped vehicles in no-parking zones.
  for (size_t z = 0; z < options_.zones.size(); ++z) {
    const bool inside = Inside(zones_px_[z], anchor);
    if (inside && !s.in_zone[z]) {
      s.in_zone[z] = true;
      s.enter_us[z] = f.time_us;
      f.events->push_back(
          Make(f.time_us, RuleEventType::kZoneEntered, options_.zones[z].id, t, anchor));
    } else if (!inside && s.in_zone[z]) {
      s.in_zone[z] = false;
      RuleEvent e = Make(f.time_us, RuleEventType::kZoneLeft, options_.zones[z].id, t, anchor);
      e.dwell_s = static_cast<float>((f.time_us - s.enter_us[z]) * 1e-6);
      f.events->push_back(std::move(e));
    }
    const Zone& zone = options_.zones[z];
    if (inside && zone.no_parking && t.stationary && !s.stop_fired[z] &&
        VehicleLike(t.object_class)) {
      const int64_t since = std::max(s.enter_us[z], t.stationary_since_us);
      if (f.time_us - since >= int64_t{zone.max_stop_ms} * 1000) {
        s.stop_fired[z] = true;
        RuleEvent e = Make(f.time_us, RuleEventType::kVehicleStopped, zone.id, t, anchor);
        e.dwell_s = static_cast<float>((f.time_us - since) * 1e-6);
        e.limit = zone.max_stop_ms / 1000.f;
        f.events->push_back(std::move(e));
      }
    }
  }
}

void TrafficRules::CheckLanes(const Track& t, cv::Point2f anchor, FrameInfo* fp, TrackState* sp) {
  FrameInfo& f = *fp;
  TrackState& s = *sp;
  // Lanes: membership, entries for statistics, wrong way.
  s.lane = -1;
  for (size_t l = 0; l < options_.lanes.size(); ++l) {
    const bool inside = Inside(lanes_px_[l], anchor);
    if (inside && s.lane < 0) s.lane = static_cast<int>(l);
    if (!VehicleLike(t.object_class)) continue;
    if (inside && !s.in_lane[l]) {
      LaneCounters& c = lane_counters_[l];
      ++c.count;
      if (c.last_entry_us >= 0) {
        c.headway_sum += (f.time_us - c.last_entry_us) * 1e-6;
        ++c.headways;
      }
      c.last_entry_us = f.time_us;
    }
    s.in_lane[l] = inside;
  }
}

void TrafficRules::CountLane(const Track& t, bool measured, FrameInfo* fp, const TrackState& s) {
  // Statistics of this frame: a coasting track is still believed where it was last seen.
  if (!VehicleLike(t.object_class)) return;
  for (size_t l = 0; l < options_.lanes.size(); ++l) {
    if (!s.in_lane[l]) continue;
    fp->occupied[l] = true;
    if (t.stationary) ++fp->queue[l];
    if (measured && t.calibrated && !t.stationary && t.speed_kmh >= 0) {
      lane_counters_[l].speed_sum += t.speed_kmh;
      ++lane_counters_[l].speed_samples;
    }
  }
}

void TrafficRules::CheckWrongWay(const Track& t, cv::Point2f previous, cv::Point2f anchor,
                                 const Lane* lane, FrameInfo* fp, TrackState* sp) {
  FrameInfo& f = *fp;
  TrackState& s = *sp;
  if (lane != nullptr && VehicleLike(t.object_class) && cv::norm(lane->direction) > 0) {
    const cv::Point2f dir =
        lane->direction * (1.0f / static_cast<float>(cv::norm(lane->direction)));
    // Called for measured frames only: a coasting track's box is the tracker's extrapolation (a
    // ghost's drift, say), not evidence of anyone driving against the lane. The direction is
    // the robust velocity of the measured anchors (the filter's while there are too few).
    const cv::Point2f v =
        RobustVelocity(t.trajectory, kDirectionWindowUs, kDirectionMinSpanUs)
            .value_or(t.velocity_px_s);
    const float speed = static_cast<float>(cv::norm(v));
    const bool moving = speed >= options_.min_moving_speed * std::max(1.f, t.box.width);
    // The run counts in one lane: a box that slips into the next lane (its lower part hidden)
    // starts again there.
    if (s.lane != s.wrong_lane) {
      s.wrong_lane = s.lane;
      s.wrong_frames = 0;
      s.wrong_distance = 0;
      s.with_frames = 0;
    }
    // A track that drove with the lane for as long as a wrong-way run needs is a vehicle of this
    // lane: if it later seems to drive against it, the track has jumped onto something else (a
    // vehicle of the other direction, a blob growing towards the camera), no one turned.
    if (moving && v.dot(dir) >= options_.wrong_way_cos * speed &&
        ++s.with_frames >= options_.wrong_way_frames) {
      s.drove_with[s.lane] = true;
    }
    if (moving && v.dot(dir) <= -options_.wrong_way_cos * speed) {
      s.with_frames = 0;
      // A vehicle keeps its real width as it drives (calibrated cameras): a box whose width in
      // metres changes by more than kRunWidthChange is a blob growing or shrinking (a merge, an
      // exposure step), which starts the run again.
      const float width_m = t.calibrated ? t.size.width_m : 0.f;
      if (s.wrong_frames == 0 || width_m > kRunWidthChange * s.wrong_width_m ||
          width_m * kRunWidthChange < s.wrong_width_m) {
        s.wrong_frames = 0;
        s.wrong_distance = 0;
        s.wrong_width_m = width_m;
      }
      ++s.wrong_frames;
      // Distance along the reversed lane direction between the last two measured anchors (a
      // sum that telescopes: box jitter does not add up).
      const cv::Point2f step = anchor - previous;
      const float px = -step.dot(dir);
      const float step_px = static_cast<float>(cv::norm(step));
      s.wrong_distance += f.calibration == nullptr || step_px <= 0
                              ? px
                              : px / step_px * f.calibration->GroundDistance(previous, anchor);
    } else if (moving) {
      s.wrong_frames = 0;
      s.wrong_distance = 0;
    }
    const float need = f.calibration != nullptr ? options_.wrong_way_min_distance_m
                                                : options_.wrong_way_min_distance *
                                                      std::hypot(f.size.width, f.size.height);
    if (!s.wrong_fired[s.lane] && !s.drove_with[s.lane] &&
        s.wrong_frames >= options_.wrong_way_frames &&
        s.wrong_distance >= need) {
      s.wrong_fired[s.lane] = true;
      RuleEvent e = Make(f.time_us, RuleEventType::kWrongWay, lane->id, t, anchor);
      e.distance = s.wrong_distance;
      f.events->push_back(std::move(e));
    }
  }
}

void TrafficRules::CheckSpeeding(const Track& t, cv::Point2f anchor, const Lane* lane,
                                 FrameInfo* fp, TrackState* sp) {
  FrameInfo& f = *fp;
  TrackState& s = *sp;
  // Speeding (calibrated only): a run of frames above the lane's (or default) limit.
  const float limit = lane != nullptr && lane->speed_limit_kmh > 0 ? lane->speed_limit_kmh
                                                                   : options_.speed_limit_kmh;
  if (t.calibrated && limit > 0 && !s.speeding_fired && VehicleLike(t.object_class)) {
    if (!t.stationary && t.speed_kmh > limit) {
      ++s.speeding_run;
      s.speeding_max = std::max(s.speeding_max, t.speed_kmh);
      if (s.speeding_run >= options_.speeding_frames) {
        s.speeding_fired = true;
        RuleEvent e =
            Make(f.time_us, RuleEventType::kSpeeding, lane != nullptr ? lane->id : "", t, anchor);
        e.speed_kmh = s.speeding_max;
        e.limit = limit;
        f.events->push_back(std::move(e));
      }
    } else {
      s.speeding_run = 0;
      s.speeding_max = 0;
    }
  }
}

void TrafficRules::EndTracks(const std::vector<Track>& ended, FrameInfo* fp) {
  FrameInfo& f = *fp;
  // Ended tracks leave their zones; their state goes.
  for (const Track& t : ended) {
    const auto it = states_.find(t.id);
    if (it == states_.end()) continue;
    for (size_t z = 0; z < options_.zones.size(); ++z) {
      if (!it->second->in_zone[z]) continue;
      RuleEvent e =
          Make(f.time_us, RuleEventType::kZoneLeft, options_.zones[z].id, t, BottomCentre(t.box));
      e.dwell_s = static_cast<float>((f.time_us - it->second->enter_us[z]) * 1e-6);
      f.events->push_back(std::move(e));
    }
    states_.erase(it);
  }
}

void TrafficRules::CloseInterval(FrameInfo* fp) {
  FrameInfo& f = *fp;
  const size_t nl = options_.lanes.size();
  // Statistics: this frame's occupancy and queue, then close the interval if it is over.
  for (size_t l = 0; l < nl; ++l) {
    if (f.occupied[l]) lane_counters_[l].occupied_s += f.dt_s;
    lane_counters_[l].queue = std::max(lane_counters_[l].queue, f.queue[l]);
  }
  const int64_t interval_us = int64_t{options_.stats_interval_ms} * 1000;
  if (interval_us > 0 && nl > 0 && f.time_us - interval_start_us_ >= interval_us) {
    const int64_t end_us = interval_start_us_ + interval_us;
    for (size_t l = 0; l < nl; ++l) {
      LaneCounters& c = lane_counters_[l];
      RuleEvent e;
      e.type = RuleEventType::kTrafficStats;
      e.time_us = f.time_us;
      e.rule_id = options_.lanes[l].id;
      e.stats.interval_start_us = interval_start_us_;
      e.stats.interval_end_us = end_us;
      e.stats.count = c.count;
      e.stats.mean_speed_kmh =
          c.speed_samples > 0 ? static_cast<float>(c.speed_sum / c.speed_samples) : -1.f;
      e.stats.occupancy = static_cast<float>(std::min(1.0, c.occupied_s / (interval_us * 1e-6)));
      e.stats.mean_headway_s =
          c.headways > 0 ? static_cast<float>(c.headway_sum / c.headways) : -1.f;
      e.stats.queue_length = c.queue;
      f.events->push_back(std::move(e));
      const int64_t last_entry = c.last_entry_us;
      c = LaneCounters{};
      c.last_entry_us = last_entry;
      c.queue = f.queue[l];
    }
    // Intervals stay aligned to the first frame; a long gap skips the empty ones.
    interval_start_us_ = end_us + (f.time_us - end_us) / interval_us * interval_us;
  }
}

}  // namespace skynet::analytics
