#include "pipeline/analytics/classical_detector.h"

#include <gtest/gtest.h>

#include "pipeline/analytics/motion_detector.h"
#include "tests/pipeline/analytics/vehicle_scene.h"

namespace skynet::analytics {
namespace {

using testing::DrawCar;
using testing::kFrameUs;
using testing::RoadScene;

constexpr int64_t kStartUs = 2'000'000;

float IoU(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

// The classical detector fed by a motion detector, as the facade runs them.
class Pipeline {
 public:
  explicit Pipeline(ClassicalDetectorOptions options = {}) {
    auto m = MotionDetector::Create(MotionOptions{});
    EXPECT_TRUE(m.ok());
    motion_ = std::move(m).value();
    auto d = ClassicalDetector::Create(options);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    detector_ = std::move(d).value();
  }
  std::vector<Detection> Run(const cv::Mat& frame, int index) {
    const int64_t t = kStartUs + index * kFrameUs;
    const MotionObservation o = motion_->Process(frame, t);
    std::vector<cv::Rect2f> regions;
    for (const MotionRegion& r : o.regions) regions.push_back(r.box);
    return detector_->Detect(frame, regions, t);
  }
  ClassicalDetector& detector() { return *detector_; }

 private:
  std::unique_ptr<MotionDetector> motion_;
  std::unique_ptr<ClassicalDetector> detector_;
};

// Best IoU of `truth` among `found`, and that detection's class.
std::pair<float, ObjectClass> BestMatch(const std::vector<Detection>& found,
                                        const cv::Rect2f& truth) {
  std::pair<float, ObjectClass> best{0.f, ObjectClass::kUnknown};
  for (const Detection& d : found) {
    const float iou = IoU(d.box, truth);
    if (iou > best.first) best = {iou, d.object_class};
  }
  return best;
}

TEST(ClassicalDetectorTest, FindsVehiclesOnATexturedRoad) {
  RoadScene scene;
  Pipeline pipeline;
  const cv::Scalar colours[3] = {{40, 40, 190}, {190, 90, 30}, {230, 232, 235}};
  int checked = 0;
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame = scene.road().clone();
    std::vector<cv::Rect> truth;
    if (i >= 3) {
      truth.emplace_back(-40 + 7 * i, 70, 44, 20);   // red, eastbound
      truth.emplace_back(300 - 6 * i, 128, 40, 22);  // blue, westbound
      truth.emplace_back(-30 + 5 * i, 20, 36, 18);   // white
      for (int k = 0; k < 3; ++k) DrawCar(frame, truth[k], colours[k]);
    }
    RoadScene::AddNoise(frame, i);
    const std::vector<Detection> found = pipeline.Run(frame, i);
    if (i < 12) continue;
    int inside = 0;
    for (const cv::Rect& t : truth) {
      if ((t & cv::Rect(0, 0, 320, 180)) != t) continue;  // entering or leaving
      ++inside;
      const auto [iou, cls] = BestMatch(found, cv::Rect2f(t));
      EXPECT_GE(iou, 0.6f) << "frame " << i << " car at " << t;
      EXPECT_EQ(cls, ObjectClass::kCar) << "frame " << i;
      ++checked;
    }
    EXPECT_LE(static_cast<int>(found.size()), static_cast<int>(truth.size())) << "frame " << i;
    (void)inside;
  }
  EXPECT_GT(checked, 40);
}

TEST(ClassicalDetectorTest, PersonSizedBlobIsAPersonWithCalibration) {
  // Straight down at 20 px per metre: a 0.6 x 1.7 m person is 12 x 34 px; a car 4.4 x 1.6 m.
  CalibrationConfig config;
  config.image_points = {cv::Point2f(0, 0), {1, 0}, {1, 1}, {0, 1}};
  config.ground_points = {cv::Point2f(0, 0), {16, 0}, {16, 9}, {0, 9}};
  auto cal = Calibration::Create(config, {320, 180});
  ASSERT_TRUE(cal.ok());
  RoadScene scene;
  Pipeline pipeline;
  SceneContext context;
  context.calibration = &*cal;
  pipeline.detector().SetSceneContext(context);
  for (int i = 0; i < 25; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect person(40 + 2 * i, 100, 12, 34);
    const cv::Rect car(250 - 5 * i, 40, 88, 32);
    if (i >= 2) {
      cv::rectangle(frame, person, cv::Scalar(60, 40, 150), cv::FILLED);  // red coat
      cv::rectangle(frame, cv::Rect(person.x + 3, person.y, 6, 7), cv::Scalar(120, 150, 200),
                    cv::FILLED);  // head
      DrawCar(frame, car, cv::Scalar(30, 160, 40));
    }
    RoadScene::AddNoise(frame, i);
    const auto found = pipeline.Run(frame, i);
    if (i < 10) continue;
    const auto [piou, pcls] = BestMatch(found, cv::Rect2f(person));
    EXPECT_GE(piou, 0.6f) << i;
    EXPECT_EQ(pcls, ObjectClass::kPerson) << i;
    const auto [ciou, ccls] = BestMatch(found, cv::Rect2f(car));
    EXPECT_GE(ciou, 0.6f) << i;
    EXPECT_EQ(ccls, ObjectClass::kCar) << i;
  }
}

TEST(ClassicalDetectorTest, ShadowSuppressionShrinksTheBlob) {
  RoadScene scene;
  float height[2] = {0, 0};
  for (int suppress = 0; suppress < 2; ++suppress) {
    ClassicalDetectorOptions options;
    options.shadow_suppression = suppress == 1;
    Pipeline pipeline(options);
    for (int i = 0; i < 20; ++i) {
      cv::Mat frame = scene.road().clone();
      const cv::Rect car(20 + 8 * i, 70, 44, 20);
      if (i >= 2) {
        // The cast shadow: the road below and right of the car at 55% brightness.
        const cv::Rect shadow =
            cv::Rect(car.x + 6, car.br().y, car.width, 14) & cv::Rect(0, 0, 320, 180);
        frame(shadow).convertTo(frame(shadow), -1, 0.55);
        DrawCar(frame, car, cv::Scalar(40, 40, 190));
      }
      RoadScene::AddNoise(frame, i);
      const auto found = pipeline.Run(frame, i);
      if (i == 19) {
        ASSERT_EQ(found.size(), 1u) << "suppress " << suppress;
        height[suppress] = found[0].box.height;
        if (suppress == 1) {
          EXPECT_GE(IoU(found[0].box, cv::Rect2f(car)), 0.75f);
        }
      }
    }
  }
  EXPECT_NEAR(height[0], 34, 3);  // car and shadow
  EXPECT_NEAR(height[1], 20, 3);  // the car alone
}

TEST(ClassicalDetectorTest, SplitsTwoVehiclesTouchingAtACorner) {
  RoadScene scene;
  Pipeline pipeline;
  for (int i = 0; i < 20; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect a(30 + 6 * i, 60, 44, 22), b(30 + 6 * i + 40, 80, 44, 22);  // corner overlap
    if (i >= 2) {
      DrawCar(frame, a, cv::Scalar(40, 40, 190));
      DrawCar(frame, b, cv::Scalar(190, 90, 30));
    }
    RoadScene::AddNoise(frame, i);
    const auto found = pipeline.Run(frame, i);
    if (i < 10) continue;
    EXPECT_EQ(found.size(), 2u) << i;
    EXPECT_GE(BestMatch(found, cv::Rect2f(a)).first, 0.6f) << i;
    EXPECT_GE(BestMatch(found, cv::Rect2f(b)).first, 0.6f) << i;
  }
  EXPECT_GT(pipeline.detector().stats().splits, 0u);
}

TEST(ClassicalDetectorTest, FrozenBoxKeepsAParkedVehicleOutOfTheBackground) {
  RoadScene scene;
  ClassicalDetectorOptions options;
  options.foreground_adapt_ms = 2000;  // would learn a parked car within seconds
  options.background_adapt_ms = 1000;
  Pipeline pipeline(options);
  const cv::Rect parked(150, 100, 44, 20);
  size_t last = 0;
  for (int i = 0; i < 300; ++i) {  // 30 s
    cv::Mat frame = scene.road().clone();
    const cv::Rect car(std::min(20 + 8 * i, parked.x), parked.y, parked.width, parked.height);
    DrawCar(frame, car, cv::Scalar(40, 40, 190));
    RoadScene::AddNoise(frame, i);
    const auto found = pipeline.Run(frame, i);
    if (i == 30) {
      SceneContext context;
      context.stationary_boxes = {cv::Rect2f(parked)};
      pipeline.detector().SetSceneContext(context);
    }
    last = found.size();
    if (i > 30) {
      ASSERT_EQ(found.size(), 1u) << i;
      EXPECT_GE(IoU(found[0].box, cv::Rect2f(parked)), 0.7f);
    }
  }
  EXPECT_EQ(last, 1u);
}

TEST(ClassicalDetectorTest, PedestrianBelowAVehicleIsCutOffAsATail) {
  // A car drives along the kerb; a pedestrian walks slowly just below it, touching its bottom
  // edge: one connected blob. The car's box stays the car's, the pedestrian becomes its own.
  RoadScene scene;
  Pipeline pipeline;
  int checked = 0, car_kept = 0, person_found = 0;
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect car(-40 + 6 * i, 100, 44, 20);
    const cv::Rect person(140 + i, 119, 6, 18);
    DrawCar(frame, car, cv::Scalar(40, 40, 190));
    if (i >= 3) cv::rectangle(frame, person, cv::Scalar(30, 140, 60), cv::FILLED);
    RoadScene::AddNoise(frame, i);
    const std::vector<Detection> found = pipeline.Run(frame, i);
    if (i < 12 || (car & cv::Rect(0, 0, 320, 180)) != car) continue;
    if ((car & cv::Rect(person.x - 2, 0, person.width + 4, 180)).area() == 0) continue;
    ++checked;
    car_kept += BestMatch(found, cv::Rect2f(car)).first >= 0.7f;
    person_found += BestMatch(found, cv::Rect2f(person)).first >= 0.3f;
  }
  ASSERT_GE(checked, 8);
  // Without the cut every one of these frames would be a single merged box (car IoU ~0.5).
  EXPECT_GE(car_kept, checked * 8 / 10) << checked;
  EXPECT_GE(person_found, checked * 8 / 10) << checked;
}

TEST(ClassicalDetectorTest, VehiclesOfAdjacentLanesOverlappingOnScreenAreTwoDetections) {
  // Dense traffic: a nearer lane's car hides the lower part of a farther lane's car, offset
  // along the road; one connected blob. Both cars are found with their own boxes.
  RoadScene scene;
  Pipeline pipeline;
  int checked = 0, both = 0;
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect far(-60 + 6 * i, 90, 48, 24), near(-30 + 6 * i, 106, 48, 24);
    DrawCar(frame, far, cv::Scalar(40, 40, 190));
    DrawCar(frame, near, cv::Scalar(190, 90, 30));  // drawn last: in front
    RoadScene::AddNoise(frame, i);
    const std::vector<Detection> found = pipeline.Run(frame, i);
    if (i < 12 || (far & cv::Rect(0, 0, 320, 180)) != far) continue;
    if ((near & cv::Rect(0, 0, 320, 180)) != near) continue;
    ++checked;
    const cv::Rect2f far_visible(far.x, far.y, far.width, near.y - far.y);
    both += BestMatch(found, far_visible).first >= 0.5f &&
            BestMatch(found, cv::Rect2f(near)).first >= 0.6f;
  }
  ASSERT_GE(checked, 10);
  EXPECT_GE(both, checked * 8 / 10) << checked;
}

TEST(ClassicalDetectorTest, VehiclesOfAdjacentLanesPassingEachOtherAreSplitByMotion) {
  // Opposite directions: a farther lane's car drives left, a nearer lane's car drives right and
  // hides its lower third. Where they pass, their extents line up (nothing for the row-extent
  // split to see); their motions still tell them apart.
  RoadScene scene;
  Pipeline pipeline;
  int checked = 0, both = 0;
  for (int i = 0; i < 70; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect far(330 - 4 * i, 84, 48, 24), near(-50 + 3 * i, 100, 48, 24);
    DrawCar(frame, far, cv::Scalar(40, 40, 190));
    DrawCar(frame, near, cv::Scalar(190, 90, 30));  // drawn last: in front
    RoadScene::AddNoise(frame, i);
    const std::vector<Detection> found = pipeline.Run(frame, i);
    if ((far & near).width < far.width / 2) continue;  // not (yet) one blob
    ++checked;
    const cv::Rect2f far_visible(far.x, far.y, far.width, near.y - far.y);
    both += BestMatch(found, far_visible).first >= 0.5f &&
            BestMatch(found, cv::Rect2f(near)).first >= 0.6f;
  }
  ASSERT_GE(checked, 5);
  EXPECT_GE(both, checked * 8 / 10) << checked;
  EXPECT_GT(pipeline.detector().stats().motion_cuts, 0u);
}

TEST(ClassicalDetectorTest, OneVehicleIsNotSplitByItsOwnMotion) {
  // A tall, long vehicle with windows and a uniform lower body: one rigid motion, one box.
  RoadScene scene;
  Pipeline pipeline;
  int checked = 0, whole = 0;
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect bus(-90 + 8 * i, 70, 90, 40);
    DrawCar(frame, bus, cv::Scalar(30, 190, 220));
    for (int k = 0; k < 5; ++k) {
      cv::rectangle(frame, cv::Rect(bus.x + 6 + 17 * k, bus.y + 4, 11, 8), cv::Scalar(60, 50, 45),
                    cv::FILLED);
    }
    RoadScene::AddNoise(frame, i);
    const std::vector<Detection> found = pipeline.Run(frame, i);
    if (i < 12 || (bus & cv::Rect(0, 0, 320, 180)) != bus) continue;
    ++checked;
    int on_bus = 0;
    for (const Detection& d : found) on_bus += (d.box & cv::Rect2f(bus)).area() > 0;
    whole += on_bus == 1 && BestMatch(found, cv::Rect2f(bus)).first >= 0.7f;
  }
  ASSERT_GE(checked, 10);
  EXPECT_EQ(whole, checked);
}

TEST(ClassicalDetectorTest, GhostOfAVehiclePresentAtStartIsHealed) {
  // A car stands in the first frame (learned as background), then drives away while traffic
  // keeps the motion detector busy nearby: the hole it leaves is healed, not reported.
  RoadScene scene;
  Pipeline pipeline;
  const cv::Rect start(120, 100, 44, 20);
  int ghost_frames = 0;
  for (int i = 0; i < 60; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect car(start.x + (i < 5 ? 0 : 8 * (i - 4)), start.y, start.width, start.height);
    DrawCar(frame, car, cv::Scalar(40, 40, 190));
    // Another car passing right next to where the first stood, in the next lane.
    DrawCar(frame, cv::Rect(300 - 5 * i, 124, 40, 20), cv::Scalar(190, 90, 30));
    RoadScene::AddNoise(frame, i);
    const std::vector<Detection> found = pipeline.Run(frame, i);
    if (i < 20) continue;
    for (const Detection& d : found) ghost_frames += IoU(d.box, cv::Rect2f(start)) > 0.3f;
  }
  EXPECT_EQ(ghost_frames, 0);
}

TEST(ClassicalDetectorTest, RejectsBadOptions) {
  ClassicalDetectorOptions options;
  options.shadow_min_ratio = 0.95f;
  auto d = ClassicalDetector::Create(options);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("classical.shadow_min_ratio"), std::string::npos);
}

}  // namespace
}  // namespace skynet::analytics
