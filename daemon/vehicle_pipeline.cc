#include "daemon/vehicle_pipeline.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <utility>
#include <vector>

#include "pipeline/analytics/classical_detector.h"
#include "pipeline/analytics/detector_backend.h"
#include "pipeline/analytics/dnn/dnn_detector.h"
#include "pipeline/core/clock.h"

namespace skynet::daemon {
namespace {

constexpr int kJpegQuality = 80;
constexpr int kCropMaxSide = 256;

v1::VehicleClass ToProto(analytics::ObjectClass c) {
  switch (c) {
    case analytics::ObjectClass::kCar:
      return v1::VEHICLE_CLASS_CAR;
    case analytics::ObjectClass::kBus:
      return v1::VEHICLE_CLASS_BUS;
    case analytics::ObjectClass::kTruck:
      return v1::VEHICLE_CLASS_TRUCK;
    case analytics::ObjectClass::kMotorcycle:
      return v1::VEHICLE_CLASS_MOTORCYCLE;
    case analytics::ObjectClass::kBicycle:
      return v1::VEHICLE_CLASS_BICYCLE;
    case analytics::ObjectClass::kPerson:
      return v1::VEHICLE_CLASS_PERSON;
    case analytics::ObjectClass::kUnknown:
      break;
  }
  return v1::VEHICLE_CLASS_UNSPECIFIED;
}

v1::VehicleColour ToProto(analytics::VehicleColour c) {
  switch (c) {
    case analytics::VehicleColour::kWhite:
      return v1::VEHICLE_COLOUR_WHITE;
    case analytics::VehicleColour::kBlack:
      return v1::VEHICLE_COLOUR_BLACK;
    case analytics::VehicleColour::kSilver:
      return v1::VEHICLE_COLOUR_SILVER;
    case analytics::VehicleColour::kRed:
      return v1::VEHICLE_COLOUR_RED;
    case analytics::VehicleColour::kBlue:
      return v1::VEHICLE_COLOUR_BLUE;
    case analytics::VehicleColour::kYellow:
      return v1::VEHICLE_COLOUR_YELLOW;
    case analytics::VehicleColour::kGreen:
      return v1::VEHICLE_COLOUR_GREEN;
    case analytics::VehicleColour::kUnknown:
      break;
  }
  return v1::VEHICLE_COLOUR_UNSPECIFIED;
}

void SetPoint(cv::Point2f px, cv::Size size, v1::NormalizedPoint* out) {
  out->set_x(size.width > 0 ? px.x / static_cast<float>(size.width) : 0.f);
  out->set_y(size.height > 0 ? px.y / static_cast<float>(size.height) : 0.f);
}

void SetBox(const cv::Rect2f& box, cv::Size size, v1::NormalizedBox* out) {
  const float w = static_cast<float>(std::max(1, size.width));
  const float h = static_cast<float>(std::max(1, size.height));
  out->set_x(box.x / w);
  out->set_y(box.y / h);
  out->set_w(box.width / w);
  out->set_h(box.height / h);
}

bool EncodeJpeg(const cv::Mat& image, std::string* out) {
  return daemon::EncodeJpeg(image, kJpegQuality, out);
}

}  // namespace

VehiclePipeline::VehiclePipeline(std::string camera_id, double detect_interval_us,
                                 int max_source_frames)
    : camera_id_(std::move(camera_id)),
      detect_interval_us_(detect_interval_us),
      max_source_frames_(max_source_frames) {}

bool VehiclePipeline::MayHold(const BestFrame& b, const SourceImage* source) const {
  std::set<const SourceImage*> held;
  size_t users_of_old = 0;
  for (const auto& [id, other] : best_frames_) {
    if (!other.source) continue;
    if (other.source.get() == source) return true;  // one more reference to a held frame
    held.insert(other.source.get());
    if (other.source == b.source) ++users_of_old;
  }
  // Replacing a frame only this track holds frees as much as it takes.
  if (b.source && users_of_old == 1) return true;
  return held.size() < static_cast<size_t>(std::max(0, max_source_frames_));
}

void VehiclePipeline::CountHeld() {
  std::set<const SourceImage*> held;
  for (const auto& [id, b] : best_frames_) {
    if (b.source) held.insert(b.source.get());
  }
  stats_.source_frames_held = held.size();
  stats_.source_frames_held_max = std::max<uint64_t>(stats_.source_frames_held_max, held.size());
}

void VehiclePipeline::SendEvidence(uint64_t track_id, const BestFrame& b) {
  if (!evidence_sink_ || !b.source) return;
  EvidenceSnapshot snap;
  if (!MakeEvidenceSnapshot(*b.source, b.source_box, b.source_detect_size, b.source_time_us, {},
                            &snap)) {
    ++stats_.evidence_failures;
    return;
  }
  ++stats_.evidence_snapshots;
  evidence_sink_(track_id, std::move(snap));
}

VehiclePipeline::~VehiclePipeline() = default;

VehiclePipelineStats VehiclePipeline::stats() const {
  VehiclePipelineStats s = stats_;
  s.detector = detector_->counters();
  return s;
}

Result<std::unique_ptr<VehiclePipeline>> VehiclePipeline::Create(
    const std::string& camera_id, const VehiclesConfig& config,
    const std::vector<std::vector<cv::Point2f>>& motion_masks) {
  // A DNN backend runs at detect_fps (frames between its runs are not analysed); the classical
  // backend runs on every frame.
  const double fps = config.detector.detect_fps;
  const double detect_interval_us =
      config.backend == analytics::DetectorBackend::kDnn && fps > 0 ? 1e6 / fps : 0.0;
  std::unique_ptr<VehiclePipeline> p(
      new VehiclePipeline(camera_id, detect_interval_us, config.snapshot_frames));
  switch (config.backend) {
    case analytics::DetectorBackend::kDnn: {
      auto det = analytics::DnnDetector::Create(config.detector);
      if (!det) {
        return Status(det.status().code(), "vehicles.detector: " + det.status().message());
      }
      p->dnn_ = det->get();
      p->detector_ = std::move(det).value();
      break;
    }
    case analytics::DetectorBackend::kClassical: {
      auto det = analytics::ClassicalDetector::Create(config.classical);
      if (!det) return Status::InvalidArgument("vehicles." + det.status().message());
      p->classical_ = det->get();
      p->detector_ = std::move(det).value();
      break;
    }
  }
  analytics::VehicleAnalyticsOptions analytics_options = config.analytics;
  analytics_options.motion_masks = motion_masks;
  auto va = analytics::VehicleAnalytics::Create(analytics_options, p->detector_.get());
  if (!va) return Status::InvalidArgument("vehicles." + va.status().message());
  p->analytics_ = std::move(va).value();
  return p;
}

void VehiclePipeline::FillTrack(const analytics::VehicleTrackEvent& e, bool with_snapshot,
                                cv::Size size, v1::VehicleTrack* out) {
  const analytics::Track& t = e.track;
  out->set_track_id(t.id);
  out->set_vehicle_class(ToProto(t.object_class));
  out->set_colour(ToProto(e.colour));
  out->set_colour_confidence(e.colour_confidence);
  out->set_calibrated(t.calibrated);
  if (t.calibrated) {
    out->mutable_size()->set_width_m(t.size.width_m);
    out->mutable_size()->set_height_m(t.size.height_m);
    out->mutable_size()->set_length_m(t.size.length_m);
  }
  out->set_speed_kmh(t.calibrated ? t.speed_kmh : -1.f);
  out->set_heading_deg(e.heading_deg);
  out->set_lane(e.lane);
  for (const std::string& z : e.zones) out->add_zones(z);
  SetBox(t.box, size, out->mutable_box());
  out->set_stationary(t.stationary);
  out->set_first_seen_us(t.first_seen_us);
  out->set_last_seen_us(t.last_seen_us);

  v1::TrajectorySummary* tr = out->mutable_trajectory();
  tr->set_duration_ms((t.last_seen_us - t.first_seen_us) / 1000);
  if (!t.trajectory.empty()) {
    const auto& first = t.trajectory.front();
    const auto& last = t.trajectory.back();
    tr->mutable_first()->set_time_us(first.time_us);
    SetPoint(first.point, size, tr->mutable_first()->mutable_point());
    tr->mutable_last()->set_time_us(last.time_us);
    SetPoint(last.point, size, tr->mutable_last()->mutable_point());
    const analytics::Calibration* cal = analytics_->calibration();
    double length = 0;
    for (size_t i = 1; i < t.trajectory.size(); ++i) {
      const cv::Point2f a = t.trajectory[i - 1].point, b = t.trajectory[i].point;
      length += cal != nullptr ? cal->GroundDistance(a, b) : cv::norm(b - a);
    }
    if (cal == nullptr && size.width > 0) length /= size.width;
    tr->set_length(static_cast<float>(length));
    tr->set_length_in_metres(cal != nullptr);
  }

  if (!with_snapshot || e.snapshot.crop.empty()) return;
  const analytics::Snapshot& s = e.snapshot;
  v1::VehicleSnapshot* snap = out->mutable_snapshot();
  SetBox(cv::Rect2f(s.box), size, snap->mutable_box());
  snap->set_capture_time_us(s.time_us);
  snap->set_score(s.score);
  cv::Mat crop = s.crop;
  const auto it = best_frames_.find(t.id);
  // The same moment at the camera's resolution, if its decoded frame is held: a sharper crop.
  if (it != best_frames_.end() && it->second.source && it->second.source_time_us == s.time_us) {
    const BestFrame& b = it->second;
    cv::Mat full =
        SourceToBgr(*b.source, cv::Rect(ScaleBox(cv::Rect2f(s.box), b.source_detect_size,
                                                 cv::Size(b.source->width, b.source->height))));
    if (!full.empty()) crop = full;
  }
  const int side = std::max(crop.cols, crop.rows);
  if (side > kCropMaxSide) {
    const double f = static_cast<double>(kCropMaxSide) / side;
    cv::resize(cv::Mat(crop), crop, cv::Size(), f, f, cv::INTER_AREA);
  }
  if (!EncodeJpeg(crop, snap->mutable_crop_jpeg())) ++stats_.encode_failures;
  // The whole frame of that moment, if kept (it is, unless the snapshot predates this object).
  if (it != best_frames_.end() && it->second.time_us == s.time_us && !it->second.frame.empty()) {
    cv::Mat annotated = it->second.frame.clone();
    if (annotated.channels() == 1) cv::cvtColor(annotated, annotated, cv::COLOR_GRAY2BGR);
    cv::rectangle(annotated, s.box, cv::Scalar(0, 0, 255), 2);
    if (!EncodeJpeg(annotated, snap->mutable_frame_jpeg())) ++stats_.encode_failures;
  }
  ++stats_.snapshots;
}

void VehiclePipeline::FillTrackEvent(const analytics::VehicleTrackEvent& e, cv::Size size,
                                     v1::Event* ev) {
  switch (e.type) {
    case analytics::TrackEventType::kNew:
      FillTrack(e, true, size, ev->mutable_vehicle_new()->mutable_track());
      break;
    case analytics::TrackEventType::kUpdate: {
      auto* u = ev->mutable_vehicle_updated();
      FillTrack(e, (e.changes & analytics::kChangeSnapshot) != 0, size, u->mutable_track());
      v1::VehicleChanges* c = u->mutable_changes();
      c->set_zones((e.changes & analytics::kChangeZone) != 0);
      c->set_lane((e.changes & analytics::kChangeLane) != 0);
      c->set_snapshot((e.changes & analytics::kChangeSnapshot) != 0);
      c->set_vehicle_class((e.changes & analytics::kChangeClass) != 0);
      c->set_colour((e.changes & analytics::kChangeColour) != 0);
      c->set_stationary((e.changes & analytics::kChangeStationary) != 0);
      break;
    }
    case analytics::TrackEventType::kEnd: {
      FillTrack(e, true, size, ev->mutable_vehicle_ended()->mutable_track());
      if (std::any_of(e.colour_histogram.begin(), e.colour_histogram.end(),
                      [](float x) { return x > 0; })) {
        for (float x : e.colour_histogram) {
          ev->mutable_vehicle_ended()->mutable_track()->add_colour_histogram(x);
        }
      }
      const auto it = best_frames_.find(e.track.id);
      if (it != best_frames_.end()) {
        SendEvidence(e.track.id, it->second);
        best_frames_.erase(it);
        CountHeld();
      }
      break;
    }
  }
}

void VehiclePipeline::FillRuleEvent(const analytics::RuleEvent& r, cv::Size size,
                                    v1::Event* ev) const {
  // Every event but the lane statistics names its track, its class and where it was.
  auto with_track = [&](auto* m) {
    m->set_track_id(r.track_id);
    m->set_vehicle_class(ToProto(r.object_class));
    SetPoint(r.anchor, size, m->mutable_anchor());
    return m;
  };
  switch (r.type) {
    case analytics::RuleEventType::kLineCrossed: {
      auto* m = with_track(ev->mutable_line_crossed());
      m->set_line_id(r.rule_id);
      m->set_direction(r.direction);
      m->set_speed_kmh(r.speed_kmh);
      break;
    }
    case analytics::RuleEventType::kZoneEntered: {
      auto* m = with_track(ev->mutable_zone_entered());
      m->set_zone_id(r.rule_id);
      break;
    }
    case analytics::RuleEventType::kZoneLeft: {
      auto* m = with_track(ev->mutable_zone_left());
      m->set_zone_id(r.rule_id);
      m->set_dwell_s(r.dwell_s);
      break;
    }
    case analytics::RuleEventType::kVehicleStopped: {
      auto* m = with_track(ev->mutable_vehicle_stopped());
      m->set_zone_id(r.rule_id);
      m->set_stopped_s(r.dwell_s);
      m->set_max_stop_s(r.limit);
      break;
    }
    case analytics::RuleEventType::kWrongWay: {
      auto* m = with_track(ev->mutable_wrong_way());
      m->set_lane_id(r.rule_id);
      m->set_speed_kmh(r.speed_kmh);
      m->set_distance(r.distance);
      m->set_distance_in_metres(analytics_->calibration() != nullptr);
      break;
    }
    case analytics::RuleEventType::kSpeeding: {
      auto* m = with_track(ev->mutable_speeding());
      m->set_lane_id(r.rule_id);
      m->set_speed_kmh(r.speed_kmh);
      m->set_limit_kmh(r.limit);
      break;
    }
    case analytics::RuleEventType::kTrafficStats: {
      auto* m = ev->mutable_traffic_stats();
      const analytics::LaneStats& s = r.stats;
      m->set_lane_id(r.rule_id);
      m->set_interval_start_us(s.interval_start_us);
      m->set_interval_end_us(s.interval_end_us);
      m->set_count(static_cast<uint32_t>(std::max(0, s.count)));
      m->set_mean_speed_kmh(s.mean_speed_kmh);
      m->set_occupancy(s.occupancy);
      m->set_mean_headway_s(s.mean_headway_s);
      m->set_queue_length(static_cast<uint32_t>(std::max(0, s.queue_length)));
      break;
    }
  }
}

void VehiclePipeline::Close(const EventSink& sink) {
  if (!has_run_) return;
  const analytics::VehicleObservation obs = analytics_->Close(last_capture_us_);
  for (const analytics::VehicleTrackEvent& e : obs.track_events) {
    v1::Event ev;
    ev.set_camera_id(camera_id_);
    ev.set_capture_time_us(last_capture_us_);
    ev.set_stream_time_us(last_stream_us_);
    FillTrackEvent(e, last_size_, &ev);
    ++stats_.events;
    sink(std::move(ev));
  }
  best_frames_.clear();
  CountHeld();
}

void VehiclePipeline::Process(const Frame& frame, const analytics::MotionObservation& motion,
                              const EventSink& sink) {
  if (frame.image.empty()) return;
  const int64_t now = frame.capture_time_us;
  if (detect_interval_us_ > 0 && has_run_ && now >= last_run_us_ &&
      static_cast<double>(now - last_run_us_) < 0.9 * detect_interval_us_) {
    // The DNN would skip this frame; a skipped frame is "no observation", not "no vehicles",
    // so the tracker does not see it at all.
    ++stats_.rate_skipped;
    return;
  }
  has_run_ = true;
  last_run_us_ = now;
  last_capture_us_ = frame.capture_time_us;
  last_stream_us_ = frame.stream_time_us;
  last_size_ = frame.image.size();
  const int64_t cpu_before = ThreadCpuUs();
  ++stats_.frames;
  const cv::Size size = frame.image.size();
  const analytics::VehicleObservation obs = analytics_->Process(frame.image, motion, now);

  // Keep the frame of each track's best moment, by the analytics' own rule (a matched track whose
  // snapshot score beats its best), so a snapshot can show the whole scene. One copy per frame.
  cv::Mat shared;
  for (const analytics::Track& t : obs.tracks) {
    if (!t.matched) continue;
    BestFrame& b = best_frames_[t.id];
    if (t.snapshot_score > b.score) {
      if (shared.empty()) shared = frame.image.clone();
      b.score = t.snapshot_score;
      b.time_us = now;
      b.frame = shared;
      if (frame.source && max_source_frames_ > 0) {
        if (MayHold(b, frame.source.get())) {
          b.source = frame.source;
          b.source_time_us = now;
          b.source_box = t.box;
          b.source_detect_size = size;
        } else {
          ++stats_.source_frames_refused;
        }
      }
    }
  }
  CountHeld();

  auto new_event = [&] {
    v1::Event ev;
    ev.set_camera_id(camera_id_);
    ev.set_capture_time_us(frame.capture_time_us);
    ev.set_stream_time_us(frame.stream_time_us);
    return ev;
  };
  auto emit = [&](v1::Event ev) {
    ++stats_.events;
    sink(std::move(ev));
  };

  for (const analytics::VehicleTrackEvent& e : obs.track_events) {
    v1::Event ev = new_event();
    FillTrackEvent(e, size, &ev);
    emit(std::move(ev));
  }
  for (const analytics::RuleEvent& r : obs.rule_events) {
    v1::Event ev = new_event();
    FillRuleEvent(r, size, &ev);
    emit(std::move(ev));
  }
  // A track gone without its vehicle_ended (none should be) lets go of its frames too.
  for (auto it = best_frames_.begin(); it != best_frames_.end();) {
    const bool live = std::any_of(obs.tracks.begin(), obs.tracks.end(),
                                  [&](const analytics::Track& t) { return t.id == it->first; });
    it = live ? std::next(it) : best_frames_.erase(it);
  }
  CountHeld();
  stats_.cpu_us += ThreadCpuUs() - cpu_before;
}

}  // namespace skynet::daemon
