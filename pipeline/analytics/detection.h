// Object detections and the interface every vehicle detector backend implements.
//
// Backends: classical (foreground blobs + calibrated size; no model files) and DNN (OpenCV dnn
// on ONNX models, run on motion regions). A detector belongs to one camera and is called from
// that camera's analytics worker only, so implementations need no locking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace skynet::analytics {

enum class ObjectClass { kUnknown = 0, kCar, kBus, kTruck, kMotorcycle, kBicycle, kPerson };

// "car", "bus", ...; "unknown" for kUnknown.
const char* ObjectClassName(ObjectClass c);
bool IsVehicle(ObjectClass c);

struct Detection {
  // Box in pixels of the analysed frame.
  cv::Rect2f box;
  ObjectClass object_class = ObjectClass::kUnknown;
  // Confidence in [0, 1].
  float score = 0.f;
};

class VehicleDetector {
 public:
  virtual ~VehicleDetector() = default;
  // Detects objects in `frame` (CV_8UC3 BGR, or CV_8UC1 where the backend allows it).
  // `motion_regions` are normalised boxes from the motion detector: backends may restrict work
  // to them (an empty list means "nothing moved"; backends that track stationary objects may
  // still report them). Never throws; a backend failure yields no detections and is counted.
  virtual std::vector<Detection> Detect(const cv::Mat& frame,
                                        const std::vector<cv::Rect2f>& motion_regions,
                                        int64_t time_us) = 0;
  // "classical", "nanodet", "yolov5", "yolov8".
  virtual std::string name() const = 0;
};

}  // namespace skynet::analytics
