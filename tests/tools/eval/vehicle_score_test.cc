// The vehicle scorer on small hand-made truths and predictions whose scores are known exactly,
// and its loaders on real files (scenegen truth keys, analyze's events and --tracks lines).
#include "tools/eval/vehicle_score.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/temp_dir.h"

namespace skynet::eval {
namespace {

using testing::TempDir;

// A truth at 10 fps, 640x360, `frames` frames long.
VehicleTruth Truth(int frames) {
  VehicleTruth t;
  t.fps = 10;
  t.width = 640;
  t.height = 360;
  t.frames.resize(frames);
  t.duration = frames / 10.0;
  return t;
}

// One analysed frame at time `t` with the detect size half the truth's.
PredictedFrame At(double t, std::vector<PredictedTrack> tracks) {
  return {t, 320, 180, std::move(tracks)};
}
PredictedTrack Tr(uint64_t id, cv::Rect2d box_at_320, const std::string& cls = "car") {
  return {id, cls, box_at_320, true, true};
}
PredictedEvent Ev(double t, const std::string& where, int direction = 0, double speed = -1) {
  return {t, where, 1, direction, speed};
}

TEST(VehicleScoreTest, CrossingsMatchOneToOneWithinASecondInTheSameDirection) {
  VehicleTruth truth = Truth(200);
  truth.crossings = {{"count", 1, 3.0, 1}, {"count", 2, 6.0, -1}, {"count", 3, 9.0, 1}};
  VehicleEvents ev;
  ev.crossings = {Ev(3.4, "count", 1),   // hit
                  Ev(3.5, "count", 1),   // a second report of the same crossing: false
                  Ev(6.2, "count", 1),   // wrong direction: false; truth 2 missed
                  Ev(10.5, "count", 1),  // 1.5 s late: false; truth 3 missed
                  Ev(9.0, "other", 1)};  // another line
  const VehicleScore s = ScoreVehicles(truth, {}, ev);
  EXPECT_EQ(s.truth_crossings, 3);
  EXPECT_EQ(s.reported_crossings, 5);
  EXPECT_EQ(s.matched_crossings, 1);
  EXPECT_DOUBLE_EQ(s.count_precision, 1.0 / 5);
  EXPECT_DOUBLE_EQ(s.count_recall, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.count_f1, 2 * (0.2 / 3) / (0.2 + 1.0 / 3));
}

TEST(VehicleScoreTest, WarmUpAndTheTimeAfterTheLastFrameAreNotScored) {
  VehicleTruth truth = Truth(100);
  // At 1 s: still the detector's warm-up. At 9.95 s: after the last analysed frame (9.8 s).
  truth.crossings = {{"count", 1, 1.0, 1}, {"count", 2, 5.0, 1}, {"count", 3, 9.95, 1}};
  VehicleEvents ev;
  ev.crossings = {Ev(0.8, "count", 1), Ev(5.2, "count", 1)};
  const VehicleScore s = ScoreVehicles(truth, {At(9.8, {})}, ev);
  EXPECT_EQ(s.truth_crossings, 1);
  EXPECT_EQ(s.reported_crossings, 1);
  EXPECT_EQ(s.matched_crossings, 1);
  EXPECT_DOUBLE_EQ(s.count_f1, 1.0);
}

TEST(VehicleScoreTest, SpeedErrorUsesTheTruthAtTheCrossingFrame) {
  VehicleTruth truth = Truth(100);
  truth.frames[30].push_back({1, "car", {0, 0, 10, 10}, 1, 40});
  truth.frames[60].push_back({2, "car", {0, 0, 10, 10}, 1, 50});
  truth.crossings = {{"count", 1, 3.0, 1}, {"count", 2, 6.0, 1}};
  VehicleEvents ev;
  ev.crossings = {Ev(3.1, "count", 1, 44), Ev(6.1, "count", 1, 49)};
  const VehicleScore s = ScoreVehicles(truth, {}, ev);
  EXPECT_EQ(s.speeds, 2);
  EXPECT_NEAR(s.speed_mean_error, (0.10 + 0.02) / 2, 1e-9);
  EXPECT_NEAR(s.speed_max_error, 0.10, 1e-9);
  EXPECT_DOUBLE_EQ(s.speed_within_10, 1.0);
}

TEST(VehicleScoreTest, BoxesAndIdentitiesFollowClearMot) {
  VehicleTruth truth = Truth(10);
  for (int i = 0; i < 4; ++i) truth.frames[2 * i].push_back({7, "car", {100, 100, 60, 30}});
  // Frame 0: hit by track 1. Frame 2: hit by track 1 and a false track elsewhere. Frame 4: only
  // track 2 on it: an identity switch. Frame 6: missed (the track is coasting: not reported).
  const std::vector<PredictedFrame> pred = {
      At(0.0, {Tr(1, {50, 50, 30, 15})}),
      At(0.2, {Tr(1, {51, 50, 30, 15}), Tr(9, {200, 20, 20, 10})}),
      At(0.4, {Tr(2, {50, 50, 30, 15})}),
      At(0.6, {{2, "car", {50, 50, 30, 15}, true, false}}),
  };
  const VehicleScore s = ScoreVehicles(truth, pred, {}, {.warmup_s = 0});
  EXPECT_EQ(s.frames, 4);
  EXPECT_EQ(s.truth_boxes, 4);
  EXPECT_EQ(s.true_positives, 3);
  EXPECT_EQ(s.false_positives, 1);
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.id_switches, 1);
  EXPECT_DOUBLE_EQ(s.mota, 1.0 - 3.0 / 4);
  EXPECT_DOUBLE_EQ(s.box_precision, 3.0 / 4);
  EXPECT_DOUBLE_EQ(s.box_recall, 3.0 / 4);
}

TEST(VehicleScoreTest, PersonsAndHiddenVehiclesAreDontCare) {
  VehicleTruth truth = Truth(2);
  truth.frames[0].push_back({1, "person", {100, 100, 20, 60}});
  truth.frames[0].push_back({2, "car", {300, 100, 60, 30}, 0.3});  // mostly hidden
  const std::vector<PredictedFrame> pred = {
      At(0.0, {Tr(1, {50, 50, 10, 30}), Tr(2, {150, 50, 30, 15}), Tr(3, {0, 0, 10, 10})})};
  const VehicleScore s = ScoreVehicles(truth, pred, {}, {.warmup_s = 0});
  EXPECT_EQ(s.truth_boxes, 0);
  EXPECT_EQ(s.false_positives, 1);  // only the track on nothing
  EXPECT_EQ(s.misses, 0);
}

TEST(VehicleScoreTest, ATrackOnTheVisiblePartOfAHiddenVehicleIsDontCare) {
  VehicleTruth truth = Truth(2);
  // 60x40 at 640x360, the lower 70 % hidden: its visible top is 60x12.
  truth.frames[0].push_back({2, "car", {300, 100, 60, 40}, 0.3});
  truth.frames[0].push_back({3, "person", {500, 100, 20, 60}});
  const std::vector<PredictedFrame> pred = {At(
      0.0, {
               Tr(1, {150, 50, 30, 6}),   // the visible top: IoU 0.3, all of it inside: don't care
               Tr(2, {170, 50, 30, 20}),  // two thirds outside the hidden car: a false positive
               Tr(3, {245, 45, 30, 30}),  // a box around the pedestrian, mostly outside it: false
           })};
  const VehicleScore s = ScoreVehicles(truth, pred, {}, {.warmup_s = 0});
  EXPECT_EQ(s.false_positives, 2);
}

TEST(VehicleScoreTest, LongStopsMustAlarmShortOnesMustNot) {
  VehicleTruth truth = Truth(1000);
  truth.zone_max_stop_s["no-parking"] = 20;
  truth.stops = {{1, "no-parking", 10, 50}, {2, "no-parking", 60, 66}};
  VehicleEvents ev;
  ev.stops = {Ev(30.2, "no-parking"), Ev(31.0, "no-parking"), Ev(64.0, "no-parking")};
  const VehicleScore s = ScoreVehicles(truth, {}, ev);
  EXPECT_EQ(s.stops_expected, 1);
  EXPECT_EQ(s.stops_caught, 1);
  EXPECT_EQ(s.stop_duplicates, 1);
  EXPECT_EQ(s.stop_false_alarms, 1);
}

TEST(VehicleScoreTest, WrongWayMustAlarmInItsLaneOnly) {
  VehicleTruth truth = Truth(1000);
  truth.wrong_way = {{5, "eastbound", 15, 22}, {6, "eastbound", 60, 67}};
  VehicleEvents ev;
  ev.wrong_way = {Ev(17, "eastbound"), Ev(40, "eastbound"), Ev(62, "westbound")};
  const VehicleScore s = ScoreVehicles(truth, {}, ev);
  EXPECT_EQ(s.wrong_way_expected, 2);
  EXPECT_EQ(s.wrong_way_caught, 1);
  EXPECT_EQ(s.wrong_way_false_alarms, 2);
}

TEST(VehicleScoreTest, ClassesOfHitsByGroupAndColoursOfTracks) {
  VehicleTruth truth = Truth(10);
  for (int i = 0; i < 4; ++i) {
    truth.frames[2 * i].push_back({1, "car", {100, 100, 60, 30}, 1, -1, -1, "white"});
    truth.frames[2 * i].push_back({2, "bicycle", {400, 100, 20, 40}});
    truth.frames[2 * i].push_back({3, "bus", {200, 200, 120, 60}, 1, -1, -1, "red"});
  }
  // Track 5 on the white car (reported silver), track 6 on the cyclist (a bicycle twice, a
  // person never: persons are not reported as vehicles), track 7 on the bus (a truck: the same
  // group; no colour reported).
  std::vector<PredictedFrame> pred;
  for (int i = 0; i < 4; ++i) {
    pred.push_back(
        At(0.2 * i, {Tr(5, {50, 50, 30, 15}), Tr(6, {200, 50, 10, 20}, i < 2 ? "bicycle" : "car"),
                     Tr(7, {100, 100, 60, 30}, "truck")}));
  }
  VehicleEvents ev;
  ev.track_colours = {{5, "silver"}, {6, "blue"}};
  const VehicleScore s = ScoreVehicles(truth, pred, ev, {.warmup_s = 0});
  EXPECT_EQ(s.class_boxes, 12);
  EXPECT_EQ(s.class_hits, 10);  // the cyclist as a car twice
  EXPECT_EQ(s.two_wheeler_boxes, 4);
  EXPECT_EQ(s.two_wheeler_hits, 2);
  EXPECT_DOUBLE_EQ(s.two_wheeler_recall, 0.5);
  EXPECT_EQ(s.colour_tracks, 2);  // the cyclist has no colour in the truth
  EXPECT_EQ(s.colour_hits, 0);
  EXPECT_EQ(s.colour_unknown, 1);
  EXPECT_EQ(s.colour_confusion.at("white").at("silver"), 1);
  EXPECT_EQ(s.colour_confusion.at("red").at("unknown"), 1);
}

TEST(VehicleScoreTest, LoadsTruthEventsAndTracksFiles) {
  TempDir dir;
  std::ofstream(dir.File("t.json")) << R"({"fps": 10, "width": 640, "height": 360, "duration": 0.2,
             "frames": [{"i": 0, "t": 0, "moving_outside_masks": true, "objects": [
                          {"id": 4, "class": "car", "box": [1, 2, 30, 20], "visible": 0.75,
                           "speed_kmh": 36.5, "colour": "black"}]},
                        {"i": 1, "t": 0.1, "moving_outside_masks": false, "objects": []}],
             "crossings": [{"line": "count", "id": 4, "class": "car", "t": 0.05, "direction": -1},
                           {"line": "count", "id": 9, "class": "person", "t": 0.1, "direction": 1}],
             "zones": [{"id": "z", "polygon": [[0,0],[1,0],[1,1]], "no_parking": true,
                        "max_stop_ms": 20000}],
             "stops": [{"id": 4, "zone": "z", "begin": 0, "end": 0.2}],
             "wrong_way": [{"id": 4, "lane": "east", "begin": 0, "end": 0.2}]})";
  auto truth = LoadVehicleTruth(dir.File("t.json"));
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  ASSERT_EQ(truth->frames.size(), 2u);
  ASSERT_EQ(truth->frames[0].size(), 1u);
  EXPECT_DOUBLE_EQ(truth->frames[0][0].visible, 0.75);
  EXPECT_DOUBLE_EQ(truth->frames[0][0].speed_kmh, 36.5);
  EXPECT_EQ(truth->frames[0][0].colour, "black");
  ASSERT_EQ(truth->crossings.size(), 1u);  // persons do not count
  EXPECT_EQ(truth->crossings[0].direction, -1);
  EXPECT_DOUBLE_EQ(truth->zone_max_stop_s.at("z"), 20);
  EXPECT_EQ(truth->stops.size(), 1u);
  EXPECT_EQ(truth->wrong_way[0].where, "east");

  std::ofstream(dir.File("e.jsonl"))
      << R"({"seq":"1","streamTimeUs":"1500000","lineCrossed":{"lineId":"count","trackId":"3","direction":1,"speedKmh":41.5}})"
      << "\n"
      << R"({"seq":"2","streamTimeUs":"2000000","vehicleStopped":{"zoneId":"z","trackId":"3"}})"
      << "\n"
      << R"({"seq":"3","streamTimeUs":"2500000","wrongWay":{"laneId":"east","trackId":"4"}})"
      << "\n"
      << R"({"seq":"4","streamTimeUs":"2500000","motionStarted":{"motionId":"1"}})"
      << "\n"
      << R"({"seq":"5","streamTimeUs":"2500000","vehicleNew":{"track":{"trackId":"3"}}})"
      << "\n"
      << R"({"seq":"6","streamTimeUs":"2600000","vehicleUpdated":{"track":{"trackId":"3","colour":"VEHICLE_COLOUR_BLUE"}}})"
      << "\n";
  auto ev = LoadVehicleEvents(dir.File("e.jsonl"));
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  ASSERT_EQ(ev->crossings.size(), 1u);
  EXPECT_DOUBLE_EQ(ev->crossings[0].t, 1.5);
  EXPECT_EQ(ev->crossings[0].track_id, 3u);
  EXPECT_DOUBLE_EQ(ev->crossings[0].speed_kmh, 41.5);
  EXPECT_EQ(ev->stops.size(), 1u);
  EXPECT_EQ(ev->wrong_way[0].where, "east");
  EXPECT_EQ(ev->track_colours.at(3), "blue");  // the last event's

  std::ofstream(dir.File("k.jsonl"))
      << R"({"frame":0,"t":0.2,"width":320,"height":180,"tracks":[{"id":3,"class":"car","box":[1.5,2,30,20],"confirmed":true,"matched":false,"stationary":false,"speed_kmh":-1}]})"
      << "\n";
  auto tracks = LoadPredictedTracks(dir.File("k.jsonl"));
  ASSERT_TRUE(tracks.ok()) << tracks.status().message();
  ASSERT_EQ(tracks->size(), 1u);
  EXPECT_EQ((*tracks)[0].width, 320);
  EXPECT_FALSE((*tracks)[0].tracks[0].matched);
  EXPECT_DOUBLE_EQ((*tracks)[0].tracks[0].box.x, 1.5);
}

TEST(VehicleScoreTest, BoxRecallByDistanceBandAndBeyondIsNotAnalysed) {
  VehicleTruth truth = Truth(2);
  // One car per band, and one at 150 m; only the 10 m and the 70 m cars are found.
  const double distances[] = {10, 30, 50, 70, 150};
  for (int i = 0; i < 5; ++i) {
    TruthObject o{i + 1, "car", {100.0 * i, 100, 40, 20}, 1, 40};
    o.distance_m = distances[i];
    truth.frames[0].push_back(o);
  }
  const std::vector<PredictedFrame> pred = {At(0.0, {Tr(1, {0, 50, 20, 10}),       // 10 m: hit
                                                     Tr(4, {150, 50, 20, 10}),     // 70 m: hit
                                                     Tr(5, {200, 50, 20, 10})})};  // 150 m: n/a
  const VehicleScore s = ScoreVehicles(truth, pred, {}, {.warmup_s = 0});
  ASSERT_TRUE(s.has_distances);
  EXPECT_EQ(s.band_boxes[0], 1);
  EXPECT_EQ(s.band_hits[0], 1);
  EXPECT_EQ(s.band_boxes[1], 1);
  EXPECT_EQ(s.band_hits[1], 0);
  EXPECT_EQ(s.band_boxes[2], 1);
  EXPECT_EQ(s.band_boxes[3], 1);
  EXPECT_EQ(s.band_hits[3], 1);
  EXPECT_DOUBLE_EQ(s.BandRecall(0, 3), 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.BandRecall(3, 4), 1.0);
  // The car beyond 100 m is neither a miss nor, found, a false positive.
  EXPECT_EQ(s.not_analysed, 1);
  EXPECT_EQ(s.truth_boxes, 4);
  EXPECT_EQ(s.misses, 2);
  EXPECT_EQ(s.false_positives, 0);
  // Side-on truths carry no distances: no bands.
  VehicleTruth side = Truth(2);
  side.frames[0].push_back({1, "car", {0, 100, 40, 20}});
  EXPECT_FALSE(ScoreVehicles(side, pred, {}, {.warmup_s = 0}).has_distances);
}

TEST(VehicleScoreTest, AVehicleCountedAgainByAnotherTrackIsADoubleCount) {
  VehicleTruth truth = Truth(100);
  // Car 1 (a bus, say) at frame 30; car 2 alone at frame 60.
  truth.frames[30].push_back({1, "bus", {100, 100, 200, 100}});
  truth.frames[60].push_back({2, "car", {400, 100, 60, 30}});
  truth.crossings = {{"count", 1, 3.0, 1}, {"count", 2, 6.0, 1}};
  VehicleEvents ev;
  ev.crossings = {{3.0, "count", 11, 1, -1},   // the bus's front: matched
                  {3.2, "count", 12, 1, -1},   // its rear, a second track on the bus: double
                  {3.4, "count", 13, 1, -1},   // a track on nothing near the bus: false, not double
                  {6.1, "count", 21, 1, -1},   // car 2: matched
                  {6.3, "count", 22, 1, -1}};  // no track box known: double by time alone
  const std::vector<PredictedFrame> pred = {
      At(3.0, {Tr(11, {60, 50, 30, 50}), Tr(12, {120, 55, 25, 40}), Tr(13, {250, 10, 20, 10})}),
      At(6.9, {})};  // the last analysed frame: crossings up to here are scored
  const VehicleScore s = ScoreVehicles(truth, pred, ev, {.warmup_s = 0});
  EXPECT_EQ(s.matched_crossings, 2);
  EXPECT_EQ(s.double_counts, 2);
  EXPECT_DOUBLE_EQ(s.double_count_share, 1.0);
  // A missed vehicle cannot be counted twice: an extra report near it is a false count.
  VehicleEvents lone;
  lone.crossings = {{3.2, "count", 12, 1, -1}, {6.1, "count", 21, 1, -1}};
  EXPECT_EQ(ScoreVehicles(truth, pred, lone, {.warmup_s = 0}).double_counts, 0);
}

TEST(VehicleScoreTest, ACountOnOneVehicleDoesNotStandInForAnotherMissed) {
  VehicleTruth truth = Truth(100);
  // A truck counted twice (its cab, track 11, and its trailer, track 12) while a car beside it
  // (vehicle 2) crossing 0.3 s later is missed.
  truth.frames[30].push_back({1, "truck", {100, 100, 120, 160}});
  truth.frames[30].push_back({2, "car", {300, 200, 80, 60}});
  truth.frames[34].push_back({1, "truck", {100, 110, 120, 160}});
  truth.frames[34].push_back({2, "car", {300, 210, 80, 60}});
  truth.crossings = {{"count", 1, 3.0, 1}, {"count", 2, 3.3, 1}};
  VehicleEvents ev;
  ev.crossings = {{3.0, "count", 11, 1, -1}, {3.4, "count", 12, 1, -1}};
  const std::vector<PredictedFrame> pred = {At(3.0, {Tr(11, {50, 90, 60, 40})}),
                                            At(3.4, {Tr(12, {50, 55, 60, 40})}), At(6.9, {})};
  const VehicleScore s = ScoreVehicles(truth, pred, ev, {.warmup_s = 0});
  EXPECT_EQ(s.matched_crossings, 1);
  EXPECT_EQ(s.double_counts, 1);
  EXPECT_DOUBLE_EQ(s.count_recall, 0.5);
  // By time alone (--crossings-by-time) the trailer's count stands in for the car.
  const VehicleScore by_time =
      ScoreVehicles(truth, pred, ev, {.warmup_s = 0, .crossing_on_vehicle = false});
  EXPECT_EQ(by_time.matched_crossings, 2);
  EXPECT_EQ(by_time.double_counts, 0);
}

TEST(VehicleScoreTest, LoadsDistancesAndTwoWheelersFromTheTruth) {
  TempDir dir;
  std::ofstream(dir.File("t.json"))
      << R"({"fps": 25, "width": 1280, "height": 720, "duration": 0.04,
             "frames": [{"i": 0, "t": 0, "objects": [
                          {"id": 4, "class": "motorcycle", "box": [1, 2, 30, 20], "visible": 1,
                           "speed_kmh": 45, "distance_m": 63.5, "ground": [1.75, 63]}]}],
             "crossings": [{"line": "count", "id": 4, "class": "motorcycle", "t": 0.02,
                            "direction": 1}]})";
  auto truth = LoadVehicleTruth(dir.File("t.json"));
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  EXPECT_DOUBLE_EQ(truth->frames[0][0].distance_m, 63.5);
  EXPECT_EQ(truth->crossings.size(), 1u);  // motorcycles are counted
}

TEST(VehicleScoreTest, ATrackStandingBeyondTheScoredRoadIsNoFalsePositive) {
  // A 640x360 view whose row 342 is the road 10 m from the camera and row 216 the road 120 m
  // away (the truth's calibration; the camera stands at x = 0).
  TempDir dir;
  std::ofstream(dir.File("t.json")) << R"({"fps": 10, "width": 640, "height": 360, "duration": 0.2,
             "calibration": {"image_points": [[0.2, 0.6], [0.8, 0.6], [0.8, 0.95], [0.2, 0.95]],
                             "ground_points": [[-10, 120], [10, 120], [2, 10], [-2, 10]]},
             "camera": {"x_m": 0, "height_m": 8},
             "frames": [{"i": 0, "t": 0, "objects": []}]})";
  auto truth = LoadVehicleTruth(dir.File("t.json"));
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  ASSERT_TRUE(truth->image_to_ground.has_value());
  // Boxes (at 320x180) standing on row 342 (10 m), on row 216 (120 m) and high in the sky.
  const std::vector<PredictedFrame> pred = {
      At(0.0, {Tr(1, {150, 151, 20, 20}), Tr(2, {150, 98, 10, 10}), Tr(3, {150, 2, 10, 10})})};
  EXPECT_EQ(ScoreVehicles(*truth, pred, {}, {.warmup_s = 0}).false_positives, 1);
  // Scored farther, the 120 m one counts too.
  EXPECT_EQ(ScoreVehicles(*truth, pred, {}, {.warmup_s = 0, .max_distance_m = 150}).false_positives,
            2);
}

TEST(VehicleScoreTest, MalformedLinesNameTheFileAndLine) {
  TempDir dir;
  std::ofstream(dir.File("k.jsonl")) << R"({"frame":0,"t":0,"width":320,"height":180,"tracks":[]})"
                                     << "\n{not json\n";
  auto tracks = LoadPredictedTracks(dir.File("k.jsonl"));
  ASSERT_FALSE(tracks.ok());
  EXPECT_NE(tracks.status().message().find("k.jsonl:2:"), std::string::npos)
      << tracks.status().message();
  auto missing = LoadVehicleTruth(dir.File("absent.json"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("absent.json"), std::string::npos);
}

}  // namespace
}  // namespace skynet::eval
