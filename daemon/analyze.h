// Offline analysis: `skynetd analyze` runs one configured camera's analytics over a recorded
// video file as fast as the CPU allows and emits the events the live daemon would have emitted.
//
// The frames come from the same ingest (CameraSession on file://, not paced, not looped) at the
// camera's detect width and analytics_fps (applied in stream time), and go through the same
// MotionDetector and FillMotionEvent() as in CameraRunner. Differences from the live feed, so
// that the output is reproducible byte for byte: node_id "offline", epoch 0, seq from 1,
// publish_time_us 0, and capture_time_us is the stream time (a file carries no wall clock).
// frame_index counts analysed frames from 0 (after the analytics_fps limit). With video quality
// diagnostics (`video_quality.enabled`, the default) the same CameraQuality as the live camera's
// samples the analysed frames on stream time and emits VideoQuality events; its reference view
// is learned from the file (never read from or written to reference_dir).
//
//   auto summary = AnalyzeVideo(camera, "clip.mp4", [&](const v1::Event& e) { ... });
//
// Runs on the calling thread (ingest uses its own GStreamer threads); the sink is called on the
// calling thread, in order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "daemon/camera_quality.h"
#include "daemon/config.h"
#include "pipeline/analytics/tracker.h"
#include "pipeline/core/frame.h"
#include "pipeline/core/status.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

struct AnalyzeSummary {
  uint64_t frames = 0;        // frames analysed
  uint64_t events = 0;        // events handed to the sink
  int64_t video_us = 0;       // stream time of the last analysed frame
  int64_t motion_cpu_us = 0;  // thread CPU time spent in the motion detector
  int64_t vehicle_cpu_us = 0;  // thread CPU time in vehicle analytics (vehicles.enabled)
  int64_t quality_cpu_us = 0;  // thread CPU time in the video quality diagnostics
  double motion_cpu_ms_per_frame() const {
    return frames ? static_cast<double>(motion_cpu_us) / 1000.0 / frames : 0.0;
  }
};

// Called after each analysed frame with the vehicle tracker's live tracks (confirmed and
// tentative) and the detector's output it was given; boxes in pixels of `frame`, the detect
// size. Only with vehicles.enabled.
using TrackSink = std::function<void(const Frame& frame, const std::vector<analytics::Track>&,
                                     const std::vector<analytics::Detection>&)>;

// Analyses `video_path` with `camera`'s analytics settings (its url is ignored). With
// `close_tracks`, the vehicle tracks still live at the end of the file end there (vehicle_ended,
// as when a live camera stops). Returns the
// summary once the file has ended. Errors: InvalidArgument for bad motion options; NotFound if
// the file cannot be read; Unavailable naming the file if it cannot be decoded (not a video,
// no H.264/H.265 video stream). `quality`: video quality diagnostics with these options (its
// reference_file is ignored), or none.
Result<AnalyzeSummary> AnalyzeVideo(const CameraConfig& camera, const std::string& video_path,
                                    const std::function<void(const v1::Event&)>& sink,
                                    const TrackSink& tracks = nullptr, bool close_tracks = false,
                                    const CameraQualityOptions* quality = nullptr);

struct AnalyzeArgs {
  std::string config_path;
  std::string camera_id;
  std::string video_path;
  std::string out_path;  // empty or "-": stdout
  // If set: the vehicle tracks of every analysed frame as JSON lines (needs vehicles.enabled).
  std::string tracks_path;
  // If set: the vehicle records of the finished tracks are also added to this SQLite record
  // database (created if missing; the same store as records.path), node "offline", times in
  // stream time as the events.
  std::string records_path;
  std::string log_level = "warn";
};

// The `skynetd analyze` command: writes one JSON object per event and line (protobuf JSON
// mapping) and a summary on stderr. Returns the exit code: 0 done, 2 bad arguments or config
// (unknown camera, bad log level), 1 unreadable or undecodable video or unwritable output.
int RunAnalyze(const AnalyzeArgs& args);

}  // namespace skynet::daemon
