// skynet-camsim: serves simulated RTSP cameras until SIGINT/SIGTERM.
//
// stdout carries only one URL line per camera, then "control 127.0.0.1:PORT" with
// --control-port, then "ready" (tests and scripts wait for it); logs go to stderr. Exit codes:
// 0 after a signal, 2 for bad arguments, 1 otherwise.
//
// The control port takes one fault command per line and answers "ok" or "error: ...":
//   stop CAM | kill CAM | start CAM | restart CAM | stall CAM | garbage CAM | resume CAM |
//   resize CAM WxH | auth CAM on|off |
//   cover CAM | blur CAM | knock CAM | freeze CAM | tint CAM   (picture faults, until resume)
//   (see FaultCommand in camsim.h)
//
//   skynet-camsim --port 8554 --traffic 4 --static 1          # cam1..cam4, static1
//   skynet-camsim --port 0 --camera north:traffic:1280x720@25 --codec h265
//   skynet-camsim --file clip.mp4 --loop-seconds 30             # file1
//   skynet-camsim --traffic 2 --control-port 0    # then: echo "stall cam1" | nc 127.0.0.1 PORT
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "pipeline/core/logging.h"
#include "tools/camsim/camsim.h"
#include "tools/camsim/control_port.h"

namespace {

int BadArgument(const std::string& message) {
  std::cerr << "skynet-camsim: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists, so only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  using skynet::camsim::CameraSpec;
  CLI::App app{"skynet-camsim: simulated RTSP traffic cameras"};
  skynet::camsim::ServerOptions options;
  options.port = 8554;
  CameraSpec defaults;
  std::vector<std::string> camera_flags, files;
  int traffic = 0, still = 0;
  std::string size = "640x360", log_level = "info";
  bool vary_seed = false;
  int control_port = -1;
  app.add_option("--port", options.port, "RTSP port; 0 picks a free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--address", options.address, "listen address")->capture_default_str();
  app.add_option(
      "--camera", camera_flags,
      "NAME:SCENE[:WxH[@FPS]], SCENE one of " + skynet::camsim::SceneNames() + " (repeatable)");
  app.add_option("--traffic", traffic, "add traffic cameras cam1..camN")
      ->check(CLI::Range(0, 1000));
  app.add_option("--static", still, "add static cameras static1..staticM")
      ->check(CLI::Range(0, 1000));
  app.add_option("--file", files, "add a camera looping this video file (file1, file2, ...)")
      ->check(CLI::ExistingFile);
  app.add_option("--size", size, "default WxH")->capture_default_str();
  app.add_option("--fps", defaults.fps, "default frame rate")
      ->capture_default_str()
      ->check(CLI::Range(1, 60));
  app.add_option("--bitrate", defaults.bitrate_kbps, "encoder bitrate in kbit/s")
      ->capture_default_str()
      ->check(CLI::Range(16, 100000));
  app.add_option("--codec", defaults.codec, "h264 | h265")
      ->capture_default_str()
      ->check(CLI::IsMember({"h264", "h265"}));
  app.add_option("--bframes", defaults.bframes,
                 "non-reference B frames between reference pictures (2: two of three "
                 "pictures disposable)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3));
  app.add_option("--loop-seconds", defaults.loop_seconds, "length of the encoded loop")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  app.add_option("--seed", defaults.seed, "scene seed")->capture_default_str();
  app.add_flag("--vary-seed", vary_seed,
               "give --traffic camera i the seed SEED+i-1 (default: all share one loop)");
  app.add_option("--control-port", control_port,
                 "line-protocol fault control on 127.0.0.1:PORT (0 picks a free one): stop, "
                 "kill, start, restart, stall, garbage, resume, resize, auth, and the picture "
                 "faults cover, blur, knock, freeze, tint (until resume)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--auth-user", options.auth_user, "basic-auth user of cameras with auth on")
      ->capture_default_str();
  app.add_option("--auth-password", options.auth_password, "basic-auth password")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return BadArgument(e.what());
  }

  if (!skynet::SetLogLevel(log_level))
    return BadArgument("--log-level: unknown level '" + log_level + "'");
  skynet::InitLogging(log_level);
  if (auto st = skynet::camsim::ParseSize(size, &defaults.width, &defaults.height); !st.ok()) {
    return BadArgument("--size: " + st.message());
  }
  for (const std::string& flag : camera_flags) {
    auto spec = skynet::camsim::ParseCameraFlag(flag, defaults);
    if (!spec) return BadArgument(spec.status().message());
    options.cameras.push_back(*spec);
  }
  for (int i = 1; i <= traffic; ++i) {
    CameraSpec c = defaults;
    c.name = "cam" + std::to_string(i);
    if (vary_seed) c.seed = defaults.seed + static_cast<uint32_t>(i - 1);
    options.cameras.push_back(c);
  }
  for (int i = 1; i <= still; ++i) {
    CameraSpec c = defaults;
    c.name = "static" + std::to_string(i);
    c.scene = "static";
    options.cameras.push_back(c);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    CameraSpec c = defaults;
    c.name = "file" + std::to_string(i + 1);
    c.scene = "file";
    c.file = files[i];
    options.cameras.push_back(c);
  }
  if (options.cameras.empty()) {
    return BadArgument("no cameras: give --camera, --traffic, --static or --file");
  }
  for (const CameraSpec& c : options.cameras) {
    if (auto st = skynet::camsim::ValidateCameraSpec(c); !st.ok()) {
      return BadArgument("--" + std::string(c.scene == "file" ? "file" : "camera") + " " +
                         st.message());
    }
  }

  auto server = skynet::camsim::Server::Create(options);
  if (!server) {
    std::cerr << "skynet-camsim: " << server.status().ToString() << "\n";
    return server.status().code() == skynet::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (auto st = (*server)->Start(); !st.ok()) {
    std::cerr << "skynet-camsim: " << st.ToString() << "\n";
    return 1;
  }
  std::unique_ptr<skynet::camsim::ControlPort> control;
  if (control_port >= 0) {
    skynet::camsim::Server* s = server->get();
    auto started = skynet::camsim::ControlPort::Start(control_port, [s](std::string_view line) {
      const skynet::Status st = s->Control(line);
      return st.ok() ? std::string("ok") : "error: " + st.message();
    });
    if (!started) {
      std::cerr << "skynet-camsim: " << started.status().ToString() << "\n";
      return 1;
    }
    control = std::move(*started);
  }
  for (const CameraSpec& c : options.cameras) std::cout << (*server)->Url(c.name) << "\n";
  if (control) std::cout << "control 127.0.0.1:" << control->port() << "\n";
  std::cout << "ready" << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  skynet::GetLogger("camsim")->info("signal {}: stopping", sig);
  control.reset();  // no fault command runs during Stop()
  (*server)->Stop();
  return 0;
}
