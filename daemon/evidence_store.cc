#include "daemon/evidence_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "pipeline/core/file_io.h"
#include "pipeline/core/logging.h"

namespace skynet::daemon {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kUsPerDay = int64_t{86400} * 1'000'000;
// Messages about unexpected entries at scan, before they are only counted.
constexpr int kMaxScanMessages = 20;

std::shared_ptr<spdlog::logger> Log() {
  static auto logger = GetLogger("daemon");
  return logger;
}

// Camera ids, kinds and file names: letters, digits, '.', '_', '-'; not "." or "..".
bool ValidPart(const std::string& s, size_t max_size) {
  if (s.empty() || s.size() > max_size || s == "." || s == "..") return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ValidDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool IsDiskFull(int err) { return err == ENOSPC || err == EDQUOT; }

int64_t MtimeUs(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1'000'000 + st.st_mtim.tv_nsec / 1000;
}

}  // namespace

struct EvidenceStore::State {
  EvidenceStoreOptions options;
  Clock* clock;

  struct Entry {
    std::string camera;
    int64_t size = 0;
    int64_t time_us = 0;  // last write: the retention order
    int open = 0;         // EvidenceFiles writing it
    bool scanned = false;  // found by Open's scan, not written since
  };
  mutable std::mutex mu;
  std::map<std::string, Entry> files;  // by relative path
  // (time, relative path): the oldest first, overall and per camera.
  std::set<std::pair<int64_t, std::string>> by_time;
  std::map<std::string, std::set<std::pair<int64_t, std::string>>> by_camera_time;
  std::map<std::string, int64_t> camera_bytes;
  EvidenceStats stats;
  int64_t stopped_at_us = 0;  // monotonic, while stats.stopped
  bool error_logged = false;  // an I/O error other than a full disk, until a success
  // Held while the listener runs: after SetDeletionListener(nullptr) returns, none runs.
  std::mutex listener_mu;
  DeletionListener on_deleted;

  void Add(const std::string& rel, Entry e) {
    by_time.insert({e.time_us, rel});
    by_camera_time[e.camera].insert({e.time_us, rel});
    camera_bytes[e.camera] += e.size;
    stats.bytes += e.size;
    stats.files += 1;
    files.emplace(rel, std::move(e));
  }
  // Forgets `it` (the file is gone or replaced).
  void Remove(std::map<std::string, Entry>::iterator it) {
    const Entry& e = it->second;
    by_time.erase({e.time_us, it->first});
    by_camera_time[e.camera].erase({e.time_us, it->first});
    camera_bytes[e.camera] -= e.size;
    stats.bytes -= e.size;
    stats.files -= 1;
    files.erase(it);
  }
  void Retime(std::map<std::string, Entry>::iterator it, int64_t time_us) {
    by_time.erase({it->second.time_us, it->first});
    by_camera_time[it->second.camera].erase({it->second.time_us, it->first});
    it->second.time_us = time_us;
    by_time.insert({time_us, it->first});
    by_camera_time[it->second.camera].insert({time_us, it->first});
  }
};

EvidenceStore::EvidenceStore(EvidenceStoreOptions options, Clock* clock)
    : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->clock = clock;
}

EvidenceStore::~EvidenceStore() = default;

const std::string& EvidenceStore::path() const { return state_->options.path; }

const EvidenceStoreOptions& EvidenceStore::options() const { return state_->options; }

Result<std::shared_ptr<EvidenceStore>> EvidenceStore::Open(const EvidenceStoreOptions& options,
                                                           Clock* clock) {
  std::shared_ptr<EvidenceStore> store(new EvidenceStore(options, clock));
  std::error_code ec;
  fs::create_directories(options.path, ec);
  if (ec || !fs::is_directory(options.path)) {
    return Status::IoError("evidence directory " + options.path + ": " +
                           (ec ? ec.message() : std::string("not a directory")));
  }
  SKYNET_RETURN_IF_ERROR(store->Scan());
  store->ApplyRetention();
  const EvidenceStats st = store->stats();
  Log()->info("evidence directory {}: {} files, {} bytes", options.path, st.files, st.bytes);
  return store;
}

Status EvidenceStore::Scan() {
  State& s = *state_;
  const fs::path root(s.options.path);
  int messages = 0;
  auto skip = [&](const std::string& rel, const std::string& why) {
    ++s.stats.skipped_at_scan;
    if (messages++ < kMaxScanMessages) {
      Log()->warn("evidence directory {}: skipping {}: {} (left as it is, not counted)",
                  s.options.path, rel, why);
    }
  };
  // Lists a directory's entries; errors are skipped entries.
  auto list = [&](const fs::path& dir, const std::string& rel) {
    std::vector<std::pair<std::string, struct stat>> out;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      if (!rel.empty()) skip(rel, "cannot be read: " + ec.message());
      return out;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const std::string name = it->path().filename().string();
      struct stat st;
      if (::lstat(it->path().c_str(), &st) != 0) {
        skip((rel.empty() ? "" : rel + "/") + name, std::strerror(errno));
        continue;
      }
      out.emplace_back(name, st);
    }
    if (ec) skip(rel.empty() ? "." : rel, "cannot be read: " + ec.message());
    return out;
  };
  std::error_code root_ec;
  fs::directory_iterator probe(root, root_ec);
  if (root_ec) {
    return Status::IoError("evidence directory " + s.options.path + ": " + root_ec.message());
  }
  for (const auto& [camera, cst] : list(root, "")) {
    if (!S_ISDIR(cst.st_mode) || !ValidPart(camera, 64)) {
      skip(camera, "not a camera directory");
      continue;
    }
    for (const auto& [kind, kst] : list(root / camera, camera)) {
      const std::string krel = camera + "/" + kind;
      if (!S_ISDIR(kst.st_mode) || !ValidPart(kind, 64)) {
        skip(krel, "not a kind directory (snapshots, clips)");
        continue;
      }
      for (const auto& [date, dst] : list(root / camera / kind, krel)) {
        const std::string drel = krel + "/" + date;
        if (!S_ISDIR(dst.st_mode) || !ValidDate(date)) {
          skip(drel, "not a date directory (YYYY-MM-DD)");
          continue;
        }
        for (const auto& [name, st] : list(root / camera / kind / date, drel)) {
          const std::string rel = drel + "/" + name;
          if (!S_ISREG(st.st_mode)) {
            skip(rel, "not a regular file");
          } else if (name.size() > 5 && name[0] == '.' &&
                     name.compare(name.size() - 4, 4, ".tmp") == 0) {
            // A WriteFile that did not finish (crash): never renamed into place.
            std::error_code ec;
            fs::remove(root / rel, ec);
            Log()->warn("evidence directory {}: removed unfinished {}", s.options.path, rel);
          } else if (!ValidPart(name, 128) || name[0] == '.') {
            skip(rel, "unexpected file name");
          } else {
            s.Add(rel, {camera, static_cast<int64_t>(st.st_size), MtimeUs(st), 0, true});
          }
        }
      }
    }
  }
  if (messages > kMaxScanMessages) {
    Log()->warn("evidence directory {}: {} more entries skipped", s.options.path,
                messages - kMaxScanMessages);
  }
  return Status::Ok();
}

Result<std::pair<std::string, std::string>> EvidenceStore::Place(const std::string& camera,
                                                                 const std::string& kind,
                                                                 const std::string& name,
                                                                 int64_t time_us) {
  if (!ValidPart(camera, 64)) return Status::InvalidArgument("evidence: bad camera id '" + camera + "'");
  if (!ValidPart(kind, 64)) return Status::InvalidArgument("evidence: bad kind '" + kind + "'");
  if (!ValidPart(name, 128) || name[0] == '.') {
    return Status::InvalidArgument("evidence: bad file name '" + name + "'");
  }
  const std::string rel = RelativePath(camera, kind, name, time_us);
  const std::string dir_rel = rel.substr(0, rel.rfind('/'));
  const fs::path dir = fs::path(path()) / dir_rel;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    SKYNET_RETURN_IF_ERROR(WriteError(dir.string(), ec.value()));
  }
  return std::make_pair(rel, (dir / name).string());
}

std::string FormatUtc(int64_t time_us, const char* format) {
  const time_t secs = static_cast<time_t>(time_us / 1'000'000);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, format, &tm_utc);
  return std::string(buf, n);
}

std::string EvidenceStore::RelativePath(const std::string& camera, const std::string& kind,
                                        const std::string& name, int64_t time_us) {
  return camera + "/" + kind + "/" + FormatUtc(time_us, "%Y-%m-%d") + "/" + name;
}

Status EvidenceStore::CheckWritable() {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.stats.stopped) return Status::Ok();
  const int64_t retry_us = s.options.disk_full_retry_s * 1'000'000;
  if (s.clock->NowMonotonicUs() - s.stopped_at_us >= retry_us) {
    s.stopped_at_us = s.clock->NowMonotonicUs();  // one try per interval
    return Status::Ok();
  }
  ++s.stats.refused;
  return Status::Unavailable("evidence writing stopped: disk full at " + s.options.path);
}

Status EvidenceStore::WriteError(const std::string& absolute, int err) {
  State& s = *state_;
  const std::string what = std::strerror(err);
  std::lock_guard<std::mutex> lock(s.mu);
  ++s.stats.write_errors;
  if (IsDiskFull(err)) {
    if (!s.stats.stopped) {
      s.stats.stopped = true;
      s.stats.stopped_since_us = s.clock->NowWallUs();
      s.stats.failed_path = absolute;
      s.stats.error = what;
      ++s.stats.disk_full;
      Log()->error(
          "evidence {}: disk full ({}): evidence writing stopped, retried every {} s; cameras "
          "and events go on",
          absolute, what, s.options.disk_full_retry_s);
    }
    s.stopped_at_us = s.clock->NowMonotonicUs();
    return Status::IoError("evidence " + absolute + ": " + what);
  }
  if (!s.error_logged) {
    s.error_logged = true;
    Log()->error("evidence {}: {}", absolute, what);
  }
  return Status::IoError("evidence " + absolute + ": " + what);
}

Result<std::string> EvidenceStore::WriteFile(const std::string& camera, const std::string& kind,
                                             const std::string& name, int64_t time_us,
                                             std::string_view bytes) {
  SKYNET_RETURN_IF_ERROR(CheckWritable());
  SKYNET_ASSIGN_OR_RETURN(auto where, Place(camera, kind, name, time_us));
  const auto& [rel, abs] = where;
  const std::string tmp = (fs::path(abs).parent_path() / ("." + name + ".tmp")).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return WriteError(tmp, errno);
  bool ok = WriteAll(fd, bytes.data(), bytes.size());
  if (ok && state_->options.sync) ok = ::fdatasync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), abs.c_str()) != 0) {
    const int e = ok ? errno : err;
    ::unlink(tmp.c_str());
    return WriteError(abs, e);
  }
  NoteWritten(rel, static_cast<int64_t>(bytes.size()), false);
  ApplyRetention();
  return rel;
}

Result<std::unique_ptr<EvidenceFile>> EvidenceStore::Create(const std::string& camera,
                                                            const std::string& kind,
                                                            const std::string& name,
                                                            int64_t time_us) {
  SKYNET_RETURN_IF_ERROR(CheckWritable());
  SKYNET_ASSIGN_OR_RETURN(auto where, Place(camera, kind, name, time_us));
  auto& [rel, abs] = where;
  const int fd = ::open(abs.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return WriteError(abs, errno);
  NoteWritten(rel, 0, true);
  return std::unique_ptr<EvidenceFile>(
      new EvidenceFile(shared_from_this(), fd, std::move(rel), std::move(abs)));
}

void EvidenceStore::NoteWritten(const std::string& relative, int64_t size, bool open) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  int open_count = 0;
  if (auto it = s.files.find(relative); it != s.files.end()) {
    open_count = it->second.open;  // replaced
    s.Remove(it);
  }
  const size_t slash = relative.find('/');
  s.Add(relative, {relative.substr(0, slash), size, s.clock->NowWallUs(), open_count + open});
  if (open) {
    ++s.stats.open_files;
  } else {
    ++s.stats.files_written;
  }
  if (s.stats.stopped) Log()->info("evidence {}: writing again", s.options.path);
  s.stats.stopped = false;
  s.stats.stopped_since_us = 0;
  s.stats.failed_path.clear();
  s.stats.error.clear();
  s.error_logged = false;
}

void EvidenceStore::NoteGrown(const std::string& relative, int64_t delta) {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.files.find(relative);
    if (it == s.files.end()) return;
    it->second.size += delta;
    s.camera_bytes[it->second.camera] += delta;
    s.stats.bytes += delta;
  }
}

void EvidenceStore::NoteClosed(const std::string& relative) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  --s.stats.open_files;
  ++s.stats.files_written;
  auto it = s.files.find(relative);
  if (it == s.files.end()) return;
  --it->second.open;
  s.Retime(it, s.clock->NowWallUs());
}

void EvidenceStore::ApplyRetention() {
  State& s = *state_;
  std::vector<std::string> doomed;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    // The unit of `rel` (a vehicle's snapshots): all of it, or nothing while a file is open.
    auto drop = [&](const std::string& rel) {
      std::vector<std::string> unit{rel};
      const std::string key = UnitOf(rel);
      if (key != rel) {
        unit.clear();
        for (auto it = s.files.lower_bound(key + "-");
             it != s.files.end() && it->first.compare(0, key.size() + 1, key + "-") == 0; ++it) {
          if (UnitOf(it->first) == key) unit.push_back(it->first);
        }
      }
      for (const std::string& r : unit) {
        if (s.files.at(r).open != 0) return;
      }
      for (const std::string& r : unit) {
        auto it = s.files.find(r);
        ++s.stats.files_deleted;
        s.stats.bytes_deleted += static_cast<uint64_t>(it->second.size);
        s.Remove(it);
        doomed.push_back(r);
      }
    };
    // Removes the oldest closed units of `order` while `over(time of the next file)`. Dropping
    // a unit may remove later entries of `order` too: continue after the key, not an iterator.
    auto trim = [&](const std::set<std::pair<int64_t, std::string>>& order, auto over) {
      for (auto it = order.begin(); it != order.end() && over(it->first);) {
        const std::pair<int64_t, std::string> key = *it;
        drop(key.second);
        it = order.upper_bound(key);
      }
    };
    if (s.options.retention_days > 0) {
      const int64_t cutoff = s.clock->NowWallUs() -
                             static_cast<int64_t>(s.options.retention_days * double(kUsPerDay));
      trim(s.by_time, [&](int64_t t) { return t < cutoff; });
    }
    if (s.options.max_bytes_per_camera > 0) {
      for (auto& [camera, order] : s.by_camera_time) {
        const std::string cam = camera;
        trim(order, [&](int64_t) { return s.camera_bytes[cam] > s.options.max_bytes_per_camera; });
      }
    }
    if (s.options.max_bytes > 0) {
      trim(s.by_time, [&](int64_t) { return s.stats.bytes > s.options.max_bytes; });
    }
  }
  Unlink(doomed);
  if (doomed.empty()) return;
  std::lock_guard<std::mutex> lock(s.listener_mu);
  if (s.on_deleted) s.on_deleted(std::move(doomed));
}

void EvidenceStore::Unlink(const std::vector<std::string>& doomed) {
  for (const std::string& rel : doomed) {
    const fs::path p = fs::path(path()) / rel;
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      Log()->warn("evidence {}: cannot delete: {}", p.string(), std::strerror(errno));
    }
    ::rmdir(p.parent_path().c_str());  // the date directory, once empty
  }
}

void EvidenceStore::SetDeletionListener(DeletionListener listener) {
  std::lock_guard<std::mutex> lock(state_->listener_mu);
  state_->on_deleted = std::move(listener);
}

std::vector<std::string> EvidenceStore::Delete(const std::vector<std::string>& relative) {
  State& s = *state_;
  std::vector<std::string> doomed;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (const std::string& rel : relative) {
      auto it = s.files.find(rel);
      if (it == s.files.end() || it->second.open != 0) continue;
      ++s.stats.files_deleted;
      s.stats.bytes_deleted += static_cast<uint64_t>(it->second.size);
      s.Remove(it);
      doomed.push_back(rel);
    }
  }
  Unlink(doomed);
  return doomed;
}

bool EvidenceStore::Contains(const std::string& relative) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->files.count(relative) != 0;
}

std::vector<EvidenceStore::FileInfo> EvidenceStore::Files(const std::string& kind,
                                                          const std::string& camera) const {
  std::vector<FileInfo> out;
  std::lock_guard<std::mutex> lock(state_->mu);
  const std::string prefix = camera.empty() ? "" : camera + "/" + kind + "/";
  for (auto it = state_->files.lower_bound(prefix); it != state_->files.end(); ++it) {
    const std::string& rel = it->first;
    if (!prefix.empty() && rel.compare(0, prefix.size(), prefix) != 0) break;
    const size_t a = rel.find('/');
    const size_t b = rel.find('/', a + 1);
    if (a == std::string::npos || b == std::string::npos ||
        rel.compare(a + 1, b - a - 1, kind) != 0) {
      continue;
    }
    out.push_back({rel, it->second.size, it->second.time_us, it->second.open != 0,
                   it->second.scanned});
  }
  return out;
}

std::string EvidenceStore::UnitOf(const std::string& relative) {
  const size_t a = relative.find('/');
  if (a == std::string::npos || relative.compare(a, 11, "/snapshots/") != 0) return relative;
  const size_t dash = relative.rfind('-');
  const size_t slash = relative.rfind('/');
  if (dash == std::string::npos || dash < slash) return relative;
  return relative.substr(0, dash);
}

Result<std::string> EvidenceStore::Resolve(const std::string& relative) const {
  std::vector<std::string> parts;
  for (size_t i = 0;;) {
    const size_t slash = relative.find('/', i);
    parts.push_back(relative.substr(i, slash == std::string::npos ? slash : slash - i));
    if (slash == std::string::npos) break;
    i = slash + 1;
  }
  if (parts.size() != 4 || !ValidPart(parts[0], 64) || !ValidPart(parts[1], 64) ||
      !ValidDate(parts[2]) || !ValidPart(parts[3], 128) || parts[3][0] == '.') {
    return Status::InvalidArgument("not an evidence file path: '" + relative + "'");
  }
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->files.count(relative)) return Status::NotFound("no evidence file " + relative);
  }
  return (fs::path(path()) / relative).string();
}

EvidenceStats EvidenceStore::stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stats;
}

// --- EvidenceFile ----------------------------------------------------------------------------

EvidenceFile::~EvidenceFile() { (void)Close(); }

Status EvidenceFile::Write(const void* data, size_t size) {
  if (fd_ < 0 || failed_) return Status::Unavailable("evidence " + absolute_ + ": not writable");
  if (!WriteAll(fd_, static_cast<const char*>(data), size)) {
    failed_ = true;
    return store_->WriteError(absolute_, errno);
  }
  bytes_ += static_cast<int64_t>(size);
  store_->NoteGrown(relative_, static_cast<int64_t>(size));
  return Status::Ok();
}

Status EvidenceFile::Close() {
  if (fd_ < 0) return Status::Ok();
  Status result = Status::Ok();
  if (!failed_ && store_->state_->options.sync && ::fdatasync(fd_) != 0) {
    result = store_->WriteError(absolute_, errno);
  }
  ::close(fd_);
  fd_ = -1;
  store_->NoteClosed(relative_);
  store_->ApplyRetention();
  return result;
}

}  // namespace skynet::daemon
