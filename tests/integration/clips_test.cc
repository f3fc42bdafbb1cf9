// Clips end to end (issue 16 item 2): camsim's traffic camera, a real skynetd with evidence on.
// A vehicle crossing the line sets off a clip (ClipStored on the feed, named in the track's
// record); `skynetctl clip EVENT` fetches it over the control socket; ffprobe reads it: it
// starts at a key frame at least the pre-roll before the event and runs past the event. A clip
// of a record (CAMERA:TRACK) is the same file; a clip of a time range is cut from memory.
// A recorded camera's range older than its memory is cut from its recorded segments, across
// a segment boundary; a range never recorded, and a damaged segment, are said clearly.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>

#include "daemon/clip_recorder.h"
#include "tests/integration/clip_daemon.h"
#include "tests/testing/ffprobe.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::ReadFile;
using testing::TempDir;

constexpr int64_t kPreRollUs = 2'000'000;
constexpr int64_t kPostRollUs = 2'000'000;

TEST(ClipsTest, AVehicleRuleClipIsFetchedByEventRecordAndTimeAndPlaysFromTheKeyFrame) {
  TempDir dir;
  testing::ClipDaemon d;
  d.Start(dir, dir.File("evidence"), "  pre_roll_s: 2\n  post_roll_s: 2\n");
  auto feed = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {"traffic/", "clip/", "record/"});
  ASSERT_TRUE(feed.ok());

  // A line crossing, its clip and its record.
  std::optional<v1::Event> crossing, stored, record;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while ((!crossing || !stored || !record) && std::chrono::steady_clock::now() < deadline) {
    auto ev = feed->Next(500);
    ASSERT_TRUE(ev.ok()) << ev.status().message();
    if (!*ev) continue;
    const v1::Event& e = **ev;
    if (!crossing && e.has_line_crossed()) crossing = e;
    if (crossing && e.has_clip_stored() &&
        e.clip_stored().track_id() == crossing->line_crossed().track_id()) {
      stored = e;
    }
    if (crossing && e.has_vehicle_record() &&
        e.vehicle_record().track_id() == crossing->line_crossed().track_id()) {
      record = e;
    }
  }
  ASSERT_TRUE(crossing && stored && record) << ReadFile(d.log);
  const v1::ClipStored& clip = stored->clip_stored();
  EXPECT_TRUE(clip.complete());
  EXPECT_EQ(clip.trigger(), v1::CLIP_TRIGGER_VEHICLE_RULE);
  EXPECT_EQ(record->vehicle_record().clip_file(), clip.file());
  const int64_t event_us = crossing->capture_time_us();
  EXPECT_LE(clip.start_us(), event_us - kPreRollUs);
  EXPECT_GT(clip.start_us(), event_us - kPreRollUs - 1'200'000);  // a key frame each second
  EXPECT_GE(clip.end_us(), event_us + kPostRollUs - 200'000);
  EXPECT_TRUE(std::filesystem::exists(d.evidence + "/" + clip.file()));

  // By event id, over the control socket.
  testing::ToolRun run = testing::RunSkynetctl(
      dir, dir.Ipc("control.sock"), {"clip", crossing->event_id(), "-o", dir.File("event.mp4")});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find(clip.file()), std::string::npos) << run.out;
  EXPECT_EQ(ReadFile(dir.File("event.mp4")), ReadFile(d.evidence + "/" + clip.file()));
  testing::Probe probe = testing::Ffprobe(dir.File("event.mp4"));
  ASSERT_TRUE(testing::PlaysFromAKeyFrame(probe));
  EXPECT_EQ(probe.codec, "h264");
  EXPECT_EQ(probe.width, 320);
  // The event's frame is inside: the clip runs from its start past the event.
  const double event_s = (event_us - clip.start_us()) / 1e6;
  EXPECT_GE(probe.frames.back().pts_s - probe.frames.front().pts_s, event_s);
  EXPECT_GE(probe.frames.size(), static_cast<size_t>((kPreRollUs + kPostRollUs) / 1e6 * 10 * 0.8));

  // By record: the same clip.
  run = testing::RunSkynetctl(
      dir, dir.Ipc("control.sock"),
      {"clip", "cam0:" + std::to_string(record->vehicle_record().track_id()), "-o",
       dir.File("record.mp4")});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(ReadFile(dir.File("record.mp4")), ReadFile(dir.File("event.mp4")));

  // A time range still in memory (the last two seconds of video the feed has reported).
  int64_t now_us = 0;
  ASSERT_TRUE(testing::WaitFor([&] {
    auto ev = feed->Next(200);
    if (ev.ok() && *ev && (*ev)->capture_time_us() > now_us) now_us = (*ev)->capture_time_us();
    return now_us > clip.end_us() + 1'000'000;
  }, 60s));
  run = testing::RunSkynetctl(dir, dir.Ipc("control.sock"),
                              {"clip", "--camera", "cam0", "--from", std::to_string(now_us - 2'000'000),
                               "--to", std::to_string(now_us), "-o", dir.File("range.mp4")});
  ASSERT_EQ(run.code, 0) << run.err << ReadFile(d.log);
  probe = testing::Ffprobe(dir.File("range.mp4"));
  ASSERT_TRUE(testing::PlaysFromAKeyFrame(probe));
  EXPECT_GE(probe.frames.size(), 15u);

  // What is no longer in memory is refused with a reason.
  run = testing::RunSkynetctl(dir, dir.Ipc("control.sock"),
                              {"clip", "--camera", "cam0", "--from", "1000000000000000", "--to",
                               "1000000001000000", "-o", dir.File("old.mp4")});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("no longer in memory"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("camera cam0 is not recorded continuously"), std::string::npos)
      << run.err;

  EXPECT_EQ(d.daemon->SignalAndWait(SIGTERM, 60s), 0);
}

TEST(ClipsTest, ARangeOlderThanMemoryIsCutFromTheRecordedSegmentsAcrossABoundary) {
  TempDir dir;
  testing::ClipDaemon d;
  // Memory keeps about 4 s (pre- and post-roll 1 s); segments of 10 s.
  d.Start(dir, dir.File("evidence"),
          "  pre_roll_s: 1\n  post_roll_s: 1\n  record_cameras: [cam0]\n  segment_s: 10\n");
  auto feed = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {"clip/"});
  ASSERT_TRUE(feed.ok());
  const std::string recordings = d.evidence + "/cam0/recordings";
  // Segments in time order: (start, path relative to the evidence directory).
  auto segments = [&] {
    std::vector<std::pair<int64_t, std::string>> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(recordings, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const std::string rel = std::filesystem::relative(it->path(), d.evidence).string();
      if (auto start = daemon::SegmentStartUs(rel)) out.emplace_back(*start, rel);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  // Two finished segments and the third being written.
  ASSERT_TRUE(testing::WaitFor([&] { return segments().size() >= 3; }, 120s)) << ReadFile(d.log);
  const auto segs = segments();
  const int64_t from_us = segs[0].first + 5'500'000;
  const int64_t to_us = segs[1].first + 3'300'000;
  testing::ToolRun run = testing::RunSkynetctl(
      dir, dir.Ipc("control.sock"),
      {"clip", "--camera", "cam0", "--from", std::to_string(from_us), "--to",
       std::to_string(to_us), "-o", dir.File("recorded.mp4")});
  ASSERT_EQ(run.code, 0) << run.err << ReadFile(d.log);
  EXPECT_NE(run.out.find("cut from the recorded segments"), std::string::npos) << run.out;
  EXPECT_EQ(run.err.find("note:"), std::string::npos) << run.err;
  // Its ClipStored: the capture times it covers.
  std::optional<v1::ClipStored> stored;
  ASSERT_TRUE(testing::WaitFor([&] {
    auto ev = feed->Next(200);
    if (ev.ok() && *ev && (*ev)->has_clip_stored() &&
        (*ev)->clip_stored().trigger() == v1::CLIP_TRIGGER_REQUEST) {
      stored = (*ev)->clip_stored();
    }
    return stored.has_value();
  }, 30s));
  EXPECT_NE(run.out.find(stored->file()), std::string::npos) << run.out;
  EXPECT_LE(stored->start_us(), from_us);
  EXPECT_GT(stored->start_us(), from_us - 1'200'000);  // a key frame every second
  EXPECT_LE(stored->end_us(), to_us);
  EXPECT_GE(stored->end_us(), to_us - 150'000);
  testing::Probe probe = testing::Ffprobe(dir.File("recorded.mp4"));
  ASSERT_TRUE(testing::PlaysFromAKeyFrame(probe));
  EXPECT_EQ(probe.codec, "h264");
  EXPECT_EQ(probe.width, 320);
  // It plays from its key frame through `to`, across the boundary without a gap.
  const double span_s = (to_us - stored->start_us()) / 1e6;
  EXPECT_GE(probe.frames.back().pts_s - probe.frames.front().pts_s, span_s - 0.25);
  EXPECT_GE(probe.frames.size(), static_cast<size_t>(span_s * 10 * 0.9));
  double worst_gap = 0;
  for (size_t i = 1; i < probe.frames.size(); ++i) {
    worst_gap = std::max(worst_gap, probe.frames[i].pts_s - probe.frames[i - 1].pts_s);
  }
  EXPECT_LT(worst_gap, 0.35);
  std::printf("FIGURES clip from recordings: %zu frames, %.2f s, from %.3f s before `from`, "
              "largest gap %.3f s\n",
              probe.frames.size(), probe.frames.back().pts_s - probe.frames.front().pts_s,
              (from_us - stored->start_us()) / 1e6, worst_gap);

  // A range never recorded: refused, saying what is.
  run = testing::RunSkynetctl(dir, dir.Ipc("control.sock"),
                              {"clip", "--camera", "cam0", "--from", "1000000000000000", "--to",
                               "1000000010000000", "-o", dir.File("never.mp4")});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("camera cam0 has no recording of"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("recorded: "), std::string::npos) << run.err;

  // A damaged first segment is skipped with a note naming it; the clip starts in the next.
  std::filesystem::resize_file(d.evidence + "/" + segs[0].second, 64);
  run = testing::RunSkynetctl(
      dir, dir.Ipc("control.sock"),
      {"clip", "--camera", "cam0", "--from", std::to_string(from_us), "--to",
       std::to_string(to_us), "-o", dir.File("damaged.mp4")});
  ASSERT_EQ(run.code, 0) << run.err << ReadFile(d.log);
  EXPECT_NE(run.err.find("note: skipped damaged segment " + segs[0].second), std::string::npos)
      << run.err;
  probe = testing::Ffprobe(dir.File("damaged.mp4"));
  ASSERT_TRUE(testing::PlaysFromAKeyFrame(probe));

  EXPECT_EQ(d.daemon->SignalAndWait(SIGTERM, 60s), 0);
}

}  // namespace
}  // namespace skynet
