// Camera health: how many reconnects and stalls a camera had in the last hour, and the grade
// (excellent, fair, poor, unusable) that `skynetctl status` shows. The rule is documented in
// docs/operations.md, section "Health"; keep the two in step.
//
// Pure logic on monotonic timestamps handed in by the caller (so tests use a fake clock).
// EventWindow is thread-safe; GradeCamera() is a pure function.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>

#include "skynet/v1/control.pb.h"

namespace skynet::daemon {

// Counts events in a sliding window (the last hour by default). Keeps at most `max_events`
// timestamps: a camera flapping faster than that reports the cap, which is plenty to grade it.
class EventWindow {
 public:
  explicit EventWindow(int64_t window_us = 3600LL * 1'000'000, size_t max_events = 4096)
      : window_us_(window_us), max_events_(max_events) {}

  void Record(int64_t now_us) {
    std::lock_guard<std::mutex> lock(mu_);
    times_.push_back(now_us);
    if (times_.size() > max_events_) times_.pop_front();
  }
  // Events within (now - window, now].
  uint64_t Count(int64_t now_us) const {
    std::lock_guard<std::mutex> lock(mu_);
    while (!times_.empty() && times_.front() <= now_us - window_us_) times_.pop_front();
    return times_.size();
  }

 private:
  const int64_t window_us_;
  const size_t max_events_;
  mutable std::mutex mu_;
  mutable std::deque<int64_t> times_;
};

// What the grade is made of.
struct HealthFigures {
  bool enabled = true;
  bool online = false;
  bool degraded = false;        // online, but the stream decodes to errors (CAMERA_STATE_DEGRADED)
  double online_seconds = 0;    // in the current online period
  double target_fps = 5;        // analytics_fps of the camera
  double fps_analysed = 0;      // measured over the last few seconds
  uint64_t frames_in = 0;       // since the session started
  uint64_t frames_dropped = 0;  // queue drops since the session started
  uint64_t reconnects_last_hour = 0;
  uint64_t stalls_last_hour = 0;
  bool quality_fault = false;   // a video quality check is in fault (frozen, covered, moved...)
};

// Seconds online before the frame rate counts: the rate meter needs a few frames first.
constexpr double kGradeWarmupSeconds = 3.0;

// GRADE_UNSPECIFIED for a disabled camera; GRADE_UNUSABLE when not online; otherwise the worst
// that the figures allow:
//   excellent: analysed fps >= 90% of target, drops < 1%, no reconnect or stall in the hour;
//   fair:      analysed fps >= 60% of target, drops < 10%, at most 3 reconnects+stalls;
//   poor:      anything else that is online with fewer than 30 reconnects+stalls, and at
//              best for a degraded stream (frames come, but decode to errors or concealment)
//              or a picture with a video quality fault (frozen, covered, moved, ...);
//   unusable:  not online, or online but flapping (30 or more reconnects+stalls in the hour).
// During the first kGradeWarmupSeconds online the frame rate is not judged.
inline v1::Grade GradeCamera(const HealthFigures& h) {
  if (!h.enabled) return v1::GRADE_UNSPECIFIED;
  if (!h.online) return v1::GRADE_UNUSABLE;
  const uint64_t trouble = h.reconnects_last_hour + h.stalls_last_hour;
  if (trouble >= 30) return v1::GRADE_UNUSABLE;
  if (h.degraded || h.quality_fault) return v1::GRADE_POOR;
  const bool warm = h.online_seconds >= kGradeWarmupSeconds;
  const double fps_ratio = !warm || h.target_fps <= 0 ? 1.0 : h.fps_analysed / h.target_fps;
  const double drop_ratio =
      h.frames_in == 0 ? 0.0
                       : static_cast<double>(h.frames_dropped) / static_cast<double>(h.frames_in);
  if (fps_ratio >= 0.9 && drop_ratio < 0.01 && trouble == 0) return v1::GRADE_EXCELLENT;
  if (fps_ratio >= 0.6 && drop_ratio < 0.1 && trouble <= 3) return v1::GRADE_FAIR;
  return v1::GRADE_POOR;
}

}  // namespace skynet::daemon
