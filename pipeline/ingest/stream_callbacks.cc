#include "pipeline/ingest/stream_callbacks.h"

#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "pipeline/ingest/bus_classifier.h"
#include "pipeline/ingest/gst_handles.h"
#include "pipeline/ingest/nal_units.h"
#include "pipeline/ingest/pipeline_context.h"

namespace skynet::ingest {
namespace {

// NTP (1900) to Unix (1970) epoch, in nanoseconds.
constexpr int64_t kNtpToUnixNs = 2'208'988'800LL * 1'000'000'000LL;
// Beyond this difference from arrival time the camera's RTCP clock is not believed.
constexpr int64_t kMaxCameraClockOffsetUs = 5'000'000;

using Context = IngestPipeline::Context;

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

void OnNewJitterbuffer(GstElement*, GstElement* jitterbuffer, guint, guint,
                       gpointer user) noexcept {
  if (GstPad* pad = gst_element_get_static_pad(jitterbuffer, "sink")) {  // transfer full
    gst_pad_add_probe(pad,
                      GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      OnNetworkData, NewRef(Ref(user)), DeleteRef);
    gst_object_unref(pad);
  }
}

// rtpjitterbuffer adds timestamp/x-ntp once an RTCP SR mapped RTP time to sender NTP.
void NoteNtpReference(Context* ctx, GstBuffer* buf) {
  static GstCaps* ntp_caps = gst_caps_new_empty_simple("timestamp/x-ntp");  // never freed
  if (GstReferenceTimestampMeta* meta = gst_buffer_get_reference_timestamp_meta(buf, ntp_caps)) {
    const int64_t unix_ns = static_cast<int64_t>(meta->timestamp) - kNtpToUnixNs;
    if (unix_ns > 0) {
      ctx->ntp_offset_ns.store(unix_ns - static_cast<int64_t>(GST_BUFFER_PTS(buf)));
      ctx->has_ntp.store(true);
    }
  }
}

// Files: the end of this pass in stream time, where the next pass of a loop starts.
void NotePassEnd(Context* ctx, GstBuffer* buf) {
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

// Posts an application message from the element that owns `pad`.
void PostFromParentOf(GstPad* pad, GstStructure* s /* transfer full */) {
  if (GstElement* parent = gst_pad_get_parent_element(pad)) {  // transfer full
    PostApplication(parent, s);
    gst_object_unref(parent);
  } else {
    gst_structure_free(s);
  }
}

void OnDecodedSegment(Context* ctx, GstEvent* event) {
  const GstSegment* segment = nullptr;
  gst_event_parse_segment(event, &segment);  // borrowed
  if (segment && segment->format == GST_FORMAT_TIME) {
    std::lock_guard<std::mutex> lock(ctx->segment_mu);
    gst_segment_copy_into(segment, &ctx->segment);
  }
  ctx->limiter.Reset();  // new timeline (seek, loop)
}

// The detect size for a source of `vi`: detect_width wide, the display aspect, both even.
CapsPtr ScaledCaps(const SourceOptions& options, const GstVideoInfo& vi) {
  const double par = (vi.par_n > 0 && vi.par_d > 0) ? double(vi.par_n) / vi.par_d : 1.0;
  const int w = std::max(2, options.detect_width / 2 * 2);
  const double display_w = vi.width * par;
  const int h = std::max(2, static_cast<int>(std::lround(w * vi.height / display_w / 2.0)) * 2);
  return CapsPtr(gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, w, "height", G_TYPE_INT, h,
                                     "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr));
}

// On the decoder's caps: remember the source size and fix the scaled size.
void OnDecodedCaps(Context* ctx, GstPad* pad, GstEvent* event) {
  GstCaps* caps = nullptr;
  gst_event_parse_caps(event, &caps);  // borrowed
  GstVideoInfo vi;
  if (!caps || !gst_video_info_from_caps(&vi, caps) || vi.width <= 0 || vi.height <= 0) return;
  const int old_w = ctx->counters->width.exchange(vi.width);
  const int old_h = ctx->counters->height.exchange(vi.height);
  if (ctx->caps_seen && (old_w != vi.width || old_h != vi.height)) {
    PostFromParentOf(pad, gst_structure_new(kStreamChangedMessage, "width", G_TYPE_INT, old_w,
                                            "height", G_TYPE_INT, old_h, nullptr));
  }
  ctx->caps_seen = true;
  g_object_set(ctx->scale_caps, "caps", ScaledCaps(ctx->options, vi).get(), nullptr);
  if (ctx->options.keep_source_frames) {
    std::lock_guard<std::mutex> lock(ctx->source_mu);
    ctx->source_info = vi;
    ctx->source_info_ok = true;
  }
}

// A read-only mapping of a decoded buffer, released (unmapped, unreferenced) with the last
// reference to the SourceImage that views it.
struct MappedSource {
  GstVideoFrame vframe;
  GstBuffer* buffer;  // transfer full
};

// Wraps the decoded `buffer` (transfer full) as a SourceImage without copying; null (and the
// buffer released) for a format it does not wrap or a buffer that cannot be mapped.
std::shared_ptr<const SourceImage> WrapSource(GstBuffer* buffer, const GstVideoInfo& vi) {
  auto mapped = std::make_unique<MappedSource>();
  mapped->buffer = buffer;
  SourceImage::Format format;
  switch (GST_VIDEO_INFO_FORMAT(&vi)) {
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_YV12:
      format = SourceImage::Format::kI420;
      break;
    case GST_VIDEO_FORMAT_NV12:
      format = SourceImage::Format::kNV12;
      break;
    case GST_VIDEO_FORMAT_GRAY8:
      format = SourceImage::Format::kGray8;
      break;
    default:
      gst_buffer_unref(buffer);
      return nullptr;
  }
  if (!gst_video_frame_map(&mapped->vframe, &vi, buffer, GST_MAP_READ)) {
    gst_buffer_unref(buffer);
    return nullptr;
  }
  auto image = std::make_unique<SourceImage>();
  image->format = format;
  image->width = vi.width;
  image->height = vi.height;
  GstVideoFrame* f = &mapped->vframe;
  auto plane = [f](int i, int rows, int cols, int type) {
    return cv::Mat(rows, cols, type, GST_VIDEO_FRAME_PLANE_DATA(f, i),
                   GST_VIDEO_FRAME_PLANE_STRIDE(f, i));
  };
  const int w = vi.width, h = vi.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  image->planes[0] = plane(0, h, w, CV_8UC1);
  if (format == SourceImage::Format::kI420) {
    const bool yv12 = GST_VIDEO_INFO_FORMAT(&vi) == GST_VIDEO_FORMAT_YV12;
    image->planes[yv12 ? 2 : 1] = plane(1, ch, cw, CV_8UC1);
    image->planes[yv12 ? 1 : 2] = plane(2, ch, cw, CV_8UC1);
  } else if (format == SourceImage::Format::kNV12) {
    image->planes[1] = plane(1, ch, cw, CV_8UC2);
  }
  MappedSource* m = mapped.release();
  return std::shared_ptr<const SourceImage>(image.release(), [m](const SourceImage* p) {
    delete p;
    gst_video_frame_unmap(&m->vframe);
    gst_buffer_unref(m->buffer);
    delete m;
  });
}

// The decoded buffer of the sample's frame (same PTS), taken from the context; null if none.
std::shared_ptr<const SourceImage> TakeSource(Context* ctx, GstSample* sample) {
  GstBuffer* buffer = nullptr;
  GstVideoInfo vi;
  {
    std::lock_guard<std::mutex> lock(ctx->source_mu);
    std::swap(buffer, ctx->source_buffer);
    if (!buffer || !ctx->source_info_ok) {
      if (buffer) gst_buffer_unref(buffer);
      return nullptr;
    }
    vi = ctx->source_info;
  }
  GstBuffer* scaled = gst_sample_get_buffer(sample);  // borrowed
  if (!scaled || GST_BUFFER_PTS(scaled) != GST_BUFFER_PTS(buffer)) {
    gst_buffer_unref(buffer);
    return nullptr;
  }
  return WrapSource(buffer, vi);
}

// Copies the sample's pixels (the sample goes back to GStreamer). False if it cannot be mapped.
bool CopyPixels(GstSample* sample, bool color, cv::Mat* image) {
  GstBuffer* buf = gst_sample_get_buffer(sample);  // borrowed
  GstCaps* caps = gst_sample_get_caps(sample);     // borrowed
  GstVideoInfo vi;
  if (!buf || !caps || !gst_video_info_from_caps(&vi, caps)) return false;
  GstVideoFrame vframe;
  if (!gst_video_frame_map(&vframe, &vi, buf, GST_MAP_READ)) return false;
  cv::Mat view(vi.height, vi.width, color ? CV_8UC3 : CV_8UC1,
               GST_VIDEO_FRAME_PLANE_DATA(&vframe, 0), GST_VIDEO_FRAME_PLANE_STRIDE(&vframe, 0));
  *image = view.clone();  // owns its pixels
  gst_video_frame_unmap(&vframe);
  return true;
}

// `pts` in stream time (the PTS itself where the segment does not map it); 0 without a PTS.
int64_t StreamTimeNs(const GstSegment* segment, GstClockTime pts) {
  if (!GST_CLOCK_TIME_IS_VALID(pts)) return 0;
  const guint64 st =
      segment ? gst_segment_to_stream_time(segment, GST_FORMAT_TIME, pts) : GST_CLOCK_TIME_NONE;
  return static_cast<int64_t>(GST_CLOCK_TIME_IS_VALID(st) ? st : pts);
}

// Arrival: rtpjitterbuffer stamps PTS with the (skew-smoothed) arrival running time, so the
// age of the frame is clock_now - (base_time + running_time(pts)).
int64_t ArrivalUs(const Context& ctx, const GstSegment* segment, GstClockTime pts,
                  int64_t now_wall_us) {
  if (!GST_CLOCK_TIME_IS_VALID(pts) || !segment) return now_wall_us;
  const guint64 rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME, pts);
  GstClock* gclock = gst_element_get_clock(ctx.pipeline);  // transfer full
  if (!gclock) return now_wall_us;
  const int64_t age_ns = static_cast<int64_t>(gst_clock_get_time(gclock)) -
                         static_cast<int64_t>(gst_element_get_base_time(ctx.pipeline) + rt);
  gst_object_unref(gclock);
  if (GST_CLOCK_TIME_IS_VALID(rt) && age_ns > 0 && age_ns < 10'000'000'000LL) {
    return now_wall_us - age_ns / 1000;
  }
  return now_wall_us;
}

// RTSP: the camera's clock, as its RTCP sender reports map RTP time to NTP, while it agrees
// with arrival time (many cameras run with an unset or drifting clock); else arrival time.
int64_t LiveCaptureTimeUs(Context& ctx, const GstSegment* segment, GstClockTime pts) {
  const int64_t arrival_us = ArrivalUs(ctx, segment, pts, ctx.clock->NowWallUs());
  if (!ctx.has_ntp.load() || !GST_CLOCK_TIME_IS_VALID(pts)) return arrival_us;
  const int64_t camera_us = (static_cast<int64_t>(pts) + ctx.ntp_offset_ns.load()) / 1000;
  const int64_t offset_us = camera_us - arrival_us;
  ctx.counters->camera_clock_offset_us.store(offset_us, std::memory_order_relaxed);
  const bool plausible = std::abs(offset_us) <= kMaxCameraClockOffsetUs;
  ctx.counters->rtcp_sync.store(plausible, std::memory_order_relaxed);
  return plausible ? camera_us : arrival_us;
}

// Hands `frame` to the sink unless the gate is closed; TearDown waits for a call in progress.
void Deliver(Context& ctx, Frame&& frame) {
  {
    std::lock_guard<std::mutex> lock(ctx.deliver_mu);
    if (!ctx.open || !ctx.sink) return;
    ctx.in_sink = true;
  }
  ctx.sink_since_us.store(ctx.clock->NowMonotonicUs());
  try {
    ctx.sink(std::move(frame));
    ctx.counters->frames_delivered.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
    ctx.counters->callback_exceptions.fetch_add(1, std::memory_order_relaxed);
  }
  ctx.sink_since_us.store(0);
  {
    std::lock_guard<std::mutex> lock(ctx.deliver_mu);
    ctx.in_sink = false;
  }
  ctx.deliver_cv.notify_all();
  ctx.Touch();  // a consumer that takes time is not a stalled camera
}

}  // namespace

GstPadProbeReturn OnEncodedBuffer(GstPad*, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf) return GST_PAD_PROBE_OK;
  ctx->counters->bytes_in.fetch_add(gst_buffer_get_size(buf), std::memory_order_relaxed);
  ctx->counters->units_in.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = ctx->clock->NowMonotonicUs();
  ctx->last_input_us.store(now, std::memory_order_relaxed);
  if (ctx->is_file) ctx->last_network_us.store(now, std::memory_order_relaxed);
  if (!ctx->is_file && GST_BUFFER_PTS_IS_VALID(buf)) NoteNtpReference(ctx, buf);
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn OnDecoderInput(GstPad*, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf) return GST_PAD_PROBE_OK;
  if (!GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT)) {
    ctx->key_pending.store(true, std::memory_order_relaxed);
    return GST_PAD_PROBE_OK;
  }
  ctx->counters->units_skipped.fetch_add(1, std::memory_order_relaxed);
  if (!ctx->key_pending.load(std::memory_order_relaxed)) ctx->Touch();
  return GST_PAD_PROBE_DROP;
}

namespace {

// The NAL length size of `pad`'s H.264 or H.265 caps: from codec_data for avc and hvc1/hev1 (for
// H.265 also the highest temporal sub-layer, into *top_temporal_id), 0 for byte-stream; -1 if
// the caps do not say.
int NalLengthSize(GstPad* pad, bool hevc, int* top_temporal_id) {
  CapsPtr caps(gst_pad_get_current_caps(pad));
  const GstStructure* s = caps ? gst_caps_get_structure(caps.get(), 0) : nullptr;
  const char* format = s ? gst_structure_get_string(s, "stream-format") : nullptr;
  if (!format) return -1;
  if (std::string_view(format) == "byte-stream") return 0;
  const GValue* v = gst_structure_get_value(s, "codec_data");
  GstBuffer* codec_data = v && G_VALUE_HOLDS(v, GST_TYPE_BUFFER) ? gst_value_get_buffer(v) : nullptr;
  if (!codec_data) return -1;
  if (hevc) {
    GstMapInfo map;
    if (!gst_buffer_map(codec_data, &map, GST_MAP_READ)) return -1;
    int length_size = -1;
    if (!ParseHevcConfig(map.data, map.size, &length_size, top_temporal_id)) length_size = -1;
    gst_buffer_unmap(codec_data, &map);
    return length_size;
  }
  guint8 b4 = 0;
  if (gst_buffer_extract(codec_data, 4, &b4, 1) != 1) return -1;
  return (b4 & 0x3) + 1;
}

}  // namespace

namespace {

// The stream format of `caps` (video/x-h264 or video/x-h265): codec, codec_data, size.
std::shared_ptr<const EncodedFormat> FormatOf(const GstCaps* caps) {
  auto f = std::make_shared<EncodedFormat>();
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  f->codec = gst_structure_has_name(s, "video/x-h265") ? "h265" : "h264";
  const GValue* v = gst_structure_get_value(s, "codec_data");
  if (GstBuffer* cd = v && G_VALUE_HOLDS(v, GST_TYPE_BUFFER) ? gst_value_get_buffer(v) : nullptr) {
    f->codec_data.resize(gst_buffer_get_size(cd));
    gst_buffer_extract(cd, 0, f->codec_data.data(), f->codec_data.size());
  }
  gst_structure_get_int(s, "width", &f->width);
  gst_structure_get_int(s, "height", &f->height);
  return f;
}

}  // namespace

GstPadProbeReturn OnEncodedUnit(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (event && GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) {
      const GstSegment* segment = nullptr;
      gst_event_parse_segment(event, &segment);  // borrowed
      if (segment && segment->format == GST_FORMAT_TIME) {
        gst_segment_copy_into(segment, &ctx->encoded_segment);
      }
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf || !ctx->encoded_sink) return GST_PAD_PROBE_OK;
  try {
    CapsPtr caps(gst_pad_get_current_caps(pad));
    if (!caps) return GST_PAD_PROBE_OK;
    if (!ctx->encoded_format || !ctx->encoded_caps ||
        !gst_caps_is_equal(caps.get(), ctx->encoded_caps)) {
      ctx->encoded_format = FormatOf(caps.get());
      if (ctx->encoded_caps) gst_caps_unref(ctx->encoded_caps);
      ctx->encoded_caps = caps.release();
    }
    EncodedUnit unit;
    auto data = std::make_shared<std::string>(gst_buffer_get_size(buf), '\0');
    gst_buffer_extract(buf, 0, data->data(), data->size());
    unit.data = std::move(data);
    unit.format = ctx->encoded_format;
    unit.key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    if (GST_CLOCK_TIME_IS_VALID(pts)) unit.pts_ns = static_cast<int64_t>(pts);
    if (GST_BUFFER_DTS_IS_VALID(buf)) unit.dts_ns = static_cast<int64_t>(GST_BUFFER_DTS(buf));
    if (GST_BUFFER_DURATION_IS_VALID(buf)) {
      unit.duration_ns = static_cast<int64_t>(GST_BUFFER_DURATION(buf));
    }
    // The capture time as HandleSample gives the decoded frame.
    if (ctx->is_file) {
      const int64_t stream_ns = StreamTimeNs(&ctx->encoded_segment, pts) + ctx->loop_base_ns.load();
      unit.capture_us = ctx->start_wall_us + stream_ns / 1000;
    } else {
      unit.capture_us = LiveCaptureTimeUs(*ctx, &ctx->encoded_segment, pts);
    }
    ctx->encoded_sink(std::move(unit));
  } catch (...) {
    ctx->counters->callback_exceptions.fetch_add(1, std::memory_order_relaxed);
  }
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn OnDisposableInput(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf || !GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_OK;
  if (ctx->nal_length_size < 0) {
    ctx->nal_length_size = NalLengthSize(pad, ctx->hevc, &ctx->top_temporal_id);
  }
  if (ctx->nal_length_size < 0) return GST_PAD_PROBE_OK;
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return GST_PAD_PROBE_OK;
  const bool disposable =
      ctx->hevc ? H265AccessUnitIsDisposable(map.data, map.size, ctx->nal_length_size,
                                             &ctx->top_temporal_id)
                : H264AccessUnitIsDisposable(map.data, map.size, ctx->nal_length_size);
  gst_buffer_unmap(buf, &map);
  const bool admitted = ctx->disposable_limiter.Admit(static_cast<int64_t>(GST_BUFFER_PTS(buf)));
  if (!disposable || admitted) return GST_PAD_PROBE_OK;
  ctx->counters->units_skipped.fetch_add(1, std::memory_order_relaxed);
  return GST_PAD_PROBE_DROP;
}

void OnNewManager(GstElement*, GstElement* manager, gpointer user) noexcept {
  if (!g_signal_lookup("new-jitterbuffer", G_OBJECT_TYPE(manager))) return;
  g_signal_connect_data(manager, "new-jitterbuffer", G_CALLBACK(OnNewJitterbuffer),
                        NewRef(Ref(user)), DeleteRefClosure, GConnectFlags(0));
}

GstPadProbeReturn OnDecodedBuffer(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf) return GST_PAD_PROBE_OK;
  ctx->counters->frames_in.fetch_add(1, std::memory_order_relaxed);
  ctx->key_pending.store(false, std::memory_order_relaxed);
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_CORRUPTED)) {
    ctx->counters->corrupt_frames.fetch_add(1, std::memory_order_relaxed);
  }
  ctx->Touch();
  if (ctx->is_file && GST_BUFFER_PTS_IS_VALID(buf)) NotePassEnd(ctx, buf);
  if (ctx->decoded.fetch_add(1) == 0) {
    PostFromParentOf(pad, gst_structure_new_empty(kFirstFrameMessage));
  }
  // Drop-only rate limit before scaling and converting, so dropped frames cost nothing more.
  if (GST_BUFFER_PTS_IS_VALID(buf) &&
      !ctx->limiter.Admit(static_cast<int64_t>(GST_BUFFER_PTS(buf)))) {
    ctx->counters->frames_rate_limited.fetch_add(1, std::memory_order_relaxed);
    return GST_PAD_PROBE_DROP;
  }
  if (ctx->options.keep_source_frames) {
    // A reference, not a copy: the appsink callback of this same push takes it (TakeSource).
    GstBuffer* previous;
    {
      std::lock_guard<std::mutex> lock(ctx->source_mu);
      previous = ctx->source_buffer;
      ctx->source_buffer = gst_buffer_ref(buf);
    }
    if (previous) gst_buffer_unref(previous);
  }
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn OnDecodedEvent(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (!event) return GST_PAD_PROBE_OK;
  if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) {
    OnDecodedSegment(ctx, event);
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    OnDecodedCaps(ctx, pad, event);
  }
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

void IngestPipeline::Context::HandleSample(GstSample* sample) {
  Frame frame;
  if (!CopyPixels(sample, options.color, &frame.image)) return;
  const GstSegment* segment = gst_sample_get_segment(sample);  // borrowed
  const GstClockTime pts = GST_BUFFER_PTS(gst_sample_get_buffer(sample));
  int64_t stream_ns = StreamTimeNs(segment, pts);
  if (is_file) {
    stream_ns += loop_base_ns.load();
    frame.capture_time_us = start_wall_us + stream_ns / 1000;
  } else {
    frame.capture_time_us = LiveCaptureTimeUs(*this, segment, pts);
  }
  frame.stream_time_us = stream_ns / 1000;
  frame.index = index++;
  frame.source_width = counters->width.load();
  frame.source_height = counters->height.load();
  if (options.keep_source_frames) frame.source = TakeSource(this, sample);
  Deliver(*this, std::move(frame));
}

}  // namespace skynet::ingest
