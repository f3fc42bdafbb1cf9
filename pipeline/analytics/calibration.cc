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

// The camera's position on the ground from `to_image` (ground metres -> pixels of `size`), for a
// pinhole camera with its principal point at the frame centre and square pixels: the focal length
// makes the homography's first two columns orthogonal and of equal length once the intrinsics
// are taken out (Zhang's plane constraints), then the camera centre is -R^T t. False if the
// view is degenerate (no positive focal length fits).
bool CameraFromHomography(const cv::Matx33d& to_image, cv::Size size, cv::Point2f* ground) {
  const cv::Matx33d centre(1, 0, -0.5 * size.width, 0, 1, -0.5 * size.height, 0, 0, 1);
  const cv::Matx33d g = centre * to_image;
  const cv::Vec3d g1(g(0, 0), g(1, 0), g(2, 0)), g2(g(0, 1), g(1, 1), g(2, 1)),
      g3(g(0, 2), g(1, 2), g(2, 2));
  // Both constraints are linear in u = 1 / f^2: a * u + b = 0. Least squares over the two.
  const double a1 = g1[0] * g2[0] + g1[1] * g2[1], b1 = g1[2] * g2[2];
  const double a2 = g1[0] * g1[0] + g1[1] * g1[1] - g2[0] * g2[0] - g2[1] * g2[1],
               b2 = g1[2] * g1[2] - g2[2] * g2[2];
  const double den = a1 * a1 + a2 * a2;
  if (!(den > 0)) return false;
  const double u = -(a1 * b1 + a2 * b2) / den;
  if (!(u > 0) || !std::isfinite(u)) return false;
  const double inv_f = std::sqrt(u);
  auto unproject = [&](const cv::Vec3d& v) { return cv::Vec3d(v[0] * inv_f, v[1] * inv_f, v[2]); };
  cv::Vec3d r1 = unproject(g1), r2 = unproject(g2), t = unproject(g3);
  const double n = 0.5 * (cv::norm(r1) + cv::norm(r2));
  if (!(n > 0)) return false;
  r1 /= n;
  r2 /= n;
  t /= n;
  const cv::Point2f c(static_cast<float>(-r1.dot(t)), static_cast<float>(-r2.dot(t)));
  if (!std::isfinite(c.x) || !std::isfinite(c.y)) return false;
  *ground = c;
  return true;
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
  c.ground_side_ = sign;
  if (!CameraFromHomography(c.to_image_, frame_size, &c.camera_ground_)) {
    c.camera_ground_ =
        c.ImageToGround({0.5f * frame_size.width, static_cast<float>(frame_size.height)});
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

bool Calibration::OnGround(cv::Point2f pixel) const {
  const cv::Vec3d v = to_ground_ * cv::Vec3d(pixel.x, pixel.y, 1.0);
  return v[2] * ground_side_ > 1e-12;
}

float Calibration::DistanceFromCamera(cv::Point2f pixel) const {
  return static_cast<float>(cv::norm(ImageToGround(pixel) - camera_ground_));
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
