#include "daemon/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;

std::string Payload(uint64_t seq, size_t size = 100) {
  std::string p(size, 'x');
  const std::string s = std::to_string(seq);
  p.replace(0, s.size(), s);
  return p;
}

// Appends seqs first..last in batches of `batch`.
void AppendRange(Journal& j, uint64_t first, uint64_t last, size_t batch = 64, size_t size = 100) {
  std::vector<std::string> payloads;
  std::vector<Journal::Entry> entries;
  for (uint64_t s = first; s <= last;) {
    payloads.clear();
    entries.clear();
    for (size_t i = 0; i < batch && s <= last; ++i, ++s) payloads.push_back(Payload(s, size));
    for (size_t i = 0; i < payloads.size(); ++i) {
      entries.push_back({s - payloads.size() + i, payloads[i]});
    }
    ASSERT_TRUE(j.Append(entries).ok());
  }
}

std::vector<std::filesystem::path> Segments(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(JournalTest, AppendsAndReadsBackInOrder) {
  TempDir dir;
  auto j = Journal::Open({.dir = dir.File("j")});
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_TRUE((*j)->StartEpoch(100).ok());
  AppendRange(**j, 1, 1000);
  std::vector<JournalRecord> out;
  ASSERT_TRUE((*j)->ReadEpoch(100, 0, 100000, 1 << 30, &out).ok());
  ASSERT_EQ(out.size(), 1000u);
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i].seq, i + 1);
    ASSERT_EQ(out[i].payload, Payload(i + 1));
  }
  out.clear();
  ASSERT_TRUE((*j)->ReadEpoch(100, 700, 10, 1 << 30, &out).ok());
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(out.front().seq, 701u);
  EXPECT_EQ(out.back().seq, 710u);
  out.clear();
  ASSERT_TRUE((*j)->ReadEpoch(100, 1000, 10, 1 << 30, &out).ok());
  EXPECT_TRUE(out.empty());
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(epochs[0].first_seq, 1u);
  EXPECT_EQ(epochs[0].last_seq, 1000u);
}

TEST(JournalTest, StartEpochMustBeNewer) {
  TempDir dir;
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->StartEpoch(5).ok());
  AppendRange(**j, 1, 3);
  EXPECT_FALSE((*j)->StartEpoch(5).ok());
  EXPECT_FALSE((*j)->StartEpoch(4).ok());
  EXPECT_TRUE((*j)->StartEpoch(6).ok());
}

TEST(JournalTest, RollsSegmentsAndRemovesOldestBeyondMaxBytes) {
  TempDir dir;
  JournalOptions o{.dir = dir.path(), .max_bytes = 256 << 10, .segment_bytes = 64 << 10};
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->StartEpoch(1).ok());
  AppendRange(**j, 1, 10000);  // ~1.2 MB
  EXPECT_LE((*j)->total_bytes(), o.max_bytes + o.segment_bytes);
  EXPECT_LE(Segments(dir.path()).size(), 5u);
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_GT(epochs[0].first_seq, 5000u);
  EXPECT_EQ(epochs[0].last_seq, 10000u);
  // A read from before retention starts at the oldest retained record, across segments.
  std::vector<JournalRecord> out;
  ASSERT_TRUE((*j)->ReadEpoch(1, 0, 100000, 1 << 30, &out).ok());
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.front().seq, epochs[0].first_seq);
  EXPECT_EQ(out.back().seq, 10000u);
  for (size_t i = 1; i < out.size(); ++i) ASSERT_EQ(out[i].seq, out[i - 1].seq + 1);
}

TEST(JournalTest, RemovesSegmentsOlderThanMaxAge) {
  TempDir dir;
  FakeClock clock;
  JournalOptions o{.dir = dir.path(), .max_age_hours = 1};
  auto j = Journal::Open(o, &clock);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->StartEpoch(1).ok());
  AppendRange(**j, 1, 100);
  clock.AdvanceUs(int64_t{2} * 3600 * 1'000'000);
  ASSERT_TRUE((*j)->StartEpoch(2).ok());
  AppendRange(**j, 1, 10);  // a new segment: retention runs
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(epochs[0].epoch, 2u);
}

TEST(JournalTest, RecoveryTruncatesATornTailAndKeepsTheOldEpochReadable) {
  TempDir dir;
  {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(7).ok());
    AppendRange(**j, 1, 100);
  }
  // A crash in the middle of a write: half a record at the end.
  const auto seg = Segments(dir.path()).back();
  const auto good_size = std::filesystem::file_size(seg);
  {
    std::ofstream f(seg, std::ios::app | std::ios::binary);
    const char partial[] = {60, 0, 0, 0, 1, 2, 3, 4, 101, 0, 0, 0, 0, 0, 0, 0, 'a', 'b'};
    f.write(partial, sizeof partial);
  }
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery().truncated_segments, 1);
  EXPECT_EQ((*j)->recovery().truncated_bytes, 18u);
  EXPECT_EQ((*j)->recovery().records, 100u);
  EXPECT_EQ(std::filesystem::file_size(seg), good_size);
  EXPECT_EQ((*j)->LastEpoch(), 7u);
  ASSERT_TRUE((*j)->StartEpoch(8).ok());
  AppendRange(**j, 1, 5);
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[0].epoch, 7u);
  EXPECT_EQ(epochs[0].last_seq, 100u);
  EXPECT_EQ(epochs[1].epoch, 8u);
  EXPECT_EQ(epochs[1].last_seq, 5u);
  std::vector<JournalRecord> out;
  ASSERT_TRUE((*j)->ReadEpoch(7, 95, 100, 1 << 30, &out).ok());
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out.back().seq, 100u);
}

TEST(JournalTest, RecoveryCutsAtACorruptRecordAndRemovesAGarbageSegment) {
  TempDir dir;
  {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(3).ok());
    AppendRange(**j, 1, 100);
  }
  const auto seg = Segments(dir.path()).back();
  {
    // Flip one payload byte of record 50: 32-byte header, then 116 bytes per record.
    int fd = ::open(seg.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const off_t offset = 32 + 49 * 116 + 16 + 50;
    ASSERT_EQ(::pwrite(fd, "!", 1, offset), 1);
    ::close(fd);
  }
  std::ofstream(dir.File("00000000000000000002-00000000000000000001.seg")) << "garbage";
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery().truncated_segments, 1);
  EXPECT_EQ((*j)->recovery().removed_segments, 1);
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(epochs[0].last_seq, 49u);
}

}  // namespace
}  // namespace skynet::daemon
