#include "pipeline/analytics/traffic_rules.h"

#include <gtest/gtest.h>

#include <cmath>

namespace skynet::analytics {
namespace {

constexpr int64_t kFrameUs = 100'000;  // 10 fps
constexpr int64_t kStartUs = 3'000'000;
const cv::Size kSize(320, 180);

// A confirmed car whose bottom-centre is at `anchor`, moving at `velocity` px/s.
Track Car(uint64_t id, cv::Point2f anchor, cv::Point2f velocity = {}) {
  Track t;
  t.id = id;
  t.confirmed = true;
  t.matched = true;
  t.object_class = ObjectClass::kCar;
  t.box = cv::Rect2f(anchor.x - 15, anchor.y - 15, 30, 15);
  t.velocity_px_s = velocity;
  t.trajectory.push_back({0, anchor});
  return t;
}

// A flat calibration of the kSize frame: 0.1 m per pixel both ways (32 x 18 m).
Calibration TenCentimetresPerPixel() {
  CalibrationConfig config;
  config.image_points = {cv::Point2f(0, 0), {1, 0}, {1, 1}, {0, 1}};
  config.ground_points = {cv::Point2f(0, 0), {32, 0}, {32, 18}, {0, 18}};
  return Calibration::Create(config, kSize).value();
}

std::unique_ptr<TrafficRules> MakeRules(const TrafficRulesOptions& options) {
  auto r = TrafficRules::Create(options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

std::vector<RuleEvent> OfType(const std::vector<RuleEvent>& events, RuleEventType type) {
  std::vector<RuleEvent> out;
  for (const RuleEvent& e : events) {
    if (e.type == type) out.push_back(e);
  }
  return out;
}

TEST(TrafficRulesTest, LineCrossingCountsWithDirectionOncePerTrack) {
  TrafficRulesOptions options;
  options.lines.push_back({"stop-line", {0.f, 0.5f}, {1.f, 0.5f}});  // y = 90 px; forward = down
  options.lines.push_back({"down-only", {0.f, 0.6f}, {1.f, 0.6f}, LineDirection::kForward});
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  // Track 1 drives down through both lines, then reverses up and down again over the first.
  // Track 2 drives up through both.
  const float ys[] = {60, 75, 89, 90, 100, 115, 120, 95, 80, 85, 100};
  for (int i = 0; i < 11; ++i) {
    std::vector<Track> tracks = {Car(1, {100, ys[i]}, {0, 50}), Car(2, {250, 130.f - 7 * i})};
    for (const RuleEvent& e : rules->Process(tracks, {}, kSize, nullptr, kStartUs + i * kFrameUs)) {
      all.push_back(e);
    }
  }
  const auto crossed = OfType(all, RuleEventType::kLineCrossed);
  ASSERT_EQ(crossed.size(), 3u);
  EXPECT_EQ(crossed[0].track_id, 1u);
  EXPECT_EQ(crossed[0].rule_id, "stop-line");
  EXPECT_EQ(crossed[0].direction, 1);
  EXPECT_EQ(crossed[0].time_us, kStartUs + 3 * kFrameUs);  // the frame that reached the line
  EXPECT_EQ(crossed[1].track_id, 1u);
  EXPECT_EQ(crossed[1].rule_id, "down-only");
  EXPECT_EQ(crossed[1].direction, 1);
  EXPECT_EQ(crossed[2].track_id, 2u);  // up: counted on stop-line only
  EXPECT_EQ(crossed[2].rule_id, "stop-line");
  EXPECT_EQ(crossed[2].direction, -1);
  EXPECT_EQ(crossed[2].speed_kmh, -1);  // uncalibrated
}

TEST(TrafficRulesTest, LineCrossedWhileTentativeStillCounts) {
  TrafficRulesOptions options;
  options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});
  auto rules = MakeRules(options);
  Track t = Car(1, {100, 100});
  t.trajectory = {{0, {100, 80}}, {kFrameUs, {100, 90}}, {2 * kFrameUs, {100, 100}}};
  const auto events = rules->Process({t}, {}, kSize, nullptr, kStartUs);
  ASSERT_EQ(OfType(events, RuleEventType::kLineCrossed).size(), 1u);
}

TEST(TrafficRulesTest, AFirstBoxBeyondTheLineDoesNotHideACrossingWhileTentative) {
  // A receding car enters at the bottom and is first detected by its upper half (its anchor
  // just above the line, y = 90 px), then whole below the line, and crosses up while its track
  // is still tentative: the crossing is judged step by step along the tentative trajectory, not
  // on one step from the first box (which stays above the line: no crossing at all). The partial
  // box's jump down over the line is no crossing, whether or not the young track's velocity
  // already says it drives up.
  for (const cv::Point2f velocity : {cv::Point2f(0, -60), cv::Point2f(0, 0)}) {
    TrafficRulesOptions options;
    options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});
    auto rules = MakeRules(options);
    Track t = Car(1, {100, 80}, velocity);
    t.trajectory = {{0, {100, 89}}, {kFrameUs, {100, 100}}, {2 * kFrameUs, {100, 86}},
                    {3 * kFrameUs, {100, 80}}};
    const auto crossed = OfType(rules->Process({t}, {}, kSize, nullptr, kStartUs),
                                RuleEventType::kLineCrossed);
    ASSERT_EQ(crossed.size(), 1u) << "velocity " << velocity;
    EXPECT_EQ(crossed[0].direction, -1) << "velocity " << velocity;
  }
}

TEST(TrafficRulesTest, ABoxJumpingBackOverTheLineIsNotACrossing) {
  // The vehicle drives down (its filtered velocity says so) but its box's bottom jumps up over
  // the line for a frame (its lower part hidden): no crossing until it really crosses down.
  TrafficRulesOptions options;
  options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});  // y = 90 px
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  const float ys[] = {95, 85, 88, 96};
  for (int i = 0; i < 4; ++i) {
    Track t = Car(1, {100, ys[i]}, {0, 40});
    t.trajectory = {{kStartUs + i * kFrameUs, {100, ys[i]}}};
    for (const RuleEvent& e : rules->Process({t}, {}, kSize, nullptr, kStartUs + i * kFrameUs)) {
      all.push_back(e);
    }
  }
  const auto crossed = OfType(all, RuleEventType::kLineCrossed);
  ASSERT_EQ(crossed.size(), 1u);
  EXPECT_EQ(crossed[0].direction, 1);
  EXPECT_EQ(crossed[0].time_us, kStartUs + 3 * kFrameUs);
}

TEST(TrafficRulesTest, ACoastingTrackCrossesNoLineAndEntersNoZone) {
  // The detector loses the car above the line; the tracker's prediction drifts over the line and
  // into the zone, but nothing is judged on it. When the car is measured again beyond the line,
  // the step between the two measured anchors crosses: counted then, once.
  TrafficRulesOptions options;
  options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});  // y = 90 px
  options.zones.push_back({"z", {{0.f, 0.55f}, {1.f, 0.55f}, {1.f, 0.8f}, {0.f, 0.8f}}});
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  Track t = Car(1, {100, 70}, {0, 50});
  for (int i = 0; i < 8; ++i) {
    const int64_t t_us = kStartUs + i * kFrameUs;
    const float y = 70.f + 5 * i;  // the car's (and the prediction's) anchor
    t.box.y = y - t.box.height;
    t.matched = i < 2 || i >= 6;
    if (t.matched) t.trajectory.push_back({t_us, {100, y}});
    for (const RuleEvent& e : rules->Process({t}, {}, kSize, nullptr, t_us)) all.push_back(e);
    if (i == 5) {
      EXPECT_TRUE(all.empty()) << "a prediction at y = " << y << " was judged";
    }
  }
  const auto crossed = OfType(all, RuleEventType::kLineCrossed);
  ASSERT_EQ(crossed.size(), 1u);
  EXPECT_EQ(crossed[0].time_us, kStartUs + 6 * kFrameUs);
  EXPECT_EQ(crossed[0].direction, 1);
  EXPECT_EQ(crossed[0].anchor.y, 100);  // measured, not predicted
  const auto entered = OfType(all, RuleEventType::kZoneEntered);
  ASSERT_EQ(entered.size(), 1u);
  EXPECT_EQ(entered[0].time_us, kStartUs + 6 * kFrameUs);
}

TEST(TrafficRulesTest, AVehicleWhoseTrackIsRecreatedIsCountedOnce) {
  // Track 1 crosses and is lost just after; track 2 starts where the car went (its box where
  // track 1's would be now) and its measured anchors cross the line as well: one vehicle.
  TrafficRulesOptions options;
  options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});  // y = 90 px
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  for (int i = 0; i < 12; ++i) {
    const int64_t t_us = kStartUs + i * kFrameUs;
    const float y = 80.f + 5 * i;
    std::vector<Track> tracks, ended;
    if (i < 4) tracks.push_back(Car(1, {100, y}, {0, 50}));
    if (i == 4) ended.push_back(Car(1, {100, y}, {0, 50}));
    if (i >= 5) {
      // A fragment of the car (its lower half) whose first anchor was above the line.
      Track t2 = Car(2, {100, y}, {0, 50});
      t2.box = cv::Rect2f(92, y - 8, 16, 8);
      t2.trajectory = {{kStartUs + 5 * kFrameUs, {100, 88}}, {t_us, {100, y}}};
      tracks.push_back(t2);
    }
    for (const RuleEvent& e : rules->Process(tracks, ended, kSize, nullptr, t_us)) {
      all.push_back(e);
    }
  }
  const auto crossed = OfType(all, RuleEventType::kLineCrossed);
  ASSERT_EQ(crossed.size(), 1u);
  EXPECT_EQ(crossed[0].track_id, 1u);
}

TEST(TrafficRulesTest, AFragmentOfACountedVehicleIsNotCountedAgain) {
  // A bus (track 1) crosses; a piece of its roof tracked on its own (track 2, inside the bus's
  // box) crosses a little later. A car following the bus in its lane (track 3) counts.
  TrafficRulesOptions options;
  options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});  // y = 90 px
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  for (int i = 0; i < 30; ++i) {
    const int64_t t_us = kStartUs + i * kFrameUs;
    const float y = 70.f + 3 * i;  // the bus's anchor, 30 px/s down the image
    Track bus = Car(1, {100, y}, {0, 30});
    bus.box = cv::Rect2f(70, y - 40, 60, 40);
    Track roof = Car(2, {100, y - 22}, {0, 30});
    roof.box = cv::Rect2f(80, y - 40, 40, 18);
    Track follower = Car(3, {100, y - 50}, {0, 30});
    for (const RuleEvent& e : rules->Process({bus, roof, follower}, {}, kSize, nullptr, t_us)) {
      all.push_back(e);
    }
  }
  const auto crossed = OfType(all, RuleEventType::kLineCrossed);
  ASSERT_EQ(crossed.size(), 2u);
  EXPECT_EQ(crossed[0].track_id, 1u);
  EXPECT_EQ(crossed[1].track_id, 3u);
}

TEST(TrafficRulesTest, ACalibratedVehicleInTwoPiecesIsCountedOnceItsNeighboursAreNot) {
  // Calibrated, 0.1 m per pixel; line y = 90 px across the road, cars drive down at 10 m/s.
  // Track 1, a near car's bonnet, crosses; track 2, its roof (a box of its own 2 m above, not
  // overlapping), crosses where it did 0.2 s later: the same car. Track 3 beside track 1 in the
  // next lane (3.5 m across) and track 4 following it 12 m behind in its lane both count.
  const Calibration cal = TenCentimetresPerPixel();
  TrafficRulesOptions options;
  options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  for (int i = 0; i < 24; ++i) {
    const float y = 55.f + 10 * i;  // track 1's anchor: 100 px/s = 10 m/s
    std::vector<Track> tracks = {Car(1, {100, y}, {0, 100}), Car(2, {100, y - 20}, {0, 100}),
                                 Car(3, {135, y}, {0, 100}), Car(4, {100, y - 120}, {0, 100})};
    for (Track& t : tracks) {
      t.calibrated = true;
      t.velocity_mps = {0, 10};
      t.speed_kmh = 36;
    }
    for (const RuleEvent& e : rules->Process(tracks, {}, kSize, &cal, kStartUs + i * kFrameUs)) {
      all.push_back(e);
    }
  }
  std::vector<uint64_t> counted;
  for (const RuleEvent& e : OfType(all, RuleEventType::kLineCrossed)) counted.push_back(e.track_id);
  EXPECT_EQ(counted, (std::vector<uint64_t>{1, 3, 4}));
}

// Calibrated, 0.1 m per pixel; line y = 90 px; every track drives down at 10 m/s (100 px/s).
// Tracks given as a box at frame 0 that moves down at that speed; returns the tracks counted.
// `side_on`: the line is x = 160 px instead and the tracks drive right.
std::vector<uint64_t> CountedOf(const std::vector<std::pair<ObjectClass, cv::Rect2f>>& boxes,
                                bool side_on = false) {
  const Calibration cal = TenCentimetresPerPixel();
  TrafficRulesOptions options;
  if (side_on) {
    options.lines.push_back({"l", {0.5f, 0.f}, {0.5f, 1.f}});
  } else {
    options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});
  }
  auto rules = MakeRules(options);
  const cv::Point2f step = side_on ? cv::Point2f(10, 0) : cv::Point2f(0, 10);
  std::vector<uint64_t> counted;
  for (int i = 0; i < 24; ++i) {
    std::vector<Track> tracks;
    for (size_t k = 0; k < boxes.size(); ++k) {
      cv::Rect2f box = boxes[k].second;
      box.x += step.x * i;
      box.y += step.y * i;
      Track t = Car(k + 1, {box.x + box.width / 2, box.br().y}, step * 10);
      t.object_class = boxes[k].first;
      t.box = box;
      t.calibrated = true;
      t.velocity_mps = step;
      t.speed_kmh = 36;
      tracks.push_back(t);
    }
    for (const RuleEvent& e : rules->Process(tracks, {}, kSize, &cal, kStartUs + i * kFrameUs)) {
      if (e.type == RuleEventType::kLineCrossed) counted.push_back(e.track_id);
    }
  }
  return counted;
}

TEST(TrafficRulesTest, ATallVehiclesPiecesInOneColumnAreCountedOnce) {
  // A near truck in two pieces: its cab (track 1, 100 px wide) crosses; its trailer (track 2,
  // directly above the cab and 25 px to the side) crosses 0.3 s later, 2.5 m along the line from
  // where the cab did (a tall box's anchor lands beyond the vehicle and out to the side).
  EXPECT_EQ(CountedOf({{ObjectClass::kCar, {50, 25, 100, 30}},
                       {ObjectClass::kTruck, {75, -15, 100, 40}}}),
            (std::vector<uint64_t>{1}));
}

TEST(TrafficRulesTest, ACarBesideACountedOneAndTouchingItCounts) {
  // Track 2 crosses 0.2 s after track 1, 3 m along the line from it, its box touching track 1's
  // from behind but beside it (the next lane, not the same vehicle's column): two cars.
  EXPECT_EQ(
      CountedOf({{ObjectClass::kCar, {80, 40, 40, 15}}, {ObjectClass::kCar, {115, 20, 30, 15}}}),
      (std::vector<uint64_t>{1, 2}));
  // Seen from the side, the line runs down the picture: a car in the next lane 0.2 s behind
  // stands above the counted one (overlapping it across the picture, touching it), 3 m along
  // the line from it: still two cars.
  EXPECT_EQ(
      CountedOf({{ObjectClass::kCar, {90, 50, 50, 30}}, {ObjectClass::kCar, {80, 20, 50, 30}}},
                /*side_on=*/true),
      (std::vector<uint64_t>{1, 2}));
}

TEST(TrafficRulesTest, ATrucksFirstPieceClassedACarWithoutASpeedYetCountsTheTruckOnce) {
  // Calibrated, 0.1 m per pixel, a truck driving down at 20 m/s. Its first piece (track 1) is
  // classed a car and has no speed yet; its second (track 2, a truck at 20 m/s) crosses where it
  // did 0.5 s later: beyond a car's length at that speed (0.35 s), within a truck's (0.7 s).
  const Calibration cal = TenCentimetresPerPixel();
  TrafficRulesOptions options;
  options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  for (int i = 0; i < 16; ++i) {
    const float y = 55.f + 20 * i;  // track 1's anchor: 200 px/s = 20 m/s
    Track first = Car(1, {100, y}, {0, 200});
    first.calibrated = true;
    first.speed_kmh = -1;
    Track second = Car(2, {100, y - 100}, {0, 200});
    second.object_class = ObjectClass::kTruck;
    second.calibrated = true;
    second.velocity_mps = {0, 20};
    second.speed_kmh = 72;
    for (const RuleEvent& e :
         rules->Process({first, second}, {}, kSize, &cal, kStartUs + i * kFrameUs)) {
      all.push_back(e);
    }
  }
  const auto crossed = OfType(all, RuleEventType::kLineCrossed);
  ASSERT_EQ(crossed.size(), 1u);
  EXPECT_EQ(crossed[0].track_id, 1u);
}

TEST(TrafficRulesTest, AVehicleLostBeforeTheLineAndFoundBeyondItIsCounted) {
  // Track 1 is measured above the line, then lost (it ends). Track 2 starts beyond the line,
  // where track 1's car would be: it continues track 1, and the step between their measured
  // anchors crosses. Track 3, a car first seen beyond the line far from anyone, never crossed.
  TrafficRulesOptions options;
  options.lines.push_back({"l", {0.f, 0.5f}, {1.f, 0.5f}});  // y = 90 px
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  for (int i = 0; i < 12; ++i) {
    const int64_t t_us = kStartUs + i * kFrameUs;
    const float y = 70.f + 5 * i;
    std::vector<Track> tracks, ended;
    if (i < 3) tracks.push_back(Car(1, {100, y}, {0, 50}));
    if (i == 3) ended.push_back(Car(1, {100, y}, {0, 50}));
    if (i >= 6) {
      Track t2 = Car(2, {100, y}, {0, 50});
      t2.trajectory = {{kStartUs + 5 * kFrameUs, {100, 95}}, {t_us, {100, y}}};
      tracks.push_back(t2);
      tracks.push_back(Car(3, {250, 65.f + 5 * i}, {0, 50}));
    }
    for (const RuleEvent& e : rules->Process(tracks, ended, kSize, nullptr, t_us)) {
      all.push_back(e);
    }
  }
  const auto crossed = OfType(all, RuleEventType::kLineCrossed);
  ASSERT_EQ(crossed.size(), 1u);
  EXPECT_EQ(crossed[0].track_id, 2u);
  EXPECT_EQ(crossed[0].time_us, kStartUs + 6 * kFrameUs);
  EXPECT_EQ(crossed[0].anchor.y, 100);
}

TEST(TrafficRulesTest, ZoneEnterExitAndDwell) {
  TrafficRulesOptions options;
  options.zones.push_back(
      {"box", {{0.25f, 0.25f}, {0.75f, 0.25f}, {0.75f, 0.75f}, {0.25f, 0.75f}}});
  auto rules = MakeRules(options);
  std::vector<RuleEvent> all;
  // Track 1 crosses the zone left to right (x 80..240 is inside), 4 px per frame.
  // Track 2 enters and ends inside.
  int64_t t_us = kStartUs;
  for (int i = 0; i < 60; ++i, t_us += kFrameUs) {
    std::vector<Track> tracks = {Car(1, {40.f + 4 * i, 100})};
    std::vector<Track> ended;
    if (i < 30) tracks.push_back(Car(2, {160, 40.f + 3 * i}));
    if (i == 30) ended.push_back(Car(2, {160, 127}));
    for (const RuleEvent& e : rules->Process(tracks, ended, kSize, nullptr, t_us)) all.push_back(e);
  }
  const auto entered = OfType(all, RuleEventType::kZoneEntered);
  const auto left = OfType(all, RuleEventType::kZoneLeft);
  ASSERT_EQ(entered.size(), 2u);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(entered[0].track_id, 2u);  // y reaches 45 at i = 2
  EXPECT_EQ(entered[0].time_us, kStartUs + 2 * kFrameUs);
  EXPECT_EQ(entered[1].track_id, 1u);  // x reaches 80 at i = 10
  EXPECT_EQ(entered[1].time_us, kStartUs + 10 * kFrameUs);
  EXPECT_EQ(left[0].track_id, 2u);  // ended inside
  EXPECT_EQ(left[0].time_us, kStartUs + 30 * kFrameUs);
  EXPECT_NEAR(left[0].dwell_s, 2.8, 1e-3);
  EXPECT_EQ(left[1].track_id, 1u);  // x passes 240 at i = 51
  EXPECT_EQ(left[1].time_us, kStartUs + 51 * kFrameUs);
  EXPECT_NEAR(left[1].dwell_s, 4.1, 1e-3);
  EXPECT_TRUE(rules->ZonesOf(1).empty());
}

TEST(TrafficRulesTest, StoppedVehicleInNoParkingZoneFiresOnceAfterTheLimit) {
  TrafficRulesOptions options;
  Zone no_parking{"bus-stop", {{0.f, 0.5f}, {0.5f, 0.5f}, {0.5f, 1.f}, {0.f, 1.f}}};
  no_parking.no_parking = true;
  no_parking.max_stop_ms = 30000;
  options.zones.push_back(no_parking);
  options.zones.push_back({"free", {{0.5f, 0.5f}, {1.f, 0.5f}, {1.f, 1.f}, {0.5f, 1.f}}});
  auto rules = MakeRules(options);
  std::vector<RuleEvent> stopped;
  const int64_t stop_us = kStartUs + 50 * kFrameUs;
  for (int i = 0; i < 1000; ++i) {  // 100 s
    const int64_t t_us = kStartUs + i * kFrameUs;
    Track parked = Car(1, {80, 150});
    Track elsewhere = Car(2, {240, 150});  // stationary, but where parking is allowed
    Track person = Car(3, {60, 140});      // a person waiting in the no-parking zone
    person.object_class = ObjectClass::kPerson;
    for (Track* t : {&parked, &elsewhere, &person}) {
      t->stationary = t_us >= stop_us;
      t->stationary_since_us = stop_us;
    }
    for (const RuleEvent& e :
         rules->Process({parked, elsewhere, person}, {}, kSize, nullptr, t_us)) {
      if (e.type == RuleEventType::kVehicleStopped) stopped.push_back(e);
    }
  }
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].track_id, 1u);
  EXPECT_EQ(stopped[0].rule_id, "bus-stop");
  EXPECT_EQ(stopped[0].time_us, stop_us + 30'000'000);
  EXPECT_NEAR(stopped[0].dwell_s, 30, 1e-3);
  EXPECT_EQ(stopped[0].limit, 30);
}

TEST(TrafficRulesTest, WrongWayFiresAgainstTheLaneOnly) {
  TrafficRulesOptions options;
  Lane eastbound{"eastbound", {{0.f, 0.4f}, {1.f, 0.4f}, {1.f, 0.7f}, {0.f, 0.7f}}, {1.f, 0.f}};
  options.lanes.push_back(eastbound);
  options.wrong_way_frames = 10;
  auto rules = MakeRules(options);
  std::vector<RuleEvent> wrong;
  for (int i = 0; i < 60; ++i) {
    const Track with = Car(1, {20.f + 5 * i, 100}, {50, 0});
    const Track against = Car(2, {300.f - 5 * i, 115}, {-50, 0});
    for (const RuleEvent& e :
         rules->Process({with, against}, {}, kSize, nullptr, kStartUs + i * kFrameUs)) {
      if (e.type == RuleEventType::kWrongWay) wrong.push_back(e);
    }
  }
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0].track_id, 2u);
  EXPECT_EQ(wrong[0].rule_id, "eastbound");
  // Needs 10 frames and 8% of the diagonal (29 px at 5 px per frame): the 10th frame.
  EXPECT_EQ(wrong[0].time_us, kStartUs + 9 * kFrameUs);
  EXPECT_GE(wrong[0].distance, 29);
}

TEST(TrafficRulesTest, AWrongWayRunCountsInOneLane) {
  // Both lanes westbound; the car drives east in the lower one, then its box slips into the
  // upper one for three frames: one WrongWay (the lower lane), none for the upper lane's
  // three frames.
  TrafficRulesOptions options;
  options.lanes.push_back(
      {"upper", {{0.f, 0.3f}, {1.f, 0.3f}, {1.f, 0.6f}, {0.f, 0.6f}}, {-1.f, 0.f}});
  options.lanes.push_back(
      {"lower", {{0.f, 0.6f}, {1.f, 0.6f}, {1.f, 0.9f}, {0.f, 0.9f}}, {-1.f, 0.f}});
  options.wrong_way_frames = 10;
  auto rules = MakeRules(options);
  std::vector<RuleEvent> wrong;
  for (int i = 0; i < 23; ++i) {
    const float y = i < 20 ? 130.f : 100.f;
    for (const RuleEvent& e : rules->Process({Car(1, {20.f + 5 * i, y}, {50, 0})}, {}, kSize,
                                             nullptr, kStartUs + i * kFrameUs)) {
      if (e.type == RuleEventType::kWrongWay) wrong.push_back(e);
    }
  }
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0].rule_id, "lower");
}

TEST(TrafficRulesTest, ATrackThatDroveWithItsLaneDoesNotTurnIntoAWrongWayDriver) {
  // Track 1 drives east with its lane for 12 frames, then its box is seen moving west (the
  // track jumped onto an oncoming vehicle's blob): no WrongWay. Track 2 drives west from the
  // start: WrongWay.
  TrafficRulesOptions options;
  options.lanes.push_back(
      {"eastbound", {{0.f, 0.4f}, {1.f, 0.4f}, {1.f, 0.7f}, {0.f, 0.7f}}, {1.f, 0.f}});
  options.wrong_way_frames = 10;
  auto rules = MakeRules(options);
  std::vector<RuleEvent> wrong;
  float x1 = 40;
  for (int i = 0; i < 40; ++i) {
    x1 += i < 12 ? 5 : -5;
    const Track jumped = Car(1, {x1, 100}, {i < 12 ? 50.f : -50.f, 0});
    const Track against = Car(2, {300.f - 5 * i, 115}, {-50, 0});
    for (const RuleEvent& e :
         rules->Process({jumped, against}, {}, kSize, nullptr, kStartUs + i * kFrameUs)) {
      if (e.type == RuleEventType::kWrongWay) wrong.push_back(e);
    }
  }
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0].track_id, 2u);
}

TEST(TrafficRulesTest, ABlobGrowingAgainstTheLaneIsNoWrongWayDriver) {
  // Calibrated, 0.1 m per pixel. Track 1, a car 1.8 m wide, drives west in an eastbound lane:
  // WrongWay. Track 2 moves west as fast, but its real width grows 1.6x every third frame (a
  // blob swelling after an exposure step): its runs keep starting again, no WrongWay.
  const Calibration cal = TenCentimetresPerPixel();
  TrafficRulesOptions options;
  options.lanes.push_back(
      {"eastbound", {{0.f, 0.4f}, {1.f, 0.4f}, {1.f, 0.7f}, {0.f, 0.7f}}, {1.f, 0.f}});
  options.wrong_way_frames = 5;
  options.wrong_way_min_distance_m = 1;
  auto rules = MakeRules(options);
  std::vector<RuleEvent> wrong;
  for (int i = 0; i < 30; ++i) {
    Track car = Car(1, {300.f - 5 * i, 100}, {-50, 0});
    Track blob = Car(2, {300.f - 5 * i, 120}, {-50, 0});
    for (Track* t : {&car, &blob}) t->calibrated = true;
    car.size.width_m = 1.8f;
    blob.size.width_m = 1.8f * std::pow(1.6f, static_cast<float>(i / 3));
    for (const RuleEvent& e :
         rules->Process({car, blob}, {}, kSize, &cal, kStartUs + i * kFrameUs)) {
      if (e.type == RuleEventType::kWrongWay) wrong.push_back(e);
    }
  }
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0].track_id, 1u);
  EXPECT_NEAR(wrong[0].distance, 2.0, 0.01);  // metres: four steps of 5 px at 0.1 m per px
}

TEST(TrafficRulesTest, CoastingTrackNeverDrivesTheWrongWay) {
  // A track the detector no longer sees moves by extrapolation only (a healed ghost drifting
  // on its last velocity): no evidence of a wrong-way driver, however far it drifts.
  TrafficRulesOptions options;
  options.lanes.push_back(
      {"eastbound", {{0.f, 0.4f}, {1.f, 0.4f}, {1.f, 0.7f}, {0.f, 0.7f}}, {1.f, 0.f}});
  options.wrong_way_frames = 5;
  auto rules = MakeRules(options);
  int wrong = 0;
  for (int i = 0; i < 40; ++i) {
    Track coasting = Car(2, {300.f - 5 * i, 115}, {-50, 0});
    coasting.matched = i < 2;  // seen twice, then only predicted
    for (const RuleEvent& e :
         rules->Process({coasting}, {}, kSize, nullptr, kStartUs + i * kFrameUs)) {
      wrong += e.type == RuleEventType::kWrongWay;
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST(TrafficRulesTest, ATrackMatchedOnlyToItsPredictionInAMergedBlobNeverDrivesTheWrongWay) {
  // In a queue the tracker keeps a track alive on its own predicted box cut from the merged
  // blob (Track::matched_prediction): a degenerate prediction drifting through the queue is no
  // evidence of anyone driving against the lane.
  TrafficRulesOptions options;
  options.lanes.push_back(
      {"eastbound", {{0.f, 0.4f}, {1.f, 0.4f}, {1.f, 0.7f}, {0.f, 0.7f}}, {1.f, 0.f}});
  options.wrong_way_frames = 5;
  auto rules = MakeRules(options);
  int wrong = 0;
  for (int i = 0; i < 40; ++i) {
    Track merged = Car(2, {300.f - 5 * i, 115}, {-50, 0});
    merged.matched_prediction = i >= 2;  // measured twice, then only its cut-out prediction
    for (const RuleEvent& e :
         rules->Process({merged}, {}, kSize, nullptr, kStartUs + i * kFrameUs)) {
      wrong += e.type == RuleEventType::kWrongWay;
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST(TrafficRulesTest, SpeedingFiresOnceAfterARunAboveTheLimit) {
  TrafficRulesOptions options;
  options.speed_limit_kmh = 50;
  auto rules = MakeRules(options);
  std::vector<RuleEvent> speeding;
  const float speeds[] = {45, 62, 48, 61, 63, 64, 66, 70, 65};
  for (int i = 0; i < 9; ++i) {
    Track t = Car(1, {100.f + 5 * i, 100}, {50, 0});
    t.calibrated = true;
    t.speed_kmh = speeds[i];
    Track slow = Car(2, {100.f + 5 * i, 150}, {50, 0});
    slow.calibrated = true;
    slow.speed_kmh = 40;
    for (const RuleEvent& e :
         rules->Process({t, slow}, {}, kSize, nullptr, kStartUs + i * kFrameUs)) {
      if (e.type == RuleEventType::kSpeeding) speeding.push_back(e);
    }
  }
  ASSERT_EQ(speeding.size(), 1u);
  EXPECT_EQ(speeding[0].track_id, 1u);
  EXPECT_EQ(speeding[0].time_us, kStartUs + 5 * kFrameUs);  // 61, 63, 64
  EXPECT_EQ(speeding[0].speed_kmh, 64);
  EXPECT_EQ(speeding[0].limit, 50);
}

TEST(TrafficRulesTest, TrafficStatsPerLanePerInterval) {
  TrafficRulesOptions options;
  options.lanes.push_back({"north", {{0.f, 0.f}, {1.f, 0.f}, {1.f, 0.5f}, {0.f, 0.5f}}, {}});
  options.lanes.push_back({"south", {{0.f, 0.5f}, {1.f, 0.5f}, {1.f, 1.f}, {0.f, 1.f}}, {}});
  options.stats_interval_ms = 60000;
  auto rules = MakeRules(options);
  std::vector<RuleEvent> stats;
  // North: three cars enter at 10 s, 20 s, 30 s and each stays 5 s; a fourth parks from 40 s.
  for (int i = 0; i <= 600; ++i) {
    const int64_t t_us = kStartUs + i * kFrameUs;
    const double s = i * 0.1;
    std::vector<Track> tracks;
    for (int k = 0; k < 3; ++k) {
      const double since = s - 10 * (k + 1);
      if (since >= 0 && since < 5) {
        Track t = Car(k + 1, {static_cast<float>(10 + 60 * since), 60}, {60, 0});
        t.calibrated = true;
        t.speed_kmh = 30.f + 10 * k;
        tracks.push_back(t);
      }
    }
    if (s >= 40) {
      Track parked = Car(9, {200, 40});
      parked.stationary = true;
      parked.calibrated = true;
      tracks.push_back(parked);
    }
    for (const RuleEvent& e : rules->Process(tracks, {}, kSize, nullptr, t_us)) {
      if (e.type == RuleEventType::kTrafficStats) stats.push_back(e);
    }
  }
  ASSERT_EQ(stats.size(), 2u);
  const LaneStats& north = stats[0].stats;
  EXPECT_EQ(stats[0].rule_id, "north");
  EXPECT_EQ(north.interval_start_us, kStartUs);
  EXPECT_EQ(north.interval_end_us, kStartUs + 60'000'000);
  EXPECT_EQ(north.count, 4);
  EXPECT_NEAR(north.mean_speed_kmh, 40, 0.5);
  EXPECT_NEAR(north.mean_headway_s, 10, 1e-3);
  EXPECT_NEAR(north.occupancy, (15 + 20) / 60.0, 0.01);
  EXPECT_EQ(north.queue_length, 1);
  EXPECT_EQ(stats[1].rule_id, "south");
  EXPECT_EQ(stats[1].stats.count, 0);
  EXPECT_EQ(stats[1].stats.mean_speed_kmh, -1);
  EXPECT_EQ(stats[1].stats.occupancy, 0);
}

TEST(TrafficRulesTest, RejectsBadConfig) {
  TrafficRulesOptions options;
  options.zones.push_back({"a", {{0.f, 0.f}, {1.f, 0.f}}});
  auto r = TrafficRules::Create(options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rules.zones[0].polygon"), std::string::npos);
  options.zones.clear();
  options.lines.push_back({"x", {0.f, 0.f}, {1.f, 1.f}});
  options.lines.push_back({"x", {0.f, 1.f}, {1.f, 0.f}});
  r = TrafficRules::Create(options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("duplicate id 'x'"), std::string::npos);
}

}  // namespace
}  // namespace skynet::analytics
