// Calibration: a camera's ground plane, as a homography from image points to metres on the road.
//
// Configured by four image points (normalised [0,1] coordinates, so the same config suits any
// detect size) and the positions of the same four points on the ground in metres (any planar
// frame, e.g. x across the road, y along it). Typical source: the corners of a lane-marking
// rectangle of known size. Plain value, immutable after Create(): safe to share read-only.
//
//   CalibrationConfig c;  // image_points / ground_points from the camera's `vehicles:` config
//   auto cal = Calibration::Create(c, frame.size());   // Result<Calibration>
//   cv::Point2f m = cal->ImageToGround({160, 170});    // metres
#pragma once

#include <array>
#include <opencv2/core.hpp>

#include "pipeline/core/status.h"

namespace skynet::analytics {

struct CalibrationConfig {
  // Four image points, normalised (x / width, y / height). No three on one line.
  std::array<cv::Point2f, 4> image_points{};
  // The same four points on the ground, metres.
  std::array<cv::Point2f, 4> ground_points{};

  bool operator==(const CalibrationConfig&) const = default;
};

// Real size of a detected box, from where it stands on the ground.
struct Footprint {
  float width_m = 0;   // ground distance between the box's bottom corners
  float height_m = 0;  // box height at the ground scale of its bottom edge (a rough real height)
  float length_m = 0;  // ground extent of the box's bottom quarter projected on the road
};

// Returns ok, or InvalidArgument naming the problem ("calibration.image_points: three points on
// one line").
Status ValidateCalibrationConfig(const CalibrationConfig& config);

class Calibration {
 public:
  // Builds the homographies for frames of `frame_size` pixels. InvalidArgument if the config is
  // degenerate (see ValidateCalibrationConfig) or the frame size is empty.
  static Result<Calibration> Create(const CalibrationConfig& config, cv::Size frame_size);

  // Pixel -> metres on the ground. Points above the horizon map to meaningless values; callers
  // use the bottom-centre of boxes, which lies on the road.
  cv::Point2f ImageToGround(cv::Point2f pixel) const;
  // Metres on the ground -> pixel.
  cv::Point2f GroundToImage(cv::Point2f metres) const;
  // Ground distance in metres between two pixels (both assumed on the road).
  float GroundDistance(cv::Point2f a, cv::Point2f b) const;
  // Real size of `box` (pixels).
  Footprint FootprintOf(const cv::Rect2f& box) const;
  // Metres per pixel along the image x axis at `pixel` (local scale of the ground plane).
  float MetresPerPixelAt(cv::Point2f pixel) const;
  // Whether `pixel` looks at the ground (below the horizon), where the other functions mean
  // something.
  bool OnGround(cv::Point2f pixel) const;
  // Where the camera stands on the ground (metres, the ground points' frame), recovered from the
  // homography as a pinhole camera with its principal point at the frame centre and square
  // pixels; where that fails (a degenerate view), the ground point of the frame's bottom centre.
  cv::Point2f camera_ground() const { return camera_ground_; }
  // Ground distance in metres from the camera to the ground point at `pixel`.
  float DistanceFromCamera(cv::Point2f pixel) const;

  cv::Size frame_size() const { return frame_size_; }
  const cv::Matx33d& image_to_ground() const { return to_ground_; }

 private:
  Calibration() = default;
  cv::Size frame_size_;
  cv::Matx33d to_ground_;
  cv::Matx33d to_image_;
  double ground_side_ = 1;  // sign of the homogeneous w of pixels on the ground
  cv::Point2f camera_ground_;
};

// Bottom-centre of a box: where a vehicle touches the road, the anchor of every rule.
inline cv::Point2f BottomCentre(const cv::Rect2f& box) {
  return {box.x + box.width * 0.5f, box.y + box.height};
}

}  // namespace skynet::analytics
