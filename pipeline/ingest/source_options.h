// SourceOptions: how one camera (or file) is ingested. Plain data, copied into the session.
//
// IngestOptions is the part an operator configures: the daemon's config embeds it in each
// camera (the flat keys of a `cameras:` entry, same names) and copies it in whole. SourceOptions
// adds what the caller decides at run time (which camera, where, credentials, colour) and the
// internal tuning no config exposes.
//
//   SourceOptions o;
//   o.camera_id = "north-gate";
//   o.url = "rtsp://10.0.0.5:554/stream1";   // or rtsps://, or file:///path/video.mp4
//   o.analytics_fps = 2;                      // an IngestOptions field
#pragma once

#include <string>
#include <string_view>

namespace skynet::ingest {

// How much of a camera's stream is decoded and analysed (`analytics:` of a camera).
enum class AnalyticsTier {
  kFull,    // every frame decoded (up to analytics_fps handed over); motion and vehicles
  kMotion,  // as kFull, but motion detection only (vehicles off even if configured)
  // Key frames only: delta units are dropped before the decoder, so decoding costs a fraction;
  // no motion or vehicle analytics (frames serve health checks only).
  kHealth,
};
// "full", "motion", "health".
constexpr const char* AnalyticsTierName(AnalyticsTier t) {
  return t == AnalyticsTier::kHealth ? "health" : t == AnalyticsTier::kMotion ? "motion" : "full";
}
// False (and `*out` unchanged) for anything but the three names.
inline bool ParseAnalyticsTier(std::string_view s, AnalyticsTier* out) {
  for (AnalyticsTier t : {AnalyticsTier::kFull, AnalyticsTier::kMotion, AnalyticsTier::kHealth}) {
    if (s == AnalyticsTierName(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

struct IngestOptions {
  // Analytics tier; kHealth makes ingest decode key frames only (the session's pipeline drops
  // delta units before the decoder and counts them as SessionStats::units_skipped).
  AnalyticsTier analytics = AnalyticsTier::kFull;
  // Frames per second handed to analytics (drop-only: never duplicates). <= 0: no limit.
  double analytics_fps = 5;
  // Width of the frames handed to analytics; the height keeps the aspect ratio. Both are
  // rounded to even numbers.
  int detect_width = 320;
  // RTSP: interleaved RTP over the TCP control connection (true) or RTP over UDP (false).
  bool rtsp_tcp = true;
  // file://: paced like a live camera (true) or as fast as possible (false). In fast mode
  // every decoded frame is delivered (no appsink drop; analytics_fps still applies if > 0).
  bool file_realtime = true;
  // file://: start again from the beginning at end of file.
  bool file_loop = true;
  // No first frame within this time after starting the pipeline: kTimeout.
  int connect_timeout_ms = 10000;
  // Online, then no network data for this long: kStalled, tear down and reconnect. Data
  // arriving without decoded frames for this long: kDecodeError (reconnect); decoded frames
  // not consumed for this long: kBlocked (no reconnect).
  int stall_timeout_ms = 5000;
  // Reconnect delay: full jitter over initial * 2^n...
  int backoff_initial_ms = 1000;
  // ...capped at this.
  int backoff_max_ms = 60000;

  bool operator==(const IngestOptions&) const = default;
};

struct SourceOptions : IngestOptions {
  // Identifies the camera in logs ("[cam <id>]") and events. Required.
  std::string camera_id;
  // rtsp://, rtsps:// or file:// URL. Credentials in the URL (rtsp://user:pw@host/...) work
  // but are never logged.
  std::string url;
  // Handed to rtspsrc user-id / user-pw when non-empty (take precedence over URL credentials).
  std::string username;
  std::string password;
  // false: GRAY8 (CV_8UC1); true: BGR (CV_8UC3).
  bool color = false;
  // Each delivered Frame also carries `source`: a reference to the decoded buffer at the camera's
  // resolution (no copy; formats I420, YV12, NV12, GRAY8). The decoder allocates a new buffer
  // for every frame a consumer still holds, so consumers bound how many they keep.
  bool keep_source_frames = false;

  // RTSP jitter buffer latency.
  int latency_ms = 200;
  // The connect timeout of the very first attempt after Start(): a longer window, since a node
  // that starts many cameras at once is slow to bring each one up.
  int first_connect_timeout_ms = 20000;
  // RTSP, while waiting to reconnect: a TCP connect to the camera's host:port this often
  // (0: never). When the camera refused or did not answer and now accepts, the wait is cut
  // short, so a returning camera is noticed within about this interval.
  int probe_interval_ms = 1500;
  // A pipeline that does not reach NULL within this is abandoned to a reaper thread and
  // counted (SessionStats::teardowns_abandoned); it never blocks other cameras or Stop().
  int teardown_deadline_ms = 3000;
};

}  // namespace skynet::ingest
