// EvidenceStore: the evidence files of this node (snapshots, clips; docs/evidence.md) under one
// directory, with size and age retention and a stop on a full disk.
//
// Layout: <path>/<camera>/<kind>/<YYYY-MM-DD>/<name>, the date (UTC) of the evidence's capture
// time. Callers get back the path relative to <path> ("cam1/clips/2026-12-06/track-12.mp4"),
// which is what records and events carry.
//
// Accounting: Open() scans the directory (files it did not write and cannot place are skipped
// with a message and never deleted); every write adds its bytes. Retention runs on every write
// and on ApplyRetention(): files older than retention_days, then the oldest files beyond
// max_bytes_per_camera and max_bytes are deleted, never a file still open for writing.
// Retention deletes whole units (UnitOf: a vehicle's snapshots go together) and tells the
// deletion listener (the record writer, which drops the records of those files) what it deleted.
//
// Disk full (ENOSPC, EDQUOT) stops writing: one error line naming the path, counted in stats()
// (`stopped`, `disk_full`); writes are refused (Unavailable) until disk_full_retry_s has passed,
// then the next write tries again and a success resumes writing. The daemon itself goes on.
//
// Threads: every method is safe from any thread. File I/O happens outside the store's lock.
// The store lives as long as its last EvidenceFile (each holds a shared_ptr to it).
//
//   auto store = EvidenceStore::Open({.path = "/var/lib/skynetd/evidence"});  // Result<...>
//   Result<std::string> rel = (*store)->WriteFile("cam1", "snapshots", "t12-scene.jpg",
//                                                 capture_us, jpeg_bytes);
//   auto clip = (*store)->Create("cam1", "clips", "t12.mp4", capture_us);  // stream, then Close()
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/clock.h"
#include "pipeline/core/status.h"

namespace skynet::daemon {

struct EvidenceStoreOptions {
  // The evidence directory; created (with its parents) if missing.
  std::string path;
  // Retention: total bytes of all files, and per camera; 0: no limit.
  int64_t max_bytes = 0;
  int64_t max_bytes_per_camera = 0;
  // Retention: files whose last write is older than this are deleted; 0: no age limit.
  double retention_days = 0;
  // After a full disk, writes are refused this long before the next one is tried.
  int64_t disk_full_retry_s = 10;
  // fdatasync every file before it counts as written (WriteFile before its rename,
  // EvidenceFile at Close).
  bool sync = true;
};

struct EvidenceStats {
  int64_t bytes = 0;              // files kept now (open ones included)
  int64_t files = 0;
  int64_t open_files = 0;         // being written
  uint64_t files_written = 0;     // since Open
  uint64_t files_deleted = 0;     // by retention
  uint64_t bytes_deleted = 0;
  uint64_t write_errors = 0;      // failed writes, disk full included
  uint64_t disk_full = 0;         // times writing stopped on a full disk
  uint64_t refused = 0;           // writes refused while stopped
  uint64_t skipped_at_scan = 0;   // unexpected or damaged entries found by Open (left alone)
  bool stopped = false;           // writing is stopped by a full disk
  // While stopped: since when (wall time), the file whose write was refused and why.
  int64_t stopped_since_us = 0;
  std::string failed_path;
  std::string error;
};

class EvidenceStore;

// `time_us` (microseconds since the epoch) in UTC through strftime's `format`: the date of the
// layout ("%Y-%m-%d") and the times in file names.
std::string FormatUtc(int64_t time_us, const char* format);

// A file open for streaming writes (a clip being written). Retention never deletes it while
// this object lives. Not thread-safe: one writer.
class EvidenceFile {
 public:
  ~EvidenceFile();  // Close(), ignoring its status
  EvidenceFile(const EvidenceFile&) = delete;
  EvidenceFile& operator=(const EvidenceFile&) = delete;

  // Appends `size` bytes. Errors: IoError (a full disk also stops the store), or Unavailable
  // after an earlier failure or Close().
  Status Write(const void* data, size_t size);
  // Syncs (options.sync) and closes; the file stays and becomes subject to retention. Reports
  // a failed sync. Later calls do nothing.
  Status Close();
  // Relative to the evidence directory, as stored in records and events.
  const std::string& relative_path() const { return relative_; }
  const std::string& absolute_path() const { return absolute_; }
  int64_t bytes() const { return bytes_; }

 private:
  friend class EvidenceStore;
  EvidenceFile(std::shared_ptr<EvidenceStore> store, int fd, std::string relative,
               std::string absolute)
      : store_(std::move(store)), fd_(fd), relative_(std::move(relative)),
        absolute_(std::move(absolute)) {}

  std::shared_ptr<EvidenceStore> store_;
  int fd_ = -1;
  bool failed_ = false;
  std::string relative_, absolute_;
  int64_t bytes_ = 0;
};

class EvidenceStore : public std::enable_shared_from_this<EvidenceStore> {
 public:
  // Creates the directory if needed and scans it (sizes, times; leftover temporary files of
  // WriteFile are removed; anything else unexpected is skipped with a message naming it).
  // Errors: the directory cannot be created or read (IoError naming the path).
  static Result<std::shared_ptr<EvidenceStore>> Open(const EvidenceStoreOptions& options,
                                                     Clock* clock = SystemClock::Get());
  ~EvidenceStore();
  EvidenceStore(const EvidenceStore&) = delete;
  EvidenceStore& operator=(const EvidenceStore&) = delete;

  // Writes `bytes` as <camera>/<kind>/<date of time_us>/<name> atomically (a temporary file
  // renamed into place: readers and a crash see all of it or nothing); an existing file of that
  // name is replaced. Returns the relative path. Errors: InvalidArgument (camera, kind or name
  // not letters, digits, '.', '_', '-', or name starting with '.'), Unavailable (stopped by a
  // full disk), IoError.
  Result<std::string> WriteFile(const std::string& camera, const std::string& kind,
                                const std::string& name, int64_t time_us, std::string_view bytes);
  // Opens <camera>/<kind>/<date of time_us>/<name> for streaming writes (created or
  // truncated). Same errors as WriteFile.
  Result<std::unique_ptr<EvidenceFile>> Create(const std::string& camera, const std::string& kind,
                                               const std::string& name, int64_t time_us);
  // The relative path WriteFile/Create give the file (pure; nothing is checked or created).
  static std::string RelativePath(const std::string& camera, const std::string& kind,
                                  const std::string& name, int64_t time_us);
  // The absolute path of a relative one this store returned. Errors: InvalidArgument for a path
  // that is not of the layout (so ".." cannot leave the directory), NotFound if not stored.
  Result<std::string> Resolve(const std::string& relative) const;
  // Applies retention now (the writes do it too; call it periodically for the age limit when
  // nothing is written).
  void ApplyRetention();

  // Told the relative paths retention deleted (after the files are gone), on the thread that
  // ran retention: must be quick (queue them). Once SetDeletionListener(nullptr) returns, the
  // old listener is not running and will not be called.
  using DeletionListener = std::function<void(std::vector<std::string> deleted)>;
  void SetDeletionListener(DeletionListener listener);
  // Deletes these files (relative paths; unknown ones are ignored), never one open for writing,
  // and returns those deleted. The listener is not told (the caller knows).
  std::vector<std::string> Delete(const std::vector<std::string>& relative);
  // Whether the store holds this file (written, or being written).
  bool Contains(const std::string& relative) const;
  // The files of this kind ("snapshots", "recordings", ...) of `camera` (empty: every camera).
  struct FileInfo {
    std::string relative;
    int64_t size = 0;
    int64_t time_us = 0;  // last write (wall)
    bool open = false;    // being written
    bool scanned = false;  // found at Open (written before this run), not written since
  };
  std::vector<FileInfo> Files(const std::string& kind, const std::string& camera = "") const;
  // The unit a file belongs to: the files retention deletes together. A vehicle's snapshots
  // (<camera>/snapshots/<date>/track-<id>-<µs>-crop.jpg and …-scene.jpg) are one unit, named
  // by the path up to the last '-'; any other file is a unit of its own.
  static std::string UnitOf(const std::string& relative);

  EvidenceStats stats() const;
  const std::string& path() const;
  const EvidenceStoreOptions& options() const;

 private:
  friend class EvidenceFile;
  struct State;
  EvidenceStore(EvidenceStoreOptions options, Clock* clock);
  Status Scan();
  // The relative and absolute path of a new file; creates its directory.
  Result<std::pair<std::string, std::string>> Place(const std::string& camera,
                                                    const std::string& kind,
                                                    const std::string& name, int64_t time_us);
  Status CheckWritable();
  Status WriteError(const std::string& absolute, int err);
  void NoteWritten(const std::string& relative, int64_t size, bool open);
  void NoteGrown(const std::string& relative, int64_t delta);
  void NoteClosed(const std::string& relative);
  void Unlink(const std::vector<std::string>& doomed);  // outside the lock

  std::unique_ptr<State> state_;
};

}  // namespace skynet::daemon
