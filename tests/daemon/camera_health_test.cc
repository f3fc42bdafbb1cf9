#include "daemon/camera_health.h"

#include <gtest/gtest.h>

namespace skynet::daemon {
namespace {

constexpr int64_t kMinute = 60LL * 1'000'000;

TEST(EventWindowTest, CountsOnlyTheLastHour) {
  EventWindow w;
  const int64_t t0 = 1'000 * kMinute;
  w.Record(t0);
  w.Record(t0 + 30 * kMinute);
  EXPECT_EQ(w.Count(t0 + 30 * kMinute), 2u);
  EXPECT_EQ(w.Count(t0 + 59 * kMinute), 2u);
  EXPECT_EQ(w.Count(t0 + 60 * kMinute), 1u);  // the first is exactly an hour old: out
  EXPECT_EQ(w.Count(t0 + 91 * kMinute), 0u);
}

TEST(EventWindowTest, KeepsAtMostTheCap) {
  EventWindow w(60 * kMinute, 10);
  for (int i = 0; i < 100; ++i) w.Record(i);
  EXPECT_EQ(w.Count(100), 10u);
}

// A healthy online camera: 5 of 5 fps, no drops, no trouble, well past the warm-up.
HealthFigures Healthy() {
  HealthFigures h;
  h.online = true;
  h.online_seconds = 600;
  h.target_fps = 5;
  h.fps_analysed = 5;
  h.frames_in = 3000;
  return h;
}

TEST(GradeCameraTest, DisabledHasNoGradeOfflineIsUnusable) {
  HealthFigures h = Healthy();
  h.enabled = false;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_UNSPECIFIED);
  h = Healthy();
  h.online = false;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_UNUSABLE);
}

TEST(GradeCameraTest, ExcellentNeedsFullRateNoDropsNoTrouble) {
  EXPECT_EQ(GradeCamera(Healthy()), v1::GRADE_EXCELLENT);
  HealthFigures h = Healthy();
  h.fps_analysed = 4.6;  // 92%
  EXPECT_EQ(GradeCamera(h), v1::GRADE_EXCELLENT);
  h.reconnects_last_hour = 1;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_FAIR);
}

TEST(GradeCameraTest, FairAndPoorByRateDropsAndTrouble) {
  HealthFigures h = Healthy();
  h.fps_analysed = 3.5;  // 70%
  EXPECT_EQ(GradeCamera(h), v1::GRADE_FAIR);
  h.fps_analysed = 2.5;  // 50%
  EXPECT_EQ(GradeCamera(h), v1::GRADE_POOR);
  h = Healthy();
  h.frames_dropped = 150;  // 5%
  EXPECT_EQ(GradeCamera(h), v1::GRADE_FAIR);
  h.frames_dropped = 600;  // 20%
  EXPECT_EQ(GradeCamera(h), v1::GRADE_POOR);
  h = Healthy();
  h.reconnects_last_hour = 2;
  h.stalls_last_hour = 1;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_FAIR);
  h.stalls_last_hour = 2;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_POOR);
}

TEST(GradeCameraTest, FlappingIsUnusableEvenWhileOnline) {
  HealthFigures h = Healthy();
  h.reconnects_last_hour = 20;
  h.stalls_last_hour = 10;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_UNUSABLE);
}

TEST(GradeCameraTest, DegradedStreamIsPoorAtBestEvenAtFullRate) {
  HealthFigures h = Healthy();
  h.degraded = true;  // frames at full rate, but decoded from damaged data
  EXPECT_EQ(GradeCamera(h), v1::GRADE_POOR);
  h.reconnects_last_hour = 30;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_UNUSABLE);
}

TEST(GradeCameraTest, VideoQualityFaultIsPoorAtBestEvenAtFullRate) {
  HealthFigures h = Healthy();
  h.quality_fault = true;  // frames at full rate, but the picture is frozen, covered, moved...
  EXPECT_EQ(GradeCamera(h), v1::GRADE_POOR);
  h.online = false;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_UNUSABLE);
}

TEST(GradeCameraTest, RateIsNotJudgedDuringWarmUp) {
  HealthFigures h = Healthy();
  h.online_seconds = 1;
  h.fps_analysed = 0;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_EXCELLENT);
  h.online_seconds = kGradeWarmupSeconds;
  EXPECT_EQ(GradeCamera(h), v1::GRADE_POOR);
}

}  // namespace
}  // namespace skynet::daemon
