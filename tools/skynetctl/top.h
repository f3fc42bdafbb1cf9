// TopModel: the command-center summary behind `skynetctl top`. It folds events from the feed
// (and the daemon's camera list and status, when the control socket answers) into one row per
// camera over a sliding window: state, vehicles in view, crossings per line and direction,
// mean speed, motion and alarms; and keeps the latest alarms (wrong way, no-parking stop,
// speeding, camera offline or degraded, a video quality fault) as lines for under the table.
//
//   TopModel top({.window_us = 60'000'000});
//   top.AddEvent(event, NowUs());              // for every event from the feed
//   std::cout << top.Render(NowUs());          // plain text; RenderAnsi() for a terminal
//
// Pure: no I/O and no clock of its own (every call takes the local time, microseconds since the
// Unix epoch, at which the event arrived or the screen is drawn), so tests drive it with made-up
// times. Not thread-safe: one thread owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "skynet/v1/control.pb.h"
#include "skynet/v1/events.pb.h"

namespace skynet::ctl {

struct TopOptions {
  // Crossings, mean speed and the ALARMS column cover events received in this window.
  int64_t window_us = 60'000'000;
  // Alarm lines kept and shown under the table, newest last.
  size_t max_alarms = 10;
  // Only these cameras (rows, alarms); empty: every camera.
  std::set<std::string> cameras;
  // A camera's track that has had no event for this long is no longer counted in view (its
  // vehicle-ended was lost).
  int64_t track_expiry_us = 300'000'000;
  // The header warns when nothing at all (not even a heartbeat) arrived for this long.
  int64_t silence_us = 5'000'000;
};

class TopModel {
 public:
  explicit TopModel(TopOptions options = {});

  // Applies one event from the feed, received at `now_us`.
  void AddEvent(const skynet::v1::Event& event, int64_t now_us);
  // Events lost for good (the feed's DATA LOSS): counted in the header.
  void AddLoss(const skynet::v1::ReplayGap& loss, int64_t now_us);
  // The daemon's camera list: row order and names. Cameras it no longer lists are dropped.
  void SetCameras(const skynet::v1::ListCamerasResponse& cameras);
  // The daemon's status: node id, overload (shown in the header) and each camera's state (a
  // state change raises or clears the offline alarm, as a camera-status event does).
  void SetStatus(const skynet::v1::StatusResponse& status, int64_t now_us);

  // A line shown under the header until replaced ("" clears it), e.g. that the control socket
  // does not answer.
  void SetNotice(std::string notice) { notice_ = std::move(notice); }

  // The screen at `now_us`: a header line, the camera table, then the alarm lines. Text with
  // '\n' line ends, no escape sequences.
  std::string Render(int64_t now_us);
  // The same screen for a terminal: drawn over the previous one from the top-left corner, each
  // line cut to `columns` characters (0: not cut), alarms in red.
  std::string RenderAnsi(int64_t now_us, int columns);

 private:
  struct Crossing {
    int64_t at_us;
    std::string line;
    int direction;
    float speed_kmh;  // -1: unknown
  };
  struct Track {
    bool stationary = false;
    int64_t last_us = 0;
  };
  struct Camera {
    std::string name;
    bool listed = false;  // in the daemon's camera list
    skynet::v1::CameraState state = skynet::v1::CAMERA_STATE_UNSPECIFIED;
    skynet::v1::StatusReason reason = skynet::v1::STATUS_REASON_UNSPECIFIED;
    std::map<uint64_t, Track> tracks;
    std::set<std::string> lines;  // every line ever crossed: shown with 0/0 when quiet
    std::deque<Crossing> crossings;
    std::deque<std::pair<int64_t, std::string>> alarms;  // (received, kind) in the window
    bool motion = false;
    int open_alarm = -1;          // serial of the open OFFLINE or DEGRADED alarm, -1 if none
    std::string open_alarm_kind;  // "OFFLINE" or "DEGRADED" while one is open
    int64_t open_alarm_since_us = 0;
    // Open QUALITY alarms by check: (serial, raised at), until the check is ok again.
    std::map<std::string, std::pair<int, int64_t>> quality_alarms;
  };
  struct Alarm {
    int serial;
    int64_t at_us;  // event time (capture, else publish, else received)
    std::string camera;
    std::string kind;    // "WRONG WAY", "NO PARKING", "SPEEDING", "OFFLINE", "DEGRADED", "QUALITY"
    std::string detail;  // may grow: "(back online after 20s)"
  };
  struct Line {
    std::string text;
    bool alarm = false;
  };

  bool Wanted(const std::string& camera) const;
  Camera& CameraFor(const std::string& id);
  // Returns the alarm's serial number.
  int RaiseAlarm(const std::string& camera, int64_t event_us, int64_t now_us,
                 const std::string& kind, const std::string& detail);
  void SetState(const std::string& id, skynet::v1::CameraState state,
                skynet::v1::StatusReason reason, const std::string& detail, int64_t event_us,
                int64_t now_us);
  void Expire(int64_t now_us);
  std::vector<Line> Lines(int64_t now_us);

  TopOptions options_;
  std::map<std::string, Camera> cameras_;
  std::vector<std::string> order_;  // listed cameras in list order, then others as first seen
  std::deque<Alarm> alarms_;
  int next_serial_ = 0;
  std::string notice_;
  std::string node_id_;
  // As of the last status: analytics cannot keep up (StatusResponse.overloaded).
  bool overloaded_ = false;
  bool evidence_stopped_ = false;  // evidence writing stopped (disk full), from status
  uint32_t overloaded_cameras_ = 0;
  double analysis_share_ = 1.0;
  uint32_t heartbeat_online_ = 0, heartbeat_total_ = 0;
  bool heard_heartbeat_ = false;
  uint64_t events_ = 0;
  uint64_t lost_ = 0;
  int64_t last_event_us_ = 0;
  int64_t started_us_ = 0;
};

}  // namespace skynet::ctl
