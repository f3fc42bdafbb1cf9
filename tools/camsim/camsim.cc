#include "tools/camsim/camsim.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "pipeline/core/logging.h"
#include "tools/camsim/encoded_loop.h"

namespace skynet::camsim {
namespace {

using Clock = std::chrono::steady_clock;

struct ObjectUnref {
  void operator()(gpointer p) const { gst_object_unref(p); }
};
template <typename T>
using ObjPtr = std::unique_ptr<T, ObjectUnref>;  // adopts "transfer full" GstObjects

std::shared_ptr<spdlog::logger> Log() {
  static auto log = GetLogger("camsim");
  return log;
}

// Beyond this the media's timeline is re-anchored to the clock instead of catching up.
constexpr GstClockTime kMaxDrift = 500 * GST_MSECOND;

}  // namespace

// One simulated camera: owns its mount's media factory and feeds every media the factory
// builds (normally one at a time, since the media is shared). Fault controls (stall, kill,
// garbage, resize, ...) belong here: they change what Tick() pushes or what the factory does.
//
// Threads: OnMediaConfigure/OnUnprepared run on gst-rtsp-server threads, Tick() on the
// server's pacing thread, Stats() anywhere; `mu_` guards medias_ and the counters.
class Camera {
 public:
  Camera(CameraSpec spec, std::shared_ptr<const EncodedLoop> loop)
      : spec_(std::move(spec)), loop_(std::move(loop)) {
    interval_ = std::chrono::nanoseconds(loop_->frame_duration);
  }

  ~Camera() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& m : medias_) g_signal_handler_disconnect(m->media.get(), m->unprepared_handler);
    medias_.clear();
    if (factory_ && configure_handler_) {
      g_signal_handler_disconnect(factory_.get(), configure_handler_);
    }
  }

  const CameraSpec& spec() const { return spec_; }

  // Returns a new factory reference for the mount points (transfer full).
  GstRTSPMediaFactory* MakeFactory() {
    factory_.reset(gst_rtsp_media_factory_new());
    const bool h265 = loop_->codec == "h265";
    const std::string launch =
        std::string("( appsrc name=src is-live=true format=time do-timestamp=false ! ") +
        (h265 ? "h265parse ! rtph265pay" : "h264parse ! rtph264pay") +
        " name=pay0 pt=96 config-interval=1 )";
    gst_rtsp_media_factory_set_launch(factory_.get(), launch.c_str());
    gst_rtsp_media_factory_set_shared(factory_.get(), TRUE);
    configure_handler_ = g_signal_connect(factory_.get(), "media-configure",
                                          G_CALLBACK(&Camera::OnMediaConfigure), this);
    return GST_RTSP_MEDIA_FACTORY(g_object_ref(factory_.get()));
  }

  // Pushes the next access unit into every media that is playing. Pacing thread only.
  void Tick() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& m : medias_) PushNext(m.get());
  }

  Clock::time_point next_due;
  Clock::duration interval() const { return interval_; }

  CameraStats Stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    CameraStats s = stats_;
    s.active_medias = static_cast<int>(medias_.size());
    return s;
  }

 private:
  struct Flow {
    std::atomic<bool> accepting{true};  // appsrc's need-data / enough-data
  };
  struct ActiveMedia {
    ObjPtr<GstRTSPMedia> media;
    ObjPtr<GstElement> appsrc;
    gulong unprepared_handler = 0;
    std::shared_ptr<Flow> flow;
    size_t next_unit = 0;
    uint64_t pushed = 0;
    GstClockTime first_pts = GST_CLOCK_TIME_NONE;
  };

  static void OnNeedData(GstAppSrc*, guint, gpointer data) noexcept {
    (*static_cast<std::shared_ptr<Flow>*>(data))->accepting = true;
  }
  static void OnEnoughData(GstAppSrc*, gpointer data) noexcept {
    (*static_cast<std::shared_ptr<Flow>*>(data))->accepting = false;
  }
  static void FreeFlow(gpointer data) noexcept { delete static_cast<std::shared_ptr<Flow>*>(data); }

  static void OnMediaConfigure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer self) noexcept {
    static_cast<Camera*>(self)->Configure(media);
  }
  static void OnUnprepared(GstRTSPMedia* media, gpointer self) noexcept {
    static_cast<Camera*>(self)->Forget(media);
  }

  void Configure(GstRTSPMedia* media) noexcept {
    ObjPtr<GstElement> bin(gst_rtsp_media_get_element(media));
    ObjPtr<GstElement> src(bin ? gst_bin_get_by_name(GST_BIN(bin.get()), "src") : nullptr);
    if (!src) {
      Log()->error("[cam {}] media has no appsrc", spec_.name);
      return;
    }
    auto m = std::make_unique<ActiveMedia>();
    m->flow = std::make_shared<Flow>();
    gst_app_src_set_caps(GST_APP_SRC(src.get()), loop_->caps.get());
    // About one second of queue: enough to ride out a blocked pad while the media prepares,
    // small enough that a stalled media does not hoard memory.
    g_object_set(src.get(), "max-buffers", static_cast<guint64>(spec_.fps), "max-bytes",
                 static_cast<guint64>(0), "max-time", static_cast<guint64>(0), nullptr);
    GstAppSrcCallbacks cbs{};
    cbs.need_data = &Camera::OnNeedData;
    cbs.enough_data = &Camera::OnEnoughData;
    gst_app_src_set_callbacks(GST_APP_SRC(src.get()), &cbs, new std::shared_ptr<Flow>(m->flow),
                              &Camera::FreeFlow);
    m->media.reset(GST_RTSP_MEDIA(g_object_ref(media)));
    m->appsrc = std::move(src);
    m->unprepared_handler =
        g_signal_connect(media, "unprepared", G_CALLBACK(&Camera::OnUnprepared), this);
    std::lock_guard<std::mutex> lock(mu_);
    medias_.push_back(std::move(m));
    ++stats_.medias_created;
    Log()->info("[cam {}] media created ({} active)", spec_.name, medias_.size());
  }

  void Forget(GstRTSPMedia* media) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(medias_.begin(), medias_.end(),
                           [&](const auto& m) { return m->media.get() == media; });
    if (it == medias_.end()) return;
    g_signal_handler_disconnect(media, (*it)->unprepared_handler);
    medias_.erase(it);
    Log()->info("[cam {}] media released ({} active)", spec_.name, medias_.size());
  }

  // mu_ held.
  void PushNext(ActiveMedia* m) noexcept {
    GstElement* src = m->appsrc.get();
    GST_OBJECT_LOCK(src);
    const bool playing = GST_STATE(src) == GST_STATE_PLAYING;
    GstClock* clock = GST_ELEMENT_CLOCK(src) ? GST_CLOCK(gst_object_ref(GST_ELEMENT_CLOCK(src))) : nullptr;
    const GstClockTime base = GST_ELEMENT_CAST(src)->base_time;
    GST_OBJECT_UNLOCK(src);
    ObjPtr<GstClock> clock_ref(clock);
    if (!playing || clock == nullptr) {
      // Not flowing (preparing, or torn down and about to be released): restart from the
      // keyframe at the head of the loop when it flows again.
      m->next_unit = 0;
      m->first_pts = GST_CLOCK_TIME_NONE;
      m->pushed = 0;
      return;
    }
    if (!m->flow->accepting) {
      ++stats_.frames_skipped;  // keep the GOP intact: resume with the unit we skipped
      return;
    }
    const GstClockTime now = gst_clock_get_time(clock);
    const GstClockTime running = now > base ? now - base : 0;
    const GstClockTime dur = loop_->frame_duration;
    GstClockTime pts = m->first_pts == GST_CLOCK_TIME_NONE ? GST_CLOCK_TIME_NONE
                                                           : m->first_pts + m->pushed * dur;
    if (pts == GST_CLOCK_TIME_NONE || GST_CLOCK_DIFF(pts, running) > GstClockTimeDiff(kMaxDrift) ||
        GST_CLOCK_DIFF(running, pts) > GstClockTimeDiff(kMaxDrift)) {
      // Regular spacing normally; re-anchor if the pacing thread fell far behind or ahead.
      m->first_pts = running - std::min<GstClockTime>(running, m->pushed * dur);
      pts = m->first_pts + m->pushed * dur;
      if (pts < running) pts = running;
    }
    GstBuffer* buf = gst_buffer_copy(loop_->units[m->next_unit].get());  // shares the memory
    GST_BUFFER_PTS(buf) = pts;
    GST_BUFFER_DTS(buf) = pts;
    GST_BUFFER_DURATION(buf) = dur;
    GST_BUFFER_FLAG_UNSET(buf, GST_BUFFER_FLAG_DISCONT);
    if (gst_app_src_push_buffer(GST_APP_SRC(src), buf) == GST_FLOW_OK) {
      ++stats_.frames_sent;
      ++m->pushed;
      m->next_unit = (m->next_unit + 1) % loop_->units.size();
    }
  }

  const CameraSpec spec_;
  const std::shared_ptr<const EncodedLoop> loop_;
  Clock::duration interval_;
  ObjPtr<GstRTSPMediaFactory> factory_;
  gulong configure_handler_ = 0;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<ActiveMedia>> medias_;
  CameraStats stats_;
};

class Server::Impl {
 public:
  ~Impl() {
    Stop();
    cameras_.clear();
    if (server_) {
      if (GSource* s = g_main_context_find_source_by_id(context_, source_id_)) g_source_destroy(s);
      server_.reset();
    }
    if (loop_) g_main_loop_unref(loop_);
    if (context_) g_main_context_unref(context_);
  }

  Status Init(ServerOptions options) {
    options_ = std::move(options);
    if (options_.port < 0 || options_.port > 65535) {
      return Status::InvalidArgument("port must be 0..65535, got " + std::to_string(options_.port));
    }
    if (options_.cameras.empty()) return Status::InvalidArgument("no cameras configured");
    std::map<std::string, std::shared_ptr<const EncodedLoop>> loops;
    for (const CameraSpec& spec : options_.cameras) {
      SKYNET_RETURN_IF_ERROR(ValidateCameraSpec(spec));
      for (const auto& c : cameras_) {
        if (c->spec().name == spec.name) {
          return Status::InvalidArgument("camera '" + spec.name + "': duplicate name");
        }
      }
      auto& loop = loops[LoopKey(spec)];
      if (!loop) {
        const auto t0 = Clock::now();
        auto encoded = EncodeLoop(spec);
        if (!encoded) return encoded.status();
        loop = *encoded;
        Log()->info("[cam {}] encoded {} s {} loop of {} ({} units) in {} ms", spec.name,
                    spec.loop_seconds, spec.codec, spec.scene, loop->units.size(),
                    std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)
                        .count());
      }
      cameras_.push_back(std::make_unique<Camera>(spec, loop));
    }

    context_ = g_main_context_new();
    loop_ = g_main_loop_new(context_, FALSE);
    server_.reset(gst_rtsp_server_new());
    gst_rtsp_server_set_address(server_.get(), options_.address.c_str());
    gst_rtsp_server_set_service(server_.get(), std::to_string(options_.port).c_str());
    ObjPtr<GstRTSPMountPoints> mounts(gst_rtsp_server_get_mount_points(server_.get()));
    for (auto& cam : cameras_) {
      gst_rtsp_mount_points_add_factory(mounts.get(), ("/" + cam->spec().name).c_str(),
                                        cam->MakeFactory());
    }
    // Binds the socket now, so port() is known before Start().
    source_id_ = gst_rtsp_server_attach(server_.get(), context_);
    if (source_id_ == 0) {
      return Status::Unavailable("cannot listen on " + options_.address + ":" +
                                 std::to_string(options_.port));
    }
    port_ = gst_rtsp_server_get_bound_port(server_.get());
    // Reaps sessions of clients that vanished without TEARDOWN (after their timeout).
    GSource* reaper = g_timeout_source_new_seconds(2);
    g_source_set_callback(reaper, &Impl::ReapSessions, this, nullptr);
    g_source_attach(reaper, context_);
    g_source_unref(reaper);
    return Status::Ok();
  }

  Status Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_ || stopped_) return Status::Internal("camsim: server already started");
    started_ = true;
    main_thread_ = std::thread([this] {
      g_main_context_push_thread_default(context_);
      g_main_loop_run(loop_);
      g_main_context_pop_thread_default(context_);
    });
    pacer_ = std::thread([this] { Pace(); });
    Log()->info("serving {} cameras on rtsp://{}:{}", cameras_.size(), options_.address, port_);
    return Status::Ok();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      if (!started_) return;
    }
    // Close all clients on the main loop; their shared medias are unprepared and released.
    std::promise<void> closed;
    closed_ = &closed;
    g_main_context_invoke_full(
        context_, G_PRIORITY_HIGH,
        [](gpointer data) noexcept -> gboolean {
          auto* self = static_cast<Impl*>(data);
          gst_rtsp_server_client_filter(
              self->server_.get(),
              [](GstRTSPServer*, GstRTSPClient*, gpointer) noexcept {
                return GST_RTSP_FILTER_REMOVE;
              },
              nullptr);
          self->closed_->set_value();
          return G_SOURCE_REMOVE;
        },
        this, nullptr);
    closed.get_future().wait_for(std::chrono::seconds(5));
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < deadline && AnyActiveMedia()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // bounded shutdown wait
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      pacer_stop_ = true;
    }
    pacer_cv_.notify_all();
    pacer_.join();
    g_main_loop_quit(loop_);
    main_thread_.join();
  }

  int port() const { return port_; }
  const ServerOptions& options() const { return options_; }

  Result<CameraStats> Stats(const std::string& name) const {
    for (const auto& c : cameras_) {
      if (c->spec().name == name) return c->Stats();
    }
    return Status::NotFound("camera '" + name + "' not found");
  }

 private:
  static gboolean ReapSessions(gpointer data) noexcept {
    auto* self = static_cast<Impl*>(data);
    ObjPtr<GstRTSPSessionPool> pool(gst_rtsp_server_get_session_pool(self->server_.get()));
    gst_rtsp_session_pool_cleanup(pool.get());
    return G_SOURCE_CONTINUE;
  }

  bool AnyActiveMedia() const {
    for (const auto& c : cameras_) {
      if (c->Stats().active_medias > 0) return true;
    }
    return false;
  }

  // One thread paces every camera: it wakes at the earliest due frame and pushes it.
  void Pace() {
    const auto start = Clock::now();
    for (auto& c : cameras_) c->next_due = start;
    std::unique_lock<std::mutex> lock(mu_);
    while (!pacer_stop_) {
      lock.unlock();
      const auto now = Clock::now();
      auto wake = now + std::chrono::seconds(1);
      for (auto& c : cameras_) {
        if (c->next_due <= now) {
          c->Tick();
          c->next_due += c->interval();
          if (c->next_due < now - std::chrono::seconds(1)) c->next_due = now + c->interval();
        }
        wake = std::min(wake, c->next_due);
      }
      lock.lock();
      pacer_cv_.wait_until(lock, wake, [this] { return pacer_stop_; });
    }
  }

  struct ServerUnref {
    void operator()(GstRTSPServer* s) const { g_object_unref(s); }
  };

  ServerOptions options_;
  std::vector<std::unique_ptr<Camera>> cameras_;
  GMainContext* context_ = nullptr;
  GMainLoop* loop_ = nullptr;
  std::unique_ptr<GstRTSPServer, ServerUnref> server_;
  guint source_id_ = 0;
  int port_ = 0;

  std::mutex mu_;
  bool started_ = false;
  bool stopped_ = false;
  bool pacer_stop_ = false;
  std::condition_variable pacer_cv_;
  std::promise<void>* closed_ = nullptr;
  std::thread main_thread_;
  std::thread pacer_;
};

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  auto impl = std::make_unique<Impl>();
  SKYNET_RETURN_IF_ERROR(impl->Init(std::move(options)));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

Status Server::Start() { return impl_->Start(); }
void Server::Stop() { impl_->Stop(); }
int Server::port() const { return impl_->port(); }

std::string Server::Url(const std::string& name) const {
  return "rtsp://" + impl_->options().address + ":" + std::to_string(impl_->port()) + "/" + name;
}

Result<CameraStats> Server::Stats(const std::string& name) const { return impl_->Stats(name); }

}  // namespace skynet::camsim
