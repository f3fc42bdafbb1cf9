// DnnDetectorOptions: every knob of the DNN vehicle detector backend (DnnDetector), one field
// per key of a camera's `vehicles.detector:` config section (same names, same defaults), and the
// config spellings of its enums. Plain data, checked by ValidateDnnDetectorOptions() (the config
// loader and DnnDetector::Create() both call it).
#pragma once

#include <map>
#include <string>

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

// Returns ok, or InvalidArgument naming the first bad field without a prefix ("input_size: ...";
// the config adds "detector."). model_path is not checked here: a config may leave it empty
// while the backend is classical; DnnDetector::Create() requires it and reads the file.
Status ValidateDnnDetectorOptions(const DnnDetectorOptions& options);

}  // namespace skynet::analytics
