// CameraSpec: what one simulated RTSP camera serves, and how the CLI spells it.
//
// Pure values, no GStreamer: the CLI and tests build specs, Server::Create() validates them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/status.h"

namespace skynet::camsim {

struct CameraSpec {
  // Mount path "/<name>"; letters, digits, '-', '_' and '.'; unique within a server.
  std::string name{};
  // A skynet_scene kind, rendered ("traffic", "static", "night-rain", "illumination",
  // "shake", "empty"; see SceneNames()), or "file" (decoded from `file`).
  std::string scene = "traffic";
  // For scene "file": any file GStreamer can decode; its first loop_seconds are looped.
  std::string file{};
  // Frame size (even, 64x64..3840x2160) and rate (1..60) of the served stream.
  int width = 640;
  int height = 360;
  int fps = 15;
  // Target encoder bitrate.
  int bitrate_kbps = 800;
  // "h264" | "h265" (h265 needs the x265enc element).
  std::string codec = "h264";
  // Seed of the rendered scene; cameras that differ only in name share one encoded loop.
  uint32_t seed = 1;
  // Length of the encoded loop; it starts on a keyframe and rendered scenes loop seamlessly.
  int loop_seconds = 20;
  // Non-reference B frames between reference pictures (0..3; H.265: TRAIL_N pictures): 2 makes
  // two of every three pictures disposable, as on cameras that encode B frames.
  int bframes = 0;
  // A picture fault rendered into the loop (rendered scenes only; see PictureFaultNames()):
  // "" none, "cover" (a uniform patch over ~45% x 55% of the view), "blur" (defocus), "knock"
  // (the view shifted 6% and rotated 4 degrees), "freeze" (the first frame repeated), "tint"
  // (blue x0.6, red x1.5).
  std::string picture{};
};

// "cover, blur, knock, freeze, tint".
std::string PictureFaultNames();

// The rendered scene kinds, comma-separated, for help and error texts.
std::string SceneNames();

// OK, or InvalidArgument naming the camera and the field: "camera 'cam1': fps must be ...".
Status ValidateCameraSpec(const CameraSpec& spec);

// Parses the CLI form NAME:SCENE[:WxH[@FPS]] (e.g. "cam1:traffic:1280x720@25") on top of
// `defaults`. Scene "file" is not accepted here (use --file). InvalidArgument quoting `text`.
Result<CameraSpec> ParseCameraFlag(std::string_view text, const CameraSpec& defaults);

// Parses "WxH" (e.g. "640x360").
Status ParseSize(std::string_view text, int* width, int* height);

}  // namespace skynet::camsim
