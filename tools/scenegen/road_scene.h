// RoadScene: the world of SceneRenderer's along-the-road kinds (kRoad*), seen by a pinhole camera
// on a pole (pinhole.h). A four-lane road runs along +y: lanes 0-1 (x < 0) carry traffic towards
// the camera, lanes 2-3 (x > 0) away from it; a bike lane and a sidewalk lie on each side, with
// buildings behind them. Every object is a set of 3D boxes, projected, shaded by the sun and
// casting a shadow; by night, lit by its own lamps and the street lamps.
//
// Like the side-on scenes, time t is all there is: Place(t) computes every object analytically
// (slots per lane; signal cycles for queues; scripted stops and wrong-way drivers). SceneRenderer
// owns one RoadScene, draws it first and then adds the effects it shares with the side-on scenes
// (rain streaks, clouds and exposure, shake, noise, OSD). Internal to skynet_scene.
//
// Thread-compatible: every const member may run concurrently.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "tools/scenegen/pinhole.h"
#include "tools/scenegen/scene.h"

namespace skynet::scenegen {

// One object of frame t, in drawing order, before shake and clipping.
struct RoadObject {
  const char* cls = "car";
  // The body's paint (kVehicleColourNames) of a car or bus; empty for objects without one colour
  // (persons, two-wheelers with their riders, trucks with a cargo box).
  const char* colour = "";
  int64_t id = 0;
  cv::Rect2d box;        // projected, not clipped to the frame
  cv::Point2d velocity;  // image velocity of the contact point, px/s; 0 standing
  double speed_kmh = 0;  // on the ground
  double still_for = 0, still_left = 0;
  cv::Point2d ground;     // contact point, metres
  double distance_m = 0;  // from the camera's foot to the contact point
};

// The camera a seed gives (height 5-12 m, pitch 8-25 deg so that the road is seen to at least
// ~120 m, yaw within a few degrees of the road's axis, hfov 40-70 deg) for a frame of w x h.
PinholeCamera RoadCamera(uint32_t seed, int width, int height);

class RoadScene {
 public:
  RoadScene(SceneKind kind, const SceneOptions& options);
  ~RoadScene();

  const PinholeCamera& camera() const { return camera_; }
  // Calibration, counting line, lanes, zones (see SceneGeometry).
  void FillGeometry(SceneGeometry* g) const;
  // The still background (road, markings, buildings, sky; lamps by night).
  const cv::Mat& background() const { return background_; }
  // The objects at scene time t, far to near.
  std::vector<RoadObject> Objects(double t) const;
  // Draws shadows, objects and (night, rain) lights at time t over the background in img.
  void Draw(double t, cv::Mat& img) const;

  struct Lane;   // a stream of objects along one axis (road_scene.cc)
  struct Actor;  // one object at one time, in 3D (road_scene.cc)

 private:
  void BuildLanes();
  void BuildBackground();
  std::vector<Actor> Place(double t) const;
  void PlaceFree(const Lane& lane, int index, double t, std::vector<Actor>* out) const;
  void PlaceSignalled(const Lane& lane, int index, double t, std::vector<Actor>* out) const;
  void PlaceScripted(double t, std::vector<Actor>* out) const;
  Actor MakeActor(const Lane& lane, int index, int64_t key, double along, double speed) const;
  RoadObject Truth(const Actor& a) const;

  SceneKind kind_;
  SceneOptions options_;
  PinholeCamera camera_;
  bool night_ = false, wet_ = false, overcast_ = false;
  cv::Point3d sun_;        // unit vector towards the sun
  double near_y_ = 0;      // ground distance (y) at the bottom row, centre column
  double count_y_ = 0;     // counting line
  double stop_y_ = 0;      // stop line of the inbound lanes (dense, intersection)
  double junction_y_ = 0;  // intersection: centre of the crossing road
  std::vector<Lane> lanes_;
  cv::Mat background_;
};

}  // namespace skynet::scenegen
