// VehiclePipeline: one camera's vehicle analytics inside the daemon. Owns the detector backend
// chosen by `vehicles.backend` (ClassicalDetector or DnnDetector) and the VehicleAnalytics that
// tracks, applies the traffic rules and keeps attributes; maps each VehicleObservation onto the
// skynet.v1 events (vehicle_new/updated/ended, line_crossed, zone_entered/left,
// vehicle_stopped, wrong_way, speeding, traffic_stats). Shared by the live daemon (CameraRunner)
// and offline analysis (`skynetd analyze`), so both emit the same events for the same frames.
//
// Snapshots are JPEG-encoded (cv::imencode, quality 80) only when an event carries one: the crop
// (longer side at most 256 px) and the whole frame of the best moment with the box drawn. The
// frame of each track's best moment is kept (shared between tracks of the same frame) until the
// track ends.
//
// Full resolution: a Frame that carries its decoded source (Frame::source) lets a track keep a
// reference to the decoded buffer of its best moment, at most `vehicles.snapshot_frames` distinct
// buffers per camera (a better moment that would need one more keeps the track's older one; the
// refusal is counted). The feed's crop is then cut from it (still at most 256 px), and when the
// track ends its EvidenceSnapshot (crop with margin and whole scene at the camera's resolution,
// evidence_snapshot.h) goes to the evidence sink, if one is set, just before the vehicle_ended
// event goes to the event sink.
//
// One per camera, on the camera's analytics worker: not thread-safe. Process() never throws
// and never logs; it counts into stats().
//
//   auto vp = VehiclePipeline::Create(camera.id, camera.vehicles);  // Result<unique_ptr<...>>
//   MotionObservation m = motion->Process(frame.image, frame.capture_time_us);
//   (*vp)->Process(frame, m, [&](v1::Event e) { Publish(std::move(e)); });
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "daemon/config.h"
#include "daemon/evidence_snapshot.h"
#include "pipeline/analytics/classical_detector.h"
#include "pipeline/analytics/detection.h"
#include "pipeline/analytics/dnn/dnn_detector.h"
#include "pipeline/analytics/motion_detector.h"
#include "pipeline/analytics/vehicle_analytics.h"
#include "pipeline/core/frame.h"
#include "pipeline/core/status.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

struct VehiclePipelineStats {
  uint64_t frames = 0;           // frames analysed (after the DNN's detect_fps)
  uint64_t rate_skipped = 0;     // frames between DNN detection runs, not analysed
  uint64_t events = 0;           // events handed to the sink
  uint64_t snapshots = 0;        // events that carried a JPEG snapshot
  uint64_t encode_failures = 0;  // cv::imencode failed: the event went without that image
  // Decoded source frames (camera resolution) held for snapshots: now, the most at once, and
  // better moments that kept an older frame because the cap was reached.
  uint64_t source_frames_held = 0;
  uint64_t source_frames_held_max = 0;
  uint64_t source_frames_refused = 0;
  uint64_t evidence_snapshots = 0;  // full-resolution snapshots handed to the evidence sink
  uint64_t evidence_failures = 0;   // ended tracks whose full-resolution snapshot failed
  int64_t cpu_us = 0;            // thread CPU time in Process()
  analytics::DetectorCounters detector;  // the backend's calls and failures (DNN errors...)
};

class VehiclePipeline {
 public:
  using EventSink = std::function<void(v1::Event)>;
  // Receives the full-resolution snapshot of a track that is ending (track id, snapshot).
  using EvidenceSink = std::function<void(uint64_t, EvidenceSnapshot)>;

  // Creates the backend and the analytics. Errors: InvalidArgument for bad options (naming
  // the vehicles.* field), NotFound / IoError / InvalidArgument when the DNN model cannot be
  // loaded (naming the file).
  // `motion_masks`: the camera's motion.masks (the detector keeps no moving blob there).
  static Result<std::unique_ptr<VehiclePipeline>> Create(
      const std::string& camera_id, const VehiclesConfig& config,
      const std::vector<std::vector<cv::Point2f>>& motion_masks = {});
  ~VehiclePipeline();
  VehiclePipeline(const VehiclePipeline&) = delete;
  VehiclePipeline& operator=(const VehiclePipeline&) = delete;

  // Analyses `frame` (BGR at the detect size; gray works with reduced attributes) with the
  // motion detector's observation of the same frame; its capture_time_us is the analytics time.
  // Each event goes to `sink` with camera_id, capture_time_us and stream_time_us set (seq and
  // the rest of the envelope are the sink's business).
  void Process(const Frame& frame, const analytics::MotionObservation& motion,
               const EventSink& sink);
  // Ends every live track with a vehicle_ended event to `sink` (the camera is going away), at
  // the last processed frame's times and size. Nothing if no frame was processed.
  void Close(const EventSink& sink);

  // Where full-resolution snapshots of ended tracks go (none: not made).
  void set_evidence_sink(EvidenceSink sink) { evidence_sink_ = std::move(sink); }

  // A snapshot of the counters, the backend's included. The analytics' own (tracks, rule events,
  // calibration errors) are analytics().stats(); the motion detector's are its own stats().
  VehiclePipelineStats stats() const;
  const analytics::VehicleAnalytics& analytics() const { return *analytics_; }
  // The backend's counters: null unless that backend is the one in use.
  const analytics::ClassicalDetectorStats* classical_stats() const {
    return classical_ ? &classical_->stats() : nullptr;
  }
  const analytics::DnnDetectorStats* dnn_stats() const { return dnn_ ? &dnn_->stats() : nullptr; }

 private:
  struct BestFrame {
    float score = 0;
    int64_t time_us = 0;
    cv::Mat frame;  // shared between the tracks whose best moment it is
    // The decoded source of the best moment it could keep (the cap may have refused a later
    // one), with its time, the track's box then and the detect size.
    std::shared_ptr<const SourceImage> source;
    int64_t source_time_us = 0;
    cv::Rect2f source_box;
    cv::Size source_detect_size;
  };
  // `detect_interval_us`: the least time between analysed frames (the DNN's detect_fps), or 0.
  VehiclePipeline(std::string camera_id, double detect_interval_us, int max_source_frames);
  // Whether `b` may take `source` (another reference to it, or within the cap).
  bool MayHold(const BestFrame& b, const SourceImage* source) const;
  void CountHeld();  // updates the held figures of stats_
  // Hands the ended track's full-resolution snapshot to the evidence sink.
  void SendEvidence(uint64_t track_id, const BestFrame& b);
  void FillTrack(const analytics::VehicleTrackEvent& e, bool with_snapshot, cv::Size size,
                 v1::VehicleTrack* out);
  // The skynet.v1 payload of a track lifecycle event (vehicle_new/updated/ended) or of a rule
  // event, in `ev`.
  void FillTrackEvent(const analytics::VehicleTrackEvent& e, cv::Size size, v1::Event* ev);
  void FillRuleEvent(const analytics::RuleEvent& r, cv::Size size, v1::Event* ev) const;

  const std::string camera_id_;
  const double detect_interval_us_;  // dnn with detect_fps: the least time between runs; else 0
  const int max_source_frames_;      // vehicles.snapshot_frames
  EvidenceSink evidence_sink_;
  std::unique_ptr<analytics::VehicleDetector> detector_;
  const analytics::ClassicalDetector* classical_ = nullptr;  // detector_, if classical
  const analytics::DnnDetector* dnn_ = nullptr;              // detector_, if dnn
  std::unique_ptr<analytics::VehicleAnalytics> analytics_;  // uses detector_: declared after it
  std::map<uint64_t, BestFrame> best_frames_;
  // The last processed frame's times and size, for Close().
  int64_t last_capture_us_ = 0;
  int64_t last_stream_us_ = 0;
  cv::Size last_size_;
  bool has_run_ = false;
  int64_t last_run_us_ = 0;
  VehiclePipelineStats stats_;
};

}  // namespace skynet::daemon
