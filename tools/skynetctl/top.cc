#include "tools/skynetctl/top.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "tools/skynetctl/format.h"

namespace skynet::ctl {
namespace {

namespace v1 = skynet::v1;

// "18:01:02" in the local time zone.
std::string ClockTime(int64_t unix_us) { return FormatLocalTime(unix_us).substr(11, 8); }

int64_t EventTime(const v1::Event& e, int64_t now_us) {
  if (e.capture_time_us() != 0) return e.capture_time_us();
  if (e.publish_time_us() != 0) return e.publish_time_us();
  return now_us;
}

// The alarm a camera state raises: OFFLINE where a camera delivers nothing although it should,
// DEGRADED where its frames decode to errors (what it delivers cannot be trusted), none else.
// Connecting (first attempt after start) and disabled (the operator's choice) are not alarms.
std::string AlarmKindOf(v1::CameraState s) {
  if (s == v1::CAMERA_STATE_STALLED || s == v1::CAMERA_STATE_OFFLINE ||
      s == v1::CAMERA_STATE_WAITING) {
    return "OFFLINE";
  }
  return s == v1::CAMERA_STATE_DEGRADED ? "DEGRADED" : "";
}

std::string Speed(float kmh) { return kmh >= 0 ? Printf(", %.0f km/h", kmh) : ""; }

}  // namespace

TopModel::TopModel(TopOptions options) : options_(std::move(options)) {}

bool TopModel::Wanted(const std::string& camera) const {
  return !camera.empty() && (options_.cameras.empty() || options_.cameras.count(camera));
}

TopModel::Camera& TopModel::CameraFor(const std::string& id) {
  auto [it, added] = cameras_.try_emplace(id);
  if (added) order_.push_back(id);
  return it->second;
}

int TopModel::RaiseAlarm(const std::string& camera, int64_t event_us, int64_t now_us,
                         const std::string& kind, const std::string& detail) {
  const int serial = next_serial_++;
  alarms_.push_back({serial, event_us, camera, kind, detail});
  while (alarms_.size() > options_.max_alarms) alarms_.pop_front();
  std::string lower;
  for (char c : kind) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CameraFor(camera).alarms.emplace_back(now_us, lower);
  return serial;
}

void TopModel::SetState(const std::string& id, v1::CameraState state, v1::StatusReason reason,
                        const std::string& detail, int64_t event_us, int64_t now_us) {
  Camera& cam = CameraFor(id);
  cam.state = state;
  cam.reason = reason;
  if (state != v1::CAMERA_STATE_ONLINE) {
    cam.tracks.clear();  // nothing is in view of a camera that sends nothing
    cam.motion = false;
  }
  const std::string kind = AlarmKindOf(state);
  // The open alarm ends when the camera leaves its kind of state (connecting, a reconnect's
  // first step, neither ends nor raises one).
  if (cam.open_alarm >= 0 && kind != cam.open_alarm_kind && state != v1::CAMERA_STATE_CONNECTING) {
    std::string end =
        state == v1::CAMERA_STATE_ONLINE
            ? "back online after " + FormatDuration((now_us - cam.open_alarm_since_us) / 1e6)
            : CameraStateName(state);
    for (Alarm& a : alarms_) {
      if (a.serial == cam.open_alarm) a.detail += " (" + end + ")";
    }
    cam.open_alarm = -1;
    cam.open_alarm_kind.clear();
  }
  if (!kind.empty() && cam.open_alarm < 0) {
    std::string what = StatusReasonName(reason);
    if (!detail.empty()) what += ": " + detail;
    cam.open_alarm = RaiseAlarm(id, event_us, now_us, kind, what);
    cam.open_alarm_kind = kind;
    cam.open_alarm_since_us = now_us;
  }
}

void TopModel::AddEvent(const v1::Event& e, int64_t now_us) {
  if (started_us_ == 0) started_us_ = now_us;
  ++events_;
  last_event_us_ = now_us;
  if (!e.node_id().empty()) node_id_ = e.node_id();
  if (e.has_heartbeat()) {
    heard_heartbeat_ = true;
    heartbeat_online_ = e.heartbeat().cameras_online();
    heartbeat_total_ = e.heartbeat().cameras_total();
    return;
  }
  const std::string& id = e.camera_id();
  if (!Wanted(id)) return;
  const int64_t when = EventTime(e, now_us);
  Camera& cam = CameraFor(id);
  auto track_seen = [&](const v1::VehicleTrack& t) {
    cam.tracks[t.track_id()] = {t.stationary(), now_us};
  };
  switch (e.payload_case()) {
    case v1::Event::kCameraStatus: {
      const v1::CameraStatus& s = e.camera_status();
      SetState(id, s.state(), s.reason(), s.detail(), when, now_us);
      break;
    }
    case v1::Event::kStreamChanged:
      cam.tracks.clear();  // analytics reset: the daemon starts new tracks
      break;
    case v1::Event::kMotionStarted:
    case v1::Event::kMotionUpdated:
      cam.motion = true;
      break;
    case v1::Event::kMotionEnded:
      cam.motion = false;
      break;
    case v1::Event::kVehicleNew:
      track_seen(e.vehicle_new().track());
      break;
    case v1::Event::kVehicleUpdated:
      track_seen(e.vehicle_updated().track());
      break;
    case v1::Event::kVehicleEnded:
      cam.tracks.erase(e.vehicle_ended().track().track_id());
      break;
    case v1::Event::kLineCrossed: {
      const v1::LineCrossed& l = e.line_crossed();
      cam.lines.insert(l.line_id());
      cam.crossings.push_back({now_us, l.line_id(), l.direction(), l.speed_kmh()});
      break;
    }
    case v1::Event::kVehicleStopped: {
      const v1::VehicleStopped& v = e.vehicle_stopped();
      RaiseAlarm(id, when, now_us, "NO PARKING",
                 Printf("#%llu ", static_cast<unsigned long long>(v.track_id())) +
                     VehicleClassName(v.vehicle_class()) + " in zone " + v.zone_id() +
                     Printf(", stopped %.0fs (limit %.0fs)", v.stopped_s(), v.max_stop_s()));
      break;
    }
    case v1::Event::kWrongWay: {
      const v1::WrongWay& w = e.wrong_way();
      RaiseAlarm(
          id, when, now_us, "WRONG WAY",
          Printf("#%llu ", static_cast<unsigned long long>(w.track_id())) +
              VehicleClassName(w.vehicle_class()) + " in lane " + w.lane_id() +
              Speed(w.speed_kmh()) +
              Printf(", %.0f%s against", w.distance(), w.distance_in_metres() ? " m" : " px"));
      break;
    }
    case v1::Event::kSpeeding: {
      const v1::Speeding& s = e.speeding();
      RaiseAlarm(id, when, now_us, "SPEEDING",
                 Printf("#%llu ", static_cast<unsigned long long>(s.track_id())) +
                     VehicleClassName(s.vehicle_class()) +
                     Printf(" at %.0f km/h (limit %.0f)", s.speed_kmh(), s.limit_kmh()) +
                     (s.lane_id().empty() ? "" : " in lane " + s.lane_id()));
      break;
    }
    case v1::Event::kVideoQuality: {
      // A picture fault (frozen, covered, moved...): an alarm until that check is ok again.
      const v1::VideoQuality& q = e.video_quality();
      auto open = cam.quality_alarms.find(q.check());
      if (q.to() == v1::QUALITY_STATE_FAULT && open == cam.quality_alarms.end()) {
        const int serial = RaiseAlarm(id, when, now_us, "QUALITY",
                                      q.check() + Printf(" (score %.2f)", q.score()));
        cam.quality_alarms[q.check()] = {serial, now_us};
      } else if (q.to() != v1::QUALITY_STATE_FAULT && open != cam.quality_alarms.end()) {
        for (Alarm& a : alarms_) {
          if (a.serial == open->second.first) {
            a.detail += " (ok again after " +
                        FormatDuration((now_us - open->second.second) / 1e6) + ")";
          }
        }
        cam.quality_alarms.erase(open);
      }
      break;
    }
    default:  // zones entered/left, traffic stats, unknown payloads: not on this screen
      break;
  }
}

void TopModel::AddLoss(const v1::ReplayGap& loss, int64_t now_us) {
  if (started_us_ == 0) started_us_ = now_us;
  last_event_us_ = now_us;
  lost_ += loss.last_seq() >= loss.first_seq() && loss.last_seq() != 0
               ? loss.last_seq() - loss.first_seq() + 1
               : 1;
}

void TopModel::SetCameras(const v1::ListCamerasResponse& list) {
  std::vector<std::string> listed;
  for (const v1::CameraInfo& c : list.cameras()) {
    if (!Wanted(c.id())) continue;
    Camera& cam = CameraFor(c.id());
    cam.name = c.name();
    cam.listed = true;
    if (!c.enabled()) cam.state = v1::CAMERA_STATE_DISABLED;
    listed.push_back(c.id());
  }
  // Listed cameras first, in the daemon's order; cameras it no longer has are dropped.
  std::vector<std::string> order = listed;
  for (const std::string& id : order_) {
    if (std::find(listed.begin(), listed.end(), id) != listed.end()) continue;
    if (cameras_[id].listed) {
      cameras_.erase(id);
    } else {
      order.push_back(id);
    }
  }
  order_ = std::move(order);
}

void TopModel::SetStatus(const v1::StatusResponse& status, int64_t now_us) {
  if (started_us_ == 0) started_us_ = now_us;
  if (!status.node_id().empty()) node_id_ = status.node_id();
  overloaded_ = status.overloaded();
  evidence_stopped_ = status.evidence().stopped();
  overloaded_cameras_ = status.overloaded_cameras();
  analysis_share_ = status.analysis_share();
  for (const v1::CameraStatusInfo& c : status.cameras()) {
    if (!Wanted(c.id())) continue;
    Camera& cam = CameraFor(c.id());
    if (c.state() != cam.state) SetState(c.id(), c.state(), c.reason(), c.detail(), now_us, now_us);
    if (c.state() == v1::CAMERA_STATE_ONLINE) cam.motion = c.motion_active();
  }
}

void TopModel::Expire(int64_t now_us) {
  const int64_t since = now_us - options_.window_us;
  for (auto& [id, cam] : cameras_) {
    while (!cam.crossings.empty() && cam.crossings.front().at_us < since) {
      cam.crossings.pop_front();
    }
    while (!cam.alarms.empty() && cam.alarms.front().first < since) cam.alarms.pop_front();
    std::erase_if(cam.tracks, [&](const auto& t) {
      return t.second.last_us < now_us - options_.track_expiry_us;
    });
  }
}

std::vector<TopModel::Line> TopModel::Lines(int64_t now_us) {
  if (started_us_ == 0) started_us_ = now_us;
  Expire(now_us);
  std::vector<Line> out;

  int online = 0, degraded = 0;
  for (const std::string& id : order_) {
    online += cameras_[id].state == v1::CAMERA_STATE_ONLINE;
    degraded += cameras_[id].state == v1::CAMERA_STATE_DEGRADED;
  }
  std::string header = "node " + (node_id_.empty() ? std::string("?") : node_id_) + "  " +
                       ClockTime(now_us) + Printf("  cameras %d/%zu online", online, order_.size());
  if (degraded > 0) header += Printf(" (%d degraded)", degraded);
  if (overloaded_) {
    header += Printf("  OVERLOADED (%u cameras, %.0f%% of frames analysed)", overloaded_cameras_,
                     analysis_share_ * 100);
  }
  if (evidence_stopped_) header += "  EVIDENCE STOPPED (disk full)";
  header += "  window " + FormatDuration(options_.window_us / 1e6);
  header += Printf("  events %llu", static_cast<unsigned long long>(events_));
  if (lost_ > 0) header += Printf("  LOST %llu", static_cast<unsigned long long>(lost_));
  out.push_back({header});
  const int64_t quiet_us = now_us - (last_event_us_ != 0 ? last_event_us_ : started_us_);
  if (quiet_us > options_.silence_us) {
    out.push_back({"no events from the feed for " + FormatDuration(quiet_us / 1e6) +
                       (last_event_us_ == 0 ? " (is skynetd running and publishing there?)" : ""),
                   true});
  }
  if (!notice_.empty()) out.push_back({notice_, true});
  out.push_back({""});

  std::vector<std::vector<std::string>> rows = {
      {"CAMERA", "STATE", "IN VIEW", "COUNT FWD/BACK", "KM/H", "MOTION", "ALARMS", "NAME"}};
  for (const std::string& id : order_) {
    const Camera& cam = cameras_[id];
    std::string state = CameraStateName(cam.state);
    if (cam.state != v1::CAMERA_STATE_ONLINE && cam.reason != v1::STATUS_REASON_UNSPECIFIED) {
      state += " (" + StatusReasonName(cam.reason) + ")";
    }
    int stopped = 0;
    for (const auto& [tid, t] : cam.tracks) stopped += t.stationary;
    std::string in_view = std::to_string(cam.tracks.size());
    if (stopped > 0) in_view += Printf(" (%d stopped)", stopped);
    std::string counts;
    double speed_sum = 0;
    int speeds = 0;
    for (const std::string& line : cam.lines) {
      int fwd = 0, back = 0;
      for (const Crossing& c : cam.crossings) {
        if (c.line != line) continue;
        (c.direction >= 0 ? fwd : back)++;
      }
      counts += (counts.empty() ? "" : "  ") + line + Printf(" %d/%d", fwd, back);
    }
    for (const Crossing& c : cam.crossings) {
      if (c.speed_kmh >= 0) {
        speed_sum += c.speed_kmh;
        ++speeds;
      }
    }
    std::map<std::string, int> kinds;
    for (const auto& [at, kind] : cam.alarms) ++kinds[kind];
    std::string alarms;
    for (const auto& [kind, n] : kinds) {
      alarms += (alarms.empty() ? "" : ", ") + kind + (n > 1 ? Printf(" x%d", n) : "");
    }
    rows.push_back({id, state, in_view, counts.empty() ? "-" : counts,
                    speeds > 0 ? Printf("%.0f", speed_sum / speeds) : "-",
                    cam.motion ? "active" : "-", alarms.empty() ? "-" : alarms,
                    cam.name.empty() || cam.name == id ? "" : cam.name});
  }
  std::string table = FormatColumns(rows, {false, false, false, false, true, false, false, false});
  for (size_t start = 0; start < table.size();) {
    size_t nl = table.find('\n', start);
    out.push_back({table.substr(start, nl - start)});
    start = nl + 1;
  }

  out.push_back({""});
  if (alarms_.empty()) {
    out.push_back({"no alarms"});
  } else {
    out.push_back({Printf("ALARMS (latest %zu)", alarms_.size())});
    size_t id_width = 0, kind_width = 0;
    for (const Alarm& a : alarms_) {
      id_width = std::max(id_width, a.camera.size());
      kind_width = std::max(kind_width, a.kind.size());
    }
    for (const Alarm& a : alarms_) {
      std::string text = ClockTime(a.at_us) + "  " + a.camera +
                         std::string(id_width - a.camera.size(), ' ') + "  " + a.kind +
                         std::string(kind_width - a.kind.size(), ' ') + "  " + a.detail;
      out.push_back({text, true});
    }
  }
  return out;
}

std::string TopModel::Render(int64_t now_us) {
  std::string out;
  for (const Line& line : Lines(now_us)) out += line.text + "\n";
  return out;
}

std::string TopModel::RenderAnsi(int64_t now_us, int columns) {
  // Cursor home, then each line cleared to its end, then the rest of the screen cleared: the
  // new screen replaces the old one without the flicker of a full clear.
  std::string out = "\x1b[H";
  for (const Line& line : Lines(now_us)) {
    std::string text = line.text;
    if (columns > 0 && text.size() > static_cast<size_t>(columns)) text.resize(columns);
    if (line.alarm) text = "\x1b[31m" + text + "\x1b[0m";
    out += text + "\x1b[K\n";
  }
  return out + "\x1b[J";
}

}  // namespace skynet::ctl
