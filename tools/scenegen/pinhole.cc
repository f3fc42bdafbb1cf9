#include "tools/scenegen/pinhole.h"

#include <cmath>
#include <numbers>

namespace skynet::scenegen {
namespace {

double Rad(double deg) { return deg * std::numbers::pi / 180; }

// Rows: the camera's right, down and forward axes in world coordinates.
cv::Matx33d Rotation(const PinholeCamera& c) {
  const double p = Rad(c.pitch_deg), y = Rad(c.yaw_deg);
  const cv::Vec3d forward(std::sin(y) * std::cos(p), std::cos(y) * std::cos(p), -std::sin(p));
  const cv::Vec3d right(std::cos(y), -std::sin(y), 0);
  const cv::Vec3d down = forward.cross(right);
  return cv::Matx33d(right[0], right[1], right[2], down[0], down[1], down[2], forward[0],
                     forward[1], forward[2]);
}

template <typename P, typename Inside, typename Cut>
std::vector<P> ClipHalf(const std::vector<P>& in, Inside inside, Cut cut) {
  std::vector<P> out;
  for (size_t i = 0; i < in.size(); ++i) {
    const P& a = in[i];
    const P& b = in[(i + 1) % in.size()];
    const bool ia = inside(a), ib = inside(b);
    if (ia) out.push_back(a);
    if (ia != ib) out.push_back(cut(a, b));
  }
  return out;
}

}  // namespace

double PinholeCamera::FocalPx() const { return 0.5 * width / std::tan(Rad(hfov_deg) / 2); }

cv::Point3d PinholeCamera::ToCamera(const cv::Point3d& w) const {
  const cv::Vec3d d(w.x - x_m, w.y, w.z - height_m);
  const cv::Vec3d c = Rotation(*this) * d;
  return {c[0], c[1], c[2]};
}

cv::Point2d PinholeCamera::CameraToPixel(const cv::Point3d& c) const {
  const double f = FocalPx();
  return {0.5 * width + f * c.x / c.z, 0.5 * height + f * c.y / c.z};
}

bool PinholeCamera::Project(const cv::Point3d& world, cv::Point2d* pixel) const {
  const cv::Point3d c = ToCamera(world);
  if (c.z <= 0.01) return false;
  *pixel = CameraToPixel(c);
  return true;
}

cv::Matx33d PinholeCamera::GroundToImage() const {
  // p ~ K R (X - C) for X = (x, y, 0): K [r1 r2 R(-C)] (x, y, 1).
  const double f = FocalPx();
  const cv::Matx33d k(f, 0, 0.5 * width, 0, f, 0.5 * height, 0, 0, 1);
  const cv::Matx33d r = Rotation(*this);
  const cv::Vec3d t = r * cv::Vec3d(-x_m, 0, -height_m);
  const cv::Matx33d m(r(0, 0), r(0, 1), t[0], r(1, 0), r(1, 1), t[1], r(2, 0), r(2, 1), t[2]);
  return k * m;
}

bool PinholeCamera::PixelToGround(const cv::Point2d& pixel, cv::Point2d* ground) const {
  const cv::Vec3d g = GroundToImage().inv() * cv::Vec3d(pixel.x, pixel.y, 1);
  if (std::abs(g[2]) < 1e-12) return false;
  const cv::Point2d p(g[0] / g[2], g[1] / g[2]);
  // Above the horizon the inverse lands behind the camera: the ray never meets the ground.
  if (ToCamera({p.x, p.y, 0}).z <= 0) return false;
  *ground = p;
  return true;
}

cv::Point3d PinholeCamera::Ray(const cv::Point2d& pixel) const {
  const double f = FocalPx();
  const cv::Vec3d c((pixel.x - 0.5 * width) / f, (pixel.y - 0.5 * height) / f, 1);
  const cv::Vec3d w = Rotation(*this).t() * c;
  const double n = cv::norm(w);
  return {w[0] / n, w[1] / n, w[2] / n};
}

double PinholeCamera::HorizonRow() const {
  return 0.5 * height - FocalPx() * std::tan(Rad(pitch_deg));
}

std::vector<cv::Point3d> ClipToNear(const std::vector<cv::Point3d>& polygon, double near) {
  return ClipHalf(
      polygon, [&](const cv::Point3d& p) { return p.z >= near; },
      [&](const cv::Point3d& a, const cv::Point3d& b) {
        const double s = (near - a.z) / (b.z - a.z);
        return a + s * (b - a);
      });
}

std::vector<cv::Point2d> ClipToRect(const std::vector<cv::Point2d>& polygon, double w, double h) {
  std::vector<cv::Point2d> p = polygon;
  auto cut_x = [](double x) {
    return [x](const cv::Point2d& a, const cv::Point2d& b) {
      return cv::Point2d(x, a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x));
    };
  };
  auto cut_y = [](double y) {
    return [y](const cv::Point2d& a, const cv::Point2d& b) {
      return cv::Point2d(a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y), y);
    };
  };
  p = ClipHalf(
      p, [](const cv::Point2d& q) { return q.x >= 0; }, cut_x(0));
  p = ClipHalf(
      p, [&](const cv::Point2d& q) { return q.x <= w; }, cut_x(w));
  p = ClipHalf(
      p, [](const cv::Point2d& q) { return q.y >= 0; }, cut_y(0));
  p = ClipHalf(
      p, [&](const cv::Point2d& q) { return q.y <= h; }, cut_y(h));
  return p;
}

}  // namespace skynet::scenegen
