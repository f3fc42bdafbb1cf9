#include "pipeline/ingest/pad_linking.h"

#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/ingest/bus_classifier.h"
#include "pipeline/ingest/decoder_log.h"
#include "pipeline/ingest/gst_handles.h"
#include "pipeline/ingest/pipeline_context.h"
#include "pipeline/ingest/stream_callbacks.h"

namespace skynet::ingest {
namespace {

using Context = IngestPipeline::Context;

// Creates `factories` in the pipeline bin and links them in order. Empty (and nothing left in
// the bin) if one of them cannot be made.
std::vector<GstElement*> AddChain(Context* ctx, const std::vector<const char*>& factories) {
  std::vector<GstElement*> chain;
  for (const char* f : factories) {
    GstElement* e = gst_element_factory_make(f, nullptr);  // floating
    if (!e) {
      for (GstElement* c : chain) gst_bin_remove(GST_BIN(ctx->pipeline), c);
      return {};
    }
    gst_bin_add(GST_BIN(ctx->pipeline), e);  // sinks the floating ref: the bin owns it
    chain.push_back(e);
  }
  for (size_t i = 0; i + 1 < chain.size(); ++i) gst_element_link(chain[i], chain[i + 1]);
  return chain;
}

void ConfigureDecoder(GstElement* decoder) {
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(decoder), "output-corrupt")) {
    g_object_set(decoder, "output-corrupt", FALSE, nullptr);  // no smeared frames after loss
  }
  // One decoding thread per camera: with many cameras per node, frame threading only adds
  // synchronisation cost and a frame of latency per thread (libav's default is one per core).
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(decoder), "max-threads")) {
    g_object_set(decoder, "max-threads", 1, nullptr);
  }
}

// Adds decoder elements for `codec` between `src_pad` and the tail, with the progress probes.
bool LinkDecodeChain(Context* ctx, const CtxRef& ref, GstPad* src_pad,
                     const std::vector<const char*>& factories, const char* codec) {
  const std::vector<GstElement*> chain = AddChain(ctx, factories);
  if (chain.empty()) return false;
  GstElement* decoder = chain.back();
  ConfigureDecoder(decoder);
  // libav's error messages about this decoder count on the session (aliasing the counters).
  RegisterDecoder(decoder, std::shared_ptr<std::atomic<uint64_t>>(
                               ctx->counters, &ctx->counters->decoder_errors));
  gst_element_link(decoder, ctx->tail);

  ObjectPtr<GstPad> in(gst_element_get_static_pad(chain.front(), "sink"));
  gst_pad_add_probe(in.get(), GST_PAD_PROBE_TYPE_BUFFER, OnEncodedBuffer, NewRef(ref), DeleteRef);
  if (ctx->encoded_sink) {  // before the probes below drop any unit
    ObjectPtr<GstPad> decoder_in(gst_element_get_static_pad(decoder, "sink"));
    gst_pad_add_probe(decoder_in.get(),
                      GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER |
                                      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                      OnEncodedUnit, NewRef(ref), DeleteRef);
  }
  if (ctx->options.analytics == AnalyticsTier::kHealth) {
    ObjectPtr<GstPad> decoder_in(gst_element_get_static_pad(decoder, "sink"));
    gst_pad_add_probe(decoder_in.get(), GST_PAD_PROBE_TYPE_BUFFER, OnDecoderInput, NewRef(ref),
                      DeleteRef);
  } else if ((std::strcmp(codec, "h264") == 0 || std::strcmp(codec, "h265") == 0) &&
             ctx->options.analytics_fps > 0) {
    ctx->hevc = std::strcmp(codec, "h265") == 0;
    ObjectPtr<GstPad> decoder_in(gst_element_get_static_pad(decoder, "sink"));
    gst_pad_add_probe(decoder_in.get(), GST_PAD_PROBE_TYPE_BUFFER, OnDisposableInput, NewRef(ref),
                      DeleteRef);
  }
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

void LinkToFakesink(Context* ctx, GstPad* pad) {
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);  // floating
  if (!sink) return;
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(ctx->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  ObjectPtr<GstPad> sink_pad(gst_element_get_static_pad(sink, "sink"));
  gst_pad_link(pad, sink_pad.get());
}

void PostUnsupported(GstElement* from, const std::string& what) {
  PostApplication(
      from, gst_structure_new(kUnsupportedMessage, "codec", G_TYPE_STRING, what.c_str(), nullptr));
}

// The pad's caps (current, else queried); nullptr if it has none.
CapsPtr PadCaps(GstPad* pad) {
  CapsPtr caps(gst_pad_get_current_caps(pad));
  if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
  return caps;
}

// EOS on a non-video stream of a file without video: the appsink would never see EOS.
GstPadProbeReturn OnOtherStreamEvent(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (event && GST_EVENT_TYPE(event) == GST_EVENT_EOS && !ctx->video_linked.load()) {
    if (GstElement* parent = gst_pad_get_parent_element(pad)) {  // transfer full
      try {
        PostUnsupported(parent, "no video stream");
      } catch (...) {
      }
      gst_object_unref(parent);
    }
  }
  return GST_PAD_PROBE_OK;
}

}  // namespace

gboolean OnSelectStream(GstElement*, guint, GstCaps* caps, gpointer) noexcept {
  const GstStructure* s = caps ? gst_caps_get_structure(caps, 0) : nullptr;
  const char* media = s ? gst_structure_get_string(s, "media") : nullptr;
  return media && std::strcmp(media, "video") == 0;
}

void OnRtspPadAdded(GstElement* src, GstPad* pad, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  try {
    CapsPtr caps = PadCaps(pad);
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
      ok =
          LinkDecodeChain(ctx, Ref(user), pad, {"rtph264depay", "h264parse", "avdec_h264"}, "h264");
    } else if (encoding == "H265") {
      ok =
          LinkDecodeChain(ctx, Ref(user), pad, {"rtph265depay", "h265parse", "avdec_h265"}, "h265");
    }
    if (!ok) {
      PostUnsupported(src, "rtp encoding " + encoding);
      LinkToFakesink(ctx, pad);
    }
  } catch (...) {
  }
}

void OnParsebinPadAdded(GstElement* parsebin, GstPad* pad, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  try {
    CapsPtr caps = PadCaps(pad);
    const GstStructure* s = caps ? gst_caps_get_structure(caps.get(), 0) : nullptr;
    const std::string name = s ? gst_structure_get_name(s) : "unknown";
    if (name.rfind("video/", 0) != 0 && name.rfind("image/", 0) != 0) {
      LinkToFakesink(ctx, pad);  // audio, subtitles: not ours
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, OnOtherStreamEvent,
                        NewRef(Ref(user)), DeleteRef);
      return;
    }
    if (ctx->video_linked.exchange(true)) {
      LinkToFakesink(ctx, pad);
      return;
    }
    bool ok = false;
    if (name == "video/x-h264") {
      ok = LinkDecodeChain(ctx, Ref(user), pad, {"avdec_h264"}, "h264");
    } else if (name == "video/x-h265") {
      ok = LinkDecodeChain(ctx, Ref(user), pad, {"avdec_h265"}, "h265");
    }
    if (!ok) {
      PostUnsupported(parsebin, name);
      LinkToFakesink(ctx, pad);
    }
  } catch (...) {
  }
}

void OnNoMorePads(GstElement* element, gpointer user) noexcept {
  auto* ctx = Ctx(user);
  if (!ctx->video_linked.load()) {
    try {
      PostUnsupported(element, "no video stream");
    } catch (...) {
    }
  }
}

}  // namespace skynet::ingest
