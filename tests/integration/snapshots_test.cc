// Full-resolution snapshots end to end (issue 16 items 1 and 4): camsim's traffic camera at
// 640x360 into a real skynetd analysing at 320 wide, with records and an evidence directory.
// A finished track's record lists its snapshot files; they exist, decode, and are cut at the
// camera's resolution, not the detect size; `skynetctl snapshot` writes the same JPEGs; the
// decoded frames held for snapshots never exceed vehicles.snapshot_frames (metrics).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "skynet/client/client.h"
#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/metrics_port.h"
#include "tests/testing/temp_dir.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::ReadFile;
using testing::TempDir;

constexpr int kSnapshotFrames = 2;

// The value of the metric line that starts with `prefix` in a scrape of `port`; -1 if absent.
double ScrapeMetric(const TempDir& dir, int port, const std::string& prefix) {
  ChildProcess get("/usr/bin/python3",
                   {"-c",
                    "import sys, urllib.request\n"
                    "print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())",
                    "http://127.0.0.1:" + std::to_string(port) + "/metrics"},
                   dir.File("scrape.err"));
  double value = -1;
  while (auto line = get.ReadLine(30s)) {
    if (line->rfind(prefix, 0) == 0) value = std::stod(line->substr(prefix.size()));
  }
  get.Wait(30s);
  return value;
}

TEST(SnapshotsTest, RecordsGetFullResolutionSnapshotFilesThatSkynetctlFetches) {
  TempDir dir;
  testing::Camsim sim_run =
      testing::StartCamsim(dir, {"--port", "0", "--loop-seconds", "8", "--size", "640x360", "--fps",
                                 "10", "--traffic", "1", "--log-level", "warn"});
  const testing::CamsimReady& ready = sim_run.ready;
  ASSERT_EQ(ready.urls.size(), 1u);
  const std::string evidence = dir.File("evidence");
  std::ofstream(dir.File("skynetd.yaml"))
      << "node_id: snapshots-node\n"
      << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
      << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
      << "metrics_endpoint: 127.0.0.1:0\n"
      << "records:\n  path: " << dir.File("records.db") << "\n"
      << "evidence:\n  path: " << evidence << "\n"
      << "cameras:\n  - id: cam0\n    url: " << ready.urls[0] << "\n"
      << "    analytics_fps: 10\n    detect_width: 320\n"
      << "    vehicles:\n      enabled: true\n      snapshot_frames: " << kSnapshotFrames << "\n";
  auto feed = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {"record/", "vehicle/"});
  ASSERT_TRUE(feed.ok());
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", dir.File("skynetd.yaml")},
                      dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  const int port = testing::MetricsPort(dir.File("skynetd.log"));
  ASSERT_GT(port, 0) << "skynetd logged no metrics port";

  // A record with both files (crop, scene), and its track's vehicle_ended (the box).
  std::map<uint64_t, v1::VehicleSnapshot> ended;
  v1::VehicleRecord record;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (record.snapshot_files_size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto ev = feed->Next(500);
    ASSERT_TRUE(ev.ok()) << ev.status().message();
    if (!*ev) continue;
    if ((*ev)->has_vehicle_ended()) {
      const v1::VehicleTrack& t = (*ev)->vehicle_ended().track();
      ended[t.track_id()] = t.snapshot();
    }
    if ((*ev)->has_vehicle_record() && ended.count((*ev)->vehicle_record().track_id())) {
      record = (*ev)->vehicle_record();
    }
  }
  ASSERT_EQ(record.snapshot_files_size(), 2) << ReadFile(dir.File("skynetd.log"));
  const std::string crop_file = evidence + "/" + record.snapshot_files(0);
  const std::string scene_file = evidence + "/" + record.snapshot_files(1);
  EXPECT_NE(crop_file.find("cam0/snapshots/"), std::string::npos) << crop_file;
  EXPECT_NE(crop_file.find("-crop.jpg"), std::string::npos) << crop_file;
  ASSERT_TRUE(std::filesystem::exists(crop_file)) << crop_file;
  ASSERT_TRUE(std::filesystem::exists(scene_file)) << scene_file;

  // The scene is the camera's frame, not the detect size; the crop is the box at that size.
  const cv::Mat scene = cv::imread(scene_file);
  EXPECT_EQ(scene.size(), cv::Size(640, 360));
  const cv::Mat crop = cv::imread(crop_file);
  ASSERT_FALSE(crop.empty());
  const v1::NormalizedBox& box = ended[record.track_id()].box();
  const double box_at_detect = box.w() * 320;
  EXPECT_GT(crop.cols, 1.5 * box_at_detect) << "box " << box.w() << " x 320";
  EXPECT_GE(crop.cols, box.w() * 640 - 4);

  // skynetctl snapshot: the crop, and with --scene the whole frame.
  const testing::ToolRun got = testing::RunSkynetctl(
      dir, dir.Ipc("control.sock"),
      {"snapshot", "cam0:" + std::to_string(record.track_id()), "-o", dir.File("car.jpg")});
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(cv::imread(dir.File("car.jpg")).size(), crop.size());
  const testing::ToolRun got_scene =
      testing::RunSkynetctl(dir, dir.Ipc("control.sock"),
                            {"snapshot", "cam0:" + std::to_string(record.track_id()), "--scene",
                             "-o", dir.File("scene.jpg")});
  ASSERT_EQ(got_scene.code, 0) << got_scene.err;
  EXPECT_EQ(cv::imread(dir.File("scene.jpg")).size(), cv::Size(640, 360));
  const testing::ToolRun missing =
      testing::RunSkynetctl(dir, dir.Ipc("control.sock"), {"snapshot", "cam0:0", "-o", "x.jpg"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "skynetctl: no record cam0:0\n");

  // The memory bound: frames were held, never more than the cap.
  const double held_max =
      ScrapeMetric(dir, port, "skynet_vehicles_source_frames_held_max{camera=\"cam0\"} ");
  EXPECT_GE(held_max, 1);
  EXPECT_LE(held_max, kSnapshotFrames);

  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 60s), 0);
  EXPECT_NE(ReadFile(dir.File("skynetd.log")).find("snapshots: "), std::string::npos);
}

}  // namespace
}  // namespace skynet
