// Picture faults rendered over scenes (tools/scenegen/picture_fault.h): nothing changes before the
// start, each fault does what it says after it, and the seed varies it within its ranges.
#include "tools/scenegen/picture_fault.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "tests/tools/scenegen/make_scene.h"

namespace skynet::scenegen {
namespace {

using testing::Make;

constexpr double kFps = 10;
constexpr double kStart = 2;  // frame 20

SceneOptions Options(PictureFaultKind kind, uint32_t fault_seed = 1,
                     SceneKind scene = SceneKind::kRoadDay) {
  SceneOptions o{.kind = scene, .width = 320, .height = 180, .fps = kFps, .seed = 1};
  o.fault = {.kind = kind, .start_s = kStart, .seed = fault_seed};
  return o;
}

cv::Mat Frame(const SceneRenderer& r, int64_t i) {
  cv::Mat m;
  r.Render(i, &m);
  return m;
}

double MeanAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  return cv::mean(d)[0];
}

double EdgeEnergy(const cv::Mat& bgr) {
  cv::Mat grey, lap;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::Laplacian(grey, lap, CV_32F);
  return cv::mean(cv::abs(lap))[0];
}

TEST(PictureFaultTest, NamesRoundTripAndUnknownNamesAreListed) {
  for (PictureFaultKind k : AllPictureFaults()) {
    auto parsed = ParsePictureFault(PictureFaultName(k));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_EQ(AllPictureFaults().size(), 8u);
  auto bad = ParsePictureFault("smudge");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "unknown picture fault 'smudge' (faults: none, cover, paint, defocus, knock, freeze, "
            "cast, noise, black)");
}

TEST(PictureFaultTest, NothingChangesBeforeTheStartAndEveryFaultChangesThePictureAfter) {
  auto clean = Make(Options(PictureFaultKind::kNone));
  for (PictureFaultKind k : AllPictureFaults()) {
    SCOPED_TRACE(PictureFaultName(k));
    auto faulty = Make(Options(k));
    EXPECT_EQ(MeanAbsDiff(Frame(*clean, 19), Frame(*faulty, 19)), 0.0);
    // Two seconds after the start (defocus: its ramp is at most 12 s, so look at 14 s).
    const int64_t later = k == PictureFaultKind::kDefocus ? 160 : 40;
    EXPECT_GT(MeanAbsDiff(Frame(*clean, later), Frame(*faulty, later)), 1.0);
    // The same options render the same pixels.
    auto again = Make(Options(k));
    EXPECT_EQ(MeanAbsDiff(Frame(*faulty, later), Frame(*again, later)), 0.0);
  }
}

TEST(PictureFaultTest, CoverAndPaintCoverTheirSharesOfTheViewForEverySeed) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    PictureFault cover({.kind = PictureFaultKind::kCover, .start_s = 0, .seed = seed}, {320, 180},
                       kFps);
    EXPECT_GE(cover.parameters().at("share"), 0.28) << seed;
    EXPECT_LE(cover.parameters().at("share"), 0.72) << seed;
    PictureFault paint({.kind = PictureFaultKind::kPaint, .start_s = 0, .seed = seed}, {320, 180},
                       kFps);
    EXPECT_GE(paint.parameters().at("share"), 0.23) << seed;
    EXPECT_LE(paint.parameters().at("share"), 0.62) << seed;
  }
  PictureFault a({.kind = PictureFaultKind::kCover, .seed = 1}, {320, 180}, kFps);
  PictureFault b({.kind = PictureFaultKind::kCover, .seed = 2}, {320, 180}, kFps);
  EXPECT_NE(a.parameters(), b.parameters());
}

TEST(PictureFaultTest, FreezeRepeatsTheStartFrame) {
  auto r = Make(Options(PictureFaultKind::kFreeze, 1, SceneKind::kRoadRain));
  const cv::Mat start = Frame(*r, 20);
  EXPECT_GT(MeanAbsDiff(Frame(*r, 19), start), 0.0);
  for (int64_t i : {21, 35, 90}) EXPECT_EQ(MeanAbsDiff(Frame(*r, i), start), 0.0) << i;
}

TEST(PictureFaultTest, DefocusGrowsAndKnockStays) {
  auto defocus = Make(Options(PictureFaultKind::kDefocus));
  const double sharp = EdgeEnergy(Frame(*defocus, 19));
  const double early = EdgeEnergy(Frame(*defocus, 25));
  const double late = EdgeEnergy(Frame(*defocus, 160));
  EXPECT_LT(early, sharp);
  EXPECT_LT(late, 0.6 * early);

  for (uint32_t seed = 1; seed <= 8; ++seed) {
    PictureFault knock({.kind = PictureFaultKind::kKnock, .seed = seed}, {320, 180}, kFps);
    const double deg = std::abs(knock.parameters().at("rotation_deg"));
    EXPECT_GE(deg, 1.5);
    EXPECT_LE(deg, 4);
    EXPECT_GE(knock.parameters().at("corner_displacement_share_of_width"), 0.03);
  }
  auto knock = Make(Options(PictureFaultKind::kKnock));
  // Once knocked the view stays: the picture differs from the scene's as much later on.
  auto clean = Make(Options(PictureFaultKind::kNone, 1, SceneKind::kStatic));
  auto knocked = Make(Options(PictureFaultKind::kKnock, 1, SceneKind::kStatic));
  EXPECT_EQ(MeanAbsDiff(Frame(*knocked, 30), Frame(*knocked, 90)), 0.0);
  EXPECT_GT(MeanAbsDiff(Frame(*clean, 90), Frame(*knocked, 90)), 3.0);
}

TEST(PictureFaultTest, CastNoiseAndBlackChangeWhatTheySay) {
  auto clean = Make(Options(PictureFaultKind::kNone, 1, SceneKind::kStatic));
  const cv::Scalar before = cv::mean(Frame(*clean, 40));

  PictureFault cast({.kind = PictureFaultKind::kCast, .seed = 1}, {320, 180}, kFps);
  auto cast_r = Make(Options(PictureFaultKind::kCast, 1, SceneKind::kStatic));
  const cv::Scalar after = cv::mean(Frame(*cast_r, 40));
  for (int c = 0; c < 3; ++c) {
    const char* key[] = {"gain_b", "gain_g", "gain_r"};
    EXPECT_NEAR(after[c] / before[c], cast.parameters().at(key[c]), 0.08) << c;
  }

  auto noise = Make(Options(PictureFaultKind::kNoise, 1, SceneKind::kStatic));
  cv::Mat a, b;
  cv::absdiff(Frame(*noise, 40), Frame(*clean, 40), a);
  EXPECT_GT(cv::mean(a)[0], 10.0);
  EXPECT_GT(MeanAbsDiff(Frame(*noise, 40), Frame(*noise, 41)), 10.0);  // new noise every frame

  auto black = Make(Options(PictureFaultKind::kBlack, 1, SceneKind::kStatic));
  cv::Mat grey;
  cv::cvtColor(Frame(*black, 40), grey, cv::COLOR_BGR2GRAY);
  EXPECT_LT(cv::mean(grey)[0], 20.0);
}

}  // namespace
}  // namespace skynet::scenegen
