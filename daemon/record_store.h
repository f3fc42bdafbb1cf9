// RecordStore: the vehicle records of this node in an SQLite database (docs/evidence.md), one
// row per finished vehicle track, with indexes on time, camera, class and colour and a table of
// the lines each vehicle crossed. WAL mode: a search reads while the writer writes.
//
// RecordWriter: the only writer in the daemon. Add() never blocks: it queues the record for the
// writer thread, which inserts what has queued in one transaction and applies retention. A full
// queue, a database that could not be opened and a failed write each count the records as lost.
//
// Records and their evidence files are one unit (docs/evidence.md, "Retention"): with an
// evidence store, the writer thread also (batched, off the analytics path)
//   - deletes the records whose snapshot files the evidence store's retention deleted, and
//     clears the clip_file of records whose clip (or recording) it deleted;
//   - deletes the snapshot files of the records its own retention deletes (by age: the
//     evidence store's retention_days; by max_records);
//   - leaves out of a new record the files already gone when it is written;
//   - reconciles at start: records naming a snapshot that is gone are deleted, clips that are
//     gone are cleared from records, and snapshot files of an earlier run (found by the
//     evidence store's scan) that no record names are deleted.
// So no record names a missing file, and no snapshot outlives its record.
//
// Threads: RecordStore is not thread-safe (one owner: the writer thread, or a test).
// RecordWriter::Add() and stats() are safe from any thread.
//
//   auto store = RecordStore::Open({.path = "/var/lib/skynetd/records.db"});  // Result<...>
//   RecordWriter writer(std::move(store).value(), {});
//   writer.Add(StoredRecord{"node-1", "cam1", record});
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/evidence_store.h"
#include "pipeline/core/status.h"
#include "skynet/v1/events.pb.h"

struct sqlite3;
struct sqlite3_stmt;

namespace skynet::daemon {

struct RecordStoreOptions {
  // The database file; its directory must exist.
  std::string path;
  // Retention: records whose last_seen is older than this many days are deleted (0: no limit).
  double retention_days = 30;
  // Retention: at most this many records, the oldest deleted first (0: no limit).
  int64_t max_records = 10'000'000;
};

// A record with the node and camera it came from (the feed carries them in the envelope).
struct StoredRecord {
  std::string node_id;
  std::string camera_id;
  v1::VehicleRecord record;
};

// Filters of a search; unset ones match everything. Results are newest first (by last_seen).
struct RecordQuery {
  int64_t from_us = 0;                // last_seen >= from_us (0: no lower bound)
  int64_t to_us = 0;                  // first_seen <= to_us (0: no upper bound)
  std::vector<std::string> cameras;   // any of these (empty: all)
  uint64_t track_id = 0;              // this track id (per camera and daemon run; 0: any)
  v1::VehicleClass vehicle_class = v1::VEHICLE_CLASS_UNSPECIFIED;  // UNSPECIFIED: any
  v1::VehicleColour colour = v1::VEHICLE_COLOUR_UNSPECIFIED;        // UNSPECIFIED: any
  std::string line_id;                // crossed this line (empty: any)
  int direction = 0;                  // with line_id: +1 or -1 only (0: either)
  float min_speed_kmh = 0;            // speed_kmh >= this (0: no bound)
  int limit = 100;                    // page size
  int64_t offset = 0;                 // records skipped (paging)
};

// What a deletion of records did.
struct RecordRetention {
  int64_t deleted = 0;                      // records deleted
  int64_t clips_cleared = 0;                // records that lost their clip_file
  std::vector<std::string> snapshot_files;  // snapshot files of the deleted records
};

class RecordStore {
 public:
  // Opens or creates the database, sets WAL mode and creates the schema. Errors name the path:
  // "records database /x/records.db: file is not a database" (IoError).
  static Result<std::unique_ptr<RecordStore>> Open(const RecordStoreOptions& options);
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  // Inserts `records` in one transaction (all or none). Errors name the path.
  Status Insert(const std::vector<StoredRecord>& records);
  // Matching records, newest first, at most query.limit of them after query.offset.
  Result<std::vector<StoredRecord>> Query(const RecordQuery& query);
  // Deletes what retention no longer keeps, relative to `now_us`, in one transaction; returns
  // how many and the snapshot files the deleted records named (to delete with them).
  Result<RecordRetention> ApplyRetention(int64_t now_us);
  // These evidence files are gone: the records of a snapshot among them are deleted (their
  // other snapshot files are returned, to delete too), the records naming a clip among them
  // lose their clip_file. One transaction.
  Result<RecordRetention> ForgetFiles(const std::vector<std::string>& files);
  // Every file the records name, and whether as a snapshot (true) or a clip.
  Result<std::vector<std::pair<std::string, bool>>> NamedFiles();
  Result<int64_t> Count();
  const std::string& path() const { return options_.path; }

 private:
  explicit RecordStore(RecordStoreOptions options) : options_(std::move(options)) {}
  Status Exec(const char* sql);
  Status Error(const std::string& what) const;
  Status IndexFiles();
  Status AddFiles(sqlite3_stmt* add, int64_t id, const v1::VehicleRecord& r);
  Result<int64_t> DeleteWhere(const std::string& where,
                              const std::function<void(sqlite3_stmt*)>& bind,
                              std::vector<std::string>* snapshot_files);

  const RecordStoreOptions options_;
  sqlite3* db_ = nullptr;
};

struct RecordWriterOptions {
  size_t max_queued = 10000;      // records waiting for the writer; more are lost (counted)
  size_t max_batch = 500;         // records per transaction
  int64_t retention_interval_s = 600;  // how often retention runs
};

struct RecordWriterStats {
  uint64_t written = 0;
  uint64_t lost_overflow = 0;     // the queue was full
  uint64_t lost_errors = 0;       // no database, or the write failed
  uint64_t deleted = 0;           // by retention (age, max_records) or with their files
  uint64_t clips_cleared = 0;     // records whose clip_file was cleared (the clip was deleted)
  uint64_t files_deleted = 0;     // snapshot files deleted with their records
};

class RecordWriter {
 public:
  // `store` may be null (the database could not be opened): every record is then lost, counted.
  // `evidence` (optional): the records' files, retained together with them (above); the writer
  // becomes its deletion listener and reconciles both at start, on its thread.
  RecordWriter(std::unique_ptr<RecordStore> store, RecordWriterOptions options,
               std::shared_ptr<EvidenceStore> evidence = nullptr);
  // Writes what is queued, then stops the thread.
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Queues `record`; never blocks. False if it was lost (queue full or no database).
  bool Add(StoredRecord record);
  RecordWriterStats stats() const;

 private:
  void Run();
  // Writer thread: the start's reconciliation; files deleted by the evidence store.
  void Reconcile();
  void Forget(std::vector<std::string> files);
  // Leaves out of `r` the files the evidence store no longer has.
  void DropMissingFiles(v1::VehicleRecord* r);

  const RecordWriterOptions options_;
  std::unique_ptr<RecordStore> store_;  // used by the writer thread only
  const std::shared_ptr<EvidenceStore> evidence_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StoredRecord> queue_;
  std::vector<std::string> deleted_files_;  // by the evidence store, not yet forgotten
  bool stopping_ = false;
  std::atomic<uint64_t> written_{0}, lost_overflow_{0}, lost_errors_{0}, deleted_{0};
  std::atomic<uint64_t> clips_cleared_{0}, files_deleted_{0};
  std::thread thread_;  // last: starts after the rest is set up
};

}  // namespace skynet::daemon
