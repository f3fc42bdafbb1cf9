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

// The histogram of a frame: its bins sum to the vote's weight; a red and a blue car put their
// mass in different hue sectors, a white and a black car in different lightness bins; the same
// car under another exposure (a brighter and a darker camera) stays close.
TEST(VehicleColourTest, HistogramSeparatesColoursAndSurvivesExposure) {
  auto histogram = [](cv::Scalar bgr, double gain) {
    RoadScene scene;
    cv::Mat frame = scene.Frame(0);
    const cv::Rect body(100, 80, 60, 30);
    DrawCar(frame, body, bgr);
    frame.convertTo(frame, -1, gain);
    const ColourVote v = DominantColour(frame, cv::Rect2f(97, 78, 66, 34), {});
    float total = 0;
    for (float x : v.histogram) total += x;
    float weight = 0;
    for (float x : v.votes) weight += x;
    EXPECT_NEAR(total, weight, 1e-4);
    return NormaliseHistogram(v.histogram);
  };
  const ColourHistogram red = histogram({35, 30, 190}, 1), blue = histogram({170, 70, 25}, 1);
  const ColourHistogram white = histogram({235, 238, 240}, 1);
  const ColourHistogram black = histogram({28, 26, 25}, 1);
  const ColourHistogram red_dark = histogram({35, 30, 190}, 0.8);
  const ColourHistogram white_dark = histogram({235, 238, 240}, 0.85);
  EXPECT_GT(HistogramDistance(red, blue), 0.6f);
  EXPECT_GT(HistogramDistance(white, black), 0.6f);
  EXPECT_GT(HistogramDistance(red, white), 0.6f);
  EXPECT_LT(HistogramDistance(red, red_dark), 0.3f);
  EXPECT_LT(HistogramDistance(white, white_dark), 0.35f);
  EXPECT_FLOAT_EQ(HistogramDistance(red, red), 0.f);
  EXPECT_FLOAT_EQ(HistogramDistance(red, ColourHistogram{}), 1.f);
  float total = 0;
  for (float x : red) total += x;
  EXPECT_NEAR(total, 1.f, 1e-5);
}

TEST(VehicleColourTest, UnknownWithoutPixels) {
  const cv::Mat frame(50, 50, CV_8UC3, cv::Scalar(0, 0, 255));
  EXPECT_EQ(DominantColour(frame, cv::Rect2f(10, 10, 2, 2), {}).colour, VehicleColour::kUnknown);
  EXPECT_EQ(DominantColour(cv::Mat(50, 50, CV_8UC1), cv::Rect2f(0, 0, 40, 40), {}).colour,
            VehicleColour::kUnknown);
}

TEST(VehicleColourTest, MostVotesWin) {
  std::array<float, kNumVehicleColours> votes{};
  votes[static_cast<int>(VehicleColour::kBlack)] = 3;
  votes[static_cast<int>(VehicleColour::kBlue)] = 5;
  votes[static_cast<int>(VehicleColour::kSilver)] = 2;
  const ColourVote v = DecideColour(votes);
  EXPECT_EQ(v.colour, VehicleColour::kBlue);
  EXPECT_FLOAT_EQ(v.confidence, 0.5f);
  EXPECT_EQ(DecideColour({}).colour, VehicleColour::kUnknown);
}

// A car seen from a pole down the road: bonnet and roof in the light, front and sides in its own
// shade, a dark windscreen between them, tyres, and its cast shadow on the road beside it. By day
// the sun makes the front much darker than the top; at dusk the light is flat sky light, bluish,
// and the camera's gain (its automatic exposure keeps the road at the same level) adds noise. The
// light may be tinted (sodium lamps: warm).
struct AlongCase {
  const char* name;
  VehicleColour expected;
  cv::Scalar paint;  // BGR
  bool dusk;
  cv::Scalar tint;  // per-channel factor of the light
};

cv::Mat AlongRoadFrame(const AlongCase& c, cv::Rect* body, cv::Mat* mask) {
  RoadScene scene;
  cv::Mat frame = scene.Frame(0) * 0.85;  // dark asphalt, as most roads
  *body = cv::Rect(130, 60, 50, 56);
  const cv::Rect b = *body;
  // Cast shadow: the road beside and behind the car, darker, same chromaticity.
  const cv::Rect shadow(b.x + b.width, b.y + b.height / 3, b.width / 2, b.height * 2 / 3);
  frame(shadow) *= 0.5;
  const cv::Rect roof(b.x + 6, b.y, b.width - 12, b.height / 5);
  const cv::Rect glass(b.x + 4, roof.br().y, b.width - 8, b.height / 4);
  const cv::Rect bonnet(b.x, glass.br().y, b.width, b.height / 4);
  const cv::Rect front(b.x, bonnet.br().y, b.width, b.br().y - bonnet.br().y);
  // Sun at 40 degrees: 0.55 sky light + 0.55 x sin 40 on the top faces (as scenegen lights them).
  const double top = c.dusk ? 0.85 : 0.9, side = c.dusk ? 0.75 : 0.55;
  cv::rectangle(frame, roof, c.paint * top, cv::FILLED);
  cv::rectangle(frame, glass, cv::Scalar(62, 52, 46), cv::FILLED);
  cv::rectangle(frame, bonnet, c.paint * top, cv::FILLED);
  cv::rectangle(frame, front, c.paint * side, cv::FILLED);
  for (int s : {0, 1}) {
    cv::rectangle(frame, cv::Rect(s ? b.br().x - 9 : b.x, b.br().y - 8, 9, 8),
                  cv::Scalar(22, 22, 24), cv::FILLED);
  }
  RoadScene::AddNoise(frame, 3);
  cv::Mat lit;
  frame.convertTo(lit, CV_32FC3);
  const cv::Scalar tint = c.dusk ? cv::Scalar(1.08, 1.0, 0.92) : c.tint;
  lit = lit.mul(cv::Scalar(tint[0], tint[1], tint[2]));
  if (c.dusk) {
    cv::Mat gain_noise(lit.size(), CV_32FC3);
    cv::RNG(7).fill(gain_noise, cv::RNG::NORMAL, 0, 5);
    lit += gain_noise;
  }
  lit.convertTo(frame, CV_8UC3);
  // The classical detector's mask: the car's pixels, not its shadow; roof corners missing.
  *mask = cv::Mat::zeros(frame.size(), CV_8U);
  (*mask)(b).setTo(255);
  (*mask)(cv::Rect(b.x, b.y, 6, roof.height)).setTo(0);
  (*mask)(cv::Rect(b.br().x - 6, b.y, 6, roof.height)).setTo(0);
  return frame;
}

class AlongRoadColourTest : public ::testing::TestWithParam<AlongCase> {};

TEST_P(AlongRoadColourTest, NamesTheBodyNotGlassShadowOrRoad) {
  const AlongCase& c = GetParam();
  cv::Rect body;
  cv::Mat mask;
  const cv::Mat frame = AlongRoadFrame(c, &body, &mask);
  // The detector's box includes the shadow beside the car.
  const cv::Rect2f box(body.x - 2, body.y - 2, body.width * 1.5f + 4, body.height + 4);
  const ColourVote v = DominantColour(frame, box, mask);
  EXPECT_EQ(v.colour, c.expected) << VehicleColourName(v.colour);
  EXPECT_GT(v.votes[static_cast<int>(c.expected)], 0.f);
}

const cv::Scalar kNeutral(1, 1, 1), kSodium(0.8, 0.95, 1.15);
constexpr bool kDay = false, kDusk = true;
INSTANTIATE_TEST_SUITE_P(
    DayDuskSodium, AlongRoadColourTest,
    ::testing::Values(
        AlongCase{"black_day", VehicleColour::kBlack, {30, 30, 32}, kDay, kNeutral},
        AlongCase{"black_dusk", VehicleColour::kBlack, {30, 30, 32}, kDusk, kNeutral},
        AlongCase{"white_day", VehicleColour::kWhite, {235, 235, 235}, kDay, kNeutral},
        AlongCase{"white_dusk", VehicleColour::kWhite, {235, 235, 235}, kDusk, kNeutral},
        AlongCase{"white_sodium", VehicleColour::kWhite, {235, 235, 235}, kDay, kSodium},
        AlongCase{"dark_blue_day", VehicleColour::kBlue, {95, 40, 18}, kDay, kNeutral},
        AlongCase{"dark_blue_dusk", VehicleColour::kBlue, {95, 40, 18}, kDusk, kNeutral},
        AlongCase{"red_day", VehicleColour::kRed, {40, 40, 200}, kDay, kNeutral},
        AlongCase{"red_dusk", VehicleColour::kRed, {40, 40, 200}, kDusk, kNeutral},
        AlongCase{"silver_day", VehicleColour::kSilver, {190, 192, 195}, kDay, kNeutral},
        AlongCase{"silver_dusk", VehicleColour::kSilver, {190, 192, 195}, kDusk, kNeutral},
        AlongCase{"silver_sodium", VehicleColour::kSilver, {190, 192, 195}, kDay, kSodium}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(VehicleColourTest, AWhiteBusMostlyGlassIsWhiteABlackCarIsBlack) {
  for (const auto& [paint, expected] : {std::pair{cv::Scalar(235, 235, 235), VehicleColour::kWhite},
                                        std::pair{cv::Scalar(30, 30, 32), VehicleColour::kBlack}}) {
    cv::Mat frame = RoadScene().Frame(0) * 0.85;
    const cv::Rect body(100, 40, 80, 100);
    // Roof in the light, a glass band around the whole body, a shaded skirt under it.
    cv::rectangle(frame, cv::Rect(body.x, body.y, body.width, 25), paint * 0.9, cv::FILLED);
    cv::rectangle(frame, cv::Rect(body.x, body.y + 25, body.width, 60), cv::Scalar(62, 52, 46),
                  cv::FILLED);
    cv::rectangle(frame, cv::Rect(body.x, body.y + 85, body.width, 15), paint * 0.55, cv::FILLED);
    cv::Mat mask = cv::Mat::zeros(frame.size(), CV_8U);
    mask(body).setTo(255);
    const ColourVote v = DominantColour(frame, body, mask);
    EXPECT_EQ(v.colour, expected) << VehicleColourName(v.colour);
  }
}

TEST(VehicleColourTest, VotesOverFramesOutweighOneBadFrame) {
  // Four frames of a dark blue car, one where a neighbour's white roof fills its mask.
  const AlongCase blue{"b", VehicleColour::kBlue, {95, 40, 18}, kDay, kNeutral};
  const AlongCase white{"w", VehicleColour::kWhite, {235, 235, 235}, kDay, kNeutral};
  std::array<float, kNumVehicleColours> votes{};
  for (int i = 0; i < 5; ++i) {
    cv::Rect body;
    cv::Mat mask;
    const cv::Mat frame = AlongRoadFrame(i == 2 ? white : blue, &body, &mask);
    const ColourVote v = DominantColour(frame, body, mask);
    for (int c = 0; c < kNumVehicleColours; ++c) votes[c] += v.votes[c];
  }
  const ColourVote decided = DecideColour(votes);
  EXPECT_EQ(decided.colour, VehicleColour::kBlue);
  EXPECT_NEAR(decided.confidence, 0.8f, 0.01f);
}

}  // namespace
}  // namespace skynet::analytics
