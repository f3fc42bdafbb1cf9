// RtspProbe: a real GStreamer RTSP client for camsim tests. It decodes to GRAY8 and records
// how many frames arrived and their size; tests wait on it with deadlines, never fixed sleeps.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

namespace skynet::camsim::testing {

class RtspProbe {
 public:
  // codec: "h264" | "h265". Starts playing immediately.
  explicit RtspProbe(const std::string& url, const std::string& codec = "h264") {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
    const std::string c = codec == "h265" ? "h265" : "h264";
    const std::string desc = "rtspsrc name=src location=" + url +
                             " protocols=tcp latency=200 ! rtp" + c + "depay ! " + c +
                             "parse ! avdec_" + c +
                             " ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=sink "
                             "sync=false max-buffers=2 drop=true";
    GError* err = nullptr;
    pipeline_ = gst_parse_launch(desc.c_str(), &err);
    if (err != nullptr) {
      error_ = err->message;
      g_clear_error(&err);
      return;
    }
    GstElement* rtspsrc = gst_bin_get_by_name(GST_BIN(pipeline_), "src");
    if (rtspsrc != nullptr) {
      g_signal_connect(rtspsrc, "new-manager", G_CALLBACK(&RtspProbe::OnNewManager), this);
      gst_object_unref(rtspsrc);
    }
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
    GstAppSinkCallbacks cbs{};
    cbs.new_sample = &RtspProbe::OnSample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, this, nullptr);
    gst_object_unref(sink);
    GstBus* bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(bus, &RtspProbe::OnBusMessage, this, nullptr);
    gst_object_unref(bus);
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  }

  ~RtspProbe() { Close(); }

  // Stops the client (sends TEARDOWN). Idempotent.
  void Close() {
    if (pipeline_ == nullptr) return;
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(pipeline_);
    pipeline_ = nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    if (manager_) gst_object_unref(manager_);
    manager_ = nullptr;
  }

  // True once at least `n` frames arrived; false on deadline or client error.
  bool WaitForFrames(int n, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return frames_ >= n || !error_.empty(); }) &&
           frames_ >= n;
  }

  // True once an RTCP sender report from the server was received (for wall-clock mapping).
  bool ReceivedSenderReport() {
    GstElement* manager = nullptr;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (manager_ == nullptr) return false;
      manager = GST_ELEMENT(gst_object_ref(manager_));
    }
    bool have_sr = false;
    GObject* session = nullptr;
    g_signal_emit_by_name(manager, "get-session", 0u, &session);
    if (session != nullptr) {
      GstStructure* stats = nullptr;
      g_object_get(session, "stats", &stats, nullptr);
      const GValue* sources = stats ? gst_structure_get_value(stats, "source-stats") : nullptr;
      G_GNUC_BEGIN_IGNORE_DEPRECATIONS  // rtpsession's stats still use GValueArray
          if (sources != nullptr && G_VALUE_HOLDS(sources, g_value_array_get_type())) {
        auto* array = static_cast<GValueArray*>(g_value_get_boxed(sources));
        for (guint i = 0; array != nullptr && i < array->n_values; ++i) {
          const GstStructure* s = gst_value_get_structure(g_value_array_get_nth(array, i));
          gboolean sr = FALSE;
          if (s && gst_structure_get_boolean(s, "have-sr", &sr) && sr) have_sr = true;
        }
      }
      G_GNUC_END_IGNORE_DEPRECATIONS
      if (stats) gst_structure_free(stats);
      g_object_unref(session);
    }
    gst_object_unref(manager);
    return have_sr;
  }

  // The most recent frame, width*height GRAY8 bytes without padding.
  std::vector<uint8_t> LastFrame() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_;
  }

  int frames() const {
    std::lock_guard<std::mutex> l(mu_);
    return frames_;
  }
  int width() const {
    std::lock_guard<std::mutex> l(mu_);
    return width_;
  }
  int height() const {
    std::lock_guard<std::mutex> l(mu_);
    return height_;
  }
  std::string error() const {
    std::lock_guard<std::mutex> l(mu_);
    return error_;
  }
  // Steady-clock time of the n-th frame (1-based) recorded so far, if n <= 64.
  std::chrono::steady_clock::time_point FrameTime(int n) const {
    std::lock_guard<std::mutex> l(mu_);
    return times_[n - 1];
  }

 private:
  static GstFlowReturn OnSample(GstAppSink* sink, gpointer data) noexcept {
    auto* self = static_cast<RtspProbe*>(data);
    GstSample* sample = gst_app_sink_pull_sample(sink);
    if (sample == nullptr) return GST_FLOW_EOS;
    GstStructure* s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
    std::lock_guard<std::mutex> lock(self->mu_);
    gst_structure_get_int(s, "width", &self->width_);
    gst_structure_get_int(s, "height", &self->height_);
    if (self->frames_ < 64) self->times_[self->frames_] = std::chrono::steady_clock::now();
    GstMapInfo map;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    if (self->width_ > 0 && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      // GRAY8 rows are padded to 4 bytes.
      const size_t stride = (static_cast<size_t>(self->width_) + 3) & ~size_t{3};
      const size_t w = static_cast<size_t>(self->width_), h = static_cast<size_t>(self->height_);
      if (map.size >= stride * (h - 1) + w) {
        self->last_.resize(w * h);
        for (size_t y = 0; y < h; ++y) {
          std::copy_n(map.data + y * stride, w, self->last_.data() + y * w);
        }
      }
      gst_buffer_unmap(buffer, &map);
    }
    ++self->frames_;
    self->cv_.notify_all();
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  }

  static void OnNewManager(GstElement*, GstElement* manager, gpointer data) noexcept {
    auto* self = static_cast<RtspProbe*>(data);
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->manager_) gst_object_unref(self->manager_);
    self->manager_ = GST_ELEMENT(gst_object_ref(manager));
  }

  static GstBusSyncReply OnBusMessage(GstBus*, GstMessage* msg, gpointer data) noexcept {
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      auto* self = static_cast<RtspProbe*>(data);
      GError* err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->error_.empty()) self->error_ = err ? err->message : "error";
      g_clear_error(&err);
      self->cv_.notify_all();
    }
    return GST_BUS_DROP;
  }

  GstElement* pipeline_ = nullptr;
  GstElement* manager_ = nullptr;  // rtspsrc's rtpbin, guarded by mu_
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int frames_ = 0, width_ = 0, height_ = 0;
  std::chrono::steady_clock::time_point times_[64];
  std::string error_;
  std::vector<uint8_t> last_;
};

}  // namespace skynet::camsim::testing
