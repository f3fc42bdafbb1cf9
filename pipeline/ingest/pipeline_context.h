// IngestPipeline::Context: the state one pipeline shares with its GStreamer callbacks.
//
// Private to skynet_ingest (includes GStreamer). Created by IngestPipeline::Build. GStreamer
// holds its own references to it (CtxRef, released by destroy notifies), so it outlives the
// last callback even when a teardown is abandoned to the reaper. Each field says which
// thread may touch it; the session thread reads the atomics.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "pipeline/ingest/ingest_pipeline.h"
#include "pipeline/ingest/rate_limiter.h"

namespace skynet::ingest {

struct IngestPipeline::Context {
  SourceOptions options;
  Redactor redactor;
  bool is_file = false;
  Clock* clock = nullptr;
  std::shared_ptr<SessionCounters> counters;
  int64_t start_wall_us = 0;

  // Elements owned by the pipeline; valid while it exists (all callbacks run inside it).
  GstElement* pipeline = nullptr;
  GstElement* tail = nullptr;        // first element after the decoder
  GstElement* scale_caps = nullptr;  // capsfilter after videoscale, set from decoder caps

  // Delivery gate: once closed, on_frame is never called again; TearDown waits (with its
  // deadline) for a call in progress.
  std::mutex deliver_mu;
  std::condition_variable deliver_cv;
  bool open = true;                       // guarded by deliver_mu
  bool in_sink = false;                   // guarded by deliver_mu
  std::atomic<int64_t> sink_since_us{0};  // start of the call in progress; 0 if none
  FrameSink sink;

  std::atomic<bool> video_linked{false};
  std::atomic<uint64_t> decoded{0};
  std::atomic<int64_t> last_progress_us{0};
  std::atomic<int64_t> last_network_us{0};
  std::atomic<int64_t> last_input_us{0};
  // Health tier: a key frame went into the decoder and no frame came out since.
  std::atomic<bool> key_pending{false};
  bool caps_seen = false;  // decoder streaming thread only: a size change is a stream change
  // RTCP: sender NTP (Unix ns) minus buffer PTS, from GstReferenceTimestampMeta before depay.
  std::atomic<bool> has_ntp{false};
  std::atomic<int64_t> ntp_offset_ns{0};
  // File loop: stream time added to each pass, and the end of the current pass.
  std::atomic<int64_t> loop_base_ns{0};
  std::atomic<int64_t> pass_end_ns{0};
  std::mutex segment_mu;
  GstSegment segment;   // guarded by segment_mu: the decoder's output segment
  uint64_t index = 0;   // appsink streaming thread only
  RateLimiter limiter;  // decoder streaming thread only
  // Disposable H.264/H.265 units before the decoder (decoder input thread only): the admitted
  // ones, the stream's NAL length size (0: Annex B; -1: not read from the caps yet) and, H.265,
  // its highest temporal sub-layer (-1: unknown yet; nal_units.h).
  RateLimiter disposable_limiter;
  bool hevc = false;  // set before the probe is added
  int nal_length_size = -1;
  int top_temporal_id = -1;
  // keep_source_frames: the decoded buffer now passing from the decoder down to the appsink
  // (one reference, or null) and its video info. The decoder's streaming thread sets them in
  // the decoder src probes; the appsink callback, later on the same push, takes the buffer.
  std::mutex source_mu;
  GstBuffer* source_buffer = nullptr;  // guarded by source_mu; transfer full
  GstVideoInfo source_info;            // guarded by source_mu
  bool source_info_ok = false;         // guarded by source_mu
  // Clips (decoder input thread only, after Build): where access units go, the stream format
  // of this pipeline (rebuilt when the caps change), and the decoder's input segment.
  EncodedSink encoded_sink;
  std::shared_ptr<const EncodedFormat> encoded_format;
  GstCaps* encoded_caps = nullptr;  // transfer full, the caps encoded_format was made from
  GstSegment encoded_segment;

  Context(const SourceOptions& o, const Redactor& r)
      : options(o), redactor(r), limiter(o.analytics_fps), disposable_limiter(o.analytics_fps) {
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_segment_init(&encoded_segment, GST_FORMAT_TIME);
  }
  ~Context() {
    if (encoded_caps) gst_caps_unref(encoded_caps);
    if (source_buffer) gst_buffer_unref(source_buffer);
  }

  void Touch() { last_progress_us.store(clock->NowMonotonicUs()); }
  void TouchAll() {
    const int64_t now = clock->NowMonotonicUs();
    last_progress_us.store(now);
    last_network_us.store(now);
    last_input_us.store(now);
  }
  // Appsink streaming thread: turns a sample into a Frame and hands it to `sink` unless the
  // gate is closed (stream_callbacks.cc).
  void HandleSample(GstSample* sample);
};

// The references GStreamer holds on a Context: one heap-allocated shared_ptr per signal
// handler or probe, deleted by GStreamer's destroy notify.
using CtxRef = std::shared_ptr<IngestPipeline::Context>;
inline gpointer NewRef(const CtxRef& ctx) { return new CtxRef(ctx); }
inline void DeleteRef(gpointer p) { delete static_cast<CtxRef*>(p); }
inline void DeleteRefClosure(gpointer p, GClosure*) { delete static_cast<CtxRef*>(p); }
inline IngestPipeline::Context* Ctx(gpointer p) { return static_cast<CtxRef*>(p)->get(); }
inline const CtxRef& Ref(gpointer p) { return *static_cast<CtxRef*>(p); }

// Posts an application message (`s`, named as in bus_classifier.h) from `from` to the bus.
inline void PostApplication(GstElement* from, GstStructure* s /* transfer full */) {
  gst_element_post_message(from, gst_message_new_application(GST_OBJECT(from), s));
}

}  // namespace skynet::ingest
