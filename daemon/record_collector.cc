#include "daemon/record_collector.h"

#include <algorithm>

namespace skynet::daemon {

RecordCollector::RecordCollector(std::string node_id, EventFeed* feed, RecordWriter* writer,
                                 std::shared_ptr<EvidenceStore> evidence, ClipLookup clips)
    : node_id_(std::move(node_id)), feed_(feed), writer_(writer), clips_(std::move(clips)) {
  if (evidence) {
    snapshots_ =
        std::make_unique<SnapshotWriter>(std::move(evidence), SnapshotWriterOptions{},
                                         [this](v1::Event record) { Finish(std::move(record)); });
  }
}

void RecordCollector::PublishEvidence(const std::string& camera_id, uint64_t track_id,
                                      EvidenceSnapshot snapshot) {
  std::lock_guard lock(mu_);
  live_[{camera_id, track_id}].evidence = std::move(snapshot);
}

SnapshotWriterStats RecordCollector::snapshot_stats() const {
  return snapshots_ ? snapshots_->stats() : SnapshotWriterStats{};
}

void RecordCollector::Finish(v1::Event record) {
  if (writer_) writer_->Add(StoredRecord{node_id_, record.camera_id(), record.vehicle_record()});
  feed_->Publish(std::move(record));
}

v1::VehicleRecord RecordCollector::MakeRecord(const v1::VehicleTrack& t,
                                              std::vector<v1::RecordCrossing> crossings,
                                              std::vector<std::string> zones) {
  v1::VehicleRecord r;
  r.set_track_id(t.track_id());
  r.set_first_seen_us(t.first_seen_us());
  r.set_last_seen_us(t.last_seen_us());
  r.set_vehicle_class(t.vehicle_class());
  r.set_colour(t.colour());
  r.set_colour_confidence(t.colour_confidence());
  *r.mutable_colour_histogram() = t.colour_histogram();
  *r.mutable_size() = t.size();
  r.set_calibrated(t.calibrated());
  r.set_speed_kmh(t.speed_kmh());
  r.set_heading_deg(t.heading_deg());
  r.set_lane(t.lane());
  // The zones it was still in at the end may have been entered before a zone_entered was seen.
  for (const std::string& z : t.zones()) {
    if (std::find(zones.begin(), zones.end(), z) == zones.end()) zones.push_back(z);
  }
  std::stable_sort(crossings.begin(), crossings.end(),
                   [](const auto& a, const auto& b) { return a.time_us() < b.time_us(); });
  for (auto& c : crossings) *r.add_crossings() = std::move(c);
  for (auto& z : zones) r.add_zones(std::move(z));
  return r;
}

void RecordCollector::Publish(v1::Event event) {
  switch (event.payload_case()) {
    case v1::Event::kLineCrossed: {
      const v1::LineCrossed& l = event.line_crossed();
      std::lock_guard lock(mu_);
      Gathered& g = live_[{event.camera_id(), l.track_id()}];
      if (g.crossings.size() < kMaxPerTrack) {
        v1::RecordCrossing c;
        c.set_line_id(l.line_id());
        c.set_direction(l.direction());
        c.set_time_us(event.capture_time_us());
        c.set_speed_kmh(l.speed_kmh());
        g.crossings.push_back(std::move(c));
      }
      break;
    }
    case v1::Event::kZoneEntered: {
      const v1::ZoneEntered& z = event.zone_entered();
      std::lock_guard lock(mu_);
      Gathered& g = live_[{event.camera_id(), z.track_id()}];
      if (g.zones.size() < kMaxPerTrack &&
          std::find(g.zones.begin(), g.zones.end(), z.zone_id()) == g.zones.end()) {
        g.zones.push_back(z.zone_id());
      }
      break;
    }
    case v1::Event::kVehicleEnded: {
      const v1::VehicleTrack& t = event.vehicle_ended().track();
      Gathered g;
      {
        std::lock_guard lock(mu_);
        auto it = live_.find({event.camera_id(), t.track_id()});
        if (it != live_.end()) {
          g = std::move(it->second);
          live_.erase(it);
        }
      }
      v1::Event record;
      record.set_camera_id(event.camera_id());
      record.set_capture_time_us(event.capture_time_us());
      record.set_stream_time_us(event.stream_time_us());
      record.set_frame_index(event.frame_index());
      *record.mutable_vehicle_record() =
          MakeRecord(t, std::move(g.crossings), std::move(g.zones));
      if (clips_) {
        record.mutable_vehicle_record()->set_clip_file(clips_(event.camera_id(), t.track_id()));
      }
      feed_->Publish(std::move(event));
      if (g.evidence && snapshots_) {
        snapshots_->Add(std::move(record), std::move(*g.evidence));  // then Finish()
      } else {
        Finish(std::move(record));
      }
      return;
    }
    default:
      break;
  }
  feed_->Publish(std::move(event));
}

}  // namespace skynet::daemon
