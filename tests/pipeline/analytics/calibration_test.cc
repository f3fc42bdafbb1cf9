#include "pipeline/analytics/calibration.h"

#include <gtest/gtest.h>

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
