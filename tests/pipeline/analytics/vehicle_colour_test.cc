#include "pipeline/analytics/vehicle_colour.h"

#include <gtest/gtest.h>

#include "tests/pipeline/analytics/vehicle_scene.h"

namespace skynet::analytics {
namespace {

using testing::DrawCar;
using testing::RoadScene;

struct Case {
  VehicleColour expected;
  cv::Scalar bgr;
};

class VehicleColourTest : public ::testing::TestWithParam<Case> {};

TEST_P(VehicleColourTest, NamesSolidColourCars) {
  const Case c = GetParam();
  RoadScene scene;
  cv::Mat frame = scene.Frame(0);
  const cv::Rect body(100, 80, 60, 30);
  DrawCar(frame, body, c.bgr);
  RoadScene::AddNoise(frame, 1);
  // A box a little larger than the car (detector boxes include some road).
  const cv::Rect2f box(body.x - 3, body.y - 2, body.width + 6, body.height + 4);

  // Without a mask: the central body.
  ColourVote v = DominantColour(frame, box, {});
  EXPECT_EQ(v.colour, c.expected) << VehicleColourName(v.colour);
  EXPECT_GT(v.confidence, 0.3f);

  // With a foreground mask: the car's pixels, but not the windows (they look like road).
  cv::Mat mask = cv::Mat::zeros(frame.size(), CV_8U);
  mask(body).setTo(255);
  mask(cv::Rect(body.x + body.width / 4, body.y + body.height / 6, body.width / 2, body.height / 3))
      .setTo(0);
  v = DominantColour(frame, box, mask);
  EXPECT_EQ(v.colour, c.expected) << VehicleColourName(v.colour);
}

INSTANTIATE_TEST_SUITE_P(SevenColours, VehicleColourTest,
                         ::testing::Values(Case{VehicleColour::kWhite, {235, 238, 240}},
                                           Case{VehicleColour::kBlack, {28, 26, 25}},
                                           Case{VehicleColour::kSilver, {165, 162, 160}},
                                           Case{VehicleColour::kRed, {35, 30, 190}},
                                           Case{VehicleColour::kBlue, {170, 70, 25}},
                                           Case{VehicleColour::kYellow, {40, 200, 230}},
                                           Case{VehicleColour::kGreen, {50, 150, 40}}),
                         [](const auto& info) {
                           return std::string(VehicleColourName(info.param.expected));
                         });

TEST(VehicleColourTest, UnknownWithoutPixels) {
  const cv::Mat frame(50, 50, CV_8UC3, cv::Scalar(0, 0, 255));
  EXPECT_EQ(DominantColour(frame, cv::Rect2f(10, 10, 2, 2), {}).colour, VehicleColour::kUnknown);
  EXPECT_EQ(DominantColour(cv::Mat(50, 50, CV_8UC1), cv::Rect2f(0, 0, 40, 40), {}).colour,
            VehicleColour::kUnknown);
}

TEST(VehicleColourTest, AccumulatedVotesDecide) {
  std::array<float, kNumVehicleColours> votes{};
  votes[static_cast<int>(VehicleColour::kBlack)] = 30;
  votes[static_cast<int>(VehicleColour::kRed)] = 20;  // 40% saturated: red wins
  EXPECT_EQ(DecideColour(votes).colour, VehicleColour::kRed);
}

}  // namespace
}  // namespace skynet::analytics
