// TrafficRules: turns a camera's tracks into traffic events: counting-line crossings with a
// direction, zone enter/leave with dwell, stopped vehicles in no-parking zones, wrong-way
// driving in lanes, speeding, and per-lane statistics per interval.
//
// Geometry is in normalised image coordinates ([0,1], like motion masks), so one config suits
// any detect size. Every rule anchors a track at its measured bottom-centre (the matched
// detection's, where the vehicle touches the road) and judges evidence only: a coasting track
// (predicted, not seen) crosses no line, enters no zone and drives no wrong way. Only confirmed
// tracks count. One instance per camera, on the camera's analytics
// worker: not thread-safe; Process() never throws and never logs.
//
//   auto rules = TrafficRules::Create(options);   // Result<unique_ptr<TrafficRules>>
//   for (const RuleEvent& e : (*rules)->Process(tracker.tracks(), tracker.ended(), size,
//                                               calibration, time_us)) Publish(e);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "pipeline/analytics/calibration.h"
#include "pipeline/analytics/tracker.h"
#include "pipeline/core/status.h"

namespace skynet::analytics {

enum class LineDirection { kBoth, kForward, kBackward };

struct CountingLine {
  std::string id;  // unique among lines; names the line in events
  // Endpoints, normalised. "Forward" is crossing to the right-hand side of a->b as seen on screen
  // (for a = left, b = right: moving down the image).
  cv::Point2f a, b;
  LineDirection count = LineDirection::kBoth;  // which crossings are reported

  bool operator==(const CountingLine&) const = default;
};

struct Zone {
  std::string id;                    // unique among zones
  std::vector<cv::Point2f> polygon;  // normalised, at least 3 points
  // A vehicle stationary in the zone for longer than max_stop_ms fires VehicleStopped (once).
  bool no_parking = false;
  int max_stop_ms = 60000;

  bool operator==(const Zone&) const = default;
};

struct Lane {
  std::string id;                    // unique among lanes; names the lane in events and stats
  std::vector<cv::Point2f> polygon;  // normalised, at least 3 points
  // Expected direction of travel on screen (normalised image vector, e.g. {0, 1} = down the
  // image). Zero: no wrong-way detection in this lane.
  cv::Point2f direction;
  // Speed limit in km/h for Speeding (calibrated cameras only); 0: the rules' default.
  float speed_limit_kmh = 0;

  bool operator==(const Lane&) const = default;
};

struct TrafficRulesOptions {
  std::vector<CountingLine> lines;
  std::vector<Zone> zones;
  std::vector<Lane> lanes;
  // Speed limit in km/h where a lane does not set one, or outside lanes; 0: no speeding events.
  float speed_limit_kmh = 0;
  // Consecutive frames above the limit before Speeding fires (one noisy estimate is not enough).
  int speeding_frames = 3;
  // Consecutive frames of a track moving against its lane before WrongWay may fire...
  int wrong_way_frames = 10;
  // ...having also travelled this far against it: metres when calibrated,
  float wrong_way_min_distance_m = 5.0f;
  // ...or this fraction of the frame diagonal when not.
  float wrong_way_min_distance = 0.08f;
  // Moving "against" means the angle to the reversed lane direction is below acos of this.
  float wrong_way_cos = 0.5f;
  // Below this speed (box widths per second) a track's direction is not judged.
  float min_moving_speed = 0.3f;
  // Length of a statistics interval, milliseconds; 0: no TrafficStats.
  int stats_interval_ms = 60000;

  bool operator==(const TrafficRulesOptions&) const = default;
};

// Returns ok, or InvalidArgument naming the first bad item ("rules.zones[1].polygon: ...").
Status ValidateTrafficRulesOptions(const TrafficRulesOptions& options);

enum class RuleEventType {
  kLineCrossed,
  kZoneEntered,
  kZoneLeft,
  kVehicleStopped,
  kWrongWay,
  kSpeeding,
  kTrafficStats
};
const char* RuleEventTypeName(RuleEventType type);  // "line_crossed", "zone_entered", ...

// Per-lane traffic over one interval.
struct LaneStats {
  int64_t interval_start_us = 0;  // the interval is [start, end)
  int64_t interval_end_us = 0;
  int count = 0;              // vehicles that entered the lane in the interval
  float mean_speed_kmh = -1;  // mean over frames of moving vehicles' speeds; -1: unknown
  float occupancy = 0;        // fraction of the interval with a vehicle in the lane
  float mean_headway_s = -1;  // mean time between consecutive entries; -1: fewer than two
  int queue_length = 0;       // most stationary vehicles in the lane at once
};

struct RuleEvent {
  RuleEventType type = RuleEventType::kLineCrossed;
  int64_t time_us = 0;                               // time of the frame in which the rule fired
  std::string rule_id;                               // the line's, zone's or lane's id
  uint64_t track_id = 0;                             // the track (0 for TrafficStats)
  ObjectClass object_class = ObjectClass::kUnknown;  // the track's class at the event
  cv::Point2f anchor;    // the track's bottom-centre at the event, pixels
  int direction = 0;     // LineCrossed: +1 forward, -1 backward
  float speed_kmh = -1;  // LineCrossed, Speeding, WrongWay: the track's speed; -1: unknown
  float limit = 0;       // Speeding: the limit, km/h; VehicleStopped: max stop, seconds
  float dwell_s = 0;     // ZoneLeft: time in the zone; VehicleStopped: time stopped in it
  float distance = 0;    // WrongWay: distance against the lane (metres, or px uncalibrated)
  LaneStats stats;       // TrafficStats
};

class TrafficRules {
 public:
  static Result<std::unique_ptr<TrafficRules>> Create(const TrafficRulesOptions& options);
  ~TrafficRules();
  TrafficRules(const TrafficRules&) = delete;
  TrafficRules& operator=(const TrafficRules&) = delete;

  // Evaluates the rules on this frame's tracks (`tracks`: live, `ended`: removed in this frame)
  // in a frame of `frame_size` px. `calibration` may be nullptr (no speeds in km/h, distances in
  // px). Returns the events that fired, in a stable order.
  std::vector<RuleEvent> Process(const std::vector<Track>& tracks, const std::vector<Track>& ended,
                                 cv::Size frame_size, const Calibration* calibration,
                                 int64_t time_us);

  // Indices into options().zones of the zones track `id` is in now; empty if unknown.
  std::vector<int> ZonesOf(uint64_t id) const;
  // Index into options().lanes of the lane track `id` is in now (the first match), or -1.
  int LaneOf(uint64_t id) const;
  const TrafficRulesOptions& options() const { return options_; }

 private:
  struct TrackState;
  struct LaneCounters;
  struct FrameInfo;
  explicit TrafficRules(const TrafficRulesOptions& options);
  void Rescale(cv::Size frame_size);
  // Process()'s steps, per confirmed track `t` at `anchor` (pixels), in this order; events go to
  // the frame's list.
  TrackState& StateOf(const Track& t, cv::Point2f box_anchor, int64_t time_us);
  // A track confirmed in this frame: its lines are checked along its tentative trajectory, every
  // measured step but the last (which the frame's own check takes; for a track matched only to
  // its prediction that last point is older than this frame and is not replayed).
  void ReplayTentative(const Track& t, FrameInfo* f, TrackState* s);
  // A new track where a lost one's vehicle would be now continues it (see Lost in the .cc).
  void Continue(const Track& t, int64_t time_us, TrackState* s);
  // Records the confirmed tracks not seen in this frame (coasting or ended) for Continue().
  void FollowLost(const std::vector<Track>& tracks, const std::vector<Track>& ended,
                  int64_t time_us);
  // `replay_end` (ReplayTentative): a step's crossing counts only if the track's latest anchor
  // lies on the side the step crossed to.
  void CheckLines(const Track& t, cv::Point2f anchor, FrameInfo* f, TrackState* s,
                  const cv::Point2f* replay_end = nullptr);
  // True if track `t`'s crossing of line `line` in direction `dir` counts a vehicle already
  // counted there (see Counted in the .cc; `at`: where it crossed, pixels); records the crossing
  // either way.
  bool Recount(const Track& t, int line, int dir, cv::Point2f at, const Calibration* calibration,
               int64_t time_us);
  // Follows the counted vehicles that are seen in this frame; forgets those gone too long.
  void FollowCounted(const std::vector<Track>& tracks, int64_t time_us);
  void CheckZones(const Track& t, cv::Point2f anchor, FrameInfo* f, TrackState* s);
  void CheckLanes(const Track& t, cv::Point2f anchor, FrameInfo* f, TrackState* s);
  // Judged on measured frames only; `previous` is the track's measured anchor before this one.
  void CheckWrongWay(const Track& t, cv::Point2f previous, cv::Point2f anchor, const Lane* lane,
                     FrameInfo* f, TrackState* s);
  void CheckSpeeding(const Track& t, cv::Point2f anchor, const Lane* lane, FrameInfo* f,
                     TrackState* s);
  // Lane occupancy, queue and speed samples of this frame, from the track's lane membership.
  void CountLane(const Track& t, bool measured, FrameInfo* f, const TrackState& s);
  // Ended tracks leave their zones; their state goes.
  void EndTracks(const std::vector<Track>& ended, FrameInfo* f);
  // Lane statistics: this frame's occupancy and queue, and the interval's TrafficStats when due.
  void CloseInterval(FrameInfo* f);

  TrafficRulesOptions options_;
  cv::Size size_;
  std::vector<std::pair<cv::Point2f, cv::Point2f>> lines_px_;
  std::vector<std::vector<cv::Point2f>> zones_px_, lanes_px_;
  std::map<uint64_t, std::unique_ptr<TrackState>> states_;
  struct Counted;
  std::vector<Counted> counted_;  // recent crossings, oldest first
  struct Lost;
  std::vector<Lost> lost_;
  std::vector<LaneCounters> lane_counters_;
  int64_t interval_start_us_ = 0;
  int64_t last_time_us_ = 0;
  bool started_ = false;
};

}  // namespace skynet::analytics
