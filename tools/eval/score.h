// Scoring of motion events (skynetd analyze output) against scenegen ground truth.
//
// Everything is by time, in seconds of stream time:
//   object interval  one track id's first to last visible frame (+1 frame)
//   motion interval  a motion_id's MotionEnded.started_at_us .. + duration_ms + hold_seconds; an
//                    interval still open at the end runs from its MotionStarted to the end
//   truth motion     the frames whose moving_outside_masks is true
//   recall           share of object intervals (at least min_object_seconds long) that motion
//                    intervals cover for at least min_coverage of their length
//   precision        share of motion-interval time that overlaps truth motion
//   false events     motion intervals that overlap no truth motion (+-tolerance_seconds),
//                    per hour of video
// Plain functions on values; thread-compatible.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "pipeline/core/status.h"

namespace skynet::eval {

using Interval = std::pair<double, double>;  // [begin, end) seconds

struct Truth {
  double fps = 0;
  double duration = 0;            // seconds
  std::vector<Interval> objects;  // one per track id
  std::vector<Interval> motion;   // merged runs of moving_outside_masks frames
};

struct ScoreOptions {
  double hold_seconds = 0.2;        // a motion frame stands for this long (1 frame at 5 fps)
  double min_object_seconds = 1.0;  // shorter object intervals are not scored
  double min_coverage = 0.5;        // of an object interval, to count as recalled
  double tolerance_seconds = 0.5;   // slack around truth motion for false events
};

struct Score {
  int objects = 0;  // object intervals scored
  int objects_recalled = 0;
  double recall = 1;  // 1 when there is nothing to recall
  double motion_seconds = 0;
  double precision = 1;  // 1 when there is no motion
  int motion_intervals = 0;
  int false_events = 0;
  double false_per_hour = 0;
  double hours = 0;
};

// Reads a scenegen truth file. `fps_override` > 0 replaces its fps.
Result<Truth> LoadTruth(const std::string& path, double fps_override = 0);
// Reads analyze's JSON lines into motion intervals; open intervals end at `end_seconds`.
Result<std::vector<Interval>> LoadMotionIntervals(const std::string& path, double end_seconds,
                                                  double hold_seconds);
Score ScoreMotion(const Truth& truth, const std::vector<Interval>& motion,
                  const ScoreOptions& options = {});

}  // namespace skynet::eval
