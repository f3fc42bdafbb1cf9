#include "pipeline/analytics/vehicle_analytics.h"

#include <gtest/gtest.h>

#include "pipeline/analytics/classical_detector.h"
#include "tests/pipeline/analytics/vehicle_scene.h"

namespace skynet::analytics {
namespace {

using testing::DrawCar;
using testing::kFrameUs;
using testing::RoadScene;

constexpr int64_t kStartUs = 1'700'000'000'000'000;

// Straight down at 20 px per metre.
CalibrationConfig TopDown() {
  CalibrationConfig c;
  c.image_points = {cv::Point2f(0, 0), {1, 0}, {1, 1}, {0, 1}};
  c.ground_points = {cv::Point2f(0, 0), {16, 0}, {16, 9}, {0, 9}};
  return c;
}

// Motion detector + classical detector + VehicleAnalytics, as the daemon composes them.
class Camera {
 public:
  explicit Camera(const VehicleAnalyticsOptions& options) {
    motion_ = std::move(MotionDetector::Create(MotionOptions{})).value();
    detector_ = std::move(ClassicalDetector::Create({})).value();
    auto va = VehicleAnalytics::Create(options, detector_.get());
    EXPECT_TRUE(va.ok()) << va.status().ToString();
    analytics_ = std::move(va).value();
  }
  VehicleObservation Process(const cv::Mat& frame, int index) {
    const int64_t t = kStartUs + index * kFrameUs;
    return analytics_->Process(frame, motion_->Process(frame, t), t);
  }
  VehicleAnalytics& analytics() { return *analytics_; }

 private:
  std::unique_ptr<MotionDetector> motion_;
  std::unique_ptr<ClassicalDetector> detector_;
  std::unique_ptr<VehicleAnalytics> analytics_;
};

TEST(VehicleAnalyticsTest, CarCrossingTheSceneGivesNewCrossingAndEnd) {
  VehicleAnalyticsOptions options;
  options.calibration = TopDown();
  options.rules.lines.push_back({"middle", {0.5f, 1.f}, {0.5f, 0.f}});  // forward = rightwards
  options.rules.zones.push_back({"crossing", {{0.4f, 0.f}, {0.6f, 0.f}, {0.6f, 1.f}, {0.4f, 1.f}}});
  Camera camera(options);
  RoadScene scene;
  std::vector<VehicleTrackEvent> lifecycle;
  std::vector<RuleEvent> crossings;
  for (int i = 0; i < 80; ++i) {
    cv::Mat frame = scene.road().clone();
    // 4 x 1.6 m, 7 px per frame: 3.5 m/s = 12.6 km/h.
    DrawCar(frame, cv::Rect(-80 + 7 * i, 90, 80, 32), cv::Scalar(35, 30, 190));
    RoadScene::AddNoise(frame, i);
    VehicleObservation o = camera.Process(frame, i);
    for (auto& e : o.track_events) lifecycle.push_back(std::move(e));
    for (const RuleEvent& e : o.rule_events) {
      if (e.type == RuleEventType::kLineCrossed) crossings.push_back(e);
    }
  }
  ASSERT_GE(lifecycle.size(), 2u);
  EXPECT_EQ(lifecycle.front().type, TrackEventType::kNew);
  EXPECT_EQ(lifecycle.back().type, TrackEventType::kEnd);
  const uint64_t id = lifecycle.front().track.id;
  int updates = 0, zone_updates = 0;
  for (const VehicleTrackEvent& e : lifecycle) {
    EXPECT_EQ(e.track.id, id);
    if (e.type == TrackEventType::kUpdate) {
      ++updates;
      zone_updates += (e.changes & kChangeZone) != 0;
      EXPECT_NE(e.changes, 0u);
    }
  }
  EXPECT_EQ(zone_updates, 2);  // entered, left
  EXPECT_LE(updates, 6);       // significant changes only, not one per frame
  const VehicleTrackEvent& end = lifecycle.back();
  EXPECT_EQ(end.track.object_class, ObjectClass::kCar);
  EXPECT_EQ(end.colour, VehicleColour::kRed);
  ASSERT_FALSE(end.snapshot.crop.empty());
  EXPECT_EQ(end.snapshot.crop.type(), CV_8UC3);
  EXPECT_EQ(end.snapshot.crop.size(), end.snapshot.box.size());
  EXPECT_NEAR(end.heading_deg, 0, 10);

  ASSERT_EQ(crossings.size(), 1u);
  EXPECT_EQ(crossings[0].track_id, id);
  EXPECT_EQ(crossings[0].direction, 1);
  EXPECT_NEAR(crossings[0].speed_kmh, 12.6, 1.26);  // within 10%
  EXPECT_EQ(camera.analytics().stats().tracks_started, 1u);
  EXPECT_EQ(camera.analytics().stats().tracks_ended, 1u);
}

TEST(VehicleAnalyticsTest, ParkedVehicleStaysTrackedTwoMinutesAndFiresStoppedOnce) {
  VehicleAnalyticsOptions options;
  options.calibration = TopDown();
  Zone no_parking{"hydrant", {{0.3f, 0.4f}, {0.8f, 0.4f}, {0.8f, 0.9f}, {0.3f, 0.9f}}};
  no_parking.no_parking = true;
  no_parking.max_stop_ms = 60000;
  options.rules.zones.push_back(no_parking);
  Camera camera(options);
  RoadScene scene;
  std::vector<VehicleTrackEvent> lifecycle;
  std::vector<RuleEvent> stopped;
  const int park_frame = 25;
  for (int i = 0; i < park_frame + 1250; ++i) {  // then 2 minutes parked
    cv::Mat frame = scene.road().clone();
    DrawCar(frame, cv::Rect(std::min(-80 + 8 * i, 120), 100, 80, 32), cv::Scalar(170, 70, 25));
    RoadScene::AddNoise(frame, i);
    VehicleObservation o = camera.Process(frame, i);
    for (auto& e : o.track_events) lifecycle.push_back(std::move(e));
    for (const RuleEvent& e : o.rule_events) {
      if (e.type == RuleEventType::kVehicleStopped) stopped.push_back(e);
    }
    if (i > park_frame + 50) {
      ASSERT_EQ(o.tracks.size(), 1u) << "frame " << i;
      EXPECT_TRUE(o.tracks[0].stationary) << "frame " << i;
    }
  }
  ASSERT_FALSE(lifecycle.empty());
  EXPECT_EQ(lifecycle.front().type, TrackEventType::kNew);
  for (const VehicleTrackEvent& e : lifecycle) {
    EXPECT_NE(e.type, TrackEventType::kEnd);
    EXPECT_EQ(e.track.id, lifecycle.front().track.id);
  }
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].rule_id, "hydrant");
  // Parked at frame 25 (2.5 s); 60 s limit; allow the tracker's stationary confirmation.
  const double fired_s = (stopped[0].time_us - kStartUs) * 1e-6;
  EXPECT_GE(fired_s, 62.5);
  EXPECT_LE(fired_s, 62.5 + 4);
  EXPECT_EQ(lifecycle.back().colour, VehicleColour::kBlue);
}

TEST(VehicleAnalyticsTest, RejectsMissingDetectorAndBadCalibration) {
  EXPECT_FALSE(VehicleAnalytics::Create({}, nullptr).ok());
  auto detector = std::move(ClassicalDetector::Create({})).value();
  VehicleAnalyticsOptions options;
  options.calibration = TopDown();
  options.calibration->image_points[1] = {0.5f, 0.f};  // on one line with points 0 and 2
  options.calibration->image_points[2] = {1.f, 0.f};
  auto va = VehicleAnalytics::Create(options, detector.get());
  ASSERT_FALSE(va.ok());
  EXPECT_NE(va.status().message().find("calibration.image_points"), std::string::npos);
}

// A detector that reports a car driving right for 8 frames, then parked, and records the scene
// context it is given.
class RecordingDetector final : public VehicleDetector {
 public:
  std::vector<Detection> Detect(const cv::Mat&, const std::vector<cv::Rect2f>&, int64_t) override {
    const float x = 40.f + 8.f * static_cast<float>(std::min<uint64_t>(calls_++, 8));
    return {{cv::Rect2f(x, 80, 60, 30), ObjectClass::kCar, 0.9f}};
  }
  void SetSceneContext(const SceneContext& context) override { contexts_.push_back(context); }
  const cv::Mat& foreground() const override { return no_mask_; }
  DetectorCounters counters() const override { return {calls_, 0}; }
  std::string name() const override { return "recording"; }
  const std::vector<SceneContext>& contexts() const { return contexts_; }

 private:
  uint64_t calls_ = 0;
  std::vector<SceneContext> contexts_;
  const cv::Mat no_mask_;
};

TEST(VehicleAnalyticsTest, DetectorGetsTheSceneContextBeforeEachFrame) {
  VehicleAnalyticsOptions options;
  options.calibration = TopDown();
  options.tracker.stationary_after_ms = 500;
  RecordingDetector detector;
  auto va = VehicleAnalytics::Create(options, &detector);
  ASSERT_TRUE(va.ok()) << va.status().ToString();
  const cv::Mat frame(180, 320, CV_8UC3, cv::Scalar(90, 90, 90));
  MotionObservation motion;
  for (int i = 0; i < 20; ++i) {
    motion.camera_shift = i == 5 ? cv::Point2f(1.5f, -0.5f) : cv::Point2f();
    (*va)->Process(frame, motion, kStartUs + i * kFrameUs);
  }
  const std::vector<SceneContext>& seen = detector.contexts();
  ASSERT_EQ(seen.size(), 20u);
  EXPECT_EQ(detector.counters().calls, 20u);
  // The calibration for this frame size, from the first frame on.
  ASSERT_NE((*va)->calibration(), nullptr);
  for (const SceneContext& c : seen) EXPECT_EQ(c.calibration, (*va)->calibration());
  // This frame's shake shift only.
  EXPECT_EQ(seen[5].camera_shift, cv::Point2f(1.5f, -0.5f));
  EXPECT_EQ(seen[6].camera_shift, cv::Point2f());
  // The tracker's state after the previous frame: nothing before the first frame, then the
  // tracked box, and once the car has stood still long enough, a stationary box.
  EXPECT_TRUE(seen[0].tracked_boxes.empty());
  EXPECT_TRUE(seen[0].stationary_boxes.empty());
  ASSERT_EQ(seen[3].tracked_boxes.size(), 1u);
  EXPECT_NEAR(seen[3].tracked_boxes[0].x, 56.f, 4.f);  // frame 2's box
  EXPECT_TRUE(seen[3].stationary_boxes.empty());
  ASSERT_EQ(seen.back().stationary_boxes.size(), 1u);
  EXPECT_NEAR(seen.back().stationary_boxes[0].x, 104.f, 4.f);
}

// A detector that reports one narrow, upright object (what the classical detector calls a person)
// moving right at `px_per_frame`, under the name of a backend. Every other run of
// `lagging_frames` boxes stands `lag_px` behind it (a shadow that comes and goes), so that some
// speeds read high.
class UprightDetector final : public VehicleDetector {
 public:
  UprightDetector(std::string name, float px_per_frame, int lagging_frames = 0, float lag_px = 0)
      : name_(std::move(name)), step_(px_per_frame), lagging_(lagging_frames), lag_px_(lag_px) {}
  // Reports `size` boxes of class `cls` instead.
  UprightDetector& As(ObjectClass cls, cv::Size2f size) {
    cls_ = cls;
    size_ = size;
    return *this;
  }
  std::vector<Detection> Detect(const cv::Mat&, const std::vector<cv::Rect2f>&, int64_t) override {
    const bool lagging = lagging_ > 0 && (calls_ / lagging_) % 2 == 0;
    const float x = 10.f + step_ * static_cast<float>(calls_++) - (lagging ? lag_px_ : 0.f);
    return {{cv::Rect2f(cv::Point2f(x, 140 - size_.height), size_), cls_, 0.9f}};
  }
  void SetSceneContext(const SceneContext&) override {}
  const cv::Mat& foreground() const override { return no_mask_; }
  DetectorCounters counters() const override { return {calls_, 0}; }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  float step_;
  ObjectClass cls_ = ObjectClass::kPerson;
  cv::Size2f size_{16, 40};
  uint64_t calls_ = 0;
  uint64_t lagging_;
  float lag_px_;
  const cv::Mat no_mask_;
};

// The class `detector`'s one object ends up with over 40 frames at 10 fps, on a 1280-pixel-wide
// view at 20 px per metre (and lanes, if `options` has them).
ObjectClass ClassAt(VehicleAnalyticsOptions options, UprightDetector* detector) {
  options.calibration = TopDown();
  options.calibration->ground_points = {cv::Point2f(0, 0), {64, 0}, {64, 9}, {0, 9}};
  auto va = VehicleAnalytics::Create(options, detector);
  EXPECT_TRUE(va.ok()) << va.status().ToString();
  const cv::Mat frame(180, 1280, CV_8UC3, cv::Scalar(90, 90, 90));
  ObjectClass reported = ObjectClass::kUnknown;
  for (int i = 0; i < 40; ++i) {
    const VehicleObservation o =
        (*va)->Process(frame, MotionObservation{}, kStartUs + i * kFrameUs);
    for (const VehicleTrackEvent& e : o.track_events) reported = e.track.object_class;
    // What the rules and the --tracks file see agrees with the lifecycle.
    for (const Track& t : (*va)->tracks()) {
      if (t.confirmed && reported != ObjectClass::kUnknown) {
        EXPECT_EQ(t.object_class, reported);
      }
    }
  }
  return reported;
}

// The class a narrow upright object (0.8 m wide, 2 m tall) moving at `kmh` ends up with; every
// other run of `lagging_frames` boxes `lag_m` behind it.
ObjectClass UprightClassAt(const std::string& backend, float kmh, int lagging_frames = 0,
                           float lag_m = 0) {
  UprightDetector detector(backend, kmh / 3.6f * 20.f / 10.f, lagging_frames, lag_m * 20.f);
  return ClassAt({}, &detector);
}

TEST(VehicleAnalyticsTest, NarrowUprightObjectsAreTwoWheelersByTheirSpeed) {
  EXPECT_EQ(UprightClassAt("classical", 5), ObjectClass::kPerson);       // walking
  EXPECT_EQ(UprightClassAt("classical", 18), ObjectClass::kBicycle);     // cycling
  EXPECT_EQ(UprightClassAt("classical", 45), ObjectClass::kMotorcycle);  // in motor traffic
  // The DNN backend's model tells a rider from a walker itself: its classes stay.
  EXPECT_EQ(UprightClassAt("dnn", 18), ObjectClass::kPerson);
}

TEST(VehicleAnalyticsTest, AWalkerWhoseBoxLagsNowAndThenIsNotACyclist) {
  // Every other run of six boxes stands 1.5 m behind the walker: a few speeds read cyclist
  // speed, never three in a row measured over enough track (the judgement counted them over
  // the whole track and called the walker a cyclist).
  EXPECT_EQ(UprightClassAt("classical", 5, 6, 1.5f), ObjectClass::kPerson);
  // A cyclist seen the same way is still a cyclist.
  EXPECT_EQ(UprightClassAt("classical", 18, 6, 1.5f), ObjectClass::kBicycle);
}

// The class a car-classed box 2.2 m wide and 2 m tall (a pedestrian with the shadow beside it)
// moving right at `kmh` ends up with; with `lane`, one lane over the upper half of the picture
// (the box's contact point, at y = 140 of 180, is outside it) or, with `inside`, over the whole
// picture.
ObjectClass WideClassAt(float kmh, bool lane, bool inside = false) {
  VehicleAnalyticsOptions options;
  if (lane) {
    const float bottom = inside ? 1.f : 0.5f;
    options.rules.lanes.push_back({"road", {{0, 0}, {1, 0}, {1, bottom}, {0, bottom}}, {}, 0});
  }
  UprightDetector detector("classical", kmh / 3.6f * 20.f / 10.f);
  detector.As(ObjectClass::kCar, {44, 40});
  return ClassAt(options, &detector);
}

TEST(VehicleAnalyticsTest, ACarSizedBoxWalkingOutsideTheLanesIsAPerson) {
  EXPECT_EQ(WideClassAt(5, true), ObjectClass::kPerson);  // a walker (and shadow) on the pavement
  // In a lane it is a vehicle crawling in a queue.
  EXPECT_EQ(WideClassAt(5, true, /*inside=*/true), ObjectClass::kCar);
  // Outside the lanes at a vehicle's speed (a side street), or standing still (a parked car).
  EXPECT_EQ(WideClassAt(40, true), ObjectClass::kCar);
  EXPECT_EQ(WideClassAt(0, true), ObjectClass::kCar);
  // No lanes configured: no pavement known, today's classes.
  EXPECT_EQ(WideClassAt(5, false), ObjectClass::kCar);
}

}  // namespace
}  // namespace skynet::analytics
