#include "tools/eval/score.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tools/eval/json_fields.h"

namespace skynet::eval {
namespace {

using nlohmann::json;

std::vector<Interval> Merge(std::vector<Interval> v) {
  std::sort(v.begin(), v.end());
  std::vector<Interval> out;
  for (const Interval& i : v) {
    if (!out.empty() && i.first <= out.back().second) {
      out.back().second = std::max(out.back().second, i.second);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

// Length of `a` covered by the merged, sorted intervals `set`.
double Covered(const Interval& a, const std::vector<Interval>& set) {
  double sum = 0;
  for (const Interval& b : set) {
    sum += std::max(0.0, std::min(a.second, b.second) - std::max(a.first, b.first));
  }
  return sum;
}

}  // namespace

Result<Truth> LoadTruth(const std::string& path, double fps_override) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot read");
  json j;
  try {
    in >> j;
    Truth t;
    t.fps = fps_override > 0 ? fps_override : j.at("fps").get<double>();
    if (t.fps <= 0) return Status::InvalidArgument(path + ": fps must be > 0");
    const json& frames = j.at("frames");
    t.duration = static_cast<double>(frames.size()) / t.fps;
    std::map<int64_t, Interval> tracks;
    std::vector<Interval> moving;
    for (const json& f : frames) {
      const double begin = f.at("i").get<int64_t>() / t.fps, end = begin + 1 / t.fps;
      if (f.at("moving_outside_masks").get<bool>()) moving.emplace_back(begin, end);
      for (const json& o : f.at("objects")) {
        const int64_t id = o.at("id").get<int64_t>();
        auto [it, fresh] = tracks.try_emplace(id, begin, end);
        if (!fresh) it->second.second = end;
      }
    }
    for (const auto& [id, span] : tracks) t.objects.push_back(span);
    t.motion = Merge(std::move(moving));
    return t;
  } catch (const json::exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
}

Result<std::vector<Interval>> LoadMotionIntervals(const std::string& path, double end_seconds,
                                                  double hold_seconds) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot read");
  std::map<int64_t, double> open;  // motion_id -> start of an interval not yet ended
  std::vector<Interval> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      const json ev = json::parse(line);
      const double t = JsonInt(ev, "streamTimeUs") / 1e6;
      if (ev.contains("motionStarted")) {
        open[JsonInt(ev.at("motionStarted"), "motionId")] = t;
      } else if (ev.contains("motionEnded")) {
        const json& m = ev.at("motionEnded");
        open.erase(JsonInt(m, "motionId"));
        const double begin = JsonInt(m, "startedAtUs") / 1e6;
        out.emplace_back(begin, begin + JsonInt(m, "durationMs") / 1e3 + hold_seconds);
      }
    } catch (const std::exception& e) {
      return Status::InvalidArgument(path + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  for (const auto& [id, begin] : open) out.emplace_back(begin, std::max(begin, end_seconds));
  std::sort(out.begin(), out.end());
  return out;
}

Score ScoreMotion(const Truth& truth, const std::vector<Interval>& motion, const ScoreOptions& o) {
  Score s;
  const std::vector<Interval> merged = Merge(motion);
  for (const Interval& obj : truth.objects) {
    const double length = obj.second - obj.first;
    if (length < o.min_object_seconds) continue;
    ++s.objects;
    if (Covered(obj, merged) >= o.min_coverage * length) ++s.objects_recalled;
  }
  if (s.objects > 0) s.recall = static_cast<double>(s.objects_recalled) / s.objects;

  double overlapping = 0;
  for (const Interval& m : merged) {
    s.motion_seconds += m.second - m.first;
    overlapping += Covered(m, truth.motion);
  }
  if (s.motion_seconds > 0) s.precision = overlapping / s.motion_seconds;

  std::vector<Interval> slack;
  for (const Interval& t : truth.motion) {
    slack.emplace_back(t.first - o.tolerance_seconds, t.second + o.tolerance_seconds);
  }
  slack = Merge(std::move(slack));
  s.motion_intervals = static_cast<int>(motion.size());
  for (const Interval& m : motion) {
    if (Covered(m, slack) <= 0) ++s.false_events;
  }
  s.hours = truth.duration / 3600.0;
  if (s.hours > 0) s.false_per_hour = s.false_events / s.hours;
  return s;
}

}  // namespace skynet::eval
