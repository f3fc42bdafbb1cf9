#include "tools/skynetctl/format.h"

#include <google/protobuf/util/json_util.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <string_view>
#include <vector>

#include "pipeline/core/logging.h"

namespace skynet::ctl {
namespace {

namespace v1 = skynet::v1;

// "CAMERA_STATE_AUTH_FAILED" with prefix "CAMERA_STATE_" -> "auth failed".
std::string EnumWords(const std::string& full_name, std::string_view prefix) {
  std::string_view name = full_name;
  if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  if (name.empty() || name == "UNSPECIFIED") return "unknown";
  std::string out;
  for (char c : name) out += c == '_' ? ' ' : static_cast<char>(std::tolower(c));
  return out;
}

std::string Percent(float fraction) { return Printf("%.1f%%", fraction * 100.0); }

std::string Size(uint32_t w, uint32_t h) {
  if (w == 0 || h == 0) return "";
  return std::to_string(w) + "x" + std::to_string(h);
}

// " regions=2 changed=4.1% [x,y wxh] [x,y wxh] [x,y wxh] +2 more"
template <typename Motion>
std::string MotionFields(const Motion& m) {
  constexpr int kMaxBoxes = 3;
  std::string out = Printf(" #%" PRIu64 " regions=%d changed=%s", m.motion_id(), m.regions_size(),
                           Percent(m.changed_fraction()).c_str());
  for (int i = 0; i < m.regions_size() && i < kMaxBoxes; ++i) {
    const v1::NormalizedBox& b = m.regions(i).box();
    out += Printf(" [%.2f,%.2f %.2fx%.2f]", b.x(), b.y(), b.w(), b.h());
  }
  if (m.regions_size() > kMaxBoxes) out += Printf(" +%d more", m.regions_size() - kMaxBoxes);
  return out;
}

// Rows of cells printed in columns two spaces apart; right-aligned columns are for numbers.
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<bool> right_align)
      : right_(std::move(right_align)) {
    rows_.push_back(std::move(header));
  }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string Render() const { return FormatColumns(rows_, right_); }

 private:
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// "car", "motorcycle"; "unknown" when unset.
std::string ClassName(v1::VehicleClass c) { return VehicleClassName(c); }

// " 42 km/h", or nothing when uncalibrated (-1).
std::string Speed(float kmh) { return kmh >= 0 ? Printf(" %.0f km/h", kmh) : ""; }

// "#12 car red 4.4x1.8m 42 km/h lane 2 zones=bus-stop stopped" (each part only when known).
std::string TrackFields(const v1::VehicleTrack& t) {
  std::string out = Printf("#%" PRIu64 " ", t.track_id()) + ClassName(t.vehicle_class());
  if (t.colour() != v1::VEHICLE_COLOUR_UNSPECIFIED) {
    out += " " + EnumWords(v1::VehicleColour_Name(t.colour()), "VEHICLE_COLOUR_");
  }
  if (t.calibrated() && t.size().width_m() > 0) {
    out += Printf(" %.1fx%.1fm", t.size().length_m(), t.size().width_m());
  }
  if (t.calibrated()) out += Speed(t.speed_kmh());
  if (!t.lane().empty()) out += " lane " + t.lane();
  if (t.zones_size() > 0) {
    out += " zones=";
    for (int i = 0; i < t.zones_size(); ++i) out += (i ? "," : "") + t.zones(i);
  }
  if (t.stationary()) out += " stopped";
  return out;
}

// " snapshot 12+31KB" when the event carries JPEG snapshot bytes.
std::string SnapshotField(const v1::VehicleTrack& t) {
  if (!t.has_snapshot() || t.snapshot().crop_jpeg().empty()) return "";
  return Printf(" snapshot %zu+%zuKB", (t.snapshot().crop_jpeg().size() + 1023) / 1024,
                (t.snapshot().frame_jpeg().size() + 1023) / 1024);
}

std::string ChangeNames(const v1::VehicleChanges& c) {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(c.zones(), "zones");
  add(c.lane(), "lane");
  add(c.vehicle_class(), "class");
  add(c.colour(), "colour");
  add(c.stationary(), "stationary");
  add(c.snapshot(), "snapshot");
  return out;
}

}  // namespace

std::string FormatLocalTime(int64_t unix_us) {
  int64_t secs = unix_us / 1'000'000;
  int64_t rem_us = unix_us % 1'000'000;
  if (rem_us < 0) {
    rem_us += 1'000'000;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm_local;
  localtime_r(&t, &tm_local);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm_local);
  return Printf("%s.%03d", date, static_cast<int>(rem_us / 1000));
}

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0)) return "-";
  if (seconds < 60) return Printf("%.1fs", seconds);
  auto s = static_cast<int64_t>(seconds);
  if (s < 3600) return Printf("%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
  if (s < 86400) return Printf("%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
  return Printf("%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

std::string CameraStateName(v1::CameraState state) {
  return EnumWords(v1::CameraState_Name(state), "CAMERA_STATE_");
}
std::string StatusReasonName(v1::StatusReason reason) {
  return EnumWords(v1::StatusReason_Name(reason), "STATUS_REASON_");
}
std::string GradeName(v1::Grade grade) { return EnumWords(v1::Grade_Name(grade), "GRADE_"); }

std::string QualityStateName(v1::QualityState state) {
  return state == v1::QUALITY_STATE_UNSPECIFIED
             ? "-"
             : EnumWords(v1::QualityState_Name(state), "QUALITY_STATE_");
}

std::string QualityCell(v1::QualityState worst,
                        const google::protobuf::RepeatedPtrField<std::string>& faults) {
  if (worst != v1::QUALITY_STATE_FAULT) return QualityStateName(worst);
  std::string out = "FAULT ";
  for (int i = 0; i < faults.size(); ++i) out += (i ? "," : "") + faults[i];
  return out;
}

std::string JournalStatusText(const v1::JournalStatus& j) {
  std::string out;
  switch (j.state()) {
    case v1::JOURNAL_STATE_DISABLED:
      return "journal disabled (missed events cannot be replayed)";
    case v1::JOURNAL_STATE_FAILING:
      out = Printf("journal FAILING: seqs %" PRIu64 "..%" PRIu64 " not journaled so far",
                   j.first_seq_not_journaled(), j.last_seq_not_journaled());
      if (!j.detail().empty()) out += " (" + j.detail() + ")";
      break;
    case v1::JOURNAL_STATE_OK:
      out = "journal ok";
      if (j.last_seq_not_journaled() != 0) {
        out += Printf(" (recovered; seqs %" PRIu64 "..%" PRIu64 " were not journaled)",
                      j.first_seq_not_journaled(), j.last_seq_not_journaled());
      }
      break;
    default:
      return "journal unknown";
  }
  if (j.events_not_journaled() != 0) {
    out += Printf(", %" PRIu64 " events not journaled this epoch", j.events_not_journaled());
  }
  if (j.damaged_segments() != 0) {
    out += Printf(", %u damaged segments moved aside at start (%" PRIu64 " events lost)",
                  j.damaged_segments(), j.corrupt_events());
  }
  return out;
}

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? Printf("%lld B", static_cast<long long>(bytes)) : Printf("%.1f %s", v, units[u]);
}

std::string EvidenceStatusText(const v1::EvidenceStatus& e) {
  std::string usage = FormatBytes(e.bytes()) + Printf(" in %lld files", static_cast<long long>(e.files()));
  usage += e.max_bytes() > 0 ? " (limit " + FormatBytes(e.max_bytes()) + ")" : " (no limit)";
  if (e.disk_free_bytes() >= 0) usage += ", " + FormatBytes(e.disk_free_bytes()) + " free on disk";
  if (!e.stopped()) return "  evidence: " + usage + " at " + e.directory();
  std::string out = "  evidence: ALARM: writing STOPPED since " +
                    FormatLocalTime(e.stopped_since_us()) + " (disk full or quota";
  if (!e.failed_path().empty()) out += " at " + e.failed_path();
  if (!e.error().empty()) out += ": " + e.error();
  out += Printf("), %" PRIu64 " writes refused; snapshots, clips and recordings are not written "
                "until space is freed (retried every 10 s); cameras and events go on\n",
                e.refused());
  return out + "  evidence: " + usage + " at " + e.directory();
}

std::string Printf(const char* fmt, ...) {
  char buf[256];
  va_list args;
  va_start(args, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  if (n < 0) return "";
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, n);
  std::string out(n + 1, '\0');
  va_start(args, fmt);
  std::vsnprintf(out.data(), out.size(), fmt, args);
  va_end(args);
  out.resize(n);
  return out;
}


std::string VehicleClassName(v1::VehicleClass c) {
  return EnumWords(v1::VehicleClass_Name(c), "VEHICLE_CLASS_");
}

std::string FormatColumns(const std::vector<std::vector<std::string>>& rows,
                          const std::vector<bool>& right_align) {
  std::vector<size_t> width(rows.empty() ? 0 : rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      if (i > 0) line += "  ";
      std::string pad(width[i] - row[i].size(), ' ');
      bool right = i < right_align.size() && right_align[i];
      line += right ? pad + row[i] : row[i] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string FormatEventLine(const v1::Event& e) {
  int64_t when = e.capture_time_us() != 0 ? e.capture_time_us() : e.publish_time_us();
  std::string who = !e.camera_id().empty() ? e.camera_id()
                    : !e.node_id().empty() ? e.node_id()
                                           : "-";
  std::string out = FormatLocalTime(when) + " " + who + " ";
  switch (e.payload_case()) {
    case v1::Event::kCameraStatus: {
      const v1::CameraStatus& s = e.camera_status();
      out += "camera " + CameraStateName(s.state()) + " (" + StatusReasonName(s.reason()) + ")";
      if (!s.codec().empty()) out += " " + s.codec();
      if (std::string size = Size(s.width(), s.height()); !size.empty()) out += " " + size;
      if (!s.detail().empty()) out += ": " + s.detail();
      if (s.state() == v1::CAMERA_STATE_DEGRADED) {
        out += Printf(" (detected in %u ms)", s.detection_latency_ms());
      }
      break;
    }
    case v1::Event::kStreamChanged: {
      const v1::StreamChanged& s = e.stream_changed();
      out += "stream-changed " + s.old_codec() + " " + Size(s.old_width(), s.old_height()) +
             " -> " + s.new_codec() + " " + Size(s.new_width(), s.new_height());
      break;
    }
    case v1::Event::kMotionStarted:
      out += "motion-started" + MotionFields(e.motion_started());
      break;
    case v1::Event::kMotionUpdated:
      out += "motion-updated" + MotionFields(e.motion_updated());
      break;
    case v1::Event::kMotionEnded: {
      const v1::MotionEnded& m = e.motion_ended();
      out += Printf("motion-ended #%" PRIu64 " duration=%.1fs peak=%s", m.motion_id(),
                    m.duration_ms() / 1000.0, Percent(m.peak_changed_fraction()).c_str());
      break;
    }
    case v1::Event::kJournalStatus:
      out += JournalStatusText(e.journal_status());
      break;
    case v1::Event::kVideoQuality: {
      const v1::VideoQuality& q = e.video_quality();
      out += "quality " + q.check() + " " + QualityStateName(q.from()) + " -> " +
             QualityStateName(q.to()) + Printf(" score=%.2f", q.score()) +
             " worst=" + QualityCell(q.worst(), q.faults());
      break;
    }
    case v1::Event::kHeartbeat: {
      const v1::Heartbeat& h = e.heartbeat();
      out += Printf("heartbeat last_seq=%" PRIu64 " cameras=%u/%u online", h.last_seq(),
                    h.cameras_online(), h.cameras_total());
      break;
    }
    case v1::Event::kVehicleNew:
      out += "vehicle-new " + TrackFields(e.vehicle_new().track()) +
             SnapshotField(e.vehicle_new().track());
      break;
    case v1::Event::kVehicleUpdated: {
      const v1::VehicleUpdated& u = e.vehicle_updated();
      out += "vehicle-updated " + TrackFields(u.track()) + " changed=" +
             ChangeNames(u.changes()) + SnapshotField(u.track());
      break;
    }
    case v1::Event::kVehicleEnded: {
      const v1::VehicleTrack& t = e.vehicle_ended().track();
      out += "vehicle-ended " + TrackFields(t) +
             Printf(" after %.1fs", t.trajectory().duration_ms() / 1000.0);
      if (t.trajectory().length_in_metres()) out += Printf(" %.0fm", t.trajectory().length());
      out += SnapshotField(t);
      break;
    }
    case v1::Event::kLineCrossed: {
      const v1::LineCrossed& l = e.line_crossed();
      out += "line-crossed " + l.line_id() + Printf(" #%" PRIu64 " ", l.track_id()) +
             ClassName(l.vehicle_class()) + Printf(" dir=%+d", l.direction()) +
             Speed(l.speed_kmh());
      break;
    }
    case v1::Event::kZoneEntered: {
      const v1::ZoneEntered& z = e.zone_entered();
      out += "zone-entered " + z.zone_id() + Printf(" #%" PRIu64 " ", z.track_id()) +
             ClassName(z.vehicle_class());
      break;
    }
    case v1::Event::kZoneLeft: {
      const v1::ZoneLeft& z = e.zone_left();
      out += "zone-left " + z.zone_id() + Printf(" #%" PRIu64 " ", z.track_id()) +
             ClassName(z.vehicle_class()) + Printf(" dwell=%.1fs", z.dwell_s());
      break;
    }
    case v1::Event::kVehicleStopped: {
      const v1::VehicleStopped& v = e.vehicle_stopped();
      out += "vehicle-stopped " + v.zone_id() + Printf(" #%" PRIu64 " ", v.track_id()) +
             ClassName(v.vehicle_class()) +
             Printf(" stopped=%.0fs limit=%.0fs", v.stopped_s(), v.max_stop_s());
      break;
    }
    case v1::Event::kWrongWay: {
      const v1::WrongWay& w = e.wrong_way();
      out += "wrong-way" + Printf(" #%" PRIu64 " ", w.track_id()) + ClassName(w.vehicle_class()) +
             " lane " + w.lane_id() + Speed(w.speed_kmh()) +
             Printf(" %.0f%s against", w.distance(), w.distance_in_metres() ? "m" : "px");
      break;
    }
    case v1::Event::kSpeeding: {
      const v1::Speeding& sp = e.speeding();
      out += "speeding" + Printf(" #%" PRIu64 " ", sp.track_id()) +
             ClassName(sp.vehicle_class()) + Speed(sp.speed_kmh()) +
             Printf(" limit=%.0f", sp.limit_kmh());
      if (!sp.lane_id().empty()) out += " lane " + sp.lane_id();
      break;
    }
    case v1::Event::kTrafficStats: {
      const v1::TrafficStats& t = e.traffic_stats();
      out += "traffic-stats lane " + t.lane_id() +
             Printf(" %.0fs count=%u", (t.interval_end_us() - t.interval_start_us()) / 1e6,
                    t.count());
      if (t.mean_speed_kmh() >= 0) out += Printf(" speed=%.0f km/h", t.mean_speed_kmh());
      out += " occupancy=" + Percent(t.occupancy());
      if (t.mean_headway_s() >= 0) out += Printf(" headway=%.1fs", t.mean_headway_s());
      out += Printf(" queue=%u", t.queue_length());
      break;
    }
    case v1::Event::kVehicleRecord: {
      const v1::VehicleRecord& r = e.vehicle_record();
      out += "vehicle-record" + Printf(" #%" PRIu64 " ", r.track_id()) +
             ClassName(r.vehicle_class()) + Speed(r.speed_kmh()) +
             Printf(" %zu crossings %zu zones", static_cast<size_t>(r.crossings_size()),
                    static_cast<size_t>(r.zones_size()));
      break;
    }
    case v1::Event::kClipStored: {
      const v1::ClipStored& c = e.clip_stored();
      out += "clip-stored " + c.file() + Printf(" %.1fs %" PRIu64 " bytes",
                                                 (c.end_us() - c.start_us()) / 1e6, c.bytes());
      if (c.track_id() != 0) out += Printf(" #%" PRIu64, c.track_id());
      if (!c.complete()) out += " (cut short)";
      break;
    }
    case v1::Event::PAYLOAD_NOT_SET:
      out += "unknown-event";  // e.g. a payload added in a newer schema
      break;
  }
  return out;
}

Result<std::string> FormatJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return Status::Internal("cannot convert " + message.GetTypeName() +
                            " to JSON: " + status.ToString());
  }
  return out;
}

Result<std::string> FormatEventJson(const v1::Event& event) { return FormatJson(event); }

std::string FormatCameraTable(const v1::ListCamerasResponse& list) {
  Table table({"ID", "NAME", "ENABLED", "TIER", "FPS", "WIDTH", "URL"},
              {false, false, false, false, true, true, false});
  for (const v1::CameraInfo& c : list.cameras()) {
    // A daemon from before tiers sends none: its cameras run full analytics.
    const std::string tier = c.analytics().empty() ? "full" : c.analytics();
    table.Add({c.id(), c.name(), c.enabled() ? "yes" : "no", tier, Printf("%g", c.analytics_fps()),
               std::to_string(c.detect_width()), RedactUrl(c.url())});
  }
  return table.Render();
}

std::string FormatStatusReport(const v1::StatusResponse& s) {
  std::string out = "node " + s.node_id();
  if (!s.version().empty()) out += " (skynetd " + s.version() + ")";
  out += Printf("  epoch %" PRIu64 "  last seq %" PRIu64 "  uptime %s  cameras %d", s.epoch(),
                s.last_seq(), FormatDuration(s.uptime_seconds()).c_str(), s.cameras_size());
  // The node's own grade: degraded while something it stores is refused (cameras go on).
  out += s.evidence().stopped() ? "  DEGRADED (evidence writing stopped)\n" : "\n";
  if (s.has_journal()) out += JournalStatusText(s.journal()) + "\n";
  if (s.has_feed()) {
    const v1::FeedStatus& f = s.feed();
    out += Printf("  feed: %u subscribers", f.subscribers());
    out += f.max_subscribers() > 0 ? Printf(" (limit %u)", f.max_subscribers()) : " (no limit)";
    out += Printf(", %" PRIu64 " refused, %u events queued per subscriber at most\n",
                  f.subscribers_refused(), f.send_hwm());
  }
  if (s.has_evidence()) out += EvidenceStatusText(s.evidence()) + "\n";
  if (s.overloaded()) {
    out += Printf("  analytics: OVERLOADED: %u cameras drop frames, %.0f%% of frames analysed "
                  "(mean over cameras)\n",
                  s.overloaded_cameras(), s.analysis_share() * 100);
  }
  if (s.cameras_size() == 0) return out;
  Table table({"CAMERA", "STATE", "REASON", "FPS IN/AN", "FRAMES IN/AN/DROP", "RECONN 1H/ALL",
               "STALLS 1H", "ONLINE", "GRADE", "MOTION", "QUALITY"},
              {false, false, false, true, true, true, true, true, false, false, false});
  for (const v1::CameraStatusInfo& c : s.cameras()) {
    std::string online = c.online_seconds() > 0 ? FormatDuration(c.online_seconds()) : "-";
    std::string motion = c.motion_active() ? "active" : "-";
    table.Add({c.id(), CameraStateName(c.state()), StatusReasonName(c.reason()),
               Printf("%.1f/%.1f", c.fps_in(), c.fps_analysed()),
               Printf("%" PRIu64 "/%" PRIu64 "/%" PRIu64, c.frames_in(), c.frames_analysed(),
                      c.frames_dropped()),
               Printf("%" PRIu64 "/%" PRIu64, c.reconnects_last_hour(), c.reconnects()),
               std::to_string(c.stalls_last_hour()), online, GradeName(c.grade()), motion,
               QualityCell(c.quality(), c.quality_faults())});
  }
  out += table.Render();
  // Details are free text and often long: listed under the table rather than in a column.
  for (const v1::CameraStatusInfo& c : s.cameras()) {
    if (!c.detail().empty()) out += "  " + c.id() + ": " + c.detail() + "\n";
  }
  for (const v1::CameraStatusInfo& c : s.cameras()) {
    if (c.overloaded()) {
      out += Printf("  %s: overloaded: %.0f%% of its frames analysed\n", c.id().c_str(),
                    c.analysis_share() * 100);
    }
  }
  return out;
}

std::string FormatQualityReport(const v1::QualityResponse& q) {
  // Worst first: fault, then learning, then ok, then cameras without diagnostics.
  auto rank = [](const v1::CameraQualityInfo& c) {
    if (!c.enabled()) return 3;
    return c.worst() == v1::QUALITY_STATE_FAULT ? 0 : c.worst() == v1::QUALITY_STATE_OK ? 2 : 1;
  };
  std::vector<const v1::CameraQualityInfo*> cameras;
  for (const v1::CameraQualityInfo& c : q.cameras()) cameras.push_back(&c);
  std::stable_sort(cameras.begin(), cameras.end(),
                   [&](const auto* a, const auto* b) { return rank(*a) < rank(*b); });
  std::string out;
  for (const v1::CameraQualityInfo* c : cameras) {
    if (!out.empty()) out += "\n";
    if (!c->enabled()) {
      out += c->camera_id() + ": video quality diagnostics off\n";
      continue;
    }
    std::vector<std::string> faults;
    for (const v1::QualityCheckInfo& k : c->checks()) {
      if (k.state() == v1::QUALITY_STATE_FAULT) faults.push_back(k.check());
    }
    google::protobuf::RepeatedPtrField<std::string> f(faults.begin(), faults.end());
    out += c->camera_id() + ": " + QualityCell(c->worst(), f) + "  reference " + c->reference();
    if (c->reference_time_us() != 0) out += " " + FormatLocalTime(c->reference_time_us());
    out += c->reference_file().empty() ? " (not kept)" : " (" + c->reference_file() + ")";
    out += Printf("  %" PRIu64 " samples\n", c->samples());
    Table table({"CHECK", "STATE", "SCORE", "SINCE"}, {false, false, true, false});
    // Worst first within the camera too; equal states keep the documented order.
    std::vector<const v1::QualityCheckInfo*> checks;
    for (const v1::QualityCheckInfo& k : c->checks()) checks.push_back(&k);
    auto check_rank = [](const v1::QualityCheckInfo& k) {
      return k.state() == v1::QUALITY_STATE_FAULT ? 0 : k.state() == v1::QUALITY_STATE_LEARNING ? 1 : 2;
    };
    std::stable_sort(checks.begin(), checks.end(),
                     [&](const auto* a, const auto* b) { return check_rank(*a) < check_rank(*b); });
    for (const v1::QualityCheckInfo* k : checks) {
      table.Add({k->check(), QualityStateName(k->state()) + (k->held() ? " (held)" : ""),
                 Printf("%.2f", k->score()),
                 k->since_us() != 0 ? FormatLocalTime(k->since_us()).substr(0, 19) : "-"});
    }
    out += table.Render();
  }
  return out;
}

std::string FormatReloadReport(const v1::ReloadResponse& r) {
  auto ids = [](const google::protobuf::RepeatedPtrField<std::string>& list) {
    std::string out;
    for (const std::string& id : list) out += (out.empty() ? "" : ", ") + id;
    return list.empty() ? out : " (" + out + ")";
  };
  std::string out = "reloaded " + r.config_path() + ": " + std::to_string(r.added_size()) +
                    " added" + ids(r.added()) + ", " + std::to_string(r.removed_size()) +
                    " removed" + ids(r.removed()) + ", " + std::to_string(r.restarted_size()) +
                    " restarted" + ids(r.restarted()) + ", " + std::to_string(r.unchanged_size()) +
                    " unchanged\n";
  for (const std::string& id : r.removed_runtime()) {
    out += "removed " + id + ": added at runtime, not in the file\n";
  }
  for (const std::string& w : r.warnings()) out += "warning: " + w + "\n";
  return out;
}

}  // namespace skynet::ctl
