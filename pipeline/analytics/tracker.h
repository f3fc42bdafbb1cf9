// Tracker: gives detections identities over time. A Kalman filter per track (constant velocity
// of the box centre and size) predicts each track into the new frame; the Hungarian algorithm
// matches predictions to detections (cost 1 - IoU, or a gated centre distance when boxes do not
// overlap). Tracks are confirmed after a few hits, coast through short occlusions, and a track
// that stops (a parked vehicle) is kept far longer and flagged stationary, so the detector can
// keep it out of its background model.
//
// One tracker per camera, called from the camera's analytics worker: not thread-safe. Update()
// never throws and never logs.
//
//   auto tracker = Tracker::Create(options);   // Result<unique_ptr<Tracker>>
//   (*tracker)->Update(detections, frame, time_us);
//   for (const Track& t : (*tracker)->tracks()) if (t.confirmed) ...
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <vector>

#include "pipeline/analytics/calibration.h"
#include "pipeline/analytics/detection.h"
#include "pipeline/core/status.h"

namespace skynet::analytics {

// Parameters that differ between kinds of object (a pedestrian stops and turns at will).
struct TrackerClassParams {
  // Matched frames before a track is confirmed (reported); one fewer for a vehicle that entered
  // across the frame's edge (first seen touching it, moving inwards since).
  int confirm_hits = 3;
  // How long a moving confirmed track coasts (predicted only, no detection) before it ends,
  // milliseconds: a time, so that it means the same at any analytics rate.
  int max_coast_ms = 2000;
  // The same for a stationary confirmed track (a parked vehicle the detector lost for a while).
  int max_coast_stationary_ms = 120000;
  // Process noise: acceleration standard deviation, in box widths per second squared.
  float accel_noise = 2.0f;

  bool operator==(const TrackerClassParams&) const = default;
};

struct TrackerOptions {
  // Parameters for classes without an entry in `per_class`.
  TrackerClassParams defaults;
  // Overrides per class, e.g. {kPerson, {.confirm_hits = 4, .max_coast_ms = 1200}}.
  std::map<ObjectClass, TrackerClassParams> per_class = {
      {ObjectClass::kPerson, {4, 1200, 60000, 4.0f}}};
  // A detection may match a track whose predicted box it overlaps with at least this IoU...
  float min_iou = 0.05f;
  // ...or, without overlap, whose predicted centre is within this many predicted box diagonals.
  float max_centre_distance = 0.75f;
  // Extra matching cost when the detection's class is incompatible with the track's (vehicle vs
  // person), in the units of 1 - IoU.
  float class_mismatch_cost = 0.5f;
  // A track is stationary after its centre has stayed within `stationary_radius` (fraction of
  // the box's smaller side) of one point for this long, milliseconds.
  int stationary_after_ms = 3000;
  float stationary_radius = 0.25f;
  // Measured points kept per track in Track::trajectory.
  int trajectory_points = 32;
  // Ground speed (calibrated) is a robust fit over this much recent measured track, milliseconds.
  int speed_window_ms = 1000;
  // Measurement noise of a detection's centre and size, as a fraction of the box's size.
  float measurement_noise = 0.05f;
  // A detection that contains the predicted boxes of two or more confirmed tracks that are
  // distinct objects (person vs vehicle, different heights on screen, different motion) is a
  // merged blob: it is split into those predicted boxes, so that a car passing a pedestrian or
  // overlapping a vehicle in the next lane keeps both identities and boxes.
  bool split_merged = true;

  bool operator==(const TrackerOptions&) const = default;
};

// Returns ok, or InvalidArgument naming the first bad field ("tracker.min_iou: ...").
Status ValidateTrackerOptions(const TrackerOptions& options);

// A measured position: the bottom-centre of the detection matched to the track (where the
// vehicle touches the road), never a prediction.
struct TrajectoryPoint {
  int64_t time_us = 0;
  cv::Point2f point;  // pixels
};

// Velocity of `points` (oldest first) over their last `window_us`: the Theil-Sen estimate (the
// median of the pairwise slopes, per axis), which a few jumps of the box (a part of the vehicle
// hidden or merged for a frame) do not move. Units of `point` per second. Empty if fewer than
// three points or less than `min_span_us` of time in the window.
std::optional<cv::Point2f> RobustVelocity(const std::vector<TrajectoryPoint>& points,
                                          int64_t window_us, int64_t min_span_us);

struct Track {
  uint64_t id = 0;                                   // 1, 2, 3... per tracker
  ObjectClass object_class = ObjectClass::kUnknown;  // majority vote over matched detections
  cv::Rect2f box;                                    // filtered box, pixels
  cv::Point2f velocity_px_s;                         // box-centre velocity, pixels per second
  bool calibrated = false;                           // the fields below in metres are valid
  // Ground velocity (calibrated), metres per second: RobustVelocity() of the measured contact
  // points mapped to the ground, over speed_window_ms.
  cv::Point2f velocity_mps;
  // |velocity_mps| in km/h (calibrated); 0 when stationary; -1 until the track has been measured
  // long enough (inside the frame) for a speed.
  float speed_kmh = -1;
  Footprint size;                           // real size of the box (calibrated)
  int64_t first_seen_us = 0;                // time of the first detection
  int64_t last_seen_us = 0;                 // time of the latest matched detection
  int age_frames = 0;                       // frames since creation
  int hits = 0;                             // matched frames in total
  int misses = 0;                           // consecutive frames without a detection (coasting)
  bool confirmed = false;                   // hits reached confirm_hits (stays true)
  bool matched = false;                     // a detection was matched in the latest frame
  // ...but only its own predicted box cut from a merged blob (Detection::predicted): no
  // measurement, so the trajectory's last point is older and rules treat the frame as coasting.
  bool matched_prediction = false;
  bool stationary = false;                  // has not moved for stationary_after_ms
  int64_t stationary_since_us = 0;          // while stationary: when it came to rest
  float detection_score = 0;                // confidence of the latest matched detection
  // Recent measured points (one per matched frame), oldest first: when `matched`, the last one
  // is this frame's measurement. Rules judge these, never the coasting box.
  std::vector<TrajectoryPoint> trajectory;
  float snapshot_score = 0;       // this frame's snapshot quality (0 when unmatched), see below
  float best_snapshot_score = 0;  // highest snapshot_score so far
  // Farthest the detected centre has been from the first detection, pixels. A vehicle that
  // parked drove in; a blob that never moved (the ghost of a vehicle present when the camera
  // started) did not, so only the former freezes the background (StationaryBoxes()).
  float travelled_px = 0;
};

// Quality of `box` in `frame` as a snapshot: relative size x sharpness (Laplacian variance,
// squashed to [0,1)) x 0.5 if the box touches the frame border. 0 for an empty frame or box.
float SnapshotScore(const cv::Mat& frame, const cv::Rect2f& box);

class Tracker {
 public:
  static Result<std::unique_ptr<Tracker>> Create(const TrackerOptions& options);
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // Ground-plane calibration for metric speed and size; not owned, must outlive the tracker or
  // the next call; nullptr (the default) means uncalibrated.
  void set_calibration(const Calibration* calibration) { calibration_ = calibration; }

  // Advances all tracks to `time_us` and matches `detections` (pixels of `frame`). `frame` (BGR
  // or gray; may be empty) is used only for snapshot scores. Times should increase; a time that
  // goes back is treated as simultaneous.
  void Update(const std::vector<Detection>& detections, const cv::Mat& frame, int64_t time_us);

  // Live tracks after the latest Update(), confirmed and tentative, in creation order.
  const std::vector<Track>& tracks() const { return tracks_; }
  // Tracks removed by the latest Update() (their last state). Includes never-confirmed ones.
  const std::vector<Track>& ended() const { return ended_; }
  // Boxes of confirmed stationary tracks that arrived moving (travelled at least half their
  // width): what a background model must not learn.
  std::vector<cv::Rect2f> StationaryBoxes() const;
  // Drops every track (ids keep counting).
  void Reset();

 private:
  struct Filter;  // Kalman filter and bookkeeping, in the .cc
  explicit Tracker(const TrackerOptions& options);
  const TrackerClassParams& ParamsFor(ObjectClass c) const;
  std::vector<Detection> SplitMerged(const std::vector<Detection>& detections) const;
  void Predict(int64_t time_us);
  // Update()'s steps. For each track the index of its detection, or -1: overlaps first, then
  // what is left by a gated centre distance.
  std::vector<int> Match(const std::vector<Detection>& detections) const;
  // Corrects matched track `t` (filter `f`) with `d`; stationary state and trajectory.
  void Correct(Detection d, int64_t time_us, Track& t, Filter& f);
  // A tentative track for an unmatched detection.
  void Start(const Detection& d, const cv::Mat& frame, int64_t time_us);
  // Finishes every track's state (Finish(), snapshot score) and moves the dead to ended_.
  void FinishAll(const cv::Mat& frame, int64_t time_us);
  void Finish(Track& t, Filter& f, int64_t time_us);
  // Records a measured box's bottom-centre in the trajectory and (unless the frame's edge cuts
  // the box) in the speed window.
  void AddMeasurement(int64_t time_us, const cv::Rect2f& box, Track& t, Filter& f);

  TrackerOptions options_;
  const Calibration* calibration_ = nullptr;
  std::vector<Track> tracks_;
  std::vector<std::unique_ptr<Filter>> filters_;  // parallel to tracks_
  std::vector<Track> ended_;
  uint64_t next_id_ = 1;
  int64_t last_time_us_ = 0;
  cv::Size frame_size_;  // of the latest Update(); empty: unknown
  bool started_ = false;
};

}  // namespace skynet::analytics
