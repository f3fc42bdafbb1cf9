#include "pipeline/ingest/ingest_pipeline.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "pipeline/core/logging.h"
#include "pipeline/ingest/rate_limiter.h"

namespace skynet::ingest {
namespace {

// NTP (1900) to Unix (1970) epoch, in nanoseconds.
constexpr int64_t kNtpToUnixNs = 2'208'988'800LL * 1'000'000'000LL;
// Beyond this difference from arrival time the camera's RTCP clock is not believed.
constexpr int64_t kMaxCameraClockOffsetUs = 5'000'000;
constexpr const char* kFirstFrameMessage = "skynet-first-frame";
constexpr const char* kUnsupportedMessage = "skynet-unsupported-codec";
constexpr const char* kStreamChangedMessage = "skynet-stream-changed";

struct GstObjectUnref {
  void operator()(gpointer p) const { if (p) gst_object_unref(p); }
};
struct CapsUnref {
  void operator()(GstCaps* p) const { if (p) gst_caps_unref(p); }
};
struct SampleUnref {
  void operator()(GstSample* p) const { if (p) gst_sample_unref(p); }
};
struct MessageUnref {
  void operator()(GstMessage* p) const { if (p) gst_message_unref(p); }
};
struct ErrorFree {
  void operator()(GError* p) const { if (p) g_error_free(p); }
};
struct GFree {
  void operator()(gchar* p) const { g_free(p); }
};
using CapsPtr = std::unique_ptr<GstCaps, CapsUnref>;
using SamplePtr = std::unique_ptr<GstSample, SampleUnref>;
using MessagePtr = std::unique_ptr<GstMessage, MessageUnref>;
using ErrorPtr = std::unique_ptr<GError, ErrorFree>;
using GCharPtr = std::unique_ptr<gchar, GFree>;
template <typename T>
using ObjectPtr = std::unique_ptr<T, GstObjectUnref>;

// Pipelines whose set_state(NULL) overran its deadline. Their threads are joined as they
// finish; never destroyed (a thread stuck in a dead camera's TEARDOWN must not block exit).
class Reaper {
 public:
  static Reaper& Get() {
    static Reaper* reaper = new Reaper();  // intentionally leaked, see above
    return *reaper;
  }
  void Adopt(std::thread thread, std::shared_future<void> done) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = items_.begin(); it != items_.end();) {
      if (it->second.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        it->first.join();
        it = items_.erase(it);
      } else {
        ++it;
      }
    }
    items_.emplace_back(std::move(thread), std::move(done));
  }
  int Pending() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (auto& it : items_) {
      n += it.second.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
    }
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::thread, std::shared_future<void>>> items_;
};

}  // namespace

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
  bool open = true;     // guarded by deliver_mu
  bool in_sink = false;  // guarded by deliver_mu
  std::atomic<int64_t> sink_since_us{0};  // start of the call in progress; 0 if none
  FrameSink sink;

  std::atomic<bool> video_linked{false};
  std::atomic<uint64_t> decoded{0};
  std::atomic<int64_t> last_progress_us{0};
  std::atomic<int64_t> last_network_us{0};
  std::atomic<int64_t> last_input_us{0};
  bool caps_seen = false;  // decoder streaming thread only: a size change is a stream change
  // RTCP: sender NTP (Unix ns) minus buffer PTS, from GstReferenceTimestampMeta before depay.
  std::atomic<bool> has_ntp{false};
  std::atomic<int64_t> ntp_offset_ns{0};
  // File loop: stream time added to each pass, and the end of the current pass.
  std::atomic<int64_t> loop_base_ns{0};
  std::atomic<int64_t> pass_end_ns{0};
  std::mutex segment_mu;
  GstSegment segment;  // guarded by segment_mu: the decoder's output segment
  uint64_t index = 0;  // appsink streaming thread only
  RateLimiter limiter;  // decoder streaming thread only

  Context(const SourceOptions& o, const Redactor& r)
      : options(o), redactor(r), limiter(o.analytics_fps) {
    gst_segment_init(&segment, GST_FORMAT_TIME);
  }


  void Touch() { last_progress_us.store(clock->NowMonotonicUs()); }
  void TouchAll() {
    const int64_t now = clock->NowMonotonicUs();
    last_progress_us.store(now);
    last_network_us.store(now);
    last_input_us.store(now);
  }
  void HandleSample(GstSample* sample);
};

namespace {

using CtxRef = std::shared_ptr<IngestPipeline::Context>;

gpointer NewRef(const CtxRef& ctx) { return new CtxRef(ctx); }
void DeleteRef(gpointer p) { delete static_cast<CtxRef*>(p); }
void DeleteRefClosure(gpointer p, GClosure*) { delete static_cast<CtxRef*>(p); }
IngestPipeline::Context* Ctx(gpointer p) { return static_cast<CtxRef*>(p)->get(); }

void PostApplication(GstElement* from, GstStructure* s /* transfer full */) {
  gst_element_post_message(from, gst_message_new_application(GST_OBJECT(from), s));
}

// --- streaming-thread callbacks: all noexcept, they only count, map and hand over ----------

GstPadProbeReturn OnEncodedBuffer(GstPad*, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf) return GST_PAD_PROBE_OK;
  ctx->counters->bytes_in.fetch_add(gst_buffer_get_size(buf), std::memory_order_relaxed);
  const int64_t now = ctx->clock->NowMonotonicUs();
  ctx->last_input_us.store(now, std::memory_order_relaxed);
  if (ctx->is_file) ctx->last_network_us.store(now, std::memory_order_relaxed);
  if (!ctx->is_file && GST_BUFFER_PTS_IS_VALID(buf)) {
    // rtpjitterbuffer adds timestamp/x-ntp once an RTCP SR mapped RTP time to sender NTP.
    static GstCaps* ntp_caps = gst_caps_new_empty_simple("timestamp/x-ntp");  // never freed
    if (GstReferenceTimestampMeta* meta = gst_buffer_get_reference_timestamp_meta(buf, ntp_caps)) {
      const int64_t unix_ns = static_cast<int64_t>(meta->timestamp) - kNtpToUnixNs;
      if (unix_ns > 0) {
        ctx->ntp_offset_ns.store(unix_ns - static_cast<int64_t>(GST_BUFFER_PTS(buf)));
        ctx->has_ntp.store(true);
      }
    }
  }
  return GST_PAD_PROBE_OK;
}

// RTP into a jitter buffer: runs on the thread reading the camera's socket.
GstPadProbeReturn OnNetworkData(GstPad*, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  gsize size = 0;
  if (GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info)) {
    size = gst_buffer_get_size(buf);
  } else if (GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info)) {
    size = gst_buffer_list_calculate_size(list);
  }
  ctx->counters->bytes_received.fetch_add(size, std::memory_order_relaxed);
  ctx->last_network_us.store(ctx->clock->NowMonotonicUs(), std::memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

void OnNewJitterbuffer(GstElement*, GstElement* jitterbuffer, guint, guint, gpointer user) noexcept {
  if (GstPad* pad = gst_element_get_static_pad(jitterbuffer, "sink")) {  // transfer full
    gst_pad_add_probe(pad,
                      GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      OnNetworkData, NewRef(*static_cast<CtxRef*>(user)), DeleteRef);
    gst_object_unref(pad);
  }
}

void OnNewManager(GstElement*, GstElement* manager, gpointer user) noexcept {
  if (!g_signal_lookup("new-jitterbuffer", G_OBJECT_TYPE(manager))) return;
  g_signal_connect_data(manager, "new-jitterbuffer", G_CALLBACK(OnNewJitterbuffer),
                        NewRef(*static_cast<CtxRef*>(user)), DeleteRefClosure, GConnectFlags(0));
}

GstPadProbeReturn OnDecodedBuffer(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf) return GST_PAD_PROBE_OK;
  ctx->counters->frames_in.fetch_add(1, std::memory_order_relaxed);
  ctx->Touch();
  if (ctx->is_file && GST_BUFFER_PTS_IS_VALID(buf)) {
    // End of this pass in stream time, where the next pass of a loop starts.
    guint64 pts_end = GST_BUFFER_PTS(buf);
    if (GST_BUFFER_DURATION_IS_VALID(buf)) pts_end += GST_BUFFER_DURATION(buf);
    guint64 st;
    {
      std::lock_guard<std::mutex> lock(ctx->segment_mu);
      st = gst_segment_to_stream_time(&ctx->segment, GST_FORMAT_TIME, pts_end);
    }
    const int64_t end = static_cast<int64_t>(GST_CLOCK_TIME_IS_VALID(st) ? st : pts_end);
    int64_t prev = ctx->pass_end_ns.load();
    while (end > prev && !ctx->pass_end_ns.compare_exchange_weak(prev, end)) {
    }
  }
  if (ctx->decoded.fetch_add(1) == 0) {
    if (GstElement* decoder = gst_pad_get_parent_element(pad)) {  // transfer full
      PostApplication(decoder, gst_structure_new_empty(kFirstFrameMessage));
      gst_object_unref(decoder);
    }
  }
  // Drop-only rate limit before scaling and converting, so dropped frames cost nothing more.
  if (GST_BUFFER_PTS_IS_VALID(buf) &&
      !ctx->limiter.Admit(static_cast<int64_t>(GST_BUFFER_PTS(buf)))) {
    return GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

// On the decoder's caps: remember the source size and fix the scaled size (even, same aspect).
GstPadProbeReturn OnDecodedEvent(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (event && GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) {
    const GstSegment* segment = nullptr;
    gst_event_parse_segment(event, &segment);  // borrowed
    if (segment && segment->format == GST_FORMAT_TIME) {
      std::lock_guard<std::mutex> lock(ctx->segment_mu);
      gst_segment_copy_into(segment, &ctx->segment);
    }
    ctx->limiter.Reset();  // new timeline (seek, loop)
    return GST_PAD_PROBE_OK;
  }
  if (!event || GST_EVENT_TYPE(event) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
  GstCaps* caps = nullptr;
  gst_event_parse_caps(event, &caps);  // borrowed
  GstVideoInfo vi;
  if (!caps || !gst_video_info_from_caps(&vi, caps) || vi.width <= 0 || vi.height <= 0) {
    return GST_PAD_PROBE_OK;
  }
  const int old_w = ctx->counters->width.exchange(vi.width);
  const int old_h = ctx->counters->height.exchange(vi.height);
  if (ctx->caps_seen && (old_w != vi.width || old_h != vi.height)) {
    if (GstElement* decoder = gst_pad_get_parent_element(pad)) {  // transfer full
      PostApplication(decoder, gst_structure_new(kStreamChangedMessage, "width", G_TYPE_INT, old_w,
                                                 "height", G_TYPE_INT, old_h, nullptr));
      gst_object_unref(decoder);
    }
  }
  ctx->caps_seen = true;
  const double par = (vi.par_n > 0 && vi.par_d > 0) ? double(vi.par_n) / vi.par_d : 1.0;
  const int w = std::max(2, ctx->options.detect_width / 2 * 2);
  const double display_w = vi.width * par;
  const int h = std::max(2, static_cast<int>(std::lround(w * vi.height / display_w / 2.0)) * 2);
  GstCaps* scaled = gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, w, "height",
                                        G_TYPE_INT, h, "pixel-aspect-ratio", GST_TYPE_FRACTION,
                                        1, 1, nullptr);
  g_object_set(ctx->scale_caps, "caps", scaled, nullptr);
  gst_caps_unref(scaled);
  return GST_PAD_PROBE_OK;
}

GstFlowReturn OnNewSample(GstAppSink* appsink, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  SamplePtr sample(gst_app_sink_pull_sample(appsink));  // transfer full
  if (!sample) return GST_FLOW_OK;
  try {
    ctx->HandleSample(sample.get());
  } catch (...) {
    ctx->counters->callback_exceptions.fetch_add(1, std::memory_order_relaxed);
  }
  return GST_FLOW_OK;
}

}  // namespace

void IngestPipeline::Context::HandleSample(GstSample* sample) {
  GstBuffer* buf = gst_sample_get_buffer(sample);  // borrowed
  GstCaps* caps = gst_sample_get_caps(sample);     // borrowed
  GstVideoInfo vi;
  if (!buf || !caps || !gst_video_info_from_caps(&vi, caps)) return;
  GstVideoFrame vframe;
  if (!gst_video_frame_map(&vframe, &vi, buf, GST_MAP_READ)) return;
  const int type = options.color ? CV_8UC3 : CV_8UC1;
  cv::Mat view(vi.height, vi.width, type, GST_VIDEO_FRAME_PLANE_DATA(&vframe, 0),
               GST_VIDEO_FRAME_PLANE_STRIDE(&vframe, 0));
  Frame frame;
  frame.image = view.clone();  // owns its pixels: the sample goes back to GStreamer
  gst_video_frame_unmap(&vframe);

  const GstSegment* segment = gst_sample_get_segment(sample);
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  int64_t stream_ns = 0;
  if (GST_CLOCK_TIME_IS_VALID(pts)) {
    guint64 st = segment ? gst_segment_to_stream_time(segment, GST_FORMAT_TIME, pts)
                         : GST_CLOCK_TIME_NONE;
    stream_ns = static_cast<int64_t>(GST_CLOCK_TIME_IS_VALID(st) ? st : pts);
  }
  const int64_t now_wall_us = clock->NowWallUs();
  if (is_file) {
    stream_ns += loop_base_ns.load();
    frame.capture_time_us = start_wall_us + stream_ns / 1000;
  } else {
    // Arrival: rtpjitterbuffer stamps PTS with the (skew-smoothed) arrival running time, so
    // the age of the frame is clock_now - (base_time + running_time(pts)).
    int64_t arrival_us = now_wall_us;
    if (GST_CLOCK_TIME_IS_VALID(pts) && segment) {
      const guint64 rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME, pts);
      if (GstClock* gclock = gst_element_get_clock(pipeline)) {  // transfer full
        const int64_t age_ns = static_cast<int64_t>(gst_clock_get_time(gclock)) -
                               static_cast<int64_t>(gst_element_get_base_time(pipeline) + rt);
        gst_object_unref(gclock);
        if (GST_CLOCK_TIME_IS_VALID(rt) && age_ns > 0 && age_ns < 10'000'000'000LL) {
          arrival_us = now_wall_us - age_ns / 1000;
        }
      }
    }
    frame.capture_time_us = arrival_us;
    if (has_ntp.load() && GST_CLOCK_TIME_IS_VALID(pts)) {
      // The camera's clock, as its RTCP sender reports map RTP time to NTP. Trusted only while
      // it agrees with arrival time: many cameras run with an unset or drifting clock.
      const int64_t camera_us = (static_cast<int64_t>(pts) + ntp_offset_ns.load()) / 1000;
      const int64_t offset_us = camera_us - arrival_us;
      counters->camera_clock_offset_us.store(offset_us, std::memory_order_relaxed);
      const bool plausible = std::abs(offset_us) <= kMaxCameraClockOffsetUs;
      counters->rtcp_sync.store(plausible, std::memory_order_relaxed);
      if (plausible) frame.capture_time_us = camera_us;
    }
  }
  frame.stream_time_us = stream_ns / 1000;
  frame.index = index++;
  frame.source_width = counters->width.load();
  frame.source_height = counters->height.load();

  {
    std::lock_guard<std::mutex> lock(deliver_mu);
    if (!open || !sink) return;
    in_sink = true;
  }
  sink_since_us.store(clock->NowMonotonicUs());
  try {
    sink(std::move(frame));
    counters->frames_delivered.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
    counters->callback_exceptions.fetch_add(1, std::memory_order_relaxed);
  }
  sink_since_us.store(0);
  {
    std::lock_guard<std::mutex> lock(deliver_mu);
    in_sink = false;
  }
  deliver_cv.notify_all();
  Touch();  // a consumer that takes time is not a stalled camera
}

namespace {

// Adds decoder elements for `codec` between `src_pad` and the tail. Streaming thread.
bool LinkDecodeChain(IngestPipeline::Context* ctx, const CtxRef& ref, GstPad* src_pad,
                     const std::vector<const char*>& factories, const char* codec) {
  std::vector<GstElement*> chain;
  for (const char* f : factories) {
    GstElement* e = gst_element_factory_make(f, nullptr);  // floating
    if (!e) {
      for (GstElement* c : chain) gst_bin_remove(GST_BIN(ctx->pipeline), c);
      return false;
    }
    gst_bin_add(GST_BIN(ctx->pipeline), e);  // sinks the floating ref: the bin owns it
    chain.push_back(e);
  }
  GstElement* decoder = chain.back();
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(decoder), "output-corrupt")) {
    g_object_set(decoder, "output-corrupt", FALSE, nullptr);  // no smeared frames after loss
  }
  // One decoding thread per camera: with many cameras per node, frame threading only adds
  // synchronisation cost and a frame of latency per thread (libav's default is one per core).
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(decoder), "max-threads")) {
    g_object_set(decoder, "max-threads", 1, nullptr);
  }
  for (size_t i = 0; i + 1 < chain.size(); ++i) gst_element_link(chain[i], chain[i + 1]);
  gst_element_link(decoder, ctx->tail);

  ObjectPtr<GstPad> in(gst_element_get_static_pad(chain.front(), "sink"));
  gst_pad_add_probe(in.get(), GST_PAD_PROBE_TYPE_BUFFER, OnEncodedBuffer, NewRef(ref), DeleteRef);
  ObjectPtr<GstPad> out(gst_element_get_static_pad(decoder, "src"));
  gst_pad_add_probe(out.get(), GST_PAD_PROBE_TYPE_BUFFER, OnDecodedBuffer, NewRef(ref), DeleteRef);
  gst_pad_add_probe(out.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, OnDecodedEvent, NewRef(ref),
                    DeleteRef);
  {
    std::lock_guard<std::mutex> lock(ctx->counters->mu);
    ctx->counters->codec = codec;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) gst_element_sync_state_with_parent(*it);
  return gst_pad_link(src_pad, in.get()) == GST_PAD_LINK_OK;
}

void LinkToFakesink(IngestPipeline::Context* ctx, GstPad* pad) {
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);  // floating
  if (!sink) return;
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(ctx->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  ObjectPtr<GstPad> sink_pad(gst_element_get_static_pad(sink, "sink"));
  gst_pad_link(pad, sink_pad.get());
}

void PostUnsupported(IngestPipeline::Context* ctx, GstElement* from, const std::string& what) {
  PostApplication(from, gst_structure_new(kUnsupportedMessage, "codec", G_TYPE_STRING,
                                          what.c_str(), nullptr));
}

// rtspsrc: only set up the video stream(s).
gboolean OnSelectStream(GstElement*, guint, GstCaps* caps, gpointer) noexcept {
  const GstStructure* s = caps ? gst_caps_get_structure(caps, 0) : nullptr;
  const char* media = s ? gst_structure_get_string(s, "media") : nullptr;
  return media && std::strcmp(media, "video") == 0;
}

void OnRtspPadAdded(GstElement* src, GstPad* pad, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  try {
    CapsPtr caps(gst_pad_get_current_caps(pad));
    if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
    const GstStructure* s = caps ? gst_caps_get_structure(caps.get(), 0) : nullptr;
    const char* media = s ? gst_structure_get_string(s, "media") : nullptr;
    const char* enc = s ? gst_structure_get_string(s, "encoding-name") : nullptr;
    if (!media || std::strcmp(media, "video") != 0 || ctx->video_linked.exchange(true)) {
      LinkToFakesink(ctx, pad);  // a second video stream, or not video: ignored
      return;
    }
    const std::string encoding = enc ? enc : "unknown";
    bool ok = false;
    if (encoding == "H264") {
      ok = LinkDecodeChain(ctx, *static_cast<CtxRef*>(user), pad,
                           {"rtph264depay", "h264parse", "avdec_h264"}, "h264");
    } else if (encoding == "H265") {
      ok = LinkDecodeChain(ctx, *static_cast<CtxRef*>(user), pad,
                           {"rtph265depay", "h265parse", "avdec_h265"}, "h265");
    }
    if (!ok) {
      PostUnsupported(ctx, src, "rtp encoding " + encoding);
      LinkToFakesink(ctx, pad);
    }
  } catch (...) {
  }
}

// EOS on a non-video stream of a file without video: the appsink would never see EOS.
GstPadProbeReturn OnOtherStreamEvent(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (event && GST_EVENT_TYPE(event) == GST_EVENT_EOS && !ctx->video_linked.load()) {
    if (GstElement* parent = gst_pad_get_parent_element(pad)) {  // transfer full
      try {
        PostUnsupported(ctx, parent, "no video stream");
      } catch (...) {
      }
      gst_object_unref(parent);
    }
  }
  return GST_PAD_PROBE_OK;
}

void OnParsebinPadAdded(GstElement* parsebin, GstPad* pad, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  try {
    CapsPtr caps(gst_pad_get_current_caps(pad));
    if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
    const GstStructure* s = caps ? gst_caps_get_structure(caps.get(), 0) : nullptr;
    const std::string name = s ? gst_structure_get_name(s) : "unknown";
    if (name.rfind("video/", 0) != 0 && name.rfind("image/", 0) != 0) {
      LinkToFakesink(ctx, pad);  // audio, subtitles: not ours
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, OnOtherStreamEvent,
                        NewRef(*static_cast<CtxRef*>(user)), DeleteRef);
      return;
    }
    if (ctx->video_linked.exchange(true)) {
      LinkToFakesink(ctx, pad);
      return;
    }
    bool ok = false;
    if (name == "video/x-h264") {
      ok = LinkDecodeChain(ctx, *static_cast<CtxRef*>(user), pad, {"avdec_h264"}, "h264");
    } else if (name == "video/x-h265") {
      ok = LinkDecodeChain(ctx, *static_cast<CtxRef*>(user), pad, {"avdec_h265"}, "h265");
    }
    if (!ok) {
      PostUnsupported(ctx, parsebin, name);
      LinkToFakesink(ctx, pad);
    }
  } catch (...) {
  }
}

// All streams are known: without a video stream the appsink would never see EOS.
void OnNoMorePads(GstElement* element, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  if (!ctx->video_linked.load()) {
    try {
      PostUnsupported(ctx, element, "no video stream");
    } catch (...) {
    }
  }
}

GstElement* AddElement(GstElement* pipeline, const char* factory, const char* name) {
  GstElement* e = gst_element_factory_make(factory, name);  // floating
  if (e) gst_bin_add(GST_BIN(pipeline), e);                 // the bin sinks and owns it
  return e;
}

std::string LastLine(const char* text) {
  if (!text) return {};
  std::string s(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

}  // namespace

Result<std::unique_ptr<IngestPipeline>> IngestPipeline::Build(
    const SourceOptions& options, const Redactor& redactor, FrameSink sink,
    std::shared_ptr<SessionCounters> counters, Clock* clock) {
  auto ctx = std::make_shared<Context>(options, redactor);
  ctx->is_file = options.url.rfind("file://", 0) == 0;
  ctx->clock = clock;
  ctx->counters = std::move(counters);
  ctx->sink = std::move(sink);
  ctx->start_wall_us = clock->NowWallUs();
  ctx->counters->rtcp_sync.store(false);
  ctx->counters->camera_clock_offset_us.store(0);
  ctx->TouchAll();

  std::unique_ptr<IngestPipeline> p(new IngestPipeline());
  p->ctx_ = ctx;
  GstElement* pipeline = gst_pipeline_new(nullptr);  // floating
  gst_object_ref_sink(pipeline);                     // now transfer full, owned by p
  p->pipeline_ = pipeline;
  ctx->pipeline = pipeline;

  auto missing = [&](const char* what) {
    return Status::Internal(std::string("cannot create gstreamer element ") + what +
                            " (plugin missing?)");
  };

  // Tail: scale before converting colour (the rate limit is a probe on the decoder output).
  GstElement* prev = nullptr;
  auto chain = [&](GstElement* e) {
    if (prev) gst_element_link(prev, e);
    else ctx->tail = e;
    prev = e;
  };
  GstElement* scale = AddElement(pipeline, "videoscale", nullptr);
  GstElement* scale_caps = AddElement(pipeline, "capsfilter", nullptr);
  GstElement* convert = AddElement(pipeline, "videoconvert", nullptr);
  GstElement* format_caps = AddElement(pipeline, "capsfilter", nullptr);
  GstElement* appsink = AddElement(pipeline, "appsink", nullptr);
  if (!scale || !scale_caps || !convert || !format_caps || !appsink) {
    return missing("videoscale/videoconvert/appsink");
  }
  g_object_set(scale, "add-borders", FALSE, nullptr);
  {
    CapsPtr caps(gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT,
                                     std::max(2, options.detect_width / 2 * 2), nullptr));
    g_object_set(scale_caps, "caps", caps.get(), nullptr);
  }
  ctx->scale_caps = scale_caps;
  {
    CapsPtr caps(gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING,
                                     options.color ? "BGR" : "GRAY8", nullptr));
    g_object_set(format_caps, "caps", caps.get(), nullptr);
  }
  chain(scale);
  chain(scale_caps);
  chain(convert);
  chain(format_caps);
  chain(appsink);

  const bool fast_file = ctx->is_file && !options.file_realtime;
  g_object_set(appsink, "emit-signals", FALSE, "sync", ctx->is_file && options.file_realtime,
               "drop", !fast_file, "max-buffers", fast_file ? 4u : 1u, "enable-last-sample",
               FALSE, nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = OnNewSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &callbacks, NewRef(ctx), DeleteRef);

  if (ctx->is_file) {
    GCharPtr location(gst_uri_get_location(options.url.c_str()));
    if (!location) return Status::InvalidArgument("bad file url: " + redactor(options.url));
    GstElement* src = AddElement(pipeline, "filesrc", nullptr);
    GstElement* parse = AddElement(pipeline, "parsebin", nullptr);
    if (!src || !parse) return missing("filesrc/parsebin");
    g_object_set(src, "location", location.get(), nullptr);
    gst_element_link(src, parse);
    g_signal_connect_data(parse, "pad-added", G_CALLBACK(OnParsebinPadAdded), NewRef(ctx),
                          DeleteRefClosure, GConnectFlags(0));
  } else {
    GstElement* src = AddElement(pipeline, "rtspsrc", nullptr);
    if (!src) return missing("rtspsrc");
    g_object_set(src, "location", options.url.c_str(), "latency",
                 static_cast<guint>(std::max(0, options.latency_ms)), "tcp-timeout",
                 static_cast<guint64>(std::max(1, options.connect_timeout_ms)) * 1000,
                 "add-reference-timestamp-meta", TRUE, nullptr);
    gst_util_set_object_arg(G_OBJECT(src), "protocols", options.rtsp_tcp ? "tcp" : "udp");
    if (!options.username.empty()) g_object_set(src, "user-id", options.username.c_str(), nullptr);
    if (!options.password.empty()) g_object_set(src, "user-pw", options.password.c_str(), nullptr);
    g_signal_connect_data(src, "select-stream", G_CALLBACK(OnSelectStream), nullptr, nullptr,
                          GConnectFlags(0));
    g_signal_connect_data(src, "pad-added", G_CALLBACK(OnRtspPadAdded), NewRef(ctx),
                          DeleteRefClosure, GConnectFlags(0));
    g_signal_connect_data(src, "no-more-pads", G_CALLBACK(OnNoMorePads), NewRef(ctx),
                          DeleteRefClosure, GConnectFlags(0));
    g_signal_connect_data(src, "new-manager", G_CALLBACK(OnNewManager), NewRef(ctx),
                          DeleteRefClosure, GConnectFlags(0));
  }
  p->bus_ = gst_element_get_bus(pipeline);  // transfer full
  return p;
}

IngestPipeline::~IngestPipeline() { TearDown(3000); }

void IngestPipeline::Play() {
  if (pipeline_) gst_element_set_state(GST_ELEMENT(pipeline_), GST_STATE_PLAYING);
}

int64_t IngestPipeline::last_progress_us() const { return ctx_->last_progress_us.load(); }
int64_t IngestPipeline::last_network_us() const { return ctx_->last_network_us.load(); }
int64_t IngestPipeline::last_input_us() const { return ctx_->last_input_us.load(); }
int64_t IngestPipeline::sink_busy_us() const {
  const int64_t since = ctx_->sink_since_us.load();
  return since ? std::max<int64_t>(1, ctx_->clock->NowMonotonicUs() - since) : 0;
}
int PendingTeardowns() { return Reaper::Get().Pending(); }
uint64_t IngestPipeline::frames_decoded() const { return ctx_->decoded.load(); }

PipelineEvent IngestPipeline::Poll(int timeout_ms) {
  PipelineEvent ev;
  if (!bus_) return ev;
  const auto types = GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING |
                                    GST_MESSAGE_APPLICATION);
  MessagePtr msg(gst_bus_timed_pop_filtered(static_cast<GstBus*>(bus_),
                                            GstClockTime(timeout_ms) * GST_MSECOND, types));
  if (!msg) return ev;
  switch (GST_MESSAGE_TYPE(msg.get())) {
    case GST_MESSAGE_ERROR: {
      GError* raw = nullptr;
      gchar* raw_debug = nullptr;
      gst_message_parse_error(msg.get(), &raw, &raw_debug);
      ErrorPtr err(raw);
      GCharPtr debug(raw_debug);
      ev.kind = PipelineEvent::Kind::kError;
      ev.reason = ClassifyGstError(err.get(), debug ? debug.get() : "", !ctx_->is_file);
      std::string text = err ? err->message : "unknown error";
      const std::string last = LastLine(debug.get());
      if (!last.empty()) text += " (" + last + ")";
      if (ev.reason == StateReason::kRefused) {
        std::string diag;
        ev.reason = DiagnoseConnect(ctx_->options.url, std::min(3000, ctx_->options.connect_timeout_ms),
                                    &diag);
        if (!diag.empty()) text = diag + ": " + text;
      }
      ev.detail = ctx_->redactor(std::move(text));
      break;
    }
    case GST_MESSAGE_EOS:
      ev.kind = PipelineEvent::Kind::kEndOfStream;
      ev.reason = StateReason::kEndOfStream;
      ev.detail = "end of stream";
      break;
    case GST_MESSAGE_WARNING: {
      ctx_->counters->warnings.fetch_add(1, std::memory_order_relaxed);
      GError* raw = nullptr;
      gchar* raw_debug = nullptr;
      gst_message_parse_warning(msg.get(), &raw, &raw_debug);
      ErrorPtr err(raw);
      GCharPtr debug(raw_debug);
      GetLogger("ingest")->debug("[cam {}] gstreamer warning: {}", ctx_->options.camera_id,
                                 ctx_->redactor(err ? err->message : "?"));
      break;
    }
    case GST_MESSAGE_APPLICATION: {
      const GstStructure* s = gst_message_get_structure(msg.get());
      if (gst_structure_has_name(s, kFirstFrameMessage)) {
        ev.kind = PipelineEvent::Kind::kFirstFrame;
        ev.reason = StateReason::kConnected;
      } else if (gst_structure_has_name(s, kStreamChangedMessage)) {
        ev.kind = PipelineEvent::Kind::kStreamChanged;
        ev.reason = StateReason::kStreamChanged;
        gst_structure_get_int(s, "width", &ev.previous_width);
        gst_structure_get_int(s, "height", &ev.previous_height);
      } else if (gst_structure_has_name(s, kUnsupportedMessage)) {
        ev.kind = PipelineEvent::Kind::kError;
        ev.reason = StateReason::kUnsupportedCodec;
        const char* codec = gst_structure_get_string(s, "codec");
        ev.detail = std::string("unsupported stream: ") + (codec ? codec : "?") +
                    " (need H.264 or H.265)";
      }
      break;
    }
    default:
      break;
  }
  return ev;
}

bool IngestPipeline::Rewind() {
  if (!pipeline_) return false;
  ctx_->loop_base_ns.fetch_add(ctx_->pass_end_ns.exchange(0));
  return gst_element_seek_simple(GST_ELEMENT(pipeline_), GST_FORMAT_TIME,
                                 GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT), 0);
}

bool IngestPipeline::TearDown(int deadline_ms) {
  if (!ctx_ || torn_down_) return true;
  torn_down_ = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  bool in_time = true;
  {
    // Close the gate; a call in progress (a consumer that blocks) gets until the deadline.
    std::unique_lock<std::mutex> lock(ctx_->deliver_mu);
    ctx_->open = false;
    in_time = ctx_->deliver_cv.wait_until(lock, deadline, [&] { return !ctx_->in_sink; });
  }
  if (pipeline_) {
    auto* pipeline = static_cast<GstElement*>(pipeline_);
    pipeline_ = nullptr;
    std::promise<void> done;
    std::shared_future<void> finished = done.get_future().share();
    // set_state(NULL) can block on a dead camera's TEARDOWN or on a streaming thread stuck in
    // a callback: do it on a helper thread.
    std::thread t([pipeline, done = std::move(done)]() mutable {
      gst_element_set_state(pipeline, GST_STATE_NULL);  // NULL before the last unref
      gst_object_unref(pipeline);
      done.set_value();
    });
    if (in_time && finished.wait_until(deadline) == std::future_status::ready) {
      t.join();
    } else {
      in_time = false;
      GetLogger("ingest")->warn("[cam {}] pipeline teardown exceeded {} ms, left to reaper",
                                ctx_->options.camera_id, deadline_ms);
      Reaper::Get().Adopt(std::move(t), finished);
    }
  }
  if (bus_) {
    gst_bus_set_flushing(static_cast<GstBus*>(bus_), TRUE);
    gst_object_unref(bus_);
    bus_ = nullptr;
  }
  return in_time;
}

StateReason ClassifyGstError(const GError* error, std::string_view debug, bool rtsp) {
  if (!error) return StateReason::kError;
  const std::string_view message = error->message ? error->message : "";
  auto contains = [](std::string_view hay, std::string_view needle) {
    return hay.find(needle) != std::string_view::npos;
  };
  if (error->domain == GST_RESOURCE_ERROR) {
    switch (error->code) {
      case GST_RESOURCE_ERROR_NOT_FOUND:
        return StateReason::kNotFound;
      case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
        return StateReason::kAuthFailed;
      case GST_RESOURCE_ERROR_OPEN_READ_WRITE:
        // rtspsrc: "Failed to connect" covers refused, unreachable and unresolvable.
        if (rtsp && contains(debug, "Failed to connect")) return StateReason::kRefused;
        if (rtsp && contains(debug, "Connection refused")) return StateReason::kRefused;
        return StateReason::kError;
      case GST_RESOURCE_ERROR_READ:
      case GST_RESOURCE_ERROR_WRITE:
      case GST_RESOURCE_ERROR_OPEN_READ:
        if (contains(debug, "Timeout") || contains(debug, "timeout") ||
            contains(message, "timeout")) {
          return StateReason::kTimeout;
        }
        if (contains(debug, "Connection refused")) return StateReason::kRefused;
        if (contains(debug, "No such file") || contains(message, "No such file")) {
          return StateReason::kNotFound;
        }
        return StateReason::kError;
      default:
        return StateReason::kError;
    }
  }
  if (error->domain == GST_STREAM_ERROR) {
    switch (error->code) {
      case GST_STREAM_ERROR_DECODE:
        return StateReason::kDecodeError;
      case GST_STREAM_ERROR_CODEC_NOT_FOUND:
      case GST_STREAM_ERROR_TYPE_NOT_FOUND:
      case GST_STREAM_ERROR_WRONG_TYPE:
        return StateReason::kUnsupportedCodec;
      default:
        if (contains(debug, "not-linked")) return StateReason::kUnsupportedCodec;
        return StateReason::kError;
    }
  }
  if (error->domain == GST_CORE_ERROR && error->code == GST_CORE_ERROR_MISSING_PLUGIN) {
    return StateReason::kUnsupportedCodec;
  }
  return StateReason::kError;
}

namespace {

// scheme://[userinfo@]host[:port]/... -> host, port (default 554, or 322 for rtsps).
void SplitHostPort(const std::string& url, std::string* host, std::string* port) {
  const size_t scheme_end = url.find("://");
  const std::string scheme = url.substr(0, scheme_end);
  const size_t auth_start = scheme_end + 3;
  const size_t path_start = url.find('/', auth_start);
  std::string hostport = url.substr(
      auth_start, path_start == std::string::npos ? std::string::npos : path_start - auth_start);
  if (const size_t at = hostport.rfind('@'); at != std::string::npos) hostport.erase(0, at + 1);
  *host = hostport;
  *port = scheme == "rtsps" ? "322" : "554";
  if (!hostport.empty() && hostport.front() == '[') {  // [v6]:port
    const size_t close = hostport.find(']');
    *host = hostport.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < hostport.size() && hostport[close + 1] == ':') {
      *port = hostport.substr(close + 2);
    }
  } else if (const size_t colon = hostport.rfind(':'); colon != std::string::npos) {
    *host = hostport.substr(0, colon);
    *port = hostport.substr(colon + 1);
  }
}

// Non-blocking connect within `timeout_ms`: 0 if accepted, else the errno (ETIMEDOUT, ...),
// or -1 if the host does not resolve.
int ConnectErrno(const std::string& host, const std::string& port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) return -1;
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> holder(res, freeaddrinfo);
  const int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = 0;
  if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      if (poll(&pfd, 1, timeout_ms) == 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
  }
  close(fd);
  return err;
}

}  // namespace

bool ProbeTcp(const std::string& url, int timeout_ms) {
  if (url.find("://") == std::string::npos) return false;
  std::string host, port;
  SplitHostPort(url, &host, &port);
  return ConnectErrno(host, port, timeout_ms) == 0;
}

StateReason DiagnoseConnect(const std::string& url, int timeout_ms, std::string* detail) {
  // scheme://[userinfo@]host[:port]/...
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return StateReason::kError;
  const std::string scheme = url.substr(0, scheme_end);
  const size_t auth_start = scheme_end + 3;
  const size_t path_start = url.find('/', auth_start);
  std::string hostport = url.substr(
      auth_start, path_start == std::string::npos ? std::string::npos : path_start - auth_start);
  if (const size_t at = hostport.rfind('@'); at != std::string::npos) hostport.erase(0, at + 1);
  std::string host = hostport;
  std::string port = scheme == "rtsps" ? "322" : "554";
  if (!hostport.empty() && hostport.front() == '[') {  // [v6]:port
    const size_t close = hostport.find(']');
    host = hostport.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < hostport.size() && hostport[close + 1] == ':') {
      port = hostport.substr(close + 2);
    }
  } else if (const size_t colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    *detail = "cannot resolve host " + host;
    return StateReason::kError;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> holder(res, freeaddrinfo);
  const int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *detail = "connection failed";
    return StateReason::kError;
  }
  int err = 0;
  if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      const int n = poll(&pfd, 1, timeout_ms);
      if (n == 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
  }
  close(fd);
  switch (err) {
    case ECONNREFUSED:
      *detail = "connection refused by " + host + ":" + port;
      return StateReason::kRefused;
    case ETIMEDOUT:
      *detail = "no answer from " + host + ":" + port;
      return StateReason::kTimeout;
    case 0:
      *detail = "connected to " + host + ":" + port + " but rtsp failed";
      return StateReason::kError;
    default:
      *detail = std::string(std::strerror(err)) + " (" + host + ":" + port + ")";
      return err == EHOSTUNREACH || err == ENETUNREACH ? StateReason::kTimeout : StateReason::kError;
  }
}

}  // namespace skynet::ingest
