#include "tools/camsim/camera_spec.h"

#include <charconv>

#include "tools/scenegen/scene.h"

namespace skynet::camsim {
namespace {

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string PictureFaultNames() { return "cover, blur, knock, freeze, tint"; }

std::string SceneNames() {
  std::string names;
  for (scenegen::SceneKind k : scenegen::AllSceneKinds()) {
    names += (names.empty() ? "" : ", ") + std::string(scenegen::SceneKindName(k));
  }
  return names;
}

Status ValidateCameraSpec(const CameraSpec& s) {
  const std::string where = "camera '" + s.name + "': ";
  if (!ValidName(s.name)) {
    return Status::InvalidArgument(where + "name must be 1-64 of [A-Za-z0-9._-]");
  }
  if (s.scene != "file" && !scenegen::ParseSceneKind(s.scene).ok()) {
    return Status::InvalidArgument(where + "scene must be file or a scenegen kind (" +
                                   SceneNames() + "), got '" + s.scene + "'");
  }
  if (s.scene == "file" && s.file.empty()) {
    return Status::InvalidArgument(where + "scene file needs a file path");
  }
  if (s.width < 64 || s.height < 64 || s.width > 3840 || s.height > 2160 || s.width % 2 ||
      s.height % 2) {
    return Status::InvalidArgument(where + "size must be even and within 64x64..3840x2160, got " +
                                   std::to_string(s.width) + "x" + std::to_string(s.height));
  }
  if (s.fps < 1 || s.fps > 60) {
    return Status::InvalidArgument(where + "fps must be 1..60, got " + std::to_string(s.fps));
  }
  if (s.bitrate_kbps < 16 || s.bitrate_kbps > 100000) {
    return Status::InvalidArgument(where + "bitrate_kbps must be 16..100000, got " +
                                   std::to_string(s.bitrate_kbps));
  }
  if (s.codec != "h264" && s.codec != "h265") {
    return Status::InvalidArgument(where + "codec must be h264 or h265, got '" + s.codec + "'");
  }
  if (s.bframes < 0 || s.bframes > 3) {
    return Status::InvalidArgument(where + "bframes must be 0..3, got " +
                                   std::to_string(s.bframes));
  }
  if (!s.picture.empty()) {
    const std::string names = ", " + PictureFaultNames() + ",";
    if (names.find(", " + s.picture + ",") == std::string::npos) {
      return Status::InvalidArgument(where + "picture fault must be one of " +
                                     PictureFaultNames() + ", got '" + s.picture + "'");
    }
    if (s.scene == "file") {
      return Status::InvalidArgument(where + "picture faults need a rendered scene, not a file");
    }
  }
  if (s.loop_seconds < 1 || s.loop_seconds > 600) {
    return Status::InvalidArgument(where + "loop_seconds must be 1..600, got " +
                                   std::to_string(s.loop_seconds));
  }
  return Status::Ok();
}

Status ParseSize(std::string_view text, int* width, int* height) {
  auto x = text.find('x');
  if (x == std::string_view::npos || !ParseInt(text.substr(0, x), width) ||
      !ParseInt(text.substr(x + 1), height)) {
    return Status::InvalidArgument("size '" + std::string(text) + "': expected WxH, e.g. 640x360");
  }
  return Status::Ok();
}

Result<CameraSpec> ParseCameraFlag(std::string_view text, const CameraSpec& defaults) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("--camera '" + std::string(text) + "': " + why +
                                   " (expected NAME:SCENE[:WxH[@FPS]])");
  };
  CameraSpec spec = defaults;
  auto c1 = text.find(':');
  if (c1 == std::string_view::npos) return bad("missing scene");
  spec.name = std::string(text.substr(0, c1));
  std::string_view rest = text.substr(c1 + 1);
  auto c2 = rest.find(':');
  spec.scene = std::string(rest.substr(0, c2));
  if (!scenegen::ParseSceneKind(spec.scene).ok()) {
    return bad("scene must be one of " + SceneNames());
  }
  if (c2 != std::string_view::npos) {
    std::string_view geom = rest.substr(c2 + 1);
    auto at = geom.find('@');
    if (!ParseSize(geom.substr(0, at), &spec.width, &spec.height).ok()) return bad("bad WxH");
    if (at != std::string_view::npos && !ParseInt(geom.substr(at + 1), &spec.fps)) {
      return bad("bad FPS");
    }
  }
  Status st = ValidateCameraSpec(spec);
  if (!st.ok()) return bad(st.message());
  return spec;
}

}  // namespace skynet::camsim
