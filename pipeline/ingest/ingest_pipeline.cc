#include "pipeline/ingest/ingest_pipeline.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <algorithm>
#include <utility>

#include "pipeline/core/logging.h"
#include "pipeline/ingest/bus_classifier.h"
#include "pipeline/ingest/gst_handles.h"
#include "pipeline/ingest/pad_linking.h"
#include "pipeline/ingest/pipeline_context.h"
#include "pipeline/ingest/stream_callbacks.h"
#include "pipeline/ingest/tcp_probe.h"
#include "pipeline/ingest/teardown_reaper.h"

namespace skynet::ingest {
namespace {

using Context = IngestPipeline::Context;

Status Missing(const char* what) {
  return Status::Internal(std::string("cannot create gstreamer element ") + what +
                          " (plugin missing?)");
}

GstElement* AddElement(GstElement* pipeline, const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);  // floating
  if (e) gst_bin_add(GST_BIN(pipeline), e);                    // the bin sinks and owns it
  return e;
}

void SetCaps(GstElement* capsfilter, GstCaps* caps /* transfer full */) {
  CapsPtr owned(caps);
  g_object_set(capsfilter, "caps", owned.get(), nullptr);
}

std::shared_ptr<Context> MakeContext(const SourceOptions& options, const Redactor& redactor,
                                     IngestPipeline::FrameSink sink,
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
  return ctx;
}

void ConfigureAppsink(const CtxRef& ctx, GstElement* appsink) {
  const SourceOptions& o = ctx->options;
  const bool fast_file = ctx->is_file && !o.file_realtime;
  g_object_set(appsink, "emit-signals", FALSE, "sync", ctx->is_file && o.file_realtime, "drop",
               !fast_file, "max-buffers", fast_file ? 4u : 1u, "enable-last-sample", FALSE,
               nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = OnNewSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &callbacks, NewRef(ctx), DeleteRef);
}

// The tail: scale before converting colour (the rate limit is a probe on the decoder output).
Status AddTail(const CtxRef& ctx, GstElement* pipeline) {
  GstElement* scale = AddElement(pipeline, "videoscale");
  GstElement* scale_caps = AddElement(pipeline, "capsfilter");
  GstElement* convert = AddElement(pipeline, "videoconvert");
  GstElement* format_caps = AddElement(pipeline, "capsfilter");
  GstElement* appsink = AddElement(pipeline, "appsink");
  if (!scale || !scale_caps || !convert || !format_caps || !appsink) {
    return Missing("videoscale/videoconvert/appsink");
  }
  const SourceOptions& o = ctx->options;
  g_object_set(scale, "add-borders", FALSE, nullptr);
  SetCaps(scale_caps, gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT,
                                          std::max(2, o.detect_width / 2 * 2), nullptr));
  SetCaps(format_caps, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING,
                                           o.color ? "BGR" : "GRAY8", nullptr));
  ctx->tail = scale;
  ctx->scale_caps = scale_caps;
  gst_element_link_many(scale, scale_caps, convert, format_caps, appsink, nullptr);
  ConfigureAppsink(ctx, appsink);
  return Status::Ok();
}

Status AddFileSource(const CtxRef& ctx, GstElement* pipeline) {
  const SourceOptions& o = ctx->options;
  GCharPtr location(gst_uri_get_location(o.url.c_str()));
  if (!location) return Status::InvalidArgument("bad file url: " + ctx->redactor(o.url));
  GstElement* src = AddElement(pipeline, "filesrc");
  GstElement* parse = AddElement(pipeline, "parsebin");
  if (!src || !parse) return Missing("filesrc/parsebin");
  g_object_set(src, "location", location.get(), nullptr);
  gst_element_link(src, parse);
  g_signal_connect_data(parse, "pad-added", G_CALLBACK(OnParsebinPadAdded), NewRef(ctx),
                        DeleteRefClosure, GConnectFlags(0));
  return Status::Ok();
}

Status AddRtspSource(const CtxRef& ctx, GstElement* pipeline) {
  const SourceOptions& o = ctx->options;
  GstElement* src = AddElement(pipeline, "rtspsrc");
  if (!src) return Missing("rtspsrc");
  g_object_set(src, "location", o.url.c_str(), "latency",
               static_cast<guint>(std::max(0, o.latency_ms)), "tcp-timeout",
               static_cast<guint64>(std::max(1, o.connect_timeout_ms)) * 1000,
               "add-reference-timestamp-meta", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(src), "protocols", o.rtsp_tcp ? "tcp" : "udp");
  if (!o.username.empty()) g_object_set(src, "user-id", o.username.c_str(), nullptr);
  if (!o.password.empty()) g_object_set(src, "user-pw", o.password.c_str(), nullptr);
  g_signal_connect_data(src, "select-stream", G_CALLBACK(OnSelectStream), nullptr, nullptr,
                        GConnectFlags(0));
  g_signal_connect_data(src, "pad-added", G_CALLBACK(OnRtspPadAdded), NewRef(ctx), DeleteRefClosure,
                        GConnectFlags(0));
  g_signal_connect_data(src, "no-more-pads", G_CALLBACK(OnNoMorePads), NewRef(ctx),
                        DeleteRefClosure, GConnectFlags(0));
  g_signal_connect_data(src, "new-manager", G_CALLBACK(OnNewManager), NewRef(ctx), DeleteRefClosure,
                        GConnectFlags(0));
  return Status::Ok();
}

}  // namespace

void IngestPipeline::PipelineDeleter::operator()(GstElement* pipeline) const {
  if (!pipeline) return;
  gst_element_set_state(pipeline, GST_STATE_NULL);  // NULL before the last unref
  gst_object_unref(pipeline);
}

void IngestPipeline::BusDeleter::operator()(GstBus* bus) const {
  if (!bus) return;
  gst_bus_set_flushing(bus, TRUE);
  gst_object_unref(bus);
}

Result<std::unique_ptr<IngestPipeline>> IngestPipeline::Build(
    const SourceOptions& options, const Redactor& redactor, FrameSink sink,
    std::shared_ptr<SessionCounters> counters, Clock* clock, EncodedSink encoded) {
  std::unique_ptr<IngestPipeline> p(new IngestPipeline());
  p->ctx_ = MakeContext(options, redactor, std::move(sink), std::move(counters), clock);
  p->ctx_->encoded_sink = std::move(encoded);
  GstElement* pipeline = gst_pipeline_new(nullptr);  // floating
  gst_object_ref_sink(pipeline);                     // now transfer full, owned by p
  p->pipeline_.reset(pipeline);
  p->ctx_->pipeline = pipeline;
  SKYNET_RETURN_IF_ERROR(AddTail(p->ctx_, pipeline));
  SKYNET_RETURN_IF_ERROR(p->ctx_->is_file ? AddFileSource(p->ctx_, pipeline)
                                          : AddRtspSource(p->ctx_, pipeline));
  p->bus_.reset(gst_element_get_bus(pipeline));  // transfer full
  return p;
}

IngestPipeline::~IngestPipeline() { TearDown(3000); }

void IngestPipeline::Play() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING);
}

int64_t IngestPipeline::last_progress_us() const { return ctx_->last_progress_us.load(); }
int64_t IngestPipeline::last_network_us() const { return ctx_->last_network_us.load(); }
int64_t IngestPipeline::last_input_us() const { return ctx_->last_input_us.load(); }
int64_t IngestPipeline::sink_busy_us() const {
  const int64_t since = ctx_->sink_since_us.load();
  return since ? std::max<int64_t>(1, ctx_->clock->NowMonotonicUs() - since) : 0;
}
uint64_t IngestPipeline::frames_decoded() const { return ctx_->decoded.load(); }

PipelineEvent IngestPipeline::Poll(int timeout_ms) {
  if (!bus_) return {};
  const auto types = GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING |
                                    GST_MESSAGE_APPLICATION);
  MessagePtr msg(
      gst_bus_timed_pop_filtered(bus_.get(), GstClockTime(timeout_ms) * GST_MSECOND, types));
  if (!msg) return {};
  const SourceOptions& o = ctx_->options;
  auto diagnose = [&o](std::string* detail) {
    return DiagnoseConnect(o.url, std::min(3000, o.connect_timeout_ms), detail);
  };
  BusOutcome out =
      ClassifyBusMessage(DescribeBusMessage(msg.get()), !ctx_->is_file, ctx_->redactor, diagnose);
  if (out.warning) {
    ctx_->counters->warnings.fetch_add(1, std::memory_order_relaxed);
    if (out.decode_warning) {
      ctx_->counters->decode_warnings.fetch_add(1, std::memory_order_relaxed);
    }
    GetLogger("ingest")->debug("[cam {}] gstreamer warning: {}", o.camera_id, out.warning_text);
  }
  return std::move(out.event);
}

bool IngestPipeline::Rewind() {
  if (!pipeline_) return false;
  ctx_->loop_base_ns.fetch_add(ctx_->pass_end_ns.exchange(0));
  return gst_element_seek_simple(pipeline_.get(), GST_FORMAT_TIME,
                                 GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT), 0);
}

bool IngestPipeline::CloseDeliveryGate(std::chrono::steady_clock::time_point deadline) {
  // A call in progress (a consumer that blocks) gets until the deadline.
  std::unique_lock<std::mutex> lock(ctx_->deliver_mu);
  ctx_->open = false;
  return ctx_->deliver_cv.wait_until(lock, deadline, [&] { return !ctx_->in_sink; });
}

bool IngestPipeline::StopPipeline(std::chrono::steady_clock::time_point deadline, bool wait) {
  // set_state(NULL) can block on a dead camera's TEARDOWN or on a streaming thread stuck in
  // a callback: the reaper does it on a helper thread.
  auto stop = [pipeline = pipeline_.release()] { PipelineDeleter()(pipeline); };
  TeardownReaper& reaper = TeardownReaper::Global();
  if (!wait) {
    reaper.RunAdopted(stop);
    return false;
  }
  return reaper.RunWithin(stop, deadline);
}

bool IngestPipeline::TearDown(int deadline_ms) {
  if (!ctx_ || torn_down_) return true;
  torn_down_ = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  bool in_time = CloseDeliveryGate(deadline);
  if (pipeline_ && !StopPipeline(deadline, in_time)) {
    in_time = false;
    GetLogger("ingest")->warn("[cam {}] pipeline teardown exceeded {} ms, left to reaper",
                              ctx_->options.camera_id, deadline_ms);
  }
  bus_.reset();
  return in_time;
}

}  // namespace skynet::ingest
