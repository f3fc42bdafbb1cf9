#include "pipeline/analytics/calibration.h"

#include <gtest/gtest.h>

#include <cmath>

namespace skynet::analytics {
namespace {

// A road seen in perspective: a 3.5 m x 20 m rectangle whose far edge looks narrower.
CalibrationConfig PerspectiveRoad() {
  CalibrationConfig c;
  c.image_points = {cv::Point2f(0.40f, 0.30f), {0.60f, 0.30f}, {0.85f, 0.95f}, {0.15f, 0.95f}};
  c.ground_points = {cv::Point2f(0, 20), {3.5f, 20}, {3.5f, 0}, {0, 0}};
  return c;
}

TEST(CalibrationTest, MapsTheFourPointsAndRoundTrips) {
  const CalibrationConfig config = PerspectiveRoad();
  auto cal = Calibration::Create(config, {320, 180});
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  for (int i = 0; i < 4; ++i) {
    const cv::Point2f px(config.image_points[i].x * 320, config.image_points[i].y * 180);
    const cv::Point2f g = cal->ImageToGround(px);
    EXPECT_NEAR(g.x, config.ground_points[i].x, 1e-3);
    EXPECT_NEAR(g.y, config.ground_points[i].y, 1e-3);
    const cv::Point2f back = cal->GroundToImage(g);
    EXPECT_NEAR(back.x, px.x, 1e-2);
    EXPECT_NEAR(back.y, px.y, 1e-2);
  }
  // Farther away, a pixel covers more road.
  EXPECT_GT(cal->MetresPerPixelAt({160, 60}), cal->MetresPerPixelAt({160, 165}));
}

TEST(CalibrationTest, FootprintOfAnOrthographicView) {
  // 20 px per metre, straight down: a 90x30 px box is 4.5 m wide and about 1.5 m high.
  CalibrationConfig c;
  c.image_points = {cv::Point2f(0, 0), {1, 0}, {1, 1}, {0, 1}};
  c.ground_points = {cv::Point2f(0, 0), {16, 0}, {16, 9}, {0, 9}};
  auto cal = Calibration::Create(c, {320, 180});
  ASSERT_TRUE(cal.ok());
  const Footprint f = cal->FootprintOf(cv::Rect2f(100, 100, 90, 30));
  EXPECT_NEAR(f.width_m, 4.5f, 1e-3);
  EXPECT_NEAR(f.height_m, 1.5f, 1e-3);
  EXPECT_NEAR(f.length_m, 1.5f, 1e-3);
  EXPECT_NEAR(cal->GroundDistance({0, 0}, {20, 0}), 1.0f, 1e-4);
}

// The pixel of ground point (x, y) for a pinhole camera `height` m above ground point `at`,
// turned `yaw` rad from the ground's y axis, pitched `pitch` rad down, focal length `f` px,
// principal point at the centre of a w x h frame.
cv::Point2f Project(cv::Point2f ground, cv::Point2f at, double height, double yaw, double pitch,
                    double f, int w, int h) {
  const cv::Vec3d fwd(std::sin(yaw) * std::cos(pitch), std::cos(yaw) * std::cos(pitch),
                      -std::sin(pitch));
  const cv::Vec3d right(std::cos(yaw), -std::sin(yaw), 0);
  const cv::Vec3d down = fwd.cross(right);
  const cv::Vec3d p(ground.x - at.x, ground.y - at.y, -height);
  return {static_cast<float>(w * 0.5 + f * p.dot(right) / p.dot(fwd)),
          static_cast<float>(h * 0.5 + f * p.dot(down) / p.dot(fwd))};
}

TEST(CalibrationTest, FindsWhereTheCameraStands) {
  // A pole 8 m high at (3, -5), looking along the road 16 degrees down, turned 4 degrees.
  const cv::Point2f at(3, -5);
  const double yaw = 0.07, pitch = 0.28, f = 700;
  CalibrationConfig c;
  c.ground_points = {cv::Point2f(-2, 30), {6, 30}, {6, 12}, {-2, 12}};
  for (int i = 0; i < 4; ++i) {
    const cv::Point2f px = Project(c.ground_points[i], at, 8, yaw, pitch, f, 1280, 720);
    c.image_points[i] = {px.x / 1280, px.y / 720};
  }
  // Any detect size: the same camera.
  for (const cv::Size size : {cv::Size(1280, 720), cv::Size(320, 180)}) {
    auto cal = Calibration::Create(c, size);
    ASSERT_TRUE(cal.ok()) << cal.status().ToString();
    EXPECT_NEAR(cal->camera_ground().x, at.x, 0.05);
    EXPECT_NEAR(cal->camera_ground().y, at.y, 0.05);
    // A point 50 m down the road is 55 m from the camera.
    const cv::Point2f px = Project({3, 50}, at, 8, yaw, pitch, f, 1280, 720);
    const cv::Point2f scaled(px.x * size.width / 1280, px.y * size.height / 720);
    EXPECT_NEAR(cal->DistanceFromCamera(scaled), 55, 0.1);
    EXPECT_TRUE(cal->OnGround(scaled));
    // The top of the frame looks above the horizon.
    EXPECT_FALSE(cal->OnGround({size.width * 0.5f, 0}));
  }
}

TEST(CalibrationTest, StraightDownViewPlacesTheCameraAtTheFrameBottom) {
  // A camera looking straight down has no vanishing line, so no focal length fits: the camera is
  // taken to stand at the ground point of the frame's bottom centre.
  CalibrationConfig c;
  c.image_points = {cv::Point2f(0, 0), {1, 0}, {1, 1}, {0, 1}};
  c.ground_points = {cv::Point2f(0, 0), {16, 0}, {16, 9}, {0, 9}};
  auto cal = Calibration::Create(c, {320, 180});
  ASSERT_TRUE(cal.ok());
  EXPECT_NEAR(cal->camera_ground().x, 8, 1e-3);
  EXPECT_NEAR(cal->camera_ground().y, 9, 1e-3);
  EXPECT_TRUE(cal->OnGround({0, 0}));
}

TEST(CalibrationTest, RejectsDegenerateConfigs) {
  CalibrationConfig c = PerspectiveRoad();
  c.image_points[2] = {0.5f, 0.30f};  // on the line through the first two
  auto r = Calibration::Create(c, {320, 180});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("calibration.image_points: three points"), std::string::npos);

  c = PerspectiveRoad();
  c.image_points[0].x = 1.5f;
  EXPECT_NE(ValidateCalibrationConfig(c).message().find("image_points[0]"), std::string::npos);

  EXPECT_FALSE(Calibration::Create(PerspectiveRoad(), {0, 0}).ok());
}

}  // namespace
}  // namespace skynet::analytics
