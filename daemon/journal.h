// Journal: the bounded on-disk log of every published event, so that subscribers can replay
// what they missed, across daemon restarts.
//
// One writer thread (the event bus) calls StartEpoch() and Append(); any thread may call the
// read side (Epochs(), ReadEpoch(), health()) concurrently. Appends are grouped: one write() per
// batch.
//
// On disk, <dir> holds segment files "<epoch>-<first seq>.seg" (20 digits each) and, per epoch,
// "<epoch>.last". Segment format 2 (written since issue 14) is a 40-byte header
//   "SKYJRNL2" | u64 epoch | u64 first seq | u64 creation time (us) | u32 CRC32C of the 32 bytes
//   before it | u32 zero
// and then records, each found again after damage by its sync marker:
//   u32 marker 0x9D524AE5 | u32 payload length | u32 CRC32C of (seq, payload) | u64 seq | payload
// (little endian; the payload is a skynet.v1.Event). Format 1 ("SKYJRNL1", 32-byte header without
// CRC, records without the marker) is still read. Within a segment seqs increase by one.
// "<epoch>.last" holds the epoch's last published seq in two 32-byte slots
//   "SKYJLAST" | u64 epoch | u64 last seq | u32 CRC32C of the 24 bytes before it | u32 zero
// written alternately in place (no new blocks: it works on a full disk) at every failed append,
// about once a second, and when the epoch ends; synced (unless fsync is none) when it is
// created, when appends start failing and when the epoch ends. Journaled seqs beyond it count
// as published.
//
// Open() scans every segment. A segment with a bad header (the file name then gives its epoch and
// first seq), a damaged record (bad marker, length or CRC, seq out of order or jumping) or a torn
// tail is damaged: the scan resynchronises at the next valid record, keeps every intact record
// readable, and renames the file to "<name>.seg.damaged" (never truncated or deleted, except by
// retention like any segment). A "<epoch>.last" with no intact slot is renamed
// "<epoch>.last.damaged" (the epoch's end is then unknown). Files whose numbers overflow 64 bits
// are ignored. The seqs that damage destroyed are reported by Epochs() as `corrupt`: holes
// between intact records and, after a torn tail, every seq up to the next segment or the epoch's
// end (whether they had reached the disk cannot be told). Seqs published but never journaled (a
// failing disk, whose failed appends are cut back to whole records) are the holes and tail that
// remain.
// Each daemon start is a new epoch; older epochs stay readable until retention removes them.
//
//   auto journal = Journal::Open({.dir = "/var/lib/skynetd/journal"});
//   (*journal)->StartEpoch(epoch);
//   (*journal)->Append({{1, bytes1}, {2, bytes2}});
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
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

// Seqs first..last (inclusive).
struct SeqRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t size() const { return last - first + 1; }
};

// Retained range of one epoch. first_seq..last_seq may contain holes (seqs damaged on disk or
// never journaled); ReadEpoch() returns what is there.
struct EpochInfo {
  uint64_t epoch = 0;
  uint64_t first_seq = 0;  // oldest retained seq (0: nothing journaled)
  uint64_t last_seq = 0;   // newest journaled seq (0: nothing journaled)
  // Last seq published in the epoch as far as known: at least last_seq (0: unknown). Seqs
  // after last_seq up to it were published but are not in the journal.
  uint64_t end_seq = 0;
  // Seqs destroyed by damage on disk (found by Open()), in order; other missing seqs were
  // removed by retention (before first_seq) or never journaled.
  std::vector<SeqRange> corrupt;
};

struct JournalRecord {
  uint64_t seq = 0;
  std::string payload;
};

// What Open() found.
struct JournalRecovery {
  int segments = 0;
  uint64_t records = 0;
  int damaged_segments = 0;      // bad header, damaged records or torn tail: moved aside
  int moved_segments = 0;        // of them, found at this start (the others by an earlier one)
  uint64_t damaged_bytes = 0;    // bytes in them that no intact record accounts for
  uint64_t damaged_records = 0;  // intact records kept from them (included in `records`)
  uint64_t corrupt_seqs = 0;     // seqs lost to the damage
  int damaged_last_files = 0;    // "<epoch>.last" without an intact slot: moved aside
};

// Whether appends currently succeed, and which seqs were not journaled.
struct JournalHealth {
  bool failing = false;  // the last append failed
  std::string reason;    // why the last failing append failed ("" when none failed)
  // Seqs of the current failure (failing) or of the last one (recovered); 0..0 when none.
  uint64_t first_seq_not_journaled = 0;
  uint64_t last_seq_not_journaled = 0;
  // Events of this epoch that were published but not journaled, in total.
  uint64_t events_not_journaled = 0;
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
  // boundary). Seqs must increase. On failure (disk full...) nothing of the failed part is
  // visible to readers, health() says which seqs were lost, the epoch's last published seq is
  // saved, and the next append starts a fresh segment if needed.
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
  JournalHealth health() const;
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
  void SaveEnd(bool sync);  // writer: writes the epoch's last published seq to "<epoch>.last"
  void CloseEpoch();        // writer: saves the end and closes the files of the epoch

  const JournalOptions options_;
  Clock* const clock_;
  JournalRecovery recovery_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Segment>> segments_;  // by (epoch, first_seq)
  uint64_t epoch_ = 0;
  uint64_t append_errors_ = 0;
  JournalHealth health_;
  // Per retained epoch but the current one: last published seq and seqs lost to damage.
  std::map<uint64_t, uint64_t> ends_;
  std::map<uint64_t, std::vector<SeqRange>> corrupt_;
  Histogram fsync_seconds_;
  std::atomic<uint64_t> fsync_errors_{0};

  // Writer state.
  int fd_ = -1;
  bool need_new_segment_ = true;
  int64_t last_sync_us_ = 0;
  int64_t last_retention_us_ = 0;
  bool dirty_ = false;
  std::string buffer_;
  int end_fd_ = -1;            // "<epoch>.last" of the current epoch
  uint64_t published_ = 0;     // last seq handed to Append() in this epoch
  uint64_t end_saved_ = 0;     // last seq written to end_fd_
  uint64_t end_synced_ = 0;    // last seq written to end_fd_ and fdatasync'ed
  int end_slot_ = 0;
  int64_t last_end_save_us_ = 0;
};

// CRC32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32c(uint32_t crc, const void* data, size_t size);

}  // namespace skynet::daemon
