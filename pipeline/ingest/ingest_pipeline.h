// IngestPipeline: one GStreamer pipeline for one connection attempt of a CameraSession.
//
// Private to skynet_ingest; this header is GStreamer-free (GStreamer types are only
// forward-declared). Built, played, polled and torn down by the session thread; its GStreamer
// callbacks run on streaming threads and only count, map times and hand frames to the
// FrameSink. The callback state (Context, pipeline_context.h) is shared with GStreamer through
// destroy-notified references, so it outlives any late callback even if a teardown is
// abandoned to the reaper. The pieces, by job:
//   ingest_pipeline.cc   element building (Build), Play/Poll/Rewind, TearDown
//   stream_callbacks.*   streaming-thread probes, rtpbin signals, appsink delivery
//   pad_linking.*        decode chain chosen in pad-added, other streams ignored
//   bus_classifier.*     bus message -> PipelineEvent (pure, with GStreamer adapters)
//   tcp_probe.*          TCP probe and connect diagnosis (GStreamer-free)
//   teardown_reaper.*    set_state(NULL) with a deadline, overruns kept by the reaper
//
//   rtsp:  rtspsrc ! rtpH26Xdepay ! h26Xparse ! avdec_h26X ! TAIL       (chosen in pad-added)
//   file:  filesrc ! parsebin ! avdec_h26X ! TAIL                       (chosen in pad-added)
//   TAIL:  videoscale ! video/x-raw,width=W,height=H ! videoconvert !
//          video/x-raw,format=GRAY8|BGR ! appsink
// Health tier (AnalyticsTier::kHealth): a probe on the decoder's sink pad drops delta units, so
// only key frames are decoded; a dropped unit counts as progress unless a key frame that went
// in has not come out yet (a decoder that stops is still noticed).
// Other tiers, with analytics_fps: disposable units (nal_units.h, H.264 and H.265) that a
// RateLimiter at analytics_fps does not admit are dropped on the decoder's sink pad; reference
// units pass.
// analytics_fps is a drop-only RateLimiter in a probe on the decoder's src pad (see
// rate_limiter.h for why not videorate).
// Clips: with an EncodedSink, a probe on the decoder's sink pad, added before the dropping ones,
// hands every access unit over with its timestamps, key flag and capture time.
// Progress probes: network data (rtsp: the jitter buffers' sink pads, on the threads that
// read the sockets, so they keep counting while everything downstream is blocked), decoder
// input, decoded frames, and the appsink delivery (with the start of a call in progress).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "pipeline/core/clock.h"
#include "pipeline/core/frame.h"
#include "pipeline/core/status.h"
#include "pipeline/ingest/encoded_ring.h"
#include "pipeline/ingest/redactor.h"
#include "pipeline/ingest/session_state.h"
#include "pipeline/ingest/source_options.h"

typedef struct _GstElement GstElement;
typedef struct _GstBus GstBus;

namespace skynet::ingest {

// Counters of one session, shared by its successive pipelines.
struct SessionCounters {
  std::atomic<uint64_t> frames_in{0};
  std::atomic<uint64_t> frames_delivered{0};
  std::atomic<uint64_t> frames_rate_limited{0};  // dropped by the analytics_fps limit
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> callback_exceptions{0};
  std::atomic<uint64_t> warnings{0};
  // Decode health (decode_health.h): libav error messages (decoder_log.h), decode warnings on
  // the bus, decoded buffers flagged corrupted, compressed units into the decode chain.
  std::atomic<uint64_t> decoder_errors{0};
  std::atomic<uint64_t> decode_warnings{0};
  std::atomic<uint64_t> corrupt_frames{0};
  std::atomic<uint64_t> units_in{0};
  // Access units dropped before the decoder on purpose (SessionStats::units_skipped).
  std::atomic<uint64_t> units_skipped{0};
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
  using EncodedSink = std::function<void(EncodedUnit&&)>;

  // Builds (does not start) the pipeline. Internal if an element cannot be made.
  // `encoded` (optional) gets every access unit before the decoder (CameraSession::Callbacks).
  static Result<std::unique_ptr<IngestPipeline>> Build(const SourceOptions& options,
                                                       const Redactor& redactor, FrameSink sink,
                                                       std::shared_ptr<SessionCounters> counters,
                                                       Clock* clock, EncodedSink encoded = {});
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

  // Sets the pipeline to NULL, then drops its last reference (blocking: see TearDown).
  struct PipelineDeleter {
    void operator()(GstElement* pipeline) const;
  };
  // Flushes the bus (dropping pending messages), then unrefs it.
  struct BusDeleter {
    void operator()(GstBus* bus) const;
  };

 private:
  IngestPipeline() = default;
  // Closes the delivery gate and waits until `deadline` for a call in progress to return.
  bool CloseDeliveryGate(std::chrono::steady_clock::time_point deadline);
  // Sets NULL and unrefs on a helper thread; false if that overran `deadline` (or `wait` is
  // false) and was left to the reaper.
  bool StopPipeline(std::chrono::steady_clock::time_point deadline, bool wait);

  std::shared_ptr<Context> ctx_;
  // gst_pipeline_new() returns a floating reference; Build sinks it (gst_object_ref_sink), so
  // this holds it as transfer full. Released to a helper thread by TearDown.
  std::unique_ptr<GstElement, PipelineDeleter> pipeline_;
  std::unique_ptr<GstBus, BusDeleter> bus_;  // gst_element_get_bus(): transfer full
  bool torn_down_ = false;
};

}  // namespace skynet::ingest
