// Camera: one simulated camera inside camsim's Server (internal to skynet_camsim).
//
// Owns its mount's media factory and feeds every media the factory builds (normally one at a
// time: the media is shared by all clients of the mount). The payload faults live here:
// stall and garbage change what Tick() pushes, SetLoop() switches the encoded loop (resize),
// SetAuthRequired() changes the factory's permissions. Faults on connections (stop, kill,
// restart) are applied by the Server, which owns the clients and the mount points.
//
// Threads: media callbacks run on gst-rtsp-server threads, Tick() and next_due on the
// server's pacing thread only, Stats() and the fault setters on any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "tools/camsim/camera_spec.h"
#include "tools/camsim/camsim.h"
#include "tools/camsim/encoded_loop.h"

namespace skynet::camsim {

// Always held by shared_ptr: signal handlers hold a weak_ptr, so a media that is torn down
// late (after its Camera) finds the camera gone instead of dangling.
class Camera : public std::enable_shared_from_this<Camera> {
 public:
  Camera(CameraSpec spec, std::shared_ptr<const EncodedLoop> loop);
  // Disconnects from any media still alive; they stop being fed.
  ~Camera();
  Camera(const Camera&) = delete;
  Camera& operator=(const Camera&) = delete;

  const CameraSpec& spec() const { return spec_; }

  // Builds the shared media factory; returns a new reference for the mount points
  // (transfer full). Call once, on a Camera owned by a shared_ptr.
  GstRTSPMediaFactory* MakeFactory();
  // The factory MakeFactory() built (borrowed), for mounting it again after stop/kill.
  GstRTSPMediaFactory* factory() const { return factory_.get(); }

  // Pushes the next access unit into every media that is playing and accepting data.
  void Tick() noexcept;
  // Time between Tick()s (1 / fps), and when the next one is due (pacing thread only).
  std::chrono::steady_clock::duration interval() const { return interval_; }
  std::chrono::steady_clock::time_point next_due;

  CameraStats Stats() const;

  // Fault controls (any thread). Stalled: push nothing, keep connections open. Garbage: flip
  // bytes in every pushed access unit. SetLoop: from the next keyframe on, serve `loop`
  // (same fps, any size, rendered with the picture fault `picture`, "" none) to every current
  // and future media.
  void SetStalled(bool stalled);
  void SetGarbage(bool garbage);
  void SetLoop(std::shared_ptr<const EncodedLoop> loop, std::string picture);
  // With auth required, only clients with the server's basic credentials (token role
  // "user") may use the mount; else anonymous clients too.
  void SetAuthRequired(bool required);
  void SetServing(bool serving);  // bookkeeping for Stats(); the Server (un)mounts
  void AddClientsClosed(int n);
  // True if `media` is one this camera feeds.
  bool Owns(GstRTSPMedia* media) const;

 private:
  struct ActiveMedia;

  static void OnMediaConfigure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer weak) noexcept;
  static void OnUnprepared(GstRTSPMedia* media, gpointer weak) noexcept;
  // Connects `handler` with a heap weak_ptr to this camera, freed with the handler.
  gulong ConnectWeak(gpointer instance, const char* signal, GCallback handler);
  void Configure(GstRTSPMedia* media) noexcept;
  void Forget(GstRTSPMedia* media) noexcept;
  void PushNext(ActiveMedia* m) noexcept;  // mu_ held

  struct FactoryUnref {
    void operator()(GstRTSPMediaFactory* f) const { g_object_unref(f); }
  };

  const CameraSpec spec_;
  std::shared_ptr<const EncodedLoop> loop_;  // guarded by mu_ (SetLoop)
  const std::chrono::steady_clock::duration interval_;
  void ApplyPermissions(bool auth_required);
  std::unique_ptr<GstRTSPMediaFactory, FactoryUnref> factory_;
  gulong configure_handler_ = 0;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<ActiveMedia>> medias_;  // guarded by mu_
  CameraStats stats_;  // guarded by mu_ (active_medias unused); holds the fault flags
  uint64_t garbage_seed_ = 0x9e3779b97f4a7c15ULL;  // guarded by mu_
};

}  // namespace skynet::camsim
