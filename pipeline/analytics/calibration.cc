#include "pipeline/analytics/calibration.h"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <string>

namespace skynet::analytics {
namespace {

// Twice the signed area of a triangle.
double Cross(cv::Point2f a, cv::Point2f b, cv::Point2f c) {
  return static_cast<double>(b.x - a.x) * (c.y - a.y) -
         static_cast<double>(b.y - a.y) * (c.x - a.x);
}

// True if any three of the points are (nearly) on one line, relative to the spread of the points.
bool HasCollinearTriple(const std::array<cv::Point2f, 4>& p) {
  double span = 0;
  for (int i = 0; i < 4; ++i) {
    for (int j = i + 1; j < 4; ++j)
      span = std::max(span, static_cast<double>(cv::norm(p[i] - p[j])));
  }
  if (span <= 0) return true;
  for (int i = 0; i < 4; ++i) {
    for (int j = i + 1; j < 4; ++j) {
      for (int k = j + 1; k < 4; ++k) {
        if (std::abs(Cross(p[i], p[j], p[k])) < 1e-3 * span * span) return true;
      }
    }
  }
  return false;
}

cv::Point2f Apply(const cv::Matx33d& h, cv::Point2f p) {
  const cv::Vec3d v = h * cv::Vec3d(p.x, p.y, 1.0);
  if (std::abs(v[2]) < 1e-12) return {0.f, 0.f};
  return {static_cast<float>(v[0] / v[2]), static_cast<float>(v[1] / v[2])};
}

}  // namespace

Status ValidateCalibrationConfig(const CalibrationConfig& config) {
  for (int i = 0; i < 4; ++i) {
    const cv::Point2f p = config.image_points[i];
    if (!(p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1)) {
      return Status::InvalidArgument("calibration.image_points[" + std::to_string(i) +
                                     "]: must be normalised, in [0, 1]");
    }
    const cv::Point2f g = config.ground_points[i];
    if (!std::isfinite(g.x) || !std::isfinite(g.y)) {
      return Status::InvalidArgument("calibration.ground_points[" + std::to_string(i) +
                                     "]: must be finite metres");
    }
  }
  if (HasCollinearTriple(config.image_points)) {
    return Status::InvalidArgument("calibration.image_points: three points on one line");
  }
  if (HasCollinearTriple(config.ground_points)) {
    return Status::InvalidArgument("calibration.ground_points: three points on one line");
  }
  return Status::Ok();
}

Result<Calibration> Calibration::Create(const CalibrationConfig& config, cv::Size frame_size) {
  SKYNET_RETURN_IF_ERROR(ValidateCalibrationConfig(config));
  if (frame_size.width <= 0 || frame_size.height <= 0) {
    return Status::InvalidArgument("calibration: empty frame size");
  }
  std::array<cv::Point2f, 4> pixels;
  for (int i = 0; i < 4; ++i) {
    pixels[i] = {config.image_points[i].x * frame_size.width,
                 config.image_points[i].y * frame_size.height};
  }
  Calibration c;
  c.frame_size_ = frame_size;
  try {
    const cv::Mat h = cv::getPerspectiveTransform(pixels.data(), config.ground_points.data());
    if (h.empty() || std::abs(cv::determinant(h)) < 1e-15) {
      return Status::InvalidArgument("calibration: the points do not define a homography");
    }
    c.to_ground_ = cv::Matx33d(h);
    c.to_image_ = c.to_ground_.inv();
  } catch (const cv::Exception& e) {
    return Status::InvalidArgument(std::string("calibration: ") + e.what());
  }
  // The ground must lie on one side of the horizon for all four points, or the image quad is
  // folded (points given in an order that twists the rectangle).
  double sign = 0;
  for (const cv::Point2f& p : pixels) {
    const cv::Vec3d v = c.to_ground_ * cv::Vec3d(p.x, p.y, 1.0);
    if (sign == 0) sign = v[2];
    if (v[2] * sign <= 0) {
      return Status::InvalidArgument("calibration: the points straddle the horizon (check order)");
    }
  }
  return c;
}

cv::Point2f Calibration::ImageToGround(cv::Point2f pixel) const { return Apply(to_ground_, pixel); }

cv::Point2f Calibration::GroundToImage(cv::Point2f metres) const {
  return Apply(to_image_, metres);
}

float Calibration::GroundDistance(cv::Point2f a, cv::Point2f b) const {
  return static_cast<float>(cv::norm(ImageToGround(a) - ImageToGround(b)));
}

float Calibration::MetresPerPixelAt(cv::Point2f pixel) const {
  return GroundDistance(pixel - cv::Point2f(0.5f, 0.f), pixel + cv::Point2f(0.5f, 0.f));
}

Footprint Calibration::FootprintOf(const cv::Rect2f& box) const {
  Footprint f;
  const float bottom = box.y + box.height;
  f.width_m = GroundDistance({box.x, bottom}, {box.x + box.width, bottom});
  // A vehicle's lower part is close to the road; its top is not, so only the bottom quarter is
  // projected for the length (an underestimate for a long vehicle seen head-on, never a person's
  // head thrown far down the road).
  const float cx = box.x + box.width * 0.5f;
  f.length_m = GroundDistance({cx, bottom}, {cx, bottom - box.height * 0.25f}) * 4.f;
  const float scale = box.width > 0 ? f.width_m / box.width : MetresPerPixelAt({cx, bottom});
  f.height_m = box.height * scale;
  return f;
}

}  // namespace skynet::analytics
