#include "pipeline/ingest/decoder_log.h"

#include <gst/gst.h>

#include <cstdarg>
#include <mutex>
#include <unordered_map>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

namespace skynet::ingest {
namespace {

GST_DEBUG_CATEGORY_STATIC(libav_category);  // gst-libav's own "libav" category

struct Registry {
  std::mutex mu;
  std::unordered_map<const void*, std::weak_ptr<std::atomic<uint64_t>>> decoders;
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();  // never destroyed: libav may log at exit
  return *registry;
}

void OnDecoderFinalized(gpointer, GObject* where_the_object_was) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.decoders.erase(where_the_object_was);
}

GstDebugLevel GstLevelOf(int av_level) {
  if (av_level <= AV_LOG_ERROR) return GST_LEVEL_ERROR;
  if (av_level <= AV_LOG_WARNING) return GST_LEVEL_WARNING;
  if (av_level <= AV_LOG_INFO) return GST_LEVEL_INFO;
  return GST_LEVEL_DEBUG;
}

void CountError(void* ptr) {
  const AVClass* cls = *static_cast<const AVClass* const*>(ptr);
  if (cls != avcodec_get_class()) return;
  const void* opaque = static_cast<const AVCodecContext*>(ptr)->opaque;
  std::shared_ptr<std::atomic<uint64_t>> errors;
  {
    Registry& r = TheRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.decoders.find(opaque);
    if (it != r.decoders.end()) errors = it->second.lock();
  }
  if (errors) errors->fetch_add(1, std::memory_order_relaxed);
}

// libav's log callback: counts, then forwards like gst-libav (which maps levels the same way).
void OnLibavLog(void* ptr, int level, const char* fmt, va_list args) noexcept {
  if (ptr && level <= AV_LOG_ERROR && level > AV_LOG_QUIET) CountError(ptr);
  const GstDebugLevel gst_level = GstLevelOf(level);
  if (level <= AV_LOG_QUIET || !libav_category ||
      gst_level > gst_debug_category_get_threshold(libav_category)) {
    return;
  }
  va_list copy;
  va_copy(copy, args);
  gst_debug_log_valist(libav_category, gst_level, "", "", 0, nullptr, fmt, copy);
  va_end(copy);
}

}  // namespace

void InstallDecoderLog() {
  static std::once_flag once;
  std::call_once(once, [] {
    // gst-libav installs its callback when its plugin loads: load it first, then replace it.
    if (GstPlugin* plugin = gst_plugin_load_by_name("libav")) gst_object_unref(plugin);
    GST_DEBUG_CATEGORY_GET(libav_category, "libav");
    av_log_set_callback(OnLibavLog);
  });
}

void RegisterDecoder(GstElement* decoder, std::weak_ptr<std::atomic<uint64_t>> errors) {
  if (!decoder) return;
  Registry& r = TheRegistry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.decoders[decoder] = std::move(errors);
  }
  g_object_weak_ref(G_OBJECT(decoder), OnDecoderFinalized, nullptr);
}

}  // namespace skynet::ingest
