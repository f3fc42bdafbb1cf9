// EvidenceStore on real files in a temporary directory: layout, atomic writes, the scan at
// start, retention (age, per camera, total; never an open file).
#include "daemon/evidence_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/temp_dir.h"

namespace skynet::daemon {
namespace {

namespace fs = std::filesystem;
using skynet::testing::ReadFile;
using skynet::testing::TempDir;

constexpr int64_t kDay = int64_t{86400} * 1'000'000;
// 2026-12-06 14:05:00 UTC.
constexpr int64_t kCaptureUs = int64_t{1'796'565'900} * 1'000'000;

std::shared_ptr<EvidenceStore> OpenStore(const EvidenceStoreOptions& options, Clock* clock) {
  auto store = EvidenceStore::Open(options, clock);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? *store : nullptr;
}

TEST(EvidenceStoreTest, WritesUnderCameraKindDateAndCountsBytes) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenStore({.path = dir.File("ev")}, &clock);
  ASSERT_TRUE(store);
  Result<std::string> rel = store->WriteFile("cam1", "snapshots", "t12-crop.jpg", kCaptureUs,
                                             std::string(1000, 'j'));
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(*rel, "cam1/snapshots/2026-12-06/t12-crop.jpg");
  EXPECT_EQ(ReadFile(dir.File("ev/" + *rel)), std::string(1000, 'j'));
  // No temporary file is left next to it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.File("ev/cam1/snapshots/2026-12-06")),
                          fs::directory_iterator()),
            1);
  EXPECT_EQ(*store->Resolve(*rel), dir.File("ev/" + *rel));
  EXPECT_EQ(store->Resolve("cam1/../../etc/2026-12-06/passwd").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Resolve("cam1/snapshots/2026-12-06/nope.jpg").status().code(),
            StatusCode::kNotFound);

  auto file = store->Create("cam1", "clips", "t12.mp4", kCaptureUs);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Write("abcd", 4).ok());
  ASSERT_TRUE((*file)->Write("efgh", 4).ok());
  EXPECT_EQ((*file)->relative_path(), "cam1/clips/2026-12-06/t12.mp4");
  EvidenceStats st = store->stats();
  EXPECT_EQ(st.bytes, 1008);
  EXPECT_EQ(st.files, 2);
  EXPECT_EQ(st.open_files, 1);
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(ReadFile(dir.File("ev/cam1/clips/2026-12-06/t12.mp4")), "abcdefgh");
  st = store->stats();
  EXPECT_EQ(st.open_files, 0);
  EXPECT_EQ(st.files_written, 2u);

  // Replacing a file counts only the new one.
  ASSERT_TRUE(store->WriteFile("cam1", "snapshots", "t12-crop.jpg", kCaptureUs, "xy").ok());
  EXPECT_EQ(store->stats().bytes, 10);

  for (const auto& [cam, kind, name] :
       {std::tuple{"../x", "clips", "a.mp4"}, {"cam1", "cl/ips", "a.mp4"},
        {"cam1", "clips", ".hidden"}, {"cam1", "clips", ""}}) {
    EXPECT_EQ(store->WriteFile(cam, kind, name, kCaptureUs, "x").status().code(),
              StatusCode::kInvalidArgument)
        << cam << " " << kind << " " << name;
  }
}

TEST(EvidenceStoreTest, ScanCountsFilesSkipsTheUnexpectedAndRemovesUnfinishedWrites) {
  TempDir dir;
  const std::string ev = dir.File("ev");
  fs::create_directories(ev + "/cam1/clips/2026-12-05");
  fs::create_directories(ev + "/cam2/snapshots/2026-12-06");
  fs::create_directories(ev + "/cam2/snapshots/not-a-date");
  std::ofstream(ev + "/cam1/clips/2026-12-05/a.mp4") << std::string(300, 'a');
  std::ofstream(ev + "/cam2/snapshots/2026-12-06/b.jpg") << std::string(200, 'b');
  std::ofstream(ev + "/cam2/snapshots/2026-12-06/.c.jpg.tmp") << "partial";  // a crash
  std::ofstream(ev + "/cam2/snapshots/not-a-date/d.jpg") << "d";
  std::ofstream(ev + "/README") << "an operator's note";
  fs::create_symlink("/etc/passwd", ev + "/cam1/clips/2026-12-05/link.mp4");
  FakeClock clock;
  auto store = OpenStore({.path = ev}, &clock);
  ASSERT_TRUE(store);
  const EvidenceStats st = store->stats();
  EXPECT_EQ(st.files, 2);
  EXPECT_EQ(st.bytes, 500);
  EXPECT_EQ(st.skipped_at_scan, 3u);  // not-a-date, README, the symlink
  EXPECT_FALSE(fs::exists(ev + "/cam2/snapshots/2026-12-06/.c.jpg.tmp"));
  // What was skipped is left alone.
  EXPECT_TRUE(fs::exists(ev + "/README"));
  EXPECT_TRUE(fs::exists(ev + "/cam2/snapshots/not-a-date/d.jpg"));
}

TEST(EvidenceStoreTest, TotalLimitDeletesTheOldestFirstButNeverAnOpenFile) {
  TempDir dir;
  FakeClock clock;
  auto store = OpenStore({.path = dir.File("ev"), .max_bytes = 1000}, &clock);
  ASSERT_TRUE(store);
  // The oldest file is a clip still being written.
  auto open = store->Create("cam1", "clips", "0-open.mp4", kCaptureUs);
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE((*open)->Write(std::string(300, 'o').data(), 300).ok());
  std::vector<std::string> rels;
  for (int i = 1; i <= 5; ++i) {
    clock.AdvanceUs(1'000'000);
    auto rel = store->WriteFile("cam1", "snapshots", std::to_string(i) + ".jpg", kCaptureUs,
                                std::string(200, 's'));
    ASSERT_TRUE(rel.ok());
    rels.push_back(*rel);
  }
  // 300 open + 5 x 200 = 1300 > 1000: the oldest closed ones (1, 2) went, the open one stays.
  const std::string ev = dir.File("ev/");
  EXPECT_TRUE(fs::exists(ev + (*open)->relative_path()));
  EXPECT_FALSE(fs::exists(ev + rels[0]));
  EXPECT_FALSE(fs::exists(ev + rels[1]));
  for (int i = 2; i < 5; ++i) EXPECT_TRUE(fs::exists(ev + rels[i])) << rels[i];
  EvidenceStats st = store->stats();
  EXPECT_EQ(st.bytes, 900);
  EXPECT_EQ(st.files_deleted, 2u);
  // Once closed (and now the newest), the clip is kept and the oldest snapshot goes instead.
  clock.AdvanceUs(1'000'000);
  ASSERT_TRUE((*open)->Write(std::string(200, 'o').data(), 200).ok());
  ASSERT_TRUE((*open)->Close().ok());
  EXPECT_TRUE(fs::exists(ev + (*open)->relative_path()));
  EXPECT_FALSE(fs::exists(ev + rels[2]));
  EXPECT_LE(store->stats().bytes, 1000);
}

TEST(EvidenceStoreTest, PerCameraLimitTouchesOnlyThatCamera) {
  TempDir dir;
  FakeClock clock;
  auto store =
      OpenStore({.path = dir.File("ev"), .max_bytes_per_camera = 500}, &clock);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->WriteFile("quiet", "snapshots", "q.jpg", kCaptureUs, std::string(400, 'q')).ok());
  for (int i = 0; i < 5; ++i) {
    clock.AdvanceUs(1'000'000);
    ASSERT_TRUE(store->WriteFile("busy", "snapshots", std::to_string(i) + ".jpg", kCaptureUs,
                                 std::string(200, 'b'))
                    .ok());
  }
  EXPECT_TRUE(fs::exists(dir.File("ev/quiet/snapshots/2026-12-06/q.jpg")));
  EXPECT_FALSE(fs::exists(dir.File("ev/busy/snapshots/2026-12-06/2.jpg")));
  EXPECT_TRUE(fs::exists(dir.File("ev/busy/snapshots/2026-12-06/3.jpg")));
  EXPECT_EQ(store->stats().bytes, 800);
}

TEST(EvidenceStoreTest, AgeLimitDeletesOldFilesFoundAtStartAndWrittenSince) {
  TempDir dir;
  const std::string ev = dir.File("ev");
  fs::create_directories(ev + "/cam1/clips/2026-11-01");
  const std::string old_file = ev + "/cam1/clips/2026-11-01/old.mp4";
  std::ofstream(old_file) << "old";
  fs::last_write_time(old_file, fs::file_time_type::clock::now() - std::chrono::hours(24 * 40));
  std::ofstream(ev + "/cam1/clips/2026-11-01/new.mp4") << "new";
  FakeClock clock(std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
  auto store = OpenStore({.path = ev, .retention_days = 30}, &clock);
  ASSERT_TRUE(store);
  EXPECT_FALSE(fs::exists(old_file));
  EXPECT_EQ(store->stats().files, 1);
  clock.AdvanceUs(31 * kDay);
  store->ApplyRetention();
  EXPECT_EQ(store->stats().files, 0);
  EXPECT_FALSE(fs::exists(ev + "/cam1/clips/2026-11-01"));  // the emptied date directory
}

TEST(EvidenceStoreTest, AVehiclesSnapshotsAreOneUnitDeletedTogetherAndTheListenerIsTold) {
  EXPECT_EQ(EvidenceStore::UnitOf("c/snapshots/2026-12-06/track-7-123-crop.jpg"),
            "c/snapshots/2026-12-06/track-7-123");
  EXPECT_EQ(EvidenceStore::UnitOf("c/clips/2026-12-06/140502-rule-t7.mp4"),
            "c/clips/2026-12-06/140502-rule-t7.mp4");
  TempDir dir;
  FakeClock clock;
  auto store = OpenStore({.path = dir.File("ev"), .max_bytes = 1000}, &clock);
  ASSERT_TRUE(store);
  std::vector<std::string> told;
  store->SetDeletionListener([&](std::vector<std::string> deleted) {
    told.insert(told.end(), deleted.begin(), deleted.end());
  });
  // Vehicle 1's crop is the oldest file, a clip comes between it and its scene: space pressure
  // takes the whole vehicle (crop and scene), not the clip.
  auto crop1 = store->WriteFile("cam1", "snapshots", "track-1-100-crop.jpg", kCaptureUs,
                                std::string(200, 'c'));
  clock.AdvanceUs(1'000'000);
  auto clip = store->WriteFile("cam1", "clips", "140500-rule-t1.mp4", kCaptureUs,
                               std::string(300, 'v'));
  clock.AdvanceUs(1'000'000);
  auto scene1 = store->WriteFile("cam1", "snapshots", "track-1-100-scene.jpg", kCaptureUs,
                                 std::string(200, 's'));
  clock.AdvanceUs(1'000'000);
  auto crop2 = store->WriteFile("cam1", "snapshots", "track-2-200-crop.jpg", kCaptureUs,
                                std::string(200, 'c'));
  ASSERT_TRUE(crop1.ok() && clip.ok() && scene1.ok() && crop2.ok());
  EXPECT_TRUE(told.empty());
  clock.AdvanceUs(1'000'000);
  auto scene2 = store->WriteFile("cam1", "snapshots", "track-2-200-scene.jpg", kCaptureUs,
                                 std::string(200, 's'));
  ASSERT_TRUE(scene2.ok());
  // 1100 > 1000: vehicle 1 (400 bytes) went whole; the clip, older than its scene, stayed.
  EXPECT_EQ(told, (std::vector<std::string>{*crop1, *scene1}));
  EXPECT_FALSE(store->Contains(*crop1));
  EXPECT_FALSE(store->Contains(*scene1));
  EXPECT_TRUE(store->Contains(*clip));
  EXPECT_FALSE(fs::exists(dir.File("ev/" + *scene1)));
  EXPECT_EQ(store->stats().bytes, 700);
  EXPECT_EQ(store->Files("snapshots").size(), 2u);
  EXPECT_EQ(store->Files("clips", "cam1").size(), 1u);
  // Delete() takes what it is given, never an open file, and tells nobody.
  auto open = store->Create("cam1", "clips", "open.mp4", kCaptureUs);
  ASSERT_TRUE(open.ok());
  told.clear();
  EXPECT_EQ(store->Delete({*clip, (*open)->relative_path(), "cam1/clips/2026-12-06/none.mp4"}),
            (std::vector<std::string>{*clip}));
  EXPECT_TRUE(told.empty());
  EXPECT_TRUE(store->Contains((*open)->relative_path()));
}

TEST(EvidenceStoreTest, UnwritableDirectoryIsAnErrorNamingThePath) {
  TempDir dir;
  std::ofstream(dir.File("file")) << "x";
  auto store = EvidenceStore::Open({.path = dir.File("file/ev")});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(dir.File("file/ev")), std::string::npos)
      << store.status().message();
}

}  // namespace
}  // namespace skynet::daemon
