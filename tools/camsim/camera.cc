#include "tools/camsim/camera.h"

#include <algorithm>
#include <atomic>
#include <string>

#include <gst/app/gstappsrc.h>

#include "pipeline/core/logging.h"

namespace skynet::camsim {
namespace {

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

// Shared between a media entry and its appsrc's callbacks.
struct Flow {
  std::atomic<bool> accepting{true};  // appsrc's need-data / enough-data
};

}  // namespace

struct Camera::ActiveMedia {
  ObjPtr<GstRTSPMedia> media;
  ObjPtr<GstElement> appsrc;
  gulong unprepared_handler = 0;
  std::shared_ptr<Flow> flow;
  std::shared_ptr<const EncodedLoop> loop;  // the loop being fed (switched by SetLoop)
  size_t next_unit = 0;  // index into the loop
  uint64_t pushed = 0;   // since the media last started flowing
  GstClockTime first_pts = GST_CLOCK_TIME_NONE;
};

namespace {

// appsrc callbacks get a heap-allocated shared_ptr<Flow>, freed by appsrc itself, so they stay
// valid even if a media outlives its Camera entry.
void OnNeedData(GstAppSrc*, guint, gpointer data) noexcept {
  (*static_cast<std::shared_ptr<Flow>*>(data))->accepting = true;
}
void OnEnoughData(GstAppSrc*, gpointer data) noexcept {
  (*static_cast<std::shared_ptr<Flow>*>(data))->accepting = false;
}
void FreeFlow(gpointer data) noexcept { delete static_cast<std::shared_ptr<Flow>*>(data); }

void ReadSize(GstCaps* caps, int* width, int* height) {
  const GstStructure* s = caps ? gst_caps_get_structure(caps, 0) : nullptr;
  if (s) {
    gst_structure_get_int(s, "width", width);
    gst_structure_get_int(s, "height", height);
  }
}

// A deep copy of `unit` with about one byte in 48 flipped, past the first start code and NAL
// header, so parsers still find units but decoders see corrupt slices.
GstBuffer* Corrupt(GstBuffer* unit, uint64_t* seed) {
  GstMapInfo in;
  if (!gst_buffer_map(unit, &in, GST_MAP_READ)) return gst_buffer_copy(unit);
  GstBuffer* out = gst_buffer_new_memdup(in.data, in.size);
  gst_buffer_unmap(unit, &in);
  gst_buffer_copy_into(out, unit, GST_BUFFER_COPY_FLAGS, 0, static_cast<gsize>(-1));
  GstMapInfo w;
  if (gst_buffer_map(out, &w, GST_MAP_WRITE)) {
    for (gsize i = 8; i < w.size; ++i) {
      *seed ^= *seed << 13;  // xorshift64
      *seed ^= *seed >> 7;
      *seed ^= *seed << 17;
      if (*seed % 48 == 0) w.data[i] ^= static_cast<guint8>(0x5a | (*seed >> 56));
    }
    gst_buffer_unmap(out, &w);
  }
  return out;
}

}  // namespace

Camera::Camera(CameraSpec spec, std::shared_ptr<const EncodedLoop> loop)
    : spec_(std::move(spec)),
      loop_(std::move(loop)),
      interval_(std::chrono::nanoseconds(loop_->frame_duration)) {
  ReadSize(loop_->caps.get(), &stats_.width, &stats_.height);
}

Camera::~Camera() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& m : medias_) g_signal_handler_disconnect(m->media.get(), m->unprepared_handler);
  medias_.clear();
  if (factory_ && configure_handler_)
    g_signal_handler_disconnect(factory_.get(), configure_handler_);
}

GstRTSPMediaFactory* Camera::MakeFactory() {
  factory_.reset(gst_rtsp_media_factory_new());
  const bool h265 = loop_->codec == "h265";
  // is-live: the media behaves like a camera (no preroll, late joiners see "now"). Timestamps
  // are ours (do-timestamp=false): running time when the unit is pushed, evenly spaced.
  const std::string launch =
      std::string("( appsrc name=src is-live=true format=time do-timestamp=false ! ") +
      (h265 ? "h265parse ! rtph265pay" : "h264parse ! rtph264pay") +
      " name=pay0 pt=96 config-interval=1 )";
  gst_rtsp_media_factory_set_launch(factory_.get(), launch.c_str());
  gst_rtsp_media_factory_set_shared(factory_.get(), TRUE);
  ApplyPermissions(false);
  configure_handler_ =
      ConnectWeak(factory_.get(), "media-configure", G_CALLBACK(&Camera::OnMediaConfigure));
  return GST_RTSP_MEDIA_FACTORY(g_object_ref(factory_.get()));
}

void Camera::Tick() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& m : medias_) PushNext(m.get());
}

void Camera::SetStalled(bool stalled) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.stalled = stalled;
}

void Camera::SetGarbage(bool garbage) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.garbage = garbage;
}

void Camera::SetServing(bool serving) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.serving = serving;
}

void Camera::AddClientsClosed(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.clients_closed += static_cast<uint64_t>(n);
}

void Camera::SetLoop(std::shared_ptr<const EncodedLoop> loop, std::string picture) {
  std::lock_guard<std::mutex> lock(mu_);
  ReadSize(loop->caps.get(), &stats_.width, &stats_.height);
  stats_.picture = std::move(picture);
  loop_ = std::move(loop);
}

void Camera::SetAuthRequired(bool required) {
  ApplyPermissions(required);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.auth = required;
}

void Camera::ApplyPermissions(bool auth_required) {
  // Role "user" is what the server's basic credentials grant (camsim.cc). The marker makes the
  // server's auth check this factory at all; without it the camera is open.
  GstRTSPPermissions* perms = gst_rtsp_permissions_new();
  gst_rtsp_permissions_add_role(perms, "user", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN,
                                TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE,
                                nullptr);
  gst_rtsp_media_factory_set_permissions(factory_.get(), perms);  // takes its own ref
  gst_rtsp_permissions_unref(perms);
  g_object_set_data(G_OBJECT(factory_.get()), "camsim-auth-required",
                    auth_required ? GINT_TO_POINTER(1) : nullptr);
}

bool Camera::Owns(GstRTSPMedia* media) const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::any_of(medias_.begin(), medias_.end(),
                     [&](const auto& m) { return m->media.get() == media; });
}

CameraStats Camera::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  CameraStats s = stats_;
  s.active_medias = static_cast<int>(medias_.size());
  return s;
}

gulong Camera::ConnectWeak(gpointer instance, const char* signal, GCallback handler) {
  // GLib keeps the closure (and so this data) alive while an emission is running, even one
  // racing with the disconnect in ~Camera.
  return g_signal_connect_data(
      instance, signal, handler, new std::weak_ptr<Camera>(weak_from_this()),
      [](gpointer data, GClosure*) { delete static_cast<std::weak_ptr<Camera>*>(data); },
      GConnectFlags{});
}

void Camera::OnMediaConfigure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer weak) noexcept {
  if (auto self = static_cast<std::weak_ptr<Camera>*>(weak)->lock()) self->Configure(media);
}

void Camera::OnUnprepared(GstRTSPMedia* media, gpointer weak) noexcept {
  if (auto self = static_cast<std::weak_ptr<Camera>*>(weak)->lock()) self->Forget(media);
}

void Camera::Configure(GstRTSPMedia* media) noexcept {
  ObjPtr<GstElement> bin(gst_rtsp_media_get_element(media));
  ObjPtr<GstElement> src(bin ? gst_bin_get_by_name(GST_BIN(bin.get()), "src") : nullptr);
  if (!src) {
    Log()->error("[cam {}] media has no appsrc", spec_.name);
    return;
  }
  auto m = std::make_unique<ActiveMedia>();
  m->flow = std::make_shared<Flow>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    m->loop = loop_;
  }
  gst_app_src_set_caps(GST_APP_SRC(src.get()), m->loop->caps.get());
  // About one second of queue: enough to ride out the blocked pad while the media prepares,
  // small enough that a stalled media does not hoard memory.
  g_object_set(src.get(), "max-buffers", static_cast<guint64>(spec_.fps), "max-bytes",
               static_cast<guint64>(0), "max-time", static_cast<guint64>(0), nullptr);
  GstAppSrcCallbacks cbs{};
  cbs.need_data = &OnNeedData;
  cbs.enough_data = &OnEnoughData;
  gst_app_src_set_callbacks(GST_APP_SRC(src.get()), &cbs, new std::shared_ptr<Flow>(m->flow),
                            &FreeFlow);
  m->media.reset(GST_RTSP_MEDIA(g_object_ref(media)));
  m->appsrc = std::move(src);
  m->unprepared_handler = ConnectWeak(media, "unprepared", G_CALLBACK(&Camera::OnUnprepared));
  std::lock_guard<std::mutex> lock(mu_);
  medias_.push_back(std::move(m));
  ++stats_.medias_created;
  Log()->info("[cam {}] media created ({} active)", spec_.name, medias_.size());
}

void Camera::Forget(GstRTSPMedia* media) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(medias_.begin(), medias_.end(),
                         [&](const auto& m) { return m->media.get() == media; });
  if (it == medias_.end()) return;
  g_signal_handler_disconnect(media, (*it)->unprepared_handler);
  medias_.erase(it);
  Log()->info("[cam {}] media released ({} active)", spec_.name, medias_.size());
}

void Camera::PushNext(ActiveMedia* m) noexcept {
  GstElement* src = m->appsrc.get();
  GST_OBJECT_LOCK(src);
  const bool playing = GST_STATE(src) == GST_STATE_PLAYING;
  GstClock* clock = GST_ELEMENT_CLOCK(src);
  if (clock != nullptr) gst_object_ref(clock);
  const GstClockTime base = GST_ELEMENT_CAST(src)->base_time;
  GST_OBJECT_UNLOCK(src);
  ObjPtr<GstClock> clock_ref(clock);
  if (!playing || clock == nullptr) {
    // Not flowing (preparing, or torn down and about to be released): start again from the
    // keyframe at the head of the loop when it flows.
    m->next_unit = 0;
    m->first_pts = GST_CLOCK_TIME_NONE;
    m->pushed = 0;
    return;
  }
  if (stats_.stalled) return;  // TCP and RTCP stay up; the video just stops
  if (!m->flow->accepting) {
    ++stats_.frames_skipped;  // resume later with this same unit, so the GOP stays intact
    return;
  }
  if (m->loop != loop_) {
    // resize: the new loop starts on a keyframe with its SPS/PPS; parsers renegotiate.
    m->loop = loop_;
    m->next_unit = 0;
    gst_app_src_set_caps(GST_APP_SRC(src), m->loop->caps.get());
  }
  const EncodedLoop& loop = *m->loop;
  const GstClockTime now = gst_clock_get_time(clock);
  const GstClockTime running = now > base ? now - base : 0;
  const GstClockTime dur = loop.frame_duration;
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  if (m->first_pts != GST_CLOCK_TIME_NONE) pts = m->first_pts + m->pushed * dur;
  if (pts == GST_CLOCK_TIME_NONE ||
      std::abs(GST_CLOCK_DIFF(pts, running)) > static_cast<GstClockTimeDiff>(kMaxDrift)) {
    // Evenly spaced normally; re-anchored if the pacing thread fell far behind or ahead.
    m->first_pts = running >= m->pushed * dur ? running - m->pushed * dur : 0;
    pts = std::max(running, m->first_pts + m->pushed * dur);
  }
  GstBuffer* unit = loop.units[m->next_unit].get();
  GstBuffer* buf = stats_.garbage ? Corrupt(unit, &garbage_seed_)
                                  : gst_buffer_copy(unit);  // shares the memory
  GST_BUFFER_DTS(buf) = pts;
  GST_BUFFER_PTS(buf) = pts + static_cast<GstClockTime>(loop.pts_offset[m->next_unit]) * dur;
  GST_BUFFER_DURATION(buf) = dur;
  GST_BUFFER_FLAG_UNSET(buf, GST_BUFFER_FLAG_DISCONT);
  if (gst_app_src_push_buffer(GST_APP_SRC(src), buf) == GST_FLOW_OK) {  // takes buf
    ++stats_.frames_sent;
    ++m->pushed;
    m->next_unit = (m->next_unit + 1) % loop.units.size();
  }
}

}  // namespace skynet::camsim
