// The along-the-road scenes: the pinhole camera and its homography, perspective sizes, events in
// every variant, determinism. Small frames and 5 fps keep it quick.
#include "tools/scenegen/road_scene.h"

#include <gtest/gtest.h>

#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "tests/tools/scenegen/make_scene.h"
#include "tools/scenegen/pinhole.h"
#include "tools/scenegen/scene.h"

namespace skynet::scenegen {
namespace {

using testing::Make;

std::vector<SceneKind> RoadKinds() {
  std::vector<SceneKind> out;
  for (SceneKind k : AllSceneKinds()) {
    if (IsRoadScene(k)) out.push_back(k);
  }
  return out;
}

// The truth's calibration (normalised image points, ground metres) as a homography on pixels.
cv::Mat ImageToGround(const SceneGeometry& g, int w, int h) {
  std::vector<cv::Point2f> image, ground;
  for (const cv::Point2d& p : g.image_points) image.emplace_back(p.x * w, p.y * h);
  for (const cv::Point2d& p : g.ground_points) ground.emplace_back(p.x, p.y);
  return cv::getPerspectiveTransform(image, ground, cv::DECOMP_SVD);
}

TEST(PinholeCameraTest, GroundPixelGroundRoundTripsThroughTheTruthCalibration) {
  for (uint32_t seed : {1u, 2u, 3u, 17u, 99u}) {
    SCOPED_TRACE(seed);
    const cv::Size size = RoadFrameSize(seed) / 2;  // the same view, cheaper to build
    auto r = Make(
        {.kind = SceneKind::kRoadDay, .width = size.width, .height = size.height, .seed = seed});
    const SceneGeometry& g = r->Geometry();
    ASSERT_TRUE(g.has_camera);
    const PinholeCamera cam = RoadCamera(seed, size.width, size.height);
    // getPerspectiveTransform works in double; so does the camera.
    const cv::Matx33d h(ImageToGround(g, size.width, size.height));
    int checked = 0;
    for (double x = -11; x <= 11; x += 2.75) {
      for (double y = 5; y <= 150; y += 7.25) {
        cv::Point2d px;
        if (!cam.Project({x, y, 0}, &px)) continue;
        const cv::Vec3d back = h * cv::Vec3d(px.x, px.y, 1);
        EXPECT_NEAR(back[0] / back[2], x, 0.01) << px;
        EXPECT_NEAR(back[1] / back[2], y, 0.01) << px;
        cv::Point2d ground;
        ASSERT_TRUE(cam.PixelToGround(px, &ground));
        EXPECT_NEAR(ground.x, x, 1e-6);
        EXPECT_NEAR(ground.y, y, 1e-6);
        ++checked;
      }
    }
    EXPECT_GT(checked, 50);
    // Above the horizon a pixel has no ground point.
    cv::Point2d ground;
    EXPECT_FALSE(cam.PixelToGround({size.width / 2.0, cam.HorizonRow() - 5}, &ground));
  }
}

TEST(PinholeCameraTest, SeedsDrawRealisticGeometries) {
  std::set<int> widths;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    const cv::Size size = RoadFrameSize(seed);
    widths.insert(size.width);
    const PinholeCamera c = RoadCamera(seed, size.width, size.height);
    EXPECT_GE(c.height_m, 5);
    EXPECT_LE(c.height_m, 12);
    EXPECT_GE(c.pitch_deg, 8);
    EXPECT_LE(c.pitch_deg, 25);
    EXPECT_LE(std::abs(c.yaw_deg), 12);
    EXPECT_GE(c.hfov_deg, 40);
    EXPECT_LE(c.hfov_deg, 70);
    // The road is seen to at least ~120 m: the top row is above the ground there.
    cv::Point2d far;
    ASSERT_TRUE(c.Project({0, 120, 0}, &far));
    EXPECT_GT(far.y, 0) << seed;
  }
  EXPECT_EQ(widths, (std::set<int>{960, 1280, 1920}));
  EXPECT_EQ(RoadFrameSize(1), cv::Size(1280, 720));
  EXPECT_EQ(RoadFrameSize(2), cv::Size(1920, 1080));
  EXPECT_EQ(RoadFrameSize(3), cv::Size(960, 540));
}

TEST(PinholeCameraTest, ClipsPolygonsAtTheNearPlaneAndTheFrame) {
  const std::vector<cv::Point3d> quad = {{0, 0, -1}, {1, 0, -1}, {1, 0, 1}, {0, 0, 1}};
  const auto front = ClipToNear(quad, 0.5);
  ASSERT_EQ(front.size(), 4u);
  for (const cv::Point3d& p : front) EXPECT_GE(p.z, 0.5 - 1e-12);
  EXPECT_TRUE(ClipToNear(quad, 2).empty());
  const auto inside = ClipToRect({{-10, 5}, {20, 5}, {20, 8}, {-10, 8}}, 10, 10);
  double x0 = 1e9, x1 = -1e9;
  for (const cv::Point2d& p : inside) x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
  EXPECT_DOUBLE_EQ(x0, 0);
  EXPECT_DOUBLE_EQ(x1, 10);
}

TEST(RoadSceneTest, NearVehiclesAreTenfoldTheFarOnesAndSizesFollowDistance) {
  auto r = Make({.kind = SceneKind::kRoadDay, .width = 640, .height = 360, .fps = 5, .seed = 1});
  double biggest = 0, smallest = 1e9;
  std::vector<double> products;
  for (int f = 0; f < 300; f += 2) {
    for (const ObjectTruth& o : r->Objects(f)) {
      if (o.cls != "car" || o.visible < 1 || o.distance_m <= 0) continue;
      biggest = std::max(biggest, static_cast<double>(o.box.height));
      smallest = std::min(smallest, static_cast<double>(o.box.height));
      if (o.distance_m > 15) products.push_back(o.box.height * o.distance_m);
    }
  }
  EXPECT_GE(biggest / smallest, 10) << biggest << " " << smallest;
  // Height x distance is about constant: perspective, not a fixed size.
  ASSERT_GT(products.size(), 50u);
  std::sort(products.begin(), products.end());
  const double median = products[products.size() / 2];
  const double p10 = products[products.size() / 10], p90 = products[products.size() * 9 / 10];
  EXPECT_GT(p10, 0.6 * median);
  EXPECT_LT(p90, 1.6 * median);
}

TEST(RoadSceneTest, TruthNamesTheBodyColourOfCarsAndBusesAndCarriesTwoWheelers) {
  auto r = Make({.kind = SceneKind::kRoadDay, .width = 640, .height = 360, .fps = 5, .seed = 1});
  const std::set<std::string> palette = {"white", "black",  "silver", "red",
                                         "blue",  "yellow", "green"};
  std::map<std::string, std::set<std::string>> colours;  // class -> colours seen
  for (int f = 0; f < 300; f += 2) {
    for (const ObjectTruth& o : r->Objects(f)) colours[o.cls].insert(o.colour);
  }
  for (const char* cls : {"car", "bus"}) {
    SCOPED_TRACE(cls);
    ASSERT_TRUE(colours.count(cls));
    for (const std::string& c : colours[cls]) EXPECT_TRUE(palette.count(c)) << c;
  }
  EXPECT_GE(colours["car"].size(), 5u);  // the palette's colours, not one
  for (const char* cls : {"person", "bicycle", "motorcycle", "truck"}) {
    if (!colours.count(cls)) continue;
    EXPECT_EQ(colours[cls], std::set<std::string>{""}) << cls;
  }
  EXPECT_TRUE(colours.count("bicycle"));  // cyclists in the bike lanes
}

TEST(RoadSceneTest, SameSeedSamePixelsAndTruthOtherSeedOtherCamera) {
  for (SceneKind k : RoadKinds()) {
    SCOPED_TRACE(SceneKindName(k));
    auto a = Make({.kind = k, .width = 320, .height = 180, .fps = 5, .seed = 4});
    auto b = Make({.kind = k, .width = 320, .height = 180, .fps = 5, .seed = 4});
    cv::Mat fa, fb, scratch;
    a->Render(101, &fa);
    b->Render(7, &scratch);
    b->Render(101, &fb);
    EXPECT_EQ(cv::norm(fa, fb, cv::NORM_INF), 0);
    const auto oa = a->Objects(101), ob = b->Objects(101);
    ASSERT_EQ(oa.size(), ob.size());
    for (size_t i = 0; i < oa.size(); ++i) {
      EXPECT_EQ(oa[i].track_id, ob[i].track_id);
      EXPECT_EQ(oa[i].box, ob[i].box);
      EXPECT_EQ(oa[i].distance_m, ob[i].distance_m);
    }
  }
  auto one = Make({.kind = SceneKind::kRoadDay, .width = 320, .height = 180, .seed = 5});
  auto other = Make({.kind = SceneKind::kRoadDay, .width = 320, .height = 180, .seed = 6});
  EXPECT_NE(one->Geometry().camera.height_m, other->Geometry().camera.height_m);
}

TEST(RoadSceneTest, EveryVariantHasItsEventsInTheTruth) {
  constexpr int kFps = 5, kFrames = 60 * kFps;
  for (SceneKind k : RoadKinds()) {
    SCOPED_TRACE(SceneKindName(k));
    auto r = Make({.kind = k, .width = 320, .height = 180, .fps = kFps, .seed = 7});
    const SceneGeometry& g = r->Geometry();
    ASSERT_TRUE(g.has_vehicles);
    ASSERT_EQ(g.lines.size(), 1u);
    ASSERT_EQ(g.lanes.size(), 2u);
    for (const auto& lane : g.lanes) EXPECT_GE(lane.polygon.size(), 3u);
    const ClipTruth truth = r->Truth(kFrames);
    EXPECT_GT(truth.crossings.size(), 8u);
    std::set<std::string> classes;
    int standing = 0, crossing_traffic = 0;
    double nearest = 1e9, farthest = 0;
    for (int f = 0; f < kFrames; f += 5) {
      for (const ObjectTruth& o : r->Objects(f)) {
        classes.insert(o.cls);
        EXPECT_GE(o.distance_m, 0);
        nearest = std::min(nearest, o.distance_m);
        farthest = std::max(farthest, o.distance_m);
        if (o.cls != "person" && o.velocity == cv::Point2d()) ++standing;
        // Crossing traffic moves across the screen, not towards or away from the camera.
        if (o.cls != "person" && std::abs(o.velocity.x) > 3 * std::abs(o.velocity.y)) {
          ++crossing_traffic;
        }
      }
    }
    for (const char* c : {"car", "person", "bicycle"}) EXPECT_TRUE(classes.count(c)) << c;
    EXPECT_LT(nearest, 25);
    EXPECT_GT(farthest, 150);
    const bool queues = k == SceneKind::kRoadDense || k == SceneKind::kRoadIntersection;
    if (queues) {
      EXPECT_GT(standing, 30);
    }
    if (k == SceneKind::kRoadIntersection) {
      EXPECT_GT(crossing_traffic, 20);
    }
    if (k == SceneKind::kRoadParking) {
      ASSERT_EQ(g.zones.size(), 1u);
      ASSERT_EQ(truth.stops.size(), 1u);  // the 6 s stop comes at 62 s
      EXPECT_EQ(truth.stops[0].zone, "no-parking");
      EXPECT_NEAR(truth.stops[0].end - truth.stops[0].begin, 40, 1e-6);
    } else {
      EXPECT_TRUE(truth.stops.empty());
    }
    if (k == SceneKind::kRoadWrongWay) {
      ASSERT_EQ(truth.wrong_way.size(), 2u);
      for (const auto& w : truth.wrong_way) {
        EXPECT_EQ(w.lane, "outbound");
        EXPECT_GT(w.end - w.begin, 3);
      }
    } else {
      EXPECT_TRUE(truth.wrong_way.empty()) << truth.wrong_way.size();
    }
  }
}

TEST(RoadSceneTest, NightIsDarkWithLampsRainAndCloudsChangeTheDay) {
  auto render = [](SceneKind k, int frame) {
    cv::Mat img;
    Make({.kind = k, .width = 320, .height = 180, .fps = 5, .seed = 8})->Render(frame, &img);
    return img;
  };
  const cv::Mat day = render(SceneKind::kRoadDay, 50), night = render(SceneKind::kRoadNight, 50);
  EXPECT_LT(cv::mean(night)[1], 0.6 * cv::mean(day)[1]);
  double brightest = 0;
  cv::Mat gray;
  cv::cvtColor(night, gray, cv::COLOR_BGR2GRAY);
  cv::minMaxLoc(gray, nullptr, &brightest);
  EXPECT_GT(brightest, 200);  // lamps
  EXPECT_GT(cv::norm(render(SceneKind::kRoadRain, 50), day, cv::NORM_L1) / day.total(), 10);
  // Clouds and exposure steps change the brightness of the whole frame over a minute.
  std::vector<double> means;
  for (int f = 0; f < 300; f += 10) means.push_back(cv::mean(render(SceneKind::kRoadClouds, f))[1]);
  const auto [lo, hi] = std::minmax_element(means.begin(), means.end());
  EXPECT_GT(*hi / *lo, 1.15);
}

}  // namespace
}  // namespace skynet::scenegen
