// skynet-quality-eval: scores the video quality diagnostics on scenegen clips with picture faults
// (issue 15 item 7; tools/eval/run-quality-eval.sh drives it, docs/video-quality.md "Measured").
//
// Input: directories holding clips as NAME.truth.json (skynet-scenegen, with "fault" for a fault
// clip, without for a normal scene) and NAME.jsonl (the events of `skynetd analyze` on
// NAME.mp4). Only VideoQuality events that enter the fault state count ("diagnoses").
//   fault clip: detected if the fault's check (kExpected below) enters fault within --window-s
//     of the fault's start; time to detect = that entry's capture time - the start. Other checks
//     entering fault after the start are wrong-kind diagnoses; any diagnosis before the start is
//     a false one.
//   normal clip: every diagnosis is a false one.
// Prints per fault kind: cases, detected, rate, median and max time to detect, wrong-kind
// diagnoses; the misses; the false diagnostics per scene. Exit codes: 0 done (and the
// --require-* targets met), 1 a target missed, 2 bad input.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tools/eval/json_fields.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The check that should diagnose each scenegen fault (tools/scenegen/picture_fault.h).
const std::map<std::string, std::string> kExpected = {
    {"cover", "occlusion"}, {"paint", "occlusion"},  {"defocus", "blur"}, {"knock", "moved"},
    {"freeze", "frozen"},   {"cast", "colour_cast"}, {"noise", "noise"},  {"black", "black"}};
const char* const kFaultOrder[] = {"cover",  "paint", "defocus", "knock",
                                   "freeze", "cast",  "noise",   "black"};

struct Diagnosis {
  std::string check;
  double t = 0;  // capture (stream) time, seconds
};

struct Clip {
  std::string name;     // NAME (directory/NAME for messages)
  std::string scene;    // scene kind
  uint32_t seed = 0;    // scene seed
  double duration = 0;  // seconds
  std::string fault;    // empty: a normal scene
  double start = 0;
  uint32_t fault_seed = 0;
  std::vector<Diagnosis> diagnoses;
};

std::string Fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

bool ReadClip(const fs::path& truth_path, const fs::path& events_path, Clip* c,
              std::string* error) {
  try {
    std::ifstream tf(truth_path);
    if (!tf) {
      *error = truth_path.string() + ": cannot read";
      return false;
    }
    const json t = json::parse(tf);
    c->scene = t.value("scene_kind", t.value("scene", std::string("?")));
    c->seed = t.value("seed", 0u);
    c->duration = t.value("duration", 0.0);
    if (t.contains("fault")) {
      const json& f = t.at("fault");
      c->fault = f.at("kind").get<std::string>();
      c->start = f.at("start").get<double>();
      c->fault_seed = f.value("seed", 0u);
      if (!kExpected.count(c->fault)) {
        *error = truth_path.string() + ": unknown fault kind '" + c->fault + "'";
        return false;
      }
    }
  } catch (const json::exception& e) {
    *error = truth_path.string() + ": " + e.what();
    return false;
  }
  std::ifstream ef(events_path);
  if (!ef) {
    *error = events_path.string() + ": cannot read (run skynetd analyze on the clip)";
    return false;
  }
  std::string line;
  int number = 0;
  while (std::getline(ef, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      const json ev = json::parse(line);
      if (!ev.contains("videoQuality")) continue;
      const json& q = ev.at("videoQuality");
      if (q.value("to", std::string()) != "QUALITY_STATE_FAULT") continue;
      c->diagnoses.push_back({q.value("check", std::string("?")),
                              double(skynet::eval::JsonInt(ev, "captureTimeUs")) / 1e6});
    } catch (const json::exception& e) {
      *error = events_path.string() + ":" + std::to_string(number) + ": " + e.what();
      return false;
    }
  }
  return true;
}

struct FaultRow {
  int cases = 0, detected = 0, wrong = 0;
  std::vector<double> delays;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"skynet-quality-eval: video quality diagnostics scored on scenegen fault clips"};
  std::vector<std::string> dirs;
  double window_s = 30, require_rate = -1;
  int require_false = -1;
  app.add_option("dirs", dirs, "directories with NAME.truth.json and NAME.jsonl")->required();
  app.add_option("--window-s", window_s, "a fault counts as detected within this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--require-rate", require_rate,
                 "exit 1 unless every fault kind is detected in at least this share (0..1)");
  app.add_option("--require-false", require_false,
                 "exit 1 if there are more false diagnostics than this");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  std::vector<Clip> clips;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> truths;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string file = entry.path().filename().string();
      if (file.size() > 11 && file.ends_with(".truth.json")) truths.push_back(entry.path());
    }
    if (ec) {
      std::fprintf(stderr, "skynet-quality-eval: %s: %s\n", dir.c_str(), ec.message().c_str());
      return 2;
    }
    std::sort(truths.begin(), truths.end());
    for (const fs::path& truth : truths) {
      const std::string file = truth.filename().string();
      Clip c;
      c.name = (fs::path(dir).filename() / file.substr(0, file.size() - 11)).string();
      std::string error;
      if (!ReadClip(truth, truth.parent_path() / (file.substr(0, file.size() - 11) + ".jsonl"), &c,
                    &error)) {
        std::fprintf(stderr, "skynet-quality-eval: %s\n", error.c_str());
        return 2;
      }
      if (!c.fault.empty() && c.duration < c.start + window_s - 1e-6) {
        std::fprintf(stderr,
                     "skynet-quality-eval: %s: the clip ends %.1f s after the fault's start, "
                     "shorter than the window (%.0f s)\n",
                     c.name.c_str(), c.duration - c.start, window_s);
        return 2;
      }
      clips.push_back(std::move(c));
    }
  }
  if (clips.empty()) {
    std::fprintf(stderr, "skynet-quality-eval: no *.truth.json in the directories given\n");
    return 2;
  }

  std::map<std::string, FaultRow> rows;
  std::vector<std::string> misses, wrongs, falses;
  // Normal scenes: clips and seconds per scene kind, and false diagnoses per scene kind.
  std::map<std::string, std::pair<int, double>> normal;
  std::map<std::string, int> normal_false;
  int fault_clips = 0, prefault_false = 0, normal_false_total = 0;
  double prefault_s = 0;
  for (const Clip& c : clips) {
    if (c.fault.empty()) {
      normal[c.scene].first += 1;
      normal[c.scene].second += c.duration;
      normal_false[c.scene] += 0;
      for (const Diagnosis& d : c.diagnoses) {
        ++normal_false[c.scene];
        ++normal_false_total;
        falses.push_back(c.name + ": " + d.check + " at " + Fmt("%.1f", d.t) + " s");
      }
      continue;
    }
    ++fault_clips;
    prefault_s += c.start;
    FaultRow& row = rows[c.fault];
    ++row.cases;
    const std::string& want = kExpected.at(c.fault);
    double delay = -1;
    std::string after;
    std::set<std::string> wrong_checks;
    for (const Diagnosis& d : c.diagnoses) {
      if (d.t < c.start) {
        ++prefault_false;
        falses.push_back(c.name + ": " + d.check + " at " + Fmt("%.1f", d.t) +
                         " s, before the fault (" + Fmt("%.1f", c.start) + " s)");
        continue;
      }
      if (d.check == want) {
        if (delay < 0) delay = d.t - c.start;
      } else {
        wrong_checks.insert(d.check);
        wrongs.push_back(c.name + " (" + c.fault + " at " + Fmt("%.1f", c.start) +
                         " s): " + d.check + " at +" + Fmt("%.1f", d.t - c.start) + " s");
      }
      after += (after.empty() ? "" : ", ") + d.check + " +" + Fmt("%.1f", d.t - c.start) + " s";
    }
    if (!wrong_checks.empty()) ++row.wrong;
    if (delay >= 0 && delay <= window_s) {
      ++row.detected;
      row.delays.push_back(delay);
    } else {
      misses.push_back(c.name + " (" + c.fault + " seed " + std::to_string(c.fault_seed) + " at " +
                       Fmt("%.1f", c.start) + " s): " + (after.empty() ? "no diagnosis" : after));
    }
  }

  std::printf("video quality evaluation: %d fault clips, %zu normal clips, window %.0f s\n",
              fault_clips, clips.size() - size_t(fault_clips), window_s);
  std::printf("%-8s %-10s %6s %9s %7s %9s %7s %10s\n", "fault", "check", "cases", "detected",
              "rate", "median_s", "max_s", "wrong_kind");
  bool targets_met = true;
  FaultRow all;
  auto print_row = [&](const std::string& name, const std::string& check, FaultRow r) {
    std::sort(r.delays.begin(), r.delays.end());
    const double rate = r.cases ? double(r.detected) / r.cases : 0;
    const std::string median =
        r.delays.empty()
            ? "-"
            : Fmt("%.1f", r.delays.size() % 2 ? r.delays[r.delays.size() / 2]
                                              : 0.5 * (r.delays[r.delays.size() / 2 - 1] +
                                                       r.delays[r.delays.size() / 2]));
    const std::string max = r.delays.empty() ? "-" : Fmt("%.1f", r.delays.back());
    std::printf("%-8s %-10s %6d %9d %6.1f%% %9s %7s %10d\n", name.c_str(), check.c_str(), r.cases,
                r.detected, 100 * rate, median.c_str(), max.c_str(), r.wrong);
    return rate;
  };
  for (const char* kind : kFaultOrder) {
    const auto it = rows.find(kind);
    if (it == rows.end()) continue;
    const double rate = print_row(kind, kExpected.at(kind), it->second);
    if (require_rate >= 0 && rate < require_rate) targets_met = false;
    all.cases += it->second.cases;
    all.detected += it->second.detected;
    all.wrong += it->second.wrong;
    all.delays.insert(all.delays.end(), it->second.delays.begin(), it->second.delays.end());
  }
  if (all.cases > 0) print_row("all", "", all);
  for (const std::string& m : misses) std::printf("missed: %s\n", m.c_str());
  for (const std::string& w : wrongs) std::printf("wrong kind: %s\n", w.c_str());

  std::string per_scene;
  int normal_clips = 0;
  double normal_s = 0;
  for (const auto& [scene, n] : normal) {
    per_scene +=
        (per_scene.empty() ? "" : ", ") + scene + " " + std::to_string(normal_false[scene]);
    normal_clips += n.first;
    normal_s += n.second;
  }
  std::printf("false diagnostics on normal scenes: %d in %d clips, %.0f s (%s)\n",
              normal_false_total, normal_clips, normal_s, per_scene.c_str());
  std::printf("false diagnostics before the fault in fault clips: %d in %d clips, %.0f s\n",
              prefault_false, fault_clips, prefault_s);
  for (const std::string& f : falses) std::printf("false: %s\n", f.c_str());
  if (require_false >= 0 && normal_false_total + prefault_false > require_false) {
    targets_met = false;
  }
  return targets_met ? 0 : 1;
}
