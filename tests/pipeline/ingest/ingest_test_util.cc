#include "tests/pipeline/ingest/ingest_test_util.h"

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

namespace skynet::ingest::testing {

Status RunGstPipeline(const std::string& description, int timeout_ms) {
  SKYNET_RETURN_IF_ERROR(InitGStreamer());
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);  // floating
  if (!pipeline) {
    Status s = Status::Internal("gst_parse_launch: " + std::string(err ? err->message : "?"));
    if (err) g_error_free(err);
    return s;
  }
  if (err) g_error_free(err);
  gst_object_ref_sink(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, GstClockTime(timeout_ms) * GST_MSECOND,
      GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  Status result;
  if (!msg) {
    result = Status::DeadlineExceeded("pipeline did not finish: " + description);
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gst_message_parse_error(msg, &e, nullptr);
    result = Status::Internal("pipeline error: " + std::string(e ? e->message : "?"));
    if (e) g_error_free(e);
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return result;
}

Result<std::string> MakeTestVideo(const std::string& dir, const TestVideo& v) {
  const std::string path = dir + "/test_" + std::to_string(v.width) + "x" +
                           std::to_string(v.height) + "_" + std::to_string(v.frames) + "." +
                           v.extension;
  const std::string desc = "videotestsrc num-buffers=" + std::to_string(v.frames) +
                           " pattern=ball ! video/x-raw,format=I420,width=" +
                           std::to_string(v.width) + ",height=" + std::to_string(v.height) +
                           ",framerate=" + std::to_string(v.fps) + "/1 ! " + v.encoder +
                           " ! filesink location=" + path;
  SKYNET_RETURN_IF_ERROR(RunGstPipeline(desc));
  return "file://" + path;
}

struct RtspTestServer::State {
  std::mutex mu;
  std::vector<GstElement*> valves;  // guarded by mu; one ref each
  bool frozen = false;              // guarded by mu
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  GstRTSPServer* server = nullptr;
  guint source_id = 0;
  std::thread thread;
  bool shut = false;
};

namespace {
// Remembers each media's "freeze" valve so SetFrozen() can stop its RTP.
void OnMediaConfigure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer user) {
  auto* st = static_cast<RtspTestServer::State*>(user);
  GstElement* bin = gst_rtsp_media_get_element(media);                // transfer full
  GstElement* valve = gst_bin_get_by_name(GST_BIN(bin), "freeze");   // transfer full
  gst_object_unref(bin);
  if (!valve) return;
  std::lock_guard<std::mutex> lock(st->mu);
  g_object_set(valve, "drop", st->frozen ? TRUE : FALSE, nullptr);
  st->valves.push_back(valve);
}

GstRTSPFilterResult RemoveClient(GstRTSPServer*, GstRTSPClient*, gpointer) {
  return GST_RTSP_FILTER_REMOVE;
}
}  // namespace

Result<std::unique_ptr<RtspTestServer>> RtspTestServer::Start(std::map<std::string, Codec> mounts,
                                                               const std::string& user,
                                                               const std::string& password) {
  SKYNET_RETURN_IF_ERROR(InitGStreamer());
  std::unique_ptr<RtspTestServer> s(new RtspTestServer());
  s->state_ = std::make_unique<State>();
  State& st = *s->state_;
  st.context = g_main_context_new();
  st.loop = g_main_loop_new(st.context, FALSE);
  st.server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(st.server, "127.0.0.1");
  gst_rtsp_server_set_service(st.server, "0");
  GstRTSPMountPoints* points = gst_rtsp_server_get_mount_points(st.server);
  for (const auto& [path, codec] : mounts) {
    std::string enc;
    switch (codec) {
      case Codec::kH264:
        enc = "valve name=freeze ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
              "rtph264pay name=pay0 pt=96 config-interval=1";
        break;
      case Codec::kH265:
        enc = "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
              "rtph265pay name=pay0 pt=96 config-interval=1";
        break;
      case Codec::kVp8:
        enc = "vp8enc deadline=1 ! rtpvp8pay name=pay0 pt=96";
        break;
    }
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    const std::string launch =
        "( videotestsrc is-live=true pattern=ball ! "
        "video/x-raw,format=I420,width=640,height=360,framerate=15/1 ! " + enc + " )";
    gst_rtsp_media_factory_set_launch(factory, launch.c_str());
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    g_signal_connect(factory, "media-configure", G_CALLBACK(OnMediaConfigure), &st);
    if (!user.empty()) {
      gst_rtsp_media_factory_add_role(factory, "user", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS,
                                      G_TYPE_BOOLEAN, TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                                      G_TYPE_BOOLEAN, TRUE, nullptr);
    }
    gst_rtsp_mount_points_add_factory(points, path.c_str(), factory);  // takes the factory
  }
  g_object_unref(points);
  if (!user.empty()) {
    GstRTSPAuth* auth = gst_rtsp_auth_new();
    GstRTSPToken* token =
        gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "user", nullptr);
    gchar* basic = gst_rtsp_auth_make_basic(user.c_str(), password.c_str());
    gst_rtsp_auth_add_basic(auth, basic, token);
    g_free(basic);
    gst_rtsp_token_unref(token);
    gst_rtsp_server_set_auth(st.server, auth);
    g_object_unref(auth);
  }
  st.source_id = gst_rtsp_server_attach(st.server, st.context);
  if (st.source_id == 0) return Status::Internal("gst_rtsp_server_attach failed");
  s->port_ = gst_rtsp_server_get_bound_port(st.server);
  st.thread = std::thread([loop = st.loop] { g_main_loop_run(loop); });
  return s;
}

std::string RtspTestServer::Url(const std::string& path) const {
  return "rtsp://127.0.0.1:" + std::to_string(port_) + path;
}

void RtspTestServer::SetFrozen(bool frozen) {
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.mu);
  st.frozen = frozen;
  for (GstElement* v : st.valves) g_object_set(v, "drop", frozen ? TRUE : FALSE, nullptr);
}

void RtspTestServer::Shutdown() {
  State& st = *state_;
  if (st.shut) return;
  st.shut = true;
  if (GSource* src = g_main_context_find_source_by_id(st.context, st.source_id)) {
    g_source_destroy(src);
  }
  gst_rtsp_server_client_filter(st.server, RemoveClient, nullptr);
  g_main_loop_quit(st.loop);
  st.thread.join();
}

RtspTestServer::~RtspTestServer() {
  if (!state_) return;
  Shutdown();
  for (GstElement* v : state_->valves) gst_object_unref(v);
  g_object_unref(state_->server);
  g_main_loop_unref(state_->loop);
  g_main_context_unref(state_->context);
}

CameraSession::Callbacks Recorder::Callbacks() {
  CameraSession::Callbacks cb;
  cb.on_frame = [this](Frame&& f) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      frames_.push_back(std::move(f));
    }
    cv_.notify_all();
  };
  cb.on_state = [this](const StateChange& c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      states_.push_back(c);
      state_times_.push_back(std::chrono::steady_clock::now());
    }
    cv_.notify_all();
  };
  cb.on_eos_offline = [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      eos_ = true;
    }
    cv_.notify_all();
  };
  return cb;
}

bool Recorder::WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, pred);
}

bool Recorder::WaitForState(SessionState s, std::chrono::milliseconds timeout) {
  return WaitFor([&] {
    for (const auto& c : states_) if (c.state == s) return true;
    return false;
  }, timeout);
}

bool Recorder::WaitForStateCount(SessionState s, size_t n, std::chrono::milliseconds timeout) {
  return WaitFor([&] {
    size_t count = 0;
    for (const auto& c : states_) count += c.state == s;
    return count >= n;
  }, timeout);
}

bool Recorder::WaitForEos(std::chrono::milliseconds timeout) {
  return WaitFor([&] { return eos_; }, timeout);
}

bool Recorder::WaitForFrames(size_t n, std::chrono::milliseconds timeout) {
  return WaitFor([&] { return frames_.size() >= n; }, timeout);
}

std::vector<StateChange> Recorder::states() {
  std::lock_guard<std::mutex> lock(mu_);
  return states_;
}

std::vector<std::chrono::steady_clock::time_point> Recorder::state_times() {
  std::lock_guard<std::mutex> lock(mu_);
  return state_times_;
}

std::vector<Frame> Recorder::frames() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Frame> out;
  for (const auto& f : frames_) {
    Frame copy = f;
    out.push_back(std::move(copy));
  }
  return out;
}

size_t Recorder::frame_count() {
  std::lock_guard<std::mutex> lock(mu_);
  return frames_.size();
}

bool Recorder::eos() {
  std::lock_guard<std::mutex> lock(mu_);
  return eos_;
}

size_t Recorder::CountState(SessionState s) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& c : states_) n += c.state == s;
  return n;
}

}  // namespace skynet::ingest::testing
