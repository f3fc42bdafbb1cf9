#include "daemon/record_store.h"

#include <sqlite3.h>

#include <chrono>
#include <set>

#include "pipeline/core/logging.h"

namespace skynet::daemon {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS records(
  id INTEGER PRIMARY KEY,
  node TEXT NOT NULL,
  camera TEXT NOT NULL,
  track_id INTEGER NOT NULL,
  first_us INTEGER NOT NULL,
  last_us INTEGER NOT NULL,
  class INTEGER NOT NULL,
  colour INTEGER NOT NULL,
  speed_kmh REAL NOT NULL,
  record BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS records_time ON records(last_us);
CREATE INDEX IF NOT EXISTS records_camera ON records(camera, last_us);
CREATE INDEX IF NOT EXISTS records_class ON records(class, last_us);
CREATE INDEX IF NOT EXISTS records_colour ON records(colour, last_us);
CREATE TABLE IF NOT EXISTS crossings(
  record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
  line TEXT NOT NULL,
  direction INTEGER NOT NULL,
  time_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS crossings_line ON crossings(line, direction, record_id);
CREATE INDEX IF NOT EXISTS crossings_record ON crossings(record_id);
CREATE TABLE IF NOT EXISTS files(
  record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
  file TEXT NOT NULL,
  role INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS files_file ON files(file);
CREATE INDEX IF NOT EXISTS files_record ON files(record_id);
)sql";

// files.role: a snapshot (the record goes with it) or a clip (the record only names it).
constexpr int kSnapshotRole = 0;
constexpr int kClipRole = 1;

// A prepared statement, finalised on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RecordStore::~RecordStore() { sqlite3_close_v2(db_); }

Status RecordStore::Error(const std::string& what) const {
  return Status(StatusCode::kIoError, "records database " + options_.path + ": " + what + ": " +
                                          (db_ ? sqlite3_errmsg(db_) : "cannot open"));
}

Status RecordStore::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    return Status(StatusCode::kIoError, "records database " + options_.path + ": " + text);
  }
  return Status::Ok();
}

Result<std::unique_ptr<RecordStore>> RecordStore::Open(const RecordStoreOptions& options) {
  std::unique_ptr<RecordStore> store(new RecordStore(options));
  if (sqlite3_open_v2(options.path.c_str(), &store->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return store->Error("cannot open");
  }
  sqlite3_busy_timeout(store->db_, 5000);
  // The first statements read the file: a damaged one fails here ("file is not a database").
  SKYNET_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  SKYNET_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=NORMAL"));
  SKYNET_RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON"));
  bool had_files = false;
  {
    Stmt st(store->db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='files'");
    if (!st.ok()) return store->Error("open");
    had_files = sqlite3_step(st.get()) == SQLITE_ROW;
  }
  SKYNET_RETURN_IF_ERROR(store->Exec(kSchema));
  if (!had_files) SKYNET_RETURN_IF_ERROR(store->IndexFiles());
  return store;
}

// A database of a version without the files table: the files its records name, from the
// records themselves (once).
Status RecordStore::IndexFiles() {
  SKYNET_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Stmt rows(db_, "SELECT id, record FROM records");
  Stmt add(db_, "INSERT INTO files(record_id, file, role) VALUES(?, ?, ?)");
  Status failed = rows.ok() && add.ok() ? Status::Ok() : Error("index files");
  int rc = SQLITE_DONE;
  while (failed.ok() && (rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
    v1::VehicleRecord r;
    if (!r.ParseFromArray(sqlite3_column_blob(rows.get(), 1),
                          sqlite3_column_bytes(rows.get(), 1))) {
      continue;
    }
    failed = AddFiles(add.get(), sqlite3_column_int64(rows.get(), 0), r);
  }
  if (failed.ok() && rc != SQLITE_DONE) failed = Error("index files");
  if (!failed.ok()) {
    (void)Exec("ROLLBACK");
    return failed;
  }
  return Exec("COMMIT");
}

Status RecordStore::AddFiles(sqlite3_stmt* add, int64_t id, const v1::VehicleRecord& r) {
  auto one = [&](const std::string& file, int role) {
    sqlite3_reset(add);
    sqlite3_bind_int64(add, 1, id);
    sqlite3_bind_text(add, 2, file.data(), static_cast<int>(file.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(add, 3, role);
    return sqlite3_step(add) == SQLITE_DONE;
  };
  for (const std::string& f : r.snapshot_files()) {
    if (!one(f, kSnapshotRole)) return Error("insert");
  }
  if (!r.clip_file().empty() && !one(r.clip_file(), kClipRole)) return Error("insert");
  return Status::Ok();
}

Status RecordStore::Insert(const std::vector<StoredRecord>& records) {
  SKYNET_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Stmt row(db_,
           "INSERT INTO records(node, camera, track_id, first_us, last_us, class, colour, "
           "speed_kmh, record) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  Stmt crossing(db_,
                "INSERT INTO crossings(record_id, line, direction, time_us) VALUES(?, ?, ?, ?)");
  Stmt file(db_, "INSERT INTO files(record_id, file, role) VALUES(?, ?, ?)");
  Status failed = Status::Ok();
  if (!row.ok() || !crossing.ok() || !file.ok()) failed = Error("insert");
  std::string blob;
  for (size_t i = 0; failed.ok() && i < records.size(); ++i) {
    const StoredRecord& s = records[i];
    const v1::VehicleRecord& r = s.record;
    blob.clear();
    r.SerializeToString(&blob);
    sqlite3_stmt* st = row.get();
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, s.node_id.data(), static_cast<int>(s.node_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, s.camera_id.data(), static_cast<int>(s.camera_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, static_cast<int64_t>(r.track_id()));
    sqlite3_bind_int64(st, 4, r.first_seen_us());
    sqlite3_bind_int64(st, 5, r.last_seen_us());
    sqlite3_bind_int(st, 6, r.vehicle_class());
    sqlite3_bind_int(st, 7, r.colour());
    sqlite3_bind_double(st, 8, r.speed_kmh());
    sqlite3_bind_blob(st, 9, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
      failed = Error("insert");
      break;
    }
    const int64_t id = sqlite3_last_insert_rowid(db_);
    failed = AddFiles(file.get(), id, r);
    if (!failed.ok()) break;
    for (const v1::RecordCrossing& c : r.crossings()) {
      sqlite3_stmt* cs = crossing.get();
      sqlite3_reset(cs);
      sqlite3_bind_int64(cs, 1, id);
      sqlite3_bind_text(cs, 2, c.line_id().data(), static_cast<int>(c.line_id().size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_int(cs, 3, c.direction());
      sqlite3_bind_int64(cs, 4, c.time_us());
      if (sqlite3_step(cs) != SQLITE_DONE) {
        failed = Error("insert");
        break;
      }
    }
  }
  if (!failed.ok()) {
    (void)Exec("ROLLBACK");
    return failed;
  }
  return Exec("COMMIT");
}

Result<std::vector<StoredRecord>> RecordStore::Query(const RecordQuery& q) {
  std::string sql = "SELECT node, camera, record FROM records WHERE 1";
  if (q.from_us != 0) sql += " AND last_us >= ?";
  if (q.to_us != 0) sql += " AND first_us <= ?";
  if (!q.cameras.empty()) {
    sql += " AND camera IN (";
    for (size_t i = 0; i < q.cameras.size(); ++i) sql += i == 0 ? "?" : ", ?";
    sql += ")";
  }
  if (q.track_id != 0) sql += " AND track_id = ?";
  if (q.vehicle_class != v1::VEHICLE_CLASS_UNSPECIFIED) sql += " AND class = ?";
  if (q.colour != v1::VEHICLE_COLOUR_UNSPECIFIED) sql += " AND colour = ?";
  if (!q.line_id.empty()) {
    sql += " AND id IN (SELECT record_id FROM crossings WHERE line = ?";
    if (q.direction != 0) sql += " AND direction = ?";
    sql += ")";
  }
  if (q.min_speed_kmh > 0) sql += " AND speed_kmh >= ?";
  sql += " ORDER BY last_us DESC, id DESC LIMIT ? OFFSET ?";
  Stmt st(db_, sql);
  if (!st.ok()) return Error("query");
  int n = 0;
  sqlite3_stmt* s = st.get();
  if (q.from_us != 0) sqlite3_bind_int64(s, ++n, q.from_us);
  if (q.to_us != 0) sqlite3_bind_int64(s, ++n, q.to_us);
  for (const std::string& c : q.cameras) {
    sqlite3_bind_text(s, ++n, c.data(), static_cast<int>(c.size()), SQLITE_TRANSIENT);
  }
  if (q.track_id != 0) sqlite3_bind_int64(s, ++n, static_cast<int64_t>(q.track_id));
  if (q.vehicle_class != v1::VEHICLE_CLASS_UNSPECIFIED) sqlite3_bind_int(s, ++n, q.vehicle_class);
  if (q.colour != v1::VEHICLE_COLOUR_UNSPECIFIED) sqlite3_bind_int(s, ++n, q.colour);
  if (!q.line_id.empty()) {
    sqlite3_bind_text(s, ++n, q.line_id.data(), static_cast<int>(q.line_id.size()),
                      SQLITE_TRANSIENT);
    if (q.direction != 0) sqlite3_bind_int(s, ++n, q.direction);
  }
  if (q.min_speed_kmh > 0) sqlite3_bind_double(s, ++n, q.min_speed_kmh);
  sqlite3_bind_int(s, ++n, q.limit);
  sqlite3_bind_int64(s, ++n, q.offset);
  std::vector<StoredRecord> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    StoredRecord r;
    r.node_id = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    r.camera_id = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    if (!r.record.ParseFromArray(sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2))) {
      return Status(StatusCode::kIoError,
                    "records database " + options_.path + ": a record does not parse");
    }
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error("query");
  return out;
}

// Deletes the records `where` selects (binding `bind`), gathering their snapshot files.
Result<int64_t> RecordStore::DeleteWhere(const std::string& where,
                                         const std::function<void(sqlite3_stmt*)>& bind,
                                         std::vector<std::string>* snapshot_files) {
  {
    Stmt st(db_, "SELECT file FROM files WHERE role = " + std::to_string(kSnapshotRole) +
                     " AND record_id IN (SELECT id FROM records WHERE " + where + ")");
    if (!st.ok()) return Error("retention");
    bind(st.get());
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      snapshot_files->push_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)));
    }
    if (rc != SQLITE_DONE) return Error("retention");
  }
  Stmt st(db_, "DELETE FROM records WHERE " + where);
  if (!st.ok()) return Error("retention");
  bind(st.get());
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("retention");
  return static_cast<int64_t>(sqlite3_changes(db_));
}

Result<RecordRetention> RecordStore::ApplyRetention(int64_t now_us) {
  RecordRetention out;
  SKYNET_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status failed = Status::Ok();
  if (options_.retention_days > 0) {
    const int64_t cutoff = now_us - static_cast<int64_t>(options_.retention_days * 86400e6);
    Result<int64_t> n = DeleteWhere(
        "last_us < ?", [&](sqlite3_stmt* st) { sqlite3_bind_int64(st, 1, cutoff); },
        &out.snapshot_files);
    if (n.ok()) {
      out.deleted += *n;
    } else {
      failed = n.status();
    }
  }
  if (failed.ok() && options_.max_records > 0) {
    Result<int64_t> n = DeleteWhere(
        "id IN (SELECT id FROM records ORDER BY last_us DESC, id DESC LIMIT -1 OFFSET ?)",
        [&](sqlite3_stmt* st) { sqlite3_bind_int64(st, 1, options_.max_records); },
        &out.snapshot_files);
    if (n.ok()) {
      out.deleted += *n;
    } else {
      failed = n.status();
    }
  }
  if (!failed.ok()) {
    (void)Exec("ROLLBACK");
    return failed;
  }
  SKYNET_RETURN_IF_ERROR(Exec("COMMIT"));
  return out;
}

Result<RecordRetention> RecordStore::ForgetFiles(const std::vector<std::string>& files) {
  RecordRetention out;
  if (files.empty()) return out;
  SKYNET_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status failed = Status::Ok();
  std::set<std::string> gone(files.begin(), files.end());
  for (const std::string& f : files) {
    // Records of this snapshot: deleted, with their other snapshot files.
    Result<int64_t> n = DeleteWhere(
        "id IN (SELECT record_id FROM files WHERE file = ? AND role = " +
            std::to_string(kSnapshotRole) + ")",
        [&](sqlite3_stmt* st) {
          sqlite3_bind_text(st, 1, f.data(), static_cast<int>(f.size()), SQLITE_TRANSIENT);
        },
        &out.snapshot_files);
    if (!n.ok()) {
      failed = n.status();
      break;
    }
    out.deleted += *n;
  }
  // Then the records of a clip among them (those still kept) lose the reference.
  for (const std::string& f : files) {
    if (!failed.ok()) break;
    std::vector<std::pair<int64_t, std::string>> named;
    {
      Stmt st(db_, "SELECT r.id, r.record FROM records r JOIN files f ON f.record_id = r.id "
                   "WHERE f.file = ? AND f.role = " + std::to_string(kClipRole));
      if (!st.ok()) {
        failed = Error("forget files");
        break;
      }
      sqlite3_bind_text(st.get(), 1, f.data(), static_cast<int>(f.size()), SQLITE_TRANSIENT);
      while (sqlite3_step(st.get()) == SQLITE_ROW) {
        named.emplace_back(sqlite3_column_int64(st.get(), 0),
                           std::string(static_cast<const char*>(sqlite3_column_blob(st.get(), 1)),
                                       sqlite3_column_bytes(st.get(), 1)));
      }
    }
    for (auto& [id, blob] : named) {
      v1::VehicleRecord r;
      if (!r.ParseFromString(blob)) continue;
      r.clear_clip_file();
      blob.clear();
      r.SerializeToString(&blob);
      Stmt up(db_, "UPDATE records SET record = ? WHERE id = ?");
      Stmt del(db_, "DELETE FROM files WHERE record_id = ? AND file = ?");
      if (!up.ok() || !del.ok()) {
        failed = Error("forget files");
        break;
      }
      sqlite3_bind_blob(up.get(), 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(up.get(), 2, id);
      sqlite3_bind_int64(del.get(), 1, id);
      sqlite3_bind_text(del.get(), 2, f.data(), static_cast<int>(f.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(up.get()) != SQLITE_DONE || sqlite3_step(del.get()) != SQLITE_DONE) {
        failed = Error("forget files");
        break;
      }
      ++out.clips_cleared;
    }
    if (!failed.ok()) break;
  }
  if (!failed.ok()) {
    (void)Exec("ROLLBACK");
    return failed;
  }
  SKYNET_RETURN_IF_ERROR(Exec("COMMIT"));
  // The other files of the deleted records, not those already gone.
  std::erase_if(out.snapshot_files, [&](const std::string& f) { return gone.count(f) != 0; });
  return out;
}

Result<std::vector<std::pair<std::string, bool>>> RecordStore::NamedFiles() {
  Stmt st(db_, "SELECT DISTINCT file, role FROM files");
  if (!st.ok()) return Error("files");
  std::vector<std::pair<std::string, bool>> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)),
                     sqlite3_column_int(st.get(), 1) == kSnapshotRole);
  }
  if (rc != SQLITE_DONE) return Error("files");
  return out;
}

Result<int64_t> RecordStore::Count() {
  Stmt st(db_, "SELECT COUNT(*) FROM records");
  if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW) return Error("count");
  return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
}

// --- RecordWriter ----------------------------------------------------------------------------

RecordWriter::RecordWriter(std::unique_ptr<RecordStore> store, RecordWriterOptions options,
                           std::shared_ptr<EvidenceStore> evidence)
    : options_(options), store_(std::move(store)), evidence_(std::move(evidence)) {
  if (evidence_ && store_) {
    evidence_->SetDeletionListener([this](std::vector<std::string> files) {
      {
        std::lock_guard lock(mu_);
        deleted_files_.insert(deleted_files_.end(), files.begin(), files.end());
      }
      cv_.notify_one();
    });
  }
  thread_ = std::thread([this] { Run(); });
}

RecordWriter::~RecordWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (evidence_ && store_) evidence_->SetDeletionListener(nullptr);
  cv_.notify_all();
  thread_.join();
  const RecordWriterStats s = stats();
  GetLogger("daemon")->info(
      "records: {} written, {} lost to a full queue, {} lost to the database, {} deleted by "
      "retention",
      s.written, s.lost_overflow, s.lost_errors, s.deleted);
}

bool RecordWriter::Add(StoredRecord record) {
  if (!store_) {
    lost_errors_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queued) {
      lost_overflow_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(record));
  }
  cv_.notify_one();
  return true;
}

RecordWriterStats RecordWriter::stats() const {
  RecordWriterStats s;
  s.written = written_.load(std::memory_order_relaxed);
  s.lost_overflow = lost_overflow_.load(std::memory_order_relaxed);
  s.lost_errors = lost_errors_.load(std::memory_order_relaxed);
  s.deleted = deleted_.load(std::memory_order_relaxed);
  s.clips_cleared = clips_cleared_.load(std::memory_order_relaxed);
  s.files_deleted = files_deleted_.load(std::memory_order_relaxed);
  return s;
}

void RecordWriter::DropMissingFiles(v1::VehicleRecord* r) {
  if (!evidence_) return;
  auto* files = r->mutable_snapshot_files();
  for (int i = files->size() - 1; i >= 0; --i) {
    if (!evidence_->Contains(files->Get(i))) files->DeleteSubrange(i, 1);
  }
  if (!r->clip_file().empty() && !evidence_->Contains(r->clip_file())) r->clear_clip_file();
}

void RecordWriter::Forget(std::vector<std::string> files) {
  auto log = GetLogger("daemon");
  Result<RecordRetention> r = store_->ForgetFiles(files);
  if (!r.ok()) {
    log->error("{}", r.status().message());
    return;
  }
  deleted_.fetch_add(static_cast<uint64_t>(r->deleted), std::memory_order_relaxed);
  clips_cleared_.fetch_add(static_cast<uint64_t>(r->clips_cleared), std::memory_order_relaxed);
  // The deleted records' other snapshots (a unit retention left whole is already gone).
  files_deleted_.fetch_add(evidence_->Delete(r->snapshot_files).size(),
                           std::memory_order_relaxed);
}

void RecordWriter::Reconcile() {
  auto log = GetLogger("daemon");
  Result<std::vector<std::pair<std::string, bool>>> named = store_->NamedFiles();
  if (!named.ok()) {
    log->error("{}", named.status().message());
    return;
  }
  std::vector<std::string> missing;
  std::set<std::string> snapshots;
  int64_t missing_snapshots = 0;
  for (const auto& [file, snapshot] : *named) {
    if (snapshot) snapshots.insert(file);
    if (!evidence_->Contains(file)) {
      missing.push_back(file);
      missing_snapshots += snapshot;
    }
  }
  const RecordWriterStats before = stats();
  if (!missing.empty()) Forget(missing);
  std::vector<std::string> orphans;
  // Only files of an earlier run: one written since may belong to a record still queued.
  for (const EvidenceStore::FileInfo& f : evidence_->Files("snapshots")) {
    if (!f.open && f.scanned && !snapshots.count(f.relative)) orphans.push_back(f.relative);
  }
  const size_t orphans_deleted = evidence_->Delete(orphans).size();
  const RecordWriterStats after = stats();
  if (!missing.empty() || orphans_deleted > 0) {
    log->warn(
        "records database {} and evidence directory {} reconciled: {} files named by records "
        "were gone ({} snapshots, {} clips): {} records deleted, {} clip references cleared; "
        "{} snapshot files without a record deleted",
        store_->path(), evidence_->path(), missing.size(), missing_snapshots,
        missing.size() - static_cast<size_t>(missing_snapshots), after.deleted - before.deleted,
        after.clips_cleared - before.clips_cleared, orphans_deleted);
  }
}

// Waits for records, writes them in batches; runs retention at start and every interval. Logs
// a failing database once per change of state, and overflow once per minute at most.
void RecordWriter::Run() {
  if (!store_) return;
  auto log = GetLogger("daemon");
  if (evidence_) Reconcile();
  auto next_retention = std::chrono::steady_clock::now();
  auto next_overflow_log = std::chrono::steady_clock::now();
  uint64_t overflow_logged = 0;
  bool failing = false;
  std::vector<StoredRecord> batch;
  while (true) {
    bool stop;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_retention, [this] {
        return stopping_ || !queue_.empty() || !deleted_files_.empty();
      });
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stop = stopping_ && queue_.empty();
    }
    if (!batch.empty()) {
      for (StoredRecord& r : batch) DropMissingFiles(&r.record);
      Status st = store_->Insert(batch);
      if (st.ok()) {
        written_.fetch_add(batch.size(), std::memory_order_relaxed);
        if (failing) log->info("records database {}: writing again", store_->path());
        failing = false;
      } else {
        lost_errors_.fetch_add(batch.size(), std::memory_order_relaxed);
        if (!failing) log->error("{}; {} records lost", st.message(), batch.size());
        failing = true;
      }
      batch.clear();
    }
    // After the inserts: a file deleted while its record waited is forgotten now.
    std::vector<std::string> gone;
    {
      std::lock_guard lock(mu_);
      gone.swap(deleted_files_);
    }
    if (!gone.empty()) Forget(std::move(gone));
    const auto now = std::chrono::steady_clock::now();
    const uint64_t overflow = lost_overflow_.load(std::memory_order_relaxed);
    if (overflow != overflow_logged && now >= next_overflow_log) {
      log->warn("records database {}: writer behind, {} records lost to a full queue so far",
                store_->path(), overflow);
      overflow_logged = overflow;
      next_overflow_log = now + 60s;
    }
    if (now >= next_retention) {
      Result<RecordRetention> deleted = store_->ApplyRetention(NowUs());
      if (deleted.ok()) {
        deleted_.fetch_add(static_cast<uint64_t>(deleted->deleted), std::memory_order_relaxed);
        if (evidence_) {
          files_deleted_.fetch_add(evidence_->Delete(deleted->snapshot_files).size(),
                                   std::memory_order_relaxed);
        }
      } else {
        log->error("{}", deleted.status().message());
      }
      next_retention = now + std::chrono::seconds(options_.retention_interval_s);
    }
    if (stop) return;
  }
}

}  // namespace skynet::daemon
