#include "pipeline/analytics/ghost_heal.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "pipeline/analytics/classical_background.h"
#include "pipeline/analytics/classical_options.h"

namespace skynet::analytics {
namespace {

constexpr int64_t kFrameUs = 200'000;  // 5 fps, as analytics runs
constexpr float kLeaveS = 1.f;
constexpr float kHoldS = 2.f;

cv::Mat Road() {
  cv::Mat road(60, 80, CV_8UC3, cv::Scalar(110, 112, 115));
  for (int y = 0; y < road.rows; y += 6) cv::line(road, {0, y}, {79, y}, cv::Scalar(90, 92, 95));
  return road;
}

cv::Mat WithCar(const cv::Mat& road, const cv::Rect& car) {
  cv::Mat frame = road.clone();
  cv::rectangle(frame, car, cv::Scalar(40, 40, 190), cv::FILLED);
  return frame;
}

// A background and its SeedGhosts, fed frame by frame as ClassicalDetector does.
class Healer {
 public:
  explicit Healer(const cv::Mat& first) {
    background_.Seed(first);
    seed_.Seed(first, std::vector<SeedGhosts::Row>(first.rows, {kLeaveS, kHoldS}));
  }
  // Pixels of the frame still classified as changed after healing.
  int Feed(const cv::Mat& frame) {
    cv::Mat fg, raw;
    background_.Classify(frame, options_, false, &fg, &raw);
    seed_.Heal(frame, kFrameUs, options_.threshold, {}, &background_, &raw, &fg);
    return cv::countNonZero(raw);
  }

 private:
  ClassicalDetectorOptions options_;
  ClassicalBackground background_;
  SeedGhosts seed_;
};

TEST(SeedGhostsTest, HealsTheGhostOfAVehicleOfTheFirstFrameOnceStillForItsHoldTime) {
  const cv::Mat road = Road();
  Healer healer(WithCar(road, {20, 20, 30, 14}));
  const int frames_to_hold = static_cast<int>(kHoldS * 1e6 / kFrameUs);
  // The car has left: its ghost stays until the road has held still for the hold time.
  for (int i = 0; i < frames_to_hold - 1; ++i) EXPECT_GT(healer.Feed(road), 0) << i;
  for (int i = 0; i < 3; ++i) healer.Feed(road);
  EXPECT_EQ(healer.Feed(road), 0);
}

TEST(SeedGhostsTest, KeepsAVehicleStoppedOnRoadSeenBefore) {
  const cv::Mat road = Road();
  const cv::Rect spot(20, 20, 30, 14);
  Healer healer(road);
  // A car drives over the spot at once and leaves: the background was right there.
  for (int x = -30; x < 90; x += 10) healer.Feed(WithCar(road, {x, spot.y, 30, 14}));
  healer.Feed(road);
  // A car stops on it for much longer than the hold time: never healed into the background.
  const cv::Mat parked = WithCar(road, spot);
  for (int i = 0; i < 50; ++i) EXPECT_GE(healer.Feed(parked), spot.area()) << i;
}

TEST(SeedGhostsTest, KeepsAVehicleArrivingAfterTheLeaveTime) {
  // The road held as seeded for longer than a vehicle of the first frame takes to leave: what
  // then stops there is a vehicle arriving, never healed.
  const cv::Mat road = Road();
  const cv::Rect spot(20, 20, 30, 14);
  Healer healer(road);
  for (int i = 0; i < static_cast<int>(kLeaveS * 1e6 / kFrameUs) + 1; ++i) healer.Feed(road);
  const cv::Mat parked = WithCar(road, spot);
  for (int i = 0; i < 50; ++i) EXPECT_GE(healer.Feed(parked), spot.area()) << i;
}

TEST(SeedGhostsTest, DoesNotHealWhatMovesAPixelAFrame) {
  // A far vehicle (a dark stripe pattern) creeping a pixel a frame over a ghost of the first
  // frame: each frame barely differs from the last, but the picture does not hold still.
  const cv::Mat road = Road();
  Healer healer(WithCar(road, {0, 20, 80, 14}));
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame = road.clone();
    for (int x = i % 8 - 8; x < 80; x += 8) {
      cv::rectangle(frame, cv::Rect(x, 20, 4, 14), cv::Scalar(30, 30, 30), cv::FILLED);
    }
    EXPECT_GT(healer.Feed(frame), 14 * 80 / 3) << i;
  }
}

TEST(SeedGhostsTest, NeverHealsWithoutHoldTimes) {
  const cv::Mat road = Road();
  const cv::Mat first = WithCar(road, {20, 20, 30, 14});
  ClassicalDetectorOptions options;
  ClassicalBackground background;
  background.Seed(first);
  SeedGhosts seed;
  seed.Seed(first, {});
  for (int i = 0; i < 30; ++i) {
    cv::Mat fg, raw;
    background.Classify(road, options, false, &fg, &raw);
    EXPECT_EQ(seed.Heal(road, kFrameUs, options.threshold, {}, &background, &raw, &fg), 0);
  }
}

}  // namespace
}  // namespace skynet::analytics
