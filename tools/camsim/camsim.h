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
#include <string_view>
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
  // Basic-auth credentials that cameras with `auth on` (FaultCommand) require.
  std::string auth_user = "viewer";
  std::string auth_password = "camsim";
};

// A fault to inject into one camera, in the line protocol's words (ParseFaultLine):
//   stop CAM          close its clients (FIN); DESCRIBE gets 404 until start/restart
//   kill CAM          reset its clients (RST, SO_LINGER 0); 404 until start/restart
//   start CAM         serve again after stop/kill
//   restart CAM       stop, then serve again at once
//   stall CAM         keep TCP and RTCP up, send no more video
//   garbage CAM       flip bytes in the pushed H.264/H.265 access units
//   resume CAM        undo stall, garbage and a picture fault
//   cover|blur|knock|freeze|tint CAM
//                     a picture fault (CameraSpec::picture): the loop re-rendered with it,
//                     switched to at the next keyframe, until resume
//   resize CAM WxH    re-encode the loop at WxH and switch to it at the next keyframe
//   auth CAM on|off   require ServerOptions' basic credentials (401 without them)
struct FaultCommand {
  enum class Kind {
    kStop, kKill, kStart, kRestart, kStall, kGarbage, kResume, kResize, kAuth, kPicture };
  Kind kind = Kind::kStall;
  int width = 0;  // kResize
  int height = 0;
  bool on = true;  // kAuth
  std::string picture;  // kPicture: "cover", "blur", "knock", "freeze" or "tint"
};

// Parses "VERB CAMERA [ARG]" into `camera` and the command. InvalidArgument quoting the line.
Result<FaultCommand> ParseFaultLine(std::string_view line, std::string* camera);

// Counters of one camera, for tests and the (future) control interface.
struct CameraStats {
  uint64_t frames_sent = 0;     // access units pushed into any media of this camera
  uint64_t frames_skipped = 0;  // paced frames dropped because the media was not flowing
  uint64_t medias_created = 0;  // how many times a (shared) media was built for it
  int active_medias = 0;        // medias currently prepared
  uint64_t clients_closed = 0;  // clients closed or reset by stop/kill/restart
  bool serving = true;          // false after stop/kill until start/restart
  bool stalled = false;
  bool garbage = false;
  bool auth = false;
  std::string picture;  // the picture fault served ("" none)
  int width = 0;  // size of the loop being served
  int height = 0;
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

  // Injects a fault into one camera (see FaultCommand). Returns once it is in effect: clients
  // are closed or reset, a resized loop is encoded (blocks about a second). NotFound for an
  // unknown camera, InvalidArgument for a bad size or a picture fault on a file camera,
  // Internal if not started.
  Status Fault(const std::string& camera, const FaultCommand& command);
  // Parses and applies one control line ("stall cam1"); the reply the control port sends.
  Status Control(std::string_view line);

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace skynet::camsim
