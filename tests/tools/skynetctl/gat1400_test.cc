// GA/T 1400 export of vehicle records: code tables, times, IDs and image references.
#include "tools/skynetctl/gat1400.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

namespace skynet::ctl {
namespace {

class Gat1400Test : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
  }
};

// 2026-12-06 14:05:02.880 in Shanghai (UTC+8).
constexpr int64_t kPass = 1796537102'880'000;

v1::SearchHit Hit() {
  v1::SearchHit hit;
  hit.set_node_id("node-1");
  hit.set_camera_id("north");
  v1::VehicleRecord* r = hit.mutable_record();
  r->set_track_id(1790);
  r->set_first_seen_us(kPass - 2'000'000);
  r->set_last_seen_us(kPass + 3'000'000);
  r->set_vehicle_class(v1::VEHICLE_CLASS_CAR);
  r->set_colour(v1::VEHICLE_COLOUR_WHITE);
  r->set_speed_kmh(48.26f);
  r->set_lane("2");
  v1::RecordCrossing* c = r->add_crossings();
  c->set_line_id("L1");
  c->set_direction(1);
  c->set_time_us(kPass);
  r->add_snapshot_files("north/2026-12-06/1790-crop.jpg");
  r->add_snapshot_files("north/2026-12-06/1790-scene.jpg");
  return hit;
}

TEST_F(Gat1400Test, CodeTables) {
  EXPECT_EQ(VehicleColorCode(v1::VEHICLE_COLOUR_WHITE), "A");
  EXPECT_EQ(VehicleColorCode(v1::VEHICLE_COLOUR_SILVER), "B");
  EXPECT_EQ(VehicleColorCode(v1::VEHICLE_COLOUR_YELLOW), "C");
  EXPECT_EQ(VehicleColorCode(v1::VEHICLE_COLOUR_RED), "E");
  EXPECT_EQ(VehicleColorCode(v1::VEHICLE_COLOUR_GREEN), "G");
  EXPECT_EQ(VehicleColorCode(v1::VEHICLE_COLOUR_BLUE), "H");
  EXPECT_EQ(VehicleColorCode(v1::VEHICLE_COLOUR_BLACK), "J");
  EXPECT_EQ(VehicleColorCode(v1::VEHICLE_COLOUR_UNSPECIFIED), "");
  EXPECT_EQ(VehicleClassCode(v1::VEHICLE_CLASS_CAR), "K33");
  EXPECT_EQ(VehicleClassCode(v1::VEHICLE_CLASS_BUS), "K11");
  EXPECT_EQ(VehicleClassCode(v1::VEHICLE_CLASS_TRUCK), "H11");
  EXPECT_EQ(VehicleClassCode(v1::VEHICLE_CLASS_MOTORCYCLE), "M11");
  EXPECT_EQ(VehicleClassCode(v1::VEHICLE_CLASS_CAR, {{"car", "K31"}}), "K31");
  EXPECT_EQ(VehicleClassCode(v1::VEHICLE_CLASS_PERSON), "");
  EXPECT_EQ(Gat1400Time(kPass), "20261206140502");
}

TEST_F(Gat1400Test, ARecordBecomesAMotorVehicle) {
  Gat1400Options o;
  o.device_ids["north"] = "31010100001320000001";
  o.url_prefix = "http://10.0.0.5/evidence/";
  const nlohmann::json v = MotorVehicle(Hit(), 7, o);
  const std::string source = "31010100001320000001" "02" "20261206140502" "00007";
  EXPECT_EQ(v["SourceID"], source);
  EXPECT_EQ(v["MotorVehicleID"], source + "02" "00007");
  EXPECT_EQ(v["MotorVehicleID"].get<std::string>().size(), 48u);
  EXPECT_EQ(v["DeviceID"], "31010100001320000001");
  EXPECT_EQ(v["InfoKind"], 1);
  EXPECT_EQ(v["PassTime"], "20261206140502");
  EXPECT_EQ(v["AppearTime"], "20261206140500");
  EXPECT_EQ(v["DisappearTime"], "20261206140505");
  EXPECT_EQ(v["VehicleColor"], "A");
  EXPECT_EQ(v["VehicleClass"], "K33");
  EXPECT_DOUBLE_EQ(v["Speed"].get<double>(), 48.3);
  EXPECT_EQ(v["LaneNo"], 2);
  EXPECT_EQ(v["StorageUrl1"], "http://10.0.0.5/evidence/north/2026-12-06/1790-crop.jpg");
  EXPECT_EQ(v["StorageUrl2"], "http://10.0.0.5/evidence/north/2026-12-06/1790-scene.jpg");
  const nlohmann::json& images = v["SubImageList"]["SubImageInfoObject"];
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0]["Type"], "09");
  EXPECT_EQ(images[1]["Type"], "14");
  EXPECT_EQ(images[1]["FileFormat"], "Jpeg");
  EXPECT_EQ(images[1]["ShotTime"], "20261206140502");
  EXPECT_FALSE(v.contains("Direction"));
}

TEST_F(Gat1400Test, UnknownsAreLeftOutAndNonMotorVehiclesSkipped) {
  v1::SearchHit bare = Hit();
  v1::VehicleRecord* r = bare.mutable_record();
  r->set_colour(v1::VEHICLE_COLOUR_UNSPECIFIED);
  r->set_speed_kmh(-1);
  r->set_lane("north");
  r->clear_snapshot_files();
  v1::SearchHit person = Hit();
  person.mutable_record()->set_vehicle_class(v1::VEHICLE_CLASS_PERSON);
  const nlohmann::json list = MotorVehicleList({bare, person}, {});
  const nlohmann::json& objects = list["MotorVehicleListObject"]["MotorVehicleObject"];
  ASSERT_EQ(objects.size(), 1u);
  const nlohmann::json& v = objects[0];
  EXPECT_EQ(v["DeviceID"], "north");
  EXPECT_EQ(v["SourceID"].get<std::string>().substr(0, 20), "000000000000000north");
  for (const char* key : {"VehicleColor", "Speed", "LaneNo", "StorageUrl1", "SubImageList"}) {
    EXPECT_FALSE(v.contains(key)) << key;
  }
}

}  // namespace
}  // namespace skynet::ctl
