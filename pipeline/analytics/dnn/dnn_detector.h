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
#include "pipeline/core/status.h"

namespace skynet::analytics {

enum class DnnFormat { kNanoDet, kYoloV5, kYoloV8 };
enum class DnnPreprocess {
  kDefault,         // kNanoDetMeanStd for NanoDet, kRgbUnit for YOLO
  kNanoDetMeanStd,  // BGR, mean 103.53/116.28/123.675, std 57.375/57.12/58.395
  kRgbUnit,         // RGB / 255
};

// Config spellings. "nanodet" | "yolov5" | "yolov8"; false if unknown.
bool ParseDnnFormat(const std::string& s, DnnFormat* out);
const char* DnnFormatName(DnnFormat f);
// "default" | "nanodet" (mean/std) | "rgb255"; false if unknown.
bool ParseDnnPreprocess(const std::string& s, DnnPreprocess* out);

// COCO-80 ids the backend reports: person 0, bicycle 1, car 2, motorcycle 3, bus 5, truck 7.
std::map<int, ObjectClass> CocoClassMap();

// One field per key of a `detector:` config section (same names, same defaults).
struct DnnDetectorOptions {
  // ONNX file; read once by Create().
  std::string model_path;
  DnnFormat format = DnnFormat::kNanoDet;
  // Square network input in pixels (416 is NanoDet's native size; 320 is ~2x faster).
  int input_size = 416;
  // Candidates below this score are dropped before NMS.
  float score_threshold = 0.35f;
  // NMS IoU: a box overlapping a better one by more than this is dropped.
  float nms_iou = 0.5f;
  // Boxes only suppress boxes of their own class.
  bool class_aware_nms = true;
  DnnPreprocess preprocess = DnnPreprocess::kDefault;
  // Run on motion-gated crops (true) or always on the whole frame (false).
  bool motion_gated = true;
  // Each motion region grows by this fraction of its size on every side (context for the net).
  float crop_padding = 0.25f;
  // Crops are at least this many frame pixels on a side (small regions keep some context and
  // are not blown up past the net's training scale).
  int min_crop_size = 160;
  // At most this many crops per call, all run in one batch; more are merged pairwise (the pair
  // whose union adds the least area first).
  int max_crops = 4;
  // Run a call's crops as one batch when the graph allows (false: one forward pass per crop).
  bool batch_crops = true;
  // When the crops cover at least this fraction of the frame, run the whole frame once instead
  // (above 1: never).
  float full_frame_fraction = 0.6f;
  // Detection rate in stream time (0: every call). A call sooner than 1/detect_fps after the
  // last run returns nothing and counts as `rate_skipped`: a frame not analysed, which a
  // tracker should treat as "no observation", not "no objects" (see last_call_ran()).
  double detect_fps = 5.0;
  // Classes the model scores (NanoDet: tells class scores from box logits, and splits the
  // single [1, N, classes + 4(reg_max+1)] output of NanoDet-Plus exports).
  int num_classes = 80;
  // Model class id -> our class; ids not in the map are dropped. Default: CocoClassMap().
  std::map<int, ObjectClass> class_map = CocoClassMap();
  bool operator==(const DnnDetectorOptions&) const = default;
};

// Returns ok, or InvalidArgument naming the first bad field ("nms_iou: must be in (0, 1]"). Checks
// values only: an empty model_path is the caller's to judge (Create() refuses it; a config whose
// backend is not dnn may leave it empty).
Status ValidateDnnDetectorOptions(const DnnDetectorOptions& options);

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
  bool last_call_ran_ = false;
  bool has_run_ = false;
  int64_t last_run_us_ = 0;
};

}  // namespace skynet::analytics
