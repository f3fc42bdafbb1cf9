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
  // every camera in between missed the vehicle: this factor per camera in between.
  double missed_camera = 0.3;
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

 private:
  std::map<std::string, std::map<std::string, double>> neighbours_;  // both ways
  std::map<std::string, GeoPosition> positions_;
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
