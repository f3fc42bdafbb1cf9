// Issue 16 item 2 faults: the evidence store on a full disk (a small tmpfs, filled up): writing
// stops with the alarm (stats, an Unavailable refusal), nothing throws, and writing resumes once
// space is free again. Skipped where a tmpfs cannot be mounted.
#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/evidence_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/tmpfs.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;

constexpr int64_t kCaptureUs = int64_t{1'796'565'900} * 1'000'000;

TEST(EvidenceFaultTest, DiskFullStopsWritingWithAnAlarmUntilSpaceIsFree) {
  TempDir dir;
  const std::string mnt = dir.File("mnt");
  skynet::testing::Tmpfs tmpfs(mnt, 1 << 20);
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  FakeClock clock;
  auto opened = EvidenceStore::Open({.path = mnt + "/ev", .disk_full_retry_s = 10}, &clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::shared_ptr<EvidenceStore> store = *opened;

  // A clip being written when the disk fills up.
  auto clip = store->Create("cam1", "clips", "a.mp4", kCaptureUs);
  ASSERT_TRUE(clip.ok());
  ASSERT_TRUE((*clip)->Write("ftyp", 4).ok());
  ASSERT_GT(skynet::testing::Fill(mnt + "/filler"), 0u);
  const std::string block(64 << 10, 'v');
  Status st = Status::Ok();
  for (int i = 0; i < 100 && st.ok(); ++i) st = (*clip)->Write(block.data(), block.size());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.message();
  EvidenceStats stats = store->stats();
  EXPECT_TRUE(stats.stopped);
  EXPECT_EQ(stats.disk_full, 1u);
  (void)(*clip)->Close();
  EXPECT_TRUE(std::filesystem::exists(mnt + "/ev/" + (*clip)->relative_path()));

  // Stopped: refused at once, counted.
  auto refused = store->WriteFile("cam1", "snapshots", "s.jpg", kCaptureUs, "jpeg");
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->stats().refused, 1u);

  // After the retry interval, still full: another failure, still one stop.
  clock.AdvanceUs(11'000'000);
  auto again = store->WriteFile("cam1", "snapshots", "s.jpg", kCaptureUs, block);
  EXPECT_EQ(again.status().code(), StatusCode::kIoError);
  EXPECT_TRUE(store->stats().stopped);
  EXPECT_EQ(store->stats().disk_full, 1u);

  // Space freed: the next try after the interval writes and resumes.
  std::filesystem::remove(mnt + "/filler");
  clock.AdvanceUs(11'000'000);
  auto resumed = store->WriteFile("cam1", "snapshots", "s.jpg", kCaptureUs, "jpeg");
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_FALSE(store->stats().stopped);
  // No temporary file of the failed attempts is left.
  for (const auto& e : std::filesystem::recursive_directory_iterator(mnt + "/ev")) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace skynet::daemon
