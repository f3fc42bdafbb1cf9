#include "pipeline/analytics/tracker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace skynet::analytics {
namespace {

constexpr int64_t kFrameUs = 100'000;  // 10 fps
constexpr int64_t kStartUs = 7'000'000;

Detection Car(float x, float y, float w = 30, float h = 15) {
  return {cv::Rect2f(x, y, w, h), ObjectClass::kCar, 0.9f};
}

std::unique_ptr<Tracker> MakeTracker(const TrackerOptions& options = {}) {
  auto t = Tracker::Create(options);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

const Track* Find(const Tracker& tracker, uint64_t id) {
  for (const Track& t : tracker.tracks()) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::set<uint64_t> ConfirmedIds(const Tracker& tracker) {
  std::set<uint64_t> ids;
  for (const Track& t : tracker.tracks()) {
    if (t.confirmed) ids.insert(t.id);
  }
  return ids;
}

TEST(TrackerTest, ConfirmsAfterHitsAndVotesTheClass) {
  auto tracker = MakeTracker();
  const cv::Mat no_frame;
  for (int i = 0; i < 5; ++i) {
    Detection d = Car(20 + 5 * i, 80);
    if (i == 1) d.object_class = ObjectClass::kTruck;  // one odd vote
    tracker->Update({d}, no_frame, kStartUs + i * kFrameUs);
    ASSERT_EQ(tracker->tracks().size(), 1u);
    EXPECT_EQ(tracker->tracks()[0].confirmed, i >= 2) << i;
  }
  const Track& t = tracker->tracks()[0];
  EXPECT_EQ(t.object_class, ObjectClass::kCar);
  EXPECT_EQ(t.hits, 5);
  EXPECT_NEAR(t.velocity_px_s.x, 50, 15);
  EXPECT_EQ(t.trajectory.size(), 5u);
}

// The hits before a track is confirmed, for a car whose first box is at (x, y) on a 320x180
// frame and which moves (dx, dy) per frame.
int HitsToConfirm(float x, float y, float dx, float dy) {
  auto tracker = MakeTracker();
  const cv::Mat frame(180, 320, CV_8UC3, cv::Scalar(100, 100, 100));
  for (int i = 0; i < 6; ++i) {
    tracker->Update({Car(x + dx * i, y + dy * i, 40, 30)}, frame, kStartUs + i * kFrameUs);
    if (tracker->tracks().size() != 1) return -1;
    if (tracker->tracks()[0].confirmed) return i + 1;
  }
  return -1;
}

TEST(TrackerTest, AVehicleEnteringAcrossAnyEdgeIsConfirmedOneFrameSooner) {
  EXPECT_EQ(HitsToConfirm(140, 80, 4, 0), 3);   // appeared inside the view
  EXPECT_EQ(HitsToConfirm(0, 80, 4, 0), 2);     // entered from the left
  EXPECT_EQ(HitsToConfirm(280, 80, -4, 0), 2);  // from the right
  // Seen along the road, a vehicle driving away enters at the bottom.
  EXPECT_EQ(HitsToConfirm(140, 150, 0, -4), 2);
  EXPECT_EQ(HitsToConfirm(140, 0, 0, 4), 2);  // a steep view whose far end is cut: the top
  // A piece of a vehicle leaving the view at its edge is no vehicle entering.
  EXPECT_EQ(HitsToConfirm(140, 150, 0, 2), 3);
  EXPECT_EQ(HitsToConfirm(0, 80, -2, 0), 3);
}

TEST(TrackerTest, KeepsIdAcrossFiveFrameOcclusion) {
  auto tracker = MakeTracker();
  const cv::Mat frame(180, 320, CV_8UC3, cv::Scalar(100, 100, 100));
  uint64_t id = 0;
  for (int i = 0; i < 40; ++i) {
    std::vector<Detection> dets;
    if (i < 20 || i >= 25) dets.push_back(Car(10 + 6 * i, 80));  // behind a pole for 5 frames
    tracker->Update(dets, frame, kStartUs + i * kFrameUs);
    ASSERT_TRUE(tracker->ended().empty()) << "frame " << i;
    ASSERT_EQ(tracker->tracks().size(), 1u) << "frame " << i;
    if (i == 10) id = tracker->tracks()[0].id;
    if (i >= 20 && i < 25) {
      EXPECT_FALSE(tracker->tracks()[0].matched);
    }
  }
  EXPECT_EQ(tracker->tracks()[0].id, id);
  EXPECT_NEAR(tracker->tracks()[0].box.x, 10 + 6 * 39, 3);
}

TEST(TrackerTest, EndsATrackAfterMaxCoastTime) {
  TrackerOptions options;
  options.defaults.max_coast_ms = 400;  // four frames at 10 fps
  auto tracker = MakeTracker(options);
  for (int i = 0; i < 10; ++i) tracker->Update({Car(100, 80)}, {}, kStartUs + i * kFrameUs);
  int ended_at = -1;
  for (int i = 10; i < 20 && ended_at < 0; ++i) {
    tracker->Update({}, {}, kStartUs + i * kFrameUs);
    if (!tracker->ended().empty()) ended_at = i;
  }
  EXPECT_EQ(ended_at, 14);  // 500 ms after the last detection
  EXPECT_TRUE(tracker->tracks().empty());
}

TEST(TrackerTest, TwoCrossingVehiclesKeepTheirIds) {
  auto tracker = MakeTracker();
  const cv::Mat frame(180, 320, CV_8UC3, cv::Scalar(100, 100, 100));
  uint64_t right_mover = 0, left_mover = 0;
  for (int i = 0; i < 45; ++i) {
    const float xa = 10 + 6 * i, xb = 280 - 6 * i;  // meet around frame 22
    std::vector<Detection> dets;
    dets.push_back(Car(xa, 80));
    // The far vehicle (b) is hidden behind the near one while they overlap a lot.
    if (std::abs(xa - xb) > 12) dets.push_back(Car(xb, 84));
    tracker->Update(dets, frame, kStartUs + i * kFrameUs);
    if (i == 8) {
      ASSERT_EQ(ConfirmedIds(*tracker).size(), 2u);
      for (const Track& t : tracker->tracks()) {
        (t.velocity_px_s.x > 0 ? right_mover : left_mover) = t.id;
      }
    }
  }
  ASSERT_NE(right_mover, 0u);
  ASSERT_NE(left_mover, 0u);
  const Track* a = Find(*tracker, right_mover);
  const Track* b = Find(*tracker, left_mover);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NEAR(a->box.x, 10 + 6 * 44, 4);
  EXPECT_NEAR(b->box.x, 280 - 6 * 44, 4);
  EXPECT_GT(a->velocity_px_s.x, 40);
  EXPECT_LT(b->velocity_px_s.x, -40);
}

TEST(TrackerTest, StationaryVehicleStaysTrackedForTwoMinutes) {
  auto tracker = MakeTracker();
  const cv::Mat frame(180, 320, CV_8UC3, cv::Scalar(100, 100, 100));
  cv::RNG rng(3);
  uint64_t id = 0;
  int64_t t_us = kStartUs;
  // Drives in and stops at x = 150.
  for (int i = 0; i < 20; ++i, t_us += kFrameUs) {
    tracker->Update({Car(30 + 6 * i, 100)}, frame, t_us);
  }
  for (int i = 0; i < 1200; ++i, t_us += kFrameUs) {  // 2 minutes at 10 fps
    std::vector<Detection> dets;
    // Detector jitter, and long dropouts (people walking past, the detector losing it).
    if (i % 200 < 170) {
      dets.push_back(Car(144 + rng.uniform(-1.f, 1.f), 100 + rng.uniform(-1.f, 1.f)));
    }
    tracker->Update(dets, frame, t_us);
    ASSERT_EQ(tracker->tracks().size(), 1u) << i;
    ASSERT_TRUE(tracker->ended().empty()) << i;
    if (i == 0) id = tracker->tracks()[0].id;
    if (i >= 40) {
      EXPECT_TRUE(tracker->tracks()[0].stationary) << i;
    }
  }
  const Track& t = tracker->tracks()[0];
  EXPECT_EQ(t.id, id);
  EXPECT_NEAR(t.box.x, 144, 3);
  ASSERT_EQ(tracker->StationaryBoxes().size(), 1u);

  // Then it drives off: no longer stationary.
  for (int i = 0; i < 15; ++i, t_us += kFrameUs) {
    tracker->Update({Car(144 + 5 * (i + 1), 100)}, frame, t_us);
  }
  EXPECT_EQ(tracker->tracks()[0].id, id);
  EXPECT_FALSE(tracker->tracks()[0].stationary);
  EXPECT_TRUE(tracker->StationaryBoxes().empty());
}

TEST(TrackerTest, AStopIsDatedFromWhenTheVehicleCameToRestNotWhileItSlowed) {
  // A car 30 px wide drives at 40 px/s and brakes evenly to a standstill over 4 s: in its last
  // 0.9 s it creeps less than the stationary radius (a quarter of its height, 3.75 px), so the
  // anchor of the stationary test is set while it still moves. The stop is dated from when it
  // came to rest, within half a second, with the detector's jitter.
  auto tracker = MakeTracker();
  const cv::Mat frame(180, 320, CV_8UC3, cv::Scalar(100, 100, 100));
  cv::RNG rng(5);
  float x = 30, v = 40;    // px, px/s
  const float decel = 10;  // px/s^2
  const int64_t brake_us = kStartUs + 20 * kFrameUs;
  const int64_t rest_us = brake_us + 40 * kFrameUs;  // v = 0 after 4 s
  int64_t t_us = kStartUs;
  for (int i = 0; i < 110; ++i, t_us += kFrameUs) {
    tracker->Update({Car(x + rng.uniform(-0.3f, 0.3f), 100 + rng.uniform(-0.3f, 0.3f))}, frame,
                    t_us);
    if (t_us >= brake_us) v = std::max(0.f, v - decel * kFrameUs * 1e-6f);
    x += v * kFrameUs * 1e-6f;
  }
  ASSERT_EQ(tracker->tracks().size(), 1u);
  const Track& t = tracker->tracks()[0];
  ASSERT_TRUE(t.stationary);
  EXPECT_GE(t.stationary_since_us, rest_us - 5 * kFrameUs);
  EXPECT_LE(t.stationary_since_us, rest_us + 3 * kFrameUs);
}

TEST(TrackerTest, SpeedFromCalibratedHomographyWithinTenPercent) {
  // Perspective road: a 3.5 m x 40 m stretch; the vehicle drives away from the camera at 50 km/h.
  CalibrationConfig config;
  config.image_points = {cv::Point2f(0.45f, 0.2f), {0.55f, 0.2f}, {0.9f, 0.95f}, {0.1f, 0.95f}};
  config.ground_points = {cv::Point2f(0, 40), {3.5f, 40}, {3.5f, 0}, {0, 0}};
  auto cal = Calibration::Create(config, {320, 180});
  ASSERT_TRUE(cal.ok());
  auto tracker = MakeTracker();
  tracker->set_calibration(&*cal);
  const double mps = 50 / 3.6;
  for (int i = 0; i < 30; ++i) {
    const double t = i * 0.1;
    const cv::Point2f ground(1.75f, static_cast<float>(2 + mps * t));
    const cv::Point2f bottom = cal->GroundToImage(ground);
    const float scale = 1.0f / cal->MetresPerPixelAt(bottom);  // px per metre here
    const float w = 1.8f * scale, h = 1.5f * scale;
    tracker->Update({{cv::Rect2f(bottom.x - w / 2, bottom.y - h, w, h), ObjectClass::kCar, 0.9f}},
                    {}, kStartUs + i * kFrameUs);
    ASSERT_EQ(tracker->tracks().size(), 1u) << i;
  }
  const Track& t = tracker->tracks()[0];
  ASSERT_TRUE(t.calibrated);
  EXPECT_NEAR(t.speed_kmh, 50, 5);
  EXPECT_NEAR(t.velocity_mps.y, mps, 0.1 * mps);
  EXPECT_NEAR(t.size.width_m, 1.8, 0.2);
}

// The along-the-road geometry of SpeedFromCalibratedHomographyWithinTenPercent: a car whose
// contact point is at `ground` (metres), its box 1.8 m wide and 1.5 m high at that place.
cv::Rect2f CarBoxAt(const Calibration& cal, cv::Point2f ground) {
  const cv::Point2f bottom = cal.GroundToImage(ground);
  const float scale = 1.0f / cal.MetresPerPixelAt(bottom);
  const float w = 1.8f * scale, h = 1.5f * scale;
  return {bottom.x - w / 2, bottom.y - h, w, h};
}

Calibration RoadCalibration() {
  CalibrationConfig config;
  config.image_points = {cv::Point2f(0.45f, 0.2f), {0.55f, 0.2f}, {0.9f, 0.95f}, {0.1f, 0.95f}};
  config.ground_points = {cv::Point2f(0, 40), {3.5f, 40}, {3.5f, 0}, {0, 0}};
  return Calibration::Create(config, {320, 180}).value();
}

TEST(TrackerTest, SpeedWithinFivePercentDespiteBoxJitterAndOutliers) {
  // 50 km/h away from the camera; the box's bottom jitters by up to 4% of its height every
  // frame, and every fifth frame the box loses its lower fifth (a shadow or a hidden bumper).
  const Calibration cal = RoadCalibration();
  auto tracker = MakeTracker();
  tracker->set_calibration(&cal);
  const double mps = 50 / 3.6;
  const float jitter[] = {0.04f, -0.03f, 0.0f, 0.02f, -0.04f, 0.03f, -0.01f};
  for (int i = 0; i < 25; ++i) {
    const cv::Point2f ground(1.75f, static_cast<float>(3 + mps * i * 0.1));
    cv::Rect2f box = CarBoxAt(cal, ground);
    box.height *= 1 + jitter[i % 7];
    if (i % 5 == 4) box.height *= 0.8f;
    tracker->Update({{box, ObjectClass::kCar, 0.9f}}, {}, kStartUs + i * kFrameUs);
    ASSERT_EQ(tracker->tracks().size(), 1u) << i;
  }
  EXPECT_NEAR(tracker->tracks()[0].speed_kmh, 50, 2.5);
}

TEST(TrackerTest, SpeedIgnoresBoxesCutByTheFrameEdge) {
  // A car enters from the bottom edge, driving away at 40 km/h: while the edge cuts its box,
  // the box's bottom stays on the edge and says nothing of the car's speed. The speed is
  // unknown (-1) until the car is measured inside the frame, then right.
  const Calibration cal = RoadCalibration();
  auto tracker = MakeTracker();
  tracker->set_calibration(&cal);
  const double mps = 40 / 3.6;
  const cv::Mat frame(180, 320, CV_8UC3, cv::Scalar::all(0));
  for (int i = 0; i < 20; ++i) {
    const cv::Point2f ground(1.75f, static_cast<float>(-3 + mps * i * 0.1));
    const cv::Rect2f box = CarBoxAt(cal, ground) & cv::Rect2f(0, 0, 320, 180);
    tracker->Update({{box, ObjectClass::kCar, 0.9f}}, frame, kStartUs + i * kFrameUs);
    ASSERT_EQ(tracker->tracks().size(), 1u) << i;
    const Track& t = tracker->tracks()[0];
    if (t.speed_kmh >= 0) {
      EXPECT_NEAR(t.speed_kmh, 40, 2) << i;
    }
  }
  EXPECT_NEAR(tracker->tracks()[0].speed_kmh, 40, 2);
}

TEST(TrackerTest, AnImpossibleSpeedIsNotReported) {
  // A track whose contact point runs 8.5 m along the road every 0.1 s (306 km/h: a blob that
  // merges with the vehicles ahead, one after another) has no speed, not that one.
  const Calibration cal = RoadCalibration();
  auto tracker = MakeTracker();
  tracker->set_calibration(&cal);
  uint64_t id = 0;
  const cv::Rect2f car = CarBoxAt(cal, {1.75f, 25});
  for (int i = 0; i < 6; ++i) {
    // Far from the camera 8.5 m of road are a few pixels: the box barely moves on screen.
    cv::Rect2f box = car;
    box.y = cal.GroundToImage({1.75f, 25 + 8.5f * i}).y - box.height;
    tracker->Update({{box, ObjectClass::kCar, 0.9f}}, {}, kStartUs + i * kFrameUs);
    ASSERT_EQ(tracker->tracks().size(), 1u) << i;
    if (i == 0) id = tracker->tracks()[0].id;
    EXPECT_EQ(tracker->tracks()[0].id, id) << i;  // one track throughout
    EXPECT_EQ(tracker->tracks()[0].speed_kmh, -1.f) << i;
  }
}

TEST(TrackerTest, CoastingLimitIsATimeAtAnyFrameRate) {
  TrackerOptions options;
  options.defaults.max_coast_ms = 1000;
  for (const int64_t frame_us : {int64_t{200'000}, int64_t{40'000}}) {  // 5 and 25 fps
    auto tracker = MakeTracker(options);
    int64_t t_us = kStartUs;
    for (int i = 0; i < 10; ++i, t_us += frame_us) tracker->Update({Car(100, 80)}, {}, t_us);
    const int64_t last_seen_us = t_us - frame_us;
    int64_t ended_us = -1;
    for (; ended_us < 0 && t_us < last_seen_us + 3'000'000; t_us += frame_us) {
      tracker->Update({}, {}, t_us);
      if (!tracker->ended().empty()) ended_us = t_us;
    }
    // The first frame more than 1 s after the last detection.
    EXPECT_GT(ended_us - last_seen_us, 1'000'000) << frame_us;
    EXPECT_LE(ended_us - last_seen_us, 1'000'000 + frame_us) << frame_us;
  }
}

TEST(TrackerTest, TrajectoryHoldsMeasurementsNotPredictions) {
  auto tracker = MakeTracker();
  for (int i = 0; i < 5; ++i) tracker->Update({Car(100 + 5 * i, 80)}, {}, kStartUs + i * kFrameUs);
  for (int i = 5; i < 8; ++i) tracker->Update({}, {}, kStartUs + i * kFrameUs);  // coasting
  ASSERT_EQ(tracker->tracks().size(), 1u);
  const Track& t = tracker->tracks()[0];
  ASSERT_EQ(t.trajectory.size(), 5u);
  EXPECT_EQ(t.trajectory.back().time_us, kStartUs + 4 * kFrameUs);
  EXPECT_FLOAT_EQ(t.trajectory.back().point.x, 100 + 5 * 4 + 15);  // the detection's bottom-centre
  EXPECT_FLOAT_EQ(t.trajectory.back().point.y, 95);
}

TEST(RobustVelocityTest, MedianSlopeIgnoresAFewJumps) {
  std::vector<TrajectoryPoint> points;
  for (int i = 0; i < 10; ++i) {
    cv::Point2f p(10.f * i, -4.f * i);               // 100 and -40 units per second at 10 fps
    if (i == 3 || i == 7) p += cv::Point2f(25, 30);  // two wild measurements
    points.push_back({i * kFrameUs, p});
  }
  const auto v = RobustVelocity(points, 2'000'000, 300'000);
  ASSERT_TRUE(v.has_value());
  EXPECT_NEAR(v->x, 100, 5);
  EXPECT_NEAR(v->y, -40, 5);
  // The window keeps the last 0.25 s: three points but less than the minimum span.
  EXPECT_FALSE(RobustVelocity(points, 250'000, 300'000).has_value());
  EXPECT_FALSE(RobustVelocity({points[0], points[1]}, 2'000'000, 0).has_value());
}

Detection Person(float x, float y) { return {cv::Rect2f(x, y, 6, 16), ObjectClass::kPerson, 0.9f}; }

TEST(TrackerTest, ATrackOnASliverOfAVehicleGrowsToTheWholeVehicle) {
  // Calibrated road; a car drives away at 50 km/h. For 1.2 s the detector sees only a sliver of
  // it (its shadow's edge, 0.3 m high), then the whole car: within 0.4 s the track has the car's
  // height. A track of vehicle height clips a detection much taller than itself (a vehicle
  // merged with what stands above it); a sliver is lower than any vehicle and must not.
  const Calibration cal = RoadCalibration();
  auto tracker = MakeTracker();
  tracker->set_calibration(&cal);
  const double mps = 50 / 3.6;
  for (int i = 0; i < 16; ++i) {
    const cv::Point2f ground(1.75f, static_cast<float>(2 + mps * i * 0.1));
    cv::Rect2f box = CarBoxAt(cal, ground);
    if (i < 12) {
      const float sliver = box.height * 0.3f / 1.5f;
      box.y = box.br().y - sliver;
      box.height = sliver;
    }
    tracker->Update({{box, ObjectClass::kCar, 0.9f}}, {}, kStartUs + i * kFrameUs);
    ASSERT_EQ(tracker->tracks().size(), 1u) << i;
  }
  const Track& t = tracker->tracks()[0];
  ASSERT_TRUE(t.confirmed);
  const cv::Rect2f car = CarBoxAt(cal, {1.75f, static_cast<float>(2 + mps * 1.5)});
  EXPECT_NEAR(t.box.height, car.height, 0.2 * car.height);
}

TEST(TrackerTest, CarPassingAPedestrianKeepsBothBoxesThroughTheMergedBlob) {
  // A car drives right along the kerb while a pedestrian walks slowly below it; for a few
  // frames the detector sees one blob covering both. Both tracks keep their ids and boxes.
  auto tracker = MakeTracker();
  const cv::Mat no_frame;
  uint64_t car = 0, person = 0;
  for (int i = 0; i < 30; ++i) {
    const cv::Rect2f c(20 + 6 * i, 100, 30, 15), p(130 + 0.5f * i, 113, 6, 16);
    std::vector<Detection> dets;
    if ((c & p).area() > 0) {
      dets.push_back({c | p, ObjectClass::kCar, 0.9f});  // merged
    } else {
      dets = {Detection{c, ObjectClass::kCar, 0.9f}, Person(p.x, p.y)};
    }
    tracker->Update(dets, no_frame, kStartUs + i * kFrameUs);
    if (i == 8) {
      for (const Track& t : tracker->tracks())
        (t.object_class == ObjectClass::kPerson ? person : car) = t.id;
    }
    if (i > 8 && (c & p).area() > 0) {
      const Track* tc = Find(*tracker, car);
      const Track* tp = Find(*tracker, person);
      ASSERT_NE(tc, nullptr) << i;
      ASSERT_NE(tp, nullptr) << i;
      EXPECT_TRUE(tc->matched && tp->matched) << i;
      // Alive on their predicted boxes cut from the blob, which are not measurements.
      EXPECT_TRUE(tc->matched_prediction && tp->matched_prediction) << i;
      EXPECT_NEAR(tc->box.height, 15, 3) << i;  // not the merged blob's 29
      EXPECT_NEAR(tc->box.y + tc->box.height, 115, 3) << i;
    }
  }
  ASSERT_NE(car, 0u);
  ASSERT_NE(person, 0u);
  EXPECT_NE(Find(*tracker, car), nullptr);
  EXPECT_NE(Find(*tracker, person), nullptr);
  EXPECT_FALSE(Find(*tracker, car)->matched_prediction);  // measured again after the merge
}

TEST(TrackerTest, BoxDoesNotCollapseAfterAMergeEnds) {
  // A parked car's blob grows for a while (someone walking past, merged), then is the car
  // alone again: the box returns to the car and never shrinks past it.
  auto tracker = MakeTracker();
  const cv::Mat no_frame;
  int64_t t_us = kStartUs;
  for (int i = 0; i < 10; ++i, t_us += kFrameUs) tracker->Update({Car(100, 100)}, no_frame, t_us);
  for (int i = 0; i < 8; ++i, t_us += kFrameUs) {
    tracker->Update({Car(100, 100, 30, 15 + 3 * i)}, no_frame, t_us);  // grows gradually
  }
  for (int i = 0; i < 10; ++i, t_us += kFrameUs) {
    tracker->Update({Car(100, 100)}, no_frame, t_us);
    ASSERT_EQ(tracker->tracks().size(), 1u);
    EXPECT_GE(tracker->tracks()[0].box.height, 0.8f * 15) << i;
  }
  EXPECT_NEAR(tracker->tracks()[0].box.height, 15, 2);
}

TEST(TrackerTest, GhostThatNeverMovedDoesNotFreezeTheBackground) {
  // A blob that appears and stays (where a vehicle stood when the camera started) becomes
  // stationary but did not arrive moving: it must not keep itself in the background.
  auto tracker = MakeTracker();
  const cv::Mat no_frame;
  for (int i = 0; i < 60; ++i) tracker->Update({Car(100, 100)}, no_frame, kStartUs + i * kFrameUs);
  ASSERT_EQ(tracker->tracks().size(), 1u);
  EXPECT_TRUE(tracker->tracks()[0].stationary);
  EXPECT_TRUE(tracker->StationaryBoxes().empty());
}

TEST(TrackerTest, ATentativePedestrianTrackDoesNotJumpToACar) {
  // A pedestrian seen once; next frame a car drives over the spot. The car is a new object, not
  // the pedestrian's track grown six times.
  auto tracker = MakeTracker();
  const cv::Mat no_frame;
  tracker->Update({{cv::Rect2f(100, 100, 8, 18), ObjectClass::kPerson, 0.9f}}, no_frame, kStartUs);
  ASSERT_EQ(tracker->tracks().size(), 1u);
  const uint64_t pedestrian = tracker->tracks()[0].id;
  tracker->Update({Car(90, 95, 40, 25)}, no_frame, kStartUs + kFrameUs);
  const cv::Rect2f car(90, 95, 40, 25);
  int on_car = 0;
  for (const Track& t : tracker->tracks()) {
    if ((t.box & car).area() < 0.8f * car.area() || t.box.area() > 1.25f * car.area()) continue;
    ++on_car;
    EXPECT_NE(t.id, pedestrian);
  }
  EXPECT_EQ(on_car, 1);
}

TEST(TrackerTest, AConfirmedCyclistTrackDoesNotTakeOverATruckPassingIt) {
  // Along the road a cyclist (13 x 30 px) rides at the kerb; a truck's nearer piece (46 x 22,
  // classed a car) comes in over it. The cyclist's track took that box, moved with the truck
  // and counted the truck again at the line (three double counts on seed 2's scenes).
  auto tracker = MakeTracker();
  const cv::Mat no_frame;
  auto cyclist = [](float y) {
    return Detection{cv::Rect2f(40, y, 13, 30), ObjectClass::kBicycle, 0.9f};
  };
  int64_t t = kStartUs;
  for (int i = 0; i < 5; ++i, t += kFrameUs) tracker->Update({cyclist(60 + 2.f * i)}, no_frame, t);
  ASSERT_EQ(ConfirmedIds(*tracker).size(), 1u);
  const uint64_t cyclist_id = *ConfirmedIds(*tracker).begin();
  // The truck's piece overlaps the cyclist's box; the cyclist is hidden behind it.
  const cv::Rect2f truck(24, 76, 46, 22);
  tracker->Update({Car(truck.x, truck.y, truck.width, truck.height)}, no_frame, t);
  const Track* c = Find(*tracker, cyclist_id);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->matched) << "the cyclist's track took the truck's box";
  EXPECT_EQ(c->object_class, ObjectClass::kBicycle);
  int on_truck = 0;
  for (const Track& k : tracker->tracks()) {
    if (k.matched && (k.box & truck).area() >= 0.8f * truck.area()) {
      ++on_truck;
      EXPECT_NE(k.id, cyclist_id);
    }
  }
  EXPECT_EQ(on_truck, 1);
}

TEST(TrackerTest, RejectsBadOptions) {
  TrackerOptions options;
  options.min_iou = 0;
  auto t = Tracker::Create(options);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("tracker.min_iou"), std::string::npos);
}

}  // namespace
}  // namespace skynet::analytics
