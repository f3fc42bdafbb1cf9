// Follow across cameras end to end (issue 16 items 5 and 7, reduced): skynet-scenegen renders two
// cameras 80 m apart on one road (the same vehicles pass both), `skynetd analyze --records`
// stores each camera's records in one database, skynet-follow-eval scores search and follow on
// it; then a skynetd serving that database (its cameras disabled) answers `skynetctl follow`.
// The full set (three cameras, 30 s) is tools/eval/run-follow-eval.sh.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>

#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::ReadFile;
using testing::RunTool;
using testing::TempDir;
using testing::ToolRun;

TEST(FollowEvalTest, TwoCamerasAlongARoadAreSearchedAndFollowed) {
  TempDir dir;
  ToolRun gen = RunTool(dir, "tools/scenegen/skynet-scenegen",
                        {"--scene", "road-day", "--cameras", "2", "--spacing", "80", "--seconds",
                         "20", "--fps", "10", "--size", "640x360", "--seed", "2", "--out",
                         dir.path()});
  ASSERT_EQ(gen.code, 0) << gen.err;
  const std::string db = dir.File("records.db");
  for (const char* cam : {"road-day-cam0", "road-day-cam1"}) {
    ToolRun run = RunTool(dir, "daemon/skynetd",
                          {"analyze", "--config", dir.File("road-day-set.yaml"), "--camera", cam,
                           dir.File(std::string(cam) + ".mp4"), "--out",
                           dir.File(std::string(cam) + ".jsonl"), "--records", db});
    ASSERT_EQ(run.code, 0) << run.err;
  }
  ToolRun eval = RunTool(dir, "tools/eval/skynet-follow-eval",
                         {"--set", dir.File("road-day-set.json"), "--records", db, "--config",
                          dir.File("road-day-set.yaml"), "--min-top1", "0.5"});
  EXPECT_EQ(eval.code, 0) << eval.out << eval.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(eval.out, m, std::regex(R"(later\s+(\d+)\s+(\d+))"))) << eval.out;
  EXPECT_GT(std::stoi(m[1]), 0) << "no vehicle was matched on both cameras\n" << eval.out;
  EXPECT_NE(eval.out.find("class car"), std::string::npos) << eval.out;

  // A skynetd on that database: the set's cameras (disabled) give follow their neighbours.
  std::string cameras = ReadFile(dir.File("road-day-set.yaml"));
  cameras = cameras.substr(cameras.find("cameras:\n"));
  cameras = std::regex_replace(cameras, std::regex("\n    url: ([^\n]*)\n"),
                               "\n    url: $1\n    enabled: false\n");
  std::ofstream(dir.File("skynetd.yaml"))
      << "node_id: follow-node\n"
      << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
      << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
      << "metrics_endpoint: \"\"\n"
      << "records:\n  path: " << db << "\n  retention_days: 0\n"
      << cameras;
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", dir.File("skynetd.yaml")},
                      dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  const std::string control = dir.Ipc("control.sock");
  // The record to follow: one of camera 0 that crossed the line (search, newest first).
  ToolRun found;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        found = testing::RunSkynetctl(dir, control,
                                      {"search", "--camera", "road-day-cam0", "--line", "count"});
        return found.code == 0;
      },
      30s, 200ms))
      << found.err << ReadFile(dir.File("skynetd.log"));
  std::vector<std::string> rows;
  for (size_t pos = 0, end; (end = found.out.find('\n', pos)) != std::string::npos;
       pos = end + 1) {
    rows.push_back(found.out.substr(pos, end - pos));
  }
  ASSERT_GE(rows.size(), 2u) << found.out;
  std::smatch row;
  ASSERT_TRUE(std::regex_search(rows.back(), row, std::regex(R"(road-day-cam0\s+(\d+))")))
      << rows.back();
  const std::string record = "road-day-cam0:" + row[1].str();
  ToolRun follow = testing::RunSkynetctl(dir, control, {"follow", record, "--both"});
  ASSERT_EQ(follow.code, 0) << follow.err;
  EXPECT_EQ(follow.out.rfind("record " + record, 0), 0u) << follow.out;
  EXPECT_NE(follow.out.find("later"), std::string::npos) << follow.out;
  EXPECT_NE(follow.out.find("earlier"), std::string::npos) << follow.out;
  ToolRun as_json = testing::RunSkynetctl(dir, control, {"follow", record, "--json"});
  ASSERT_EQ(as_json.code, 0) << as_json.err;
  EXPECT_NE(as_json.out.find("\"record\":{\"node_id\":\"offline\""), std::string::npos)
      << as_json.out;
  ToolRun missing = testing::RunSkynetctl(dir, control, {"follow", "road-day-cam0:99999"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "skynetctl: no record of track 99999 on camera road-day-cam0\n");
  EXPECT_EQ(testing::RunSkynetctl(dir, control, {"follow", "cam0"}).code, 2);

  // The same records as GA/T 1400 MotorVehicle objects.
  ToolRun exported = testing::RunSkynetctl(
      dir, control,
      {"export", "--format", "gat1400", "--camera", "road-day-cam0", "--line", "count",
       "--device-id", "road-day-cam0=31010100001320000001", "-o", dir.File("gat1400.json")});
  ASSERT_EQ(exported.code, 0) << exported.err;
  const std::string json = ReadFile(dir.File("gat1400.json"));
  EXPECT_NE(json.find("\"MotorVehicleObject\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"DeviceID\": \"31010100001320000001\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"VehicleClass\": \"K33\""), std::string::npos) << json;

  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 60s), 0);
}

}  // namespace
}  // namespace skynet
