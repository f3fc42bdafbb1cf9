#include "daemon/record_store.h"

#include <sqlite3.h>

#include <chrono>

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
)sql";

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
  SKYNET_RETURN_IF_ERROR(store->Exec(kSchema));
  return store;
}

Status RecordStore::Insert(const std::vector<StoredRecord>& records) {
  SKYNET_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Stmt row(db_,
           "INSERT INTO records(node, camera, track_id, first_us, last_us, class, colour, "
           "speed_kmh, record) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  Stmt crossing(db_,
                "INSERT INTO crossings(record_id, line, direction, time_us) VALUES(?, ?, ?, ?)");
  Status failed = Status::Ok();
  if (!row.ok() || !crossing.ok()) failed = Error("insert");
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

Result<int64_t> RecordStore::ApplyRetention(int64_t now_us) {
  int64_t deleted = 0;
  if (options_.retention_days > 0) {
    Stmt st(db_, "DELETE FROM records WHERE last_us < ?");
    if (!st.ok()) return Error("retention");
    sqlite3_bind_int64(st.get(), 1,
                       now_us - static_cast<int64_t>(options_.retention_days * 86400e6));
    if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("retention");
    deleted += sqlite3_changes(db_);
  }
  if (options_.max_records > 0) {
    Stmt st(db_,
            "DELETE FROM records WHERE id IN (SELECT id FROM records ORDER BY last_us DESC, id "
            "DESC LIMIT -1 OFFSET ?)");
    if (!st.ok()) return Error("retention");
    sqlite3_bind_int64(st.get(), 1, options_.max_records);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("retention");
    deleted += sqlite3_changes(db_);
  }
  return deleted;
}

Result<int64_t> RecordStore::Count() {
  Stmt st(db_, "SELECT COUNT(*) FROM records");
  if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW) return Error("count");
  return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
}

// --- RecordWriter ----------------------------------------------------------------------------

RecordWriter::RecordWriter(std::unique_ptr<RecordStore> store, RecordWriterOptions options)
    : options_(options), store_(std::move(store)), thread_([this] { Run(); }) {}

RecordWriter::~RecordWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
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
  return s;
}

// Waits for records, writes them in batches; runs retention at start and every interval. Logs
// a failing database once per change of state, and overflow once per minute at most.
void RecordWriter::Run() {
  if (!store_) return;
  auto log = GetLogger("daemon");
  auto next_retention = std::chrono::steady_clock::now();
  auto next_overflow_log = std::chrono::steady_clock::now();
  uint64_t overflow_logged = 0;
  bool failing = false;
  std::vector<StoredRecord> batch;
  while (true) {
    bool stop;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_retention, [this] { return stopping_ || !queue_.empty(); });
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stop = stopping_ && queue_.empty();
    }
    if (!batch.empty()) {
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
    const auto now = std::chrono::steady_clock::now();
    const uint64_t overflow = lost_overflow_.load(std::memory_order_relaxed);
    if (overflow != overflow_logged && now >= next_overflow_log) {
      log->warn("records database {}: writer behind, {} records lost to a full queue so far",
                store_->path(), overflow);
      overflow_logged = overflow;
      next_overflow_log = now + 60s;
    }
    if (now >= next_retention) {
      Result<int64_t> deleted = store_->ApplyRetention(NowUs());
      if (deleted.ok()) {
        deleted_.fetch_add(static_cast<uint64_t>(*deleted), std::memory_order_relaxed);
      } else {
        log->error("{}", deleted.status().message());
      }
      next_retention = now + std::chrono::seconds(options_.retention_interval_s);
    }
    if (stop) return;
  }
}

}  // namespace skynet::daemon
