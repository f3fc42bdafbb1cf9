#include "tools/scenegen/scene.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

namespace skynet::scenegen {
namespace {

std::unique_ptr<SceneRenderer> Make(SceneOptions o) {
  auto r = SceneRenderer::Create(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

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
      for (const auto& o : objects) {
        EXPECT_EQ(o.box & frame, o.box);
        EXPECT_GT(o.box.area(), 0);
      }
      // Nothing the truth counts is ever masked, so the flag is "any object in view".
      EXPECT_EQ(r->MovingOutsideMasks(f), !objects.empty()) << "frame " << f;
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

}  // namespace
}  // namespace skynet::scenegen
