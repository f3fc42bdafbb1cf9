#include "daemon/journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <filesystem>

#include "pipeline/core/logging.h"

namespace skynet::daemon {

namespace {

constexpr char kMagic[8] = {'S', 'K', 'Y', 'J', 'R', 'N', 'L', '1'};
constexpr size_t kHeaderBytes = 32;
constexpr size_t kRecordHeaderBytes = 16;
// Larger lengths are corruption: no event comes near this.
constexpr uint32_t kMaxRecordBytes = 16u << 20;
// One sparse index entry per this many records, so a read starts near its seq.
constexpr uint64_t kIndexEvery = 256;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
const std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}
void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint32_t RecordCrc(uint64_t seq, const char* payload, size_t size) {
  char s[8];
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(seq >> (8 * i));
  return Crc32c(Crc32c(0, s, 8), payload, size);
}

void EncodeRecord(std::string* out, uint64_t seq, std::string_view payload) {
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, RecordCrc(seq, payload.data(), payload.size()));
  PutU64(out, seq);
  out->append(payload);
}

std::string SegmentName(uint64_t epoch, uint64_t first_seq) {
  char name[64];
  std::snprintf(name, sizeof name, "%020" PRIu64 "-%020" PRIu64 ".seg", epoch, first_seq);
  return name;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadAt(int fd, uint64_t offset, size_t size, std::string* out) {
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out->resize(done);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

void SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Closes a file descriptor on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

struct Journal::Segment {
  std::string path;
  uint64_t epoch = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;  // first_seq - 1 while empty
  uint64_t size = 0;      // committed bytes, header included
  int64_t last_write_us = 0;
  std::vector<std::pair<uint64_t, uint64_t>> index;  // (seq, offset), sparse
  bool empty() const { return last_seq < first_seq; }
  uint64_t records() const { return empty() ? 0 : last_seq - first_seq + 1; }
};

Journal::Journal(const JournalOptions& options, Clock* clock) : options_(options), clock_(clock) {}

Journal::~Journal() {
  MaybeSync(options_.fsync != FsyncPolicy::kNone);
  CloseActive();
}

Result<std::unique_ptr<Journal>> Journal::Open(const JournalOptions& options, Clock* clock) {
  if (options.dir.empty()) return Status::InvalidArgument("journal.dir: must not be empty");
  // Directories we create are 0750 (events name places and plates: not for other users),
  // whatever the umask; an existing directory keeps the mode its owner gave it.
  std::error_code ec;
  std::vector<std::filesystem::path> created;
  for (std::filesystem::path p = std::filesystem::absolute(options.dir, ec);
       !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
    created.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return Status::IoError("journal.dir " + options.dir + ": cannot create: " + ec.message());
  }
  for (const std::filesystem::path& p : created) ::chmod(p.c_str(), 0750);
  std::unique_ptr<Journal> journal(new Journal(options, clock));
  SKYNET_RETURN_IF_ERROR(journal->Recover());
  return journal;
}

Status Journal::Recover() {
  auto log = GetLogger("events");
  DIR* d = ::opendir(options_.dir.c_str());
  if (d == nullptr) {
    return Status::IoError("journal.dir " + options_.dir + ": cannot read: " + std::strerror(errno));
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() == 45 && name.compare(41, 4, ".seg") == 0) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());  // fixed-width numbers: by (epoch, first seq)

  std::string data;
  for (const std::string& name : names) {
    const std::string path = options_.dir + "/" + name;
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      log->warn("journal: cannot open {}: {}", path, std::strerror(errno));
      continue;
    }
    FdCloser closer{fd};
    struct stat st {};
    ::fstat(fd, &st);
    ReadAt(fd, 0, static_cast<size_t>(st.st_size), &data);
    if (data.size() < kHeaderBytes || std::memcmp(data.data(), kMagic, 8) != 0) {
      log->warn("journal: {}: no valid segment header ({} bytes), removed", path, data.size());
      ::unlink(path.c_str());
      ++recovery_.removed_segments;
      continue;
    }
    auto seg = std::make_shared<Segment>();
    seg->path = path;
    seg->epoch = GetU64(data.data() + 8);
    seg->first_seq = GetU64(data.data() + 16);
    seg->last_seq = seg->first_seq - 1;
    seg->last_write_us = int64_t{st.st_mtim.tv_sec} * 1'000'000 + st.st_mtim.tv_nsec / 1000;
    uint64_t offset = kHeaderBytes;
    std::string problem;
    while (offset < data.size()) {
      if (data.size() - offset < kRecordHeaderBytes) {
        problem = "short record header";
        break;
      }
      const char* p = data.data() + offset;
      const uint32_t len = GetU32(p);
      const uint32_t crc = GetU32(p + 4);
      const uint64_t seq = GetU64(p + 8);
      if (len > kMaxRecordBytes) {
        problem = "implausible record length " + std::to_string(len);
        break;
      }
      if (data.size() - offset - kRecordHeaderBytes < len) {
        problem = "short record";
        break;
      }
      if (seq != seg->last_seq + 1) {
        problem = "seq " + std::to_string(seq) + " where " + std::to_string(seg->last_seq + 1) +
                  " was expected";
        break;
      }
      if (RecordCrc(seq, p + kRecordHeaderBytes, len) != crc) {
        problem = "checksum mismatch at seq " + std::to_string(seq);
        break;
      }
      if ((seq - seg->first_seq) % kIndexEvery == 0) seg->index.emplace_back(seq, offset);
      seg->last_seq = seq;
      offset += kRecordHeaderBytes + len;
    }
    if (!problem.empty()) {
      const uint64_t cut = data.size() - offset;
      log->warn("journal: {}: torn or corrupt tail at offset {} ({}): {} bytes truncated", path,
                offset, problem, cut);
      if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
        log->error("journal: {}: cannot truncate: {}", path, std::strerror(errno));
      }
      ++recovery_.truncated_segments;
      recovery_.truncated_bytes += cut;
    }
    if (seg->empty()) {
      ::unlink(path.c_str());  // nothing to replay: an epoch that ended before its first event
      continue;
    }
    seg->size = offset;
    ++recovery_.segments;
    recovery_.records += seg->records();
    segments_.push_back(std::move(seg));
  }
  std::sort(segments_.begin(), segments_.end(), [](const auto& a, const auto& b) {
    return std::tie(a->epoch, a->first_seq) < std::tie(b->epoch, b->first_seq);
  });
  std::lock_guard<std::mutex> lock(mu_);
  EnforceRetention();
  return Status::Ok();
}

uint64_t Journal::LastEpoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t e = epoch_;
  for (const auto& s : segments_) e = std::max(e, s->epoch);
  return e;
}

uint64_t Journal::current_epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

uint64_t Journal::append_errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return append_errors_;
}

uint64_t Journal::total_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size;
  return total;
}

Status Journal::StartEpoch(uint64_t epoch) {
  if (epoch <= LastEpoch()) {
    return Status::InvalidArgument("journal: epoch " + std::to_string(epoch) +
                                   " is not newer than the journal's last epoch " +
                                   std::to_string(LastEpoch()));
  }
  CloseActive();
  std::lock_guard<std::mutex> lock(mu_);
  epoch_ = epoch;
  need_new_segment_ = true;
  return Status::Ok();
}

void Journal::CloseActive() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Status Journal::OpenSegment(uint64_t first_seq) {
  if (fd_ >= 0 && options_.fsync != FsyncPolicy::kNone) Sync();
  CloseActive();
  std::unique_lock<std::mutex> lock(mu_);
  // An empty active segment with the same name (left by a failed append) is replaced.
  auto seg = std::make_shared<Segment>();
  seg->epoch = epoch_;
  seg->first_seq = first_seq;
  seg->last_seq = first_seq - 1;
  seg->path = options_.dir + "/" + SegmentName(epoch_, first_seq);
  std::erase_if(segments_, [&](const auto& s) { return s->path == seg->path; });
  lock.unlock();
  int fd = ::open(seg->path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Status::IoError("journal: cannot create " + seg->path + ": " + std::strerror(errno));
  }
  std::string header(kMagic, 8);
  PutU64(&header, epoch_);
  PutU64(&header, first_seq);
  PutU64(&header, static_cast<uint64_t>(clock_->NowWallUs()));
  if (!WriteAll(fd, header.data(), header.size())) {
    Status st = Status::IoError("journal: cannot write " + seg->path + ": " + std::strerror(errno));
    ::close(fd);
    ::unlink(seg->path.c_str());
    return st;
  }
  if (options_.fsync != FsyncPolicy::kNone) SyncDir(options_.dir);
  fd_ = fd;
  seg->size = kHeaderBytes;
  seg->last_write_us = clock_->NowWallUs();
  lock.lock();
  segments_.push_back(std::move(seg));
  need_new_segment_ = false;
  return Status::Ok();
}

Status Journal::Append(const std::vector<Entry>& entries) {
  if (epoch_ == 0) return Status::Internal("journal: Append before StartEpoch");
  bool rolled = false;
  size_t i = 0;
  while (i < entries.size()) {
    std::shared_ptr<Segment> active;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!need_new_segment_ && fd_ >= 0 && !segments_.empty()) active = segments_.back();
    }
    // Seqs within a segment are contiguous: anything else starts a new one.
    if (active && active->last_seq + 1 != entries[i].seq) active.reset();
    if (!active) {
      if (Status st = OpenSegment(entries[i].seq); !st.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        ++append_errors_;
        return st;
      }
      std::lock_guard<std::mutex> lock(mu_);
      active = segments_.back();
      rolled = true;
    }
    buffer_.clear();
    std::vector<std::pair<uint64_t, uint64_t>> new_index;
    size_t j = i;
    bool full = false;
    while (j < entries.size()) {
      const size_t record = kRecordHeaderBytes + entries[j].payload.size();
      const bool has_records = !active->empty() || !buffer_.empty();
      if (has_records && active->size + buffer_.size() + record > options_.segment_bytes) {
        full = true;
        break;
      }
      if (j > i && entries[j].seq != entries[j - 1].seq + 1) break;
      if ((entries[j].seq - active->first_seq) % kIndexEvery == 0) {
        new_index.emplace_back(entries[j].seq, active->size + buffer_.size());
      }
      EncodeRecord(&buffer_, entries[j].seq, entries[j].payload);
      ++j;
    }
    if (j == i) {  // the segment is exactly full
      std::lock_guard<std::mutex> lock(mu_);
      need_new_segment_ = true;
      continue;
    }
    if (!WriteAll(fd_, buffer_.data(), buffer_.size())) {
      Status st = Status::IoError("journal: cannot append to " + active->path + ": " +
                                  std::strerror(errno));
      // Readers never see a partial record: cut back to the committed size.
      if (::ftruncate(fd_, static_cast<off_t>(active->size)) != 0) { /* next segment anyway */ }
      std::lock_guard<std::mutex> lock(mu_);
      ++append_errors_;
      if (!active->empty()) need_new_segment_ = true;
      return st;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      active->size += buffer_.size();
      active->last_seq = entries[j - 1].seq;
      active->last_write_us = clock_->NowWallUs();
      active->index.insert(active->index.end(), new_index.begin(), new_index.end());
      if (full) need_new_segment_ = true;
    }
    dirty_ = true;
    i = j;
  }
  MaybeSync(options_.fsync == FsyncPolicy::kEvery);
  const int64_t now = clock_->NowMonotonicUs();
  if (rolled || now - last_retention_us_ > 60'000'000) {
    last_retention_us_ = now;
    std::lock_guard<std::mutex> lock(mu_);
    EnforceRetention();
  }
  return Status::Ok();
}

void Journal::MaybeSync(bool force) {
  if (fd_ < 0 || !dirty_ || options_.fsync == FsyncPolicy::kNone) return;
  const int64_t now = clock_->NowMonotonicUs();
  if (force || now - last_sync_us_ >= int64_t{options_.fsync_interval_ms} * 1000) {
    Sync();
    last_sync_us_ = now;
    dirty_ = false;
  }
}

void Journal::Sync() {
  const auto start = std::chrono::steady_clock::now();
  if (::fdatasync(fd_) != 0) fsync_errors_.fetch_add(1);
  fsync_seconds_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void Journal::EnforceRetention() {
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size;
  const int64_t max_age_us = static_cast<int64_t>(options_.max_age_hours * 3600e6);
  const int64_t now = clock_->NowWallUs();
  // The active segment (the last one while writing) is never removed.
  const size_t removable = segments_.size() - (fd_ >= 0 && !segments_.empty() ? 1 : 0);
  size_t removed = 0;
  while (removed < removable) {
    const Segment& s = *segments_[removed];
    const bool too_big = total > options_.max_bytes;
    const bool too_old = max_age_us > 0 && s.last_write_us < now - max_age_us;
    if (!too_big && !too_old) break;
    GetLogger("events")->info("journal: retention removes {} (seq {}..{} of epoch {}, {})", s.path,
                              s.first_seq, s.last_seq, s.epoch, too_big ? "size" : "age");
    ::unlink(s.path.c_str());
    total -= s.size;
    ++removed;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<long>(removed));
}

std::vector<EpochInfo> Journal::Epochs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<EpochInfo> out;
  for (const auto& s : segments_) {
    if (s->empty()) continue;
    if (out.empty() || out.back().epoch != s->epoch) {
      out.push_back({s->epoch, s->first_seq, s->last_seq});
    } else {
      out.back().last_seq = std::max(out.back().last_seq, s->last_seq);
    }
  }
  return out;
}

Status Journal::ReadEpoch(uint64_t epoch, uint64_t after_seq, size_t max_records,
                          size_t max_bytes, std::vector<JournalRecord>* out) const {
  struct Span {
    std::string path;
    uint64_t offset, end, last_seq;
  };
  std::vector<Span> spans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : segments_) {
      if (s->epoch != epoch || s->empty() || s->last_seq <= after_seq) continue;
      uint64_t offset = kHeaderBytes;
      auto it = std::upper_bound(s->index.begin(), s->index.end(), after_seq + 1,
                                 [](uint64_t v, const auto& e) { return v < e.first; });
      if (it != s->index.begin()) offset = std::prev(it)->second;
      spans.push_back({s->path, offset, s->size, s->last_seq});
    }
  }
  size_t records = 0, bytes = 0;
  std::string chunk;
  for (const Span& span : spans) {
    int fd = ::open(span.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // removed by retention meanwhile: the caller sees the hole
    FdCloser closer{fd};
    uint64_t offset = span.offset;
    while (offset < span.end && records < max_records && bytes < max_bytes) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(span.end - offset, 1 << 20));
      if (!ReadAt(fd, offset, want, &chunk)) break;
      size_t pos = 0;
      while (pos + kRecordHeaderBytes <= chunk.size() && records < max_records &&
             bytes < max_bytes) {
        const char* p = chunk.data() + pos;
        const uint32_t len = GetU32(p);
        if (len > kMaxRecordBytes) return Status::Internal("journal: corrupt record in " + span.path);
        if (pos + kRecordHeaderBytes + len > chunk.size()) {
          if (pos == 0) {  // one record larger than the chunk: read exactly it
            if (!ReadAt(fd, offset, kRecordHeaderBytes + len, &chunk)) return Status::Ok();
            continue;
          }
          break;
        }
        const uint64_t seq = GetU64(p + 8);
        if (RecordCrc(seq, p + kRecordHeaderBytes, len) != GetU32(p + 4)) {
          return Status::Internal("journal: checksum mismatch in " + span.path + " at seq " +
                                  std::to_string(seq));
        }
        if (seq > after_seq) {
          out->push_back({seq, std::string(p + kRecordHeaderBytes, len)});
          ++records;
          bytes += len;
        }
        pos += kRecordHeaderBytes + len;
      }
      if (pos == 0) break;
      offset += pos;
    }
    if (records >= max_records || bytes >= max_bytes) break;
  }
  return Status::Ok();
}

}  // namespace skynet::daemon
