// Issue 14, items 1 and 2: the journal under damage and on a full disk.
//   1. Bytes flipped inside a record, a byte flipped in a segment header, a tail torn by 150
//      bytes (1 MiB segments, real events): every intact record is replayed, exactly the lost
//      seqs come back as CORRUPT gaps, the damaged segment is kept aside as *.seg.damaged with
//      its bytes as they were, and the epoch ends at the seq the daemon published last.
//   2. A real skynetd whose journal is on a small tmpfs that is filled up: the feed carries a
//      JournalStatus FAILING event and `skynetctl status` says so; freeing space brings an OK
//      event with the range not journaled; after the daemon stops on a full disk, replay of its
//      epoch reports every published-but-not-journaled seq as a NOT_JOURNALED gap, exactly, and
//      its EpochEnd is the last seq the daemon logged at its stop. (Skipped where tmpfs cannot be
//      mounted.)
// Each case prints a FIGURES line: events lost, events reported as gaps, intact events replayed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "daemon/journal.h"
#include "daemon/replay_server.h"
#include "skynet/protocol.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/tmpfs.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using namespace std::chrono_literals;
using skynet::testing::TempDir;

constexpr uint64_t kOldEpoch = 1000;
constexpr uint64_t kEvents = 10000;  // about three 1 MiB segments

// A motion event of about 270 bytes, as the daemon journals it.
std::string EventBytes(uint64_t epoch, uint64_t seq) {
  v1::Event ev;
  ev.set_camera_id("gate-" + std::to_string(seq % 7));
  ev.set_capture_time_us(1'700'000'000'000'000 + static_cast<int64_t>(seq) * 40'000);
  ev.set_publish_time_us(ev.capture_time_us() + 1500);
  auto* m = ev.mutable_motion_updated();
  m->set_motion_id(seq / 50);
  m->set_changed_fraction(0.01f * static_cast<float>(seq % 90));
  for (int i = 0; i < 8; ++i) {
    auto* r = m->add_regions();
    r->mutable_box()->set_x(0.1f * i);
    r->mutable_box()->set_y(0.05f * i);
    r->mutable_box()->set_w(0.2f);
    r->mutable_box()->set_h(0.3f);
    r->set_fill(0.5f);
  }
  protocol::StampEnvelope("fault-node", epoch, seq, &ev);
  return ev.SerializeAsString();
}

// Writes seqs 1..kEvents of kOldEpoch (the journal closes as at a daemon stop), then returns.
void WriteOldEpoch(const std::string& dir) {
  auto j = Journal::Open({.dir = dir, .segment_bytes = 1 << 20});
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_TRUE((*j)->StartEpoch(kOldEpoch).ok());
  std::vector<std::string> bytes;
  std::vector<Journal::Entry> entries;
  for (uint64_t s = 1; s <= kEvents;) {
    bytes.clear();
    entries.clear();
    for (int i = 0; i < 50 && s <= kEvents; ++i, ++s) bytes.push_back(EventBytes(kOldEpoch, s));
    for (size_t i = 0; i < bytes.size(); ++i) entries.push_back({s - bytes.size() + i, bytes[i]});
    ASSERT_TRUE((*j)->Append(entries).ok());
  }
}

std::vector<std::filesystem::path> Files(const std::string& dir, const std::string& suffix) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > suffix.size() && name.ends_with(suffix)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// (seq, offset, size) of every record of a format-2 segment file.
struct RecordAt {
  uint64_t seq, offset, size;
};
std::vector<RecordAt> Records(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data[at + i]);
    return v;
  };
  std::vector<RecordAt> out;
  for (size_t at = 40; at + 20 <= data.size();) {
    const uint64_t size = 20 + u32(at + 4);
    uint64_t seq = 0;
    for (int i = 7; i >= 0; --i) seq = (seq << 8) | static_cast<uint8_t>(data[at + 12 + i]);
    out.push_back({seq, at, size});
    at += size;
  }
  return out;
}

void Corrupt(const std::filesystem::path& path, uint64_t offset, size_t n) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::string b(n, '\0');
  ASSERT_EQ(::pread(fd, b.data(), n, static_cast<off_t>(offset)), static_cast<ssize_t>(n));
  for (char& c : b) c = static_cast<char>(~c);
  ASSERT_EQ(::pwrite(fd, b.data(), n, static_cast<off_t>(offset)), static_cast<ssize_t>(n));
  ::close(fd);
}

// Everything a subscriber gets replaying an epoch from its start.
struct Replayed {
  std::set<uint64_t> events;               // seqs of that epoch
  std::map<uint64_t, v1::GapReason> gaps;  // seq -> reason, of that epoch
  uint64_t epoch_end = 0;                  // EpochEnd.last_seq of that epoch
  bool payloads_ok = true;                 // every event parses and names its seq
};
Replayed ReplayEpoch(const Journal& journal, uint64_t epoch) {
  Replayed out;
  ReplayServerOptions options;
  options.node_id = "fault-node";
  uint64_t at_epoch = epoch, at_seq = 0;
  for (int round = 0; round < 10000; ++round) {
    v1::ReplayRequest request;
    request.set_epoch(at_epoch);
    request.set_after_seq(at_seq);
    size_t n = 0;
    v1::ReplayResponse r;
    EXPECT_TRUE(r.ParseFromString(BuildReplayResponse(journal, request, options, &n)));
    EXPECT_TRUE(r.ok()) << r.error();
    for (const v1::ReplayItem& item : r.items()) {
      if (item.has_event()) {
        if (item.event().epoch() != epoch) continue;
        out.payloads_ok &= item.event().seq() != 0;
        out.events.insert(item.event().seq());
      } else if (item.has_gap() && item.gap().epoch() == epoch) {
        EXPECT_NE(item.gap().last_seq(), 0u) << "a gap of unknown end";
        for (uint64_t s = item.gap().first_seq(); s <= item.gap().last_seq(); ++s) {
          EXPECT_TRUE(out.gaps.emplace(s, item.gap().reason()).second) << "seq " << s << " twice";
        }
      } else if (item.has_epoch_end() && item.epoch_end().epoch() == epoch) {
        out.epoch_end = item.epoch_end().last_seq();
      }
    }
    if (r.end_of_journal() || r.next_epoch() != epoch) break;
    at_epoch = r.next_epoch();
    at_seq = r.next_seq();
  }
  return out;
}

// Opens the journal as the next daemon start does, replays the old epoch and checks the rules:
// lost == reported as CORRUPT gaps, seq by seq; returns the lost seqs.
std::set<uint64_t> CheckRecovery(const std::string& dir, const char* name, uint64_t expect_lost) {
  auto j = Journal::Open({.dir = dir, .segment_bytes = 1 << 20});
  EXPECT_TRUE(j.ok());
  if (!j.ok()) return {};
  EXPECT_TRUE((*j)->StartEpoch(kOldEpoch + 1).ok());  // the new run
  const Replayed r = ReplayEpoch(**j, kOldEpoch);
  std::set<uint64_t> lost;
  for (uint64_t s = 1; s <= kEvents; ++s) {
    if (!r.events.count(s)) lost.insert(s);
  }
  std::set<uint64_t> gapped;
  for (const auto& [seq, reason] : r.gaps) {
    gapped.insert(seq);
    EXPECT_EQ(reason, v1::GAP_REASON_CORRUPT) << "seq " << seq;
  }
  EXPECT_EQ(lost, gapped);
  EXPECT_EQ(lost.size(), expect_lost);
  EXPECT_TRUE(r.payloads_ok);
  EXPECT_EQ(r.epoch_end, kEvents);
  EXPECT_EQ((*j)->recovery().corrupt_seqs, lost.size());
  EXPECT_EQ((*j)->recovery().damaged_segments, 1);
  std::printf(
      "FIGURES %s: events lost %zu, reported as gaps %zu, intact events replayed %zu of "
      "%zu journaled\n",
      name, lost.size(), gapped.size(), r.events.size(),
      static_cast<size_t>(kEvents) - lost.size());
  return lost;
}

TEST(JournalFaultTest, BytesFlippedInsideARecordLoseOnlyThatRecord) {
  TempDir dir;
  WriteOldEpoch(dir.path());
  const auto segments = Files(dir.path(), ".seg");
  ASSERT_GE(segments.size(), 3u);
  // 8 bytes in the middle of a record half-way through the first segment.
  const std::vector<RecordAt> records = Records(segments[0]);
  const RecordAt victim = records[records.size() / 2];
  Corrupt(segments[0], victim.offset + victim.size / 2, 8);
  const auto size = std::filesystem::file_size(segments[0]);
  const std::set<uint64_t> lost = CheckRecovery(dir.path(), "8 bytes flipped in a record", 1);
  EXPECT_EQ(lost, std::set<uint64_t>{victim.seq});
  std::printf(
      "FIGURES   (seq %llu of a segment of %zu records: its %llu records after it replayed)\n",
      static_cast<unsigned long long>(victim.seq), records.size(),
      static_cast<unsigned long long>(records.back().seq - victim.seq));
  // Kept aside, whole; the segments after it untouched.
  EXPECT_FALSE(std::filesystem::exists(segments[0]));
  EXPECT_EQ(std::filesystem::file_size(segments[0].string() + ".damaged"), size);
  for (size_t i = 1; i < segments.size(); ++i) EXPECT_TRUE(std::filesystem::exists(segments[i]));
}

TEST(JournalFaultTest, BytesFlippedAcrossARecordBoundaryLoseTheTwoRecords) {
  TempDir dir;
  WriteOldEpoch(dir.path());
  const auto segments = Files(dir.path(), ".seg");
  const std::vector<RecordAt> records = Records(segments[1]);
  const RecordAt next = records[1000];
  Corrupt(segments[1], next.offset - 4, 8);  // the end of seq n-1 and the marker of seq n
  const std::set<uint64_t> lost = CheckRecovery(dir.path(), "8 bytes across a boundary", 2);
  EXPECT_EQ(lost, (std::set<uint64_t>{next.seq - 1, next.seq}));
  EXPECT_TRUE(std::filesystem::exists(segments[1].string() + ".damaged"));
}

TEST(JournalFaultTest, AByteFlippedInASegmentHeaderLosesNothing) {
  TempDir dir;
  WriteOldEpoch(dir.path());
  const auto segments = Files(dir.path(), ".seg");
  const auto size = std::filesystem::file_size(segments[1]);
  Corrupt(segments[1], 12, 1);  // inside the epoch number
  CheckRecovery(dir.path(), "1 byte flipped in a segment header", 0);
  std::printf("FIGURES   (the segment's %zu records all replayed)\n",
              Records(segments[1].string() + ".damaged").size());
  EXPECT_FALSE(std::filesystem::exists(segments[1]));
  EXPECT_EQ(std::filesystem::file_size(segments[1].string() + ".damaged"), size);
}

TEST(JournalFaultTest, ATailTornBy150BytesIsReportedUpToTheLastPublishedSeq) {
  TempDir dir;
  WriteOldEpoch(dir.path());
  const auto segments = Files(dir.path(), ".seg");
  const auto last = segments.back();
  const auto size = std::filesystem::file_size(last);
  std::filesystem::resize_file(last, size - 150);
  uint64_t torn = 0;  // records that ended in the torn 150 bytes
  {
    // Reconstruct from an untouched copy: write the epoch again elsewhere.
    TempDir copy;
    WriteOldEpoch(copy.path());
    for (const RecordAt& r : Records(Files(copy.path(), ".seg").back())) {
      if (r.offset + r.size > size - 150) ++torn;
    }
  }
  ASSERT_GE(torn, 1u);
  CheckRecovery(dir.path(), "tail torn by 150 bytes", torn);
  EXPECT_FALSE(std::filesystem::exists(last));
  EXPECT_EQ(std::filesystem::file_size(last.string() + ".damaged"), size - 150);
}

// Megabytes of garbage named as segments: one whose every 16 bytes look like a format-1 record
// header of 1 MiB with a plausible seq (each candidate would cost a CRC over 1 MiB), one with a
// format-2 magic followed by random bytes. The journal still opens (the scan's CRC work is
// bounded), moves both aside, and the intact epoch before them replays whole.
TEST(JournalFaultTest, GarbageSegmentsOfSeveralMegabytesAreMovedAsideAndTheJournalOpens) {
  TempDir dir;
  constexpr uint64_t kIntact = 500;
  {
    auto j = Journal::Open({.dir = dir.path(), .segment_bytes = 1 << 20});
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->StartEpoch(kOldEpoch).ok());
    std::vector<std::string> bytes;
    std::vector<Journal::Entry> entries;
    for (uint64_t s = 1; s <= kIntact; ++s) bytes.push_back(EventBytes(kOldEpoch, s));
    for (uint64_t s = 1; s <= kIntact; ++s) entries.push_back({s, bytes[s - 1]});
    ASSERT_TRUE((*j)->Append(entries).ok());
  }
  constexpr size_t kGarbage = 8 << 20;
  auto put = [](std::string* out, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
  };
  std::string pattern;
  while (pattern.size() < kGarbage) {
    put(&pattern, 1 << 20, 4);  // length
    put(&pattern, 0, 4);        // CRC (wrong)
    put(&pattern, 1, 8);        // seq
  }
  std::string random = "SKYJRNL2";
  uint64_t x = 88172645463325252ull;  // xorshift64
  while (random.size() < kGarbage) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    put(&random, x, 8);
  }
  const std::string seg1 = dir.path() + "/00000000000000001001-00000000000000000001.seg";
  const std::string seg2 = dir.path() + "/00000000000000001002-00000000000000000001.seg";
  std::ofstream(seg1, std::ios::binary) << pattern;
  std::ofstream(seg2, std::ios::binary) << random;

  auto j = Journal::Open({.dir = dir.path(), .segment_bytes = 1 << 20});
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)->recovery().damaged_segments, 2);
  EXPECT_EQ((*j)->recovery().records, kIntact);
  EXPECT_FALSE(std::filesystem::exists(seg1));
  EXPECT_FALSE(std::filesystem::exists(seg2));
  EXPECT_EQ(std::filesystem::file_size(seg1 + ".damaged"), kGarbage);
  EXPECT_EQ(std::filesystem::file_size(seg2 + ".damaged"), kGarbage);
  ASSERT_TRUE((*j)->StartEpoch((*j)->LastEpoch() + 1).ok());
  const Replayed r = ReplayEpoch(**j, kOldEpoch);
  EXPECT_EQ(r.events.size(), kIntact);
  EXPECT_TRUE(r.gaps.empty());
}

// --- Disk full, on a real skynetd -------------------------------------------------------------

using skynet::testing::Fill;
using skynet::testing::Tmpfs;

// The feed of a daemon: every event's seq, and its JournalStatus events.
class Feed {
 public:
  explicit Feed(const std::string& endpoint) : socket_(ctx_, zmq::socket_type::sub) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvhwm, 0);
    socket_.set(zmq::sockopt::subscribe, "");
    socket_.connect(endpoint);
  }
  // Reads what has arrived within `ms`.
  void Pump(int ms) {
    std::vector<zmq::message_t> frames;
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(ms)) == 0) return;
    while (true) {
      frames.clear();
      if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        return;
      }
      v1::Event ev;
      if (frames.size() != 2 || !ev.ParseFromArray(frames[1].data(), frames[1].size())) continue;
      epoch = ev.epoch();
      last_seq = ev.seq();
      if (ev.has_journal_status()) journal.push_back(ev.journal_status());
    }
  }
  uint64_t epoch = 0, last_seq = 0;
  std::vector<v1::JournalStatus> journal;

 private:
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
};

std::string Status(const TempDir& dir) {
  std::vector<std::string> lines;
  skynet::testing::RunToCompletion(
      "tools/skynetctl/skynetctl",
      {"--control", dir.Ipc("control.sock"), "--timeout", "20000", "status"}, dir.File("ctl.err"),
      &lines);
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// A daemon config with its journal in `mnt`; heartbeats (100/s) are the event stream.
std::string WriteConfig(const TempDir& dir, const std::string& mnt) {
  const std::string config = dir.File("skynetd.yaml");
  std::ofstream(config) << "node_id: fault-node\n"
                        << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
                        << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
                        << "metrics_endpoint: \"\"\n"
                        << "heartbeat_interval_ms: 10\n"  // heartbeats: the event stream
                        << "journal:\n  dir: " << mnt << "/journal\n  fsync: none\n"
                        << "  segment_bytes: 262144\n"
                        << "cameras: []\n";
  return config;
}

// Replays `epoch` from the journal in `dir` as the next start does, and checks that the events
// not replayed are exactly the NOT_JOURNALED gaps.
Replayed ReplayAfterRestart(const std::string& dir, uint64_t epoch) {
  auto j = Journal::Open({.dir = dir});
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  if (!j.ok()) return {};
  EXPECT_TRUE((*j)->StartEpoch(epoch + 1).ok());
  Replayed r = ReplayEpoch(**j, epoch);
  for (uint64_t s = 1; s <= r.epoch_end; ++s) {
    EXPECT_NE(r.events.count(s), r.gaps.count(s)) << "seq " << s;  // exactly one of them
  }
  for (const auto& [seq, reason] : r.gaps) {
    EXPECT_EQ(reason, v1::GAP_REASON_NOT_JOURNALED) << "seq " << seq;
    EXPECT_LE(seq, r.epoch_end);
  }
  return r;
}

TEST(JournalFaultTest, DiskFullThenKill9StillEndsTheEpochAtTheLastPublishedSeq) {
  TempDir dir;
  const std::string mnt = dir.File("mnt");
  Tmpfs tmpfs(mnt, 4 << 20);
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  const std::string config = WriteConfig(dir, mnt);
  Feed feed(dir.Ipc("feed.sock"));
  const std::string log = dir.File("skynetd.log");
  uint64_t failing_from = 0;
  {
    skynet::testing::ChildProcess daemon(skynet::testing::BuildPath("daemon/skynetd"),
                                         {"--config", config}, log);
    ASSERT_TRUE(daemon.started());
    auto pump_until = [&](const std::function<bool()>& done) {
      return skynet::testing::WaitFor(
          [&] {
            feed.Pump(50);
            return done();
          },
          60s, 0ms);
    };
    ASSERT_TRUE(pump_until([&] { return feed.last_seq >= 100; })) << skynet::testing::ReadFile(log);
    ASSERT_GT(Fill(mnt + "/filler"), 0u);
    const uint64_t filled_at = feed.last_seq;
    ASSERT_TRUE(pump_until([&] { return feed.last_seq >= filled_at + 300; }));
    ASSERT_FALSE(feed.journal.empty());
    ASSERT_EQ(feed.journal.back().state(), v1::JOURNAL_STATE_FAILING);
    failing_from = feed.journal.back().first_seq_not_journaled();
    ASSERT_EQ(::kill(daemon.pid(), SIGKILL), 0);
    daemon.Wait(10s);
    feed.Pump(200);
  }
  const Replayed r = ReplayAfterRestart(mnt + "/journal", feed.epoch);
  // Published up to at least what the feed delivered (the daemon may have journaled-and-failed
  // one more batch before the kill); everything from the failure on is one gap.
  EXPECT_GE(r.epoch_end, feed.last_seq);
  EXPECT_LE(r.epoch_end, feed.last_seq + 100);
  for (uint64_t s = failing_from; s <= r.epoch_end; ++s) ASSERT_TRUE(r.gaps.count(s)) << s;
  std::printf(
      "FIGURES disk full then kill -9: events published %llu (feed saw %llu), lost %zu, "
      "reported as gaps %zu, intact events replayed %zu\n",
      static_cast<unsigned long long>(r.epoch_end), static_cast<unsigned long long>(feed.last_seq),
      r.epoch_end - r.events.size(), r.gaps.size(), r.events.size());
}

TEST(JournalFaultTest, DiskFullIsReportedAndReplayedAsAnExactGap) {
  TempDir dir;
  const std::string mnt = dir.File("mnt");
  Tmpfs tmpfs(mnt, 4 << 20);
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  const std::string config = WriteConfig(dir, mnt);
  Feed feed(dir.Ipc("feed.sock"));
  const std::string log = dir.File("skynetd.log");
  uint64_t epoch = 0;
  // The last page of the active segment may take a few more small batches after the disk is
  // full, so journaling may flap before it fails for good: every change is an event, and the
  // OK events give the ranges of the failures that ended.
  auto state = [&] {
    return feed.journal.empty() ? v1::JOURNAL_STATE_OK : feed.journal.back().state();
  };
  {
    skynet::testing::ChildProcess daemon(skynet::testing::BuildPath("daemon/skynetd"),
                                         {"--config", config}, log);
    ASSERT_TRUE(daemon.started());
    auto pump_until = [&](const std::function<bool()>& done) {
      return skynet::testing::WaitFor(
          [&] {
            feed.Pump(50);
            return done();
          },
          60s, 0ms);
    };
    ASSERT_TRUE(pump_until([&] { return feed.last_seq >= 100; })) << skynet::testing::ReadFile(log);
    epoch = feed.epoch;
    EXPECT_NE(Status(dir).find("journal ok"), std::string::npos) << Status(dir);

    // The disk fills up: the feed goes on, with a FAILING event, and status says so.
    ASSERT_GT(Fill(mnt + "/filler"), 0u);
    ASSERT_TRUE(pump_until([&] { return state() == v1::JOURNAL_STATE_FAILING; }));
    EXPECT_NE(feed.journal.back().detail().find("No space left"), std::string::npos)
        << feed.journal.back().detail();
    const uint64_t failing_at = feed.last_seq;
    ASSERT_TRUE(pump_until([&] { return feed.last_seq >= failing_at + 200; }));
    ASSERT_EQ(state(), v1::JOURNAL_STATE_FAILING);
    const std::string status = Status(dir);
    EXPECT_NE(status.find("journal FAILING: seqs " +
                          std::to_string(feed.journal.back().first_seq_not_journaled()) + ".."),
              std::string::npos)
        << status;

    // Space again: an OK event with the range that was not journaled.
    const uint64_t failing_from = feed.journal.back().first_seq_not_journaled();
    std::filesystem::remove(mnt + "/filler");
    ASSERT_TRUE(pump_until([&] { return state() == v1::JOURNAL_STATE_OK; }));
    EXPECT_EQ(feed.journal.back().first_seq_not_journaled(), failing_from);
    EXPECT_GE(feed.journal.back().last_seq_not_journaled(), failing_at + 200);
    const std::string recovered = Status(dir);
    EXPECT_NE(recovered.find("journal ok (recovered; seqs " + std::to_string(failing_from) + ".." +
                             std::to_string(feed.journal.back().last_seq_not_journaled())),
              std::string::npos)
        << recovered;

    // Full again, and the daemon stops while it is.
    const uint64_t before = feed.last_seq;
    ASSERT_TRUE(pump_until([&] { return feed.last_seq >= before + 100; }));
    ASSERT_GT(Fill(mnt + "/filler"), 0u);
    ASSERT_TRUE(pump_until([&] { return state() == v1::JOURNAL_STATE_FAILING; }));
    const uint64_t again = feed.last_seq;
    ASSERT_TRUE(pump_until([&] { return feed.last_seq >= again + 200; }));
    EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 20s), 0);
    feed.Pump(200);
  }
  ASSERT_EQ(state(), v1::JOURNAL_STATE_FAILING);
  // What the feed said was not journaled: the ranges of the OK events, and the failure that
  // lasted until the stop.
  std::set<uint64_t> announced;
  for (const v1::JournalStatus& js : feed.journal) {
    if (js.state() != v1::JOURNAL_STATE_OK) continue;
    for (uint64_t s = js.first_seq_not_journaled(); s <= js.last_seq_not_journaled(); ++s) {
      announced.insert(s);
    }
  }
  const uint64_t second_failure_from = feed.journal.back().first_seq_not_journaled();
  // The last seq the daemon logged at its stop.
  const std::string text = skynet::testing::ReadFile(log);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("stopped: last seq ([0-9]+)"))) << text;
  const uint64_t last_published = std::stoull(m[1]);

  // The next start, on the still full disk, replays that epoch.
  auto j = Journal::Open({.dir = mnt + "/journal"});
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_TRUE((*j)->StartEpoch(epoch + 1).ok());
  const Replayed r = ReplayEpoch(**j, epoch);
  std::set<uint64_t> lost, gapped;
  for (uint64_t s = 1; s <= last_published; ++s) {
    if (!r.events.count(s)) lost.insert(s);
  }
  for (const auto& [seq, reason] : r.gaps) {
    gapped.insert(seq);
    EXPECT_EQ(reason, v1::GAP_REASON_NOT_JOURNALED) << "seq " << seq;
  }
  EXPECT_EQ(lost, gapped);
  EXPECT_EQ(r.epoch_end, last_published);
  // Exactly what the feed announced: the failures that ended, and the one up to the stop.
  for (uint64_t s = second_failure_from; s <= last_published; ++s) announced.insert(s);
  EXPECT_EQ(gapped, announced);
  EXPECT_EQ(r.events.size() + gapped.size(), last_published);
  std::printf(
      "FIGURES disk full: events published %llu, lost %zu, reported as gaps %zu "
      "(the last %llu..%llu), in %zu JournalStatus events; intact events replayed %zu\n",
      static_cast<unsigned long long>(last_published), lost.size(), gapped.size(),
      static_cast<unsigned long long>(second_failure_from),
      static_cast<unsigned long long>(last_published), feed.journal.size(), r.events.size());
}

}  // namespace
}  // namespace skynet::daemon
