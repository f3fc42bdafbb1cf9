// Journal: the bounded on-disk log of every published event, so that subscribers can replay
// what they missed, across daemon restarts.
//
// One writer thread (the event bus) calls StartEpoch() and Append(); any thread may call the
// read side (Epochs(), ReadEpoch()) concurrently. Appends are grouped: one write() per batch.
//
// On disk, <dir> holds segment files "<epoch>-<first seq>.seg" (20 digits each). A segment is a
// 32-byte header ("SKYJRNL1", epoch, first seq, creation time; little endian) and then records:
//   u32 payload length | u32 CRC32C of (seq, payload) | u64 seq | payload (a skynet.v1.Event)
// Within a segment seqs are contiguous. Open() scans every segment: a torn or corrupt tail (short
// record, bad length, bad CRC, seq out of order) is truncated, logged and counted, never fatal.
// Each daemon start is a new epoch; older epochs stay readable until retention removes them.
//
//   auto journal = Journal::Open({.dir = "/var/lib/skynetd/journal"});
//   (*journal)->StartEpoch(epoch);
//   (*journal)->Append({{1, bytes1}, {2, bytes2}});
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/fsync_policy.h"
#include "daemon/metrics.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/status.h"

namespace skynet::daemon {

struct JournalOptions {
  // Directory of the segment files; created (mode 0750) if missing. Required.
  std::string dir;
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  int fsync_interval_ms = 1000;
  // Retention: oldest segments are deleted while the journal is larger than this...
  uint64_t max_bytes = uint64_t{1} << 30;
  // ...or when their last record is older than this (0: no age limit).
  double max_age_hours = 168;
  // A new segment is started when the current one would grow beyond this.
  uint64_t segment_bytes = uint64_t{64} << 20;
};

// Retained range of one epoch. first_seq..last_seq may contain holes where a corrupt segment
// was truncated; ReadEpoch() returns what is there.
struct EpochInfo {
  uint64_t epoch = 0;
  uint64_t first_seq = 0;  // oldest retained seq
  uint64_t last_seq = 0;   // newest seq
};

struct JournalRecord {
  uint64_t seq = 0;
  std::string payload;
};

// What Open() found.
struct JournalRecovery {
  int segments = 0;
  uint64_t records = 0;
  int truncated_segments = 0;  // torn or corrupt tails cut off
  uint64_t truncated_bytes = 0;
  int removed_segments = 0;  // unreadable headers, deleted
};

class Journal {
 public:
  // Opens (or creates) the journal in options.dir and recovers it. Fails only if the directory
  // cannot be created or read; damaged segments are repaired and reported in recovery().
  static Result<std::unique_ptr<Journal>> Open(const JournalOptions& options,
                                               Clock* clock = SystemClock::Get());
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const JournalRecovery& recovery() const { return recovery_; }
  // Largest epoch in the journal (0 if empty). A new epoch must be larger.
  uint64_t LastEpoch() const;

  // Starts writing `epoch`, whose first seq will be 1. InvalidArgument if `epoch` is not larger
  // than every epoch already journaled.
  Status StartEpoch(uint64_t epoch);

  struct Entry {
    uint64_t seq;
    std::string_view payload;
  };
  // Appends records of the current epoch in one write (several if the batch crosses a segment
  // boundary). Seqs must continue the epoch. On failure (disk full...) nothing of the failed
  // part is visible to readers, and the next append starts a fresh segment.
  Status Append(const std::vector<Entry>& entries);

  // Current epoch (0 before StartEpoch) and its last appended seq.
  uint64_t current_epoch() const;
  // Every retained epoch, oldest first.
  std::vector<EpochInfo> Epochs() const;
  // Appends to *out the records of `epoch` with seq > after_seq, in order, until `max_records`
  // or about `max_bytes` of payload. OK with nothing added if there is nothing more.
  Status ReadEpoch(uint64_t epoch, uint64_t after_seq, size_t max_records, size_t max_bytes,
                   std::vector<JournalRecord>* out) const;

  uint64_t total_bytes() const;
  uint64_t append_errors() const;
  // fdatasync calls: their duration (seconds) and how many failed (data maybe not on disk).
  HistogramSnapshot fsync_seconds() const { return fsync_seconds_.snapshot(); }
  uint64_t fsync_errors() const { return fsync_errors_.load(); }

  struct Segment;

 private:
  Journal(const JournalOptions& options, Clock* clock);
  Status Recover();
  Status OpenSegment(uint64_t first_seq);  // writer: starts a new active segment
  void CloseActive();
  void EnforceRetention();  // writer, mu_ held
  void MaybeSync(bool force);
  void Sync();  // writer: fdatasync of the active segment, timed and counted

  const JournalOptions options_;
  Clock* const clock_;
  JournalRecovery recovery_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Segment>> segments_;  // by (epoch, first_seq)
  uint64_t epoch_ = 0;
  uint64_t append_errors_ = 0;
  Histogram fsync_seconds_;
  std::atomic<uint64_t> fsync_errors_{0};

  // Writer state.
  int fd_ = -1;
  bool need_new_segment_ = true;
  int64_t last_sync_us_ = 0;
  int64_t last_retention_us_ = 0;
  bool dirty_ = false;
  std::string buffer_;
};

// CRC32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32c(uint32_t crc, const void* data, size_t size);

}  // namespace skynet::daemon
