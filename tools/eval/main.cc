// skynet-eval: scores `skynetd analyze` events against `skynet-scenegen` ground truth.
//
//   skynet-eval --truth night-rain.truth.json --events night-rain.jsonl
//   skynet-eval --truth X.truth.json --events X.jsonl --row night-rain --cpu-ms 0.41
//
// Without --row: a few lines of figures. With --row NAME: one table row (`--header` prints the
// header first), as tools/eval/run-eval.sh assembles its table. Metrics: tools/eval/score.h.
// Exit codes: 0 scored, 2 bad arguments, 1 unreadable or malformed input.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "tools/eval/score.h"

int main(int argc, char** argv) {
  CLI::App app{"skynet-eval: motion events scored against ground truth"};
  std::string truth_path, events_path, row;
  double fps = 0, cpu_ms = -1;
  bool header = false;
  skynet::eval::ScoreOptions options;
  app.add_option("--truth", truth_path, "scenegen truth (NAME.truth.json)")->required();
  app.add_option("--events", events_path, "skynetd analyze output (JSON lines)")->required();
  app.add_option("--fps", fps, "frame rate of the truth (default: from the file)");
  app.add_option("--hold", options.hold_seconds, "seconds a motion frame stands for")
      ->capture_default_str();
  app.add_option("--min-object-seconds", options.min_object_seconds,
                 "shorter object intervals are not scored")
      ->capture_default_str();
  app.add_option("--row", row, "print one table row for this scene name");
  app.add_option("--cpu-ms", cpu_ms, "CPU ms/frame to show in the row");
  app.add_flag("--header", header, "print the table header before the row");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  auto truth = skynet::eval::LoadTruth(truth_path, fps);
  if (!truth.ok()) {
    std::cerr << "skynet-eval: " << truth.status().message() << "\n";
    return 1;
  }
  auto motion =
      skynet::eval::LoadMotionIntervals(events_path, truth->duration, options.hold_seconds);
  if (!motion.ok()) {
    std::cerr << "skynet-eval: " << motion.status().message() << "\n";
    return 1;
  }
  const skynet::eval::Score s = skynet::eval::ScoreMotion(*truth, *motion, options);
  if (row.empty()) {
    std::printf("objects %d, recalled %d: recall %.3f\n", s.objects, s.objects_recalled, s.recall);
    std::printf("motion %.1f s in %d intervals: precision %.3f\n", s.motion_seconds,
                s.motion_intervals, s.precision);
    std::printf("false motion events %d in %.1f s: %.1f per camera-hour\n", s.false_events,
                s.hours * 3600, s.false_per_hour);
    return 0;
  }
  if (header) {
    std::printf("%-14s | %-15s | %-9s | %-19s | %s\n", "scene", "recall", "precision",
                "false events/cam-h", "ms CPU/frame");
  }
  char recall[32], cpu[32];
  std::snprintf(recall, sizeof recall, "%.3f (%d/%d)", s.recall, s.objects_recalled, s.objects);
  if (cpu_ms >= 0) {
    std::snprintf(cpu, sizeof cpu, "%.3f", cpu_ms);
  } else {
    std::snprintf(cpu, sizeof cpu, "-");
  }
  std::printf("%-14s | %-15s | %-9.3f | %-19.1f | %s\n", row.c_str(), recall, s.precision,
              s.false_per_hour, cpu);
  return 0;
}
