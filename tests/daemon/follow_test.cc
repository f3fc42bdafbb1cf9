// Following a vehicle across cameras: the camera map (neighbours, positions), the pure ranking,
// and Follow() on a real SQLite record store in a temp dir.
#include "daemon/follow.h"

#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace skynet::daemon {
namespace {

using testing::TempDir;

constexpr int64_t kT0 = 1'800'000'000'000'000;  // some time in 2027
constexpr int64_t kS = 1'000'000;

// A histogram with its mass in bin `a` (and a share in bin `b`).
std::vector<float> Histogram(int a, int b = -1, float share = 0) {
  std::vector<float> h(analytics::kColourHistogramBins, 0.f);
  h[a] = 1 - share;
  if (b >= 0) h[b] += share;
  return h;
}

StoredRecord Sighting(const std::string& camera, uint64_t track, int64_t cross_us,
                      v1::VehicleClass cls, v1::VehicleColour colour, std::vector<float> hist,
                      float length_m) {
  StoredRecord s;
  s.node_id = "node-1";
  s.camera_id = camera;
  v1::VehicleRecord& r = s.record;
  r.set_track_id(track);
  r.set_first_seen_us(cross_us - 3 * kS);
  r.set_last_seen_us(cross_us + 3 * kS);
  r.set_vehicle_class(cls);
  r.set_colour(colour);
  for (float x : hist) r.add_colour_histogram(x);
  r.set_calibrated(true);
  r.mutable_size()->set_length_m(length_m);
  r.mutable_size()->set_width_m(1.8f);
  v1::RecordCrossing* c = r.add_crossings();
  c->set_line_id("count");
  c->set_direction(1);
  c->set_time_us(cross_us);
  return s;
}

std::vector<CameraConfig> Road() {
  std::vector<CameraConfig> cams(3);
  cams[0].id = "a";
  cams[1].id = "b";
  cams[2].id = "c";
  cams[0].neighbours = {{"b", 30}};
  cams[1].neighbours = {{"c", 40}};
  return cams;
}

TEST(CameraMapTest, NeighboursBothWaysAndAlongThePath) {
  const CameraMap map = CameraMap::From(Road());
  EXPECT_DOUBLE_EQ(map.Between("a", "b").seconds, 30);
  EXPECT_DOUBLE_EQ(map.Between("b", "a").seconds, 30);
  EXPECT_DOUBLE_EQ(map.Between("a", "c").seconds, 70);
  EXPECT_STREQ(map.Between("c", "a").source, "neighbours");
  EXPECT_EQ(map.Between("a", "x").seconds, 0);
}

TEST(CameraMapTest, PositionsGiveTravelAtRoadSpeeds) {
  std::vector<CameraConfig> cams(2);
  cams[0].id = "a";
  cams[1].id = "b";
  cams[0].position = GeoPosition{.lat = 31.0, .lon = 121.0};
  cams[1].position = GeoPosition{.lat = 31.009, .lon = 121.0};  // about 1 km north
  const double m = DistanceMetres(*cams[0].position, *cams[1].position);
  EXPECT_NEAR(m, 1000.8, 2);
  const CameraMap::Travel t = CameraMap::From(cams).Between("a", "b");
  EXPECT_STREQ(t.source, "positions");
  EXPECT_NEAR(t.seconds, m * 1.3 / (50 / 3.6), 0.1);
  EXPECT_NEAR(t.min_s, m / (150 / 3.6), 0.1);
  EXPECT_NEAR(t.max_s, m * 1.3 / (5 / 3.6), 0.1);
}

// Three candidates after a white car on camera a: a white car on b at the typical time (the
// true one), a red car on b at the same time, a white car on b far too late; one of a's own
// later tracks and an earlier sighting are not candidates.
TEST(FollowRankTest, AppearanceAndTravelTimeRankTheTrueSightingFirst) {
  const CameraMap map = CameraMap::From(Road());
  const StoredRecord car = Sighting("a", 1, kT0, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
                                    Histogram(11, 10, 0.2f), 4.5f);
  const std::vector<StoredRecord> others = {
      Sighting("b", 7, kT0 + 33 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_RED, Histogram(0),
               4.5f),
      Sighting("b", 8, kT0 + 31 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11, 10, 0.3f), 4.7f),
      Sighting("b", 9, kT0 + 150 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11, 10, 0.2f), 4.5f),
      Sighting("a", 2, kT0 + 30 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11, 10, 0.2f), 4.5f),
      Sighting("b", 3, kT0 - 30 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11, 10, 0.2f), 4.5f),
  };
  const auto later = RankCandidates(car, others, true, map, 10);
  ASSERT_EQ(later.size(), 3u);
  EXPECT_EQ(later[0].hit().record().track_id(), 8u);
  EXPECT_NEAR(later[0].gap_s(), 31, 1e-3);
  EXPECT_NEAR(later[0].expected_s(), 30, 1e-3);
  EXPECT_NEAR(later[0].colour_distance(), 0.1f, 1e-5);
  EXPECT_GT(later[0].score(), 2 * later[1].score());
  ASSERT_FALSE(later[0].reasons().empty());
  EXPECT_EQ(later[0].reasons(0), "class car = car");
  EXPECT_EQ(later[0].reasons(1), "colour white (white), histogram distance 0.10");
  EXPECT_EQ(later[0].reasons(2), "length 4.7 m (4.5 m)");
  EXPECT_EQ(later[0].reasons(3), "31.0 s apart, typical 30.0 s (neighbours)");

  const auto earlier = RankCandidates(car, others, false, map, 10);
  ASSERT_EQ(earlier.size(), 1u);
  EXPECT_EQ(earlier[0].hit().record().track_id(), 3u);
  EXPECT_LT(earlier[0].gap_s(), 0);
  EXPECT_EQ(RankCandidates(car, others, true, map, 1).size(), 1u);
}

// A class that differs is less likely the same vehicle, but a car read as a truck on the next
// camera (a van, or merged with its neighbour) is far likelier than a motorcycle of the same
// colour; the width across the road is not compared (a box's ground width swings with the view).
TEST(FollowRankTest, SimilarClassesAreCloserThanATwoWheelerAndWidthIsNotCompared) {
  const CameraMap map = CameraMap::From(Road());
  const StoredRecord car = Sighting("a", 1, kT0, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_RED,
                                    Histogram(0), 4.5f);
  StoredRecord truck = Sighting("b", 2, kT0 + 30 * kS, v1::VEHICLE_CLASS_TRUCK,
                                v1::VEHICLE_COLOUR_RED, Histogram(0), 4.5f);
  truck.record.mutable_size()->set_width_m(4.0f);  // two lanes wide: merged with its neighbour
  const StoredRecord motorcycle = Sighting("b", 3, kT0 + 30 * kS, v1::VEHICLE_CLASS_MOTORCYCLE,
                                           v1::VEHICLE_COLOUR_RED, Histogram(0), 4.5f);
  const auto ranked = RankCandidates(car, {motorcycle, truck}, true, map, 10);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].hit().record().track_id(), 2u);
  EXPECT_EQ(ranked[0].reasons(0), "class truck ~ car");
  EXPECT_EQ(ranked[1].reasons(0), "class motorcycle != car");
  EXPECT_NEAR(ranked[0].appearance(), 0.4, 1e-6);  // colour and length the same, width ignored
  EXPECT_NEAR(ranked[1].appearance(), 0.1, 1e-6);
}

// Without histograms the colour names compare; without any place, travel is neutral.
TEST(FollowRankTest, ColourNamesWithoutHistogramsAndNeutralTravelWithoutPlaces) {
  const CameraMap map = CameraMap::From({});
  const StoredRecord car =
      Sighting("a", 1, kT0, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_BLUE, {}, 4.5f);
  const auto ranked = RankCandidates(
      car,
      {Sighting("b", 2, kT0 + 20 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_RED, {}, 4.5f),
       Sighting("b", 3, kT0 + 60 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_BLUE, {}, 4.5f)},
      true, map, 10);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].hit().record().track_id(), 3u);
  EXPECT_EQ(ranked[0].colour_distance(), -1);
  EXPECT_EQ(ranked[0].expected_s(), 0);
  EXPECT_EQ(ranked[0].reasons(1), "colour blue = blue");
  EXPECT_EQ(ranked[0].reasons(3), "60.0 s apart, travel time unknown (no neighbours or positions)");
}

TEST(FollowTest, FindsTheRecordAndRanksTheStoreAroundIt) {
  TempDir dir;
  auto store = RecordStore::Open({.path = dir.File("records.db")});
  ASSERT_TRUE(store.ok()) << store.status().message();
  const std::vector<StoredRecord> records = {
      Sighting("a", 1, kT0, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE, Histogram(11), 4.5f),
      Sighting("b", 5, kT0 + 30 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11), 4.5f),
      Sighting("c", 6, kT0 + 70 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11), 4.5f),
      Sighting("c", 9, kT0 - 40 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11), 4.5f),
      // Outside a 120 s window.
      Sighting("b", 7, kT0 + 400 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11), 4.5f),
  };
  ASSERT_TRUE((*store)->Insert(records).ok());
  const CameraMap map = CameraMap::From(Road());
  v1::FollowRequest request;
  request.set_camera_id("a");
  request.set_track_id(1);
  request.set_window_s(120);
  request.set_direction(v1::FOLLOW_DIRECTION_BOTH);
  Result<v1::FollowResponse> r = Follow(store->get(), map, request);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->record().camera_id(), "a");
  ASSERT_EQ(r->later_size(), 2);
  EXPECT_EQ(r->later(0).hit().camera_id(), "b");
  EXPECT_EQ(r->later(1).hit().camera_id(), "c");
  EXPECT_NEAR(r->later(1).expected_s(), 70, 1e-3);
  ASSERT_EQ(r->earlier_size(), 1);
  EXPECT_EQ(r->earlier(0).hit().record().track_id(), 9u);

  request.set_track_id(42);
  r = Follow(store->get(), map, request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "no record of track 42 on camera a");
  request.clear_camera_id();
  EXPECT_EQ(Follow(store->get(), map, request).status().code(), StatusCode::kInvalidArgument);
}

// Two cameras 200 m apart on a road running north, both looking north (bearing 0), each with a
// counting line across the image whose forward (+1) side is down the image (southbound).
std::vector<CameraConfig> NorthRoad(double metres = 200) {
  std::vector<CameraConfig> cams(2);
  cams[0].id = "a";
  cams[1].id = "b";
  cams[0].position = GeoPosition{.lat = 31.0, .lon = 121.0, .bearing_deg = 0};
  cams[1].position =
      GeoPosition{.lat = 31.0 + metres / 111195.0, .lon = 121.0, .bearing_deg = 0};
  for (CameraConfig& c : cams) {
    c.vehicles.analytics.rules.lines = {{.id = "count", .a = {0, 0.6f}, .b = {1, 0.6f}}};
  }
  return cams;
}

// Heading north: crossing backwards (up the image), heading -90 on screen, at `kmh`.
StoredRecord Northbound(StoredRecord s, float kmh, int direction = -1) {
  s.record.set_heading_deg(direction < 0 ? -90 : 90);
  s.record.set_speed_kmh(kmh);
  s.record.mutable_crossings(0)->set_direction(direction);
  s.record.mutable_crossings(0)->set_speed_kmh(kmh);
  return s;
}

// A white car heading north on a: the white car on b at the right time but heading south (an
// oncoming car, the same colour, a better histogram) is not ranked first; it says why.
TEST(FollowRankTest, OppositeDirectionOfTheSameColourIsNotFirst) {
  const CameraMap map = CameraMap::From(NorthRoad());
  const StoredRecord car = Northbound(
      Sighting("a", 1, kT0, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE, Histogram(11), 4.5f),
      50);
  ASSERT_TRUE(map.CourseDeg("a", car.record).has_value());
  EXPECT_NEAR(*map.CourseDeg("a", car.record), 0, 1e-6);
  const std::vector<StoredRecord> others = {
      Northbound(Sighting("b", 2, kT0 + 15 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
                          Histogram(11), 4.5f),
                 50, +1),
      Northbound(Sighting("b", 3, kT0 + 16 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
                          Histogram(11, 10, 0.2f), 4.5f),
                 45),
  };
  const auto later = RankCandidates(car, others, true, map, 10);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].hit().record().track_id(), 3u);
  EXPECT_GT(later[0].score(), 5 * later[1].score());
  bool wrong_way = false;
  for (const std::string& why : later[1].reasons()) {
    if (why == "heading 0 deg on a, 180 deg on b, a to b is 0 deg (wrong way)") wrong_way = true;
  }
  EXPECT_TRUE(wrong_way);
  // Without the cameras' bearings nothing is said about directions: the better histogram wins.
  std::vector<CameraConfig> unknown = NorthRoad();
  for (CameraConfig& c : unknown) c.position->bearing_deg.reset();
  EXPECT_EQ(RankCandidates(car, others, true, CameraMap::From(unknown), 10)[0]
                .hit()
                .record()
                .track_id(),
            2u);
}

// With positions only, the typical time for 200 m is 18.7 s (x 1.3 at 50 km/h); the car was
// measured at 72 km/h on both cameras, so 10 s is the gap that fits, not the typical one.
TEST(FollowRankTest, TravelTimeFromTheMeasuredSpeedWins) {
  const CameraMap map = CameraMap::From(NorthRoad());
  const StoredRecord car = Northbound(
      Sighting("a", 1, kT0, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_RED, Histogram(0), 4.5f), 72);
  const std::vector<StoredRecord> others = {
      Northbound(Sighting("b", 2, kT0 + 18'700'000, v1::VEHICLE_CLASS_CAR,
                          v1::VEHICLE_COLOUR_RED, Histogram(0), 4.5f),
                 72),
      Northbound(Sighting("b", 3, kT0 + 10 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_RED,
                          Histogram(0), 4.5f),
                 72),
  };
  const auto later = RankCandidates(car, others, true, map, 10);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].hit().record().track_id(), 3u);
  EXPECT_NEAR(later[0].expected_s(), 10, 0.1);
  EXPECT_GT(later[0].score(), 2 * later[1].score());
  bool speed_reason = false;
  for (const std::string& why : later[0].reasons()) {
    if (why == "10.0 s apart, 10.0 s for 200 m at 72 and 72 km/h measured") speed_reason = true;
  }
  EXPECT_TRUE(speed_reason);
  // A speed outside road speeds (a box that jumped) is not used: the typical time decides.
  StoredRecord wild = car;
  wild.record.mutable_crossings(0)->set_speed_kmh(400);
  wild.record.set_speed_kmh(400);
  std::vector<StoredRecord> unmeasured = others;
  for (StoredRecord& s : unmeasured) {
    s.record.set_calibrated(false);
  }
  EXPECT_EQ(RankCandidates(wild, unmeasured, true, map, 10)[0].hit().record().track_id(), 2u);
}

// One sighting per vehicle and camera: b:5 looks a little more like a:1 than a:1's own later
// sighting b:4 does, but it is clearly a:2's (the same histogram, the right time), so follow
// puts b:4 first and says why b:5 went down. Through the record store, as skynetctl asks.
TEST(FollowTest, ACandidateThatClearlyMatchesAnotherRecordRanksLower) {
  TempDir dir;
  auto store = RecordStore::Open({.path = dir.File("records.db")});
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto car = [](const std::string& camera, uint64_t track, int64_t t, float share) {
    return Sighting(camera, track, t, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
                    Histogram(11, 10, share), 4.5f);
  };
  ASSERT_TRUE((*store)
                  ->Insert({car("a", 1, kT0, 0.2f), car("a", 2, kT0 + 6 * kS, 0.4f),
                            car("b", 4, kT0 + 31 * kS, 0.45f), car("b", 5, kT0 + 36 * kS, 0.4f)})
                  .ok());
  std::vector<CameraConfig> cams = Road();
  cams.resize(2);
  cams[1].neighbours.clear();
  const CameraMap map = CameraMap::From(cams);
  v1::FollowRequest request;
  request.set_camera_id("a");
  request.set_track_id(1);
  request.set_window_s(120);
  FollowOptions alone;
  alone.exclusive_checked = 0;
  Result<v1::FollowResponse> r = Follow(store->get(), map, request, alone);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->later_size(), 2);
  EXPECT_EQ(r->later(0).hit().record().track_id(), 5u);

  r = Follow(store->get(), map, request);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->later_size(), 2);
  EXPECT_EQ(r->later(0).hit().record().track_id(), 4u);
  ASSERT_FALSE(r->later(1).reasons().empty());
  EXPECT_EQ(r->later(1).reasons(r->later(1).reasons_size() - 1), "a better match of a:2 (1.00)");
}

// A record without a line crossing, on a camera whose other records crossed one (a piece of a
// broken track), ranks below a crossing one that is otherwise as likely.
TEST(FollowRankTest, APieceWithoutACrossingRanksBelowACrossingSighting) {
  const CameraMap map = CameraMap::From(Road());
  const StoredRecord car =
      Sighting("a", 1, kT0, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE, Histogram(11), 4.5f);
  StoredRecord piece =
      Sighting("b", 2, kT0 + 30 * kS, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
               Histogram(11), 4.5f);
  piece.record.clear_crossings();
  const StoredRecord whole = Sighting("b", 3, kT0 + 33 * kS, v1::VEHICLE_CLASS_CAR,
                                      v1::VEHICLE_COLOUR_WHITE, Histogram(11, 10, 0.1f), 4.5f);
  const auto later = RankCandidates(car, {piece, whole}, true, map, 10);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].hit().record().track_id(), 3u);
  EXPECT_EQ(later[1].reasons(later[1].reasons_size() - 1), "crossed no line (others on b did)");
}

}  // namespace
}  // namespace skynet::daemon
