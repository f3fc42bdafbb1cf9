// IngestPipeline: one GStreamer pipeline for one connection attempt of a CameraSession.
//
// Private to skynet_ingest; its .cc is the only code that includes GStreamer. Built, played, polled and
// torn down by the session thread; its GStreamer callbacks run on streaming threads and only
// count, map times and hand frames to the FrameSink. The callback state (Context) is shared
// with GStreamer through destroy-notified references, so it outlives any late callback even if
// a teardown is abandoned to the reaper.
//
//   rtsp:  rtspsrc ! rtpH26Xdepay ! h26Xparse ! avdec_h26X ! TAIL       (chosen in pad-added)
//   file:  filesrc ! parsebin ! avdec_h26X ! TAIL                       (chosen in pad-added)
//   TAIL:  videoscale ! video/x-raw,width=W,height=H ! videoconvert !
//          video/x-raw,format=GRAY8|BGR ! appsink
// analytics_fps is a drop-only RateLimiter in a probe on the decoder's src pad (see
// rate_limiter.h for why not videorate).
// Progress probes: network data (rtsp: the jitter buffers' sink pads, on the threads that
// read the sockets, so they keep counting while everything downstream is blocked), decoder
// input, decoded frames, and the appsink delivery (with the start of a call in progress).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "pipeline/core/clock.h"
#include "pipeline/core/frame.h"
#include "pipeline/core/status.h"
#include "pipeline/ingest/redactor.h"
#include "pipeline/ingest/session_state.h"
#include "pipeline/ingest/source_options.h"

typedef struct _GError GError;

namespace skynet::ingest {

// Counters of one session, shared by its successive pipelines.
struct SessionCounters {
  std::atomic<uint64_t> frames_in{0};
  std::atomic<uint64_t> frames_delivered{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> callback_exceptions{0};
  std::atomic<uint64_t> warnings{0};
  std::atomic<bool> rtcp_sync{false};  // current pipeline maps times through RTCP SRs
  std::atomic<int64_t> camera_clock_offset_us{0};  // RTCP time minus arrival time
  std::atomic<int> width{0};
  std::atomic<int> height{0};
  std::mutex mu;
  std::string codec;  // guarded by mu
};

// What the bus said, already classified and redacted.
struct PipelineEvent {
  enum class Kind { kNone, kFirstFrame, kError, kEndOfStream, kStreamChanged };
  Kind kind = Kind::kNone;
  StateReason reason = StateReason::kError;
  std::string detail;
  int previous_width = 0;  // kStreamChanged
  int previous_height = 0;
};

class IngestPipeline {
 public:
  using FrameSink = std::function<void(Frame&&)>;

  // Builds (does not start) the pipeline. Internal if an element cannot be made.
  static Result<std::unique_ptr<IngestPipeline>> Build(const SourceOptions& options,
                                                       const Redactor& redactor, FrameSink sink,
                                                       std::shared_ptr<SessionCounters> counters,
                                                       Clock* clock);
  ~IngestPipeline();  // TearDown(3000) if not done yet

  // Sets PLAYING. Errors come later through Poll().
  void Play();
  // Waits up to `timeout_ms` for the next bus message that matters.
  PipelineEvent Poll(int timeout_ms);
  // File loop: seeks back to the start (stream times keep increasing). False if refused.
  bool Rewind();
  // Monotonic times (Clock) of the last decoded frame or delivery, the last network data
  // (files: decoder input) and the last decoder input; the start time before any.
  int64_t last_progress_us() const;
  int64_t last_network_us() const;
  int64_t last_input_us() const;
  // How long the on_frame call in progress has been running; 0 if none is.
  int64_t sink_busy_us() const;
  uint64_t frames_decoded() const;
  // Stops delivering frames (waiting for a call in progress), sets NULL on a helper thread,
  // and waits up to `deadline_ms` in all. A pipeline that does not get there in time is left
  // to the reaper: returns false. Idempotent (later calls return true).
  bool TearDown(int deadline_ms);

  struct Context;

 private:
  IngestPipeline() = default;
  std::shared_ptr<Context> ctx_;
  void* pipeline_ = nullptr;  // GstElement*, transfer full (ref-sunk)
  void* bus_ = nullptr;       // GstBus*, transfer full
  bool torn_down_ = false;
};

// Pipelines abandoned to the reaper whose teardown has not finished yet (process-wide).
int PendingTeardowns();

// Maps a GStreamer error to a reason. `rtsp` selects rtspsrc's conventions.
StateReason ClassifyGstError(const GError* error, std::string_view debug, bool rtsp);

// After rtspsrc's "Failed to connect": tries a TCP connect to the URL's host and port (at most
// `timeout_ms`) to tell refused / timeout / unresolvable apart. Fills `detail`.
StateReason DiagnoseConnect(const std::string& url, int timeout_ms, std::string* detail);

// A TCP connect to the URL's host and port within `timeout_ms`: true if it was accepted.
bool ProbeTcp(const std::string& url, int timeout_ms);

}  // namespace skynet::ingest
