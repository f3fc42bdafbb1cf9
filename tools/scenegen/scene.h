// SceneRenderer: a deterministic synthetic road scene for tests, benchmarks and camsim.
//
// Every frame is a pure function of (options, frame_index): frame i is computed analytically,
// without rendering frames 0..i-1, so any frame can be rendered in any order from any thread
// holding its own renderer. Objects() gives the ground truth (track id, class, pixel box) of
// the objects drawn in the same frame.
//
//   auto r = SceneRenderer::Create({.kind = SceneKind::kTraffic, .seed = 7});
//   cv::Mat bgr;
//   (*r)->Render(42, &bgr);                  // 640x360 CV_8UC3
//   auto truth = (*r)->Objects(42);          // what is in frame 42
//
// Thread-compatible: Render() and Objects() are const and do not mutate shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/status.h"

namespace skynet::scenegen {

// Which scene is rendered. Each kind is a road camera situation that motion detection must get
// right: traffic to detect, nuisances (light, rain, shake, trees, OSD clock) to ignore.
enum class SceneKind {
  kTraffic,       // day: vehicles in both directions, pedestrians on the sidewalks
  kStatic,        // the same background, nothing moves; every frame is pixel-identical
  kNightRain,     // night: dark road, headlights with beams, tail lights, street lamps, rain
                  // streaks, sensor noise, OSD clock
  kIllumination,  // an almost empty road under passing clouds, auto-exposure steps and IR
                  // day/night switches; sensor noise, OSD clock, swaying trees
  kShake,         // day traffic seen by a camera shaking on its pole (+-1..3 px), sensor noise
  kEmpty,         // nothing on the road: only the OSD clock, swaying trees and sensor noise
};

// Returns "traffic", "static", "night-rain", "illumination", "shake" or "empty".
const char* SceneKindName(SceneKind kind);
// Parses the names above; InvalidArgument listing them otherwise.
Result<SceneKind> ParseSceneKind(std::string_view name);
// Every kind, in the order above.
const std::vector<SceneKind>& AllSceneKinds();
// One line on what the scene shows, for --list.
const char* SceneKindDescription(SceneKind kind);

// Modifiers applied on top of a kind. Reserved: none is implemented yet (the kinds above bundle
// their effects), so Create() rejects a non-zero mask.
enum SceneEffect : uint32_t {
  kEffectNone = 0,
};

struct SceneOptions {
  SceneKind kind = SceneKind::kTraffic;
  // Frame size in pixels; both must be even and at least 64x64.
  int width = 640;
  int height = 360;
  // Frames per second; frame i shows time i / fps.
  double fps = 15;
  // Chooses lane speeds, vehicle colours, classes and spacing; same seed, same scene.
  uint32_t seed = 1;
  // If > 0 the scene repeats exactly every period_seconds (frame i and i + period*fps are
  // identical), so a loop of that length plays seamlessly. 0: never repeats.
  double period_seconds = 0;
  // Scales how many vehicles are on the road (1.0 = moderate city traffic, 0 = none). Scenes
  // scale it further: night-rain x0.5, illumination x0.06 (almost empty), empty x0.
  double density = 1.0;
  // Bitmask of SceneEffect; 0 for none.
  uint32_t effects = kEffectNone;
};

struct ObjectTruth {
  int64_t track_id = 0;  // stable while the object is in view; unique within a scene
  std::string cls;       // "car", "bus", "truck" or "person"
  cv::Rect box;          // in pixels, clipped to the frame; never empty (shake included)
};

// A polygon in normalised frame coordinates ([0,0] top-left, [1,1] bottom-right), as in the
// motion detector's masks.
using NormalizedPolygon = std::vector<cv::Point2f>;

class SceneRenderer {
 public:
  // InvalidArgument naming the field if the options are out of range.
  static Result<std::unique_ptr<SceneRenderer>> Create(const SceneOptions& options);
  ~SceneRenderer();

  const SceneOptions& options() const { return options_; }

  // Draws frame `frame_index` (>= 0) into *bgr_out, (re)allocating it as CV_8UC3 if needed.
  void Render(int64_t frame_index, cv::Mat* bgr_out) const;

  // The objects visible in frame `frame_index`, in drawing order (back to front).
  std::vector<ObjectTruth> Objects(int64_t frame_index) const;

  // Areas a camera operator would mask for this scene: the OSD clock's corner and the trees.
  // Nothing that the truth counts as moving is ever inside them. Empty for traffic and static.
  const std::vector<NormalizedPolygon>& RecommendedMasks() const { return masks_; }

  // True if an object moves in frame `frame_index` outside the recommended masks (rain, light,
  // shake, noise, trees and the clock do not count: they are what detection must ignore).
  bool MovingOutsideMasks(int64_t frame_index) const;

 private:
  struct Lane;
  struct Placed;
  struct Blob;
  struct Lighting;
  explicit SceneRenderer(const SceneOptions& options);
  void BuildBackground();
  void BuildEffects();
  std::vector<Placed> Place(int64_t frame_index) const;
  double SceneTime(int64_t frame_index) const;  // seconds, wrapped into the period
  cv::Point2d Shake(int64_t frame_index) const;
  Lighting LightingAt(double t) const;
  void DrawTrees(double t, cv::Mat& img) const;
  void DrawNight(const std::vector<Placed>& placed, cv::Mat& img) const;
  void ApplyLighting(double t, cv::Mat& img) const;
  void DrawRain(int64_t frame_index, cv::Mat& img) const;
  void DrawOsd(int64_t frame_index, cv::Mat& img) const;

  SceneOptions options_;
  cv::Mat background_;
  std::vector<Lane> lanes_;
  int64_t period_frames_ = 0;  // 0: aperiodic

  // Effects of the kind, set up once by BuildEffects().
  bool night_ = false, rain_ = false, lighting_ = false, shake_ = false, osd_ = false;
  double noise_sigma_ = 0;
  cv::Mat lit_windows_;              // CV_8U: 255 on the windows lit at night
  cv::Mat night_lights_;             // added to the darkened frame: lit windows, street lamps
  std::vector<cv::Mat> noise_bank_;  // CV_16SC3, larger than the frame; cropped per frame
  std::vector<Blob> tree_blobs_;
  std::vector<cv::Rect> trunks_;
  cv::Point osd_origin_;
  double osd_scale_ = 0.5;
  int osd_thickness_ = 1;
  std::vector<NormalizedPolygon> masks_;
  std::vector<cv::Rect> mask_rects_;  // masks_ in pixels (all are rectangles)
};

}  // namespace skynet::scenegen
