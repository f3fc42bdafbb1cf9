// skynet-scenegen: renders a synthetic road scene to an H.264 file with its exact ground truth
// and a skynetd config for it, for evaluation (tools/eval) and tests.
//
//   skynet-scenegen --scene night-rain --seconds 90 --fps 10 --size 640x360 --seed 1 --out DIR
//     -> DIR/night-rain.mp4, DIR/night-rain.truth.json, DIR/night-rain.yaml
//   skynet-scenegen --scene road-night --seconds 60 --fps 25 --seed 2 --out DIR
//     -> the frame size follows the seed (scene.h: RoadFrameSize) unless --size is given
//   skynet-scenegen --list
//   skynet-scenegen --scene road-day --seed 1 --truth-only --out DIR  (truth and config only)
//   skynet-scenegen --scene road-rain --size 640x360 --seconds 45 --fault cover --fault-at 14
//     --fault-seed 3 --out DIR  -> DIR/road-rain-cover.{mp4,truth.json,yaml} (--name: other name)
//
// Truth JSON: {"scene" (the clip's name), "scene_kind", "seed", "fps", "width", "height",
//   "frames_total", "duration",
//   "masks": [[[x,y],...]],
//   "frames": [{"i", "t", "moving_outside_masks", "objects": [{"id", "class", "box": [x,y,w,h],
//               "visible", "speed_kmh", "anchor": [x,y], "colour" (cars and buses), along the
//               road also "distance_m", "ground": [x,y]}]}],
//   "calibration": {"image_points", "ground_points"} (scenes with vehicles only),
//   "camera": {"x_m", "height_m", "pitch_deg", "yaw_deg", "hfov_deg", "focal_px"} (along the
//   road only; zones and lanes then also carry "ground": [[x,y],...] in metres),
//   "lines": [{"id", "a", "b"}], "crossings": [{"line", "id", "class", "t", "direction"}],
//   "zones": [{"id", "polygon", "no_parking", "max_stop_ms"}], "stops": [{"id", "zone", "begin",
//   "end"}], "lanes": [{"id", "polygon", "direction"}], "wrong_way": [{"id", "lane", "begin",
//   "end"}], "tracks": [{"id", "class", "first", "last", "speed_kmh"}],
//   "fault": {"kind", "start", "seed", "parameters": {...}} (with --fault only; picture_fault.h)}
// Boxes and anchors in pixels of the generated video; geometry normalised; times in seconds
// (scene.h: ObjectTruth, SceneGeometry, ClipTruth). Exit codes: 0 done, 2 bad arguments,
// 1 failure.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/videoio.hpp>
#include <string>

#include "tools/scenegen/scene.h"

namespace {

namespace fs = std::filesystem;
using skynet::scenegen::SceneKind;
using skynet::scenegen::SceneRenderer;

int Fail(int code, const std::string& message) {
  std::cerr << "skynet-scenegen: " << message << "\n";
  return code;
}

bool ParseSize(const std::string& text, int* w, int* h) {
  const auto x = text.find('x');
  if (x == std::string::npos) return false;
  try {
    size_t used = 0;
    *w = std::stoi(text.substr(0, x), &used);
    if (used != x) return false;
    *h = std::stoi(text.substr(x + 1), &used);
    return used == text.size() - x - 1;
  } catch (const std::exception&) {
    return false;
  }
}

std::string Num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

std::string Point(cv::Point2d p) { return "[" + Num(p.x) + ", " + Num(p.y) + "]"; }

std::string Polygon(const skynet::scenegen::NormalizedPolygon& polygon) {
  std::string y = "[";
  for (size_t i = 0; i < polygon.size(); ++i) {
    y += (i ? ", " : "") + Point(cv::Point2d(polygon[i].x, polygon[i].y));
  }
  return y + "]";
}

// The camera's vehicles: section: calibration and the rule geometry of the truth.
std::string VehiclesYaml(const skynet::scenegen::SceneGeometry& g) {
  std::string y;
  y += "    vehicles:\n";
  y += "      enabled: true\n";
  y += "      backend: classical\n";
  y += "      calibration:\n";
  auto points = [](const std::vector<cv::Point2d>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + Point(v[i]);
    return s + "]";
  };
  y += "        image_points: " + points(g.image_points) + "\n";
  y += "        ground_points: " + points(g.ground_points) + "\n";
  y += "      rules:\n";
  y += "        lines:\n";
  for (const auto& l : g.lines) {
    y += "          - {id: " + l.id + ", a: " + Point(l.a) + ", b: " + Point(l.b) +
         ", count: both}\n";
  }
  if (!g.zones.empty()) {
    y += "        zones:\n";
    for (const auto& z : g.zones) {
      y += "          - {id: " + z.id + ", polygon: " + Polygon(z.polygon) +
           ", no_parking: " + (z.no_parking ? "true" : "false") +
           ", max_stop_ms: " + std::to_string(z.max_stop_ms) + "}\n";
    }
  }
  y += "        lanes:\n";
  for (const auto& l : g.lanes) {
    y += "          - {id: " + l.id + ", polygon: " + Polygon(l.polygon) +
         ", direction: " + Point(l.direction) + "}\n";
  }
  return y;
}

// A camera config for skynetd whose one camera, named after the scene, plays the video and
// masks what the scene recommends; with vehicles, its vehicles: section has the truth's
// calibration, counting line, lanes and zones.
std::string CameraYaml(const std::string& name, const fs::path& video, const SceneRenderer& r,
                       double analytics_fps = 5) {
  std::string y;
  y += "  - id: " + name + "\n";
  y += "    url: file://" + fs::absolute(video).lexically_normal().string() + "\n";
  y += "    analytics_fps: " + Num(analytics_fps) + "\n";
  y += "    detect_width: 320\n";
  y += "    file_realtime: false\n";
  y += "    file_loop: false\n";
  if (!r.RecommendedMasks().empty()) {
    y += "    motion:\n";
    y += "      masks:\n";
    for (const auto& polygon : r.RecommendedMasks()) {
      y += "        - [";
      for (size_t i = 0; i < polygon.size(); ++i) {
        char point[64];
        std::snprintf(point, sizeof point, "%s[%.2f, %.2f]", i ? ", " : "", polygon[i].x,
                      polygon[i].y);
        y += point;
      }
      y += "]\n";
    }
  }
  if (r.Geometry().has_vehicles) y += VehiclesYaml(r.Geometry());
  return y;
}

std::string ConfigYaml(const std::string& name, const fs::path& video, const SceneRenderer& r) {
  return "# Generated by skynet-scenegen for scene " + name +
         "; used by skynetd analyze.\nnode_id: scenegen\ncameras:\n" + CameraYaml(name, video, r);
}

nlohmann::json Json(cv::Point2d p) { return {p.x, p.y}; }

nlohmann::json Json(const skynet::scenegen::NormalizedPolygon& polygon) {
  nlohmann::json j = nlohmann::json::array();
  for (const cv::Point2f& p : polygon) j.push_back({p.x, p.y});
  return j;
}

nlohmann::json Json(const std::vector<cv::Point2d>& polygon) {
  nlohmann::json j = nlohmann::json::array();
  for (const cv::Point2d& p : polygon) j.push_back(Json(p));
  return j;
}

// The geometry and the clip's events, added to the truth's top level.
void AddClipTruth(const SceneRenderer& r, int64_t frames_total, nlohmann::json* truth) {
  const skynet::scenegen::SceneGeometry& g = r.Geometry();
  const skynet::scenegen::ClipTruth c = r.Truth(frames_total);
  nlohmann::json& t = *truth;
  t["duration"] = c.duration;
  if (g.has_vehicles) {
    nlohmann::json image = nlohmann::json::array(), ground = nlohmann::json::array();
    for (const cv::Point2d& p : g.image_points) image.push_back(Json(p));
    for (const cv::Point2d& p : g.ground_points) ground.push_back(Json(p));
    t["calibration"] = {{"image_points", image}, {"ground_points", ground}};
  }
  t["lines"] = nlohmann::json::array();
  for (const auto& l : g.lines)
    t["lines"].push_back({{"id", l.id}, {"a", Json(l.a)}, {"b", Json(l.b)}});
  t["zones"] = nlohmann::json::array();
  for (const auto& z : g.zones) {
    t["zones"].push_back({{"id", z.id},
                          {"polygon", Json(z.polygon)},
                          {"no_parking", z.no_parking},
                          {"max_stop_ms", z.max_stop_ms}});
    if (!z.ground.empty()) t["zones"].back()["ground"] = Json(z.ground);
  }
  t["lanes"] = nlohmann::json::array();
  for (const auto& l : g.lanes) {
    t["lanes"].push_back(
        {{"id", l.id}, {"polygon", Json(l.polygon)}, {"direction", Json(l.direction)}});
    if (!l.ground.empty()) t["lanes"].back()["ground"] = Json(l.ground);
  }
  if (g.has_camera) {
    t["camera"] = {{"x_m", g.camera.x_m},
                   {"height_m", g.camera.height_m},
                   {"pitch_deg", g.camera.pitch_deg},
                   {"yaw_deg", g.camera.yaw_deg},
                   {"hfov_deg", g.camera.hfov_deg},
                   {"focal_px", g.camera.focal_px}};
  }
  t["crossings"] = nlohmann::json::array();
  for (const auto& x : c.crossings) {
    t["crossings"].push_back({{"line", x.line},
                              {"id", x.track_id},
                              {"class", x.cls},
                              {"t", x.t},
                              {"direction", x.direction}});
  }
  t["stops"] = nlohmann::json::array();
  for (const auto& s : c.stops) {
    t["stops"].push_back(
        {{"id", s.track_id}, {"zone", s.zone}, {"begin", s.begin}, {"end", s.end}});
  }
  t["wrong_way"] = nlohmann::json::array();
  for (const auto& w : c.wrong_way) {
    t["wrong_way"].push_back(
        {{"id", w.track_id}, {"lane", w.lane}, {"begin", w.begin}, {"end", w.end}});
  }
  t["tracks"] = nlohmann::json::array();
  for (const auto& k : c.tracks) {
    t["tracks"].push_back({{"id", k.track_id},
                           {"class", k.cls},
                           {"first", k.first},
                           {"last", k.last},
                           {"speed_kmh", k.speed_kmh}});
  }
}

// Renders one clip of `r` as NAME.mp4 (unless truth_only) and NAME.truth.json in out_dir.
// Returns 0, or the exit code after printing why.
int WriteClip(const SceneRenderer& r, const std::string& scene, const std::string& out_dir,
              double seconds, double fps, int bitrate_kbps, bool truth_only, uint32_t seed) {
  const int width = r.options().width, height = r.options().height;
  const SceneRenderer* renderer = &r;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Fail(1, out_dir + ": " + ec.message());
  const fs::path video = fs::path(out_dir) / (scene + ".mp4");
  const fs::path truth_path = fs::path(out_dir) / (scene + ".truth.json");

  // H.264 in MP4 through GStreamer: the same encoder camsim uses, and what skynetd ingests. One
  // encoder thread: x264 with frame threads does not give the same bits twice, and the evaluation
  // must score the same video for the same seed.
  const int keyint = std::max(1, static_cast<int>(std::lround(2 * fps)));
  const std::string pipeline =
      "appsrc ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=veryfast threads=1 "
      "bitrate=" +
      std::to_string(bitrate_kbps) + " key-int-max=" + std::to_string(keyint) +
      " ! video/x-h264,profile=high ! h264parse ! mp4mux ! filesink location=\"" + video.string() +
      "\"";
  cv::VideoWriter writer;
  try {
    if (!truth_only) {
      writer.open(pipeline, cv::CAP_GSTREAMER, 0, fps, cv::Size(width, height), true);
    }
  } catch (const cv::Exception& e) {
    return Fail(1, "cannot start the encoder: " + std::string(e.what()));
  }
  if (!truth_only && !writer.isOpened()) {
    return Fail(
        1, "cannot start the encoder (OpenCV without GStreamer, or x264enc missing): " + pipeline);
  }

  nlohmann::json truth;
  truth["scene"] = scene;
  truth["scene_kind"] = skynet::scenegen::SceneKindName(r.options().kind);
  truth["seed"] = seed;
  truth["fps"] = fps;
  truth["width"] = width;
  truth["height"] = height;
  nlohmann::json masks = nlohmann::json::array();
  for (const auto& polygon : renderer->RecommendedMasks()) {
    nlohmann::json p = nlohmann::json::array();
    for (const cv::Point2f& pt : polygon) p.push_back({pt.x, pt.y});
    masks.push_back(p);
  }
  truth["masks"] = masks;
  if (const skynet::scenegen::PictureFaultOptions& f = renderer->options().fault;
      f.kind != skynet::scenegen::PictureFaultKind::kNone) {
    // The fault's own parameters, as drawn from its seed (the same renderer's).
    const skynet::scenegen::PictureFault fault(f, cv::Size(width, height), fps);
    truth["fault"] = {{"kind", skynet::scenegen::PictureFaultName(f.kind)},
                      {"start", f.start_s},
                      {"seed", f.seed},
                      {"parameters", fault.parameters()}};
  }
  nlohmann::json frames = nlohmann::json::array();
  const int64_t total = std::llround(seconds * fps);
  cv::Mat bgr;
  for (int64_t i = 0; i < total; ++i) {
    if (!truth_only) {
      renderer->Render(i, &bgr);
      writer.write(bgr);
    }
    nlohmann::json objects = nlohmann::json::array();
    for (const auto& o : renderer->Objects(i)) {
      objects.push_back({{"id", o.track_id},
                         {"class", o.cls},
                         {"box", {o.box.x, o.box.y, o.box.width, o.box.height}},
                         {"visible", o.visible},
                         {"speed_kmh", o.speed_kmh},
                         {"anchor", Json(o.anchor)}});
      if (!o.colour.empty()) objects.back()["colour"] = o.colour;
      if (o.distance_m >= 0) {
        objects.back()["distance_m"] = o.distance_m;
        objects.back()["ground"] = Json(o.ground);
      }
    }
    frames.push_back({{"i", i},
                      {"t", static_cast<double>(i) / fps},
                      {"moving_outside_masks", renderer->MovingOutsideMasks(i)},
                      {"objects", std::move(objects)}});
  }
  writer.release();
  truth["frames_total"] = total;
  truth["frames"] = std::move(frames);
  AddClipTruth(*renderer, total, &truth);

  if (!truth_only && (!fs::exists(video, ec) || fs::file_size(video, ec) == 0)) {
    return Fail(1, video.string() + ": the encoder wrote nothing");
  }
  std::ofstream tf(truth_path);
  tf << truth.dump() << "\n";
  tf.close();
  if (!tf) return Fail(1, "cannot write " + truth_path.string());
  if (!truth_only) std::printf("%s\n", video.string().c_str());
  std::printf("%s\n", truth_path.string().c_str());
  return 0;
}

// A multi-camera set (--cameras N): N cameras `spacing` metres apart down one road (camera k
// at k * spacing, its own geometry from seed * 1000 + k + 1), the same vehicles passing them in
// order: outbound ones camera 0 first, inbound ones the last camera first. Writes each camera's
// clip and truth as SCENE-camK.*, one config SCENE-set.yaml with every camera (a position each,
// 1e-5 degrees of latitude apart per 1.11 m, looking north along the road turned by the camera's
// yaw, and neighbours with the travel time at 50 km/h),
// and SCENE-set.json listing the cameras.
int WriteSet(SceneKind kind, const std::string& scene, int width, int height, double fps,
             uint32_t seed, int cameras, double spacing, const std::string& out_dir,
             double seconds, int bitrate_kbps, bool truth_only) {
  if (!skynet::scenegen::IsRoadScene(kind)) return Fail(2, "--cameras: needs a road-* scene");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Fail(1, out_dir + ": " + ec.message());
  const double travel_s = spacing / (50 / 3.6);
  std::string y = "# Generated by skynet-scenegen: " + std::to_string(cameras) +
                  " cameras along one road (" + scene + ", " + Num(spacing) +
                  " m apart); used by skynetd analyze.\nnode_id: scenegen\ncameras:\n";
  nlohmann::json set;
  set["scene"] = scene;
  set["seed"] = seed;
  set["spacing_m"] = spacing;
  set["travel_s"] = travel_s;
  set["cameras"] = nlohmann::json::array();
  auto name_of = [&](int k) { return scene + "-cam" + std::to_string(k); };
  for (int k = 0; k < cameras; ++k) {
    skynet::scenegen::SceneOptions o{
        .kind = kind, .width = width, .height = height, .fps = fps, .seed = seed, .fault = {}};
    o.camera_along_m = k * spacing;
    o.road_extra_m = (cameras - 1) * spacing;
    o.camera_seed = seed * 1000 + static_cast<uint32_t>(k) + 1;
    auto renderer = SceneRenderer::Create(o);
    if (!renderer.ok()) return Fail(2, renderer.status().message());
    const std::string name = name_of(k);
    if (int rc = WriteClip(**renderer, name, out_dir, seconds, fps, bitrate_kbps, truth_only, seed);
        rc != 0) {
      return rc;
    }
    // Every frame of 10 fps analysed: the crossing times that pair sightings are sharper.
    y += CameraYaml(name, fs::path(out_dir) / (name + ".mp4"), **renderer, std::min(fps, 10.0));
    // The road runs north (+y of the ground frame); the camera looks along it, turned by its yaw
    // (positive towards +x, east).
    char position[128];
    std::snprintf(position, sizeof position,
                  "    position: {lat: %.7f, lon: 121.4737000, bearing_deg: %.1f}\n",
                  31.23 + k * spacing / 111320.0,
                  std::fmod((*renderer)->Geometry().camera.yaw_deg + 360, 360));
    y += position;
    y += "    neighbours:\n";
    for (int j : {k - 1, k + 1}) {
      if (j < 0 || j >= cameras) continue;
      y += "      - {camera: " + name_of(j) + ", travel_s: " + Num(travel_s) + "}\n";
    }
    set["cameras"].push_back({{"id", name},
                              {"along_m", k * spacing},
                              {"truth", name + ".truth.json"},
                              {"video", name + ".mp4"}});
  }
  const fs::path config_path = fs::path(out_dir) / (scene + "-set.yaml");
  const fs::path set_path = fs::path(out_dir) / (scene + "-set.json");
  std::ofstream cf(config_path);
  cf << y;
  std::ofstream sf(set_path);
  sf << set.dump(1) << "\n";
  cf.close();
  sf.close();
  if (!cf || !sf) return Fail(1, "cannot write " + config_path.string());
  std::printf("%s\n%s\n", config_path.string().c_str(), set_path.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"skynet-scenegen: synthetic road scenes with ground truth"};
  std::string scene = "traffic", size, out_dir = ".";
  double seconds = 60, fps = 10;
  uint32_t seed = 1;
  int bitrate_kbps = 2000;
  bool list = false, truth_only = false;
  std::string fault_name = "none", name;
  double fault_at = 0;
  uint32_t fault_seed = 0;
  app.add_flag("--list", list, "list the scenes and exit");
  app.add_flag("--truth-only", truth_only,
               "write the truth and the config but no video (the truth is the same as with it)");
  app.add_option("--scene", scene, "scene name (see --list)")->capture_default_str();
  app.add_option("--seconds", seconds, "length of the video")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--fps", fps, "frame rate")->capture_default_str()->check(CLI::Range(1.0, 60.0));
  app.add_option("--size", size,
                 "WxH, both even (default 640x360; road-* scenes: by seed, 1280x720, 1920x1080 "
                 "or 960x540)");
  app.add_option("--seed", seed, "scene seed")->capture_default_str();
  app.add_option("--bitrate", bitrate_kbps, "H.264 bitrate in kbit/s")
      ->capture_default_str()
      ->check(CLI::Range(64, 100000));
  app.add_option("--out", out_dir, "output directory (created if missing)")->capture_default_str();
  app.add_option("--fault", fault_name,
                 "a camera picture fault from --fault-at on: none, cover, paint, defocus, knock, "
                 "freeze, cast, noise, black (single camera; the truth gets \"fault\")")
      ->capture_default_str();
  app.add_option("--fault-at", fault_at, "seconds from the start at which the fault begins")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--fault-seed", fault_seed,
                 "varies the fault's shape, position and strength (default: --seed)");
  app.add_option("--name", name,
                 "base name of the files and the camera (default: the scene, with --fault "
                 "SCENE-FAULT)");
  int cameras = 1;
  double spacing = 100;
  app.add_option("--cameras", cameras,
                 "road-* scenes: a set of this many cameras along one road, the same vehicles "
                 "passing them in order (SCENE-camK.mp4/.truth.json, SCENE-set.yaml)")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  app.add_option("--spacing", spacing, "with --cameras: metres between the cameras")
      ->capture_default_str()
      ->check(CLI::Range(20.0, 2000.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (list) {
    for (SceneKind k : skynet::scenegen::AllSceneKinds()) {
      std::printf("%-17s %s\n", skynet::scenegen::SceneKindName(k),
                  skynet::scenegen::SceneKindDescription(k));
    }
    return 0;
  }
  auto kind = skynet::scenegen::ParseSceneKind(scene);
  if (!kind.ok()) return Fail(2, "--scene: " + kind.status().message());
  int width = 640, height = 360;
  if (size.empty() && skynet::scenegen::IsRoadScene(*kind)) {
    const cv::Size s = skynet::scenegen::RoadFrameSize(seed);
    width = s.width;
    height = s.height;
  } else if (!size.empty() && !ParseSize(size, &width, &height)) {
    return Fail(2, "--size: expected WxH, got '" + size + "'");
  }
  auto fault = skynet::scenegen::ParsePictureFault(fault_name);
  if (!fault.ok()) return Fail(2, "--fault: " + fault.status().message());
  if (*fault != skynet::scenegen::PictureFaultKind::kNone && cameras > 1) {
    return Fail(2, "--fault: not with --cameras");
  }
  if (*fault != skynet::scenegen::PictureFaultKind::kNone && fault_at >= seconds) {
    return Fail(2, "--fault-at: must be before the end of the video (--seconds)");
  }
  skynet::scenegen::SceneOptions options{
      .kind = *kind, .width = width, .height = height, .fps = fps, .seed = seed, .fault = {}};
  options.fault = {.kind = *fault, .start_s = fault_at, .seed = fault_seed ? fault_seed : seed};
  auto renderer = SceneRenderer::Create(options);
  if (!renderer.ok()) return Fail(2, renderer.status().message());
  if (name.empty()) {
    name = *fault == skynet::scenegen::PictureFaultKind::kNone
               ? scene
               : scene + "-" + skynet::scenegen::PictureFaultName(*fault);
  }

  if (cameras > 1) return WriteSet(*kind, scene, width, height, fps, seed, cameras, spacing,
                                   out_dir, seconds, bitrate_kbps, truth_only);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Fail(1, out_dir + ": " + ec.message());
  if (int rc = WriteClip(**renderer, name, out_dir, seconds, fps, bitrate_kbps, truth_only, seed);
      rc != 0) {
    return rc;
  }
  const fs::path video = fs::path(out_dir) / (name + ".mp4");
  const fs::path config_path = fs::path(out_dir) / (name + ".yaml");
  std::ofstream cf(config_path);
  cf << ConfigYaml(name, video, **renderer);
  if (!cf) return Fail(1, "cannot write " + config_path.string());
  std::printf("%s\n", config_path.string().c_str());
  return 0;
}
