#include "pipeline/analytics/vehicle_analytics.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <optional>

namespace skynet::analytics {
namespace {

// Two-wheelers by motion (see the header): ground speeds, km/h, and how many measured frames.
constexpr float kCyclistMinKmh = 10;
constexpr float kMotorcycleMinKmh = 32;
constexpr int kTwoWheelerFrames = 3;
// ...in a row, each measured on at least this much track: the first estimates, from a few
// frames, jump by tens of km/h with the box's jitter (a pedestrian 50 m away read 30 km/h).
constexpr int64_t kTwoWheelerSettledUs = 600'000;
// Pedestrians by motion (see the header): a small track outside every lane whose pace over its
// last kWalkerUs of measured track is a walker's (at least kWalkerMinKmh, below cyclist speed).
// The pace is the ground distance between the mean contact points of the window's first and last
// thirds over the time between them: a far box's jitter, which makes its speed read anything
// from 0 to 60 km/h frame to frame, averages out; a walker's steady few km/h do not.
constexpr float kWalkerMinKmh = 2;
constexpr int64_t kWalkerUs = 2'000'000;

std::optional<float> PaceKmh(const Track& t, const Calibration& calibration) {
  const std::vector<TrajectoryPoint>& tr = t.trajectory;
  if (tr.empty() || tr.back().time_us - tr.front().time_us < kWalkerUs) return std::nullopt;
  const int64_t from = tr.back().time_us - kWalkerUs;
  size_t first = tr.size() - 1;
  while (first > 0 && tr[first - 1].time_us >= from) --first;
  const size_t n = tr.size() - first;
  if (n < 6) return std::nullopt;
  auto mean = [&](size_t a, size_t b, double* time) {
    cv::Point2f sum;
    double us = 0;
    for (size_t k = a; k < b; ++k) {
      sum += calibration.ImageToGround(tr[k].point);
      us += static_cast<double>(tr[k].time_us);
    }
    *time = us / static_cast<double>(b - a);
    return sum / static_cast<float>(b - a);
  };
  double t0 = 0, t1 = 0;
  const cv::Point2f p0 = mean(first, first + n / 3, &t0);
  const cv::Point2f p1 = mean(tr.size() - n / 3, tr.size(), &t1);
  if (t1 - t0 <= 0) return std::nullopt;
  return static_cast<float>(cv::norm(p1 - p0) / ((t1 - t0) * 1e-6) * 3.6);
}

// Anything a pedestrian's box may be classed by size: all but the large vehicles.
bool PersonSized(ObjectClass c) { return c != ObjectClass::kBus && c != ObjectClass::kTruck; }

bool NarrowUpright(ObjectClass c) {
  return c == ObjectClass::kPerson || c == ObjectClass::kBicycle || c == ObjectClass::kMotorcycle;
}

}  // namespace

struct VehicleAnalytics::Motion {
  int fast = 0;                                // measured frames at cyclist speed or more
  int motor = 0;                               // ...of them at motor traffic speed
  ObjectClass judged = ObjectClass::kUnknown;  // kBicycle / kMotorcycle once judged
  bool walker = false;                         // at walking pace outside the lanes now
};

// What has been reported for a track, and its attributes so far.
struct VehicleAnalytics::TrackInfo {
  bool reported = false;  // kNew sent
  Snapshot best;
  float sent_snapshot_score = 0;
  int64_t sent_snapshot_us = 0;
  std::array<float, kNumVehicleColours> colour_votes{};
  ColourHistogram colour_histogram{};  // summed over the votes
  ColourVote colour;
  int matched_frames = 0;
  // As last reported.
  std::vector<int> zones;
  int lane = -1;
  ObjectClass object_class = ObjectClass::kUnknown;
  VehicleColour sent_colour = VehicleColour::kUnknown;
  bool stationary = false;
};

const char* TrackEventTypeName(TrackEventType type) {
  switch (type) {
    case TrackEventType::kNew:
      return "new";
    case TrackEventType::kUpdate:
      return "update";
    case TrackEventType::kEnd:
      return "end";
  }
  return "unknown";
}

Status ValidateVehicleAnalyticsOptions(const VehicleAnalyticsOptions& o) {
  SKYNET_RETURN_IF_ERROR(ValidateTrackerOptions(o.tracker));
  SKYNET_RETURN_IF_ERROR(ValidateTrafficRulesOptions(o.rules));
  if (o.calibration) SKYNET_RETURN_IF_ERROR(ValidateCalibrationConfig(*o.calibration));
  if (!(o.snapshot_improvement >= 1)) {
    return Status::InvalidArgument("snapshot_improvement: must be >= 1");
  }
  if (o.snapshot_update_interval_ms < 0 || o.colour_every_frames < 1) {
    return Status::InvalidArgument(
        "snapshot_update_interval_ms/colour_every_frames: must be >= 0 / >= 1");
  }
  return Status::Ok();
}

Result<std::unique_ptr<VehicleAnalytics>> VehicleAnalytics::Create(
    const VehicleAnalyticsOptions& options, VehicleDetector* detector) {
  if (detector == nullptr) return Status::InvalidArgument("vehicles: no detector");
  SKYNET_RETURN_IF_ERROR(ValidateVehicleAnalyticsOptions(options));
  auto tracker = Tracker::Create(options.tracker);
  if (!tracker) return tracker.status();
  auto rules = TrafficRules::Create(options.rules);
  if (!rules) return rules.status();
  return std::unique_ptr<VehicleAnalytics>(new VehicleAnalytics(
      options, detector, std::move(tracker).value(), std::move(rules).value()));
}

VehicleAnalytics::VehicleAnalytics(const VehicleAnalyticsOptions& options,
                                   VehicleDetector* detector, std::unique_ptr<Tracker> tracker,
                                   std::unique_ptr<TrafficRules> rules)
    : options_(options),
      detector_(detector),
      tracker_(std::move(tracker)),
      rules_(std::move(rules)) {}

VehicleAnalytics::~VehicleAnalytics() = default;

VehicleObservation VehicleAnalytics::Process(const cv::Mat& frame, const MotionObservation& motion,
                                             int64_t time_us) {
  VehicleObservation obs;
  ++stats_.frames;
  if (frame.empty()) {
    ++stats_.rejected_frames;
    return obs;
  }
  try {
    if (frame.size() != size_) {
      size_ = frame.size();
      calibration_.reset();
      if (options_.calibration) {
        auto c = Calibration::Create(*options_.calibration, size_);
        if (c) {
          calibration_ = std::move(c).value();
        } else {
          ++stats_.calibration_errors;
        }
      }
      tracker_->set_calibration(calibration());
      context_.calibration = calibration();
      auto to_pixels = [&](const std::vector<cv::Point2f>& normalised) {
        std::vector<cv::Point> polygon;
        for (const cv::Point2f& p : normalised) {
          polygon.emplace_back(static_cast<int>(std::lround(p.x * size_.width)),
                               static_cast<int>(std::lround(p.y * size_.height)));
        }
        return polygon;
      };
      context_.lanes.clear();
      for (const Lane& lane : options_.rules.lanes) context_.lanes.push_back(to_pixels(lane.polygon));
      context_.masks.clear();
      for (const auto& mask : options_.motion_masks) context_.masks.push_back(to_pixels(mask));
    }
    std::vector<cv::Rect2f> regions;
    regions.reserve(motion.regions.size());
    for (const MotionRegion& r : motion.regions) regions.push_back(r.box);
    context_.camera_shift = motion.camera_shift;
    detector_->SetSceneContext(context_);
    detections_ = detector_->Detect(frame, regions, time_us);
    stats_.detections += detections_.size();
    tracker_->Update(detections_, frame, time_us);
    Attribute();
    // What the tracker knows now applies to the detector's next frame: parked vehicles stay out
    // of the (classical) background, and tracked objects need no motion support.
    context_.stationary_boxes = tracker_->StationaryBoxes();
    context_.tracked_boxes.clear();
    for (const Track& t : tracker_->tracks()) {
      if (t.matched && t.hits >= 2) context_.tracked_boxes.push_back(t.box);
    }
    obs.rule_events = rules_->Process(tracks_, ended_, size_, calibration(), time_us);
    stats_.rule_events += obs.rule_events.size();
    Lifecycle(frame, time_us, &obs);
  } catch (const cv::Exception&) {
    ++stats_.rejected_frames;
  }
  return obs;
}

bool VehicleAnalytics::OutsideLanes(const Track& t) const {
  if (context_.lanes.empty()) return false;
  const cv::Point2f anchor(t.box.x + t.box.width / 2, t.box.y + t.box.height);
  return std::none_of(context_.lanes.begin(), context_.lanes.end(),
                      [&](const std::vector<cv::Point>& lane) {
                        return cv::pointPolygonTest(lane, anchor, false) >= 0;
                      });
}

bool VehicleAnalytics::Walking(const Track& t) {
  const auto it = motion_.find(t.id);
  if (!t.matched) return it != motion_.end() && it->second.walker;
  std::optional<float> pace;
  if (detector_->name() == "classical" && PersonSized(t.object_class) && calibration() &&
      !t.stationary && OutsideLanes(t)) {
    pace = PaceKmh(t, *calibration());
  }
  const bool walker = pace && *pace >= kWalkerMinKmh && *pace < kCyclistMinKmh;
  if (walker) {
    motion_[t.id].walker = true;
  } else if (it != motion_.end()) {
    it->second.walker = false;
  }
  return walker;
}

ObjectClass VehicleAnalytics::AttributedClass(const Track& t, bool update) {
  const auto it = motion_.find(t.id);
  // Walking overrides a two-wheeler judgement: a far pedestrian's jittering box can read cyclist
  // speeds in a few frames in a row, its pace over 2 s cannot.
  if (update ? Walking(t) : (it != motion_.end() && it->second.walker)) {
    return ObjectClass::kPerson;
  }
  if (it != motion_.end() && it->second.judged != ObjectClass::kUnknown) return it->second.judged;
  if (!update || detector_->name() != "classical" || !NarrowUpright(t.object_class) ||
      !t.calibrated || !t.matched || t.speed_kmh < 0 ||
      t.last_seen_us - t.first_seen_us < kTwoWheelerSettledUs) {
    return t.object_class;
  }
  Motion& m = motion_[t.id];
  if (t.speed_kmh < kCyclistMinKmh) {
    m.fast = m.motor = 0;
    return t.object_class;
  }
  ++m.fast;
  m.motor += t.speed_kmh >= kMotorcycleMinKmh;
  if (m.fast >= kTwoWheelerFrames) {
    m.judged = 2 * m.motor > m.fast ? ObjectClass::kMotorcycle : ObjectClass::kBicycle;
    return m.judged;
  }
  return t.object_class;
}

void VehicleAnalytics::Attribute() {
  tracks_ = tracker_->tracks();
  ended_ = tracker_->ended();
  for (Track& t : tracks_) t.object_class = AttributedClass(t, true);
  for (Track& t : ended_) {
    t.object_class = AttributedClass(t, false);
    motion_.erase(t.id);
  }
  // Tracks dropped before they were confirmed may never appear as ended.
  for (auto it = motion_.begin(); it != motion_.end();) {
    const bool live = std::any_of(tracks_.begin(), tracks_.end(),
                                  [&](const Track& t) { return t.id == it->first; });
    it = live ? std::next(it) : motion_.erase(it);
  }
}

VehicleTrackEvent VehicleAnalytics::MakeEvent(TrackEventType type, const Track& t,
                                              const TrackInfo& info, int64_t time_us) const {
  VehicleTrackEvent e;
  e.type = type;
  e.time_us = time_us;
  e.track = t;
  e.colour = info.colour.colour;
  e.colour_confidence = info.colour.confidence;
  e.colour_histogram = NormaliseHistogram(info.colour_histogram);
  for (int z : info.zones) e.zones.push_back(options_.rules.zones[z].id);
  if (info.lane >= 0) e.lane = options_.rules.lanes[info.lane].id;
  // Heading from the trajectory (less jittery than the filter's velocity), else the velocity.
  cv::Point2f d = t.velocity_px_s;
  if (t.trajectory.size() >= 2) d = t.trajectory.back().point - t.trajectory.front().point;
  e.heading_deg = static_cast<float>(std::atan2(d.y, d.x) * 180.0 / CV_PI);
  return e;
}

void VehicleAnalytics::Lifecycle(const cv::Mat& frame, int64_t time_us, VehicleObservation* obs) {
  const cv::Mat& mask = detector_->foreground();
  const int64_t snapshot_interval_us = int64_t{options_.snapshot_update_interval_ms} * 1000;
  for (const Track& t : tracks_) {
    if (!t.confirmed) continue;
    obs->tracks.push_back(t);
    auto& slot = info_[t.id];
    if (!slot) slot = std::make_unique<TrackInfo>();
    TrackInfo& info = *slot;

    // Attributes: a better snapshot, and colour votes now and then.
    bool better = false;
    if (t.matched) {
      ++info.matched_frames;
      if (t.snapshot_score > info.best.score) {
        const cv::Rect box = cv::Rect(t.box) & cv::Rect(0, 0, frame.cols, frame.rows);
        if (box.area() > 0) {
          info.best = {frame(box).clone(), box, time_us, t.snapshot_score};
          better = true;
        }
      }
      if (better || info.matched_frames % options_.colour_every_frames == 1) {
        const ColourVote v = DominantColour(frame, t.box, mask);
        for (int c = 0; c < kNumVehicleColours; ++c) info.colour_votes[c] += v.votes[c];
        for (int b = 0; b < kColourHistogramBins; ++b) info.colour_histogram[b] += v.histogram[b];
        info.colour = DecideColour(info.colour_votes);
      }
    }
    const std::vector<int> zones = rules_->ZonesOf(t.id);
    const int lane = rules_->LaneOf(t.id);

    if (!info.reported) {
      info.reported = true;
      info.zones = zones;
      info.lane = lane;
      info.object_class = t.object_class;
      info.sent_colour = info.colour.colour;
      info.stationary = t.stationary;
      info.sent_snapshot_score = info.best.score;
      info.sent_snapshot_us = time_us;
      VehicleTrackEvent e = MakeEvent(TrackEventType::kNew, t, info, time_us);
      e.snapshot = info.best;
      obs->track_events.push_back(std::move(e));
      ++stats_.tracks_started;
      continue;
    }
    uint32_t changes = 0;
    if (zones != info.zones) changes |= kChangeZone;
    if (lane != info.lane) changes |= kChangeLane;
    if (t.object_class != info.object_class) changes |= kChangeClass;
    if (info.colour.colour != info.sent_colour) changes |= kChangeColour;
    if (t.stationary != info.stationary) changes |= kChangeStationary;
    if (info.best.score >= options_.snapshot_improvement * info.sent_snapshot_score &&
        info.best.score > info.sent_snapshot_score &&
        time_us - info.sent_snapshot_us >= snapshot_interval_us) {
      changes |= kChangeSnapshot;
    }
    if (changes == 0) continue;
    info.zones = zones;
    info.lane = lane;
    info.object_class = t.object_class;
    info.sent_colour = info.colour.colour;
    info.stationary = t.stationary;
    VehicleTrackEvent e = MakeEvent(TrackEventType::kUpdate, t, info, time_us);
    e.changes = changes;
    if (changes & kChangeSnapshot) {
      info.sent_snapshot_score = info.best.score;
      info.sent_snapshot_us = time_us;
      e.snapshot = info.best;
    }
    obs->track_events.push_back(std::move(e));
    ++stats_.track_updates;
  }
  for (const Track& t : ended_) {
    const auto it = info_.find(t.id);
    if (it == info_.end()) continue;
    if (it->second->reported) {
      TrackInfo& info = *it->second;
      info.zones.clear();
      info.lane = -1;
      VehicleTrackEvent e = MakeEvent(TrackEventType::kEnd, t, info, time_us);
      e.snapshot = info.best;
      obs->track_events.push_back(std::move(e));
      ++stats_.tracks_ended;
    }
    info_.erase(it);
  }
}

VehicleObservation VehicleAnalytics::Close(int64_t time_us) {
  VehicleObservation obs;
  for (const Track& t : tracks_) {
    const auto it = info_.find(t.id);
    if (it == info_.end() || !it->second->reported) continue;
    TrackInfo& info = *it->second;
    info.zones.clear();
    info.lane = -1;
    VehicleTrackEvent e = MakeEvent(TrackEventType::kEnd, t, info, time_us);
    e.snapshot = info.best;
    obs.track_events.push_back(std::move(e));
    ++stats_.tracks_ended;
  }
  info_.clear();
  return obs;
}

}  // namespace skynet::analytics
