// One camera runner on recording fakes: the test is its session (frames, state changes) and its
// analytics worker (ProcessPending() on the test thread), and reads what it published.
#include "daemon/camera_runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/testing/fake_frame_source.h"
#include "tests/testing/recording_event_sink.h"

namespace skynet::daemon {
namespace {

using skynet::testing::FakeSession;
using skynet::testing::FakeSessionFactory;
using skynet::testing::RecordingEventSink;
using skynet::testing::RoadFrame;

class CameraRunnerTest : public ::testing::Test {
 protected:
  CameraRunnerTest() {
    config_.id = "cam1";
    config_.url = "rtsp://user:secret@127.0.0.1:8554/stream";
    config_.ingest.analytics_fps = 10;
  }

  // Creates and starts the runner; its session is session_.
  void Start(const CameraQualityOptions* quality = nullptr) {
    auto runner = CameraRunner::Create(config_, &sessions_, &sink_, &clock_, quality);
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    runner_ = std::move(runner).value();
    session_ = sessions_.Latest(config_.id);
    ASSERT_NE(session_, nullptr);
    EXPECT_FALSE(session_->started());
    runner_->Start([this] { ++wakeups_; });
    EXPECT_TRUE(session_->started());
  }
  // Pushes frame `index` and analyses it, as the camera's worker would on the wakeup.
  void Feed(int index, bool car) {
    ASSERT_TRUE(session_->PushFrame(RoadFrame(index, car)));
    runner_->ProcessPending();
  }
  bool PushState(ingest::SessionState state, ingest::StateReason reason) {
    ingest::StateChange c;
    c.state = state;
    c.reason = reason;
    return session_->PushState(c);
  }
  v1::CameraStatusInfo Status() const {
    v1::CameraStatusInfo s;
    runner_->FillStatus(&s);
    return s;
  }

  CameraConfig config_;
  FakeClock clock_;
  FakeSessionFactory sessions_;
  RecordingEventSink sink_;
  std::unique_ptr<CameraRunner> runner_;
  std::shared_ptr<FakeSession> session_;
  int wakeups_ = 0;
};

TEST_F(CameraRunnerTest, SessionGetsTheCamerasSourceOptions) {
  config_.ingest.rtsp_tcp = false;
  config_.ingest.detect_width = 480;
  config_.vehicles.enabled = true;
  Start();
  const ingest::SourceOptions& o = session_->options();
  EXPECT_EQ(o.camera_id, "cam1");
  EXPECT_EQ(o.url, config_.url);
  EXPECT_EQ(o.analytics_fps, 10);
  EXPECT_EQ(o.detect_width, 480);
  EXPECT_FALSE(o.rtsp_tcp);
  EXPECT_TRUE(o.color);  // vehicles need colour
}

TEST_F(CameraRunnerTest, MovingCarIsPublishedAsOneMotionInterval) {
  Start();
  ASSERT_TRUE(session_->GoOnline());
  int i = 0;
  for (; i < 5; ++i) Feed(i, false);   // the background
  for (; i < 30; ++i) Feed(i, true);   // a car drives in
  for (; i < 70; ++i) Feed(i, false);  // quiet for longer than end_quiet_ms
  EXPECT_EQ(wakeups_, 70);

  const auto started = sink_.Of(v1::Event::kMotionStarted);
  const auto ended = sink_.Of(v1::Event::kMotionEnded);
  ASSERT_EQ(started.size(), 1u);
  ASSERT_EQ(ended.size(), 1u);
  const v1::Event& s = started[0];
  EXPECT_EQ(s.camera_id(), "cam1");
  EXPECT_GT(s.capture_time_us(), RoadFrame(5, true).capture_time_us);
  EXPECT_EQ(s.stream_time_us(), s.capture_time_us() - RoadFrame(0, false).capture_time_us);
  EXPECT_FALSE(s.motion_started().regions().empty());
  EXPECT_EQ(ended[0].motion_ended().motion_id(), s.motion_started().motion_id());
  EXPECT_LT(ended[0].capture_time_us(), RoadFrame(70, false).capture_time_us);
  const uint64_t motion_events =
      started.size() + ended.size() + sink_.Count(v1::Event::kMotionUpdated);

  const v1::CameraStatusInfo st = Status();
  EXPECT_EQ(st.frames_in(), 70u);
  EXPECT_EQ(st.frames_analysed(), 70u);
  EXPECT_EQ(st.frames_dropped(), 0u);
  EXPECT_EQ(st.motion_events(), motion_events);
  EXPECT_FALSE(st.motion_active());

  CameraStats stats;
  runner_->FillStats(&stats);
  EXPECT_EQ(stats.camera_id, "cam1");
  EXPECT_EQ(stats.frames_analysed, 70u);
  EXPECT_EQ(stats.motion.frames, 70u);
  EXPECT_EQ(stats.events, sink_.events().size());
  EXPECT_FALSE(stats.vehicles);
}

TEST_F(CameraRunnerTest, StatusFollowsTheSessionAndStopPublishesTheFinalOne) {
  Start();
  EXPECT_EQ(Status().state(), v1::CAMERA_STATE_CONNECTING);
  EXPECT_EQ(Status().reason(), v1::STATUS_REASON_STARTED);
  ASSERT_TRUE(PushState(ingest::SessionState::kConnecting, ingest::StateReason::kStarted));
  ASSERT_TRUE(session_->GoOnline("h265", 1920, 1080));
  clock_.AdvanceUs(3'000'000);
  v1::CameraStatusInfo st = Status();
  EXPECT_EQ(st.id(), "cam1");
  EXPECT_EQ(st.state(), v1::CAMERA_STATE_ONLINE);
  EXPECT_EQ(st.reason(), v1::STATUS_REASON_CONNECTED);
  EXPECT_EQ(st.codec(), "h265");
  EXPECT_EQ(st.width(), 1920u);
  EXPECT_EQ(st.height(), 1080u);
  EXPECT_DOUBLE_EQ(st.online_seconds(), 3.0);
  EXPECT_TRUE(runner_->online());

  // A stall and a reconnect: counted over the last hour.
  ASSERT_TRUE(PushState(ingest::SessionState::kStalled, ingest::StateReason::kStall));
  ASSERT_TRUE(PushState(ingest::SessionState::kWaiting, ingest::StateReason::kStall));
  ASSERT_TRUE(PushState(ingest::SessionState::kConnecting, ingest::StateReason::kStall));
  ingest::SessionStats session_stats;
  session_stats.reconnects = 1;
  session_->SetStats(session_stats);
  st = Status();
  EXPECT_EQ(st.state(), v1::CAMERA_STATE_CONNECTING);
  EXPECT_EQ(st.stalls_last_hour(), 1u);
  EXPECT_EQ(st.reconnects_last_hour(), 1u);
  EXPECT_EQ(st.reconnects(), 1u);
  EXPECT_FALSE(runner_->online());

  const size_t before = sink_.events().size();
  runner_->Stop();
  EXPECT_TRUE(session_->stopped());
  const std::vector<v1::Event> events = sink_.events();
  ASSERT_EQ(events.size(), before + 1);
  EXPECT_EQ(events.back().camera_status().state(), v1::CAMERA_STATE_OFFLINE);
  EXPECT_EQ(events.back().camera_status().reason(), v1::STATUS_REASON_STOPPED);
  EXPECT_EQ(events.back().camera_id(), "cam1");
  // Every state change was published, in order.
  const auto status = sink_.Of(v1::Event::kCameraStatus);
  ASSERT_EQ(status.size(), 6u);
  EXPECT_EQ(status[1].camera_status().state(), v1::CAMERA_STATE_ONLINE);
  EXPECT_EQ(status[1].camera_status().codec(), "h265");
  EXPECT_EQ(status[2].camera_status().state(), v1::CAMERA_STATE_STALLED);
}

TEST_F(CameraRunnerTest, StreamChangeIsPublishedOnceWithOldAndNew) {
  Start();
  ASSERT_TRUE(session_->GoOnline("h264", 1280, 720));
  ingest::StateChange c;
  c.state = ingest::SessionState::kOnline;
  c.reason = ingest::StateReason::kStreamChanged;
  c.codec = "h265";
  c.width = 1920;
  c.height = 1080;
  ASSERT_TRUE(session_->PushState(c));

  // Online before and after: a StreamChanged alone, no repeated status.
  EXPECT_EQ(sink_.Count(v1::Event::kCameraStatus), 1u);
  const auto changed = sink_.Of(v1::Event::kStreamChanged);
  ASSERT_EQ(changed.size(), 1u);
  const v1::StreamChanged& sc = changed[0].stream_changed();
  EXPECT_EQ(changed[0].camera_id(), "cam1");
  EXPECT_EQ(sc.old_codec(), "h264");
  EXPECT_EQ(sc.new_codec(), "h265");
  EXPECT_EQ(sc.old_width(), 1280u);
  EXPECT_EQ(sc.old_height(), 720u);
  EXPECT_EQ(sc.new_width(), 1920u);
  EXPECT_EQ(sc.new_height(), 1080u);
  EXPECT_EQ(Status().codec(), "h265");

  // The same stream after a reconnect: no change to report.
  ASSERT_TRUE(session_->GoOnline("h265", 1920, 1080));
  EXPECT_EQ(sink_.Count(v1::Event::kStreamChanged), 1u);
}

TEST_F(CameraRunnerTest, FramesTheAnalyticsCannotTakeAreDroppedAndCounted) {
  Start();
  ASSERT_TRUE(session_->GoOnline());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(session_->PushFrame(RoadFrame(i, false)));
  EXPECT_EQ(wakeups_, 5);
  runner_->ProcessPending();  // the two newest
  const v1::CameraStatusInfo st = Status();
  EXPECT_EQ(st.frames_in(), 5u);
  EXPECT_EQ(st.frames_dropped(), 3u);
  EXPECT_EQ(st.frames_analysed(), 2u);
  CameraStats stats;
  runner_->FillStats(&stats);
  EXPECT_EQ(stats.frames_queued, 5u);
  EXPECT_EQ(stats.queue_drops, 3u);
  EXPECT_EQ(stats.session.frames_delivered, 5u);
}

TEST_F(CameraRunnerTest, DisabledCameraSaysSoAndNeverStarts) {
  config_.enabled = false;
  auto runner = CameraRunner::Create(config_, &sessions_, &sink_, &clock_);
  ASSERT_TRUE(runner.ok());
  v1::CameraStatusInfo st;
  (*runner)->FillStatus(&st);
  EXPECT_EQ(st.state(), v1::CAMERA_STATE_DISABLED);
  EXPECT_EQ(st.detail(), "disabled");
  (*runner)->PublishStatus();
  ASSERT_EQ(sink_.events().size(), 1u);
  EXPECT_EQ(sink_.events()[0].camera_status().state(), v1::CAMERA_STATE_DISABLED);
  (*runner)->Stop();
  EXPECT_FALSE(sessions_.Latest("cam1")->started());
  EXPECT_EQ(sink_.events().size(), 1u);  // a session never started says nothing on stop
}

TEST_F(CameraRunnerTest, VehicleCountersAreReachable) {
  config_.vehicles.enabled = true;
  Start();
  ASSERT_TRUE(session_->GoOnline());
  for (int i = 0; i < 30; ++i) Feed(i, i >= 5);
  CameraStats stats;
  runner_->FillStats(&stats);
  EXPECT_TRUE(stats.vehicles);
  EXPECT_EQ(stats.vehicle.pipeline.frames, 30u);
  EXPECT_EQ(stats.vehicle.analytics.frames, 30u);
  EXPECT_GT(stats.vehicle.classical.frames, 0u);  // the backend in use
  EXPECT_EQ(stats.vehicle.dnn.calls, 0);
  EXPECT_LE(stats.vehicle.pipeline.events, stats.events);
  EXPECT_EQ(stats.events, sink_.events().size());
}

// Removing, disabling or stopping a camera (all go through Stop()) ends what it has open: the
// motion interval and every live vehicle track get their end events, at the last analysed
// frame's time, before the camera's final status.
TEST_F(CameraRunnerTest, StopEndsTheOpenMotionIntervalAndLiveTracksBeforeTheFinalStatus) {
  config_.vehicles.enabled = true;
  Start();
  ASSERT_TRUE(session_->GoOnline());
  int i = 0;
  for (; i < 5; ++i) Feed(i, false);
  for (; i < 30; ++i) Feed(i, true);  // the car is still driving when the camera goes away
  ASSERT_EQ(sink_.Of(v1::Event::kMotionStarted).size(), 1u);
  ASSERT_TRUE(sink_.Of(v1::Event::kMotionEnded).empty());
  ASSERT_TRUE(Status().motion_active());
  std::set<uint64_t> live;
  for (const v1::Event& e : sink_.Of(v1::Event::kVehicleNew)) {
    live.insert(e.vehicle_new().track().track_id());
  }
  ASSERT_FALSE(live.empty()) << "the car was never tracked";

  const size_t before = sink_.events().size();
  runner_->Stop();
  runner_->Stop();  // a second Stop() (the destructor's) adds nothing
  const std::vector<v1::Event> events = sink_.events();
  ASSERT_GT(events.size(), before);
  size_t motion_ended = 0, status_at = events.size();
  std::set<uint64_t> ended;
  for (size_t k = before; k < events.size(); ++k) {
    const v1::Event& e = events[k];
    if (e.has_camera_status()) {
      status_at = std::min(status_at, k);
      continue;
    }
    EXPECT_LT(k, status_at) << "an end event after the final status";
    EXPECT_EQ(e.capture_time_us(), RoadFrame(29, true).capture_time_us);
    if (e.has_motion_ended()) {
      ++motion_ended;
      EXPECT_EQ(e.motion_ended().motion_id(),
                sink_.Of(v1::Event::kMotionStarted)[0].motion_started().motion_id());
    }
    if (e.has_vehicle_ended()) ended.insert(e.vehicle_ended().track().track_id());
  }
  EXPECT_EQ(motion_ended, 1u);
  EXPECT_EQ(ended, live);
  EXPECT_LT(status_at, events.size()) << "no final status";
  EXPECT_FALSE(Status().motion_active());
}

TEST_F(CameraRunnerTest, StopOfACameraThatAnalysedNothingEndsNothing) {
  Start();
  ASSERT_TRUE(session_->GoOnline());
  const size_t before = sink_.events().size();
  runner_->Stop();
  for (size_t k = before; k < sink_.events().size(); ++k) {
    EXPECT_TRUE(sink_.events()[k].has_camera_status());
  }
}

TEST_F(CameraRunnerTest, InvalidAnalyticsSettingsNameTheCamera) {
  config_.motion.start_frames = 0;
  auto runner = CameraRunner::Create(config_, &sessions_, &sink_, &clock_);
  ASSERT_FALSE(runner.ok());
  EXPECT_EQ(runner.status().message().rfind("cameras.cam1.motion: ", 0), 0u)
      << runner.status().message();
  EXPECT_EQ(sessions_.Count("cam1"), 0u);  // nothing connects for a camera that cannot run
}

// Video quality runs in every tier, the health tier's key frames included: its state changes
// are events, and a fault grades the camera poor while it stays online.
TEST_F(CameraRunnerTest, HealthTierSamplesVideoQualityAndAFaultGradesThePictureNotTheStream) {
  config_.ingest.analytics = ingest::AnalyticsTier::kHealth;
  CameraQualityOptions quality;
  quality.sample_interval_ms = 1000;
  quality.monitor.warmup_samples = 2;
  quality.monitor.frozen.enter_ms = 2000;
  Start(&quality);
  ASSERT_TRUE(session_->GoOnline());
  // One key frame a second; `still`: the same picture again.
  auto feed = [&](int second, const cv::Mat& still) {
    Frame f = RoadFrame(second, false);
    if (!still.empty()) f.image = still;
    f.capture_time_us = 1'700'000'000'000'000 + second * int64_t{1'000'000};
    clock_.AdvanceUs(1'000'000);
    ASSERT_TRUE(session_->PushFrame(std::move(f)));
    runner_->ProcessPending();
  };
  int second = 0;
  for (; second < 6; ++second) feed(second, {});
  EXPECT_EQ(sink_.Count(v1::Event::kVideoQuality), size_t{analytics::kQualityCheckCount});
  EXPECT_EQ(sink_.Count(v1::Event::kMotionStarted), 0u);  // health: no motion analytics
  v1::CameraStatusInfo st = Status();
  EXPECT_EQ(st.quality(), v1::QUALITY_STATE_OK);
  EXPECT_NE(st.grade(), v1::GRADE_POOR);

  const cv::Mat still = RoadFrame(second, false).image;
  for (const int end = second + 5; second < end; ++second) feed(second, still);
  const auto changes = sink_.Of(v1::Event::kVideoQuality);
  ASSERT_EQ(changes.size(), size_t{analytics::kQualityCheckCount} + 1);
  const v1::Event& fault = changes.back();
  EXPECT_EQ(fault.camera_id(), "cam1");
  EXPECT_EQ(fault.video_quality().check(), "frozen");
  EXPECT_EQ(fault.video_quality().to(), v1::QUALITY_STATE_FAULT);
  EXPECT_GT(fault.capture_time_us(), 1'700'000'000'000'000);
  st = Status();
  EXPECT_EQ(st.state(), v1::CAMERA_STATE_ONLINE);
  EXPECT_EQ(st.quality(), v1::QUALITY_STATE_FAULT);
  ASSERT_EQ(st.quality_faults_size(), 1);
  EXPECT_EQ(st.quality_faults(0), "frozen");
  EXPECT_EQ(st.grade(), v1::GRADE_POOR);
  CameraStats stats;
  runner_->FillStats(&stats);
  ASSERT_EQ(stats.quality.size(), size_t{analytics::kQualityCheckCount});
  EXPECT_EQ(stats.quality[int(analytics::QualityCheck::kFrozen)].state,
            analytics::QualityState::kFault);
  v1::CameraQualityInfo info;
  runner_->FillQuality(&info);
  EXPECT_TRUE(info.enabled());
  EXPECT_EQ(info.samples(), 11u);
  EXPECT_TRUE(runner_->AcceptView().ok());  // not kept: no reference file configured
}

TEST_F(CameraRunnerTest, WithoutVideoQualityThereIsNothingToAccept) {
  Start();
  v1::CameraQualityInfo info;
  runner_->FillQuality(&info);
  EXPECT_EQ(info.camera_id(), "cam1");
  EXPECT_FALSE(info.enabled());
  EXPECT_EQ(runner_->AcceptView().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Status().quality(), v1::QUALITY_STATE_UNSPECIFIED);
}

}  // namespace
}  // namespace skynet::daemon
