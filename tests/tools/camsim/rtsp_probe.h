// RtspProbe: a real GStreamer RTSP client for camsim tests. It decodes to GRAY8 and records
// how many frames arrived and their size; tests wait on it with deadlines, never fixed sleeps.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

namespace skynet::camsim::testing {

class RtspProbe {
 public:
  // codec: "h264" | "h265". Starts playing immediately.
  explicit RtspProbe(const std::string& url, const std::string& codec = "h264") {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
    const std::string c = codec == "h265" ? "h265" : "h264";
    const std::string desc = "rtspsrc location=" + url + " protocols=tcp latency=200 ! rtp" + c +
                             "depay ! " + c + "parse ! avdec_" + c +
                             " ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=sink "
                             "sync=false max-buffers=2 drop=true";
    GError* err = nullptr;
    pipeline_ = gst_parse_launch(desc.c_str(), &err);
    if (err != nullptr) {
      error_ = err->message;
      g_clear_error(&err);
      return;
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
  }

  // True once at least `n` frames arrived; false on deadline or client error.
  bool WaitForFrames(int n, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return frames_ >= n || !error_.empty(); }) &&
           frames_ >= n;
  }

  int frames() const { std::lock_guard<std::mutex> l(mu_); return frames_; }
  int width() const { std::lock_guard<std::mutex> l(mu_); return width_; }
  int height() const { std::lock_guard<std::mutex> l(mu_); return height_; }
  std::string error() const { std::lock_guard<std::mutex> l(mu_); return error_; }
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
    ++self->frames_;
    self->cv_.notify_all();
    gst_sample_unref(sample);
    return GST_FLOW_OK;
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
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int frames_ = 0, width_ = 0, height_ = 0;
  std::chrono::steady_clock::time_point times_[64];
  std::string error_;
};

}  // namespace skynet::camsim::testing
