// DnnDetector: the DNN VehicleDetector backend. Runs an ONNX detector (NanoDet, YOLOv5,
// YOLOv8 raw head) with OpenCV's dnn module on the moving parts of the frame only: motion
// regions become a few padded, square-ish crops, letterboxed to the input size and run as one
// batch; boxes are mapped back to frame pixels and merged by class-aware NMS across crops.
//
//   DnnDetectorOptions o;  o.model_path = "models/nanodet.onnx";
//   auto det = DnnDetector::Create(o);   if (!det) { /* det.status() names file and reason */ }
//   auto boxes = (*det)->Detect(frame, motion_regions, time_us);
//
// Like every VehicleDetector it belongs to one camera's analytics worker: not thread-safe, no
// locks. Detect() never throws and never logs; failures are counted in stats().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/analytics/detection.h"
#include "pipeline/analytics/dnn/dnn_options.h"
#include "pipeline/core/status.h"

namespace skynet::analytics {

struct DnnDetectorStats {
  int64_t calls = 0;
  int64_t rate_skipped = 0;     // calls inside the detect_fps interval
  int64_t no_motion = 0;        // calls with no motion region: no inference
  int64_t inferences = 0;       // forward passes
  int64_t crops = 0;            // images run (batch items)
  int64_t failures = 0;         // cv::Exception inside Detect(): no detections that call
  int64_t detections = 0;       // boxes reported
  double infer_ms_total = 0.0;  // wall time of forward passes (incl. pre/post-processing)
};

// The process-wide thread budget of inference: OpenCV's thread pool (cv::setNumThreads), which
// the dnn module's layers (and OpenCV's other parallel loops) share across every caller. 1: each
// Detect() runs on its calling thread alone; 0: one thread per core (OpenCV's default). Call at
// start, before any analytics runs. Returns the threads OpenCV then reports.
int SetInferenceThreads(int threads);

class DnnDetector : public VehicleDetector {
 public:
  // Loads the model and runs it once on a blank batch of two (a warm-up that also tells whether
  // the graph takes batches: a model with a batch-1 reshape is then run one crop at a time).
  // Errors: kInvalidArgument for bad options, kIoError / kInvalidArgument naming the file and
  // OpenCV's reason when the model does not load or its outputs do not fit `format`.
  static Result<std::unique_ptr<DnnDetector>> Create(const DnnDetectorOptions& options);
  ~DnnDetector() override;

  std::vector<Detection> Detect(const cv::Mat& frame, const std::vector<cv::Rect2f>& motion_regions,
                                int64_t time_us) override;
  std::string name() const override;
  // Uses none of it: the network sees each frame afresh, in its own pose.
  void SetSceneContext(const SceneContext&) override {}
  // No mask: always empty.
  const cv::Mat& foreground() const override { return no_mask_; }
  // calls and failures of stats().
  DetectorCounters counters() const override {
    return {static_cast<uint64_t>(stats_.calls), static_cast<uint64_t>(stats_.failures)};
  }

  // Whether the last Detect() analysed the frame (false: skipped by detect_fps).
  bool last_call_ran() const { return last_call_ran_; }
  // Whether crops run as one batch (false: batch_crops is off or the graph is batch-1 only).
  bool batched() const;
  const DnnDetectorStats& stats() const { return stats_; }

  // The crops (frame pixels) Detect() would run for these regions; exposed for tests and bench.
  std::vector<cv::Rect> PlanCrops(cv::Size frame_size,
                                  const std::vector<cv::Rect2f>& motion_regions) const;

 private:
  class Impl;
  explicit DnnDetector(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  DnnDetectorStats stats_;
  const cv::Mat no_mask_;
  bool last_call_ran_ = false;
  bool has_run_ = false;
  int64_t last_run_us_ = 0;
};

}  // namespace skynet::analytics
