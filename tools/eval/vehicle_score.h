// Scoring of vehicle analytics (`skynetd analyze --out EVENTS --tracks TRACKS`) against
// skynet-scenegen's vehicle ground truth (NAME.truth.json).
//
// Metrics, all over the analysed frames and stream time after a warm-up (warmup_s):
//   counting    line crossings matched one to one: same line, same direction, |dt| <= 1 s;
//               precision, recall, F1
//   boxes       per analysed frame, confirmed tracks matched in that frame (coasting boxes are
//               predictions, not reported) against truth vehicles at IoU >= 0.5, CLEAR-MOT
//               style: a correspondence is kept while it still overlaps, the rest is assigned
//               by Hungarian on 1 - IoU. Truth vehicles less than `min_visible` visible
//               (occluded or cut by the frame edge) and persons are "don't care": a track
//               at least half inside one (intersection over the track's area >= 0.5, as
//               UA-DETRAC's ignored regions) is neither a hit nor a false positive.
//   MOTA        1 - (misses + false positives + ID switches) / truth boxes
//   stopped     truth stops in a no-parking zone at least the zone's max_stop long must raise
//               VehicleStopped between begin + max_stop - 1 s and end + 1 s; any other
//               VehicleStopped is a false alarm (a second event for a caught stop is counted as
//               a duplicate, not a false alarm)
//   wrong way   truth wrong-way intervals must raise WrongWay for that lane within
//               [begin, end + 1 s]; other WrongWay events are false alarms (duplicates likewise)
//   speed       |reported - true| / true for matched crossings whose event carries a speed
//   distance    (truths with per-object distance_m, the along-the-road scenes) box recall per
//               band of ground distance from the camera: 0-20, 20-40, 40-60, 60-100 m; vehicles
//               beyond max_distance_m are "not analysed": don't care, neither missed nor false,
//               and so is an unmatched track whose box's bottom centre stands beyond it or above
//               the horizon (on the truth's calibration): the road there is not scored
//   double      a reported crossing left over by the one-to-one matching that fits a true
//   counts      crossing (same line, direction, within the tolerance) which another report
//               already matched, and whose track's box (in the analysed frame nearest the event)
//               lies at least half inside that vehicle's box, is the vehicle counted again;
//               double_count_share = double counts / true crossings
//   class       over the box hits: the track's class in that frame against the truth's, in
//               groups an investigator tells apart: two-wheeler (bicycle, motorcycle), car,
//               bus/truck (the classical backend does not tell a bus from a truck); and the
//               two-wheelers' own recall: truth two-wheeler hits classed as two-wheelers
//   colour      per reported track whose box hits are mostly of one truth vehicle with a colour
//               (cars and buses): the colour of its last lifecycle event (VehicleNew/Updated/
//               Ended) against the truth's; "unknown" counts as wrong
// Plain functions on values; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/core/status.h"

namespace skynet::eval {

struct TruthObject {
  int64_t id = 0;
  std::string cls;  // car, bus, truck, motorcycle, bicycle, person
  cv::Rect2d box;   // pixels of the truth video
  double visible = 1;
  double speed_kmh = -1;   // -1: not in the truth
  double distance_m = -1;  // ground distance from the camera; -1: not in the truth (side-on)
  std::string colour;      // the body's paint (cars and buses); empty: none in the truth
};

struct TruthCrossing {
  std::string line;
  int64_t id = 0;
  double t = 0;
  int direction = 0;
};

struct TruthInterval {
  int64_t id = 0;
  std::string where;  // zone (stops) or lane (wrong way)
  double begin = 0, end = 0;
};

struct VehicleTruth {
  double fps = 0;
  double duration = 0;
  int width = 0, height = 0;
  std::vector<std::vector<TruthObject>> frames;  // by frame index
  std::vector<TruthCrossing> crossings;          // vehicles only
  std::vector<TruthInterval> stops;
  std::map<std::string, double> zone_max_stop_s;  // no-parking zones
  std::vector<TruthInterval> wrong_way;
  // The along-the-road scenes: the truth frame's pixels to ground metres (from "calibration")
  // and where the camera stands on the ground ("camera" x_m, 0).
  std::optional<cv::Matx33d> image_to_ground;
  cv::Point2d camera_foot;
};

struct PredictedTrack {
  uint64_t id = 0;
  std::string cls;
  cv::Rect2d box;  // pixels of the analysed frame
  bool confirmed = false;
  bool matched = false;
};

struct PredictedFrame {
  double t = 0;
  int width = 0, height = 0;
  std::vector<PredictedTrack> tracks;
};

struct PredictedEvent {
  double t = 0;       // stream time, seconds
  std::string where;  // line, zone or lane id
  uint64_t track_id = 0;
  int direction = 0;      // crossings
  double speed_kmh = -1;  // crossings: -1 uncalibrated
};

struct VehicleEvents {
  std::vector<PredictedEvent> crossings, stops, wrong_way;
  // The colour of each track's last lifecycle event ("red", ...; "unknown"), by track id.
  std::map<uint64_t, std::string> track_colours;
};

struct VehicleScoreOptions {
  // The first seconds are the detector's warm-up (a background seeded from the first frame
  // cannot see vehicles already standing in it): truth and reports before this time are not
  // scored. Crossings after the last analysed frame cannot be seen and are not scored either.
  double warmup_s = 2.0;
  double crossing_tolerance_s = 1.0;
  // A reported crossing does not count a true one when the reporting track is then on other
  // vehicles and not on that one (VehiclesUnder in vehicle_score.cc): a double count of one vehicle
  // must not stand in for a neighbour missed. false: time, line and direction alone (the figures
  // before 2026-12-07).
  bool crossing_on_vehicle = true;
  double iou = 0.5;
  double min_visible = 0.5;
  // Vehicles farther than this (truths with distances) are not analysed: don't care.
  double max_distance_m = 100;
  // Print each double count to stderr (which track counted which true vehicle again).
  bool verbose = false;
};

// Distance bands of box recall: [kDistanceBands[i], kDistanceBands[i + 1]) metres.
inline constexpr double kDistanceBands[] = {0, 20, 40, 60, 100};
inline constexpr int kBandCount = 4;

struct VehicleScore {
  int truth_crossings = 0, reported_crossings = 0, matched_crossings = 0;
  double count_precision = 1, count_recall = 1, count_f1 = 1;
  int64_t truth_boxes = 0, true_positives = 0, false_positives = 0, misses = 0, id_switches = 0;
  double box_precision = 1, box_recall = 1, mota = 1;
  int frames = 0;  // analysed frames scored
  int stops_expected = 0, stops_caught = 0, stop_false_alarms = 0, stop_duplicates = 0;
  int wrong_way_expected = 0, wrong_way_caught = 0, wrong_way_false_alarms = 0,
      wrong_way_duplicates = 0;
  int speeds = 0;               // matched crossings with a speed on both sides
  double speed_mean_error = 0;  // mean of |reported - true| / true
  double speed_max_error = 0;
  double speed_within_10 = 1;  // share of speeds within 10%
  // Box recall by distance band (truths with distances only: has_distances).
  bool has_distances = false;
  int64_t band_boxes[kBandCount] = {}, band_hits[kBandCount] = {};
  int64_t not_analysed = 0;  // vehicle boxes beyond max_distance_m
  // Recall of bands [first, last) together; 1 if they hold no box.
  double BandRecall(int first, int last) const;
  int double_counts = 0;
  double double_count_share = 0;  // double counts / true crossings
  // Classes over the box hits (groups, see the header comment).
  int64_t class_boxes = 0, class_hits = 0;
  int64_t two_wheeler_boxes = 0, two_wheeler_hits = 0;
  double class_accuracy = 1, two_wheeler_recall = 1;
  // Colours over the reported tracks with a coloured truth vehicle.
  int colour_tracks = 0, colour_hits = 0, colour_unknown = 0;
  double colour_accuracy = 1;
  std::map<std::string, std::map<std::string, int>> colour_confusion;  // truth -> reported -> n
};

// Reads scenegen's truth with its vehicle keys (crossings, stops, zones, wrong_way, per-object
// visible and speed_kmh; older truth files without them score as "nothing expected").
Result<VehicleTruth> LoadVehicleTruth(const std::string& path);
// Reads `skynetd analyze --tracks` JSON lines.
Result<std::vector<PredictedFrame>> LoadPredictedTracks(const std::string& path);
// Reads lineCrossed, vehicleStopped and wrongWay events from `skynetd analyze` JSON lines.
Result<VehicleEvents> LoadVehicleEvents(const std::string& path);

VehicleScore ScoreVehicles(const VehicleTruth& truth, const std::vector<PredictedFrame>& tracks,
                           const VehicleEvents& events, const VehicleScoreOptions& options = {});

}  // namespace skynet::eval
