#include <gtest/gtest.h>

#include "pipeline/analytics/dnn/decode.h"

namespace skynet::analytics::dnn {
namespace {

constexpr float kTol = 1e-4f;

void ExpectBox(const RawDetection& d, float x1, float y1, float x2, float y2) {
  EXPECT_NEAR(d.box.x, x1, kTol);
  EXPECT_NEAR(d.box.y, y1, kTol);
  EXPECT_NEAR(d.box.x + d.box.width, x2, kTol);
  EXPECT_NEAR(d.box.y + d.box.height, y2, kTol);
}

// Logits whose softmax puts (all but ~1e-43 of) the mass on `bin`.
void SetPeak(float* side, int bins, int bin) {
  for (int i = 0; i < bins; ++i) side[i] = (i == bin) ? 100.f : 0.f;
}

TEST(DecodeNanoDetTest, SoftmaxExpectationTimesStrideAroundCellCentre) {
  // A 4x4 grid of stride 8 (a 32x32 input), 3 classes, reg_max 10 (11 bins).
  NanoDetLevel level;
  level.stride = 8;
  level.grid_w = 4;
  level.cls = cv::Mat::zeros(16, 3, CV_32F);
  level.reg = cv::Mat::zeros(16, 44, CV_32F);
  // Anchor 6: column 2, row 1 -> centre (20, 12). Distances l=1, t=0, r=2 bins; bottom split
  // evenly between bins 2 and 3 -> 2.5 bins.
  level.cls.at<float>(6, 2) = 0.9f;
  level.cls.at<float>(6, 1) = 0.4f;
  float* reg = level.reg.ptr<float>(6);
  SetPeak(reg, 11, 1);
  SetPeak(reg + 11, 11, 0);
  SetPeak(reg + 22, 11, 2);
  for (int i = 0; i < 11; ++i) reg[33 + i] = (i == 2 || i == 3) ? 100.f : 0.f;
  level.cls.at<float>(9, 0) = 0.2f;  // below the threshold

  const std::vector<RawDetection> d = DecodeNanoDet({level}, 0.3f);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].class_id, 2);
  EXPECT_FLOAT_EQ(d[0].score, 0.9f);
  ExpectBox(d[0], 20 - 8, 12 - 0, 20 + 16, 12 + 20);
}

TEST(DecodeNanoDetTest, UniformLogitsGiveMeanBinAndLevelsKeepTheirStride) {
  NanoDetLevel fine{cv::Mat::zeros(4, 2, CV_32F), cv::Mat::zeros(4, 44, CV_32F), 16, 2};
  NanoDetLevel coarse{cv::Mat::zeros(1, 2, CV_32F), cv::Mat::zeros(1, 44, CV_32F), 32, 1};
  fine.cls.at<float>(3, 0) = 0.5f;    // column 1, row 1 of a 2x2 grid: centre (24, 24)
  coarse.cls.at<float>(0, 1) = 0.6f;  // centre (16, 16)
  const std::vector<RawDetection> d = DecodeNanoDet({fine, coarse}, 0.3f);
  ASSERT_EQ(d.size(), 2u);
  // Uniform logits: expectation 5 bins on every side.
  ExpectBox(d[0], 24 - 80, 24 - 80, 24 + 80, 24 + 80);
  EXPECT_EQ(d[0].class_id, 0);
  ExpectBox(d[1], 16 - 160, 16 - 160, 16 + 160, 16 + 160);
  EXPECT_EQ(d[1].class_id, 1);
}

TEST(DecodeYoloV5Test, ScoreIsObjectnessTimesBestClass) {
  cv::Mat rows = cv::Mat::zeros(3, 5 + 4, CV_32F);
  const float a[] = {100, 50, 40, 20, 0.8f, 0.1f, 0.2f, 0.9f, 0.3f};  // class 2, 0.72
  const float b[] = {10, 10, 4, 4, 0.5f, 0.5f, 0, 0, 0};              // 0.25: dropped
  const float c[] = {200, 120, 60, 30, 0.95f, 1.0f, 0, 0, 0};         // class 0, 0.95
  std::copy(a, a + 9, rows.ptr<float>(0));
  std::copy(b, b + 9, rows.ptr<float>(1));
  std::copy(c, c + 9, rows.ptr<float>(2));
  const std::vector<RawDetection> d = DecodeYoloV5(rows, 0.3f);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].class_id, 2);
  EXPECT_NEAR(d[0].score, 0.72f, 1e-6);
  ExpectBox(d[0], 80, 40, 120, 60);
  EXPECT_EQ(d[1].class_id, 0);
  ExpectBox(d[1], 170, 105, 230, 135);
}

TEST(DecodeYoloV8Test, ChannelsFirstWithoutObjectness) {
  // 4 + 3 classes, 3 anchors (columns).
  cv::Mat ch = cv::Mat::zeros(7, 3, CV_32F);
  const float cx[] = {50, 150, 300}, cy[] = {60, 70, 80}, w[] = {20, 10, 100}, h[] = {40, 10, 50};
  for (int i = 0; i < 3; ++i) {
    ch.at<float>(0, i) = cx[i];
    ch.at<float>(1, i) = cy[i];
    ch.at<float>(2, i) = w[i];
    ch.at<float>(3, i) = h[i];
  }
  ch.at<float>(4 + 1, 0) = 0.7f;
  ch.at<float>(4 + 0, 1) = 0.1f;
  ch.at<float>(4 + 2, 2) = 0.4f;
  ch.at<float>(4 + 0, 2) = 0.35f;
  const std::vector<RawDetection> d = DecodeYoloV8(ch, 0.3f);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].class_id, 1);
  EXPECT_FLOAT_EQ(d[0].score, 0.7f);
  ExpectBox(d[0], 40, 40, 60, 80);
  EXPECT_EQ(d[1].class_id, 2);
  EXPECT_FLOAT_EQ(d[1].score, 0.4f);
  ExpectBox(d[1], 250, 55, 350, 105);
}

TEST(NonMaxSuppressionTest, ClassAwareKeepsOverlappingBoxesOfOtherClasses) {
  const std::vector<RawDetection> d = {
      {cv::Rect2f(0, 0, 100, 100), 2, 0.8f},   // car
      {cv::Rect2f(5, 5, 100, 100), 2, 0.9f},   // car, overlaps 0: suppresses it
      {cv::Rect2f(0, 0, 100, 100), 7, 0.6f},   // truck on the same place: kept when aware
      {cv::Rect2f(300, 0, 50, 50), 2, 0.5f},   // a separate car
      {cv::Rect2f(302, 2, 50, 50), 0, 0.55f},  // a person over it
  };
  EXPECT_EQ(NonMaxSuppression(d, 0.5f, true), (std::vector<int>{1, 2, 4, 3}));
  EXPECT_EQ(NonMaxSuppression(d, 0.5f, false), (std::vector<int>{1, 4}));
}

TEST(NonMaxSuppressionTest, BelowIouThresholdBothKept) {
  // IoU of these two: 50*100 / (2*100*100 - 50*100) = 1/3.
  const std::vector<RawDetection> d = {{cv::Rect2f(0, 0, 100, 100), 0, 0.5f},
                                       {cv::Rect2f(50, 0, 100, 100), 0, 0.6f}};
  EXPECT_EQ(NonMaxSuppression(d, 0.5f, true), (std::vector<int>{1, 0}));
  EXPECT_EQ(NonMaxSuppression(d, 0.3f, true), (std::vector<int>{1}));
  EXPECT_TRUE(NonMaxSuppression({}, 0.5f, true).empty());
}

}  // namespace
}  // namespace skynet::analytics::dnn
