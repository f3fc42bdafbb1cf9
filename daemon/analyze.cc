#include "daemon/analyze.h"

#include <google/protobuf/util/json_util.h>
#include <signal.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>

#include "daemon/event_mapping.h"
#include "daemon/record_collector.h"
#include "daemon/record_store.h"
#include "daemon/vehicle_pipeline.h"
#include "pipeline/analytics/motion_detector.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/logging.h"
#include "pipeline/ingest/camera_session.h"
#include "skynet/protocol.h"

namespace skynet::daemon {
namespace {

// Frames in flight between the streaming thread and the analysing thread. Unlike the live
// 2-slot queue this one never drops: a full handoff blocks the decoder (back-pressure), so every
// frame admitted by analytics_fps is analysed however slow the CPU.
constexpr size_t kHandoffFrames = 4;

// A blocking single-producer, single-consumer handoff that ends with "done" or an error.
class FrameHandoff {
 public:
  // Streaming thread. Blocks while full; drops the frame once the consumer has gone.
  void Push(Frame&& frame) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] { return frames_.size() < kHandoffFrames || closed_; });
    if (closed_) return;
    frames_.push_back(std::move(frame));
    ready_.notify_one();
  }
  // The end of the input: `error` empty for a clean end of file.
  void Finish(std::string error) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    error_ = std::move(error);
    ready_.notify_one();
  }
  // Consumer. The next frame, or nullopt once finished and drained (an error ends at once).
  std::optional<Frame> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return !frames_.empty() || finished_; });
    if (frames_.empty() || !error_.empty()) return std::nullopt;
    Frame f = std::move(frames_.front());
    frames_.pop_front();
    space_.notify_one();
    return f;
  }
  // Consumer: stop accepting frames (unblocks a waiting producer before the session stops).
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    frames_.clear();
    space_.notify_all();
  }
  std::string error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable space_, ready_;
  std::deque<Frame> frames_;
  bool closed_ = false;
  bool finished_ = false;
  std::string error_;
};

// file:// URL of a local path, percent-encoding everything but unreserved characters and '/'
// (ingest unescapes it with gst_uri_get_location).
std::string FileUrl(const std::filesystem::path& path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string url = "file://";
  for (unsigned char c : std::filesystem::absolute(path).lexically_normal().string()) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      url += static_cast<char>(c);
    } else {
      url += '%';
      url += kHex[c >> 4];
      url += kHex[c & 15];
    }
  }
  return url;
}

// One line of the --tracks file: the frame, its live tracks and the detections they were
// given, boxes in detect-size pixels.
//   {"frame":12,"t":2.4,"width":320,"height":180,"tracks":[{"id":3,"class":"car",
//    "box":[10.5,80.0,40.2,18.1],"confirmed":true,"matched":true,"stationary":false,
//    "speed_kmh":31.4}],"detections":[{"class":"car","box":[11,80,40,18],"score":0.93}]}
void AppendTracksLine(const Frame& frame, const std::vector<analytics::Track>& tracks,
                      const std::vector<analytics::Detection>& detections, std::string* out) {
  char buf[320];
  std::snprintf(buf, sizeof buf, "{\"frame\":%llu,\"t\":%.6f,\"width\":%d,\"height\":%d,\"tracks\":[",
                static_cast<unsigned long long>(frame.index), frame.stream_time_us / 1e6,
                frame.image.cols, frame.image.rows);
  *out += buf;
  bool first = true;
  for (const analytics::Track& t : tracks) {
    std::snprintf(buf, sizeof buf,
                  "%s{\"id\":%llu,\"class\":\"%s\",\"box\":[%.1f,%.1f,%.1f,%.1f],"
                  "\"confirmed\":%s,\"matched\":%s,\"stationary\":%s,\"speed_kmh\":%.1f}",
                  first ? "" : ",", static_cast<unsigned long long>(t.id),
                  analytics::ObjectClassName(t.object_class), t.box.x, t.box.y, t.box.width,
                  t.box.height, t.confirmed ? "true" : "false", t.matched ? "true" : "false",
                  t.stationary ? "true" : "false", t.calibrated ? t.speed_kmh : -1.0f);
    *out += buf;
    first = false;
  }
  *out += "],\"detections\":[";
  first = true;
  for (const analytics::Detection& d : detections) {
    std::snprintf(buf, sizeof buf,
                  "%s{\"class\":\"%s\",\"box\":[%.1f,%.1f,%.1f,%.1f],\"score\":%.2f}",
                  first ? "" : ",", analytics::ObjectClassName(d.object_class), d.box.x, d.box.y,
                  d.box.width, d.box.height, d.score);
    *out += buf;
    first = false;
  }
  *out += "]}";
}

}  // namespace

Result<AnalyzeSummary> AnalyzeVideo(const CameraConfig& camera, const std::string& video_path,
                                    const std::function<void(const v1::Event&)>& sink,
                                    const TrackSink& tracks, bool close_tracks,
                                    const CameraQualityOptions* quality_options) {
  {
    std::ifstream probe(video_path, std::ios::binary);
    std::error_code ec;
    if (!probe || std::filesystem::is_directory(video_path, ec)) {
      return Status::NotFound(video_path + ": cannot read the file");
    }
  }
  auto motion = analytics::MotionDetector::Create(camera.motion);
  if (!motion.ok()) {
    return Status::InvalidArgument("camera " + camera.id +
                                   ": motion: " + motion.status().message());
  }

  std::unique_ptr<VehiclePipeline> vehicles;
  if (camera.vehicles.enabled) {
    auto vp = VehiclePipeline::Create(camera.id, camera.vehicles, camera.motion.masks);
    if (!vp.ok()) {
      return Status(vp.status().code(), "camera " + camera.id + ": " + vp.status().message());
    }
    vehicles = std::move(vp).value();
  }

  // Video quality on stream time: the clock the monitor samples by follows the frames.
  FakeClock stream_clock(0);
  std::unique_ptr<CameraQuality> quality;
  if (quality_options != nullptr) {
    CameraQualityOptions q = *quality_options;
    q.camera_id = camera.id;
    q.reference_file.clear();
    auto created = CameraQuality::Create(q, &stream_clock);
    if (!created.ok()) {
      return Status::InvalidArgument("video_quality: " + created.status().message());
    }
    quality = std::move(created).value();
  }

  // The camera's settings, read from the file as fast as possible, once.
  ingest::SourceOptions source = SourceOptionsFor(camera);
  source.url = FileUrl(video_path);
  source.username.clear();
  source.password.clear();
  source.file_realtime = false;
  source.file_loop = false;

  FrameHandoff handoff;
  ingest::CameraSession::Callbacks callbacks;
  callbacks.on_frame = [&handoff](Frame&& f) { handoff.Push(std::move(f)); };
  callbacks.on_state = [&handoff, &video_path](const ingest::StateChange& c) {
    // A file that fails is retried with backoff by the session; offline, the first failure is
    // final. (A clean end of file arrives through on_eos_offline.)
    if (c.state == ingest::SessionState::kWaiting) {
      handoff.Finish(video_path + ": cannot decode: " + ingest::StateReasonName(c.reason) +
                     (c.detail.empty() ? "" : ": " + c.detail));
    }
  };
  callbacks.on_eos_offline = [&handoff] { handoff.Finish(""); };
  auto session = ingest::CameraSession::Create(source, std::move(callbacks));
  if (!session.ok()) return Status::InvalidArgument(session.status().message());

  AnalyzeSummary summary;
  uint64_t seq = 0;
  (*session)->Start();
  while (std::optional<Frame> frame = handoff.Pop()) {
    if (frame->image.empty()) continue;
    auto publish = [&](v1::Event ev) {
      ++seq;
      protocol::StampEnvelope("offline", 0, seq, &ev);
      ev.set_camera_id(camera.id);
      ev.set_capture_time_us(frame->stream_time_us);
      ev.set_frame_index(frame->index);
      ev.set_stream_time_us(frame->stream_time_us);
      ++summary.events;
      sink(ev);
    };
    // As CameraRunner::Analyse(): video quality first, about once a second.
    if (quality) {
      stream_clock.AdvanceUs(
          std::max<int64_t>(0, frame->stream_time_us - stream_clock.NowMonotonicUs()));
      const int64_t quality_cpu_before = ThreadCpuUs();
      std::vector<v1::VideoQuality> changes;
      quality->Sample(frame->image, frame->stream_time_us, &changes);
      summary.quality_cpu_us += ThreadCpuUs() - quality_cpu_before;
      for (v1::VideoQuality& change : changes) {
        v1::Event ev;
        *ev.mutable_video_quality() = std::move(change);
        publish(std::move(ev));
      }
    }
    const int64_t cpu_before = ThreadCpuUs();
    const analytics::MotionObservation obs =
        (*motion)->Process(frame->image, frame->stream_time_us);
    summary.motion_cpu_us += ThreadCpuUs() - cpu_before;
    ++summary.frames;
    summary.video_us = frame->stream_time_us;
    v1::Event ev;
    if (FillMotionEvent(obs, &ev)) publish(std::move(ev));
    if (vehicles) {
      // The same clock as the motion detector: stream time (a file carries no wall clock).
      Frame f = *frame;  // shallow: shares the pixels
      f.capture_time_us = frame->stream_time_us;
      const int64_t vehicle_cpu_before = ThreadCpuUs();
      const uint64_t analysed_before = vehicles->stats().frames;
      vehicles->Process(f, obs, publish);
      summary.vehicle_cpu_us += ThreadCpuUs() - vehicle_cpu_before;
      // Frames the DNN's detect_fps skipped leave the tracker untouched: nothing to report.
      if (tracks && vehicles->stats().frames != analysed_before) {
        tracks(*frame, vehicles->analytics().tracks(), vehicles->analytics().detections());
      }
    }
  }
  // The file ended: like a camera that stops, its live tracks end (and become records).
  if (vehicles && close_tracks) {
    vehicles->Close([&](v1::Event ev) {
      ++seq;
      protocol::StampEnvelope("offline", 0, seq, &ev);
      ++summary.events;
      sink(ev);
    });
  }
  handoff.Close();
  (*session)->Stop();
  if (std::string error = handoff.error(); !error.empty()) return Status::Unavailable(error);
  return summary;
}

namespace {

// The camera of that id, or an error naming the cameras there are.
Result<const CameraConfig*> FindCamera(const Config& config, const AnalyzeArgs& args) {
  std::string known;
  for (const CameraConfig& c : config.cameras) {
    if (c.id == args.camera_id) return &c;
    known += (known.empty() ? "" : ", ") + c.id;
  }
  return Status::NotFound(args.config_path + ": no camera '" + args.camera_id +
                          "' (cameras: " + (known.empty() ? "none" : known) + ")");
}

// Truncates and opens `path` for writing; false (and a message) if it cannot.
bool OpenForWriting(const std::string& path, std::ofstream* file) {
  file->open(path, std::ios::out | std::ios::trunc);
  if (*file) return true;
  std::fprintf(stderr, "skynetd analyze: %s: cannot write\n", path.c_str());
  return false;
}

// The closing lines on stderr: frames, events and the cost of the analysis.
void PrintSummary(const CameraConfig& camera, const AnalyzeSummary& summary, double wall_s,
                  int64_t cpu_us) {
  std::fprintf(stderr,
               "skynetd analyze: camera %s: %llu frames, %.1f s of video, %llu events, "
               "motion %.3f ms cpu/frame, %.2f s cpu total, %.2f s wall\n",
               camera.id.c_str(), static_cast<unsigned long long>(summary.frames),
               summary.video_us / 1e6, static_cast<unsigned long long>(summary.events),
               summary.motion_cpu_ms_per_frame(), cpu_us / 1e6, wall_s);
  if (summary.quality_cpu_us > 0) {
    std::fprintf(stderr, "skynetd analyze: camera %s: video quality %.2f s cpu total\n",
                 camera.id.c_str(), summary.quality_cpu_us / 1e6);
  }
  if (camera.vehicles.enabled) {
    std::fprintf(stderr, "skynetd analyze: camera %s: vehicles %.3f ms cpu/frame\n",
                 camera.id.c_str(),
                 summary.frames ? summary.vehicle_cpu_us / 1000.0 / summary.frames : 0.0);
  }
}

}  // namespace

int RunAnalyze(const AnalyzeArgs& args) {
  // skynetd blocks the stop signals for its sigwait() loop; an offline run is an ordinary
  // command that Ctrl-C ends, and whose output may go to a closed pipe.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGPIPE);
  pthread_sigmask(SIG_UNBLOCK, &stop, nullptr);

  if (!SetLogLevel(args.log_level)) {
    std::fprintf(stderr, "skynetd analyze: --log-level: unknown level '%s'\n",
                 args.log_level.c_str());
    return 2;
  }
  auto config = LoadConfigFile(args.config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "skynetd analyze: %s\n", config.status().message().c_str());
    return 2;
  }
  Result<const CameraConfig*> found = FindCamera(*config, args);
  if (!found.ok()) {
    std::fprintf(stderr, "skynetd analyze: %s\n", found.status().message().c_str());
    return 2;
  }
  const CameraConfig* camera = *found;
  // The same inference thread budget as the daemon (dnn.threads).
  analytics::SetInferenceThreads(config->dnn.threads);

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!args.out_path.empty() && args.out_path != "-") {
    if (!OpenForWriting(args.out_path, &file)) return 1;
    out = &file;
  }

  std::ofstream tracks_file;
  if (!args.tracks_path.empty()) {
    if (!camera->vehicles.enabled) {
      std::fprintf(stderr, "skynetd analyze: --tracks: camera %s has no vehicles section enabled\n",
                   camera->id.c_str());
      return 2;
    }
    if (!OpenForWriting(args.tracks_path, &tracks_file)) return 1;
  }
  TrackSink track_sink;
  std::string track_line;
  if (tracks_file.is_open()) {
    track_sink = [&](const Frame& frame, const std::vector<analytics::Track>& live,
                     const std::vector<analytics::Detection>& detections) {
      track_line.clear();
      AppendTracksLine(frame, live, detections, &track_line);
      tracks_file << track_line << '\n';
    };
  }

  // --records: the events also go through a record collector (as live), whose records the
  // writer stores; what it forwards is dropped (the events are written above).
  class Discard : public EventFeed {
   public:
    void Publish(v1::Event) override {}
    FeedStats stats() const override { return {}; }
  } discard;
  std::unique_ptr<RecordWriter> record_writer;
  std::unique_ptr<RecordCollector> collector;
  if (!args.records_path.empty()) {
    if (!camera->vehicles.enabled) {
      std::fprintf(stderr,
                   "skynetd analyze: --records: camera %s has no vehicles section enabled\n",
                   camera->id.c_str());
      return 2;
    }
    auto store = RecordStore::Open({.path = args.records_path, .retention_days = 0});
    if (!store.ok()) {
      std::fprintf(stderr, "skynetd analyze: %s\n", store.status().message().c_str());
      return 1;
    }
    record_writer = std::make_unique<RecordWriter>(std::move(store).value(),
                                                   RecordWriterOptions{.max_queued = 1'000'000});
    collector = std::make_unique<RecordCollector>("offline", &discard, record_writer.get());
  }

  // Video quality as the live daemon runs it; the reference view is learned from the file.
  std::optional<CameraQualityOptions> quality;
  if (config->video_quality.enabled) {
    quality = QualityOptionsFor(config->video_quality, camera->id, /*reference_dir=*/"");
  }

  google::protobuf::util::JsonPrintOptions json;
  json.add_whitespace = false;
  json.preserve_proto_field_names = false;
  std::string line;
  bool write_failed = false;
  const auto wall_start = std::chrono::steady_clock::now();
  const int64_t cpu_start = ProcessCpuUs();
  auto summary = AnalyzeVideo(*camera, args.video_path, [&](const v1::Event& ev) {
    line.clear();
    if (!google::protobuf::util::MessageToJsonString(ev, &line, json).ok()) return;
    *out << line << '\n';
    if (!*out) write_failed = true;
    if (collector) collector->Publish(ev);
  }, track_sink, /*close_tracks=*/collector != nullptr, quality ? &*quality : nullptr);
  collector.reset();
  record_writer.reset();  // writes what is queued (a failing write is logged)
  if (tracks_file.is_open()) tracks_file.flush();
  out->flush();
  if (!summary.ok()) {
    std::fprintf(stderr, "skynetd analyze: %s\n", summary.status().message().c_str());
    return summary.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (write_failed || !*out) {
    std::fprintf(stderr, "skynetd analyze: %s: write failed\n",
                 file.is_open() ? args.out_path.c_str() : "stdout");
    return 1;
  }
  if (tracks_file.is_open() && !tracks_file) {
    std::fprintf(stderr, "skynetd analyze: %s: write failed\n", args.tracks_path.c_str());
    return 1;
  }
  PrintSummary(*camera, *summary,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count(),
               ProcessCpuUs() - cpu_start);
  return 0;
}

}  // namespace skynet::daemon
