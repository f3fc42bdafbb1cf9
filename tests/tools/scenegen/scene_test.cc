#include "tools/scenegen/scene.h"

#include <gtest/gtest.h>

#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "tests/tools/scenegen/make_scene.h"

namespace skynet::scenegen {
namespace {

using testing::Make;

bool Identical(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

TEST(SceneRendererTest, SameSeedAndIndexGiveIdenticalPixels) {
  auto a = Make({.kind = SceneKind::kTraffic, .seed = 42});
  auto b = Make({.kind = SceneKind::kTraffic, .seed = 42});
  cv::Mat fa, fb, scratch;
  a->Render(123, &fa);
  b->Render(5, &scratch);  // render order must not matter
  b->Render(123, &fb);
  EXPECT_TRUE(Identical(fa, fb));
  EXPECT_EQ(fa.cols, 640);
  EXPECT_EQ(fa.rows, 360);
  EXPECT_EQ(fa.type(), CV_8UC3);
}

TEST(SceneRendererTest, DifferentSeedsGiveDifferentScenes) {
  cv::Mat fa, fb;
  Make({.seed = 1})->Render(30, &fa);
  Make({.seed = 2})->Render(30, &fb);
  EXPECT_FALSE(Identical(fa, fb));
}

TEST(SceneRendererTest, TrafficObjectsMoveBetweenFrames) {
  auto r = Make({.kind = SceneKind::kTraffic, .seed = 3});
  cv::Mat f0, f1;
  r->Render(100, &f0);
  r->Render(101, &f1);
  EXPECT_FALSE(Identical(f0, f1));
  auto o0 = r->Objects(100), o1 = r->Objects(101);
  ASSERT_FALSE(o0.empty());
  int moved = 0;
  for (const auto& a : o0) {
    for (const auto& b : o1) {
      if (a.track_id == b.track_id && a.box.x != b.box.x) ++moved;
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(SceneRendererTest, TrafficHasVehiclesInBothDirectionsAndEntersAndLeaves) {
  auto r = Make({.kind = SceneKind::kTraffic, .seed = 9});
  std::set<int64_t> seen_first, seen_last;
  for (auto& o : r->Objects(0)) seen_first.insert(o.track_id);
  for (auto& o : r->Objects(15 * 60)) seen_last.insert(o.track_id);
  for (int64_t id : seen_first) EXPECT_EQ(seen_last.count(id), 0u) << "object never left";
  std::set<std::string> classes;
  int left_to_right = 0, right_to_left = 0;
  for (int f = 0; f < 15 * 60; f += 15) {
    auto now = r->Objects(f), next = r->Objects(f + 1);
    for (auto& a : now) {
      classes.insert(a.cls);
      for (auto& b : next) {
        if (a.track_id != b.track_id || a.cls == "person") continue;
        if (b.box.x > a.box.x) ++left_to_right;
        if (b.box.x < a.box.x) ++right_to_left;
      }
    }
  }
  EXPECT_GT(left_to_right, 0);
  EXPECT_GT(right_to_left, 0);
  EXPECT_TRUE(classes.count("car"));
  EXPECT_TRUE(classes.count("person"));
}

TEST(SceneRendererTest, ObjectBoxesStayInsideTheFrame) {
  auto r = Make({.width = 320, .height = 180, .seed = 4});
  const cv::Rect frame(0, 0, 320, 180);
  for (int f = 0; f < 600; f += 7) {
    for (auto& o : r->Objects(f)) {
      EXPECT_EQ(o.box & frame, o.box);
      EXPECT_GT(o.box.area(), 0);
    }
  }
}

TEST(SceneRendererTest, StaticSceneFramesAreIdenticalAndEmpty) {
  auto r = Make({.kind = SceneKind::kStatic, .seed = 5});
  cv::Mat f0, f1;
  r->Render(0, &f0);
  r->Render(977, &f1);
  EXPECT_TRUE(Identical(f0, f1));
  EXPECT_TRUE(r->Objects(977).empty());
}

TEST(SceneRendererTest, StaticSceneSharesTheTrafficBackground) {
  cv::Mat traffic, still;
  Make({.kind = SceneKind::kTraffic, .seed = 6, .density = 0})->Render(10, &traffic);
  Make({.kind = SceneKind::kStatic, .seed = 6})->Render(10, &still);
  EXPECT_TRUE(Identical(traffic, still));
}

TEST(SceneRendererTest, PeriodicSceneRepeatsExactly) {
  auto r = Make({.fps = 15, .seed = 8, .period_seconds = 20});
  cv::Mat a, b;
  for (int f : {0, 1, 77, 299}) {
    r->Render(f, &a);
    r->Render(f + 300, &b);
    EXPECT_TRUE(Identical(a, b)) << "frame " << f;
  }
  // Track ids stay unique across periods.
  auto first = r->Objects(10), second = r->Objects(310);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].box, second[i].box);
    EXPECT_NE(first[i].track_id, second[i].track_id);
  }
}

TEST(SceneRendererTest, EveryKindRoundTripsItsNameAndIsDeterministic) {
  for (SceneKind k : AllSceneKinds()) {
    SCOPED_TRACE(SceneKindName(k));
    auto parsed = ParseSceneKind(SceneKindName(k));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, k);
    auto a = Make({.kind = k, .width = 320, .height = 180, .seed = 11});
    auto b = Make({.kind = k, .width = 320, .height = 180, .seed = 11});
    cv::Mat fa, fb, scratch;
    a->Render(237, &fa);
    b->Render(3, &scratch);
    b->Render(237, &fb);
    EXPECT_TRUE(Identical(fa, fb));
    const auto oa = a->Objects(237), ob = b->Objects(237);
    ASSERT_EQ(oa.size(), ob.size());
    for (size_t i = 0; i < oa.size(); ++i) {
      EXPECT_EQ(oa[i].track_id, ob[i].track_id);
      EXPECT_EQ(oa[i].box, ob[i].box);
      EXPECT_EQ(oa[i].cls, ob[i].cls);
      EXPECT_EQ(oa[i].visible, ob[i].visible);
      EXPECT_EQ(oa[i].anchor, ob[i].anchor);
      EXPECT_EQ(oa[i].speed_kmh, ob[i].speed_kmh);
    }
    EXPECT_EQ(a->MovingOutsideMasks(237), b->MovingOutsideMasks(237));
  }
}

TEST(SceneRendererTest, ObjectBoxesStayInsideTheFrameInEveryScene) {
  for (SceneKind k : AllSceneKinds()) {
    SCOPED_TRACE(SceneKindName(k));
    auto r = Make({.kind = k, .width = 320, .height = 180, .fps = 10, .seed = 12});
    const cv::Rect frame(0, 0, 320, 180);
    for (int f = 0; f < 1200; f += 5) {
      const auto objects = r->Objects(f);
      bool moving = false;
      for (const auto& o : objects) {
        EXPECT_EQ(o.box & frame, o.box);
        EXPECT_GT(o.box.area(), 0);
        EXPECT_GE(o.visible, 0);
        EXPECT_LE(o.visible, 1);
        EXPECT_GE(o.speed_kmh, 0);
        moving = moving || o.velocity != cv::Point2d();
      }
      // Nothing the truth counts is ever masked, so the flag is "any moving object in view".
      EXPECT_EQ(r->MovingOutsideMasks(f), moving) << "frame " << f;
    }
  }
}

TEST(SceneRendererTest, EmptySceneMovesOnlyInsideItsMasks) {
  auto r = Make({.kind = SceneKind::kEmpty, .width = 320, .height = 180, .fps = 10, .seed = 13});
  ASSERT_EQ(r->RecommendedMasks().size(), 2u);  // OSD clock, trees
  cv::Mat masked = cv::Mat::zeros(180, 320, CV_8U);
  for (const auto& polygon : r->RecommendedMasks()) {
    std::vector<cv::Point> pts;
    for (const auto& p : polygon) pts.emplace_back(cvRound(p.x * 320), cvRound(p.y * 180));
    cv::fillConvexPoly(masked, pts, cv::Scalar(255));
  }
  cv::Mat a, b, diff, gray;
  r->Render(0, &a);
  r->Render(17, &b);  // 1.7 s later: the clock ticked, the trees swayed, new noise
  cv::absdiff(a, b, diff);
  cv::cvtColor(diff, gray, cv::COLOR_BGR2GRAY);
  double inside = 0, outside = 0;
  cv::minMaxLoc(gray, nullptr, &inside, nullptr, nullptr, masked);
  cv::GaussianBlur(gray, gray, cv::Size(9, 9), 0);  // noise averages out, objects would not
  cv::Mat unmasked;
  cv::bitwise_not(masked, unmasked);
  cv::minMaxLoc(gray, nullptr, &outside, nullptr, nullptr, unmasked);
  EXPECT_GT(inside, 60);
  EXPECT_LT(outside, 8);
  for (int f = 0; f < 600; f += 10) EXPECT_TRUE(r->Objects(f).empty());
}

TEST(SceneRendererTest, ShakeMovesBoxesByAFewPixelsOnly) {
  auto still = Make({.kind = SceneKind::kTraffic, .width = 320, .height = 180, .seed = 14});
  auto shaky = Make({.kind = SceneKind::kShake, .width = 320, .height = 180, .seed = 14});
  int moved = 0;
  for (int f = 0; f < 300; f += 3) {
    // The same objects (but at the edges, where shake moves them in or out of view).
    for (const auto& o : shaky->Objects(f)) {
      for (const auto& p : still->Objects(f)) {
        if (p.track_id != o.track_id) continue;
        EXPECT_LE(std::abs(p.box.y - o.box.y), 2 + 1);  // +-2 px vertically, and rounding
        if (p.box.y != o.box.y) ++moved;
      }
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(SceneRendererTest, NightIsDarkAndIlluminationSwitchesToInfrared) {
  cv::Mat night;
  Make({.kind = SceneKind::kNightRain, .width = 320, .height = 180, .seed = 15})
      ->Render(50, &night);
  EXPECT_LT(cv::mean(night)[0], 60);
  auto r = Make({.kind = SceneKind::kIllumination, .width = 320, .height = 180, .fps = 5});
  bool monochrome = false, colour = false;
  cv::Mat f, channels[3];
  for (int i = 0; i < 5 * 45; i += 5) {
    r->Render(i, &f);
    cv::split(f, channels);
    // Monochrome but for sensor noise, which each channel has its own of.
    const double mean_difference = cv::norm(channels[0], channels[2], cv::NORM_L1) / f.total();
    (mean_difference < 5 ? monochrome : colour) = true;
  }
  EXPECT_TRUE(monochrome);
  EXPECT_TRUE(colour);
}

TEST(SceneRendererTest, RejectsBadOptionsNamingTheField) {
  auto r = SceneRenderer::Create({.width = 641});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("width"), std::string::npos);
  EXPECT_FALSE(SceneRenderer::Create({.fps = 0}).ok());
  EXPECT_FALSE(ParseSceneKind("rain").ok());
  EXPECT_EQ(*ParseSceneKind("static"), SceneKind::kStatic);
}

// Vehicles of one lane stand on the same line; the anchor's y tells the lane.
int LaneOf(const ObjectTruth& o, int height) {
  return static_cast<int>(std::lround((o.anchor.y / height - 0.39) / 0.10));
}

bool IsVehicle(const ObjectTruth& o) { return o.cls != "person"; }

TEST(SceneTruthTest, GeometryIsAffineWithCarsOf4_5MetresAndLanesOf3_5) {
  for (SceneKind k : {SceneKind::kTraffic, SceneKind::kDense}) {
    SCOPED_TRACE(SceneKindName(k));
    auto r = Make({.kind = k, .width = 640, .height = 360, .fps = 10, .seed = 21});
    const SceneGeometry& g = r->Geometry();
    ASSERT_TRUE(g.has_vehicles);
    EXPECT_NEAR(g.metres_per_px_y * 36, 3.5, 1e-9);
    ASSERT_EQ(g.image_points.size(), 4u);
    ASSERT_EQ(g.ground_points.size(), 4u);
    EXPECT_NEAR(g.ground_points[1].x, 640 * g.metres_per_px_x, 1e-9);
    EXPECT_NEAR(g.ground_points[2].y, 14, 1e-9);
    int cars = 0;
    for (int f = 0; f < 300; f += 10) {
      for (const auto& o : r->Objects(f)) {
        if (o.cls != "car" || o.box.x == 0 || o.box.br().x == 640) continue;
        EXPECT_NEAR(o.box.width * g.metres_per_px_x, 4.5, 0.1);
        ++cars;
      }
    }
    EXPECT_GT(cars, 5);
    ASSERT_EQ(g.lanes.size(), 2u);
    EXPECT_EQ(g.lanes[0].id, "westbound");
    EXPECT_EQ(g.lanes[0].direction, cv::Point2d(-1, 0));
    EXPECT_EQ(g.lanes[1].id, "eastbound");
    EXPECT_EQ(g.lanes[1].direction, cv::Point2d(1, 0));
    ASSERT_EQ(g.lines.size(), 1u);
    EXPECT_TRUE(g.zones.empty());
  }
  EXPECT_FALSE(Make({.kind = SceneKind::kStatic})->Geometry().has_vehicles);
  EXPECT_FALSE(Make({.kind = SceneKind::kEmpty})->Geometry().has_vehicles);
}

TEST(SceneTruthTest, LanesAndLineMatchWhereObjectsDrive) {
  // Upper lanes drive right to left inside westbound, lower ones left to right inside
  // eastbound; pedestrians' anchors never reach the counting line's ends, even shaken.
  for (SceneKind k : {SceneKind::kTraffic, SceneKind::kShake, SceneKind::kDense}) {
    SCOPED_TRACE(SceneKindName(k));
    auto r = Make({.kind = k, .width = 320, .height = 180, .fps = 10, .seed = 22});
    const SceneGeometry& g = r->Geometry();
    const double top = g.lines[0].a.y * 180, bottom = g.lines[0].b.y * 180;
    for (int f = 0; f < 900; f += 3) {
      for (const auto& o : r->Objects(f)) {
        if (!IsVehicle(o)) {
          EXPECT_TRUE(o.anchor.y < top || o.anchor.y > bottom) << o.anchor;
          continue;
        }
        const int lane = LaneOf(o, 180);
        const auto& area = g.lanes[lane <= 2 ? 0 : 1];
        EXPECT_GT(o.velocity.dot(area.direction), 0);
        EXPECT_GT(o.anchor.y, area.polygon[0].y * 180);
        EXPECT_LT(o.anchor.y, area.polygon[2].y * 180);
        EXPECT_GT(o.anchor.y, top);
        EXPECT_LT(o.anchor.y, bottom);
      }
    }
  }
}

TEST(SceneTruthTest, VisibleIsOneInTheOpenAndTheShareInsideAtTheBorder) {
  auto r = Make({.kind = SceneKind::kTraffic, .width = 640, .height = 360, .fps = 10, .seed = 23});
  int open = 0, border = 0;
  for (int f = 0; f < 900; f += 5) {
    for (const auto& o : r->Objects(f)) {
      const int lane = LaneOf(o, 360);
      if (!IsVehicle(o) || lane == 4) continue;  // lane 4 may be under near pedestrians' heads
      const double full_width = o.cls == "car"     ? 0.7 * 36 * 2.3
                                : o.cls == "truck" ? 0.85 * 36 * 3.0
                                                   : 0.85 * 36 * 3.6;
      const double left = o.anchor.x - full_width / 2, right = o.anchor.x + full_width / 2;
      if (left >= 0 && right <= 640) {
        EXPECT_DOUBLE_EQ(o.visible, 1);
        ++open;
      } else {
        const double inside = std::min(right, 640.0) - std::max(left, 0.0);
        EXPECT_NEAR(o.visible, inside / full_width, 1e-9);
        ++border;
      }
    }
  }
  EXPECT_GT(open, 100);
  EXPECT_GT(border, 10);
}

TEST(SceneTruthTest, DenseTrafficOccludesAndOvertakes) {
  auto r = Make({.kind = SceneKind::kDense, .width = 640, .height = 360, .fps = 10, .seed = 24});
  int occluded = 0, vehicles = 0;
  std::map<int, double> lane_speed;
  for (int f = 0; f < 900; f += 5) {
    for (const auto& o : r->Objects(f)) {
      if (!IsVehicle(o)) continue;
      ++vehicles;
      lane_speed[LaneOf(o, 360)] = std::abs(o.velocity.x);
      if (o.box.x > 0 && o.box.br().x < 640 && o.visible < 0.9) ++occluded;
    }
  }
  EXPECT_GT(occluded, vehicles / 20) << vehicles;
  ASSERT_EQ(lane_speed.size(), 4u);
  // Same-direction lanes overtake each other.
  EXPECT_GT(std::abs(lane_speed[1] / lane_speed[2] - 1), 0.15);
  EXPECT_GT(std::abs(lane_speed[3] / lane_speed[4] - 1), 0.15);
  // About twice the traffic scene's vehicles per minute.
  auto count = [](const SceneRenderer& scene) {
    int n = 0;
    for (const auto& t : scene.Truth(900).tracks) n += t.cls != "person";
    return n;
  };
  auto traffic =
      Make({.kind = SceneKind::kTraffic, .width = 640, .height = 360, .fps = 10, .seed = 24});
  EXPECT_GT(count(*r), 1.6 * count(*traffic));
}

TEST(SceneTruthTest, VehiclesOfOneLaneNeverOverlap) {
  for (SceneKind k : AllSceneKinds()) {
    if (IsRoadScene(k)) continue;  // side-on lanes only
    SCOPED_TRACE(SceneKindName(k));
    auto r = Make({.kind = k, .width = 320, .height = 180, .fps = 10, .seed = 25});
    for (int f = 0; f < 1800; f += 2) {
      const auto objects = r->Objects(f);
      for (size_t i = 0; i < objects.size(); ++i) {
        for (size_t j = i + 1; j < objects.size(); ++j) {
          const auto &a = objects[i], &b = objects[j];
          if (!IsVehicle(a) || !IsVehicle(b) || LaneOf(a, 180) != LaneOf(b, 180)) continue;
          EXPECT_EQ((a.box & b.box).area(), 0)
              << "frame " << f << " ids " << a.track_id << " " << b.track_id;
        }
      }
    }
  }
}

TEST(SceneTruthTest, ParkingHasALongAndAShortStopInTheNoParkingZone) {
  auto r = Make({.kind = SceneKind::kParking, .width = 640, .height = 360, .fps = 10, .seed = 26});
  const SceneGeometry& g = r->Geometry();
  ASSERT_EQ(g.zones.size(), 1u);
  EXPECT_TRUE(g.zones[0].no_parking);
  EXPECT_EQ(g.zones[0].max_stop_ms, 20000);
  const ClipTruth truth = r->Truth(900);
  EXPECT_DOUBLE_EQ(truth.duration, 90);
  ASSERT_EQ(truth.stops.size(), 2u);
  int long_stops = 0, short_stops = 0;
  for (const auto& stop : truth.stops) {
    SCOPED_TRACE(stop.track_id);
    EXPECT_EQ(stop.zone, "no-parking");
    const double length = stop.end - stop.begin;
    long_stops += length >= 30;
    short_stops += length < 20;
    // Every frame inside the interval shows the car standing at one place in the zone.
    std::set<std::pair<double, double>> anchors;
    for (int f = static_cast<int>(std::ceil(stop.begin * 10)); f <= stop.end * 10; ++f) {
      bool seen = false;
      for (const auto& o : r->Objects(f)) {
        if (o.track_id != stop.track_id) continue;
        seen = true;
        EXPECT_EQ(o.speed_kmh, 0);
        EXPECT_EQ(o.cls, "car");
        anchors.insert({o.anchor.x, o.anchor.y});
        EXPECT_GE(cv::pointPolygonTest(g.zones[0].polygon,
                                       cv::Point2f(o.anchor.x / 640, o.anchor.y / 360), false),
                  0);
      }
      EXPECT_TRUE(seen) << "frame " << f;
    }
    EXPECT_EQ(anchors.size(), 1u);
    // Just before, it was still braking: slower than cruising, but moving.
    for (const auto& o : r->Objects(static_cast<int>(std::floor(stop.begin * 10)) - 5)) {
      if (o.track_id == stop.track_id) {
        EXPECT_GT(o.speed_kmh, 0);
      }
    }
  }
  EXPECT_EQ(long_stops, 1);
  EXPECT_EQ(short_stops, 1);
}

TEST(SceneTruthTest, WrongWayCarDrivesAgainstLaneFour) {
  auto r = Make({.kind = SceneKind::kWrongWay, .width = 640, .height = 360, .fps = 10, .seed = 27});
  const ClipTruth truth = r->Truth(900);
  ASSERT_EQ(truth.wrong_way.size(), 2u);
  for (const auto& w : truth.wrong_way) {
    SCOPED_TRACE(w.track_id);
    EXPECT_EQ(w.lane, "eastbound");
    EXPECT_GT(w.end - w.begin, 3);
    const int f = static_cast<int>(std::lround((w.begin + w.end) / 2 * 10));
    cv::Point2d before, after;
    for (const auto& o : r->Objects(f)) {
      if (o.track_id == w.track_id) before = o.anchor;
    }
    for (const auto& o : r->Objects(f + 1)) {
      if (o.track_id == w.track_id) after = o.anchor;
    }
    EXPECT_LT(after.x, before.x);             // right to left
    EXPECT_NEAR(before.y, 0.79 * 360, 1e-9);  // in lane 4
  }
  // The ordinary scenes have none.
  EXPECT_TRUE(Make({.kind = SceneKind::kTraffic, .fps = 10})->Truth(900).wrong_way.empty());
  EXPECT_TRUE(Make({.kind = SceneKind::kDense, .fps = 10})->Truth(900).wrong_way.empty());
}

TEST(SceneTruthTest, ScriptedScenesRepeatWithTheirCycleAndKeepIdsUnique) {
  // Parking's script repeats every 100 s, wrong way's every 45 s: loops of a multiple are seamless.
  for (auto [kind, period] :
       {std::pair{SceneKind::kParking, 100.0}, std::pair{SceneKind::kWrongWay, 90.0}}) {
    SCOPED_TRACE(SceneKindName(kind));
    auto r = Make({.kind = kind,
                   .width = 320,
                   .height = 180,
                   .fps = 10,
                   .seed = 30,
                   .period_seconds = period});
    const int frames = static_cast<int>(period * 10);
    for (int f : {0, 150, 170, 300, 620, frames - 1}) {
      const auto first = r->Objects(f), second = r->Objects(f + frames);
      ASSERT_EQ(first.size(), second.size()) << "frame " << f;
      for (size_t i = 0; i < first.size(); ++i) {
        EXPECT_EQ(first[i].box, second[i].box);
        EXPECT_EQ(first[i].speed_kmh, second[i].speed_kmh);
        EXPECT_NE(first[i].track_id, second[i].track_id);
      }
    }
    const ClipTruth two_loops = r->Truth(2 * frames);
    std::set<int64_t> ids;
    for (const auto& t : two_loops.tracks) EXPECT_TRUE(ids.insert(t.track_id).second);
    EXPECT_EQ(kind == SceneKind::kParking ? two_loops.stops.size() : two_loops.wrong_way.size(),
              4u);
  }
  // Without traffic, only the scripted cars drive.
  auto alone = Make({.kind = SceneKind::kParking, .fps = 10, .density = 0});
  const ClipTruth truth = alone->Truth(900);
  EXPECT_EQ(truth.stops.size(), 2u);
  for (const auto& t : truth.tracks) EXPECT_EQ(t.cls, "car");
}

TEST(SceneTruthTest, CrossingsMatchTheAnchorsSidesBeforeAndAfter) {
  for (SceneKind k : {SceneKind::kTraffic, SceneKind::kShake, SceneKind::kDense,
                      SceneKind::kParking, SceneKind::kWrongWay}) {
    SCOPED_TRACE(SceneKindName(k));
    auto r = Make({.kind = k, .width = 320, .height = 180, .fps = 10, .seed = 28});
    const ClipTruth truth = r->Truth(600);
    const double line_x = r->Geometry().lines[0].a.x * 320;
    // Vehicles seen on both sides of the line within the clip.
    std::map<int64_t, std::set<bool>> sides;
    std::map<int64_t, std::map<int, double>> anchor_x;
    for (int f = 0; f < 600; ++f) {
      for (const auto& o : r->Objects(f)) {
        if (!IsVehicle(o)) continue;
        sides[o.track_id].insert(o.anchor.x > line_x);
        anchor_x[o.track_id][f] = o.anchor.x;
      }
    }
    size_t both_sides = 0;
    for (const auto& [id, s] : sides) both_sides += s.size() == 2;
    EXPECT_EQ(truth.crossings.size(), both_sides);
    std::set<int64_t> ids;
    for (const auto& c : truth.crossings) {
      EXPECT_TRUE(ids.insert(c.track_id).second) << "counted twice: " << c.track_id;
      EXPECT_EQ(c.line, "count");
      EXPECT_NE(c.cls, "person");
      const int f0 = static_cast<int>(std::floor(c.t * 10)), f1 = f0 + 1;
      ASSERT_TRUE(anchor_x[c.track_id].count(f0) && anchor_x[c.track_id].count(f1)) << c.t;
      const double x0 = anchor_x[c.track_id][f0], x1 = anchor_x[c.track_id][f1];
      EXPECT_TRUE((x0 > line_x) != (x1 > line_x) || x1 == line_x) << x0 << " " << x1;
      // a above b: moving left is forward (+1), skynetd's convention.
      EXPECT_EQ(c.direction, x1 < x0 ? 1 : -1);
      // Interpolated: the anchor is on the line at t.
      EXPECT_NEAR(x0 + (x1 - x0) * (c.t * 10 - f0), line_x, 1e-6);
    }
    EXPECT_GT(truth.crossings.size(), 10u);
  }
}

TEST(SceneTruthTest, SpeedsArePlausibleKmh) {
  for (SceneKind k : {SceneKind::kTraffic, SceneKind::kShake, SceneKind::kDense,
                      SceneKind::kParking, SceneKind::kWrongWay, SceneKind::kNightRain}) {
    SCOPED_TRACE(SceneKindName(k));
    auto r = Make({.kind = k, .width = 640, .height = 360, .fps = 10, .seed = 29});
    const ClipTruth truth = r->Truth(900);
    std::set<int64_t> stopped;
    for (const auto& s : truth.stops) stopped.insert(s.track_id);
    int vehicles = 0;
    for (const auto& t : truth.tracks) {
      EXPECT_LE(t.first, t.last);
      if (t.cls == "person") {
        EXPECT_GT(t.speed_kmh, 2);
        EXPECT_LT(t.speed_kmh, 10);
      } else if (!stopped.count(t.track_id)) {
        EXPECT_GT(t.speed_kmh, 20);
        EXPECT_LT(t.speed_kmh, 70);
        ++vehicles;
      }
    }
    EXPECT_GT(vehicles, 5);
  }
}

}  // namespace
}  // namespace skynet::scenegen
