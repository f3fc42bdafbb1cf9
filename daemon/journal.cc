#include "daemon/journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <filesystem>
#include <optional>

#include "pipeline/core/file_io.h"
#include "pipeline/core/logging.h"

namespace skynet::daemon {

namespace {

constexpr char kMagicV1[8] = {'S', 'K', 'Y', 'J', 'R', 'N', 'L', '1'};
constexpr char kMagicV2[8] = {'S', 'K', 'Y', 'J', 'R', 'N', 'L', '2'};
constexpr size_t kHeaderBytesV1 = 32;
constexpr size_t kHeaderBytes = 40;  // format 2, the one written
constexpr size_t kRecordHeaderBytesV1 = 16;
constexpr size_t kRecordHeaderBytes = 20;  // format 2
constexpr uint32_t kMarker = 0x9D524AE5u;
constexpr char kMarkerBytes[4] = {'\xE5', '\x4A', '\x52', '\x9D'};
constexpr char kLastMagic[8] = {'S', 'K', 'Y', 'J', 'L', 'A', 'S', 'T'};
constexpr size_t kLastSlotBytes = 32;
constexpr const char kDamagedSuffix[] = ".damaged";
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
  PutU32(out, kMarker);
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

std::string LastName(uint64_t epoch) {
  char name[32];
  std::snprintf(name, sizeof name, "%020" PRIu64 ".last", epoch);
  return name;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The number of a file name's digits; nullopt if it does not fit in a uint64_t or is its
// largest value (an epoch must leave room for the next one).
std::optional<uint64_t> ParseNumber(std::string_view digits) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v == UINT64_MAX) {
    return std::nullopt;
  }
  return v;
}

// A record parsed in place; `size` is its length on disk, header included.
struct RecordView {
  uint64_t seq = 0;
  const char* payload = nullptr;
  uint32_t length = 0;
  size_t size = 0;
};

// Seqs a record may have: (after, max]. Checked before the CRC, so that garbage that happens to
// hold a plausible length is rejected cheaply.
struct SeqWindow {
  uint64_t after = 0;
  uint64_t max = UINT64_MAX;
};

// The record of segment format `version` at p (avail bytes to the end), if it is intact and its
// seq is in `window`. Adds the bytes it checksummed to *crc_bytes (if not null).
bool ParseRecord(const char* p, size_t avail, int version, SeqWindow window, RecordView* r,
                 uint64_t* crc_bytes = nullptr) {
  const size_t header = version == 1 ? kRecordHeaderBytesV1 : kRecordHeaderBytes;
  if (avail < header) return false;
  if (version != 1) {
    if (GetU32(p) != kMarker) return false;
    p += 4;
  }
  const uint32_t len = GetU32(p);
  if (len > kMaxRecordBytes || avail - header < len) return false;
  r->seq = GetU64(p + 8);
  if (r->seq <= window.after || r->seq > window.max) return false;
  r->payload = p + 16;
  r->length = len;
  r->size = header + len;
  if (crc_bytes != nullptr) *crc_bytes += len;
  return RecordCrc(r->seq, r->payload, len) == GetU32(p + 4);
}

std::string SegmentHeader(uint64_t epoch, uint64_t first_seq, int64_t created_us) {
  std::string header(kMagicV2, 8);
  PutU64(&header, epoch);
  PutU64(&header, first_seq);
  PutU64(&header, static_cast<uint64_t>(created_us));
  PutU32(&header, Crc32c(0, header.data(), header.size()));
  PutU32(&header, 0);
  return header;
}

// The last seq saved in "<epoch>.last" (the larger of its two slots that are intact); nullopt if
// no slot is intact.
std::optional<uint64_t> ReadLast(const std::string& data, uint64_t epoch) {
  std::optional<uint64_t> last;
  for (size_t slot = 0; slot + kLastSlotBytes <= data.size() && slot < 2 * kLastSlotBytes;
       slot += kLastSlotBytes) {
    const char* p = data.data() + slot;
    if (std::memcmp(p, kLastMagic, 8) != 0 || GetU64(p + 8) != epoch) continue;
    if (Crc32c(0, p, 24) != GetU32(p + 24)) continue;
    last = std::max(last.value_or(0), GetU64(p + 16));
  }
  return last;
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
  // Contiguous seqs first..last stored back to back in bytes [begin, end).
  struct Run {
    uint64_t first = 0, last = 0, begin = 0, end = 0;
  };
  std::string path;
  int version = 2;  // record format
  uint64_t epoch = 0;
  uint64_t first_seq = 0;  // of its name: the first seq written to it
  uint64_t last_seq = 0;   // first_seq - 1 while empty
  uint64_t size = 0;       // committed bytes, header included
  uint64_t records_begin = kHeaderBytes;
  int64_t last_write_us = 0;
  std::vector<std::pair<uint64_t, uint64_t>> index;  // (seq, offset), sparse
  // Damaged segments only (read-only): the intact runs, and whether bytes after the last one
  // are no record.
  bool damaged = false;
  bool torn_tail = false;
  std::vector<Run> runs;
  bool empty() const { return damaged ? runs.empty() : last_seq < first_seq; }
  uint64_t first_record() const { return damaged ? runs.front().first : first_seq; }
  uint64_t records() const {
    if (!damaged) return empty() ? 0 : last_seq - first_seq + 1;
    uint64_t n = 0;
    for (const Run& r : runs) n += r.last - r.first + 1;
    return n;
  }
  std::vector<Run> Runs() const {
    if (damaged) return runs;
    if (empty()) return {};
    return {{first_seq, last_seq, records_begin, size}};
  }
};

namespace {

// What a scan of one segment file found.
struct Scan {
  int version = 2;
  bool header_ok = false;
  uint64_t first_seq = 0;
  std::vector<Journal::Segment::Run> runs;
  std::vector<std::pair<uint64_t, uint64_t>> index;
  uint64_t skipped_bytes = 0;  // bytes that are neither header nor intact record
  bool torn_tail = false;
  bool over_budget = false;  // the scan gave up resynchronising: the rest counts as skipped
};

// Reads the records of a segment of format `version` from `begin`: every intact record with a
// seq larger than the previous one; anything else is skipped up to the next intact record (the
// next marker in format 2, any offset in format 1). A candidate record must have a plausible
// length and seq (no more records than fit in the file) before its CRC is computed, and the
// bytes checksummed are capped by *crc_budget, so that resynchronising through megabytes of
// garbage stays about linear in the file size.
void ScanRecords(const std::string& data, size_t begin, int version, uint64_t first_seq,
                 uint64_t* crc_budget, Scan* scan) {
  const size_t record_header = version == 1 ? kRecordHeaderBytesV1 : kRecordHeaderBytes;
  // Seqs within a segment increase by one from first_seq: none can lie beyond this.
  const uint64_t max_seq = first_seq + data.size() / record_header;
  size_t offset = begin;
  uint64_t last = first_seq - 1;  // the next record must be larger
  bool in_run = false;
  RecordView r;
  uint64_t crc_bytes = 0;
  auto parse = [&](size_t at) {
    return ParseRecord(data.data() + at, data.size() - at, version, {last, max_seq}, &r,
                       &crc_bytes);
  };
  while (offset < data.size()) {
    if (parse(offset)) {
      if (!in_run || r.seq != last + 1) {
        scan->runs.push_back({r.seq, r.seq, offset, offset});
        in_run = true;
      }
      if ((r.seq - first_seq) % kIndexEvery == 0 || scan->index.empty() ||
          scan->index.back().first < scan->runs.back().first) {
        scan->index.emplace_back(r.seq, offset);
      }
      offset += r.size;
      last = r.seq;
      scan->runs.back().last = r.seq;
      scan->runs.back().end = offset;
      continue;
    }
    // Damage: find the next intact record.
    in_run = false;
    size_t next = offset + 1;
    while (next < data.size()) {
      if (crc_bytes > *crc_budget) {
        scan->over_budget = true;
        next = data.size();
        break;
      }
      if (version != 1) {
        const void* m = ::memmem(data.data() + next, data.size() - next, kMarkerBytes, 4);
        if (m == nullptr) {
          next = data.size();
          break;
        }
        next = static_cast<size_t>(static_cast<const char*>(m) - data.data());
      }
      if (parse(next)) break;
      ++next;
    }
    scan->skipped_bytes += next - offset;
    if (next >= data.size()) scan->torn_tail = true;
    offset = next;
  }
  *crc_budget -= std::min(*crc_budget, crc_bytes);
}

// Scans a whole segment file named for (epoch, first_seq).
Scan ScanSegment(const std::string& data, uint64_t epoch, uint64_t first_seq) {
  Scan scan;
  scan.first_seq = first_seq;
  // Intact records are checksummed once; resynchronising may cost a few times the file more.
  uint64_t crc_budget = 4 * uint64_t{data.size()} + 2 * uint64_t{kMaxRecordBytes};
  const bool says_v2 = data.size() >= 8 && std::memcmp(data.data(), kMagicV2, 8) == 0;
  const bool says_v1 = data.size() >= 8 && std::memcmp(data.data(), kMagicV1, 8) == 0;
  if (says_v2 && data.size() >= kHeaderBytes &&
      Crc32c(0, data.data(), 32) == GetU32(data.data() + 32) && GetU64(data.data() + 8) == epoch &&
      GetU64(data.data() + 16) == first_seq) {
    scan.header_ok = true;
    ScanRecords(data, kHeaderBytes, 2, first_seq, &crc_budget, &scan);
    return scan;
  }
  if (says_v1 && data.size() >= kHeaderBytesV1 && GetU64(data.data() + 8) == epoch &&
      GetU64(data.data() + 16) == first_seq) {
    scan.header_ok = true;
    scan.version = 1;
    ScanRecords(data, kHeaderBytesV1, 1, first_seq, &crc_budget, &scan);
    return scan;
  }
  // A damaged header: the name says which epoch and seqs; the magic, if intact, or else the
  // records say which format.
  if (!says_v1) {
    ScanRecords(data, std::min(data.size(), kHeaderBytes), 2, first_seq, &crc_budget, &scan);
  }
  if (scan.runs.empty() && !says_v2) {
    scan = Scan{};
    scan.first_seq = first_seq;
    scan.version = 1;
    ScanRecords(data, std::min(data.size(), kHeaderBytesV1), 1, first_seq, &crc_budget, &scan);
  }
  scan.skipped_bytes +=
      std::min<uint64_t>(data.size(), scan.version == 1 ? kHeaderBytesV1 : kHeaderBytes);
  return scan;
}

}  // namespace

Journal::Journal(const JournalOptions& options, Clock* clock) : options_(options), clock_(clock) {}

Journal::~Journal() {
  MaybeSync(options_.fsync != FsyncPolicy::kNone);
  CloseActive();
  CloseEpoch();
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
  std::vector<std::string> names, lasts;
  const size_t kDamagedName = 45 + sizeof kDamagedSuffix - 1;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    const bool seg = name.size() == 45 && name.compare(41, 4, ".seg") == 0;
    const bool damaged = name.size() == kDamagedName && name.compare(41, 4, ".seg") == 0 &&
                         name.compare(45, std::string::npos, kDamagedSuffix) == 0;
    if ((seg || damaged) && name[20] == '-' && AllDigits(std::string_view(name).substr(0, 20)) &&
        AllDigits(std::string_view(name).substr(21, 20))) {
      names.push_back(name);
    } else if (name.size() == 25 && name.compare(20, 5, ".last") == 0 &&
               AllDigits(std::string_view(name).substr(0, 20))) {
      lasts.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());  // fixed-width numbers: by (epoch, first seq)

  std::string data;
  for (const std::string& name : lasts) {
    const std::string path = options_.dir + "/" + name;
    const std::optional<uint64_t> epoch = ParseNumber(std::string_view(name).substr(0, 20));
    if (!epoch) {
      log->warn("journal: ignoring {}: its epoch is out of range", path);
      continue;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    FdCloser closer{fd};
    ReadAt(fd, 0, 2 * kLastSlotBytes, &data);
    if (data.empty()) {  // created, then nothing saved (a crash or a full disk): nothing known
      ends_[*epoch] = 0;
      continue;
    }
    const std::optional<uint64_t> last = ReadLast(data, *epoch);
    if (last) {
      ends_[*epoch] = *last;
      continue;
    }
    // Both slots damaged: the epoch's end is unknown (not 0). Kept aside, as it is.
    const std::string aside = path + kDamagedSuffix;
    if (::rename(path.c_str(), aside.c_str()) == 0) {
      SyncDir(options_.dir);
    } else {
      log->error("journal: cannot rename {}: {}", path, std::strerror(errno));
    }
    log->warn(
        "journal: {} is damaged (no intact slot): the last published seq of epoch {} is "
        "unknown, moved aside as {}",
        path, *epoch, aside);
    ++recovery_.damaged_last_files;
  }
  for (const std::string& name : names) {
    std::string path = options_.dir + "/" + name;
    const std::optional<uint64_t> parsed_epoch = ParseNumber(std::string_view(name).substr(0, 20));
    const std::optional<uint64_t> parsed_first = ParseNumber(std::string_view(name).substr(21, 20));
    if (!parsed_epoch || !parsed_first) {
      log->warn("journal: ignoring {}: its epoch or seq is out of range", path);
      continue;
    }
    const uint64_t epoch = *parsed_epoch;
    const uint64_t first_seq = *parsed_first;
    if (first_seq == 0) continue;  // never written by a journal
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      log->warn("journal: cannot open {}: {}", path, std::strerror(errno));
      continue;
    }
    FdCloser closer{fd};
    struct stat st {};
    ::fstat(fd, &st);
    ReadAt(fd, 0, static_cast<size_t>(st.st_size), &data);
    const Scan scan = ScanSegment(data, epoch, first_seq);
    // A seq jump between intact records (or before the first) is damage too, even when no byte
    // was skipped: seqs within a segment are contiguous from its first.
    const bool damaged = name.size() != 45 || !scan.header_ok || scan.skipped_bytes > 0 ||
                         scan.runs.size() > 1 ||
                         (!scan.runs.empty() && scan.runs.front().first != first_seq);
    auto seg = std::make_shared<Segment>();
    seg->path = path;
    seg->version = scan.version;
    seg->epoch = epoch;
    seg->first_seq = first_seq;
    seg->last_seq = scan.runs.empty() ? first_seq - 1 : scan.runs.back().last;
    seg->size = data.size();
    seg->records_begin = scan.version == 1 ? kHeaderBytesV1 : kHeaderBytes;
    seg->index = scan.index;
    seg->last_write_us = int64_t{st.st_mtim.tv_sec} * 1'000'000 + st.st_mtim.tv_nsec / 1000;
    if (!damaged) {
      if (seg->empty()) {
        ::unlink(path.c_str());  // nothing to replay: an epoch that ended before its first event
        continue;
      }
    } else {
      seg->damaged = true;
      seg->torn_tail = scan.torn_tail;
      seg->runs = scan.runs;
      if (name.size() == 45) {  // newly found: move it aside, as it is
        const std::string aside = path + kDamagedSuffix;
        ++recovery_.moved_segments;
        if (::rename(path.c_str(), aside.c_str()) == 0) {
          seg->path = aside;
          SyncDir(options_.dir);
        } else {
          log->error("journal: cannot rename {}: {}", path, std::strerror(errno));
        }
        log->warn("journal: {} is damaged ({}{} bytes unreadable{}): {} intact records kept, "
                  "moved aside as {}",
                  path, scan.header_ok ? "" : "bad header, ", scan.skipped_bytes,
                  scan.torn_tail ? ", torn tail" : "", seg->records(), seg->path);
      }
      if (scan.over_budget) {
        log->warn(
            "journal: {}: gave up looking for intact records after too many false "
            "candidates; the rest of the file counts as unreadable",
            path);
      }
      ++recovery_.damaged_segments;
      recovery_.damaged_bytes += scan.skipped_bytes;
      recovery_.damaged_records += seg->records();
    }
    ++recovery_.segments;
    recovery_.records += seg->records();
    segments_.push_back(std::move(seg));
  }
  std::sort(segments_.begin(), segments_.end(), [](const auto& a, const auto& b) {
    return std::tie(a->epoch, a->first_seq) < std::tie(b->epoch, b->first_seq);
  });
  // The seqs damage destroyed: holes inside a damaged segment, before its first intact record,
  // and after its last one when its tail is torn (up to the next segment, or the epoch's end).
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = *segments_[i];
    uint64_t& end = ends_[s.epoch];
    end = std::max(end, s.empty() ? 0 : s.Runs().back().last);
    if (!s.damaged) continue;
    const bool has_next = i + 1 < segments_.size() && segments_[i + 1]->epoch == s.epoch;
    std::vector<SeqRange>& lost = corrupt_[s.epoch];
    uint64_t expected = s.first_seq;
    for (const Segment::Run& r : s.runs) {
      if (r.first > expected) lost.push_back({expected, r.first - 1});
      expected = r.last + 1;
    }
    if (s.torn_tail || s.runs.empty()) {
      uint64_t stop = has_next ? segments_[i + 1]->first_seq - 1 : 0;
      if (!has_next) {  // the epoch's last segment: up to its last published seq, if saved
        auto it = ends_.find(s.epoch);
        stop = it != ends_.end() ? it->second : 0;
      }
      if (stop >= expected) lost.push_back({expected, stop});
    }
  }
  for (auto& [epoch, lost] : corrupt_) {
    for (const SeqRange& r : lost) recovery_.corrupt_seqs += r.size();
  }
  std::lock_guard<std::mutex> lock(mu_);
  EnforceRetention();
  return Status::Ok();
}

uint64_t Journal::LastEpoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t e = epoch_;
  for (const auto& s : segments_) e = std::max(e, s->epoch);
  if (!ends_.empty()) e = std::max(e, ends_.rbegin()->first);
  return e;
}

JournalHealth Journal::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
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
  MaybeSync(options_.fsync != FsyncPolicy::kNone);
  CloseActive();
  CloseEpoch();
  {
    std::lock_guard<std::mutex> lock(mu_);
    epoch_ = epoch;
    need_new_segment_ = true;
    health_ = {};
  }
  published_ = end_saved_ = end_synced_ = 0;
  // "<epoch>.last" is written now, while there is room, and only overwritten in place later.
  const std::string path = options_.dir + "/" + LastName(epoch);
  end_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (end_fd_ < 0) {
    GetLogger("events")->warn("journal: cannot create {}: {}", path, std::strerror(errno));
  } else {
    SaveEnd(false);
    SaveEnd(options_.fsync != FsyncPolicy::kNone);  // both slots
    if (options_.fsync != FsyncPolicy::kNone) SyncDir(options_.dir);  // its name, once
  }
  return Status::Ok();
}

void Journal::SaveEnd(bool sync) {
  if (end_fd_ < 0) return;
  std::string slot(kLastMagic, 8);
  PutU64(&slot, epoch_);
  PutU64(&slot, published_);
  PutU32(&slot, Crc32c(0, slot.data(), slot.size()));
  PutU32(&slot, 0);
  // Two slots, written alternately: a torn write leaves the other one intact.
  if (::pwrite(end_fd_, slot.data(), slot.size(), static_cast<off_t>(end_slot_ * kLastSlotBytes)) ==
      static_cast<ssize_t>(slot.size())) {
    end_saved_ = published_;
    end_slot_ ^= 1;
  }
  if (sync && ::fdatasync(end_fd_) == 0) end_synced_ = end_saved_;
  last_end_save_us_ = clock_->NowMonotonicUs();
}

void Journal::CloseEpoch() {
  if (end_fd_ < 0) return;
  const bool sync = options_.fsync != FsyncPolicy::kNone;
  if (published_ != end_saved_) {
    SaveEnd(sync);
  } else if (sync && end_synced_ != end_saved_ && ::fdatasync(end_fd_) == 0) {
    end_synced_ = end_saved_;
  }
  ::close(end_fd_);
  end_fd_ = -1;
  std::lock_guard<std::mutex> lock(mu_);
  ends_[epoch_] = std::max(ends_[epoch_], published_);
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
  const std::string header = SegmentHeader(epoch_, first_seq, clock_->NowWallUs());
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
  if (entries.empty()) return Status::Ok();
  // The caller publishes these whatever happens here.
  published_ = std::max(published_, entries.back().seq);
  bool rolled = false;
  size_t i = 0;
  // Entries i.. are lost: says so in health() and saves the epoch's end now (the daemon may
  // never stop cleanly).
  auto failed = [&](Status st) {
    bool was_failing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++append_errors_;
      was_failing = health_.failing;
      if (!was_failing) health_.first_seq_not_journaled = entries[i].seq;
      health_.failing = true;
      health_.reason = st.message();
      health_.last_seq_not_journaled = entries.back().seq;
      health_.events_not_journaled += entries.size() - i;
    }
    // Synced when the failure starts (a kill -9 may follow); in place, without a sync, while
    // it lasts.
    SaveEnd(!was_failing && options_.fsync != FsyncPolicy::kNone);
    return st;
  };
  while (i < entries.size()) {
    std::shared_ptr<Segment> active;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!need_new_segment_ && fd_ >= 0 && !segments_.empty()) active = segments_.back();
    }
    // Seqs within a segment are contiguous: anything else starts a new one.
    if (active && active->last_seq + 1 != entries[i].seq) active.reset();
    if (!active) {
      if (Status st = OpenSegment(entries[i].seq); !st.ok()) return failed(std::move(st));
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
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!active->empty()) need_new_segment_ = true;
      }
      return failed(std::move(st));
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    health_.failing = false;
  }
  const int64_t now = clock_->NowMonotonicUs();
  if (now - last_end_save_us_ >= 1'000'000) SaveEnd(false);
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
  // What is known about an epoch goes with its last segment; an epoch that journaled nothing
  // goes once retention has removed every epoch before it.
  for (auto it = ends_.begin(); it != ends_.end();) {
    const uint64_t e = it->first;
    const bool kept = e == epoch_ || std::any_of(segments_.begin(), segments_.end(),
                                                 [&](const auto& s) { return s->epoch == e; });
    // (At start, epoch_ is still 0: every epoch is older than the one to come.)
    const bool older = segments_.empty() ? epoch_ == 0 || e < epoch_ : e < segments_.front()->epoch;
    if (kept || (it->second > 0 && !(removed > 0 && older))) {
      ++it;
      continue;
    }
    ::unlink((options_.dir + "/" + LastName(e)).c_str());
    corrupt_.erase(e);
    it = ends_.erase(it);
  }
  // Seqs lost to damage before an epoch's oldest retained segment are now past retention.
  for (auto it = corrupt_.begin(); it != corrupt_.end();) {
    const uint64_t e = it->first;
    auto first = std::find_if(segments_.begin(), segments_.end(),
                              [&](const auto& s) { return s->epoch == e; });
    if (first == segments_.end()) {
      it = e == epoch_ ? std::next(it) : corrupt_.erase(it);
      continue;
    }
    const uint64_t from = (*first)->first_seq;
    std::vector<SeqRange>& lost = it->second;
    std::erase_if(lost, [&](const SeqRange& r) { return r.last < from; });
    for (SeqRange& r : lost) r.first = std::max(r.first, from);
    it = lost.empty() ? corrupt_.erase(it) : std::next(it);
  }
}

std::vector<EpochInfo> Journal::Epochs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<EpochInfo> out;
  for (const auto& s : segments_) {
    if (s->empty()) continue;
    if (out.empty() || out.back().epoch != s->epoch) {
      EpochInfo e;
      e.epoch = s->epoch;
      e.first_seq = s->first_record();
      e.last_seq = s->last_seq;
      out.push_back(std::move(e));
    } else {
      out.back().last_seq = std::max(out.back().last_seq, s->last_seq);
    }
  }
  // Epochs that published events but journaled none of them (or whose journaled seqs were all
  // destroyed).
  for (const auto& [epoch, end] : ends_) {
    if (end == 0 || epoch == epoch_) continue;
    auto it = std::lower_bound(out.begin(), out.end(), epoch,
                               [](const EpochInfo& e, uint64_t v) { return e.epoch < v; });
    if (it == out.end() || it->epoch != epoch) {
      EpochInfo e;
      e.epoch = epoch;
      out.insert(it, std::move(e));
    }
  }
  for (EpochInfo& e : out) {
    if (auto it = ends_.find(e.epoch); it != ends_.end()) e.end_seq = it->second;
    if (e.epoch == epoch_) e.end_seq = 0;  // still publishing
    e.end_seq = e.end_seq == 0 ? e.last_seq : std::max(e.end_seq, e.last_seq);
    if (auto it = corrupt_.find(e.epoch); it != corrupt_.end()) e.corrupt = it->second;
  }
  return out;
}

Status Journal::ReadEpoch(uint64_t epoch, uint64_t after_seq, size_t max_records,
                          size_t max_bytes, std::vector<JournalRecord>* out) const {
  // Byte ranges of intact records with seqs larger than after_seq, in seq order.
  struct Span {
    std::string path;
    int version;
    uint64_t offset, end;
  };
  std::vector<Span> spans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : segments_) {
      if (s->epoch != epoch || s->empty() || s->last_seq <= after_seq) continue;
      for (const Segment::Run& run : s->Runs()) {
        if (run.last <= after_seq) continue;
        uint64_t offset = run.begin;
        auto it = std::upper_bound(s->index.begin(), s->index.end(), after_seq + 1,
                                   [](uint64_t v, const auto& e) { return v < e.first; });
        if (it != s->index.begin() && std::prev(it)->first >= run.first) {
          offset = std::prev(it)->second;
        }
        spans.push_back({s->path, s->version, offset, run.end});
      }
    }
  }
  size_t records = 0, bytes = 0;
  std::string chunk;
  RecordView r;
  for (const Span& span : spans) {
    int fd = ::open(span.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // removed by retention meanwhile: the caller sees the hole
    FdCloser closer{fd};
    const size_t header = span.version == 1 ? kRecordHeaderBytesV1 : kRecordHeaderBytes;
    const size_t length_at = span.version == 1 ? 0 : 4;
    uint64_t offset = span.offset;
    while (offset < span.end && records < max_records && bytes < max_bytes) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(span.end - offset, 1 << 20));
      if (!ReadAt(fd, offset, want, &chunk)) break;
      size_t pos = 0;
      while (pos + header <= chunk.size() && records < max_records && bytes < max_bytes) {
        const uint32_t len = GetU32(chunk.data() + pos + length_at);
        if (len <= kMaxRecordBytes && pos + header + len > chunk.size() && pos == 0) {
          // One record larger than the chunk: read exactly it.
          if (!ReadAt(fd, offset, header + len, &chunk)) return Status::Ok();
          continue;
        }
        if (!ParseRecord(chunk.data() + pos, chunk.size() - pos, span.version, {}, &r)) {
          if (pos + header + len > chunk.size() && len <= kMaxRecordBytes) break;  // next chunk
          return Status::Internal("journal: damaged record in " + span.path + " at offset " +
                                  std::to_string(offset + pos));
        }
        if (r.seq > after_seq) {
          out->push_back({r.seq, std::string(r.payload, r.length)});
          ++records;
          bytes += r.length;
        }
        pos += r.size;
      }
      if (pos == 0) break;
      offset += pos;
    }
    if (records >= max_records || bytes >= max_bytes) break;
  }
  return Status::Ok();
}

}  // namespace skynet::daemon
