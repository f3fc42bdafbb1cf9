// VehicleAnalytics: one camera's vehicle pipeline behind one call. Detector (any backend, passed
// in) -> tracker -> traffic rules -> attributes, turned into a track lifecycle (new / update /
// end, with updates only on significant change) and rule events, ready to map onto the event
// schema. It also closes the loop back to the detector: after each frame the detector gets a
// SceneContext (calibration, the motion detector's shake shift, stationary and tracked boxes:
// the classical backend keeps parked vehicles out of its background with them) and colour votes
// use the detector's foreground mask where it has one.
//
// Two-wheelers (classical backend, calibrated): a bicycle or motorcycle seen head-on is a box as
// narrow and tall as a pedestrian's, so no single frame tells them apart; its speed does. A track
// the detector calls a person or a two-wheeler (narrow on the ground: the classical detector's
// person and two-wheeler widths) that moves at cyclist speed (>= 10 km/h) in several frames in a
// row, each speed measured over at least 0.6 s of track (earlier ones follow the box's
// jitter), is a bicycle, and at motor traffic speed (>= 32 km/h) in most of them a motorcycle; once
// judged, it stays one (a cyclist waiting at a light is still a cyclist). The tracks the rules, the
// lifecycle and tracks() see carry that class (the tracker's own class votes are left alone).
//
// Pedestrians (classical backend, calibrated, lanes configured): a pedestrian with its shadow, or
// two walking together, is a box as wide as a car's. A track the detector calls anything but a
// bus or truck whose contact point is outside every lane and whose pace over its last 2 s is a
// walker's (2-10 km/h, from the mean ground positions of the window's first and last thirds: a
// far box's jitter averages out) is a person while it is: back to its own class once it stands
// still or moves faster (a car pulling slowly into a parking place is a vehicle again when it
// stops there, for the no-parking rule). Walking overrides a two-wheeler judgement (a far
// pedestrian's jittering box can read cyclist speeds in a few frames in a row; its pace over 2 s
// cannot). The DNN backend keeps its model's classes.
//
// One per camera, on the camera's analytics worker: not thread-safe. Process() never throws and
// never logs; it counts into stats(). The detector is not owned and must outlive this object.
//
//   auto va = VehicleAnalytics::Create(options, detector.get());  // Result<unique_ptr<...>>
//   MotionObservation m = motion->Process(frame.image, frame.capture_time_us);
//   VehicleObservation o = (*va)->Process(frame.image, m, frame.capture_time_us);
//   for (const VehicleTrackEvent& e : o.track_events) Publish(e);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/analytics/calibration.h"
#include "pipeline/analytics/detection.h"
#include "pipeline/analytics/motion_detector.h"
#include "pipeline/analytics/tracker.h"
#include "pipeline/analytics/traffic_rules.h"
#include "pipeline/analytics/vehicle_colour.h"
#include "pipeline/core/status.h"

namespace skynet::analytics {

struct VehicleAnalyticsOptions {
  TrackerOptions tracker;
  TrafficRulesOptions rules;
  // Ground-plane calibration; none: speeds and sizes in metres are unavailable, classes by
  // relative size.
  std::optional<CalibrationConfig> calibration;
  // The camera's motion masks (normalised polygons, as MotionOptions::masks), for the detector
  // (SceneContext::masks). Not configured under vehicles: copied from the camera's motion.masks.
  std::vector<std::vector<cv::Point2f>> motion_masks;
  // An update is sent for a better snapshot when its score is this many times the last sent one...
  float snapshot_improvement = 1.5f;
  // ...and at least this long after the last snapshot update, milliseconds.
  int snapshot_update_interval_ms = 2000;
  // Colour votes are taken on a better snapshot and on every this many matched frames.
  int colour_every_frames = 5;

  bool operator==(const VehicleAnalyticsOptions&) const = default;
};

// Returns ok, or InvalidArgument naming the first bad field (tracker.*, rules.*, calibration.*).
Status ValidateVehicleAnalyticsOptions(const VehicleAnalyticsOptions& options);

enum class TrackEventType { kNew, kUpdate, kEnd };
const char* TrackEventTypeName(TrackEventType type);  // "new", "update", "end"

// Why an update was sent (bits of VehicleTrackEvent::changes).
enum TrackChange : uint32_t {
  kChangeZone = 1u << 0,        // the set of zones the vehicle is in changed
  kChangeLane = 1u << 1,        // it changed lanes
  kChangeSnapshot = 1u << 2,    // a clearly better snapshot
  kChangeClass = 1u << 3,       // the majority class changed
  kChangeColour = 1u << 4,      // the colour changed
  kChangeStationary = 1u << 5,  // it stopped or started moving
};

struct Snapshot {
  cv::Mat crop;         // BGR pixels of the box (a clone: owns its data); empty if none yet
  cv::Rect box;         // the box in the frame it was taken from, pixels
  int64_t time_us = 0;  // capture time of that frame
  float score = 0;      // SnapshotScore() of it
};

struct VehicleTrackEvent {
  TrackEventType type = TrackEventType::kNew;
  int64_t time_us = 0;  // frame time of the event
  Track track;          // the track's state at the event (class, box, speed, size, trajectory...)
  VehicleColour colour = VehicleColour::kUnknown;  // dominant colour so far
  float colour_confidence = 0;                     // share of the colour votes, [0, 1]
  ColourHistogram colour_histogram{};              // of the body so far, normalised (or zeros)
  std::vector<std::string> zones;                  // ids of the zones the anchor is in
  std::string lane;                                // id of its lane, or empty
  float heading_deg = 0;  // direction of travel on screen, degrees: 0 = right, 90 = down
  uint32_t changes = 0;   // kUpdate: TrackChange bits
  Snapshot snapshot;      // best so far (kNew: the first; kUpdate: set with kChangeSnapshot; kEnd)
};

struct VehicleObservation {
  std::vector<VehicleTrackEvent> track_events;  // lifecycle events of this frame
  std::vector<RuleEvent> rule_events;           // rule events of this frame
  std::vector<Track> tracks;                    // confirmed live tracks after this frame
};

struct VehicleAnalyticsStats {
  uint64_t frames = 0;
  uint64_t detections = 0;
  uint64_t tracks_started = 0;  // kNew events
  uint64_t tracks_ended = 0;    // kEnd events
  uint64_t track_updates = 0;   // kUpdate events
  uint64_t rule_events = 0;
  uint64_t calibration_errors = 0;  // calibration could not be built for the frame size
  uint64_t rejected_frames = 0;     // empty frames, OpenCV errors
};

class VehicleAnalytics {
 public:
  // InvalidArgument for bad options or a null detector.
  static Result<std::unique_ptr<VehicleAnalytics>> Create(const VehicleAnalyticsOptions& options,
                                                          VehicleDetector* detector);
  ~VehicleAnalytics();
  VehicleAnalytics(const VehicleAnalytics&) = delete;
  VehicleAnalytics& operator=(const VehicleAnalytics&) = delete;

  // Analyses one BGR frame (detect size) with the motion detector's observation of the same
  // frame. `time_us`: capture time, monotonic per camera.
  VehicleObservation Process(const cv::Mat& frame, const MotionObservation& motion,
                             int64_t time_us);

  // Calibration for the current frame size, or nullptr.
  // Ends every live track with its kEnd event (zones and lane cleared), as if it had left: the
  // camera is going away (removed, disabled, stopped). `time_us`: the last analysed frame's.
  VehicleObservation Close(int64_t time_us);

  const Calibration* calibration() const { return calibration_ ? &*calibration_ : nullptr; }
  const Tracker& tracker() const { return *tracker_; }
  // The tracker's live tracks of the latest frame with the attributes above (two-wheelers).
  const std::vector<Track>& tracks() const { return tracks_; }
  // The detector's output for the latest frame, in frame pixels (before tracking).
  const std::vector<Detection>& detections() const { return detections_; }
  const VehicleAnalyticsStats& stats() const { return stats_; }

 private:
  struct TrackInfo;
  struct Motion;  // a track's speeds so far, for the two-wheeler judgement
  // Copies the tracker's tracks into tracks_ / ended_ with their attributed classes.
  void Attribute();
  VehicleAnalytics(const VehicleAnalyticsOptions& options, VehicleDetector* detector,
                   std::unique_ptr<Tracker> tracker, std::unique_ptr<TrafficRules> rules);
  void Lifecycle(const cv::Mat& frame, int64_t time_us, VehicleObservation* obs);
  ObjectClass AttributedClass(const Track& t, bool update);
  // The pedestrian judgement (see the header): whether `t` walks now, updating its state.
  bool Walking(const Track& t);
  // Whether `t`'s contact point lies outside every configured lane (context_.lanes; false
  // without lanes).
  bool OutsideLanes(const Track& t) const;
  VehicleTrackEvent MakeEvent(TrackEventType type, const Track& t, const TrackInfo& info,
                              int64_t time_us) const;

  VehicleAnalyticsOptions options_;
  VehicleDetector* detector_;
  SceneContext context_;  // for the detector's next frame
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<TrafficRules> rules_;
  std::optional<Calibration> calibration_;
  std::vector<Detection> detections_;
  cv::Size size_;
  std::map<uint64_t, std::unique_ptr<TrackInfo>> info_;
  std::map<uint64_t, Motion> motion_;
  std::vector<Track> tracks_, ended_;  // Attribute()
  VehicleAnalyticsStats stats_;
};

}  // namespace skynet::analytics
