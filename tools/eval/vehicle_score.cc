#include "tools/eval/vehicle_score.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <set>

#include "pipeline/analytics/hungarian.h"
#include "tools/eval/json_fields.h"

namespace skynet::eval {
namespace {

using nlohmann::json;

double Num(const json& j, const char* key, double fallback) {
  return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : fallback;
}

bool IsVehicleClass(const std::string& c) {
  return c == "car" || c == "bus" || c == "truck" || c == "motorcycle" || c == "bicycle";
}

// An investigator's class groups: two-wheeler, car, large (bus or truck), person.
std::string ClassGroup(const std::string& c) {
  if (c == "bicycle" || c == "motorcycle") return "two-wheeler";
  if (c == "bus" || c == "truck") return "large";
  return c;
}

// "VEHICLE_COLOUR_DARK_RED" -> "dark_red"; "VEHICLE_COLOUR_UNSPECIFIED" (or none) -> "unknown".
std::string ColourName(const std::string& proto_name) {
  const std::string prefix = "VEHICLE_COLOUR_";
  std::string c = proto_name.rfind(prefix, 0) == 0 ? proto_name.substr(prefix.size()) : "";
  if (c.empty() || c == "UNSPECIFIED") return "unknown";
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return c;
}

int BandOf(double distance_m) {
  for (int b = 0; b < kBandCount; ++b) {
    if (distance_m < kDistanceBands[b + 1]) return b;
  }
  return kBandCount - 1;
}

cv::Rect2d BoxOf(const json& b) {
  return {b.at(0).get<double>(), b.at(1).get<double>(), b.at(2).get<double>(),
          b.at(3).get<double>()};
}

double Iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

// One JSON object per line; `each` sees every parsed line. Names the file and line on errors.
template <typename F>
Status ForEachLine(const std::string& path, F each) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot read");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      each(json::parse(line));
    } catch (const std::exception& e) {
      return Status::InvalidArgument(path + ":" + std::to_string(n) + ": " + e.what());
    }
  }
  return Status::Ok();
}

// Greedy one-to-one matching of events to expectations by smallest time difference; `fits`
// says whether a pair may match and returns |dt|, or a negative value when it may not.
template <typename T, typename Fits>
std::vector<int> MatchByTime(const std::vector<PredictedEvent>& events, const std::vector<T>& want,
                             Fits fits) {
  struct Pair {
    double dt;
    int e, w;
  };
  std::vector<Pair> pairs;
  for (int e = 0; e < static_cast<int>(events.size()); ++e) {
    for (int w = 0; w < static_cast<int>(want.size()); ++w) {
      const double dt = fits(events[e], want[w]);
      if (dt >= 0) pairs.push_back({dt, e, w});
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    return a.dt != b.dt ? a.dt < b.dt : (a.e != b.e ? a.e < b.e : a.w < b.w);
  });
  std::vector<int> event_to_want(events.size(), -1);
  std::vector<bool> used(want.size(), false);
  for (const Pair& p : pairs) {
    if (event_to_want[p.e] >= 0 || used[p.w]) continue;
    event_to_want[p.e] = p.w;
    used[p.w] = true;
  }
  return event_to_want;
}

// Alarms (stops, wrong way) against expected intervals: caught, duplicates, false alarms.
void ScoreAlarms(const std::vector<PredictedEvent>& events, const std::vector<TruthInterval>& want,
                 int* caught, int* duplicates, int* false_alarms) {
  auto within = [](const PredictedEvent& e, const TruthInterval& w) {
    return e.where == w.where && e.t >= w.begin && e.t <= w.end;
  };
  const std::vector<int> m =
      MatchByTime(events, want, [&](const PredictedEvent& e, const TruthInterval& w) {
        return within(e, w) ? std::abs(e.t - w.begin) : -1.0;
      });
  *caught = *duplicates = *false_alarms = 0;
  for (size_t e = 0; e < events.size(); ++e) {
    if (m[e] >= 0) {
      ++*caught;
      continue;
    }
    const bool inside_one = std::any_of(
        want.begin(), want.end(), [&](const TruthInterval& w) { return within(events[e], w); });
    ++*(inside_one ? duplicates : false_alarms);
  }
}

// Whether `box` (truth frame pixels) stands where the road is not scored: its bottom centre
// beyond max_distance_m from the camera or above the horizon.
bool NotAnalysed(const VehicleTruth& truth, const cv::Rect2d& box,
                 const VehicleScoreOptions& options) {
  if (!truth.image_to_ground) return false;
  const cv::Matx33d& h = *truth.image_to_ground;
  const cv::Vec3d g = h * cv::Vec3d(box.x + box.width / 2, box.br().y, 1);
  // The frame's bottom centre is on the ground: a point of the other sign is above the horizon.
  const cv::Vec3d bottom = h * cv::Vec3d(truth.width / 2.0, truth.height, 1);
  if (!(g[2] * bottom[2] > 0)) return true;
  return cv::norm(cv::Point2d(g[0] / g[2], g[1] / g[2]) - truth.camera_foot) >
         options.max_distance_m;
}

// The reporting track's box in the analysed frame nearest the event (within half a second), in
// truth pixels, and that frame's time.
std::optional<cv::Rect2d> ReportingBox(const VehicleTruth& truth,
                                       const std::vector<PredictedFrame>& tracks,
                                       const PredictedEvent& e, double* frame_t) {
  const PredictedFrame* best = nullptr;
  const PredictedTrack* box = nullptr;
  for (const PredictedFrame& f : tracks) {
    if (std::abs(f.t - e.t) > 0.5 || (best && std::abs(f.t - e.t) >= std::abs(best->t - e.t))) {
      continue;
    }
    for (const PredictedTrack& p : f.tracks) {
      if (p.id == e.track_id) best = &f, box = &p;
    }
  }
  if (!box) return std::nullopt;
  *frame_t = best->t;
  const double sx = best->width > 0 ? static_cast<double>(truth.width) / best->width : 1;
  const double sy = best->height > 0 ? static_cast<double>(truth.height) / best->height : 1;
  return cv::Rect2d(box->box.x * sx, box->box.y * sy, box->box.width * sx, box->box.height * sy);
}

// The true vehicles a reported crossing's track is on, or nothing when its box or the truth
// frame is unknown. A track is on a vehicle when their boxes share half of the smaller (a piece
// of the vehicle, or a box over it and a neighbour, as a merged box counts one of the two).
std::optional<std::vector<int64_t>> VehiclesUnder(const VehicleTruth& truth,
                                                  const std::vector<PredictedFrame>& tracks,
                                                  const PredictedEvent& e) {
  double frame_t = e.t;
  const std::optional<cv::Rect2d> box = ReportingBox(truth, tracks, e, &frame_t);
  const auto fi = static_cast<size_t>(std::llround(frame_t * truth.fps));
  if (!box || box->area() <= 0 || fi >= truth.frames.size()) return std::nullopt;
  std::vector<int64_t> ids;
  for (const TruthObject& o : truth.frames[fi]) {
    if (IsVehicleClass(o.cls) &&
        (o.box & *box).area() >= 0.5 * std::min(o.box.area(), box->area())) {
      ids.push_back(o.id);
    }
  }
  return ids;
}

bool Holds(const std::vector<int64_t>& ids, int64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Reported crossings the one-to-one matching left over that count a matched vehicle again (see
// the header). `match` maps reported to want (-1: unmatched).
int CountDoubles(const VehicleTruth& truth, const std::vector<PredictedFrame>& tracks,
                 const std::vector<PredictedEvent>& reported,
                 const std::vector<TruthCrossing>& want, const std::vector<int>& match,
                 const VehicleScoreOptions& options) {
  std::vector<bool> matched(want.size(), false);
  for (int w : match) {
    if (w >= 0) matched[w] = true;
  }
  int doubles = 0;
  for (size_t e = 0; e < reported.size(); ++e) {
    if (match[e] >= 0) continue;
    const PredictedEvent& ev = reported[e];
    // Its track is on that vehicle (time alone when its box is unknown).
    const std::optional<std::vector<int64_t>> under = VehiclesUnder(truth, tracks, ev);
    for (size_t w = 0; w < want.size(); ++w) {
      const TruthCrossing& c = want[w];
      if (!matched[w] || c.line != ev.where || c.direction != ev.direction ||
          std::abs(c.t - ev.t) > options.crossing_tolerance_s) {
        continue;
      }
      if (!under || Holds(*under, c.id)) {
        ++doubles;
        if (options.verbose) {
          const auto first = std::find(match.begin(), match.end(), static_cast<int>(w));
          std::cerr << "double: track " << ev.track_id << " at " << ev.t << " s on " << ev.where
                    << " counts vehicle " << c.id << " again (counted by track "
                    << reported[first - match.begin()].track_id << " at "
                    << reported[first - match.begin()].t << " s)\n";
        }
        break;
      }
    }
  }
  return doubles;
}

}  // namespace

double VehicleScore::BandRecall(int first, int last) const {
  int64_t boxes = 0, hits = 0;
  for (int b = first; b < last; ++b) boxes += band_boxes[b], hits += band_hits[b];
  return boxes > 0 ? static_cast<double>(hits) / boxes : 1.0;
}

Result<VehicleTruth> LoadVehicleTruth(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot read");
  try {
    json j;
    in >> j;
    VehicleTruth t;
    t.fps = j.at("fps").get<double>();
    if (t.fps <= 0) return Status::InvalidArgument(path + ": fps must be > 0");
    t.width = j.at("width").get<int>();
    t.height = j.at("height").get<int>();
    for (const json& f : j.at("frames")) {
      const int64_t i = f.at("i").get<int64_t>();
      if (i < 0) return Status::InvalidArgument(path + ": negative frame index");
      if (static_cast<size_t>(i) >= t.frames.size()) t.frames.resize(i + 1);
      for (const json& o : f.at("objects")) {
        TruthObject obj;
        obj.id = o.at("id").get<int64_t>();
        obj.cls = o.at("class").get<std::string>();
        obj.box = BoxOf(o.at("box"));
        obj.visible = Num(o, "visible", 1.0);
        obj.speed_kmh = Num(o, "speed_kmh", -1.0);
        obj.distance_m = Num(o, "distance_m", -1.0);
        obj.colour = o.value("colour", "");
        t.frames[i].push_back(std::move(obj));
      }
    }
    if (j.contains("calibration") && j.contains("camera")) {
      const json& c = j.at("calibration");
      std::vector<cv::Point2f> image, ground;
      for (const json& p : c.at("image_points")) {
        image.emplace_back(p.at(0).get<float>() * t.width, p.at(1).get<float>() * t.height);
      }
      for (const json& p : c.at("ground_points")) {
        ground.emplace_back(p.at(0).get<float>(), p.at(1).get<float>());
      }
      if (image.size() != 4 || ground.size() != 4) {
        return Status::InvalidArgument(path + ": calibration needs 4 image and 4 ground points");
      }
      t.image_to_ground = cv::Matx33d(cv::getPerspectiveTransform(image, ground));
      t.camera_foot = {j.at("camera").at("x_m").get<double>(), 0};
    }
    t.duration = j.contains("duration") ? j.at("duration").get<double>()
                                        : static_cast<double>(t.frames.size()) / t.fps;
    std::map<int64_t, std::string> classes;
    for (const auto& frame : t.frames) {
      for (const TruthObject& o : frame) classes[o.id] = o.cls;
    }
    for (const json& c : j.value("crossings", json::array())) {
      const std::string cls = c.contains("class") ? c.at("class").get<std::string>()
                                                  : classes[c.at("id").get<int64_t>()];
      if (!IsVehicleClass(cls)) continue;
      t.crossings.push_back({c.at("line").get<std::string>(), c.at("id").get<int64_t>(),
                             c.at("t").get<double>(), c.at("direction").get<int>()});
    }
    for (const json& z : j.value("zones", json::array())) {
      if (z.value("no_parking", false)) {
        t.zone_max_stop_s[z.at("id").get<std::string>()] = z.value("max_stop_ms", 60000) / 1000.0;
      }
    }
    for (const json& s : j.value("stops", json::array())) {
      t.stops.push_back({s.at("id").get<int64_t>(), s.at("zone").get<std::string>(),
                         s.at("begin").get<double>(), s.at("end").get<double>()});
    }
    for (const json& w : j.value("wrong_way", json::array())) {
      t.wrong_way.push_back({w.at("id").get<int64_t>(), w.at("lane").get<std::string>(),
                             w.at("begin").get<double>(), w.at("end").get<double>()});
    }
    return t;
  } catch (const json::exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
}

Result<std::vector<PredictedFrame>> LoadPredictedTracks(const std::string& path) {
  std::vector<PredictedFrame> frames;
  Status s = ForEachLine(path, [&](const json& j) {
    PredictedFrame f;
    f.t = j.at("t").get<double>();
    f.width = j.at("width").get<int>();
    f.height = j.at("height").get<int>();
    for (const json& o : j.at("tracks")) {
      PredictedTrack p;
      p.id = o.at("id").get<uint64_t>();
      p.cls = o.at("class").get<std::string>();
      p.box = BoxOf(o.at("box"));
      p.confirmed = o.value("confirmed", true);
      p.matched = o.value("matched", true);
      f.tracks.push_back(std::move(p));
    }
    frames.push_back(std::move(f));
  });
  if (!s.ok()) return s;
  return frames;
}

Result<VehicleEvents> LoadVehicleEvents(const std::string& path) {
  VehicleEvents ev;
  Status s = ForEachLine(path, [&](const json& j) {
    const double t = JsonInt(j, "streamTimeUs") / 1e6;
    if (j.contains("lineCrossed")) {
      const json& c = j.at("lineCrossed");
      ev.crossings.push_back({t, c.value("lineId", ""),
                              static_cast<uint64_t>(JsonInt(c, "trackId")), c.value("direction", 0),
                              Num(c, "speedKmh", 0.0)});
    } else if (j.contains("vehicleStopped")) {
      const json& c = j.at("vehicleStopped");
      ev.stops.push_back({t, c.value("zoneId", ""), static_cast<uint64_t>(JsonInt(c, "trackId"))});
    } else if (j.contains("vehicleNew") || j.contains("vehicleUpdated") ||
               j.contains("vehicleEnded")) {
      const json& e = j.contains("vehicleNew")       ? j.at("vehicleNew")
                      : j.contains("vehicleUpdated") ? j.at("vehicleUpdated")
                                                     : j.at("vehicleEnded");
      const json& track = e.value("track", json::object());
      ev.track_colours[static_cast<uint64_t>(JsonInt(track, "trackId"))] =
          ColourName(track.value("colour", ""));
    } else if (j.contains("wrongWay")) {
      const json& c = j.at("wrongWay");
      ev.wrong_way.push_back(
          {t, c.value("laneId", ""), static_cast<uint64_t>(JsonInt(c, "trackId"))});
    }
  });
  if (!s.ok()) return s;
  return ev;
}

VehicleScore ScoreVehicles(const VehicleTruth& truth, const std::vector<PredictedFrame>& tracks,
                           const VehicleEvents& events, const VehicleScoreOptions& options) {
  VehicleScore s;
  auto ratio = [](double num, double den) { return den > 0 ? num / den : 1.0; };

  // Counting lines: only what could be seen, between the warm-up and the last analysed frame.
  double last_t = truth.duration;
  if (!tracks.empty()) {
    last_t = 0;
    for (const PredictedFrame& f : tracks) last_t = std::max(last_t, f.t);
  }
  std::vector<TruthCrossing> want;
  for (const TruthCrossing& c : truth.crossings) {
    if (c.t >= options.warmup_s && c.t <= last_t) want.push_back(c);
  }
  std::vector<PredictedEvent> reported;
  for (const PredictedEvent& e : events.crossings) {
    if (e.t >= options.warmup_s) reported.push_back(e);
  }
  // By place: not a crossing of vehicle `id` when its track is on other vehicles and not on that
  // one. A track on no vehicle (a headlight beam ahead of a car at night), or with no box known,
  // is left to time, line and direction.
  std::vector<std::optional<std::vector<int64_t>>> under;
  for (const PredictedEvent& e : reported) under.push_back(VehiclesUnder(truth, tracks, e));
  auto MayBeOf = [&](const PredictedEvent& e, int64_t id) {
    const auto& u = under[&e - reported.data()];  // MatchByTime passes reported's own elements
    return !u || u->empty() || Holds(*u, id);
  };
  const std::vector<int> m =
      MatchByTime(reported, want, [&](const PredictedEvent& e, const TruthCrossing& w) {
        const double dt = std::abs(e.t - w.t);
        return e.where == w.line && e.direction == w.direction &&
                       dt <= options.crossing_tolerance_s &&
                       (!options.crossing_on_vehicle || MayBeOf(e, w.id))
                   ? dt
                   : -1.0;
      });
  s.truth_crossings = static_cast<int>(want.size());
  s.reported_crossings = static_cast<int>(reported.size());
  s.double_counts = CountDoubles(truth, tracks, reported, want, m, options);
  s.double_count_share =
      s.truth_crossings > 0 ? static_cast<double>(s.double_counts) / s.truth_crossings : 0.0;
  std::vector<double> speed_errors;
  for (size_t e = 0; e < m.size(); ++e) {
    if (m[e] < 0) continue;
    ++s.matched_crossings;
    // The truth's speed at the crossing: the object's in the frame nearest to it.
    const TruthCrossing& w = want[m[e]];
    const auto fi = static_cast<size_t>(std::llround(w.t * truth.fps));
    double true_kmh = -1;
    if (fi < truth.frames.size()) {
      for (const TruthObject& o : truth.frames[fi]) {
        if (o.id == w.id) true_kmh = o.speed_kmh;
      }
    }
    const double got = reported[e].speed_kmh;
    if (true_kmh > 0 && got >= 0) speed_errors.push_back(std::abs(got - true_kmh) / true_kmh);
  }
  s.count_precision = ratio(s.matched_crossings, s.reported_crossings);
  s.count_recall = ratio(s.matched_crossings, s.truth_crossings);
  s.count_f1 = s.count_precision + s.count_recall > 0
                   ? 2 * s.count_precision * s.count_recall / (s.count_precision + s.count_recall)
                   : 0;
  s.speeds = static_cast<int>(speed_errors.size());
  if (!speed_errors.empty()) {
    double sum = 0;
    int within = 0;
    for (double err : speed_errors) {
      sum += err;
      s.speed_max_error = std::max(s.speed_max_error, err);
      within += err <= 0.10;
    }
    s.speed_mean_error = sum / speed_errors.size();
    s.speed_within_10 = static_cast<double>(within) / speed_errors.size();
  }

  // Boxes and identities (CLEAR MOT).
  std::map<int64_t, uint64_t> last_match;  // truth id -> track id it was last matched to
  std::map<uint64_t, std::map<int64_t, int>> track_hits;  // track id -> truth id -> box hits
  std::map<int64_t, std::string> truth_colours;           // truth id -> colour
  for (const PredictedFrame& pf : tracks) {
    const auto fi = static_cast<size_t>(std::llround(pf.t * truth.fps));
    if (fi >= truth.frames.size() || pf.t < options.warmup_s) continue;
    ++s.frames;
    const double sx = pf.width > 0 ? static_cast<double>(truth.width) / pf.width : 1;
    const double sy = pf.height > 0 ? static_cast<double>(truth.height) / pf.height : 1;
    std::vector<const TruthObject*> gt, dont_care;
    for (const TruthObject& o : truth.frames[fi]) {
      const bool vehicle = IsVehicleClass(o.cls);
      const bool far = o.distance_m > options.max_distance_m;
      if (vehicle && far && o.visible >= options.min_visible) ++s.not_analysed;
      (vehicle && !far && o.visible >= options.min_visible ? gt : dont_care).push_back(&o);
    }
    struct Pred {
      uint64_t id;
      cv::Rect2d box;
      std::string cls;
    };
    std::vector<Pred> pred;
    for (const PredictedTrack& p : pf.tracks) {
      if (!p.confirmed || !p.matched || p.cls == "person") continue;
      pred.push_back({p.id,
                      cv::Rect2d(p.box.x * sx, p.box.y * sy, p.box.width * sx, p.box.height * sy),
                      p.cls});
    }
    s.truth_boxes += static_cast<int64_t>(gt.size());
    std::vector<int> gt_to_pred(gt.size(), -1);
    std::vector<bool> pred_used(pred.size(), false);
    // Correspondences of the previous frames that still hold.
    for (size_t g = 0; g < gt.size(); ++g) {
      auto it = last_match.find(gt[g]->id);
      if (it == last_match.end()) continue;
      for (size_t p = 0; p < pred.size(); ++p) {
        if (!pred_used[p] && pred[p].id == it->second &&
            Iou(gt[g]->box, pred[p].box) >= options.iou) {
          gt_to_pred[g] = static_cast<int>(p);
          pred_used[p] = true;
        }
      }
    }
    // The rest: minimal total 1 - IoU among pairs at the threshold.
    std::vector<int> rows, cols;
    for (size_t g = 0; g < gt.size(); ++g) {
      if (gt_to_pred[g] < 0) rows.push_back(static_cast<int>(g));
    }
    for (size_t p = 0; p < pred.size(); ++p) {
      if (!pred_used[p]) cols.push_back(static_cast<int>(p));
    }
    if (!rows.empty() && !cols.empty()) {
      std::vector<double> cost(rows.size() * cols.size(), analytics::kForbiddenCost);
      for (size_t r = 0; r < rows.size(); ++r) {
        for (size_t c = 0; c < cols.size(); ++c) {
          const double iou = Iou(gt[rows[r]]->box, pred[cols[c]].box);
          if (iou >= options.iou) cost[r * cols.size() + c] = 1 - iou;
        }
      }
      const std::vector<int> a = analytics::SolveAssignment(cost, static_cast<int>(rows.size()),
                                                            static_cast<int>(cols.size()));
      for (size_t r = 0; r < rows.size(); ++r) {
        if (a[r] < 0) continue;
        gt_to_pred[rows[r]] = cols[a[r]];
        pred_used[cols[a[r]]] = true;
      }
    }
    for (size_t g = 0; g < gt.size(); ++g) {
      if (gt[g]->distance_m >= 0) {
        s.has_distances = true;
        const int band = BandOf(gt[g]->distance_m);
        ++s.band_boxes[band];
        s.band_hits[band] += gt_to_pred[g] >= 0;
      }
      if (gt_to_pred[g] < 0) {
        ++s.misses;
        continue;
      }
      ++s.true_positives;
      const uint64_t id = pred[gt_to_pred[g]].id;
      const std::string truth_group = ClassGroup(gt[g]->cls);
      const bool same_group = ClassGroup(pred[gt_to_pred[g]].cls) == truth_group;
      ++s.class_boxes;
      s.class_hits += same_group;
      if (truth_group == "two-wheeler") {
        ++s.two_wheeler_boxes;
        s.two_wheeler_hits += same_group;
      }
      ++track_hits[id][gt[g]->id];
      if (!gt[g]->colour.empty()) truth_colours[gt[g]->id] = gt[g]->colour;
      auto [it, fresh] = last_match.try_emplace(gt[g]->id, id);
      if (!fresh && it->second != id) {
        ++s.id_switches;
        it->second = id;
      }
    }
    for (size_t p = 0; p < pred.size(); ++p) {
      if (pred_used[p]) continue;
      // Mostly inside a "don't care" object (intersection over the track's own area, as
      // UA-DETRAC ignores detections in its ignored regions): the visible part of a vehicle
      // hidden by more than half can never reach IoU 0.5 with its whole box.
      const bool on_dont_care =
          std::any_of(dont_care.begin(), dont_care.end(), [&](const TruthObject* o) {
            const double area = pred[p].box.area();
            return area > 0 && (o->box & pred[p].box).area() >= options.iou * area;
          });
      if (!on_dont_care && !NotAnalysed(truth, pred[p].box, options)) ++s.false_positives;
    }
  }
  s.class_accuracy = ratio(static_cast<double>(s.class_hits), static_cast<double>(s.class_boxes));
  s.two_wheeler_recall =
      ratio(static_cast<double>(s.two_wheeler_hits), static_cast<double>(s.two_wheeler_boxes));
  // Colours: each reported track against the truth vehicle most of its hits are on.
  for (const auto& [track, hits] : track_hits) {
    const auto most = std::max_element(
        hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    const auto truth_colour = truth_colours.find(most->first);
    if (truth_colour == truth_colours.end()) continue;
    const auto reported = events.track_colours.find(track);
    const std::string got = reported == events.track_colours.end() ? "unknown" : reported->second;
    ++s.colour_tracks;
    s.colour_hits += got == truth_colour->second;
    s.colour_unknown += got == "unknown";
    ++s.colour_confusion[truth_colour->second][got];
  }
  s.colour_accuracy = ratio(s.colour_hits, s.colour_tracks);
  s.box_precision = ratio(s.true_positives, s.true_positives + s.false_positives);
  s.box_recall = ratio(s.true_positives, s.truth_boxes);
  s.mota =
      s.truth_boxes > 0
          ? 1.0 - static_cast<double>(s.misses + s.false_positives + s.id_switches) / s.truth_boxes
          : 1.0;

  // Stopped vehicles: a stop at least the zone's limit long must alarm.
  std::vector<TruthInterval> must_alarm;
  for (const TruthInterval& st : truth.stops) {
    auto z = truth.zone_max_stop_s.find(st.where);
    if (z == truth.zone_max_stop_s.end() || st.end - st.begin < z->second) continue;
    must_alarm.push_back({st.id, st.where, st.begin + z->second - 1.0, st.end + 1.0});
  }
  auto after_warmup = [&](const std::vector<PredictedEvent>& all) {
    std::vector<PredictedEvent> out;
    for (const PredictedEvent& e : all) {
      if (e.t >= options.warmup_s) out.push_back(e);
    }
    return out;
  };
  s.stops_expected = static_cast<int>(must_alarm.size());
  ScoreAlarms(after_warmup(events.stops), must_alarm, &s.stops_caught, &s.stop_duplicates,
              &s.stop_false_alarms);

  // Wrong-way drivers.
  std::vector<TruthInterval> wrong;
  for (const TruthInterval& w : truth.wrong_way) {
    wrong.push_back({w.id, w.where, w.begin, w.end + 1.0});
  }
  s.wrong_way_expected = static_cast<int>(wrong.size());
  ScoreAlarms(after_warmup(events.wrong_way), wrong, &s.wrong_way_caught, &s.wrong_way_duplicates,
              &s.wrong_way_false_alarms);
  return s;
}

}  // namespace skynet::eval
