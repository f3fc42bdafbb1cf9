// Object detections and the interface every vehicle detector backend implements.
//
// Backends: classical (foreground blobs + calibrated size; no model files) and DNN (OpenCV dnn
// on ONNX models, run on motion regions). A detector belongs to one camera and is called from
// that camera's analytics worker only, so implementations need no locking.
//
// The loop between tracker and detector goes through SceneContext: after each frame the caller
// (VehicleAnalytics) tells the detector what the tracker and the motion detector know, and every
// backend takes what it can use (the classical one all of it, the DNN one nothing):
//
//   detector->SetSceneContext(context);  // calibration, shake shift, stationary/tracked boxes
//   std::vector<Detection> found = detector->Detect(frame, motion_boxes, time_us);
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
  // A track's own predicted box cut from a blob that merged it with others (the tracker's
  // split_merged): it keeps the track alive, but is not a measurement of where the object is.
  bool predicted = false;
};

class Calibration;

// What the rest of the vehicle pipeline knows about the scene, for the detector's next frames.
struct SceneContext {
  // Ground-plane calibration for the current frame size, or nullptr (classes by relative size).
  // Not owned: the caller keeps it alive until the next SetSceneContext().
  const Calibration* calibration = nullptr;
  // Shake the motion detector compensated in this frame, pixels: aligned(x) = frame(x + shift);
  // the motion regions are already in the aligned (steady) pose. Zero: no shake.
  cv::Point2f camera_shift;
  // Pixel boxes of stationary tracks (Tracker::StationaryBoxes()): parked vehicles, kept out of
  // a backend's background model and needing no motion support.
  std::vector<cv::Rect2f> stationary_boxes;
  // Pixel boxes of tracked objects seen in the latest frame, at least twice: a vehicle that has
  // just stopped (no motion, not yet stationary) or a slow pedestrian.
  std::vector<cv::Rect2f> tracked_boxes;
  // The traffic rules' lanes as pixel polygons at the detect size (empty: none configured). With
  // a calibration, blobs of vehicles in adjacent lanes are cut apart where the lane changes.
  std::vector<std::vector<cv::Point>> lanes;
  // The camera's motion masks as pixel polygons at the detect size (empty: none). The motion
  // detector sees nothing there by design (trees, a clock): a backend keeps no blob there for
  // moving on its own.
  std::vector<std::vector<cv::Point>> masks;
};

// What every backend counts, for metrics (each backend's own stats() has more).
struct DetectorCounters {
  uint64_t calls = 0;     // calls to Detect()
  uint64_t failures = 0;  // calls that failed inside the backend (bad frame, OpenCV error)
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
  // Replaces the scene context; it applies from the next Detect() on. Backends ignore what they
  // do not use.
  virtual void SetSceneContext(const SceneContext& context) = 0;
  // Of the latest frame: 255 where an object is, else 0, the size of the frame Detect() saw (in
  // the aligned pose when the context had a shake shift); empty if the backend keeps no mask.
  virtual const cv::Mat& foreground() const = 0;
  virtual DetectorCounters counters() const = 0;
  // "classical", "nanodet", "yolov5", "yolov8".
  virtual std::string name() const = 0;
};

}  // namespace skynet::analytics
