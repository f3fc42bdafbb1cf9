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
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "pipeline/core/status.h"

namespace skynet::scenegen {

// What moves in the scene. Later kinds (night, rain, shaking camera, ...) are added here and
// as SceneEffect flags that modify a kind.
enum class SceneKind {
  kTraffic,  // road with vehicles in both directions and pedestrians on the sidewalk
  kStatic,   // the same background, nothing moves; every frame is pixel-identical
};

// Returns "traffic" / "static".
const char* SceneKindName(SceneKind kind);
// Parses "traffic" / "static"; InvalidArgument naming the value otherwise.
Result<SceneKind> ParseSceneKind(std::string_view name);

// Modifiers applied on top of a kind. Reserved: none is implemented yet, so Create() rejects
// a non-zero mask.
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
  // Scales how many vehicles are on the road (1.0 = moderate city traffic, 0 = none).
  double density = 1.0;
  // Bitmask of SceneEffect; 0 for none.
  uint32_t effects = kEffectNone;
};

struct ObjectTruth {
  int64_t track_id = 0;  // stable while the object is in view; unique within a scene
  std::string cls;       // "car", "bus", "truck" or "person"
  cv::Rect box;          // in pixels, clipped to the frame; never empty
};

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

 private:
  struct Lane;
  struct Placed;
  explicit SceneRenderer(const SceneOptions& options);
  void BuildBackground();
  std::vector<Placed> Place(int64_t frame_index) const;

  SceneOptions options_;
  cv::Mat background_;
  std::vector<Lane> lanes_;
  int64_t period_frames_ = 0;  // 0: aperiodic
};

}  // namespace skynet::scenegen
