// SceneRenderer: a deterministic synthetic road scene for tests, benchmarks and camsim.
//
// Every frame is a pure function of (options, frame_index): frame i is computed analytically,
// without rendering frames 0..i-1, so any frame can be rendered in any order from any thread
// holding its own renderer. Objects() gives the ground truth (track id, class, pixel box,
// visible share, anchor, speed) of the objects drawn in the same frame; Geometry() the scene's
// ground plane and rule geometry; Truth() the events of a whole clip (line crossings, stops in
// no-parking zones, wrong-way driving, track summaries).
//
//   auto r = SceneRenderer::Create({.kind = SceneKind::kTraffic, .seed = 7});
//   cv::Mat bgr;
//   (*r)->Render(42, &bgr);                  // 640x360 CV_8UC3
//   auto truth = (*r)->Objects(42);          // what is in frame 42
//
// Two families: side-on views (a road crossing the frame, affine ground) and along-the-road views
// (kRoad*: a pinhole camera on a pole, road_scene.h; objects carry their distance from the
// camera, the calibration is the camera's exact ground homography).
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
#include "tools/scenegen/picture_fault.h"

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
  kDense,         // day: twice the traffic, vehicles drawn taller so that a nearer lane's vehicle
                  // hides the lower 15-40% of the one behind; lanes overtake and pass each other
  kParking,       // day traffic in lanes 1-3; lane 4 (nearest) carries a car stopping 40 s and
                  // one stopping 6 s in the no-parking zone (100 s cycle), and a few passing cars
  kWrongWay,      // day traffic; a car drives right to left in lane 4 (left-to-right traffic),
                  // entering at 15 s of every 45 s cycle
  // Along the road (road_scene.h): a pinhole camera on a pole looks down a four-lane road with
  // bike lanes and sidewalks; camera height, pitch, yaw, field of view and (in skynet-scenegen)
  // the frame size are drawn from the seed. Cars, buses, trucks and motorcycles approach in the
  // left lanes and recede in the right ones, bicycles ride the bike lanes, pedestrians walk.
  kRoadDay,           // sunny day traffic with shadows
  kRoadDense,         // dense traffic; the approaching lanes queue at a stop line (60 s signal)
  kRoadNight,         // night: headlights towards the camera, tail lights, street lamps, wet road
                      // reflections, sensor noise, OSD clock
  kRoadRain,          // overcast rain: streaks, wet road, lights on, noise, OSD clock
  kRoadClouds,        // day traffic under passing clouds and auto-exposure steps, noise, OSD
  kRoadShake,         // day traffic from a camera shaking on its pole, noise
  kRoadParking,       // day traffic; a car stands 40 s (and one 6 s) in a no-parking zone in the
                      // outer receding lane, every 100 s from 10 s
  kRoadWrongWay,      // day traffic; a car drives towards the camera in the outer receding lane,
                      // every 30 s from 5 s
  kRoadIntersection,  // a signalled junction down the road: crossing traffic, queues both ways
};

// Returns "traffic", "static", "night-rain", "illumination", "shake", "empty", "dense",
// "parking", "wrong-way", "road-day", "road-dense", "road-night", "road-rain", "road-clouds",
// "road-shake", "road-parking", "road-wrongway" or "road-intersection".
const char* SceneKindName(SceneKind kind);
// Parses the names above; InvalidArgument listing them otherwise.
Result<SceneKind> ParseSceneKind(std::string_view name);
// Every kind, in the order above.
const std::vector<SceneKind>& AllSceneKinds();
// One line on what the scene shows, for --list.
const char* SceneKindDescription(SceneKind kind);
// True for the along-the-road kinds (kRoad*).
bool IsRoadScene(SceneKind kind);
// The frame size skynet-scenegen renders a road scene at by default: 1280x720, 1920x1080 or
// 960x540, chosen by the seed (seed 1: 1280x720, 2: 1920x1080, 3: 960x540, then again).
cv::Size RoadFrameSize(uint32_t seed);

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
  // identical), so a loop of that length plays seamlessly (road scenes: repeats, but objects in
  // view at the seam jump). 0: never repeats.
  double period_seconds = 0;
  // Scales how many vehicles are on the road (1.0 = moderate city traffic, 0 = none). Scenes
  // scale it further: night-rain x0.5, illumination x0.06 (almost empty), dense x2, empty x0.
  // The scripted vehicles of parking and wrong-way do not depend on it. Road scenes: night x0.6,
  // rain x0.8, dense has shorter headways of its own; queues and scripts do not depend on it.
  double density = 1.0;
  // Bitmask of SceneEffect; 0 for none.
  uint32_t effects = kEffectNone;
  // Along the road only: a multi-camera set (skynet-scenegen --cameras). The camera stands this
  // far down the road (metres along +y) from the scene's own place, and the main road's lanes
  // reach road_extra_m further, so that cameras of one set (the same kind, seed, density and
  // road_extra_m) see the same vehicles: an outbound vehicle passes camera 0, then the cameras
  // further down. camera_seed: draws the camera (height, pitch, yaw, fov) from this seed instead
  // of `seed` (0: seed). Range: 0..10000 m each.
  double camera_along_m = 0;
  double road_extra_m = 0;
  uint32_t camera_seed = 0;
  // A camera picture fault rendered from fault.start_s on (picture_fault.h); kNone: none. It
  // changes the pictures only: Objects() and Truth() stay those of the scene.
  PictureFaultOptions fault;
};

struct ObjectTruth {
  int64_t track_id = 0;  // stable while the object is in view; unique within a scene
  std::string cls;       // "car", "bus", "truck", "motorcycle", "bicycle" or "person"
  // The body's paint, a name of skynetd's palette ("white", "black", "silver", "red", "blue",
  // "yellow", "green") for cars and buses; empty where an object has no one colour (persons,
  // two-wheelers with riders, trucks with a cargo box).
  std::string colour;
  cv::Rect box;  // in pixels, clipped to the frame; never empty (shake included)
  // Share of the full (unclipped) box that is drawn: inside the frame and not under the boxes
  // of objects drawn after it (boxes as rectangles). 0..1.
  double visible = 1;
  cv::Point2d anchor;  // bottom-centre of the unclipped box, pixels, shake included
  // Pixels per second in the scene (shake excluded). Side-on: y is always 0. Along the road: the
  // image velocity of the contact point; exactly 0 while standing.
  cv::Point2d velocity;
  double speed_kmh = 0;  // speed on the ground plane, >= 0
  // Along the road only (-1 in side-on scenes): the contact point, the point of the object's
  // footprint nearest the camera's foot, in ground metres (SceneGeometry::camera's frame), and
  // its distance from the camera's foot along the ground.
  cv::Point2d ground{-1, -1};
  double distance_m = -1;
  // For an object standing still (velocity 0): seconds since it stopped and until it moves
  // again, from this frame's time. 0 while moving.
  double still_for_s = 0;
  double still_left_s = 0;
};

// A polygon in normalised frame coordinates ([0,0] top-left, [1,1] bottom-right), as in the
// motion detector's masks.
using NormalizedPolygon = std::vector<cv::Point2f>;

// The ground plane and the traffic-rule geometry of a scene, in skynetd's config terms. Side-on,
// the ground mapping is affine: a car is 4.5 m long, lanes are 3.5 m apart. Along the road it is
// the pinhole camera's exact ground homography, given by four road points.
struct SceneGeometry {
  bool has_vehicles = false;  // false (and everything below empty) for static and empty
  // Side-on only (0 along the road).
  double metres_per_px_x = 0;  // along the road
  double metres_per_px_y = 0;  // across the road (lane spacing 0.10 H = 3.5 m)
  // Side-on: normalised road corners (x 0/1, y 0.40/0.80) and the same in metres (x along, y
  // across from the far kerb). Along the road: the corners of a road rectangle in view and the
  // same in the camera's ground frame (x across, y along the road, metres).
  std::vector<cv::Point2d> image_points;
  std::vector<cv::Point2d> ground_points;
  // Along the road only: the camera (has_camera false side-on). Ground frame: x across the
  // road (0 on the centre line, + to the right), y along it (0 under the camera).
  bool has_camera = false;
  struct Camera {
    double x_m = 0, height_m = 0, pitch_deg = 0, yaw_deg = 0, hfov_deg = 0, focal_px = 0;
  } camera;
  struct Line {
    std::string id;
    cv::Point2d a, b;  // normalised
  };
  struct Zone {
    std::string id;
    NormalizedPolygon polygon;
    bool no_parking = false;
    int64_t max_stop_ms = 0;
    // Along the road: the zone on the ground (metres); the truth tests contact points against
    // it. Empty side-on (the truth tests anchors against `polygon`).
    std::vector<cv::Point2d> ground;
  };
  struct LaneArea {
    std::string id;
    NormalizedPolygon polygon;        // where the anchors of its vehicles are
    cv::Point2d direction;            // expected direction of travel on screen
    std::vector<cv::Point2d> ground;  // along the road, as Zone::ground
  };
  // Side-on: "count", vertical, across the carriageway only. Along the road: "count", across the
  // carriageway (kerb to kerb) some metres beyond the bottom of the frame.
  std::vector<Line> lines;
  std::vector<Zone> zones;  // parking: "no-parking"
  // Side-on: "westbound" (upper), "eastbound" (lower). Along the road: "inbound" (towards the
  // camera, left half) and "outbound" (right half), up to 100 m.
  std::vector<LaneArea> lanes;
};

// What happens in a clip of frames [0, frames_total), times in seconds from frame 0.
struct ClipTruth {
  double duration = 0;  // frames_total / fps
  struct Crossing {
    std::string line;
    int64_t track_id = 0;
    std::string cls;
    double t = 0;       // when the anchor reaches the line (interpolated between frames)
    int direction = 0;  // +1: the anchor's step points to the right-hand side of a->b on screen
  };
  struct Stop {  // a vehicle standing still with its anchor in a no-parking zone
    int64_t track_id = 0;
    std::string zone;
    double begin = 0, end = 0;  // clipped to [0, duration]
  };
  struct WrongWay {  // a vehicle in view, anchor in a lane, moving against its direction
    int64_t track_id = 0;
    std::string lane;
    double begin = 0, end = 0;  // first and last frame time
  };
  struct Track {
    int64_t track_id = 0;
    std::string cls;
    double first = 0, last = 0;  // first and last frame time in view
    double speed_kmh = 0;        // median over its frames
  };
  std::vector<Crossing> crossings;  // every vehicle's first crossing of each line, by time
  std::vector<Stop> stops;
  std::vector<WrongWay> wrong_way;
  std::vector<Track> tracks;  // every object, by first appearance
};

class RoadScene;

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

  // The scene's ground plane, counting line, lanes and zones (has_vehicles false without lanes).
  const SceneGeometry& Geometry() const { return geometry_; }

  // The crossings, stops, wrong-way intervals and tracks of frames [0, frames_total), derived
  // from Objects() frame by frame (stops take their exact begin and end from still_for_s and
  // still_left_s).
  ClipTruth Truth(int64_t frames_total) const;

  // Areas a camera operator would mask for this scene: the OSD clock's corner and the trees.
  // Nothing that the truth counts as moving is ever inside them. Empty for traffic and static.
  const std::vector<NormalizedPolygon>& RecommendedMasks() const { return masks_; }

  // True if an object moves in frame `frame_index` outside the recommended masks (rain, light,
  // shake, noise, trees and the clock do not count: they are what detection must ignore; nor
  // does a vehicle standing still).
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
  void PlaceScripted(double t, int64_t loop, std::vector<Placed>* out) const;
  bool WrongWayBlocks(double begin, double end) const;  // lane-4 slot meets the wrong-way car
  void BuildGeometry();
  double SceneTime(int64_t frame_index) const;  // seconds, wrapped into the period
  cv::Point2d Shake(int64_t frame_index) const;
  Lighting LightingAt(double t) const;
  void DrawTrees(double t, cv::Mat& img) const;
  void DrawNight(const std::vector<Placed>& placed, cv::Mat& img) const;
  void ApplyLighting(double t, cv::Mat& img) const;
  void DrawRain(int64_t frame_index, cv::Mat& img) const;
  void DrawOsd(int64_t frame_index, cv::Mat& img) const;

  SceneOptions options_;
  std::unique_ptr<RoadScene> road_;  // the along-the-road kinds; null side-on
  std::unique_ptr<PictureFault> fault_;  // options_.fault; null without one
  cv::Mat background_;
  std::vector<Lane> lanes_;
  int64_t period_frames_ = 0;  // 0: aperiodic
  double vehicle_scale_ = 1;   // vehicle height relative to the traffic scene's (dense: taller)
  SceneGeometry geometry_;

  // Effects of the kind, set up once by BuildEffects().
  bool night_ = false, rain_ = false, lighting_ = false, shake_ = false, osd_ = false;
  bool ir_switch_ = false;  // lighting_ includes the IR day/night switch
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
