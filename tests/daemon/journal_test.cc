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
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".seg") out.push_back(e.path());
  }
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

TEST(JournalTest, RecoveryMovesATornTailAsideAndKeepsTheOldEpochReadable) {
  TempDir dir;
  {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(7).ok());
    AppendRange(**j, 1, 100);
  }
  // Half a record at the end (garbage: the last record, 100, was published and is intact).
  auto seg = Segments(dir.path()).back();
  ASSERT_EQ(seg.extension(), ".seg");
  const auto good_size = std::filesystem::file_size(seg);
  {
    std::ofstream f(seg, std::ios::app | std::ios::binary);
    const char partial[] = {60, 0, 0, 0, 1, 2, 3, 4, 101, 0, 0, 0, 0, 0, 0, 0, 'a', 'b'};
    f.write(partial, sizeof partial);
  }
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery().damaged_segments, 1);
  EXPECT_EQ((*j)->recovery().damaged_bytes, 18u);
  EXPECT_EQ((*j)->recovery().records, 100u);
  EXPECT_EQ((*j)->recovery().corrupt_seqs, 0u);  // 100 was the last seq published
  // Moved aside as it is, not truncated.
  EXPECT_FALSE(std::filesystem::exists(seg));
  EXPECT_EQ(std::filesystem::file_size(seg.string() + ".damaged"), good_size + 18);
  EXPECT_EQ((*j)->LastEpoch(), 7u);
  ASSERT_TRUE((*j)->StartEpoch(8).ok());
  AppendRange(**j, 1, 5);
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[0].epoch, 7u);
  EXPECT_EQ(epochs[0].last_seq, 100u);
  EXPECT_EQ(epochs[0].end_seq, 100u);
  EXPECT_TRUE(epochs[0].corrupt.empty());
  EXPECT_EQ(epochs[1].epoch, 8u);
  EXPECT_EQ(epochs[1].last_seq, 5u);
  std::vector<JournalRecord> out;
  ASSERT_TRUE((*j)->ReadEpoch(7, 95, 100, 1 << 30, &out).ok());
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out.back().seq, 100u);
}

TEST(JournalTest, RecoveryResynchronisesPastACorruptRecordAndKeepsAGarbageSegmentAside) {
  TempDir dir;
  {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(3).ok());
    AppendRange(**j, 1, 100);
  }
  const auto seg = Segments(dir.path()).front();
  ASSERT_EQ(seg.extension(), ".seg");
  {
    // Flip one payload byte of record 50: 40-byte header, then 120 bytes per record.
    int fd = ::open(seg.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const off_t offset = 40 + 49 * 120 + 20 + 50;
    ASSERT_EQ(::pwrite(fd, "!", 1, offset), 1);
    ::close(fd);
  }
  std::ofstream(dir.File("00000000000000000002-00000000000000000001.seg")) << "garbage";
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery().damaged_segments, 2);
  EXPECT_EQ((*j)->recovery().records, 99u);
  EXPECT_EQ((*j)->recovery().corrupt_seqs, 1u);
  EXPECT_TRUE(std::filesystem::exists(seg.string() + ".damaged"));
  EXPECT_TRUE(std::filesystem::exists(dir.File("00000000000000000002-00000000000000000001.seg.damaged")));
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(epochs[0].first_seq, 1u);
  EXPECT_EQ(epochs[0].last_seq, 100u);
  ASSERT_EQ(epochs[0].corrupt.size(), 1u);
  EXPECT_EQ(epochs[0].corrupt[0].first, 50u);
  EXPECT_EQ(epochs[0].corrupt[0].last, 50u);
  std::vector<JournalRecord> out;
  ASSERT_TRUE((*j)->ReadEpoch(3, 0, 1000, 1 << 30, &out).ok());
  ASSERT_EQ(out.size(), 99u);
  EXPECT_EQ(out[48].seq, 49u);
  EXPECT_EQ(out[49].seq, 51u);
  EXPECT_EQ(out[49].payload, Payload(51));
  out.clear();  // a read that starts inside the damaged segment after the hole
  ASSERT_TRUE((*j)->ReadEpoch(3, 60, 1000, 1 << 30, &out).ok());
  ASSERT_EQ(out.size(), 40u);
  EXPECT_EQ(out.front().seq, 61u);
  // A second start finds the same (the damaged file is scanned again, not renamed twice).
  j->reset();
  auto again = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->recovery().records, 99u);
  EXPECT_EQ((*again)->recovery().corrupt_seqs, 1u);
}

// A segment of format 1 (before sync markers), written by hand: still read, and resynchronised.
TEST(JournalTest, ReadsFormat1SegmentsAndResynchronisesInThem) {
  TempDir dir;
  std::string data("SKYJRNL1", 8);
  auto put64 = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) data.push_back(static_cast<char>(v >> (8 * i)));
  };
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) data.push_back(static_cast<char>(v >> (8 * i)));
  };
  put64(4);
  put64(1);
  put64(0);
  size_t record3 = 0;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    if (seq == 3) record3 = data.size();
    const std::string p = Payload(seq, 40);
    char s[8];
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(seq >> (8 * i));
    put32(static_cast<uint32_t>(p.size()));
    put32(Crc32c(Crc32c(0, s, 8), p.data(), p.size()));
    put64(seq);
    data += p;
  }
  data[record3 + 20] ^= 0x20;  // a payload byte of seq 3
  std::ofstream(dir.File("00000000000000000004-00000000000000000001.seg"), std::ios::binary)
      << data;
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery().records, 4u);
  EXPECT_EQ((*j)->recovery().corrupt_seqs, 1u);
  std::vector<JournalRecord> out;
  ASSERT_TRUE((*j)->ReadEpoch(4, 0, 1000, 1 << 30, &out).ok());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[2].seq, 4u);
  EXPECT_EQ(out[2].payload, Payload(4, 40));
}

// A failing append: health says which seqs, the next good one recovers, and the epoch's last
// published seq is known after a restart.
TEST(JournalTest, FailedAppendsAreReportedAndTheEpochEndIsSaved) {
  TempDir dir;
  {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(9).ok());
    AppendRange(**j, 1, 10);
    // The directory goes away under the journal: the next segment cannot be created.
    std::filesystem::rename(dir.path(), dir.path() + ".away");
    std::string p = Payload(11);
    std::string q = Payload(12);
    // The active segment is open: appends to it still work, so force a new segment by a jump.
    EXPECT_FALSE((*j)->Append({{21, p}, {22, q}}).ok());
    JournalHealth h = (*j)->health();
    EXPECT_TRUE(h.failing);
    EXPECT_EQ(h.first_seq_not_journaled, 21u);
    EXPECT_EQ(h.last_seq_not_journaled, 22u);
    EXPECT_EQ(h.events_not_journaled, 2u);
    EXPECT_FALSE(h.reason.empty());
    std::filesystem::rename(dir.path() + ".away", dir.path());
    ASSERT_TRUE((*j)->Append({{23, p}}).ok());
    h = (*j)->health();
    EXPECT_FALSE(h.failing);
    EXPECT_EQ(h.first_seq_not_journaled, 21u);
    EXPECT_EQ(h.last_seq_not_journaled, 22u);
    std::filesystem::rename(dir.path(), dir.path() + ".away");
    EXPECT_FALSE((*j)->Append({{40, p}}).ok());  // the tail: never journaled
    std::filesystem::rename(dir.path() + ".away", dir.path());
  }
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(epochs[0].last_seq, 23u);
  EXPECT_EQ(epochs[0].end_seq, 40u);
  EXPECT_TRUE(epochs[0].corrupt.empty());
}

// Writes epoch 9: seqs 1..10 journaled, then 40 published while the directory is away, so that
// "<epoch>.last" holds 40 in one slot and 0 in the other. Returns that file's path.
std::string WriteEpochEndingAfterItsJournal(const std::string& dir) {
  {
    auto j = Journal::Open({.dir = dir});
    EXPECT_TRUE(j.ok());
    EXPECT_TRUE((*j)->StartEpoch(9).ok());
    AppendRange(**j, 1, 10);
    std::filesystem::rename(dir, dir + ".away");
    const std::string p = Payload(40);
    EXPECT_FALSE((*j)->Append({{40, p}}).ok());
    std::filesystem::rename(dir + ".away", dir);
  }
  return dir + "/00000000000000000009.last";
}

// Flips the bytes of the slot of "<epoch>.last" that holds (or, with holding false, does not
// hold) `last`.
void DamageLastSlot(const std::string& path, uint64_t last, bool holding) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string data(64, '\0');
  ASSERT_TRUE(f.read(data.data(), 64));
  bool done = false;
  for (size_t slot = 0; slot < 64; slot += 32) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data[slot + 16 + i]);
    if ((v == last) != holding) continue;
    for (size_t i = slot + 16; i < slot + 24; ++i) data[i] = static_cast<char>(~data[i]);
    done = true;
  }
  ASSERT_TRUE(done);
  f.seekp(0);
  f.write(data.data(), 64);
}

TEST(JournalTest, OneDamagedSlotOfTheEpochEndLeavesTheOther) {
  TempDir dir;
  const std::string last = WriteEpochEndingAfterItsJournal(dir.path());
  DamageLastSlot(last, 40, /*holding=*/false);
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery().damaged_last_files, 0);
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(epochs[0].end_seq, 40u);
  EXPECT_TRUE(std::filesystem::exists(last));
}

TEST(JournalTest, BothSlotsDamagedMovesTheEpochEndAsideAndKeepsTheEpoch) {
  TempDir dir;
  const std::string last = WriteEpochEndingAfterItsJournal(dir.path());
  DamageLastSlot(last, 40, /*holding=*/false);
  DamageLastSlot(last, 40, /*holding=*/true);
  for (int start = 0; start < 2; ++start) {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)->recovery().damaged_last_files, start == 0 ? 1 : 0);
    EXPECT_FALSE(std::filesystem::exists(last));
    EXPECT_TRUE(std::filesystem::exists(last + ".damaged"));
    auto epochs = (*j)->Epochs();
    ASSERT_EQ(epochs.size(), 1u);
    EXPECT_EQ(epochs[0].epoch, 9u);
    EXPECT_EQ(epochs[0].last_seq, 10u);
    EXPECT_EQ(epochs[0].end_seq, 10u);  // as far as known
    std::vector<JournalRecord> out;
    ASSERT_TRUE((*j)->ReadEpoch(9, 0, 100, 1 << 20, &out).ok());
    EXPECT_EQ(out.size(), 10u);
  }
}

TEST(JournalTest, FileNamesWhoseNumbersOverflowAreIgnored) {
  TempDir dir;
  {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(9).ok());
    AppendRange(**j, 1, 10);
  }
  const std::vector<std::string> strays = {"99999999999999999999.last", "18446744073709551615.last",
                                           "99999999999999999999-00000000000000000001.seg",
                                           "00000000000000000009-99999999999999999999.seg"};
  for (const std::string& name : strays) std::ofstream(dir.File(name)) << "stray";
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->LastEpoch(), 9u);
  EXPECT_TRUE((*j)->StartEpoch((*j)->LastEpoch() + 1).ok());
  for (const std::string& name : strays) EXPECT_TRUE(std::filesystem::exists(dir.File(name)));
  EXPECT_EQ((*j)->recovery().segments, 1);
}

// A format-2 segment of epoch 9 holding records with these seqs, back to back, intact.
std::string SegmentWithSeqs(const std::vector<uint64_t>& seqs) {
  auto put = [](std::string* out, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
  };
  std::string data = "SKYJRNL2";
  put(&data, 9, 8);
  put(&data, 1, 8);
  put(&data, 0, 8);
  put(&data, Crc32c(0, data.data(), data.size()), 4);
  put(&data, 0, 4);
  for (uint64_t seq : seqs) {
    const std::string payload = Payload(seq);
    std::string s;
    put(&s, seq, 8);
    put(&data, 0x9D524AE5u, 4);
    put(&data, payload.size(), 4);
    put(&data, Crc32c(Crc32c(0, s.data(), 8), payload.data(), payload.size()), 4);
    data += s + payload;
  }
  return data;
}

TEST(JournalTest, ASeqJumpWithoutDamagedBytesIsDamage) {
  TempDir dir;
  const std::string seg = dir.File("00000000000000000009-00000000000000000001.seg");
  std::ofstream(seg, std::ios::binary) << SegmentWithSeqs({1, 2, 3, 7, 8});
  auto j = Journal::Open({.dir = dir.path()});
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery().damaged_segments, 1);
  EXPECT_EQ((*j)->recovery().damaged_bytes, 0u);
  EXPECT_EQ((*j)->recovery().corrupt_seqs, 3u);
  EXPECT_TRUE(std::filesystem::exists(seg + ".damaged"));
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  ASSERT_EQ(epochs[0].corrupt.size(), 1u);
  EXPECT_EQ(epochs[0].corrupt[0].first, 4u);
  EXPECT_EQ(epochs[0].corrupt[0].last, 6u);
  std::vector<JournalRecord> out;
  ASSERT_TRUE((*j)->ReadEpoch(9, 0, 100, 1 << 20, &out).ok());
  EXPECT_EQ(out.size(), 5u);
}

TEST(JournalTest, RetentionTakesTheCorruptSeqsOfTheSegmentsItRemoves) {
  TempDir dir;
  {
    auto j = Journal::Open({.dir = dir.path(), .segment_bytes = 4096});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(9).ok());
    AppendRange(**j, 1, 200);
  }
  const auto segments = Segments(dir.path());
  ASSERT_GE(segments.size(), 4u);
  {  // a record in the middle of the first segment
    std::fstream f(segments[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2000);
    f.write("XXXXXXXX", 8);
  }
  uint64_t total = 0;
  for (const auto& s : segments) total += std::filesystem::file_size(s);
  {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    ASSERT_EQ((*j)->Epochs().size(), 1u);
    EXPECT_FALSE((*j)->Epochs()[0].corrupt.empty());
  }
  // Room for all but the first segment: it goes, and its lost seqs are now past retention.
  auto j = Journal::Open({.dir = dir.path(), .max_bytes = total - 1});
  ASSERT_TRUE(j.ok());
  auto epochs = (*j)->Epochs();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_GT(epochs[0].first_seq, 1u);
  EXPECT_TRUE(epochs[0].corrupt.empty());
}

TEST(JournalTest, RetentionAtStartRemovingEverySegmentRemovesTheEpochEnds) {
  TempDir dir;
  {
    auto j = Journal::Open({.dir = dir.path()});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(9).ok());
    AppendRange(**j, 1, 10);
  }
  ASSERT_TRUE(std::filesystem::exists(dir.File("00000000000000000009.last")));
  auto j = Journal::Open({.dir = dir.path(), .max_bytes = 1});
  ASSERT_TRUE(j.ok());
  EXPECT_TRUE((*j)->Epochs().empty());
  EXPECT_FALSE(std::filesystem::exists(dir.File("00000000000000000009.last")));
}

}  // namespace
}  // namespace skynet::daemon
