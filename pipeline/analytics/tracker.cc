#include "pipeline/analytics/tracker.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>
#include <string>

#include "pipeline/analytics/hungarian.h"

namespace skynet::analytics {
namespace {

constexpr int kNumClasses = static_cast<int>(ObjectClass::kPerson) + 1;
// A track whose box has less than this fraction inside the frame has left the view.
constexpr float kMinInsideFraction = 0.2f;
// Velocity uncertainty of a new track, box widths per second.
constexpr float kInitialVelocityStd = 3.0f;
// Size changes more slowly than position: its process noise is this fraction of the centre's.
constexpr float kSizeNoiseFactor = 0.5f;
// A track seen once has no velocity yet: its distance gate is this many times wider.
constexpr float kNewTrackGateFactor = 2.0f;
// Ground speed needs this much time span in the window, seconds (shorter is too noisy).
constexpr double kMinSpeedSpanS = 0.3;
// No road vehicle in a city is faster (km/h): a ground speed above it is a measurement that
// failed (a young track over a merged or broken blob), not a speed, and none is reported.
constexpr float kMaxPlausibleKmh = 250.f;
// ...from boxes whose real width and height agree within this factor with the window's median
// (the vehicle's own size: not a part of it, nor it merged with a neighbour).
constexpr float kSizeAgree = 1.4f;
// Merged blobs (SplitMerged): a track counts as inside a detection when this share of its
// predicted box is; it must have been seen within this many frames; and the detection must be
// at least this many times the largest such track's area.
constexpr float kSplitInside = 0.7f;
constexpr int kSplitMaxMisses = 2;
constexpr float kSplitMinGrowth = 1.3f;
// A confirmed track's detection taller than this many times its predicted height is clipped to
// the predicted rows, grown by this fraction of the height above and below.
constexpr float kMaxHeightJump = 1.35f;
constexpr float kHeightMargin = 0.1f;
// ...unless the track (calibrated) is lower than any vehicle, this many metres: a piece of one
// (its roof line, its shadow's edge) whose detection is now the whole vehicle; clipped, it would
// stay a sliver on the vehicle for good.
constexpr float kMinVehicleHeightM = 1.0f;
// "Much taller" is judged against the tallest recent measurement too, which decays by this per
// matched frame (Filter::tall_height).
constexpr float kTallDecay = 0.95f;
// A tentative track matches no detection this many times larger or smaller than its box.
constexpr float kTentativeMaxAreaRatio = 3.f;
// A confirmed track matches no detection of an incompatible kind (a person or two-wheeler and a
// car or larger) this many times larger or smaller than its box: a cyclist's track does not take
// over the piece of a truck passing it, nor a car's the walker beside it.
constexpr float kKindChangeMaxAreaRatio = 2.f;
// After a correction the filtered width and height stay within these factors of the measured
// ones (their velocity is zeroed when clamped).
constexpr std::pair<float, float> kSizeClamp = {0.8f, 1.25f};
// A first detection this close to the left or right edge is a vehicle entering the view.
constexpr float kEdgePx = 2.f;
// A stationary track starts moving again only beyond this many times stationary_radius, for
// this many matched frames in a row.
constexpr float kStationaryLeaveFactor = 2.0f;
constexpr int kLeaveFrames = 3;
// A stop is dated from when the centre came to rest: within this share of stationary_radius
// (at least kRestMinPx, the detection's own quantisation) of where it rests, until this many
// matched frames in a row lie beyond it. The anchor of the stationary test (within the whole
// radius) is reached while a braking car still creeps: a stop dated from it starts up to a
// second early, and a no-parking alarm fires before the car has stood for the zone's limit.
// Set once, when the track becomes stationary.
constexpr float kRestFactor = 0.25f;
constexpr float kRestMinPx = 1.0f;
constexpr int kRestLeaveFrames = 2;
// A stationary track freezes the background only if it travelled this many box widths first.
constexpr float kArrivedWidths = 0.5f;
// Laplacian variance at which sharpness counts one half.
constexpr double kSharpnessHalf = 100.0;

float IoU(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.f;
}

cv::Point2f Centre(const cv::Rect2f& r) { return {r.x + r.width * 0.5f, r.y + r.height * 0.5f}; }

// Vehicles and people never turn into one another; unknown matches anything.
bool Compatible(ObjectClass a, ObjectClass b) {
  if (a == ObjectClass::kUnknown || b == ObjectClass::kUnknown) return true;
  const bool pa = a == ObjectClass::kPerson || a == ObjectClass::kBicycle;
  const bool pb = b == ObjectClass::kPerson || b == ObjectClass::kBicycle;
  return pa == pb;
}

// Two tracks inside one detection are distinct objects (not fragments of one vehicle) when they
// are of incompatible kinds, ride at different heights (different lanes or the sidewalk), or
// move clearly differently.
bool Distinct(const Track& a, const Track& b) {
  if (!Compatible(a.object_class, b.object_class)) return true;
  const float overlap_y = std::min(a.box.br().y, b.box.br().y) - std::max(a.box.y, b.box.y);
  if (overlap_y < 0.5f * std::min(a.box.height, b.box.height)) return true;
  const float dv = static_cast<float>(cv::norm(a.velocity_px_s - b.velocity_px_s));
  const float vmax =
      static_cast<float>(std::max(cv::norm(a.velocity_px_s), cv::norm(b.velocity_px_s)));
  return dv > 0.5f * vmax + 0.5f * std::min(a.box.width, b.box.width);
}

}  // namespace

struct Tracker::Filter {
  cv::KalmanFilter kf{8, 4, 0, CV_32F};
  std::array<float, kNumClasses> votes{};
  cv::Point2f origin;     // the first detection's centre
  float last_height = 0;  // of the latest measurement (after merge clipping)
  // The tallest recent measurement, decaying by kTallDecay per matched frame: the object's own
  // height when a few partial measurements (its top merged away) have shrunk the filter's.
  float tall_height = 0;
  // The first detection touched the frame's edges: the sum of their inward normals (zero if
  // none). The track entered the view there when it has since moved that way.
  cv::Point2f edge_inward;
  int away_frames = 0;  // stationary: consecutive matched frames away from the rest point
  cv::Point2f anchor;   // stationary test: where the detection centre has stayed since
  int64_t anchor_us = 0;
  // Where the centre came to rest (kRestFactor) and since when, and the consecutive matched
  // frames beyond it: dates the stop.
  cv::Point2f rest;
  int64_t rest_us = 0;
  int rest_away_frames = 0;
  // Measured boxes over the speed window (time, box), oldest first.
  std::vector<std::pair<int64_t, cv::Rect2f>> recent;
};

Status ValidateTrackerOptions(const TrackerOptions& o) {
  auto check_class = [](const TrackerClassParams& p, const std::string& name) -> Status {
    if (p.confirm_hits < 1 || p.confirm_hits > 100) {
      return Status::InvalidArgument(name + ".confirm_hits: must be in [1, 100]");
    }
    if (p.max_coast_ms < 0 || p.max_coast_stationary_ms < p.max_coast_ms) {
      return Status::InvalidArgument(name +
                                     ".max_coast_ms: must be >= 0 and <= max_coast_stationary_ms");
    }
    if (!(p.accel_noise > 0)) return Status::InvalidArgument(name + ".accel_noise: must be > 0");
    return Status::Ok();
  };
  SKYNET_RETURN_IF_ERROR(check_class(o.defaults, "tracker"));
  for (const auto& [c, p] : o.per_class) {
    SKYNET_RETURN_IF_ERROR(check_class(p, std::string("tracker.classes.") + ObjectClassName(c)));
  }
  if (!(o.min_iou > 0 && o.min_iou < 1)) {
    return Status::InvalidArgument("tracker.min_iou: must be in (0, 1)");
  }
  if (!(o.max_centre_distance >= 0)) {
    return Status::InvalidArgument("tracker.max_centre_distance: must be >= 0");
  }
  if (o.stationary_after_ms < 0 || !(o.stationary_radius > 0)) {
    return Status::InvalidArgument(
        "tracker.stationary_after_ms/stationary_radius: must be >= 0 / > 0");
  }
  if (o.trajectory_points < 2) {
    return Status::InvalidArgument("tracker.trajectory_points: must be >= 2");
  }
  if (o.speed_window_ms < 100) {
    return Status::InvalidArgument("tracker.speed_window_ms: must be >= 100");
  }
  if (!(o.measurement_noise > 0)) {
    return Status::InvalidArgument("tracker.measurement_noise: must be > 0");
  }
  return Status::Ok();
}

float SnapshotScore(const cv::Mat& frame, const cv::Rect2f& box) {
  if (frame.empty()) return 0.f;
  const cv::Rect full(0, 0, frame.cols, frame.rows);
  const cv::Rect r = cv::Rect(box) & full;
  if (r.width < 3 || r.height < 3) return 0.f;
  cv::Mat gray, lap;
  if (frame.channels() == 3) {
    cv::cvtColor(frame(r), gray, cv::COLOR_BGR2GRAY);
  } else {
    gray = frame(r);
  }
  cv::Laplacian(gray, lap, CV_16S);
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev);
  const double var = stddev[0] * stddev[0];
  const double sharpness = var / (var + kSharpnessHalf);
  // Larger is better up to a tenth of the frame; beyond that the crop is plenty.
  const double size = std::min(1.0, r.area() / (0.1 * full.area()));
  const bool touches = box.x <= 1 || box.y <= 1 || box.x + box.width >= frame.cols - 1 ||
                       box.y + box.height >= frame.rows - 1;
  return static_cast<float>(size * sharpness * (touches ? 0.5 : 1.0));
}

Result<std::unique_ptr<Tracker>> Tracker::Create(const TrackerOptions& options) {
  SKYNET_RETURN_IF_ERROR(ValidateTrackerOptions(options));
  return std::unique_ptr<Tracker>(new Tracker(options));
}

Tracker::Tracker(const TrackerOptions& options) : options_(options) {}
Tracker::~Tracker() = default;

const TrackerClassParams& Tracker::ParamsFor(ObjectClass c) const {
  const auto it = options_.per_class.find(c);
  return it == options_.per_class.end() ? options_.defaults : it->second;
}

void Tracker::Reset() {
  tracks_.clear();
  filters_.clear();
  ended_.clear();
  started_ = false;
}

std::vector<cv::Rect2f> Tracker::StationaryBoxes() const {
  std::vector<cv::Rect2f> boxes;
  for (const Track& t : tracks_) {
    if (t.confirmed && t.stationary && t.travelled_px >= kArrivedWidths * t.box.width) {
      boxes.push_back(t.box);
    }
  }
  return boxes;
}

void Tracker::Predict(int64_t time_us) {
  const float dt =
      started_ ? static_cast<float>(std::max<int64_t>(0, time_us - last_time_us_)) * 1e-6f : 0.f;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& t = tracks_[i];
    cv::KalmanFilter& kf = filters_[i]->kf;
    cv::setIdentity(kf.transitionMatrix);
    for (int k = 0; k < 4; ++k) kf.transitionMatrix.at<float>(k, k + 4) = dt;
    // Discrete white-noise acceleration, per axis, scaled by the box so that one setting suits
    // near and far vehicles.
    const float a = ParamsFor(t.object_class).accel_noise * std::max(4.f, t.box.width);
    kf.processNoiseCov.setTo(0);
    for (int k = 0; k < 4; ++k) {
      const float s = k < 2 ? a : a * kSizeNoiseFactor;
      const float q = s * s;
      const float dt2 = std::max(dt, 1e-3f) * std::max(dt, 1e-3f);
      kf.processNoiseCov.at<float>(k, k) = q * dt2 * dt2 / 4;
      kf.processNoiseCov.at<float>(k, k + 4) = q * dt2 * std::max(dt, 1e-3f) / 2;
      kf.processNoiseCov.at<float>(k + 4, k) = q * dt2 * std::max(dt, 1e-3f) / 2;
      kf.processNoiseCov.at<float>(k + 4, k + 4) = q * dt2;
    }
    const cv::Mat s = kf.predict();
    t.box = cv::Rect2f(s.at<float>(0) - s.at<float>(2) / 2, s.at<float>(1) - s.at<float>(3) / 2,
                       std::max(1.f, s.at<float>(2)), std::max(1.f, s.at<float>(3)));
    ++t.age_frames;
  }
}

std::vector<Detection> Tracker::SplitMerged(const std::vector<Detection>& detections) const {
  if (!options_.split_merged) return detections;
  std::vector<Detection> out;
  out.reserve(detections.size());
  std::vector<int> inside;
  for (const Detection& d : detections) {
    // Confirmed tracks seen lately whose predicted box lies mostly inside this detection.
    inside.clear();
    float largest = 0;
    for (int i = 0; i < static_cast<int>(tracks_.size()); ++i) {
      const Track& t = tracks_[i];
      if (!t.confirmed || t.misses > kSplitMaxMisses || t.box.area() <= 0) continue;
      if ((t.box & d.box).area() < kSplitInside * t.box.area()) continue;
      inside.push_back(i);
      largest = std::max(largest, t.box.area());
    }
    bool split = inside.size() >= 2 && d.box.area() >= kSplitMinGrowth * largest;
    for (size_t a = 0; split && a < inside.size(); ++a) {
      for (size_t b = a + 1; split && b < inside.size(); ++b) {
        split = Distinct(tracks_[inside[a]], tracks_[inside[b]]);
      }
    }
    if (!split) {
      out.push_back(d);
      continue;
    }
    // The blob is several known objects that touch on screen (a car passing a pedestrian, two
    // lanes' vehicles overlapping): each continues as its predicted box, cut to the blob.
    for (int i : inside) {
      Detection part = d;
      part.box = tracks_[i].box & d.box;
      part.predicted = true;
      part.object_class = tracks_[i].object_class == ObjectClass::kUnknown
                              ? d.object_class
                              : tracks_[i].object_class;
      out.push_back(part);
    }
  }
  return out;
}

void Tracker::Update(const std::vector<Detection>& detections_in, const cv::Mat& frame,
                     int64_t time_us) {
  ended_.clear();
  frame_size_ = frame.size();
  if (started_ && time_us < last_time_us_) time_us = last_time_us_;
  Predict(time_us);
  last_time_us_ = time_us;
  started_ = true;

  const std::vector<Detection> detections = SplitMerged(detections_in);
  const std::vector<int> match = Match(detections);
  const int m = static_cast<int>(detections.size());
  std::vector<char> detection_used(m, false);
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& t = tracks_[i];
    Filter& f = *filters_[i];
    t.matched = match[i] >= 0;
    t.matched_prediction = t.matched && detections[match[i]].predicted;
    t.snapshot_score = 0;
    if (!t.matched) {
      ++t.misses;
      if (t.stationary) {
        // A parked vehicle does not drift while the detector misses it.
        for (int k = 4; k < 8; ++k) f.kf.statePost.at<float>(k) = 0;
      }
      continue;
    }
    detection_used[match[i]] = true;
    Correct(detections[match[i]], time_us, t, f);
  }
  // Unmatched detections start tentative tracks.
  for (int j = 0; j < m; ++j) {
    if (!detection_used[j]) Start(detections[j], frame, time_us);
  }
  FinishAll(frame, time_us);
}

std::vector<int> Tracker::Match(const std::vector<Detection>& detections) const {
  // Cost matrix: tracks x detections.
  const int n = static_cast<int>(tracks_.size());
  const int m = static_cast<int>(detections.size());
  std::vector<double> cost(static_cast<size_t>(n) * m, kForbiddenCost);
  std::vector<double> overlaps(cost.size(), kForbiddenCost);  // the pairs whose boxes overlap
  for (int i = 0; i < n; ++i) {
    const Track& t = tracks_[i];
    const cv::Point2f pc = Centre(t.box);
    const float diag = std::hypot(t.box.width, t.box.height);
    const float gate =
        options_.max_centre_distance * diag * (t.hits <= 1 ? kNewTrackGateFactor : 1.f);
    for (int j = 0; j < m; ++j) {
      const Detection& d = detections[j];
      const float iou = IoU(t.box, d.box);
      double c = kForbiddenCost;
      if (iou >= options_.min_iou) {
        c = 1.0 - iou;
      } else if (gate > 0) {
        const float dist = static_cast<float>(cv::norm(Centre(d.box) - pc));
        if (dist <= gate) c = 1.0 + dist / gate;
      }
      if (c < kForbiddenCost && !Compatible(t.object_class, d.object_class)) {
        c += options_.class_mismatch_cost;
        const float ratio = t.box.area() / std::max(1.f, d.box.area());
        if (ratio > kKindChangeMaxAreaRatio || ratio < 1 / kKindChangeMaxAreaRatio) {
          c = kForbiddenCost;
        }
      }
      // A tentative track has no history to vouch for a change of kind or a jump in size: a
      // car passing a pedestrian seen once is another object.
      if (!t.confirmed && c < kForbiddenCost) {
        const float ratio = t.box.area() / std::max(1.f, d.box.area());
        if (!Compatible(t.object_class, d.object_class) || ratio > kTentativeMaxAreaRatio ||
            ratio < 1 / kTentativeMaxAreaRatio) {
          c = kForbiddenCost;
        }
      }
      cost[i * m + j] = c;
      if (iou >= options_.min_iou) overlaps[i * m + j] = c;
    }
  }
  // Two rounds: overlaps first, then what is left by distance, so that a track never gives up
  // the detection it overlaps to pass on to a neighbour's by a distance (a cheaper total is not
  // a better answer when it trades an overlap for a guess).
  std::vector<int> match = SolveAssignment(overlaps, n, m);
  std::vector<char> taken(m, false);
  for (int i = 0; i < n; ++i) {
    if (match[i] >= 0) taken[match[i]] = true;
  }
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < m; ++j) {
      if (match[i] >= 0 || taken[j]) cost[i * m + j] = kForbiddenCost;
    }
  }
  const std::vector<int> rest = SolveAssignment(cost, n, m);
  for (int i = 0; i < n; ++i) {
    if (match[i] < 0) match[i] = rest[i];
  }
  return match;
}

void Tracker::Correct(Detection d, int64_t time_us, Track& t, Filter& f) {
  // A vehicle's height does not jump between frames: a detection much taller than the track
  // (predicted, or last measured if the prediction is shrinking) is the track's object merged
  // with something above or below it (a pedestrian on the kerb, a vehicle in the next lane).
  // Measure only the track's rows, with a margin, so the box and its bottom-centre anchor stay
  // on the object.
  const float ref_h = std::max({t.box.height, f.last_height, f.tall_height});
  const bool sliver = calibration_ != nullptr && IsVehicle(t.object_class) &&
                      calibration_->FootprintOf(t.box).height_m < kMinVehicleHeightM;
  if (t.confirmed && !sliver && d.box.height > kMaxHeightJump * ref_h) {
    const float top = std::max(d.box.y, t.box.y - kHeightMargin * ref_h);
    const float bottom = std::min(d.box.br().y, t.box.y + ref_h * (1 + kHeightMargin));
    if (bottom > top) {
      d.box.y = top;
      d.box.height = bottom - top;
    }
  }
  const float mn = options_.measurement_noise;
  const float w = std::max(2.f, d.box.width), h = std::max(2.f, d.box.height);
  f.kf.measurementNoiseCov.at<float>(0, 0) = (mn * w) * (mn * w);
  f.kf.measurementNoiseCov.at<float>(1, 1) = (mn * h) * (mn * h);
  f.kf.measurementNoiseCov.at<float>(2, 2) = 2 * (mn * w) * (mn * w);
  f.kf.measurementNoiseCov.at<float>(3, 3) = 2 * (mn * h) * (mn * h);
  const cv::Point2f c = Centre(d.box);
  const cv::Mat z = (cv::Mat_<float>(4, 1) << c.x, c.y, d.box.width, d.box.height);
  f.last_height = d.box.height;
  f.tall_height = std::max(kTallDecay * f.tall_height, d.box.height);
  f.kf.correct(z);
  // The size has momentum in the filter: after a merged blob (a pedestrian passing) the box
  // would shrink past the vehicle and on to nothing. Keep it within reach of what was seen.
  for (int k = 2; k < 4; ++k) {
    float& size = f.kf.statePost.at<float>(k);
    const float seen = z.at<float>(k);
    if (size < kSizeClamp.first * seen || size > kSizeClamp.second * seen) {
      size = std::clamp(size, kSizeClamp.first * seen, kSizeClamp.second * seen);
      f.kf.statePost.at<float>(k + 4) = 0;
    }
  }
  f.votes[static_cast<int>(d.object_class)] += std::max(0.1f, d.score);
  ++t.hits;
  t.misses = 0;
  t.last_seen_us = time_us;
  t.detection_score = d.score;
  t.travelled_px = std::max(t.travelled_px, static_cast<float>(cv::norm(c - f.origin)));
  // Stationary: the detected centre has stayed near one point for long enough.
  // Hysteresis: a stationary vehicle starts again only when it is away from where it stopped
  // (twice the radius) for kLeaveFrames matched frames, or by more than its own size at once,
  // so that a pedestrian passing a parked car (a merged, wider blob for a second or two) does
  // not restart its stop.
  const float radius = options_.stationary_radius * std::min(d.box.width, d.box.height);
  const float dist = static_cast<float>(cv::norm(c - f.anchor));
  if (cv::norm(c - f.rest) <= std::max(kRestMinPx, kRestFactor * radius)) {
    f.rest_away_frames = 0;
  } else if (++f.rest_away_frames >= kRestLeaveFrames) {
    f.rest = c;
    f.rest_us = time_us;
    f.rest_away_frames = 0;
  }
  if (t.stationary) {
    const bool away = dist > kStationaryLeaveFactor * radius;
    f.away_frames = away ? f.away_frames + 1 : 0;
    if (f.away_frames >= kLeaveFrames || dist > std::max(d.box.width, d.box.height)) {
      f.anchor = c;
      f.anchor_us = time_us;
      f.away_frames = 0;
      t.stationary = false;
    }
  } else if (dist > radius) {
    f.anchor = c;
    f.anchor_us = time_us;
  } else if (time_us - f.anchor_us >= int64_t{options_.stationary_after_ms} * 1000) {
    t.stationary_since_us = std::max(f.anchor_us, f.rest_us);
    t.stationary = true;
    f.away_frames = 0;
  }
  if (!d.predicted) AddMeasurement(time_us, d.box, t, f);
}

void Tracker::Start(const Detection& d, const cv::Mat& frame, int64_t time_us) {
  Track t;
  t.id = next_id_++;
  t.first_seen_us = t.last_seen_us = time_us;
  t.hits = 1;
  t.matched = true;
  t.matched_prediction = d.predicted;
  t.detection_score = d.score;
  auto f = std::make_unique<Filter>();
  const cv::Point2f c = Centre(d.box);
  f->kf.statePost = (cv::Mat_<float>(8, 1) << c.x, c.y, d.box.width, d.box.height, 0, 0, 0, 0);
  cv::setIdentity(f->kf.measurementMatrix);
  cv::setIdentity(f->kf.measurementNoiseCov);
  const float mn = options_.measurement_noise;
  const float w = std::max(2.f, d.box.width), h = std::max(2.f, d.box.height);
  const float pos[4] = {mn * w, mn * h, mn * w, mn * h};
  f->kf.errorCovPost.setTo(0);
  for (int k = 0; k < 4; ++k) {
    f->kf.errorCovPost.at<float>(k, k) = pos[k] * pos[k];
    const float v = kInitialVelocityStd * (k % 2 == 0 ? w : h) * (k < 2 ? 1.f : kSizeNoiseFactor);
    f->kf.errorCovPost.at<float>(k + 4, k + 4) = v * v;
  }
  f->votes[static_cast<int>(d.object_class)] += std::max(0.1f, d.score);
  f->anchor = c;
  f->origin = c;
  f->last_height = d.box.height;
  f->tall_height = d.box.height;
  if (!frame.empty()) {
    f->edge_inward = {
        (d.box.x <= kEdgePx ? 1.f : 0.f) - (d.box.br().x >= frame.cols - kEdgePx ? 1.f : 0.f),
        (d.box.y <= kEdgePx ? 1.f : 0.f) - (d.box.br().y >= frame.rows - kEdgePx ? 1.f : 0.f)};
  }
  f->anchor_us = time_us;
  f->rest = c;
  f->rest_us = time_us;
  AddMeasurement(time_us, d.box, t, *f);
  tracks_.push_back(std::move(t));
  filters_.push_back(std::move(f));
}

void Tracker::FinishAll(const cv::Mat& frame, int64_t time_us) {
  // Finish every track's state; remove the dead.
  size_t out = 0;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& t = tracks_[i];
    Filter& f = *filters_[i];
    Finish(t, f, time_us);
    if (t.matched) {
      t.snapshot_score = SnapshotScore(frame, t.box);
      t.best_snapshot_score = std::max(t.best_snapshot_score, t.snapshot_score);
    }
    const TrackerClassParams& p = ParamsFor(t.object_class);
    bool dead = false;
    if (!t.confirmed) {
      dead = t.misses > 0;  // tentative tracks must be seen in consecutive frames
    } else {
      const int coast_ms = t.stationary ? p.max_coast_stationary_ms : p.max_coast_ms;
      dead = time_us - t.last_seen_us > int64_t{coast_ms} * 1000;
    }
    if (!frame.empty() && t.misses > 0) {
      const cv::Rect2f inside = t.box & cv::Rect2f(0, 0, frame.cols, frame.rows);
      if (inside.area() < kMinInsideFraction * t.box.area()) dead = true;
    }
    if (dead) {
      ended_.push_back(std::move(t));
      continue;
    }
    if (out != i) {
      tracks_[out] = std::move(tracks_[i]);
      filters_[out] = std::move(filters_[i]);
    }
    ++out;
  }
  tracks_.resize(out);
  filters_.resize(out);
}

void Tracker::Finish(Track& t, Filter& f, int64_t time_us) {
  const cv::Mat& s = f.kf.statePost;
  t.box = cv::Rect2f(s.at<float>(0) - s.at<float>(2) / 2, s.at<float>(1) - s.at<float>(3) / 2,
                     std::max(1.f, s.at<float>(2)), std::max(1.f, s.at<float>(3)));
  t.velocity_px_s = {s.at<float>(4), s.at<float>(5)};

  int best = 0;
  for (int k = 1; k < kNumClasses; ++k) {
    if (f.votes[k] > f.votes[best] || (best == 0 && f.votes[k] > 0)) best = k;
  }
  t.object_class = static_cast<ObjectClass>(best);
  // A vehicle entering the view across its edge (first seen touching it, moving in since) is
  // confirmed one frame sooner: that is where real traffic comes from, while noise and
  // reflections appear anywhere, and the pieces of a vehicle leaving move out.
  const bool entered =
      f.edge_inward != cv::Point2f() && (Centre(t.box) - f.origin).dot(f.edge_inward) > 0;
  const int need =
      ParamsFor(t.object_class).confirm_hits - (entered && IsVehicle(t.object_class) ? 1 : 0);
  if (!t.confirmed && t.hits >= std::max(1, need)) t.confirmed = true;

  const int64_t window_us = int64_t{options_.speed_window_ms} * 1000;
  size_t old = 0;
  while (old < f.recent.size() && f.recent[old].first < time_us - window_us) ++old;
  f.recent.erase(f.recent.begin(), f.recent.begin() + static_cast<std::ptrdiff_t>(old));

  t.calibrated = calibration_ != nullptr;
  if (!calibration_) return;
  t.size = calibration_->FootprintOf(t.box);
  if (t.stationary) {
    t.velocity_mps = {};
    t.speed_kmh = 0;
    return;
  }
  // Ground velocity: a robust fit of the measured contact points on the ground over the window.
  // Measurements, not the filter's output: the filter lags while its velocity converges and
  // coasts on predictions. Only boxes of the vehicle's own real size count: a box of a part of
  // it (its bumper, its roof) or merged with a neighbour ends elsewhere than its contact point.
  // Without enough of them the previous estimate (or -1) stays.
  std::vector<float> widths, heights;
  std::vector<Footprint> sizes;
  for (const auto& [us, box] : f.recent) {
    sizes.push_back(calibration_->FootprintOf(box));
    widths.push_back(sizes.back().width_m);
    heights.push_back(sizes.back().height_m);
  }
  if (sizes.empty()) return;
  auto median = [](std::vector<float>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  const float mw = median(widths), mh = median(heights);
  auto agrees = [](float size, float typical) {
    return size * kSizeAgree >= typical && size <= kSizeAgree * typical;
  };
  std::vector<TrajectoryPoint> ground;
  ground.reserve(f.recent.size());
  for (size_t k = 0; k < f.recent.size(); ++k) {
    if (!agrees(sizes[k].width_m, mw) || !agrees(sizes[k].height_m, mh)) continue;
    ground.push_back(
        {f.recent[k].first, calibration_->ImageToGround(BottomCentre(f.recent[k].second))});
  }
  const std::optional<cv::Point2f> v =
      RobustVelocity(ground, window_us, static_cast<int64_t>(kMinSpeedSpanS * 1e6));
  if (!v || cv::norm(*v) * 3.6 > kMaxPlausibleKmh) return;
  t.velocity_mps = *v;
  t.speed_kmh = static_cast<float>(cv::norm(t.velocity_mps) * 3.6);
}

void Tracker::AddMeasurement(int64_t time_us, const cv::Rect2f& box, Track& t, Filter& f) {
  const cv::Point2f point = BottomCentre(box);
  t.trajectory.push_back({time_us, point});
  if (static_cast<int>(t.trajectory.size()) > options_.trajectory_points) {
    t.trajectory.erase(t.trajectory.begin());
  }
  // A box cut by the left, right or bottom edge of the frame (a vehicle entering or leaving)
  // does not end where the vehicle touches the road: its bottom-centre slides along the edge
  // and would drag the speed towards zero. It still counts for rules, not for speed.
  const bool cut =
      frame_size_.width > 0 && (box.x <= kEdgePx || box.br().x >= frame_size_.width - kEdgePx ||
                                box.br().y >= frame_size_.height - kEdgePx);
  if (!cut) f.recent.emplace_back(time_us, box);
}

std::optional<cv::Point2f> RobustVelocity(const std::vector<TrajectoryPoint>& points,
                                          int64_t window_us, int64_t min_span_us) {
  if (points.empty()) return std::nullopt;
  const int64_t end_us = points.back().time_us;
  size_t first = 0;
  while (first < points.size() && points[first].time_us < end_us - window_us) ++first;
  const size_t n = points.size() - first;
  if (n < 3 || end_us - points[first].time_us < min_span_us) return std::nullopt;
  std::vector<float> sx, sy;
  sx.reserve(n * (n - 1) / 2);
  sy.reserve(n * (n - 1) / 2);
  for (size_t a = first; a < points.size(); ++a) {
    for (size_t b = a + 1; b < points.size(); ++b) {
      const int64_t dt_us = points[b].time_us - points[a].time_us;
      if (dt_us <= 0) continue;
      const float inv = static_cast<float>(1e6 / static_cast<double>(dt_us));
      sx.push_back((points[b].point.x - points[a].point.x) * inv);
      sy.push_back((points[b].point.y - points[a].point.y) * inv);
    }
  }
  if (sx.empty()) return std::nullopt;
  auto median = [](std::vector<float>& v) {
    const size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    if (v.size() % 2 == 1) return v[mid];
    const float upper = v[mid];
    const float lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
    return 0.5f * (upper + lower);
  };
  return cv::Point2f(median(sx), median(sy));
}

}  // namespace skynet::analytics
