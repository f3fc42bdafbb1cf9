#include "pipeline/analytics/classical_detector.h"

#include <gtest/gtest.h>

#include <cmath>

#include "pipeline/analytics/blob_split.h"
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
  // `regions_out`, if given: the motion regions (normalised) the detector was given.
  std::vector<Detection> Run(const cv::Mat& frame, int index,
                             std::vector<cv::Rect2f>* regions_out = nullptr) {
    const int64_t t = kStartUs + index * kFrameUs;
    const MotionObservation o = motion_->Process(frame, t);
    std::vector<cv::Rect2f> regions;
    for (const MotionRegion& r : o.regions) regions.push_back(r.box);
    if (regions_out != nullptr) *regions_out = regions;
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

TEST(ClassicalDetectorTest, AnExposureStepIsNoObjectAndHidesNone) {
  // The camera's auto-exposure brightens the whole picture by 18 %, later darkens it to 85 %:
  // the road is compared with the background at the frame's exposure, so the step is no object,
  // and the car driving through is still found whole.
  RoadScene scene;
  Pipeline pipeline;
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect car(-40 + 8 * i, 70, 44, 20);
    if (i >= 3) DrawCar(frame, car, cv::Scalar(40, 40, 190));
    const double exposure = i < 15 ? 1.0 : i < 28 ? 1.18 : 0.85;
    frame.convertTo(frame, -1, exposure);
    RoadScene::AddNoise(frame, i);
    const std::vector<Detection> found = pipeline.Run(frame, i);
    if (i < 12 || (car & cv::Rect(0, 0, 320, 180)) != car) continue;
    EXPECT_EQ(found.size(), 1u) << "frame " << i;
    EXPECT_GE(BestMatch(found, cv::Rect2f(car)).first, 0.6f) << "frame " << i;
  }
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

TEST(ClassicalDetectorTest, ACarOfTheRoadsBrightnessIsFoundThoughMotionMissesIt) {
  // A red car as bright as the grey road (in the rain, on a dull day): the motion detector
  // compares grey levels and sees it only now and then, but the car's pixels change colour where
  // it drives. It is found, not healed into the background as a ghost (which holds still) is.
  RoadScene scene;
  Pipeline pipeline;
  const cv::Scalar red(60, 60, 250), glass(150, 140, 60);  // luma about 118, the road's 115
  int checked = 0, found_frames = 0, unseen_by_motion = 0;
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect car(-40 + 8 * i, 100, 44, 20);
    if (i >= 3) {
      cv::rectangle(frame, car, red, cv::FILLED);
      cv::rectangle(frame, cv::Rect(car.x + 11, car.y + 3, 22, 7), glass, cv::FILLED);
    }
    RoadScene::AddNoise(frame, i);
    std::vector<cv::Rect2f> regions;
    const std::vector<Detection> found = pipeline.Run(frame, i, &regions);
    if (i < 12 || (car & cv::Rect(0, 0, 320, 180)) != car) continue;
    ++checked;
    found_frames += BestMatch(found, cv::Rect2f(car)).first >= 0.6f;
    bool seen = false;
    for (const cv::Rect2f& r : regions) {
      seen = seen || (cv::Rect2f(r.x * 320, r.y * 180, r.width * 320, r.height * 180) &
                      cv::Rect2f(car)).area() > 0;
    }
    unseen_by_motion += !seen;
  }
  ASSERT_GT(checked, 10);
  EXPECT_GE(unseen_by_motion, checked / 2) << "the scene does not test what it says";
  EXPECT_GE(found_frames, checked - 2);
  EXPECT_GT(pipeline.detector().stats().moved, 0u);
}

TEST(ClassicalDetectorTest, NothingIsKeptForMovingInsideAMotionMask) {
  // A tree in the wind: its leaves change every frame. The motion detector is masked there, so
  // no motion region supports it; unmasked, a blob that changes on its own is kept (the red car
  // above), masked it is not.
  for (const bool masked : {false, true}) {
    RoadScene scene;
    auto created = ClassicalDetector::Create(ClassicalDetectorOptions{});
    ASSERT_TRUE(created.ok());
    ClassicalDetector& detector = **created;
    SceneContext context;
    if (masked) context.masks.push_back({{200, 0}, {320, 0}, {320, 80}, {200, 80}});
    detector.SetSceneContext(context);
    const cv::Rect tree(230, 10, 60, 50);
    int found = 0;
    for (int i = 0; i < 30; ++i) {
      cv::Mat frame = scene.road().clone();
      if (i >= 3) {
        cv::Mat leaves(tree.size(), CV_8UC3);
        cv::RNG(77 + i).fill(leaves, cv::RNG::UNIFORM, cv::Scalar(20, 80, 20),
                             cv::Scalar(60, 160, 60));
        leaves.copyTo(frame(tree));
      }
      RoadScene::AddNoise(frame, i);
      const std::vector<Detection> out = detector.Detect(frame, {}, kStartUs + i * kFrameUs);
      if (i >= 10) found += !out.empty();
    }
    if (masked) {
      EXPECT_EQ(found, 0);
    } else {
      EXPECT_GT(found, 10);
    }
  }
}

// A camera 7 m up looking along the road, pitched 11 degrees down, focal length 345 px at
// 320x180: the calibration a road camera gets from four points on the road.
cv::Point2f AlongTheRoad(cv::Point2f ground) {
  constexpr double kHeight = 7, kPitch = 0.19, kFocal = 345;
  const double c = std::cos(kPitch), s = std::sin(kPitch);
  // Camera axes: right (1, 0, 0), forward (0, c, -s), down (0, -s, -c).
  const double fwd = ground.y * c + kHeight * s;
  const double down = -ground.y * s + kHeight * c;
  return {static_cast<float>(160 + kFocal * ground.x / fwd),
          static_cast<float>(90 + kFocal * down / fwd)};
}

Calibration AlongTheRoadCalibration() {
  CalibrationConfig config;
  config.ground_points = {cv::Point2f(-6, 40), {6, 40}, {6, 15}, {-6, 15}};
  for (int i = 0; i < 4; ++i) {
    const cv::Point2f p = AlongTheRoad(config.ground_points[i]);
    config.image_points[i] = {p.x / 320, p.y / 180};
  }
  auto cal = Calibration::Create(config, {320, 180});
  EXPECT_TRUE(cal.ok()) << cal.status().ToString();
  return std::move(cal).value();
}

// A car 1.8 m wide and 1.4 m high standing at ground point `at` (its box on screen).
cv::Rect CarAt(cv::Point2f at) {
  const cv::Point2f left = AlongTheRoad({at.x - 0.9f, at.y}),
                    right = AlongTheRoad({at.x + 0.9f, at.y});
  const int w = std::max(2, static_cast<int>(std::lround(right.x - left.x)));
  const int h = std::max(2, static_cast<int>(std::lround(w * 1.4 / 1.8)));
  return cv::Rect(static_cast<int>(std::lround(left.x)), static_cast<int>(std::lround(left.y)) - h,
                  w, h);
}

// Runs a car receding from `from` metres down the road at 10 m/s (10 fps) through `pipeline`;
// returns the frames where a detection matched it at IoU 0.5, of those from frame 6 on.
int FramesFound(Pipeline& pipeline, float from) {
  RoadScene scene;
  int found_frames = 0;
  for (int i = 0; i < 16; ++i) {
    cv::Mat frame = scene.road().clone();
    const cv::Rect car = CarAt({-1.5f, from + 1.0f * i});
    if (i >= 2) DrawCar(frame, car, cv::Scalar(40, 40, 200));
    RoadScene::AddNoise(frame, i);
    const auto found = pipeline.Run(frame, i);
    if (i >= 6 && BestMatch(found, cv::Rect2f(car)).first >= 0.5f) ++found_frames;
  }
  return found_frames;
}

TEST(ClassicalDetectorTest, FarVehicleIsFoundThroughTheCalibration) {
  // 90-105 m away a car is 6-7 px wide at 320 px: smaller than the uncalibrated minimum (a
  // fraction of the frame), above the calibrated one (square metres where it stands).
  ASSERT_LT(CarAt({-1.5f, 90}).area(), ClassicalDetectorOptions{}.min_blob_area * 320 * 180);
  // The motion detector's regions are sized in fractions of the frame (its events must not fire
  // on a far car): this test is of the detector's own sizes, so it needs no motion support.
  ClassicalDetectorOptions options;
  options.require_motion_support = false;
  const Calibration cal = AlongTheRoadCalibration();
  SceneContext context;
  context.calibration = &cal;
  {
    Pipeline uncalibrated(options);
    EXPECT_EQ(FramesFound(uncalibrated, 90), 0);
  }
  Pipeline calibrated(options);
  calibrated.detector().SetSceneContext(context);
  EXPECT_GE(FramesFound(calibrated, 90), 8);
}

TEST(ClassicalDetectorTest, VehicleBeyondMaxDistanceIsNotAnalysed) {
  const Calibration cal = AlongTheRoadCalibration();
  SceneContext context;
  context.calibration = &cal;
  ClassicalDetectorOptions options;
  options.require_motion_support = false;
  options.max_distance_m = 60;
  Pipeline pipeline(options);
  pipeline.detector().SetSceneContext(context);
  EXPECT_EQ(FramesFound(pipeline, 90), 0);
  EXPECT_GT(pipeline.detector().stats().not_analysed, 0u);
}

TEST(ClassicalDetectorTest, FragmentsOfANearVehicleMergeWithinMetres) {
  // A car 16 m away (about 35 px wide) whose light lower body looks like the road: the roof and
  // the bumper are two blobs 8 px (about 0.4 m) apart. Uncalibrated, 4 px at 320: two
  // detections; calibrated, merge_gap_m 0.6 m: one.
  const Calibration cal = AlongTheRoadCalibration();
  const cv::Rect car = CarAt({-1.5f, 16});
  const cv::Rect roof(car.x + 3, car.y, car.width - 6, car.height / 2);
  const cv::Rect bumper(car.x + 6, roof.br().y + 8, car.width - 12, 5);
  auto run = [&](bool calibrated) {
    RoadScene scene;
    Pipeline pipeline;
    SceneContext context;
    if (calibrated) context.calibration = &cal;
    pipeline.detector().SetSceneContext(context);
    std::vector<Detection> found;
    for (int i = 0; i < 10; ++i) {
      cv::Mat frame = scene.road().clone();
      if (i >= 2) {
        // The car jitters by a pixel so that the motion detector keeps seeing it.
        const cv::Point d(i % 2, 0);
        cv::rectangle(frame, roof + d, cv::Scalar(30, 30, 160), cv::FILLED);
        cv::rectangle(frame, bumper + d, cv::Scalar(25, 25, 25), cv::FILLED);
      }
      RoadScene::AddNoise(frame, i);
      found = pipeline.Run(frame, i);
    }
    return found;
  };
  const auto merged = run(true);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_GE(IoU(merged[0].box, cv::Rect2f(roof | bumper)), 0.8f);
  EXPECT_EQ(run(false).size(), 2u);
}

// A car coming towards the camera at night, 20 m away in the inbound lane, as a road camera sees
// it: a dark body on a dark road, two headlights 1.3 m apart at 0.7 m, their beam on the road
// ahead (towards the camera, below the car on screen) and their reflections on the wet road
// (streaks below each lamp). Returns the car's box; draws into `frame` (the night road).
cv::Rect DrawCarAtNight(cv::Mat& frame, float y_m) {
  const cv::Rect car = CarAt({-1.5f, y_m});
  cv::Mat light = cv::Mat::zeros(frame.size(), CV_8UC3);
  // The beam: 25 m of road ahead of the car, lit by up to 40 grey levels, with soft edges.
  const cv::Point2f a = AlongTheRoad({-3.5f, y_m}), b = AlongTheRoad({0.5f, y_m}),
                    c = AlongTheRoad({2.5f, y_m - 12}), d = AlongTheRoad({-5.5f, y_m - 12});
  const std::vector<cv::Point> beam = {a, b, c, d};
  cv::fillConvexPoly(light, beam, cv::Scalar::all(40));
  cv::GaussianBlur(light, light, cv::Size(0, 0), 1.5);
  frame += light;
  cv::rectangle(frame, car, cv::Scalar(14, 14, 16), cv::FILLED);
  // Lamps 0.3 m in from the sides, 0.7 m up (the ground scale at the car is its upright scale).
  const double px_per_m = car.width / 1.8;
  const int lamp_y = car.br().y - static_cast<int>(std::lround(0.7 * px_per_m));
  const int r = std::max(1, static_cast<int>(std::lround(0.12 * px_per_m)));
  for (double side : {0.3, 1.5}) {
    const cv::Point lamp(car.x + static_cast<int>(std::lround(side * px_per_m)), lamp_y);
    // The reflection: a streak from below the lamp towards the camera, 30 grey levels and more.
    cv::line(frame, lamp + cv::Point(0, r + 2), lamp + cv::Point(0, car.height + 20),
             cv::Scalar(120, 130, 140), 2);
    cv::circle(frame, lamp, r + 1, cv::Scalar(170, 190, 200), cv::FILLED);
    cv::circle(frame, lamp, r, cv::Scalar(245, 252, 255), cv::FILLED);
  }
  return car;
}

TEST(ClassicalDetectorTest, HeadlightsWithTheirBeamAndReflectionsAreOneVehicleAtNight) {
  const Calibration cal = AlongTheRoadCalibration();
  ClassicalDetectorOptions options;
  options.require_motion_support = false;
  // A dark road under a black sky (the top 30 rows): the scene is at night.
  RoadScene scene;
  cv::Mat night;
  scene.road().convertTo(night, CV_8UC3, 0.3);
  night.rowRange(0, 30).setTo(cv::Scalar(8, 8, 10));
  auto run = [&](bool calibrated, cv::Rect* car) {
    auto created = ClassicalDetector::Create(options);
    EXPECT_TRUE(created.ok());
    ClassicalDetector& detector = **created;
    SceneContext context;
    if (calibrated) context.calibration = &cal;
    detector.SetSceneContext(context);
    std::vector<Detection> found;
    for (int i = 0; i < 8; ++i) {
      cv::Mat frame = night.clone();
      // The car comes 1 m nearer each frame (10 m/s at 10 fps).
      if (i >= 2) *car = DrawCarAtNight(frame, 24.f - i);
      RoadScene::AddNoise(frame, i);
      found = detector.Detect(frame, {}, kStartUs + i * kFrameUs);
    }
    return found;
  };
  cv::Rect car;
  const auto found = run(true, &car);
  ASSERT_EQ(found.size(), 1u) << "lamps, beam and reflections must be one vehicle";
  EXPECT_GE(IoU(found[0].box, cv::Rect2f(car)), 0.5f);
  // Uncalibrated (today's behaviour, no lamp light told apart): the beam is a vehicle of its own.
  EXPECT_GE(run(false, &car).size(), 2u);
}

TEST(ClassicalDetectorTest, ShakenEmptyRoadGivesNoDetection) {
  // A camera shaking on its pole by up to 3 px (at 320) in every frame over an empty textured
  // road: the motion detector aligns each frame to its background and the classical detector
  // detects on the same aligned frame: no vehicle anywhere.
  RoadScene scene;
  auto motion = MotionDetector::Create(MotionOptions{});
  ASSERT_TRUE(motion.ok());
  auto created = ClassicalDetector::Create({});
  ASSERT_TRUE(created.ok());
  ClassicalDetector& detector = **created;
  const cv::Point2f shakes[] = {{0, 0}, {3, -2}, {-2, 2}, {1, 3}, {-3, -1}, {2, 1}, {-1, -3}};
  int detections = 0;
  for (int i = 0; i < 30; ++i) {
    const cv::Point2f s = shakes[i % 7];
    const cv::Matx23f m(1, 0, s.x, 0, 1, s.y);
    cv::Mat frame;
    cv::warpAffine(scene.road(), frame, m, scene.road().size(), cv::INTER_LINEAR,
                   cv::BORDER_REFLECT_101);
    RoadScene::AddNoise(frame, i);
    const int64_t t = kStartUs + i * kFrameUs;
    const MotionObservation o = (*motion)->Process(frame, t);
    std::vector<cv::Rect2f> regions;
    for (const MotionRegion& r : o.regions) regions.push_back(r.box);
    SceneContext context;
    context.camera_shift = o.camera_shift;
    detector.SetSceneContext(context);
    const auto found = detector.Detect(frame, regions, t);
    if (i >= 3) detections += static_cast<int>(found.size());
  }
  EXPECT_EQ(detections, 0);
  EXPECT_GT(detector.stats().shake_aligned, 0u);
}

TEST(ClassicalDetectorTest, CameraKnockedOutOfPlaceGivesNoFrameWideBlob) {
  // The camera is knocked 12 px (more than the motion detector compensates) and shakes on there:
  // no detection may cover a large part of the frame (the whole road taken for one truck).
  RoadScene scene;
  auto motion = MotionDetector::Create(MotionOptions{});
  ASSERT_TRUE(motion.ok());
  auto created = ClassicalDetector::Create({});
  ASSERT_TRUE(created.ok());
  ClassicalDetector& detector = **created;
  int frame_wide = 0;
  for (int i = 0; i < 40; ++i) {
    const cv::Point2f s = i < 10 ? cv::Point2f(0, 0) : cv::Point2f(12.f + (i % 3), 6.f - (i % 2));
    const cv::Matx23f m(1, 0, s.x, 0, 1, s.y);
    cv::Mat frame;
    cv::warpAffine(scene.road(), frame, m, scene.road().size(), cv::INTER_LINEAR,
                   cv::BORDER_REFLECT_101);
    RoadScene::AddNoise(frame, i);
    const int64_t t = kStartUs + i * kFrameUs;
    const MotionObservation o = (*motion)->Process(frame, t);
    std::vector<cv::Rect2f> regions;
    for (const MotionRegion& r : o.regions) regions.push_back(r.box);
    SceneContext context;
    context.camera_shift = o.camera_shift;
    detector.SetSceneContext(context);
    for (const Detection& d : detector.Detect(frame, regions, t)) {
      if (d.box.area() > 0.1f * frame.size().area()) ++frame_wide;
    }
  }
  EXPECT_EQ(frame_wide, 0);
}

TEST(BlobSplitTest, CutsTheLightBelowAVehiclesLamps) {
  // A vehicle 20 rows high with its lamps 8 rows above its bottom, and a streak of reflections
  // 25 rows long below them: cut 10 rows (the lamps' greatest height) below the lamps.
  cv::Mat fg = cv::Mat::zeros(80, 60, CV_8U), lamp = cv::Mat::zeros(80, 60, CV_8U);
  fg(cv::Rect(10, 10, 30, 20)).setTo(255);  // body, rows 10-29
  fg(cv::Rect(14, 30, 3, 25)).setTo(255);   // reflections, rows 30-54
  fg(cv::Rect(33, 30, 3, 25)).setTo(255);
  lamp(cv::Rect(13, 20, 4, 2)).setTo(255);  // lamps, rows 20-21
  lamp(cv::Rect(32, 20, 4, 2)).setTo(255);
  Blob blob{cv::Rect(10, 10, 30, 45), cv::countNonZero(fg), false};
  Blob lower;
  ASSERT_TRUE(CutBelowLamps(fg, lamp, 10, &blob, &lower));
  EXPECT_EQ(blob.box, cv::Rect(10, 10, 30, 22));  // down to row 31 = 21 + 10
  EXPECT_EQ(lower.box, cv::Rect(14, 32, 22, 23));
  // Its lamps low enough: not cut.
  Blob whole{cv::Rect(10, 10, 30, 20), 600, false};
  EXPECT_FALSE(CutBelowLamps(fg, lamp, 10, &whole, &lower));
  // No lamps (by day): not cut.
  Blob day{cv::Rect(10, 10, 30, 45), cv::countNonZero(fg), false};
  EXPECT_FALSE(CutBelowLamps(fg, cv::Mat::zeros(80, 60, CV_8U), 10, &day, &lower));
}

TEST(BlobSplitTest, CutsVehiclesOneBehindTheOtherAtTheValley) {
  // Two cars in one lane, the farther one's bottom hidden behind the nearer one's roof but for a
  // narrow join: one blob 44 rows high, where one vehicle takes 10 to 30 rows. It is too tall,
  // and is cut at the join.
  cv::Mat fg = cv::Mat::zeros(100, 100, CV_8U);
  fg(cv::Rect(20, 10, 30, 20)).setTo(255);  // farther
  fg(cv::Rect(32, 30, 6, 4)).setTo(255);    // join
  fg(cv::Rect(18, 34, 34, 20)).setTo(255);  // nearer
  Blob blob{cv::Rect(18, 10, 34, 44), cv::countNonZero(fg), false};
  std::vector<Blob> parts;
  const VehicleRows rows = [](const cv::Rect&) { return cv::Vec2i(10, 30); };
  EXPECT_EQ(CutAlongRoad(fg, rows, &blob, &parts), 1);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].box, cv::Rect(18, 34, 34, 20));
  EXPECT_EQ(blob.box, cv::Rect(20, 10, 30, 24));
  // One long vehicle (a bus: uniform rows) is never cut, however tall.
  cv::Mat bus = cv::Mat::zeros(100, 100, CV_8U);
  bus(cv::Rect(20, 10, 30, 60)).setTo(255);
  Blob whole{cv::Rect(20, 10, 30, 60), 1800, false};
  parts.clear();
  EXPECT_EQ(CutAlongRoad(bus, rows, &whole, &parts), 0);
  EXPECT_TRUE(parts.empty());
}

TEST(BlobSplitTest, CutsVehiclesSideBySideAtTheValley) {
  cv::Mat fg = cv::Mat::zeros(60, 120, CV_8U);
  fg(cv::Rect(10, 20, 36, 24)).setTo(255);  // left lane
  fg(cv::Rect(46, 38, 6, 2)).setTo(255);    // shadows touching
  fg(cv::Rect(52, 16, 36, 26)).setTo(255);  // right lane
  Blob blob{cv::Rect(10, 16, 78, 28), cv::countNonZero(fg), false};
  std::vector<Blob> parts;
  const VehicleColumns columns = [](const cv::Rect&) { return cv::Vec2i(15, 50); };
  EXPECT_EQ(CutAcrossRoad(fg, columns, &blob, &parts), 1);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_LE(std::abs(blob.box.width - 36), 6);
  EXPECT_LE(std::abs(parts[0].box.width - 36), 6);
  EXPECT_TRUE(blob.cut && parts[0].cut);
}

TEST(BlobSplitTest, CutsVehiclesOfAdjacentLanesWhereTheLaneChanges) {
  // Two vehicles of adjacent lanes overlapping on screen with no valley between them: the near
  // one (left lane, lower) hides the far one's left part. The lane boundary is the column x = 50.
  cv::Mat fg = cv::Mat::zeros(80, 120, CV_8U);
  fg(cv::Rect(50, 10, 40, 30)).setTo(255);  // far, right lane
  fg(cv::Rect(10, 20, 50, 40)).setTo(255);  // near, left lane, overlapping the far one
  Blob blob{cv::Rect(10, 10, 80, 50), cv::countNonZero(fg), false};
  std::vector<Blob> parts;
  const LaneAt lane_at = [](cv::Point p) { return p.x < 55 ? 0 : 1; };
  const VehicleColumns columns = [](const cv::Rect&) { return cv::Vec2i(15, 200); };
  EXPECT_EQ(CutAtLanes(fg, lane_at, columns, &blob, &parts), 1);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(blob.box.x, 10);
  EXPECT_LE(std::abs(blob.box.br().x - 60), 6);
  EXPECT_LE(std::abs(parts[0].box.x - 60), 6);
  EXPECT_EQ(parts[0].box.br().x, 90);
  EXPECT_TRUE(blob.cut && parts[0].cut);
  // One vehicle over the lane line by less than the narrowest vehicle is not cut.
  cv::Mat one = cv::Mat::zeros(80, 120, CV_8U);
  one(cv::Rect(10, 20, 50, 40)).setTo(255);
  Blob whole{cv::Rect(10, 20, 50, 40), 2000, false};
  parts.clear();
  EXPECT_EQ(CutAtLanes(one, lane_at, columns, &whole, &parts), 0);
  EXPECT_TRUE(parts.empty());
  // Outside every lane: not cut.
  const LaneAt no_lane = [](cv::Point) { return -1; };
  Blob again{cv::Rect(10, 10, 80, 50), cv::countNonZero(fg), false};
  EXPECT_EQ(CutAtLanes(fg, no_lane, columns, &again, &parts), 0);
}

TEST(ClassicalDetectorTest, RejectsBadOptions) {
  ClassicalDetectorOptions options;
  options.shadow_min_ratio = 0.95f;
  auto d = ClassicalDetector::Create(options);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("classical.shadow_min_ratio"), std::string::npos);
  options = {};
  options.min_blob_area_m2 = 0;
  d = ClassicalDetector::Create(options);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("classical.min_blob_area_m2"), std::string::npos);
}

}  // namespace
}  // namespace skynet::analytics
