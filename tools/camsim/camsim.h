// camsim: an in-process RTSP camera simulator on gst-rtsp-server, for tests and demos.
//
// Each camera serves a short loop that was rendered (or decoded from a file) and encoded once
// at Create(); serving only re-timestamps the stored access units, so dozens of cameras and
// clients are cheap. Each camera's media is shared by all its clients, paced in real time, and
// is rebuilt transparently when the last client leaves and a new one arrives.
//
//   ServerOptions opts{.cameras = {{.name = "cam1"}, {.name = "s1", .scene = "static"}}};
//   auto server = Server::Create(opts);
//   if (!server.ok() || !(*server)->Start().ok()) ...;
//   std::string url = (*server)->Url("cam1");  // rtsp://127.0.0.1:40123/cam1
//
// Thread-safe: all methods may be called from any thread; Stop() is idempotent. The server
// runs its own GMainContext thread and one pacing thread; callbacks never call back into the
// caller.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/core/status.h"
#include "tools/camsim/camera_spec.h"

namespace skynet::camsim {

struct ServerOptions {
  // Address to listen on.
  std::string address = "127.0.0.1";
  // TCP port for RTSP; 0 picks a free port (see Server::port()).
  int port = 0;
  // Cameras to serve; names must be unique.
  std::vector<CameraSpec> cameras;
};

// Counters of one camera, for tests and the (future) control interface.
struct CameraStats {
  uint64_t frames_sent = 0;     // access units pushed into any media of this camera
  uint64_t frames_skipped = 0;  // paced frames dropped because the media was not flowing
  uint64_t medias_created = 0;  // how many times a (shared) media was built for it
  int active_medias = 0;        // medias currently prepared
};

class Server {
 public:
  // Validates the specs, renders/decodes and encodes every distinct loop (blocking; about a
  // second per distinct 20 s loop at 640x360), and binds the RTSP port. InvalidArgument names
  // the camera and field; Unavailable if an encoder/decoder element is missing or the port
  // cannot be bound; IoError if a file camera's file cannot be decoded.
  static Result<std::unique_ptr<Server>> Create(ServerOptions options);
  ~Server();  // Stop()s.

  // Starts the main-loop and pacing threads. Internal if already started or stopped.
  Status Start();
  // Disconnects all clients, stops the threads. Idempotent.
  void Stop();

  int port() const;
  // "rtsp://ADDRESS:PORT/NAME" (whether or not such a camera exists); a wildcard address
  // (0.0.0.0, ::) is given as loopback, an IPv6 address in brackets.
  std::string Url(const std::string& name) const;
  // NotFound for an unknown camera.
  Result<CameraStats> Stats(const std::string& name) const;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace skynet::camsim
