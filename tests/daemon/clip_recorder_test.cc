// ClipRecorder with a fake camera session (units pushed by the test), a recording feed and a real
// evidence store in a temporary directory: triggers, the pre-roll from a key frame, extension by
// a later event of the track, requests outside memory, and a clip cut short at stop.
#include "daemon/clip_recorder.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testing/fake_frame_source.h"
#include "tests/testing/recording_event_sink.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using namespace std::chrono_literals;
using skynet::testing::FakeSessionFactory;
using skynet::testing::RecordingEventSink;
using skynet::testing::TempDir;

constexpr int64_t kT0 = int64_t{1'796'565'900} * 1'000'000;  // 2026-12-06 14:05:00 UTC

// One camera at 10 fps with a key frame every second, its units pushed by the test.
class ClipRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = EvidenceStore::Open({.path = dir_.File("ev"), .sync = false});
    ASSERT_TRUE(opened.ok());
    store_ = *opened;
    recorder_ = std::make_unique<ClipRecorder>(
        ClipRecorderOptions{.pre_roll_us = 2'000'000, .post_roll_us = 1'000'000, .poll_ms = 10},
        store_, &sessions_, &feed_);
    ingest::SourceOptions o;
    o.camera_id = "cam1";
    o.url = "rtsp://10.0.0.1/s";
    auto made = recorder_->Create(o, {.on_frame = [](Frame&&) {}, .on_state = [](auto&) {}});
    ASSERT_TRUE(made.ok());
    source_ = std::move(made).value();
    source_->Start();
    format_ = std::make_shared<ingest::EncodedFormat>();
    format_->codec = "h264";
    format_->codec_data =
        std::string("\x01\x42\xc0\x1e\xff\xe1\x00\x04\x67\x42\xc0\x1e\x01\x00\x02\x68\xce", 17);
    format_->width = 320;
    format_->height = 180;
  }
  // Frames i in [from, to): capture kT0 + i * 100 ms.
  void Push(int from, int to) {
    for (int i = from; i < to; ++i) {
      ingest::EncodedUnit u;
      u.pts_ns = u.dts_ns = int64_t{i} * 100'000'000;
      u.capture_us = kT0 + int64_t{i} * 100'000;
      u.key = i % 10 == 0;
      u.data = std::make_shared<const std::string>(std::string("\x00\x00\x00\x02\x65\x88", 6));
      u.format = format_;
      ASSERT_TRUE(sessions_.Latest("cam1")->PushEncoded(std::move(u)));
    }
  }
  v1::Event Crossing(int frame, uint64_t track) {
    v1::Event e;
    e.set_camera_id("cam1");
    e.set_capture_time_us(kT0 + int64_t{frame} * 100'000);
    e.mutable_line_crossed()->set_track_id(track);
    return e;
  }
  std::vector<v1::Event> Stored() const { return feed_.Of(v1::Event::kClipStored); }

  TempDir dir_;
  FakeSessionFactory sessions_;
  RecordingEventSink feed_;
  std::shared_ptr<EvidenceStore> store_;
  std::unique_ptr<ClipRecorder> recorder_;
  std::unique_ptr<FrameSource> source_;
  std::shared_ptr<ingest::EncodedFormat> format_;
};

TEST_F(ClipRecorderTest, ARuleEventClipsFromTheKeyFrameBeforeThePreRollToThePostRoll) {
  Push(0, 60);
  recorder_->Publish(Crossing(55, 7));  // 5.5 s: from the key frame at 3.0 s (3.5 s - pre-roll)
  EXPECT_EQ(feed_.Of(v1::Event::kLineCrossed).size(), 1u);  // forwarded
  std::optional<ClipState> clip = recorder_->ClipOfTrack("cam1", 7);
  ASSERT_TRUE(clip);
  EXPECT_EQ(clip->file, "cam1/clips/2026-12-06/140505-rule-t7.mp4");
  recorder_->Publish(Crossing(62, 7));  // the same track again: extends to 7.2 s
  Push(60, 80);
  ASSERT_TRUE(skynet::testing::WaitFor([&] { return !Stored().empty(); }, 10s));
  const v1::ClipStored c = Stored().front().clip_stored();
  EXPECT_EQ(Stored().size(), 1u);
  EXPECT_EQ(c.file(), clip->file);
  EXPECT_TRUE(c.complete());
  EXPECT_EQ(c.track_id(), 7u);
  EXPECT_EQ(c.start_us(), kT0 + 3'000'000);
  EXPECT_EQ(c.end_us(), kT0 + 7'200'000);
  EXPECT_GT(c.bytes(), 0u);
  EXPECT_EQ(std::filesystem::file_size(dir_.File("ev/" + c.file())), c.bytes());
  EXPECT_TRUE(recorder_->Find(c.file())->done);
  EXPECT_EQ(recorder_->clip_stats().completed, 1u);
}

TEST_F(ClipRecorderTest, RequestsOutsideMemoryAreRefusedAndMotionIsOffByDefault) {
  Push(0, 300);  // 30 s: the ring keeps about 5 s
  Result<ClipState> old = recorder_->Start("cam1", kT0, kT0 + 2'000'000);
  EXPECT_EQ(old.status().code(), StatusCode::kNotFound);
  EXPECT_NE(old.status().message().find("no longer in memory"), std::string::npos);
  EXPECT_EQ(recorder_->Start("nope", kT0, kT0 + 1).status().code(), StatusCode::kNotFound);
  v1::Event motion;
  motion.set_camera_id("cam1");
  motion.set_capture_time_us(kT0 + 29'000'000);
  motion.mutable_motion_started();
  recorder_->Publish(motion);
  EXPECT_EQ(recorder_->clip_stats().started, 0u);
  EXPECT_EQ(recorder_->clip_stats().refused, 2u);
}

TEST_F(ClipRecorderTest, AClipStillBeingWrittenAtStopIsCutShortAndAnnounced) {
  Push(0, 50);
  Result<ClipState> st = recorder_->Start("cam1", kT0 + 3'000'000, kT0 + 20'000'000);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ASSERT_TRUE(skynet::testing::WaitFor([&] { return recorder_->Find(st->file)->bytes > 0; }, 10s));
  source_.reset();
  recorder_.reset();
  ASSERT_EQ(Stored().size(), 1u);
  EXPECT_FALSE(Stored().front().clip_stored().complete());
  EXPECT_EQ(Stored().front().clip_stored().trigger(), v1::CLIP_TRIGGER_REQUEST);
  EXPECT_EQ(Stored().front().clip_stored().end_us(), kT0 + 4'900'000);
}

TEST_F(ClipRecorderTest, ARemovedCamerasVideoLeavesMemory) {
  Push(0, 50);
  ASSERT_GT(recorder_->clip_stats().ring_bytes, 0);
  // While its source lives (a camera of that id added again meanwhile), the ring stays.
  recorder_->Released("cam1");
  EXPECT_GT(recorder_->clip_stats().ring_bytes, 0);
  ASSERT_TRUE(recorder_->Start("cam1", kT0 + 1'000'000, kT0 + 2'000'000).ok());
  source_.reset();
  recorder_->Released("cam1");
  EXPECT_EQ(recorder_->clip_stats().ring_bytes, 0);
  EXPECT_EQ(sessions_.released(), (std::vector<std::string>{"cam1", "cam1"}));
  EXPECT_EQ(recorder_->Start("cam1", kT0 + 1'000'000, kT0 + 2'000'000).status().code(),
            StatusCode::kNotFound);
}

// Continuous recording: back-to-back segments, each from a key frame, no unit lost or repeated.
TEST(ClipRecorderSegmentsTest, RecordedCamerasAreWrittenInSegmentsFromKeyFrames) {
  TempDir dir;
  auto store = EvidenceStore::Open({.path = dir.File("ev"), .sync = false});
  ASSERT_TRUE(store.ok());
  FakeSessionFactory sessions;
  RecordingEventSink feed;
  auto recorder = std::make_unique<ClipRecorder>(
      ClipRecorderOptions{.poll_ms = 10, .record_cameras = {"cam1"}, .segment_us = 2'000'000},
      *store, &sessions, &feed);
  ingest::SourceOptions o;
  o.camera_id = "cam1";
  o.url = "rtsp://10.0.0.1/s";
  auto made = recorder->Create(o, {.on_frame = [](Frame&&) {}, .on_state = [](auto&) {}});
  ASSERT_TRUE(made.ok());
  std::unique_ptr<FrameSource> source = std::move(made).value();
  source->Start();
  auto format = std::make_shared<ingest::EncodedFormat>();
  format->codec = "h264";
  format->codec_data =
      std::string("\x01\x42\xc0\x1e\xff\xe1\x00\x04\x67\x42\xc0\x1e\x01\x00\x02\x68\xce", 17);
  format->width = 320;
  format->height = 180;
  for (int i = 0; i < 75; ++i) {  // 7.5 s at 10 fps, a key frame each second
    ingest::EncodedUnit u;
    u.pts_ns = u.dts_ns = int64_t{i} * 100'000'000;
    u.capture_us = kT0 + int64_t{i} * 100'000;
    u.key = i % 10 == 0;
    u.data = std::make_shared<const std::string>(std::string("\x00\x00\x00\x02\x65\x88", 6));
    u.format = format;
    ASSERT_TRUE(sessions.Latest("cam1")->PushEncoded(std::move(u)));
    if (i == 5) {  // the first segment starts at the key frame before it saw the ring
      ASSERT_TRUE(skynet::testing::WaitFor(
          [&] {
            return recorder->Find("cam1/recordings/2026-12-06/140500.000000-segment.mp4")
                .has_value();
          },
          10s));
    }
  }
  // Segments of 2 s: 0-2.9 s (ends at the key frame after 2 s), 3-5.9 s; the third is open.
  ASSERT_TRUE(skynet::testing::WaitFor([&] { return recorder->clip_stats().segments >= 2; }, 10s));
  std::optional<ClipState> a =
      recorder->Find("cam1/recordings/2026-12-06/140500.000000-segment.mp4");
  std::optional<ClipState> b =
      recorder->Find("cam1/recordings/2026-12-06/140503.000000-segment.mp4");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->start_us, kT0);
  EXPECT_EQ(a->end_us, kT0 + 2'900'000);
  EXPECT_EQ(b->start_us, kT0 + 3'000'000);
  EXPECT_EQ(b->end_us, kT0 + 5'900'000);
  EXPECT_TRUE(feed.Of(v1::Event::kClipStored).empty());  // recordings are not announced
  // The third, still open, is closed at stop with what it has.
  const std::string third = "cam1/recordings/2026-12-06/140506.000000-segment.mp4";
  ASSERT_TRUE(skynet::testing::WaitFor([&] { return recorder->Find(third).has_value(); }, 10s));
  source.reset();
  recorder.reset();
  EXPECT_GT(std::filesystem::file_size(dir.File("ev/" + third)), 0u);
}

TEST(SegmentStartTest, ReadsTheCaptureTimeOfASegmentFromItsPath) {
  // 2026-12-06 14:05:00 UTC.
  constexpr int64_t kUs = int64_t{1'796'565'900} * 1'000'000;
  EXPECT_EQ(SegmentStartUs("cam1/recordings/2026-12-06/140500.482113-segment.mp4"), kUs + 482113);
  EXPECT_EQ(SegmentStartUs("cam1/recordings/2026-12-06/140500.000001-segment-2.mp4"), kUs + 1);
  EXPECT_EQ(SegmentStartUs("cam1/recordings/2026-12-06/140500-segment.mp4"), kUs);  // older name
  EXPECT_EQ(SegmentStartUs("cam1/recordings/2026-12-06/140500-rule-t3.mp4"), std::nullopt);
  EXPECT_EQ(SegmentStartUs("cam1/recordings/2026-12-06/140500.48-segment.mp4"), std::nullopt);
  EXPECT_EQ(SegmentStartUs("segment.mp4"), std::nullopt);
}

}  // namespace
}  // namespace skynet::daemon
