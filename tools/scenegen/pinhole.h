// PinholeCamera: the along-the-road scenes' camera, a pinhole on a pole above a flat road.
//
// World frame (metres): x across the road (to the right when looking along the road), y along
// the road (away from the pole), z up; the ground is z = 0. The camera stands at (x, 0, height),
// turned by `yaw` about z (positive: towards +x) and pitched down by `pitch`; no roll. Pixels:
// (0, 0) is the top-left corner of the top-left pixel, the principal point is the frame's centre.
//
//   PinholeCamera cam{.height_m = 8, .pitch_deg = 16, .hfov_deg = 60, .width = 1280, .height =
//   720}; bool in_front = cam.Project({3.5, 40, 0}, &px);   // a point 40 m down the road, on the
//   ground cv::Matx33d h = cam.GroundToImage();              // exact ground-plane homography
//
// A plain value; every member function is const and thread-safe.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace skynet::scenegen {

struct PinholeCamera {
  double x_m = 0;         // position across the road
  double height_m = 8;    // above the ground
  double pitch_deg = 16;  // down from the horizontal, > 0
  double yaw_deg = 0;     // about the vertical axis, positive turns towards +x
  double hfov_deg = 60;   // horizontal field of view
  int width = 1280, height = 720;

  // Focal length in pixels: (width / 2) / tan(hfov / 2).
  double FocalPx() const;
  // World point -> camera coordinates (x right, y down, z forward, metres).
  cv::Point3d ToCamera(const cv::Point3d& world) const;
  // Camera coordinates -> pixel; z must be > 0.
  cv::Point2d CameraToPixel(const cv::Point3d& c) const;
  // World point -> pixel. False (and *pixel untouched) if the point is not in front of the
  // camera (camera z <= 1 cm).
  bool Project(const cv::Point3d& world, cv::Point2d* pixel) const;
  // Ground metres (x, y) -> pixel, as a 3x3 homography (exact for z = 0).
  cv::Matx33d GroundToImage() const;
  // Pixel -> ground metres through the inverse homography. False above the horizon.
  bool PixelToGround(const cv::Point2d& pixel, cv::Point2d* ground) const;
  // Unit direction of the ray through `pixel`, in world coordinates.
  cv::Point3d Ray(const cv::Point2d& pixel) const;
  // Image row of the horizon (rays at z = 0 slope); may be outside the frame.
  double HorizonRow() const;
};

// Clips a planar polygon given in camera coordinates to z >= near (Sutherland-Hodgman). The
// result may be empty.
std::vector<cv::Point3d> ClipToNear(const std::vector<cv::Point3d>& polygon, double near);

// Clips a polygon to the rectangle [0, w] x [0, h] (Sutherland-Hodgman).
std::vector<cv::Point2d> ClipToRect(const std::vector<cv::Point2d>& polygon, double w, double h);

}  // namespace skynet::scenegen
