// GA/T 1400 export: vehicle records as the view library's `MotorVehicle` objects (JSON), for an
// integrator to post to a 视图库. docs/evidence.md ("GA/T 1400 export") lists field by field
// what is filled, from what, with which code table, and what is left empty.
//
// Pure functions of their arguments (and the local time zone, for the 14-digit times): safe
// from any thread.
//
//   Gat1400Options o;
//   o.device_ids["north"] = "31010100001320000001";
//   std::string json = MotorVehicleList(hits, o).dump();
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "skynet/v1/control.pb.h"

namespace skynet::ctl {

struct Gat1400Options {
  // Camera id -> its 20-digit device code (GB/T 28181 numbering); unlisted cameras use their id.
  std::map<std::string, std::string> device_ids;
  // Prefix of the snapshot files' URLs (e.g. "http://10.0.0.5/evidence/"); empty: the files'
  // paths relative to the evidence directory.
  std::string url_prefix;
  // VehicleClass codes (GA 24.4) by class name ("car", "bus", "truck", "motorcycle"), over the
  // defaults of VehicleClassCode().
  std::map<std::string, std::string> class_codes;
};

// "YYYYMMDDhhmmss", local time, from microseconds since the Unix epoch.
std::string Gat1400Time(int64_t unix_us);

// Body colour code (GA 24.8): white A, silver/grey B, yellow C, red E, green G, blue H, black J;
// "" for unknown.
std::string VehicleColorCode(skynet::v1::VehicleColour colour);

// Vehicle type code (GA 24.4, by our coarse class): car K33, bus K11, truck H11, motorcycle M11
// unless `overrides` names the class; "" for bicycles, persons and unknown (not motor vehicles).
std::string VehicleClassCode(skynet::v1::VehicleClass vehicle_class,
                             const std::map<std::string, std::string>& overrides = {});

// One record as a MotorVehicle object; `index` numbers it within the export (the ID's last
// five digits).
nlohmann::json MotorVehicle(const skynet::v1::SearchHit& hit, int index,
                            const Gat1400Options& options);

// {"MotorVehicleListObject": {"MotorVehicleObject": [...]}} of the records that are motor
// vehicles (bicycles and persons are left out).
nlohmann::json MotorVehicleList(const std::vector<skynet::v1::SearchHit>& hits,
                                const Gat1400Options& options);

}  // namespace skynet::ctl
