// Clip faults (issue 16 item 2) on a real skynetd and camsim:
//   - kill -9 while a clip is being written: the file on disk is a fragmented MP4 that ffprobe
//     reads from its first key frame up to its last whole fragment;
//   - the evidence directory's disk fills up (a small tmpfs): evidence writing stops with the
//     alarm (the log line naming the path), the daemon keeps publishing, and exits cleanly.
//     Skipped where a tmpfs cannot be mounted;
//   - the same full disk shows in `skynetctl status` (an alarm line, the node DEGRADED) and
//     `top`'s model, and clears once space is freed.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "tests/integration/clip_daemon.h"
#include "tests/testing/ffprobe.h"
#include "tests/testing/tmpfs.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::ReadFile;
using testing::TempDir;

// The largest .mp4 under `dir` and its size ("" if none).
std::pair<std::string, uintmax_t> LargestClip(const std::string& dir) {
  std::pair<std::string, uintmax_t> best{"", 0};
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".mp4") continue;
    const uintmax_t size = std::filesystem::file_size(it->path(), ec);
    if (!ec && size > best.second) best = {it->path().string(), size};
  }
  return best;
}

TEST(ClipsFaultTest, Kill9DuringAClipLeavesAPlayableFile) {
  TempDir dir;
  testing::ClipDaemon d;
  // A long post-roll: the clip is still being written when the daemon dies.
  d.Start(dir, dir.File("evidence"), "  pre_roll_s: 2\n  post_roll_s: 60\n");
  std::pair<std::string, uintmax_t> clip;
  ASSERT_TRUE(testing::WaitFor([&] {
    clip = LargestClip(d.evidence);
    return clip.second > 30'000;  // a few fragments (one a second)
  }, 120s)) << ReadFile(d.log);
  ASSERT_EQ(::kill(d.daemon->pid(), SIGKILL), 0);
  d.daemon->Wait(10s);
  clip = LargestClip(d.evidence);
  testing::Probe probe = testing::Ffprobe(clip.first);
  ASSERT_TRUE(testing::PlaysFromAKeyFrame(probe)) << clip.first;
  ASSERT_GE(probe.frames.size(), 10u);
  std::printf("FIGURES kill -9 during a clip: %ju bytes on disk, %zu frames playable (%.1f s)\n",
              clip.second, probe.frames.size(),
              probe.frames.back().pts_s - probe.frames.front().pts_s);
}

TEST(ClipsFaultTest, DiskFullStopsEvidenceWithAnAlarmAndTheFeedGoesOn) {
  TempDir dir;
  const std::string mnt = dir.File("mnt");
  testing::Tmpfs tmpfs(mnt, 4 << 20);
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  testing::ClipDaemon d;
  d.Start(dir, mnt + "/evidence", "  pre_roll_s: 2\n  post_roll_s: 30\n");
  auto feed = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {""});
  ASSERT_TRUE(feed.ok());
  ASSERT_TRUE(testing::WaitFor([&] { return LargestClip(d.evidence).second > 10'000; }, 120s))
      << ReadFile(d.log);
  ASSERT_GT(testing::Fill(mnt + "/filler"), 0u);
  ASSERT_TRUE(testing::WaitFor([&] {
    return ReadFile(d.log).find("disk full (No space left on device): evidence writing stopped") !=
           std::string::npos;
  }, 120s)) << ReadFile(d.log);
  EXPECT_NE(ReadFile(d.log).find("evidence " + mnt + "/evidence/cam0/clips/"), std::string::npos);
  // The daemon goes on publishing (heartbeats every 100 ms, camera events).
  uint64_t first = 0, last = 0;
  ASSERT_TRUE(testing::WaitFor([&] {
    auto ev = feed->Next(200);
    if (ev.ok() && *ev) {
      if (first == 0) first = (*ev)->seq();
      last = (*ev)->seq();
    }
    return first > 0 && last >= first + 50;
  }, 60s));
  EXPECT_TRUE(d.daemon->Running());
  EXPECT_EQ(d.daemon->SignalAndWait(SIGTERM, 60s), 0) << ReadFile(d.log);
}

TEST(ClipsFaultTest, StatusShowsTheEvidenceAlarmWhileTheDiskIsFullAndClearsAfter) {
  TempDir dir;
  const std::string mnt = dir.File("mnt");
  testing::Tmpfs tmpfs(mnt, 4 << 20);
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  testing::ClipDaemon d;
  d.Start(dir, mnt + "/evidence", "  pre_roll_s: 2\n  post_roll_s: 4\n");
  auto status = [&] {
    return testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"status"});
  };
  testing::ToolRun run;
  ASSERT_TRUE(testing::WaitFor([&] {
    run = status();
    return run.code == 0 && run.out.find("  evidence: ") != std::string::npos;
  }, 60s)) << run.out << run.err;
  EXPECT_EQ(run.out.find("ALARM"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("DEGRADED"), std::string::npos) << run.out;
  ASSERT_TRUE(testing::WaitFor([&] { return LargestClip(d.evidence).second > 10'000; }, 120s))
      << ReadFile(d.log);
  ASSERT_GT(testing::Fill(mnt + "/filler"), 0u);
  // The next evidence write fails: the alarm shows, naming the directory's file and the error.
  ASSERT_TRUE(testing::WaitFor([&] {
    run = status();
    return run.out.find("evidence: ALARM: writing STOPPED since") != std::string::npos;
  }, 120s)) << run.out << ReadFile(d.log);
  EXPECT_NE(run.out.find("DEGRADED (evidence writing stopped)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("No space left on device"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(mnt + "/evidence/cam0/"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("writes refused"), std::string::npos) << run.out;
  std::printf("FIGURES status while full:\n%s", run.out.c_str());
  // Space freed: the next try (every 10 s) writes again and the alarm clears.
  std::filesystem::remove(mnt + "/filler");
  ASSERT_TRUE(testing::WaitFor([&] {
    run = status();
    return run.code == 0 && run.out.find("  evidence: ") != std::string::npos &&
           run.out.find("ALARM") == std::string::npos;
  }, 120s)) << run.out << ReadFile(d.log);
  EXPECT_EQ(run.out.find("DEGRADED"), std::string::npos) << run.out;
  EXPECT_NE(ReadFile(d.log).find("writing again"), std::string::npos);
  EXPECT_EQ(d.daemon->SignalAndWait(SIGTERM, 60s), 0) << ReadFile(d.log);
}

}  // namespace
}  // namespace skynet
