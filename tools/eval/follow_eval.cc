// skynet-follow-eval: scores search and follow on a multi-camera scene set (issue 16 item 7).
//
// Input: the set's description and truth (skynet-scenegen --cameras N writes SCENE-set.json,
// SCENE-camK.truth.json and SCENE-set.yaml) and the record database that `skynetd analyze
// --records` filled from every camera's clip (times in stream time, shared by the set's clips).
//
// A record is matched to a true vehicle by its crossing of the scene's counting line: the same
// camera and direction, within --match-s seconds of the truth's crossing, and, where analyze's
// events are at hand (--events, CAMERA.jsonl), near the same place along the line (the
// lineCrossed event's anchor against the true vehicle's): two vehicles of adjacent lanes cross
// within a few hundredths of a second. Each record crossing and each truth crossing is matched
// once, by an optimal assignment (least total cost). Search queries all name the counting line,
// so every record a query returns can be judged; a query's truth is the vehicles that crossed
// the line on the query's cameras with the query's class, colour, direction and time.
//   precision = returned records matched to a vehicle of the query's truth / returned
//   recall    = vehicles of the query's truth that a returned record matched / the truth
// Follow: for every matched record whose vehicle is matched again later (earlier) on another
// camera, is that record the first candidate of `follow` (the daemon's ranking, daemon/follow.h)?
// A matched record whose vehicle crossed another camera's line later (earlier) but no record
// matched any such crossing is not a case (no ranking can find it): `unseen` counts these.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/config.h"
#include "daemon/follow.h"
#include "daemon/record_store.h"
#include "pipeline/analytics/hungarian.h"
#include "tools/eval/json_fields.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = skynet::v1;
using skynet::daemon::RecordQuery;
using skynet::daemon::RecordStore;
using skynet::daemon::StoredRecord;

struct Vehicle {
  std::string cls, colour;
};

struct TruthCrossing {
  std::string camera;
  int64_t id = 0;
  double t = 0;
  int direction = 0;
  double first = 0, last = 0;  // the vehicle's time in this camera's view
  // Where the vehicle touched the road at the crossing, as a fraction of the frame; x < 0: unknown.
  double x = -1, y = -1;
};

// Matching cost: seconds apart over --match-s, plus the anchors' distance along the counting line
// (fractions of the frame) over kAnchorScale: 0.05 of the frame (about a lane's width near the
// line) weighs as much as the whole time tolerance. Across the line the anchors say nothing (a
// box's bottom edge is not the true contact point). A record crossing left unmatched costs
// kUnmatchedCost.
constexpr double kAnchorScale = 0.05;
constexpr double kUnmatchedCost = 2;

// The anchors of analyze's lineCrossed events: (camera, track id, line) -> (time_us, x, y).
using EventAnchors = std::map<std::tuple<std::string, uint64_t, std::string>,
                              std::vector<std::tuple<int64_t, double, double>>>;

// (camera, vehicle id) of a truth crossing.
using Key = std::pair<std::string, int64_t>;

int Fail(const std::string& message) {
  std::fprintf(stderr, "skynet-follow-eval: %s\n", message.c_str());
  return 2;
}

std::string ClassName(v1::VehicleClass c) {
  std::string s = v1::VehicleClass_Name(c).substr(14);
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string ColourName(v1::VehicleColour c) {
  std::string s = v1::VehicleColour_Name(c).substr(15);
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

struct Query {
  std::string name;
  RecordQuery q;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"skynet-follow-eval: search precision/recall and follow top-1 on a scene set"};
  std::string set_path, db_path, config_path, line = "count";
  double match_s = 0.6, min_top1 = -1, min_recall = -1;
  app.add_option("--set", set_path, "SCENE-set.json of skynet-scenegen --cameras")->required();
  app.add_option("--records", db_path, "the record database skynetd analyze --records filled")
      ->required();
  app.add_option("--config", config_path, "SCENE-set.yaml (positions and neighbours)")->required();
  app.add_option("--line", line, "the counting line's id")->capture_default_str();
  std::string events_dir;
  app.add_option("--events", events_dir,
                 "directory of analyze's events, CAMERA.jsonl (default: the set's directory; "
                 "without them records match by time alone)");
  app.add_option("--match-s", match_s, "crossing time tolerance, seconds")->capture_default_str();
  app.add_option("--min-top1", min_top1, "exit 1 when follow's later top-1 rate is below");
  app.add_option("--min-recall", min_recall, "exit 1 when a search's recall is below");
  skynet::daemon::FollowOptions follow_options;
  app.add_option("--wrong-direction", follow_options.wrong_direction, "tuning: FollowOptions");
  app.add_option("--speed-trust", follow_options.speed_trust, "tuning: FollowOptions");
  app.add_option("--speed-spread", follow_options.speed_spread, "tuning: FollowOptions");
  app.add_option("--exclusive-margin", follow_options.exclusive_margin, "tuning: FollowOptions");
  app.add_option("--exclusive-floor", follow_options.exclusive_floor, "tuning: FollowOptions");
  app.add_option("--no-crossing", follow_options.no_crossing, "tuning: FollowOptions");
  app.add_option("--travel-spread", follow_options.travel_spread, "tuning: FollowOptions");
  app.add_option("--missed-camera", follow_options.missed_camera, "tuning: FollowOptions");
  bool verbose = false;
  app.add_flag("--verbose", verbose, "print each follow case that misses");
  CLI11_PARSE(app, argc, argv);

  // The truth: every camera's crossings of the line, and each vehicle's class and colour.
  std::ifstream sf(set_path);
  if (!sf) return Fail(set_path + ": cannot read");
  const nlohmann::json set = nlohmann::json::parse(sf, nullptr, false);
  if (set.is_discarded()) return Fail(set_path + ": not JSON");
  std::map<int64_t, Vehicle> vehicles;
  std::vector<TruthCrossing> crossings;
  std::vector<std::string> camera_ids;
  std::map<std::string, std::pair<double, double>> line_dir;  // camera -> the line's unit a->b
  for (const auto& cam : set.at("cameras")) {
    const std::string id = cam.at("id");
    camera_ids.push_back(id);
    const fs::path truth_path =
        fs::path(set_path).parent_path() / cam.at("truth").get<std::string>();
    std::ifstream tf(truth_path);
    const nlohmann::json truth = nlohmann::json::parse(tf, nullptr, false);
    if (truth.is_discarded()) return Fail(truth_path.string() + ": not JSON");
    std::map<int64_t, std::pair<double, double>> spans;
    for (const auto& k : truth.at("tracks")) {
      spans[k.at("id").get<int64_t>()] = {k.at("first").get<double>(), k.at("last").get<double>()};
      vehicles[k.at("id").get<int64_t>()].cls = k.at("class").get<std::string>();
    }
    for (const auto& f : truth.at("frames")) {
      for (const auto& o : f.at("objects")) {
        if (o.contains("colour")) vehicles[o.at("id").get<int64_t>()].colour = o.at("colour");
      }
    }
    for (const auto& l : truth.value("lines", nlohmann::json::array())) {
      if (l.value("id", "") != line) continue;
      const double dx = l.at("b")[0].get<double>() - l.at("a")[0].get<double>();
      const double dy = l.at("b")[1].get<double>() - l.at("a")[1].get<double>();
      if (std::hypot(dx, dy) > 0) line_dir[id] = {dx / std::hypot(dx, dy), dy / std::hypot(dx, dy)};
    }
    const double fps = truth.value("fps", 0.0);
    const double width = truth.value("width", 0), height = truth.value("height", 0);
    const auto& frames = truth.at("frames");
    for (const auto& x : truth.at("crossings")) {
      if (x.at("line") != line) continue;
      TruthCrossing c;
      c.camera = id;
      c.id = x.at("id");
      c.t = x.at("t");
      c.direction = x.at("direction");
      // The vehicle's anchor in the frame nearest the crossing.
      const long k = fps > 0 ? std::lround(c.t * fps) : -1;
      if (k >= 0 && k < static_cast<long>(frames.size()) && width > 0 && height > 0) {
        for (const auto& o : frames[k].at("objects")) {
          if (o.at("id").get<int64_t>() == c.id && o.contains("anchor")) {
            c.x = o.at("anchor")[0].get<double>() / width;
            c.y = o.at("anchor")[1].get<double>() / height;
          }
        }
      }
      std::tie(c.first, c.last) = spans[c.id];
      const std::string& cls = vehicles[c.id].cls;
      if (cls == "person" || cls == "bicycle") continue;  // vehicles only
      crossings.push_back(c);
    }
  }

  // analyze's line crossings, for their anchors.
  EventAnchors anchors;
  const fs::path events_path =
      events_dir.empty() ? fs::path(set_path).parent_path() : fs::path(events_dir);
  for (const std::string& id : camera_ids) {
    std::ifstream ef(events_path / (id + ".jsonl"));
    for (std::string text; std::getline(ef, text);) {
      const nlohmann::json e = nlohmann::json::parse(text, nullptr, false);
      if (e.is_discarded() || !e.contains("lineCrossed")) continue;
      const nlohmann::json& c = e.at("lineCrossed");
      if (!c.contains("anchor")) continue;
      anchors[{id, static_cast<uint64_t>(skynet::eval::JsonInt(c, "trackId")),
               c.value("lineId", "")}]
          .emplace_back(skynet::eval::JsonInt(e, "captureTimeUs"), c.at("anchor").value("x", 0.0),
                        c.at("anchor").value("y", 0.0));
    }
  }

  auto store = RecordStore::Open({.path = db_path, .retention_days = 0, .max_records = 0});
  if (!store.ok()) return Fail(store.status().message());
  RecordQuery all;
  all.limit = 1000000;
  auto records = (*store)->Query(all);
  if (!records.ok()) return Fail(records.status().message());

  // Match records' crossings to truth crossings, each once, at the least total cost: seconds
  // apart over --match-s, plus (where both anchors are known) the distance along the line over
  // kAnchorScale; a crossing left unmatched costs kUnmatchedCost. An optimal assignment rather
  // than nearest first: a truck tracked twice (front and back) must not push the first piece onto
  // the car of the next lane.
  struct Candidate {
    size_t record;
    std::vector<std::pair<size_t, double>> truths;  // (truth crossing, cost)
  };
  std::vector<Candidate> rows;
  for (size_t r = 0; r < records->size(); ++r) {
    const StoredRecord& s = (*records)[r];
    for (const v1::RecordCrossing& c : s.record.crossings()) {
      if (c.line_id() != line) continue;
      // The event of this crossing: the same track and line, nearest in time.
      const std::tuple<int64_t, double, double>* anchor = nullptr;
      auto it = anchors.find({s.camera_id, s.record.track_id(), line});
      if (it != anchors.end()) {
        for (const auto& a : it->second) {
          if (!anchor || std::llabs(std::get<0>(a) - c.time_us()) <
                             std::llabs(std::get<0>(*anchor) - c.time_us())) {
            anchor = &a;
          }
        }
      }
      Candidate row{r, {}};
      for (size_t t = 0; t < crossings.size(); ++t) {
        const TruthCrossing& x = crossings[t];
        const double dt = std::abs(c.time_us() / 1e6 - x.t);
        if (x.camera != s.camera_id || x.direction != c.direction() || dt > match_s) continue;
        double cost = dt / match_s;
        auto dir = line_dir.find(x.camera);
        if (anchor && x.x >= 0 && dir != line_dir.end()) {
          const double along = (std::get<1>(*anchor) - x.x) * dir->second.first +
                               (std::get<2>(*anchor) - x.y) * dir->second.second;
          cost += std::abs(along) / kAnchorScale;
        }
        row.truths.emplace_back(t, cost);
      }
      if (!row.truths.empty()) rows.push_back(std::move(row));
    }
  }
  // Columns: the truth crossings, then one "unmatched" column per row.
  const int n_rows = static_cast<int>(rows.size());
  const int n_cols = static_cast<int>(crossings.size()) + n_rows;
  std::vector<double> cost(static_cast<size_t>(n_rows) * n_cols, skynet::analytics::kForbiddenCost);
  for (int i = 0; i < n_rows; ++i) {
    for (const auto& [t, c] : rows[i].truths) cost[i * n_cols + t] = c;
    cost[i * n_cols + crossings.size() + i] = kUnmatchedCost;
  }
  const std::vector<int> assigned = skynet::analytics::SolveAssignment(cost, n_rows, n_cols);
  std::map<size_t, size_t> truth_of;  // record -> truth crossing
  std::map<size_t, double> cost_of;   // record -> its match's cost (a record crossing twice)
  for (int i = 0; i < n_rows; ++i) {
    const int t = assigned[i];
    if (t < 0 || t >= static_cast<int>(crossings.size())) continue;
    const double c = cost[i * n_cols + t];
    auto it = cost_of.find(rows[i].record);
    if (it != cost_of.end() && it->second <= c) continue;
    truth_of[rows[i].record] = t;
    cost_of[rows[i].record] = c;
  }
  std::map<std::pair<std::string, uint64_t>, size_t> record_index;  // (camera, track) -> record
  for (size_t r = 0; r < records->size(); ++r) {
    record_index[{(*records)[r].camera_id, (*records)[r].record.track_id()}] = r;
  }
  size_t with_line = 0;
  for (const StoredRecord& s : *records) {
    for (const auto& c : s.record.crossings()) {
      if (c.line_id() == line) {
        ++with_line;
        break;
      }
    }
  }
  std::printf("records: %zu (%zu crossed %s), truth crossings: %zu, matched: %zu\n",
              records->size(), with_line, line.c_str(), crossings.size(), truth_of.size());

  // Search: a few queries, each through the store's own query.
  std::vector<Query> queries;
  auto add = [&](std::string name, RecordQuery q) {
    q.line_id = line;
    q.limit = 1000000;
    queries.push_back({std::move(name), q});
  };
  RecordQuery q;
  add("line " + line, q);
  q.vehicle_class = v1::VEHICLE_CLASS_CAR;
  add("class car", q);
  q.colour = v1::VEHICLE_COLOUR_WHITE;
  add("car, white", q);
  q = RecordQuery();
  for (v1::VehicleColour c : {v1::VEHICLE_COLOUR_WHITE, v1::VEHICLE_COLOUR_RED,
                              v1::VEHICLE_COLOUR_SILVER, v1::VEHICLE_COLOUR_BLUE}) {
    q.colour = c;
    add("colour " + ColourName(c), q);
  }
  q = RecordQuery();
  for (int d : {+1, -1}) {
    q.direction = d;
    add(std::string("direction ") + (d > 0 ? "+1" : "-1"), q);
  }
  if (camera_ids.size() > 1) {
    q = RecordQuery();
    q.from_us = 5'000'000;
    q.to_us = 15'000'000;
    q.cameras = {camera_ids[1]};
    add("camera " + camera_ids[1] + ", 5-15 s", q);
  }
  std::printf("\n%-28s %6s %6s %9s %7s\n", "search", "truth", "found", "precision", "recall");
  bool failed = false;
  for (const Query& query : queries) {
    const RecordQuery& q = query.q;
    auto in_query = [&](const TruthCrossing& x) {
      const Vehicle& v = vehicles[x.id];
      if (!q.cameras.empty() &&
          std::find(q.cameras.begin(), q.cameras.end(), x.camera) == q.cameras.end()) {
        return false;
      }
      if (q.vehicle_class != v1::VEHICLE_CLASS_UNSPECIFIED && v.cls != ClassName(q.vehicle_class)) {
        return false;
      }
      if (q.colour != v1::VEHICLE_COLOUR_UNSPECIFIED && v.colour != ColourName(q.colour)) {
        return false;
      }
      if (q.direction != 0 && x.direction != q.direction) return false;
      if (q.from_us != 0 && x.last < q.from_us / 1e6) return false;
      if (q.to_us != 0 && x.first > q.to_us / 1e6) return false;
      return true;
    };
    std::set<size_t> truth;
    for (size_t t = 0; t < crossings.size(); ++t) {
      if (in_query(crossings[t])) truth.insert(t);
    }
    auto found = (*store)->Query(q);
    if (!found.ok()) return Fail(found.status().message());
    size_t correct = 0;
    std::set<size_t> hit;
    for (const StoredRecord& s : *found) {
      auto it = truth_of.find(record_index[{s.camera_id, s.record.track_id()}]);
      if (it != truth_of.end() && truth.count(it->second)) {
        ++correct;
        hit.insert(it->second);
      }
    }
    const double precision = found->empty() ? 1.0 : static_cast<double>(correct) / found->size();
    const double recall = truth.empty() ? 1.0 : static_cast<double>(hit.size()) / truth.size();
    std::printf("%-28s %6zu %6zu %9.2f %7.2f\n", query.name.c_str(), truth.size(), found->size(),
                precision, recall);
    if (min_recall >= 0 && !truth.empty() && recall < min_recall) failed = true;
  }

  // Follow: the true next (previous) matched sighting of each matched record's vehicle on another
  // camera; is it follow's first candidate?
  auto config = skynet::daemon::LoadConfigFile(config_path);
  if (!config.ok()) return Fail(config.status().message());
  const skynet::daemon::CameraMap map = skynet::daemon::CameraMap::From(config->cameras);
  std::printf("\n%-8s %6s %6s %7s %8s %6s\n", "follow", "cases", "top-1", "rate", "in top-5",
              "unseen");
  double later_rate = 0;
  std::map<std::pair<std::string, uint64_t>, size_t> truth_by_track;  // (camera, track) -> truth
  for (const auto& [r, t] : truth_of) {
    truth_by_track[{(*records)[r].camera_id, (*records)[r].record.track_id()}] = t;
  }
  // One line of a record for --verbose: camera:track, the true vehicle, what analytics measured.
  auto describe = [&](const std::string& camera, const v1::VehicleRecord& rec) {
    auto it = truth_by_track.find({camera, rec.track_id()});
    std::string who = it == truth_by_track.end()
                          ? "unmatched"
                          : "vehicle " + std::to_string(crossings[it->second].id) + " " +
                                vehicles[crossings[it->second].id].colour;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s:%llu (%s; %s %s, %.0f km/h, crossing %.0f km/h, heading %.0f, dir %d)",
                  camera.c_str(), static_cast<unsigned long long>(rec.track_id()), who.c_str(),
                  ClassName(rec.vehicle_class()).c_str(), ColourName(rec.colour()).c_str(),
                  rec.speed_kmh(), rec.crossings_size() ? rec.crossings(0).speed_kmh() : -1.f,
                  rec.heading_deg(), rec.crossings_size() ? rec.crossings(0).direction() : 0);
    return std::string(buf);
  };
  for (bool later : {true, false}) {
    int cases = 0, top1 = 0, top5 = 0, unseen = 0;
    for (const auto& [r, t] : truth_of) {
      const TruthCrossing& x = crossings[t];
      // The vehicle's nearest matched sighting on another camera in that direction of time.
      // Not a case when no record matched it there (a detection or tracking miss, counted as
      // `unseen`: no ranking can find a sighting that is not in the records).
      const StoredRecord* expected = nullptr;
      double best = 1e18;
      bool truth_elsewhere = false;
      for (const TruthCrossing& y : crossings) {
        if (y.id == x.id && y.camera != x.camera && (later ? y.t > x.t : y.t < x.t)) {
          truth_elsewhere = true;
        }
      }
      for (const auto& [r2, t2] : truth_of) {
        const TruthCrossing& y = crossings[t2];
        if (y.id != x.id || y.camera == x.camera) continue;
        const double gap = later ? y.t - x.t : x.t - y.t;
        if (gap > 0 && gap < best) {
          best = gap;
          expected = &(*records)[r2];
        }
      }
      if (!expected) {
        unseen += truth_elsewhere;
        continue;
      }
      ++cases;
      const StoredRecord& s = (*records)[r];
      v1::FollowRequest request;
      request.set_camera_id(s.camera_id);
      request.set_track_id(s.record.track_id());
      request.set_direction(later ? v1::FOLLOW_DIRECTION_LATER : v1::FOLLOW_DIRECTION_EARLIER);
      request.set_window_s(120);
      request.set_limit(5);
      auto trail = skynet::daemon::Follow(store->get(), map, request, follow_options);
      if (!trail.ok()) return Fail(trail.status().message());
      const auto& list = later ? trail->later() : trail->earlier();
      if (verbose && (list.empty() || list[0].hit().camera_id() != expected->camera_id ||
                      list[0].hit().record().track_id() != expected->record.track_id())) {
        std::printf("miss %s %s\n  record   %s\n  expected %s\n", later ? "later" : "earlier",
                    s.camera_id.c_str(), describe(s.camera_id, s.record).c_str(),
                    describe(expected->camera_id, expected->record).c_str());
        for (const auto& c : list) {
          std::string why;
          for (const auto& w : c.reasons()) why += w + "; ";
          const bool is_expected = c.hit().camera_id() == expected->camera_id &&
                                   c.hit().record().track_id() == expected->record.track_id();
          std::printf("  %s %.3f %s\n      %s\n", is_expected ? "*" : " ", c.score(),
                      describe(c.hit().camera_id(), c.hit().record()).c_str(), why.c_str());
        }
      }
      for (int i = 0; i < list.size(); ++i) {
        if (list[i].hit().camera_id() == expected->camera_id &&
            list[i].hit().record().track_id() == expected->record.track_id()) {
          if (i == 0) ++top1;
          ++top5;
          break;
        }
      }
    }
    const double rate = cases ? static_cast<double>(top1) / cases : 0;
    if (later) later_rate = rate;
    std::printf("%-8s %6d %6d %7.2f %8.2f %6d\n", later ? "later" : "earlier", cases, top1, rate,
                cases ? static_cast<double>(top5) / cases : 0, unseen);
  }
  if (min_top1 >= 0 && later_rate < min_top1) failed = true;
  return failed ? 1 : 0;
}
