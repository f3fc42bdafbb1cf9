#include "daemon/event_mapping.h"

#include <gtest/gtest.h>

namespace skynet::daemon {
namespace {

analytics::MotionObservation Observation(analytics::MotionEventType type) {
  analytics::MotionObservation o;
  o.event = type;
  o.motion_id = 42;
  o.changed_fraction = 0.125f;
  o.regions.push_back({cv::Rect2f(0.25f, 0.5f, 0.125f, 0.0625f), 0.75f});
  o.regions.push_back({cv::Rect2f(0.f, 0.f, 1.f, 1.f), 0.5f});
  o.started_at_us = 1'000'000;
  o.duration_ms = 2500;
  o.peak_changed_fraction = 0.25f;
  return o;
}

void ExpectRegions(const google::protobuf::RepeatedPtrField<v1::MotionRegion>& regions) {
  ASSERT_EQ(regions.size(), 2);
  EXPECT_FLOAT_EQ(regions[0].box().x(), 0.25f);
  EXPECT_FLOAT_EQ(regions[0].box().y(), 0.5f);
  EXPECT_FLOAT_EQ(regions[0].box().w(), 0.125f);
  EXPECT_FLOAT_EQ(regions[0].box().h(), 0.0625f);
  EXPECT_FLOAT_EQ(regions[0].fill(), 0.75f);
  EXPECT_FLOAT_EQ(regions[1].box().w(), 1.f);
  EXPECT_FLOAT_EQ(regions[1].fill(), 0.5f);
}

TEST(EventMappingTest, StartedAndUpdatedCarryIdRegionsAndChangedFraction) {
  for (const auto type :
       {analytics::MotionEventType::kStarted, analytics::MotionEventType::kUpdated}) {
    v1::Event ev;
    ASSERT_TRUE(FillMotionEvent(Observation(type), &ev));
    const bool started = type == analytics::MotionEventType::kStarted;
    ASSERT_EQ(ev.payload_case(), started ? v1::Event::kMotionStarted : v1::Event::kMotionUpdated);
    // The two payloads have the same fields: compare them as MotionStarted.
    v1::MotionStarted m;
    if (started) {
      m = ev.motion_started();
    } else {
      m.ParseFromString(ev.motion_updated().SerializeAsString());
    }
    EXPECT_EQ(m.motion_id(), 42u);
    EXPECT_FLOAT_EQ(m.changed_fraction(), 0.125f);
    ExpectRegions(m.regions());
  }
}

TEST(EventMappingTest, EndedCarriesStartDurationAndPeak) {
  v1::Event ev;
  ASSERT_TRUE(FillMotionEvent(Observation(analytics::MotionEventType::kEnded), &ev));
  ASSERT_EQ(ev.payload_case(), v1::Event::kMotionEnded);
  EXPECT_EQ(ev.motion_ended().motion_id(), 42u);
  EXPECT_EQ(ev.motion_ended().started_at_us(), 1'000'000);
  EXPECT_EQ(ev.motion_ended().duration_ms(), 2500);
  EXPECT_FLOAT_EQ(ev.motion_ended().peak_changed_fraction(), 0.25f);
}

TEST(EventMappingTest, NoLifecycleEventLeavesTheEventUntouched) {
  v1::Event ev;
  ev.set_camera_id("cam1");
  EXPECT_FALSE(FillMotionEvent(Observation(analytics::MotionEventType::kNone), &ev));
  EXPECT_EQ(ev.payload_case(), v1::Event::PAYLOAD_NOT_SET);
  EXPECT_EQ(ev.camera_id(), "cam1");
}

TEST(EventMappingTest, EnvelopeIsLeftToTheCaller) {
  v1::Event ev;
  ev.set_camera_id("cam1");
  ev.set_capture_time_us(7);
  ASSERT_TRUE(FillMotionEvent(Observation(analytics::MotionEventType::kStarted), &ev));
  EXPECT_EQ(ev.camera_id(), "cam1");
  EXPECT_EQ(ev.capture_time_us(), 7);
  EXPECT_EQ(ev.seq(), 0u);
  EXPECT_TRUE(ev.node_id().empty());
}

}  // namespace
}  // namespace skynet::daemon
