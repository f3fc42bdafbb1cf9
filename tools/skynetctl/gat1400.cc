#include "tools/skynetctl/gat1400.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace skynet::ctl {
namespace {

namespace v1 = skynet::v1;

std::string ClassKey(v1::VehicleClass c) {
  switch (c) {
    case v1::VEHICLE_CLASS_CAR:
      return "car";
    case v1::VEHICLE_CLASS_BUS:
      return "bus";
    case v1::VEHICLE_CLASS_TRUCK:
      return "truck";
    case v1::VEHICLE_CLASS_MOTORCYCLE:
      return "motorcycle";
    default:
      return "";
  }
}

// The 20-character device code, padded or cut so the ID layout below holds.
std::string Fixed(const std::string& s, size_t n, char pad) {
  if (s.size() >= n) return s.substr(0, n);
  return std::string(n - s.size(), pad) + s;
}

// A snapshot file's image type: "14" (scene) when its name says scene or frame, else "09" (the
// vehicle close-up).
std::string ImageType(const std::string& file) {
  return file.find("scene") != std::string::npos || file.find("frame") != std::string::npos
             ? "14"
             : "09";
}

}  // namespace

std::string Gat1400Time(int64_t unix_us) {
  const time_t t = static_cast<time_t>(unix_us / 1000000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

std::string VehicleColorCode(v1::VehicleColour colour) {
  switch (colour) {
    case v1::VEHICLE_COLOUR_WHITE:
      return "A";
    case v1::VEHICLE_COLOUR_SILVER:
      return "B";
    case v1::VEHICLE_COLOUR_YELLOW:
      return "C";
    case v1::VEHICLE_COLOUR_RED:
      return "E";
    case v1::VEHICLE_COLOUR_GREEN:
      return "G";
    case v1::VEHICLE_COLOUR_BLUE:
      return "H";
    case v1::VEHICLE_COLOUR_BLACK:
      return "J";
    default:
      return "";
  }
}

std::string VehicleClassCode(v1::VehicleClass vehicle_class,
                             const std::map<std::string, std::string>& overrides) {
  const std::string key = ClassKey(vehicle_class);
  if (key.empty()) return "";
  if (auto it = overrides.find(key); it != overrides.end()) return it->second;
  if (key == "car") return "K33";
  if (key == "bus") return "K11";
  if (key == "truck") return "H11";
  return "M11";
}

nlohmann::json MotorVehicle(const v1::SearchHit& hit, int index, const Gat1400Options& options) {
  const v1::VehicleRecord& r = hit.record();
  auto device = options.device_ids.find(hit.camera_id());
  const std::string device_id =
      device != options.device_ids.end() ? device->second : hit.camera_id();
  // When it passed: its first line crossing, else its first sighting.
  const int64_t pass_us = r.crossings_size() > 0 ? r.crossings(0).time_us() : r.first_seen_us();
  char seq[16];
  std::snprintf(seq, sizeof seq, "%05d", index % 100000);
  // SourceID: device (20) + "02" + time (14) + sequence (5) = 41; MotorVehicleID: SourceID +
  // "02" (motor vehicle) + sequence (5) = 48.
  const std::string source_id = Fixed(device_id, 20, '0') + "02" + Gat1400Time(pass_us) + seq;
  nlohmann::json v;
  v["MotorVehicleID"] = source_id + "02" + seq;
  v["InfoKind"] = 1;  // automatic
  v["SourceID"] = source_id;
  v["DeviceID"] = device_id;
  v["AppearTime"] = Gat1400Time(r.first_seen_us());
  v["DisappearTime"] = Gat1400Time(r.last_seen_us());
  v["PassTime"] = Gat1400Time(pass_us);
  if (const std::string c = VehicleColorCode(r.colour()); !c.empty()) v["VehicleColor"] = c;
  if (const std::string c = VehicleClassCode(r.vehicle_class(), options.class_codes); !c.empty()) {
    v["VehicleClass"] = c;
  }
  if (r.speed_kmh() >= 0) v["Speed"] = std::round(static_cast<double>(r.speed_kmh()) * 10) / 10;
  // LaneNo is a number: a lane id that is one.
  if (!r.lane().empty() && r.lane().find_first_not_of("0123456789") == std::string::npos &&
      r.lane().size() < 6) {
    v["LaneNo"] = std::stoi(r.lane());
  }
  nlohmann::json images = nlohmann::json::array();
  for (int i = 0; i < r.snapshot_files_size(); ++i) {
    const std::string url = options.url_prefix + r.snapshot_files(i);
    if (i < 5) v["StorageUrl" + std::to_string(i + 1)] = url;
    char image_seq[16];
    std::snprintf(image_seq, sizeof image_seq, "%05d", i + 1);
    images.push_back({{"ImageID", source_id.substr(0, 22) + Gat1400Time(pass_us) + image_seq},
                      {"DeviceID", device_id},
                      {"StoragePath", url},
                      {"Type", ImageType(r.snapshot_files(i))},
                      {"FileFormat", "Jpeg"},
                      {"ShotTime", Gat1400Time(pass_us)}});
  }
  if (!images.empty()) v["SubImageList"] = {{"SubImageInfoObject", images}};
  return v;
}

nlohmann::json MotorVehicleList(const std::vector<v1::SearchHit>& hits,
                                const Gat1400Options& options) {
  nlohmann::json list = nlohmann::json::array();
  int index = 0;
  for (const v1::SearchHit& hit : hits) {
    if (VehicleClassCode(hit.record().vehicle_class()).empty()) continue;
    list.push_back(MotorVehicle(hit, ++index, options));
  }
  return {{"MotorVehicleListObject", {{"MotorVehicleObject", list}}}};
}

}  // namespace skynet::ctl
