// Camera session states, the reasons for changes, and per-session counters.
//
// StateReason mirrors skynet.v1.StatusReason (proto/skynet/v1/events.proto) without depending
// on protobuf; the daemon maps one onto the other.
#pragma once

#include <cstdint>
#include <string>

namespace skynet::ingest {

enum class SessionState {
  kConnecting,  // pipeline built and starting; no frame yet
  kOnline,      // decoded frames are flowing
  kStalled,     // was online, no frame for stall_timeout_ms (followed by kWaiting)
  kWaiting,     // offline, waiting for the next reconnect attempt (StateChange::retry_in_ms)
  kOffline,     // offline; final for a file without loop, else followed by kWaiting
  kStopped,     // Stop() was called; no more callbacks
  // Network data still arrives but decoded frames are not consumed (the on_frame consumer or
  // the pipeline is blocked) for stall_timeout_ms. Alarmed, never reconnected: back to
  // kOnline (kConnected) when frames flow again, or kStalled if the camera stops too.
  kBlocked,
  // Frames still come, but the data decodes to errors or concealment (a smeared or frozen
  // picture): reason kDecodeError, detail and StateChange::detection_latency_us say what and
  // how fast. Not reconnected: back to kOnline (kConnected) once decoding is clean again.
  kDegraded,
};

enum class StateReason {
  kStarted,           // first connect after Start()
  kConnected,         // frames are flowing
  kRefused,           // TCP connection refused
  kNotFound,          // RTSP 404 or missing file
  kAuthFailed,        // RTSP 401
  kTimeout,           // no answer / no frame within connect_timeout_ms
  kStall,             // no frame for stall_timeout_ms
  kEndOfStream,       // the camera closed the stream, or a file ended
  kDecodeError,
  kUnsupportedCodec,  // not H.264/H.265 (or an unknown container)
  kStopped,           // Stop()
  kError,             // anything else; see StateChange::detail
  kDownstreamBlocked,  // with kBlocked: data arrives, frames are not consumed
  // With kOnline: the codec or decoded size changed (mid-stream, or across a reconnect);
  // StateChange has the new and previous_* values. Frames keep flowing at the new size.
  kStreamChanged,
};

const char* SessionStateName(SessionState s);  // "connecting", "online", ...
const char* StateReasonName(StateReason r);    // "started", "refused", ...

// Handed to Callbacks::on_state for every transition.
struct StateChange {
  SessionState state = SessionState::kConnecting;
  StateReason reason = StateReason::kStarted;
  std::string detail;      // human readable; credentials already redacted
  std::string codec;       // "h264" / "h265" once known
  int width = 0;           // decoded (source) size once known
  int height = 0;
  int64_t retry_in_ms = 0;  // kWaiting: delay before the next attempt
  // kDegraded: from the first decode trouble seen to this report (monotonic; the stream's
  // own latency, e.g. the jitter buffer, comes before it).
  int64_t detection_latency_us = 0;
  // kStreamChanged: what it was before.
  std::string previous_codec;
  int previous_width = 0;
  int previous_height = 0;
};

// A snapshot of one session's counters (cumulative since Create()).
struct SessionStats {
  SessionState state = SessionState::kConnecting;
  StateReason reason = StateReason::kStarted;
  uint64_t frames_in = 0;         // decoded frames (before rate limiting)
  uint64_t frames_delivered = 0;  // frames handed to on_frame
  // Decoded frames dropped by the analytics_fps limit (before scaling). Frames the appsink
  // drops while on_frame is busy: roughly frames_in - frames_rate_limited - frames_delivered.
  uint64_t frames_rate_limited = 0;
  uint64_t bytes_in = 0;          // compressed bytes into the decoder
  // Access units dropped before the decoder on purpose: health tier, every delta unit; else,
  // with analytics_fps, H.264/H.265 disposable (non-reference) units the limit would drop anyway.
  uint64_t units_skipped = 0;
  uint64_t bytes_received = 0;    // RTSP: RTP bytes from the network (before the jitter buffer)
  uint64_t reconnects = 0;        // pipeline rebuilds after the first
  uint64_t stalls = 0;
  uint64_t decode_errors = 0;        // attempts ended by kDecodeError (then reconnected)
  uint64_t degraded = 0;             // changes to kDegraded
  uint64_t decoder_errors = 0;       // libav error messages (concealed damage)
  uint64_t corrupt_frames = 0;       // decoded frames flagged corrupted
  uint64_t blocked = 0;              // changes to kBlocked
  uint64_t stream_changes = 0;       // kStreamChanged reports
  uint64_t teardowns_abandoned = 0;  // pipelines left to the reaper after teardown_deadline_ms
  uint64_t probe_shortcuts = 0;      // waits cut short because the camera answered TCP again
  uint64_t warnings = 0;             // GStreamer warnings on the bus (logged at debug)
  uint64_t callback_exceptions = 0;  // exceptions thrown by on_frame / on_state, dropped
  std::string codec;
  int width = 0;  // decoded size
  int height = 0;
  int64_t online_since_us = 0;  // monotonic time of the current online period; 0 if not online
  // RTSP: capture times of the current connection come from RTCP sender reports (camera clock)
  // rather than arrival time. False while no SR arrived, or while the camera's clock differs
  // from arrival time by more than 5 s (then arrival time is used).
  bool rtcp_sync = false;
  // RTSP: the camera's RTCP clock minus arrival time, latest frame (0 until an SR arrived).
  int64_t camera_clock_offset_us = 0;
};

}  // namespace skynet::ingest
