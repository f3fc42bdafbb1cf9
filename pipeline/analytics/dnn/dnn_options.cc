#include "pipeline/analytics/dnn/dnn_options.h"

#include <sstream>

namespace skynet::analytics {

bool ParseDnnFormat(const std::string& s, DnnFormat* out) {
  if (s == "nanodet")
    *out = DnnFormat::kNanoDet;
  else if (s == "yolov5")
    *out = DnnFormat::kYoloV5;
  else if (s == "yolov8")
    *out = DnnFormat::kYoloV8;
  else
    return false;
  return true;
}

const char* DnnFormatName(DnnFormat f) {
  switch (f) {
    case DnnFormat::kNanoDet:
      return "nanodet";
    case DnnFormat::kYoloV5:
      return "yolov5";
    case DnnFormat::kYoloV8:
      return "yolov8";
  }
  return "unknown";
}

bool ParseDnnPreprocess(const std::string& s, DnnPreprocess* out) {
  if (s == "default") {
    *out = DnnPreprocess::kDefault;
  } else if (s == "nanodet") {
    *out = DnnPreprocess::kNanoDetMeanStd;
  } else if (s == "rgb255") {
    *out = DnnPreprocess::kRgbUnit;
  } else {
    return false;
  }
  return true;
}

std::map<int, ObjectClass> CocoClassMap() {
  return {{0, ObjectClass::kPerson},     {1, ObjectClass::kBicycle}, {2, ObjectClass::kCar},
          {3, ObjectClass::kMotorcycle}, {5, ObjectClass::kBus},     {7, ObjectClass::kTruck}};
}

Status ValidateDnnDetectorOptions(const DnnDetectorOptions& o) {
  if (o.input_size < 32 || o.input_size > 2048 || o.input_size % 32 != 0) {
    return Status::InvalidArgument("input_size: " + std::to_string(o.input_size) +
                                   " is not a multiple of 32 in [32, 2048]");
  }
  if (!(o.score_threshold > 0.f && o.score_threshold <= 1.f)) {
    return Status::InvalidArgument("score_threshold: must be in (0, 1]");
  }
  if (!(o.nms_iou > 0.f && o.nms_iou <= 1.f)) {
    return Status::InvalidArgument("nms_iou: must be in (0, 1]");
  }
  // Upper bounds keep a typo from asking for a batch of thousands of crops or a huge output.
  auto int_range = [](const char* field, int v, int lo, int hi) {
    if (v >= lo && v <= hi) return Status::Ok();
    return Status::InvalidArgument(std::string(field) + ": must be in " + std::to_string(lo) +
                                   ".." + std::to_string(hi) + ", got " + std::to_string(v));
  };
  SKYNET_RETURN_IF_ERROR(int_range("max_crops", o.max_crops, 1, 64));
  SKYNET_RETURN_IF_ERROR(int_range("num_classes", o.num_classes, 1, 10000));
  if (!(o.crop_padding >= 0.f)) return Status::InvalidArgument("crop_padding: negative");
  SKYNET_RETURN_IF_ERROR(int_range("min_crop_size", o.min_crop_size, 1, 4096));
  if (!(o.full_frame_fraction > 0.f)) {
    return Status::InvalidArgument("full_frame_fraction: must be > 0 (above 1: never)");
  }
  if (!(o.detect_fps >= 0 && o.detect_fps <= 240)) {
    std::ostringstream fps;
    fps << o.detect_fps;
    return Status::InvalidArgument("detect_fps: must be in [0, 240] (0: every frame), got " +
                                   fps.str());
  }
  return Status::Ok();
}

}  // namespace skynet::analytics
