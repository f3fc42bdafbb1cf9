#include "tools/camsim/camsim.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <sys/socket.h>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "pipeline/core/logging.h"
#include "tools/camsim/camera.h"
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

// GstRTSPAuth with per-factory opt-in: a factory without the kAuthRequired data admits every
// client (a default token would not do: a role without permission gets 404, not 401).
constexpr const char* kAuthRequired = "camsim-auth-required";
gboolean (*parent_auth_check)(GstRTSPAuth*, GstRTSPContext*, const gchar*) = nullptr;

gboolean CamsimAuthCheck(GstRTSPAuth* auth, GstRTSPContext* ctx, const gchar* check) noexcept {
  if (g_str_has_prefix(check, "auth.check.media.factory.") && ctx && ctx->factory &&
      !g_object_get_data(G_OBJECT(ctx->factory), kAuthRequired)) {
    return TRUE;
  }
  return parent_auth_check(auth, ctx, check);
}

GType CamsimAuthType() {
  static const GType type = g_type_register_static_simple(
      GST_TYPE_RTSP_AUTH, "SkynetCamsimAuth", sizeof(GstRTSPAuthClass),
      [](gpointer klass, gpointer) {
        auto* k = GST_RTSP_AUTH_CLASS(klass);
        parent_auth_check = k->check;
        k->check = CamsimAuthCheck;
      },
      sizeof(GstRTSPAuth), nullptr, GTypeFlags(0));
  return type;
}

}  // namespace

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
    // Validate everything before the (slow) encoding.
    std::set<std::string> names;
    std::map<std::string, const CameraSpec*> distinct;  // loop key -> first camera using it
    for (const CameraSpec& spec : options_.cameras) {
      SKYNET_RETURN_IF_ERROR(ValidateCameraSpec(spec));
      if (!names.insert(spec.name).second) {
        return Status::InvalidArgument("camera '" + spec.name + "': duplicate name");
      }
      distinct.emplace(LoopKey(spec), &spec);
    }
    SKYNET_RETURN_IF_ERROR(EncodeAll(distinct));
    for (const CameraSpec& spec : options_.cameras) {
      cameras_.push_back(std::make_shared<Camera>(spec, loops_.at(LoopKey(spec))));
    }

    context_ = g_main_context_new();
    loop_ = g_main_loop_new(context_, FALSE);
    server_.reset(gst_rtsp_server_new());
    gst_rtsp_server_set_address(server_.get(), options_.address.c_str());
    gst_rtsp_server_set_service(server_.get(), std::to_string(options_.port).c_str());
    InstallAuth();
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
    struct CloseAll {
      GstRTSPServer* server;
      std::promise<void> done;
    } close_all{server_.get(), {}};
    auto closed = close_all.done.get_future();
    g_main_context_invoke_full(
        context_, G_PRIORITY_HIGH,
        [](gpointer data) noexcept -> gboolean {
          auto* c = static_cast<CloseAll*>(data);
          gst_rtsp_server_client_filter(
              c->server,
              [](GstRTSPServer*, GstRTSPClient*, gpointer) noexcept {
                return GST_RTSP_FILTER_REMOVE;
              },
              nullptr);
          c->done.set_value();
          return G_SOURCE_REMOVE;
        },
        &close_all, nullptr);
    if (closed.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      // The main loop is wedged; quitting it below still works, the invoke never runs.
      Log()->warn("closing clients timed out");
    }
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

  Status Fault(const std::string& name, const FaultCommand& command) {
    std::shared_ptr<Camera> cam;
    for (const auto& c : cameras_) {
      if (c->spec().name == name) cam = c;
    }
    if (!cam) return Status::NotFound("camera '" + name + "' not found");
    using Kind = FaultCommand::Kind;
    switch (command.kind) {
      case Kind::kStall:
        cam->SetStalled(true);
        break;
      case Kind::kGarbage:
        cam->SetGarbage(true);
        break;
      case Kind::kResume: {
        cam->SetStalled(false);
        cam->SetGarbage(false);
        CameraSpec spec = Served(*cam);
        if (spec.picture.empty()) break;
        spec.picture.clear();
        SKYNET_RETURN_IF_ERROR(Switch(*cam, spec));
        break;
      }
      case Kind::kAuth:
        cam->SetAuthRequired(command.on);
        break;
      case Kind::kResize: {
        CameraSpec spec = Served(*cam);
        spec.width = command.width;
        spec.height = command.height;
        SKYNET_RETURN_IF_ERROR(Switch(*cam, spec));
        break;
      }
      case Kind::kPicture: {
        CameraSpec spec = Served(*cam);
        spec.picture = command.picture;
        SKYNET_RETURN_IF_ERROR(Switch(*cam, spec));
        Log()->info("[cam {}] picture fault {}", name, command.picture);
        break;
      }
      case Kind::kStop:
      case Kind::kKill:
      case Kind::kRestart: {
        SKYNET_RETURN_IF_ERROR(Unmount(*cam));
        const int closed = CloseClients(cam, command.kind == Kind::kKill);
        if (closed < 0) return Status::Internal("camsim: main loop does not answer");
        Log()->info("[cam {}] {}: {} clients {}", name,
                    command.kind == Kind::kKill ? "kill" : "stop", closed,
                    command.kind == Kind::kKill ? "reset" : "closed");
        if (command.kind != Kind::kRestart) break;
        [[fallthrough]];
      }
      case Kind::kStart:
        Mount(*cam);
        break;
    }
    return Status::Ok();
  }

  // What `cam` serves now: its spec at the served size, with the served picture fault.
  static CameraSpec Served(const Camera& cam) {
    CameraSpec spec = cam.spec();
    const CameraStats st = cam.Stats();
    spec.width = st.width;
    spec.height = st.height;
    spec.picture = st.picture;
    return spec;
  }

  // Switches `cam` to the loop of `spec` (encoded once, then kept), at its next keyframe.
  Status Switch(Camera& cam, const CameraSpec& spec) {
    SKYNET_RETURN_IF_ERROR(ValidateCameraSpec(spec));
    std::shared_ptr<const EncodedLoop> loop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = loops_.find(LoopKey(spec)); it != loops_.end()) loop = it->second;
    }
    if (!loop) {
      auto encoded = EncodeLoop(spec);
      if (!encoded) return encoded.status();
      loop = *encoded;
      std::lock_guard<std::mutex> lock(mu_);
      loops_[LoopKey(spec)] = loop;
    }
    cam.SetLoop(loop, spec.picture);
    return Status::Ok();
  }

  Result<CameraStats> Stats(const std::string& name) const {
    for (const auto& c : cameras_) {
      if (c->spec().name == name) return c->Stats();
    }
    return Status::NotFound("camera '" + name + "' not found");
  }

 private:
  // Encodes each distinct loop once, a few at a time (rendering is single-threaded, so two
  // loops in parallel keep two cores busy). Returns the first failure in camera order.
  Status EncodeAll(const std::map<std::string, const CameraSpec*>& distinct) {
    std::vector<std::pair<std::string, const CameraSpec*>> jobs(distinct.begin(), distinct.end());
    std::vector<Status> results(jobs.size());
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t i = next++; i < jobs.size(); i = next++) {
        const CameraSpec& spec = *jobs[i].second;
        const auto t0 = Clock::now();
        auto encoded = EncodeLoop(spec);
        if (!encoded) {
          results[i] = encoded.status();
          continue;
        }
        Log()->info(
            "[cam {}] encoded {} s {} loop of {} ({} units) in {} ms", spec.name, spec.loop_seconds,
            spec.codec, spec.scene, (*encoded)->units.size(),
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
        std::lock_guard<std::mutex> lock(mu_);
        loops_[jobs[i].first] = *encoded;
      }
    };
    const size_t n_threads =
        std::min<size_t>(jobs.size(), std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
    std::vector<std::thread> threads;
    for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    for (const CameraSpec& spec : options_.cameras) {  // report in camera order
      for (size_t i = 0; i < jobs.size(); ++i) {
        if (jobs[i].second == &spec && !results[i].ok()) return results[i];
      }
    }
    return Status::Ok();
  }

  // Clients with the basic credentials get role "user", which every factory admits. Cameras
  // with auth off are open to anyone (CamsimAuthCheck); the others answer 401.
  void InstallAuth() {
    GstRTSPAuth* auth = GST_RTSP_AUTH(g_object_new(CamsimAuthType(), nullptr));
    GstRTSPToken* user =
        gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "user", nullptr);
    gchar* basic =
        gst_rtsp_auth_make_basic(options_.auth_user.c_str(), options_.auth_password.c_str());
    gst_rtsp_auth_add_basic(auth, basic, user);
    g_free(basic);
    gst_rtsp_token_unref(user);
    gst_rtsp_server_set_auth(server_.get(), auth);
    g_object_unref(auth);
  }

  Status Unmount(Camera& cam) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!started_ || stopped_) return Status::Internal("camsim: server not running");
    }
    ObjPtr<GstRTSPMountPoints> mounts(gst_rtsp_server_get_mount_points(server_.get()));
    gst_rtsp_mount_points_remove_factory(mounts.get(), ("/" + cam.spec().name).c_str());
    cam.SetServing(false);
    return Status::Ok();
  }

  void Mount(Camera& cam) {
    ObjPtr<GstRTSPMountPoints> mounts(gst_rtsp_server_get_mount_points(server_.get()));
    // Removing first makes start idempotent; the mount points take the new reference.
    gst_rtsp_mount_points_remove_factory(mounts.get(), ("/" + cam.spec().name).c_str());
    gst_rtsp_mount_points_add_factory(mounts.get(), ("/" + cam.spec().name).c_str(),
                                      GST_RTSP_MEDIA_FACTORY(g_object_ref(cam.factory())));
    cam.SetServing(true);
  }

  // Closes (FIN) or resets (RST: SO_LINGER 0 before close) every client with a session on
  // one of `cam`'s medias, on the main loop. Returns how many, or -1 if the loop is wedged.
  struct CloseJob {
    GstRTSPServer* server;
    Camera* cam;
    bool reset;
    int closed = 0;
    std::promise<void> done;
  };
  using Job = CloseJob;

  int CloseClients(const std::shared_ptr<Camera>& cam, bool reset) {
    auto job = std::make_shared<Job>();
    job->server = server_.get();
    job->cam = cam.get();
    job->reset = reset;
    auto done = job->done.get_future();
    g_main_context_invoke_full(
        context_, G_PRIORITY_HIGH,
        [](gpointer data) noexcept -> gboolean {
          auto* j = static_cast<std::shared_ptr<Job>*>(data)->get();
          gst_rtsp_server_client_filter(j->server, &Impl::FilterClient, j);
          j->done.set_value();
          return G_SOURCE_REMOVE;
        },
        new std::shared_ptr<Job>(job),
        [](gpointer data) noexcept { delete static_cast<std::shared_ptr<Job>*>(data); });
    if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return -1;
    cam->AddClientsClosed(job->closed);
    return job->closed;
  }

  static GstRTSPFilterResult FilterClient(GstRTSPServer*, GstRTSPClient* client,
                                          gpointer data) noexcept {
    auto* job = static_cast<Job*>(data);
    bool mine = false;
    // NULL filter functions return a list of new references to every session / media.
    GList* sessions = gst_rtsp_client_session_filter(client, nullptr, nullptr);
    for (GList* s = sessions; s && !mine; s = s->next) {
      GList* medias = gst_rtsp_session_filter(GST_RTSP_SESSION(s->data), nullptr, nullptr);
      for (GList* m = medias; m && !mine; m = m->next) {
        mine = job->cam->Owns(
            gst_rtsp_session_media_get_media(GST_RTSP_SESSION_MEDIA(m->data)));  // borrowed
      }
      g_list_free_full(medias, g_object_unref);
    }
    g_list_free_full(sessions, g_object_unref);
    if (!mine) return GST_RTSP_FILTER_KEEP;
    if (job->reset) {
      if (GstRTSPConnection* conn = gst_rtsp_client_get_connection(client)) {  // borrowed
        if (GSocket* sock = gst_rtsp_connection_get_read_socket(conn)) {        // borrowed
          const linger hard{1, 0};  // close() sends RST instead of FIN
          setsockopt(g_socket_get_fd(sock), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        }
      }
    }
    ++job->closed;
    return GST_RTSP_FILTER_REMOVE;  // closes the connection and drops its sessions
  }

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
  std::map<std::string, std::shared_ptr<const EncodedLoop>> loops_;  // by LoopKey()
  std::vector<std::shared_ptr<Camera>> cameras_;
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
  // A wildcard listen address is reachable locally on loopback.
  std::string host = impl_->options().address;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "rtsp://" + host + ":" + std::to_string(impl_->port()) + "/" + name;
}

Result<CameraStats> Server::Stats(const std::string& name) const { return impl_->Stats(name); }

Status Server::Fault(const std::string& camera, const FaultCommand& command) {
  return impl_->Fault(camera, command);
}

Status Server::Control(std::string_view line) {
  std::string camera;
  auto command = ParseFaultLine(line, &camera);
  if (!command) return command.status();
  return Fault(camera, *command);
}

Result<FaultCommand> ParseFaultLine(std::string_view line, std::string* camera) {
  std::istringstream in{std::string(line)};
  std::string verb, extra;
  std::vector<std::string> args;
  in >> verb >> *camera;
  while (in >> extra) args.push_back(extra);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("'" + std::string(line) + "': " + why);
  };
  if (verb.empty() || camera->empty()) return bad("expected VERB CAMERA [ARG]");
  using Kind = FaultCommand::Kind;
  static const std::map<std::string, Kind> kVerbs = {
      {"stop", Kind::kStop},       {"kill", Kind::kKill},       {"start", Kind::kStart},
      {"restart", Kind::kRestart}, {"stall", Kind::kStall},     {"garbage", Kind::kGarbage},
      {"resume", Kind::kResume},   {"resize", Kind::kResize},   {"auth", Kind::kAuth},
      {"cover", Kind::kPicture},   {"blur", Kind::kPicture},    {"knock", Kind::kPicture},
      {"freeze", Kind::kPicture},  {"tint", Kind::kPicture}};
  const auto it = kVerbs.find(verb);
  if (it == kVerbs.end()) {
    return bad(
        "unknown command (stop, kill, start, restart, stall, garbage, resume, resize, auth, "
        "cover, blur, knock, freeze, tint)");
  }
  FaultCommand c;
  c.kind = it->second;
  if (c.kind == Kind::kPicture) c.picture = verb;
  const size_t want = (c.kind == Kind::kResize || c.kind == Kind::kAuth) ? 1 : 0;
  if (args.size() != want) {
    return bad(c.kind == Kind::kResize ? "expected resize CAMERA WxH"
               : c.kind == Kind::kAuth ? "expected auth CAMERA on|off"
                                       : "unexpected argument");
  }
  if (c.kind == Kind::kResize) {
    if (Status st = ParseSize(args[0], &c.width, &c.height); !st.ok()) return bad(st.message());
  }
  if (c.kind == Kind::kAuth) {
    if (args[0] != "on" && args[0] != "off") return bad("expected on or off");
    c.on = args[0] == "on";
  }
  return c;
}

}  // namespace skynet::camsim
