// Offline analysis end to end: skynet-scenegen renders a short scene with its truth and config,
// `skynetd analyze` turns the video into events, skynet-eval scores them against the truth.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace skynet {
namespace {

using testing::ReadFile;
using testing::RunToCompletion;
using testing::TempDir;

// Runs a binary to completion; returns its exit code and collects its stdout lines.
// Generates `scene` into `dir` (15 s at 10 fps, 640x360, the eval's size).
void Generate(const TempDir& dir, const std::string& scene) {
  ASSERT_EQ(RunToCompletion("tools/scenegen/skynet-scenegen",
                    {"--scene", scene, "--seconds", "15", "--fps", "10", "--size", "640x360",
                     "--seed", "3", "--out", dir.path()},
                    dir.File("stderr.log")),
            0)
      << ReadFile(dir.File("stderr.log"));
}

int Analyze(const TempDir& dir, const std::string& scene, const std::string& out) {
  return RunToCompletion("daemon/skynetd",
                 {"analyze", "--config", dir.File(scene + ".yaml"), "--camera", scene,
                  dir.File(scene + ".mp4"), "--out", out},
                 dir.File("stderr.log"));
}

struct Scores {
  double recall = -1;
  int objects = -1;
  int false_events = -1;
};

Scores Score(const TempDir& dir, const std::string& scene, const std::string& events) {
  std::vector<std::string> lines;
  EXPECT_EQ(RunToCompletion("tools/eval/skynet-eval",
                    {"--truth", dir.File(scene + ".truth.json"), "--events", events}, dir.File("stderr.log"), &lines),
            0);
  Scores s;
  int recalled = 0;
  for (const std::string& l : lines) {
    std::sscanf(l.c_str(), "objects %d, recalled %d: recall %lf", &s.objects, &recalled, &s.recall);
    std::sscanf(l.c_str(), "false motion events %d", &s.false_events);
  }
  return s;
}

TEST(AnalyzeTest, TrafficSceneMeetsTheRecallTargetAndOutputIsReproducible) {
  TempDir dir;
  Generate(dir, "traffic");
  ASSERT_EQ(Analyze(dir, "traffic", dir.File("a.jsonl")), 0) << ReadFile(dir.File("stderr.log"));
  const std::string summary = ReadFile(dir.File("stderr.log"));
  EXPECT_NE(summary.find("ms cpu/frame"), std::string::npos) << summary;
  const std::string events = ReadFile(dir.File("a.jsonl"));
  EXPECT_NE(events.find("\"motionStarted\""), std::string::npos);
  EXPECT_NE(events.find("\"nodeId\":\"offline\""), std::string::npos);
  EXPECT_NE(events.find("\"frameIndex\""), std::string::npos);
  EXPECT_NE(events.find("\"streamTimeUs\""), std::string::npos);

  const Scores s = Score(dir, "traffic", dir.File("a.jsonl"));
  EXPECT_GT(s.objects, 5);
  EXPECT_GE(s.recall, 0.95);

  // Same video, same config: byte-identical events (no wall clock in offline output).
  ASSERT_EQ(Analyze(dir, "traffic", dir.File("b.jsonl")), 0);
  EXPECT_EQ(events, ReadFile(dir.File("b.jsonl")));
}

TEST(AnalyzeTest, EmptySceneWithMasksGivesNoMotion) {
  TempDir dir;
  Generate(dir, "empty");  // OSD clock, swaying trees (both masked by its config), noise
  ASSERT_EQ(Analyze(dir, "empty", dir.File("e.jsonl")), 0) << ReadFile(dir.File("stderr.log"));
  // No motion event; the video quality checks only go from learning to ok (no fault).
  const std::string events = ReadFile(dir.File("e.jsonl"));
  EXPECT_EQ(events.find("\"motion"), std::string::npos) << events;
  EXPECT_EQ(events.find("QUALITY_STATE_FAULT"), std::string::npos) << events;
  EXPECT_NE(events.find("\"to\":\"QUALITY_STATE_OK\""), std::string::npos) << events;
  const Scores s = Score(dir, "empty", dir.File("e.jsonl"));
  EXPECT_EQ(s.objects, 0);
  EXPECT_EQ(s.false_events, 0);
}

TEST(AnalyzeTest, ExitCodesNameTheProblem) {
  TempDir dir;
  {
    std::ofstream f(dir.File("c.yaml"));
    f << "cameras:\n  - id: cam\n    url: file:///nowhere.mp4\n";
  }
  {
    std::ofstream f(dir.File("not-a-video.mp4"));
    f << "hello\n";
  }
  EXPECT_EQ(RunToCompletion("daemon/skynetd",
                    {"analyze", "--config", dir.File("c.yaml"), "--camera", "nope",
                     dir.File("not-a-video.mp4")},
                    dir.File("stderr.log")),
            2);
  EXPECT_NE(ReadFile(dir.File("stderr.log")).find("no camera 'nope'"), std::string::npos);
  EXPECT_EQ(RunToCompletion("daemon/skynetd", {"analyze", "--camera", "cam", dir.File("x.mp4")}, dir.File("stderr.log")), 2);
  EXPECT_EQ(
      RunToCompletion("daemon/skynetd",
              {"analyze", "--config", dir.File("c.yaml"), "--camera", "cam", dir.File("x.mp4")},
              dir.File("stderr.log")),
      1);
  EXPECT_NE(ReadFile(dir.File("stderr.log")).find(dir.File("x.mp4")), std::string::npos);
  EXPECT_EQ(RunToCompletion("daemon/skynetd",
                    {"analyze", "--config", dir.File("c.yaml"), "--camera", "cam",
                     dir.File("not-a-video.mp4")},
                    dir.File("stderr.log")),
            1);
  EXPECT_NE(ReadFile(dir.File("stderr.log")).find("not-a-video.mp4: cannot decode"), std::string::npos)
      << ReadFile(dir.File("stderr.log"));
}

}  // namespace
}  // namespace skynet
