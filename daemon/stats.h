// Counters that the daemon's parts keep and no event reports, as plain snapshots: per camera
// (ingest, hand-over queue, motion, vehicles) from CameraRunner::FillStats(), and per node (the
// event feed and its journal, every camera) from Supervisor::Stats(). For metrics exporters and
// status displays; taking a snapshot never blocks the analytics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/camera_quality.h"
#include "daemon/event_sink.h"
#include "daemon/metrics.h"
#include "daemon/vehicle_pipeline.h"
#include "pipeline/analytics/classical_detector.h"
#include "pipeline/analytics/dnn/dnn_detector.h"
#include "pipeline/analytics/motion_detector.h"
#include "pipeline/analytics/vehicle_analytics.h"
#include "pipeline/ingest/session_state.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

struct VehicleStats {
  VehiclePipelineStats pipeline;               // frames, rate skips, events, snapshots
  analytics::VehicleAnalyticsStats analytics;  // detections, tracks, rule events
  // The backend's own counters; only the configured backend's are filled.
  analytics::ClassicalDetectorStats classical;
  analytics::DnnDetectorStats dnn;  // dnn.failures: inferences that failed (no detections)
};

struct CameraStats {
  std::string camera_id;
  v1::CameraState state = v1::CAMERA_STATE_UNSPECIFIED;  // as `skynetctl status` shows it
  double fps_in = 0;        // frames handed to the runner per second, last few seconds
  double fps_analysed = 0;  // frames analysed per second, last few seconds
  HistogramSnapshot analysis_seconds;  // wall time per analysed frame (motion + vehicles)
  // Ingest since the session was created. session.frames_in - session.frames_delivered: frames
  // decoded but dropped before the runner's queue (analytics_fps rate limit, teardown).
  ingest::SessionStats session;
  uint64_t frames_queued = 0;    // frames handed to the runner
  uint64_t queue_drops = 0;      // dropped by the 2-slot queue: analytics fell behind
  // Over the last 10 s (CameraRunner::load()): frames analysed / handed over, and whether more
  // than 5% were dropped (docs/operations.md, "Overload").
  double analysis_share = 1.0;
  bool overloaded = false;
  uint64_t frames_analysed = 0;  // frames through the motion detector
  uint64_t events = 0;           // events published (status, motion, vehicles, ...)
  analytics::MotionStats motion;
  bool vehicles = false;  // whether vehicle analytics runs (then `vehicle` is filled)
  VehicleStats vehicle;
  // Video quality: each check's state and score, by analytics::QualityCheck; empty when off.
  std::vector<QualityCheckSnapshot> quality;
};

struct NodeStats {
  FeedStats feed;
  std::vector<CameraStats> cameras;  // in the order of `skynetctl status`
};

}  // namespace skynet::daemon
