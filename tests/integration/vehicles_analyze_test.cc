// Vehicles end to end, offline: skynet-scenegen renders day traffic (two lanes right-to-left in
// the upper half of the road, two left-to-right in the lower half), its config gets a
// `vehicles:` section, and `skynetd analyze` must emit the vehicle lifecycle and traffic events:
// counting-line crossings, and WrongWay for every lane declared against its traffic and for no
// lane declared with it.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace skynet {
namespace {

using testing::ReadFile;
using testing::RunToCompletion;
using testing::TempDir;

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

TEST(VehiclesAnalyzeTest, TrafficSceneGivesCrossingsAndWrongWayOnlyAgainstTraffic) {
  TempDir dir;
  ASSERT_EQ(RunToCompletion("tools/scenegen/skynet-scenegen",
                    {"--scene", "traffic", "--seconds", "20", "--fps", "10", "--size", "640x360",
                     "--seed", "3", "--out", dir.path()},
                    dir.File("stderr.log")),
            0)
      << ReadFile(dir.File("stderr.log"));
  // Lanes: vehicles' bottoms at 0.49 and 0.59 of the height move left, at 0.69 and 0.79 right.
  // "upper" is declared as it drives; "lower" against its traffic. The vehicles: section that
  // scenegen generates (the truth's geometry) is replaced by this one.
  {
    std::string generated = ReadFile(dir.File("traffic.yaml"));
    generated = generated.substr(0, generated.find("    vehicles:\n"));
    std::ofstream config(dir.File("traffic.yaml"), std::ios::trunc);
    config << generated
           << "    vehicles:\n"
              "      enabled: true\n"
              "      rules:\n"
              "        lines: [{id: middle, a: [0.5, 0.4], b: [0.5, 0.85]}]\n"
              "        lanes:\n"
              "          - {id: upper, polygon: [[0, 0.42], [1, 0.42], [1, 0.63], [0, 0.63]],\n"
              "             direction: [-1, 0]}\n"
              "          - {id: lower, polygon: [[0, 0.64], [1, 0.64], [1, 0.84], [0, 0.84]],\n"
              "             direction: [-1, 0]}\n"
              "        stats_interval_ms: 10000\n";
  }
  ASSERT_EQ(RunToCompletion("daemon/skynetd",
                    {"analyze", "--config", dir.File("traffic.yaml"), "--camera", "traffic",
                     dir.File("traffic.mp4"), "--out", dir.File("events.jsonl")},
                    dir.File("stderr.log")),
            0)
      << ReadFile(dir.File("stderr.log"));
  const std::string summary = ReadFile(dir.File("stderr.log"));
  EXPECT_NE(summary.find("vehicles"), std::string::npos) << summary;

  std::vector<std::string> wrong_way;
  int crossings_forward = 0, crossings_backward = 0;
  std::ifstream in(dir.File("events.jsonl"));
  std::string all, line;
  while (std::getline(in, line)) {
    all += line + "\n";
    if (line.find("\"wrongWay\"") != std::string::npos) wrong_way.push_back(line);
    if (line.find("\"lineCrossed\"") != std::string::npos) {
      // direction +1 (forward: right of a->b = leftwards here) is the proto3 JSON "direction":1.
      if (line.find("\"direction\":1") != std::string::npos) ++crossings_forward;
      if (line.find("\"direction\":-1") != std::string::npos) ++crossings_backward;
    }
  }
  EXPECT_GT(Count(all, "\"vehicleNew\""), 4) << summary;
  EXPECT_GT(Count(all, "\"vehicleEnded\""), 2);
  EXPECT_GT(Count(all, "\"trafficStats\""), 0);
  // Both directions cross the middle line.
  EXPECT_GT(crossings_forward, 1);
  EXPECT_GT(crossings_backward, 1);
  // Wrong way: only in the lane declared against its traffic, several vehicles.
  EXPECT_GT(wrong_way.size(), 1u);
  for (const std::string& w : wrong_way) {
    EXPECT_NE(w.find("\"laneId\":\"lower\""), std::string::npos) << w;
  }
  // Snapshots travel as base64 JPEG (/9j/ is the JPEG magic number FF D8 FF).
  EXPECT_NE(all.find("\"cropJpeg\":\"/9j/"), std::string::npos);
  EXPECT_NE(all.find("\"frameJpeg\":\"/9j/"), std::string::npos);
}

// Generates `scene` (its config carries the truth's geometry), analyses it with --tracks and
// scores it with skynet-eval. Returns skynet-eval's output; the events stay in NAME.jsonl.
std::string GenerateAnalyseScore(const TempDir& dir, const std::string& scene, int seconds) {
  EXPECT_EQ(RunToCompletion("tools/scenegen/skynet-scenegen",
                    {"--scene", scene, "--seconds", std::to_string(seconds), "--fps", "10",
                     "--size", "640x360", "--seed", "1", "--out", dir.path()},
                    dir.File("stderr.log")),
            0)
      << ReadFile(dir.File("stderr.log"));
  EXPECT_EQ(RunToCompletion("daemon/skynetd",
                    {"analyze", "--config", dir.File(scene + ".yaml"), "--camera", scene,
                     dir.File(scene + ".mp4"), "--out", dir.File(scene + ".jsonl"), "--tracks",
                     dir.File(scene + ".tracks.jsonl")},
                    dir.File("stderr.log")),
            0)
      << ReadFile(dir.File("stderr.log"));
  std::vector<std::string> lines;
  EXPECT_EQ(RunToCompletion("tools/eval/skynet-eval",
                            {"--truth", dir.File(scene + ".truth.json"), "--events",
                             dir.File(scene + ".jsonl"), "--tracks",
                             dir.File(scene + ".tracks.jsonl"), "--targets", "day"},
                            dir.File("eval.log"), &lines),
            0)
      << ReadFile(dir.File("eval.log"));
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

TEST(VehiclesAnalyzeTest, ParkedCarInANoParkingZoneIsReportedOnceAndTheShortStopIsNot) {
  // parking, seed 1: a car stands 10..50 s in the no-parking zone (max_stop 20 s), another
  // 62..68 s. 70 s of video: the long stop must alarm once, the short one never.
  TempDir dir;
  const std::string score = GenerateAnalyseScore(dir, "parking", 70);
  const std::string events = ReadFile(dir.File("parking.jsonl"));
  ASSERT_EQ(Count(events, "\"vehicleStopped\""), 1) << score;
  EXPECT_NE(events.find("\"zoneId\":\"no-parking\""), std::string::npos);
  EXPECT_NE(score.find("stopped: 1/1, 0 FA"), std::string::npos) << score;
  // One tracks line per analysed frame (5 fps).
  EXPECT_GE(Count(ReadFile(dir.File("parking.tracks.jsonl")), "\"tracks\":"), 340);
}

TEST(VehiclesAnalyzeTest, WrongWayDriverIsCaughtAndNobodyElseIs) {
  // wrong-way, seed 1: a car drives right to left in the eastbound lane from 15 s.
  TempDir dir;
  const std::string score = GenerateAnalyseScore(dir, "wrong-way", 25);
  const std::string events = ReadFile(dir.File("wrong-way.jsonl"));
  ASSERT_EQ(Count(events, "\"wrongWay\""), 1) << score;
  EXPECT_NE(events.find("\"laneId\":\"eastbound\""), std::string::npos);
  EXPECT_NE(score.find("wrong way: 1/1, 0 FA"), std::string::npos) << score;
  EXPECT_NE(score.find("line count:"), std::string::npos) << score;
}

}  // namespace
}  // namespace skynet
