// Follow a vehicle across cameras (docs/evidence.md, "Follow"): the likely later and earlier
// sightings of one record's vehicle on this node's other cameras, ranked by appearance (class,
// colour histogram or colour name, size in metres) times the plausibility of the time between
// the two sightings (the cameras' neighbours and typical travel times, or their positions and
// road speeds). The trail an investigator checks by eye, each candidate with its reasons.
//
// CameraMap and RankCandidates() are pure (thread-safe, no I/O); Follow() reads the record store
// (one owner, like RecordStore).
//
//   CameraMap map = CameraMap::From(config.cameras);
//   Result<v1::FollowResponse> trail = Follow(store, map, request);
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/record_store.h"
#include "pipeline/core/status.h"
#include "skynet/v1/control.pb.h"

namespace skynet::daemon {

struct FollowOptions {
  // With positions only: a sighting is plausible at a speed between these (km/h) over the
  // straight distance times `detour` (roads are not straight), most likely at typical_kmh.
  double min_speed_kmh = 5;
  double max_speed_kmh = 150;
  double typical_kmh = 50;
  double detour = 1.3;
  // Neighbours' travel times: how far (as a log ratio) a gap may stray from the typical time
  // for half the plausibility (0.4: 0.67x or 1.5x of it).
  double travel_spread = 0.4;
  // A sighting further along the neighbours than the next camera is the next sighting only if
  // every camera in between missed the vehicle: this factor per camera in between (about the
  // share of vehicles a camera misses, or records without their line crossing).
  double missed_camera = 0.2;
  // With both positions and the followed record's measured speed: how far (log ratio) a gap may
  // stray from the straight distance at that speed for half the plausibility.
  double speed_spread = 0.2;
  // How much that measured-speed time counts against the typical time (0..1).
  double speed_trust = 0.7;
  // With the cameras' bearings: the factor for a sighting heading away from the other camera.
  double wrong_direction = 0.05;
  // One sighting per vehicle and camera: a candidate that another record of the followed
  // record's camera matches more than `exclusive_margin` times better gets the ratio of the two
  // scores as a factor (at least `exclusive_floor`); checked for the best `exclusive_checked`.
  double exclusive_margin = 1.5;
  // A candidate without a line crossing on a camera where other records crossed one (a broken
  // track's piece, or something off the road) when the followed record crossed one.
  double no_crossing = 0.3;
  double exclusive_floor = 0.1;
  int exclusive_checked = 20;
};

// Where the cameras are relative to each other: the neighbour graph (travel times, both ways,
// shortest paths for cameras further apart) and the positions.
class CameraMap {
 public:
  static CameraMap From(const std::vector<CameraConfig>& cameras);

  struct Travel {
    double seconds = 0;  // typical travel time; 0: unknown
    double min_s = 0, max_s = 0;  // plausible bounds (positions only; else 0)
    const char* source = "";  // "neighbours", "positions" or "" (unknown)
    int hops = 0;             // neighbours: cameras passed on the way, plus one
  };
  // The typical travel time between two cameras, from the neighbour graph if it joins them,
  // else from their positions, else unknown.
  Travel Between(const std::string& a, const std::string& b) const;

  // The straight distance between two cameras in metres and the compass bearing from a to b
  // (degrees clockwise from north); nullopt without both positions.
  std::optional<double> DistanceM(const std::string& a, const std::string& b) const;
  std::optional<double> BearingDeg(const std::string& a, const std::string& b) const;
  // A record's compass course on `camera`: its on-screen direction, from its first line crossing
  // (the line's normal, forward or back) or else its heading if it moved, turned by the camera's
  // bearing_deg (up the image is the bearing); nullopt when the bearing or direction is unknown.
  std::optional<double> CourseDeg(const std::string& camera,
                                  const v1::VehicleRecord& record) const;

 private:
  std::map<std::string, std::map<std::string, double>> neighbours_;  // both ways
  std::map<std::string, GeoPosition> positions_;
  // Per camera and line id: the on-screen direction (degrees, 0 right, 90 down) of a forward
  // (+1) crossing, i.e. the right-hand normal of the line's a->b.
  std::map<std::string, std::map<std::string, double>> forward_deg_;
};

// Great-circle distance in metres.
double DistanceMetres(const GeoPosition& a, const GeoPosition& b);

// The moment a record stands for: its first line crossing if it has one (a sharp moment near
// the camera), else the middle of its sighting. Microseconds since the Unix epoch.
int64_t SightingTimeUs(const v1::VehicleRecord& record);

// Ranks `candidates` as the later (`later`) or earlier sightings of `record`'s vehicle: those of
// other cameras whose sighting time is after (before) the record's, best first, at most `limit`.
std::vector<v1::FollowCandidate> RankCandidates(const StoredRecord& record,
                                                const std::vector<StoredRecord>& candidates,
                                                bool later, const CameraMap& map, int limit,
                                                const FollowOptions& options = {});

// Finds the record (InvalidArgument without a camera or a track id, NotFound if the store has no
// such record) and ranks the records of the store within the request's window around it.
Result<v1::FollowResponse> Follow(RecordStore* store, const CameraMap& map,
                                  const v1::FollowRequest& request,
                                  const FollowOptions& options = {});

}  // namespace skynet::daemon
