#include "daemon/clip_recorder.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>

#include "pipeline/core/logging.h"
#include "pipeline/ingest/mp4_remuxer.h"
#include "pipeline/ingest/segment_cutter.h"

namespace skynet::daemon {
namespace {

constexpr size_t kMaxRemembered = 10000;  // clips and track clips kept for lookups
constexpr int64_t kRetentionIntervalUs = 60'000'000;
constexpr int64_t kRingMarginUs = 2'000'000;

std::shared_ptr<spdlog::logger> Log() {
  static auto logger = GetLogger("daemon");
  return logger;
}

const char* TriggerName(v1::ClipTrigger t) {
  switch (t) {
    case v1::CLIP_TRIGGER_VEHICLE_RULE:
      return "rule";
    case v1::CLIP_TRIGGER_MOTION:
      return "motion";
    default:
      return "request";
  }
}

// The trigger of `event` and its track (0: none), or UNSPECIFIED.
std::pair<v1::ClipTrigger, uint64_t> TriggerOf(const v1::Event& e) {
  switch (e.payload_case()) {
    case v1::Event::kLineCrossed:
      return {v1::CLIP_TRIGGER_VEHICLE_RULE, e.line_crossed().track_id()};
    case v1::Event::kZoneEntered:
      return {v1::CLIP_TRIGGER_VEHICLE_RULE, e.zone_entered().track_id()};
    case v1::Event::kZoneLeft:
      return {v1::CLIP_TRIGGER_VEHICLE_RULE, e.zone_left().track_id()};
    case v1::Event::kVehicleStopped:
      return {v1::CLIP_TRIGGER_VEHICLE_RULE, e.vehicle_stopped().track_id()};
    case v1::Event::kWrongWay:
      return {v1::CLIP_TRIGGER_VEHICLE_RULE, e.wrong_way().track_id()};
    case v1::Event::kSpeeding:
      return {v1::CLIP_TRIGGER_VEHICLE_RULE, e.speeding().track_id()};
    case v1::Event::kMotionStarted:
      return {v1::CLIP_TRIGGER_MOTION, 0};
    default:
      return {v1::CLIP_TRIGGER_UNSPECIFIED, 0};
  }
}

// "HH:MM:SS" of a capture time (UTC, as the files are named) with the date.
std::string When(int64_t us) { return FormatUtc(us, "%Y-%m-%d %H:%M:%S UTC"); }

}  // namespace

std::optional<int64_t> SegmentStartUs(const std::string& relative) {
  // <camera>/recordings/<YYYY-MM-DD>/<HHMMSS>[.<6 digits>]-segment...
  const size_t name_at = relative.rfind('/');
  if (name_at == std::string::npos || name_at < 11) return std::nullopt;
  const std::string date = relative.substr(name_at - 10, 10);
  const std::string name = relative.substr(name_at + 1);
  int y, mo, d, h, mi, sec;
  if (std::sscanf(date.c_str(), "%4d-%2d-%2d", &y, &mo, &d) != 3 || name.size() < 14 ||
      std::sscanf(name.c_str(), "%2d%2d%2d", &h, &mi, &sec) != 3) {
    return std::nullopt;
  }
  int64_t micros = 0;
  size_t rest = 6;
  if (name[6] == '.') {
    for (rest = 7; rest < name.size() && rest < 13 && name[rest] >= '0' && name[rest] <= '9';
         ++rest) {
      micros = micros * 10 + (name[rest] - '0');
    }
    if (rest != 13) return std::nullopt;
  }
  if (name.compare(rest, 8, "-segment") != 0) return std::nullopt;
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return int64_t{timegm(&tm)} * 1'000'000 + micros;
}

struct ClipRecorder::Job {
  std::string camera, name, file;
  std::shared_ptr<ingest::EncodedRing> ring;
  uint64_t next_seq = 0;
  int64_t event_us = 0;
  int64_t first_event_us = 0;
  std::atomic<int64_t> to_us{0};  // extended by later events of the track (mu_ held)
  v1::ClipTrigger trigger = v1::CLIP_TRIGGER_UNSPECIFIED;
  uint64_t track_id = 0;
  // Writer thread only.
  std::unique_ptr<EvidenceFile> out;
  std::unique_ptr<ingest::Mp4Remuxer> mux;
  std::shared_ptr<const ingest::EncodedFormat> format;
  int64_t start_us = 0, end_us = 0;
  int64_t last_progress_us = 0;  // monotonic
  bool opened = false;
  bool failed = false;  // the store or the muxer refused
  std::string kind = "clips";
  bool segment = false;  // continuous recording: ends at a key frame, which starts the next
};

ClipRecorder::ClipRecorder(ClipRecorderOptions options, std::shared_ptr<EvidenceStore> store,
                           SessionFactory* sessions, EventFeed* next, Clock* clock)
    : options_(options), store_(std::move(store)), sessions_(sessions), next_(next),
      clock_(clock), thread_([this] { Run(); }) {}

ClipRecorder::~ClipRecorder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<ingest::EncodedRing> ClipRecorder::RingOf(const std::string& camera,
                                                           bool create) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rings_.find(camera);
  if (it != rings_.end()) return it->second;
  if (!create) return nullptr;
  auto ring = std::make_shared<ingest::EncodedRing>(ingest::EncodedRingOptions{
      .max_bytes = options_.ring_max_bytes,
      .keep_us = options_.pre_roll_us + options_.post_roll_us + kRingMarginUs});
  rings_.emplace(camera, ring);
  return ring;
}

void ClipRecorder::Released(const std::string& camera_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rings_.find(camera_id);
    if (it != rings_.end()) {
      // Held by the map, by the clips being written from it and by the sources feeding it: a
      // source made meanwhile for a camera of the same id (under mu_, as RingOf()) keeps it.
      const auto clips = std::count_if(jobs_.begin(), jobs_.end(), [&](const auto& job) {
        return job->ring == it->second;
      });
      if (it->second.use_count() - 1 - clips <= 0) rings_.erase(it);
    }
  }
  sessions_->Released(camera_id);
}

Result<std::unique_ptr<FrameSource>> ClipRecorder::Create(
    const ingest::SourceOptions& options, ingest::CameraSession::Callbacks callbacks) {
  std::shared_ptr<ingest::EncodedRing> ring = RingOf(options.camera_id, true);
  callbacks.on_encoded = [ring, inner = std::move(callbacks.on_encoded)](
                             ingest::EncodedUnit&& unit) {
    if (inner) inner(ingest::EncodedUnit(unit));
    ring->Push(std::move(unit));
  };
  return sessions_->Create(options, std::move(callbacks));
}

void ClipRecorder::Publish(v1::Event event) {
  const auto [trigger, track] = TriggerOf(event);
  const bool wanted = (trigger == v1::CLIP_TRIGGER_VEHICLE_RULE && options_.on_vehicle_rules) ||
                      (trigger == v1::CLIP_TRIGGER_MOTION && options_.on_motion_start);
  if (wanted) {
    const int64_t t = event.capture_time_us();
    bool extended = false;
    if (track != 0) {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& job : jobs_) {
        if (job->camera == event.camera_id() && job->track_id == track) {
          const int64_t limit = job->first_event_us + options_.max_clip_us;
          job->to_us.store(std::min(limit, std::max(job->to_us.load(), t + options_.post_roll_us)));
          extended = true;
          break;
        }
      }
    }
    if (!extended) {
      Result<ClipState> st = StartJob(event.camera_id(), t - options_.pre_roll_us,
                                      t + options_.post_roll_us, t, trigger, track);
      if (!st.ok()) {
        Log()->debug("[cam {}] no clip for {}: {}", event.camera_id(), TriggerName(trigger),
                     st.status().message());
      }
    }
  }
  next_->Publish(std::move(event));
}

Result<ClipState> ClipRecorder::Start(const std::string& camera, int64_t from_us, int64_t to_us) {
  if (to_us <= from_us) return Status::InvalidArgument("clip: the end must be after the start");
  to_us = std::min(to_us, from_us + options_.max_clip_us);
  const bool recorded = std::find(options_.record_cameras.begin(), options_.record_cameras.end(),
                                  camera) != options_.record_cameras.end();
  if (recorded && store_) {
    std::shared_ptr<ingest::EncodedRing> ring = RingOf(camera, false);
    const ingest::EncodedRingStats rs = ring ? ring->stats() : ingest::EncodedRingStats{};
    if (rs.units == 0 || rs.oldest_us > from_us) return CutFromRecordings(camera, from_us, to_us);
  }
  Result<ClipState> st = StartJob(camera, from_us, to_us, from_us, v1::CLIP_TRIGGER_REQUEST, 0);
  if (!st.ok() && st.status().code() == StatusCode::kNotFound && !recorded) {
    return Status::NotFound(st.status().message() + "; camera " + camera +
                            " is not recorded continuously (evidence.record_cameras)");
  }
  return st;
}

std::string ClipRecorder::UniqueName(const std::string& camera, const std::string& kind,
                                     const std::string& base, int64_t time_us) {
  std::string name = base + ".mp4";
  for (int n = 2; names_.count(EvidenceStore::RelativePath(camera, kind, name, time_us)) ||
                  store_->Contains(EvidenceStore::RelativePath(camera, kind, name, time_us));
       ++n) {
    name = base + "-" + std::to_string(n) + ".mp4";
  }
  names_.insert(EvidenceStore::RelativePath(camera, kind, name, time_us));
  return name;
}

Result<ClipState> ClipRecorder::CutFromRecordings(const std::string& camera, int64_t from_us,
                                                  int64_t to_us) {
  auto refuse = [this](Status st) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.refused;
    return st;
  };
  // The camera's segments in time order, each until the next one starts (the last: its last
  // write, or now while it is being written).
  struct Seg {
    int64_t start_us, end_us;
    EvidenceStore::FileInfo file;
  };
  std::vector<Seg> all;
  for (const EvidenceStore::FileInfo& f : store_->Files("recordings", camera)) {
    if (std::optional<int64_t> start = SegmentStartUs(f.relative)) {
      all.push_back({*start, f.open ? clock_->NowWallUs() : f.time_us, f});
    }
  }
  std::sort(all.begin(), all.end(), [](const Seg& a, const Seg& b) { return a.start_us < b.start_us; });
  if (all.empty()) {
    return refuse(Status::NotFound("camera " + camera +
                                   " has no recorded segments (yet), and its memory no longer "
                                   "holds that time"));
  }
  for (size_t i = 0; i + 1 < all.size(); ++i) all[i].end_us = std::min(all[i].end_us, all[i + 1].start_us);
  // What is recorded: spans of segments that follow each other (a gap over 5 s splits them).
  std::string available;
  int spans = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j + 1 < all.size() && all[j + 1].start_us - all[j].end_us <= 5'000'000) ++j;
    if (spans++ < 5) {
      available += (available.empty() ? "" : ", ") + When(all[i].start_us) + " .. " +
                   When(all[j].end_us);
    }
    i = j + 1;
  }
  if (spans > 5) available += " and " + std::to_string(spans - 5) + " more spans";
  std::vector<ingest::RecordedSegment> chosen;
  for (size_t i = 0; i < all.size(); ++i) {
    const bool holds_from = all[i].start_us <= from_us &&
                            (i + 1 == all.size() || all[i + 1].start_us > from_us);
    const bool later = all[i].start_us > from_us && all[i].start_us <= to_us;
    if ((holds_from && all[i].end_us >= from_us - 1'000'000) || later) {
      chosen.push_back({store_->path() + "/" + all[i].file.relative, all[i].file.relative,
                        all[i].start_us, all[i].file.open});
    }
  }
  const std::string not_recorded = "camera " + camera + " has no recording of " + When(from_us) +
                                   " .. " + When(to_us) + "; recorded: " + available;
  if (chosen.empty()) return refuse(Status::NotFound(not_recorded));

  ClipState state;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    name = UniqueName(camera, "clips", FormatUtc(from_us, "%H%M%S") + "-request-recorded",
                      from_us);
  }
  Result<std::unique_ptr<EvidenceFile>> out = store_->Create(camera, "clips", name, from_us);
  if (!out.ok()) return refuse(out.status());
  EvidenceFile* file = out->get();
  Result<ingest::CutResult> cut = ingest::CutRecordedSegments(
      chosen, from_us, to_us, [file](const uint8_t* p, size_t n) { return file->Write(p, n); });
  Status closed = (*out)->Close();
  const std::string rel = (*out)->relative_path();
  if (!cut.ok() || !closed.ok()) {
    store_->Delete({rel});
    Status st = !cut.ok() ? cut.status() : closed;
    if (st.code() == StatusCode::kNotFound) st = Status::NotFound(not_recorded);
    Log()->warn("[cam {}] clip from recordings {} .. {}: {}", camera, When(from_us), When(to_us),
                st.message());
    return refuse(st);
  }
  state.file = rel;
  state.camera = camera;
  state.start_us = cut->start_us;
  state.end_us = cut->end_us;
  state.bytes = (*out)->bytes();
  state.done = true;
  state.complete = cut->notes.empty();
  state.from_recordings = true;
  state.notes = cut->notes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (clips_.size() >= kMaxRemembered) clips_.erase(clips_.begin());
    clips_[rel] = state;
    ++stats_.started;
    ++stats_.completed;
  }
  v1::Event ev;
  ev.set_camera_id(camera);
  ev.set_capture_time_us(from_us);
  v1::ClipStored* c = ev.mutable_clip_stored();
  c->set_file(rel);
  c->set_bytes(static_cast<uint64_t>(state.bytes));
  c->set_start_us(state.start_us);
  c->set_end_us(state.end_us);
  c->set_trigger(v1::CLIP_TRIGGER_REQUEST);
  c->set_complete(state.complete);
  next_->Publish(std::move(ev));
  Log()->info("[cam {}] clip {} from {} recorded segments: {} bytes, {:.1f} s{}", camera, rel,
              cut->segments, state.bytes, (state.end_us - state.start_us) / 1e6,
              cut->notes.empty() ? "" : " (" + std::to_string(cut->notes.size()) + " notes)");
  return state;
}

Result<ClipState> ClipRecorder::StartJob(const std::string& camera, int64_t from_us,
                                         int64_t to_us, int64_t event_us,
                                         v1::ClipTrigger trigger, uint64_t track_id) {
  auto refuse = [this](Status st) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.refused;
    return st;
  };
  std::shared_ptr<ingest::EncodedRing> ring = RingOf(camera, false);
  if (!ring) return refuse(Status::NotFound("no video of camera " + camera + " in memory"));
  std::optional<uint64_t> seq = ring->KeyFrameAtOrBefore(from_us);
  std::vector<ingest::EncodedUnit> first;
  if (seq) first = ring->ReadFrom(*seq, 1);
  if (first.empty() || first.front().capture_us > to_us) {
    return refuse(Status::NotFound("the video of camera " + camera +
                                   " for that time is no longer in memory (it keeps about " +
                                   std::to_string((options_.pre_roll_us + options_.post_roll_us) /
                                                  1'000'000) +
                                   " s)"));
  }
  auto job = std::make_shared<Job>();
  job->camera = camera;
  job->ring = ring;
  job->next_seq = *seq;
  job->event_us = event_us;
  job->first_event_us = event_us;
  job->to_us.store(to_us);
  job->trigger = trigger;
  job->track_id = track_id;
  job->last_progress_us = clock_->NowMonotonicUs();
  std::string base = FormatUtc(event_us, "%H%M%S") + "-" + TriggerName(trigger);
  if (track_id != 0) base += "-t" + std::to_string(track_id);
  ClipState state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (jobs_.size() >= options_.max_active) {
      ++stats_.refused;
      return Status::Unavailable("too many clips being written at once (" +
                                 std::to_string(options_.max_active) + ")");
    }
    job->name = base + ".mp4";
    for (int n = 2; names_.count(EvidenceStore::RelativePath(camera, "clips", job->name, event_us));
         ++n) {
      job->name = base + "-" + std::to_string(n) + ".mp4";
    }
    job->file = EvidenceStore::RelativePath(camera, "clips", job->name, event_us);
    names_.insert(job->file);
    state.file = job->file;
    state.camera = camera;
    if (clips_.size() >= kMaxRemembered) clips_.erase(clips_.begin());
    clips_[job->file] = state;
    if (track_id != 0) {
      if (by_track_.size() >= kMaxRemembered) by_track_.erase(by_track_.begin());
      by_track_.emplace(std::make_pair(camera, track_id), job->file);
    }
    jobs_.push_back(job);
    ++stats_.started;
  }
  cv_.notify_all();
  return state;
}

std::optional<ClipState> ClipRecorder::ClipOfTrack(const std::string& camera,
                                                   uint64_t track_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_track_.find({camera, track_id});
  if (it == by_track_.end()) return std::nullopt;
  auto c = clips_.find(it->second);
  if (c == clips_.end()) return std::nullopt;
  return c->second;
}

std::optional<ClipState> ClipRecorder::Find(const std::string& file) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clips_.find(file);
  if (it == clips_.end()) return std::nullopt;
  return it->second;
}

ClipStats ClipRecorder::clip_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ClipStats s = stats_;
  s.active = static_cast<int64_t>(jobs_.size());
  for (const auto& [camera, ring] : rings_) s.ring_bytes += ring->stats().bytes;
  return s;
}

void ClipRecorder::Run() {
  int64_t last_retention = clock_->NowMonotonicUs();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms));
    const bool stopping = stopping_;
    lock.unlock();
    if (!stopping && store_) StartSegments();
    lock.lock();
    std::vector<std::shared_ptr<Job>> jobs = jobs_;
    lock.unlock();
    std::vector<Job*> finished;
    for (const auto& job : jobs) {
      if (Advance(*job, stopping)) finished.push_back(job.get());
    }
    if (store_ && clock_->NowMonotonicUs() - last_retention > kRetentionIntervalUs) {
      store_->ApplyRetention();
      last_retention = clock_->NowMonotonicUs();
    }
    lock.lock();
    std::erase_if(jobs_, [&](const std::shared_ptr<Job>& j) {
      return std::find(finished.begin(), finished.end(), j.get()) != finished.end();
    });
    if (stopping) return;
  }
}

bool ClipRecorder::Advance(Job& job, bool stopping) {
  const int64_t now = clock_->NowMonotonicUs();
  if (!job.opened) {
    job.opened = true;
    Result<std::unique_ptr<EvidenceFile>> out =
        store_->Create(job.camera, job.kind, job.name, job.event_us);
    if (!out.ok()) {
      Log()->warn("[cam {}] clip {}: {}", job.camera, job.file, out.status().message());
      job.failed = true;
      Finish(job, false);
      return true;
    }
    job.out = std::move(out).value();
  }
  if (!job.out) return true;
  std::vector<ingest::EncodedUnit> units = job.ring->ReadFrom(job.next_seq, 256);
  if (units.empty() || (job.mux && units.front().seq != job.next_seq)) {
    // Nothing new (or what followed was evicted: a gap would not play).
    if (stopping || !units.empty() || now - job.last_progress_us > options_.idle_timeout_us) {
      Finish(job, false);
      return true;
    }
    return false;
  }
  for (const ingest::EncodedUnit& u : units) {
    if (job.mux && u.format != job.format) {  // another pipeline: another timeline
      Finish(job, false);
      return true;
    }
    if (job.mux && u.capture_us > job.to_us.load() && (!job.segment || u.key)) {
      if (job.segment) {
        std::lock_guard<std::mutex> lock(mu_);
        segment_next_[job.camera] = u.seq;  // the next segment starts at this key frame
      }
      Finish(job, true);
      return true;
    }
    Status st = Status::Ok();
    if (!job.mux) {
      job.format = u.format;
      EvidenceFile* out = job.out.get();
      auto mux = ingest::Mp4Remuxer::Create(
          *u.format, u, [out](const uint8_t* p, size_t n) { return out->Write(p, n); });
      if (mux.ok()) {
        job.mux = std::move(mux).value();
      } else {
        st = mux.status();
      }
    }
    if (st.ok()) st = job.mux->Add(u);
    if (!st.ok()) {
      Log()->warn("[cam {}] clip {}: {}", job.camera, job.file, st.message());
      job.failed = true;
      Finish(job, false);
      return true;
    }
    job.next_seq = u.seq + 1;
    if (job.start_us == 0) job.start_us = u.capture_us;
    job.end_us = std::max(job.end_us, u.capture_us);
    job.last_progress_us = now;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ClipState& s = clips_[job.file];
    s.start_us = job.start_us;
    s.end_us = job.end_us;
    s.bytes = job.out->bytes();
  }
  if (stopping) {
    Finish(job, false);
    return true;
  }
  return false;
}

void ClipRecorder::StartSegments() {
  for (const std::string& camera : options_.record_cameras) {
    std::shared_ptr<ingest::EncodedRing> ring = RingOf(camera, false);
    if (!ring) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (segment_active_.count(camera)) continue;
    if (auto retry = segment_retry_us_.find(camera);
        retry != segment_retry_us_.end() && clock_->NowMonotonicUs() < retry->second) {
      continue;
    }
    auto next = segment_next_.find(camera);
    std::optional<uint64_t> seq;
    if (next != segment_next_.end()) {
      seq = next->second;
    } else {
      seq = ring->KeyFrameAtOrBefore(INT64_MAX);  // the first segment: from the newest key frame
    }
    if (!seq) continue;
    // From the first key frame on (a segment cut short ended anywhere).
    std::vector<ingest::EncodedUnit> first = ring->ReadFrom(*seq, 512);
    while (!first.empty() && !first.front().key) first.erase(first.begin());
    if (first.empty()) continue;
    auto job = std::make_shared<Job>();
    job->camera = camera;
    job->ring = ring;
    job->next_seq = first.front().seq;
    job->event_us = job->first_event_us = first.front().capture_us;
    job->to_us.store(first.front().capture_us + options_.segment_us);
    job->trigger = v1::CLIP_TRIGGER_UNSPECIFIED;
    job->kind = "recordings";
    job->segment = true;
    job->last_progress_us = clock_->NowMonotonicUs();
    // The capture time to the microsecond: clips of a time range are cut from the segments
    // by it (SegmentStartUs).
    char micros[8];
    std::snprintf(micros, sizeof micros, ".%06lld",
                  static_cast<long long>(((job->event_us % 1'000'000) + 1'000'000) % 1'000'000));
    const std::string base = FormatUtc(job->event_us, "%H%M%S") + micros + "-segment";
    job->name = base + ".mp4";
    for (int n = 2; names_.count(EvidenceStore::RelativePath(camera, job->kind, job->name,
                                                             job->event_us));
         ++n) {
      job->name = base + "-" + std::to_string(n) + ".mp4";
    }
    job->file = EvidenceStore::RelativePath(camera, job->kind, job->name, job->event_us);
    names_.insert(job->file);
    segment_active_.insert(camera);
    jobs_.push_back(job);
  }
}

void ClipRecorder::Finish(Job& job, bool complete) {
  bool ok = true;
  if (job.mux) ok = job.mux->Finish().ok();
  if (job.out) ok = job.out->Close().ok() && ok;
  if (!ok) job.failed = true;
  complete = complete && !job.failed && job.mux;
  ClipState state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ClipState& s = clips_[job.file];
    s.file = job.file;
    s.camera = job.camera;
    s.start_us = job.start_us;
    s.end_us = job.end_us;
    s.bytes = job.out ? job.out->bytes() : 0;
    s.done = true;
    s.complete = complete;
    state = s;
    if (job.segment) {
      segment_active_.erase(job.camera);
      if (!complete) segment_next_[job.camera] = job.next_seq + (job.failed ? 1 : 0);
      // A segment that failed (disk full, a stream the muxer refuses) is not retried at once.
      if (job.failed) segment_retry_us_[job.camera] = clock_->NowMonotonicUs() + 10'000'000;
      ++stats_.segments;
    } else if (complete) {
      ++stats_.completed;
    } else if (job.failed) {
      ++stats_.failed;
    } else {
      ++stats_.cut_short;
    }
  }
  if (!job.mux || job.segment) return;  // nothing written, or a recording: no clip to announce
  v1::Event ev;
  ev.set_camera_id(job.camera);
  ev.set_capture_time_us(job.first_event_us);
  v1::ClipStored* c = ev.mutable_clip_stored();
  c->set_file(state.file);
  c->set_bytes(static_cast<uint64_t>(state.bytes));
  c->set_start_us(state.start_us);
  c->set_end_us(state.end_us);
  c->set_trigger(job.trigger);
  c->set_track_id(job.track_id);
  c->set_complete(complete);
  next_->Publish(std::move(ev));
  Log()->info("[cam {}] clip {}: {} bytes, {:.1f} s{}", job.camera, state.file, state.bytes,
              (state.end_us - state.start_us) / 1e6, complete ? "" : " (cut short)");
}

}  // namespace skynet::daemon
