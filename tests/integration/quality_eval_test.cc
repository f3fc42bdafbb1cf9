// Video quality diagnostics measured on scenegen faults (issue 15 item 7, reduced): skynet-scenegen
// renders a road-day clip covered by a hand or bag from 8 s and the same scene without a fault,
// `skynetd analyze` runs the daemon's diagnostics on both, skynet-quality-eval scores them. The
// full evaluation (every fault over seven scenes, several seeds) is
// tools/eval/run-quality-eval.sh.
#include <gtest/gtest.h>

#include <regex>

#include "tests/testing/camsim.h"
#include "tests/testing/temp_dir.h"

namespace skynet {
namespace {

using testing::ReadFile;
using testing::RunTool;
using testing::TempDir;
using testing::ToolRun;

TEST(QualityEvalTest, ACoverIsDiagnosedAndTheNormalSceneRaisesNothing) {
  TempDir dir;
  const std::vector<std::string> common = {"--scene", "road-day", "--seed", "2",     "--size",
                                           "320x180", "--fps",    "10",     "--out", dir.path()};
  std::vector<std::string> cover = common;
  cover.insert(cover.end(), {"--seconds", "30", "--fault", "cover", "--fault-at", "8"});
  ToolRun gen = RunTool(dir, "tools/scenegen/skynet-scenegen", cover);
  ASSERT_EQ(gen.code, 0) << gen.err;
  std::vector<std::string> normal = common;
  normal.insert(normal.end(), {"--seconds", "20"});
  gen = RunTool(dir, "tools/scenegen/skynet-scenegen", normal);
  ASSERT_EQ(gen.code, 0) << gen.err;
  const std::string truth = ReadFile(dir.File("road-day-cover.truth.json"));
  EXPECT_NE(truth.find("\"fault\":{\"kind\":\"cover\""), std::string::npos) << truth.substr(0, 400);

  for (const char* clip : {"road-day", "road-day-cover"}) {
    const std::string name = clip;
    ToolRun run = RunTool(dir, "daemon/skynetd",
                          {"analyze", "--config", dir.File(name + ".yaml"), "--camera", name,
                           dir.File(name + ".mp4"), "--out", dir.File(name + ".jsonl")});
    ASSERT_EQ(run.code, 0) << run.err;
  }
  EXPECT_NE(ReadFile(dir.File("road-day-cover.jsonl")).find("\"videoQuality\""), std::string::npos);

  ToolRun eval =
      RunTool(dir, "tools/eval/skynet-quality-eval",
              {dir.path(), "--window-s", "20", "--require-rate", "1", "--require-false", "0"});
  EXPECT_EQ(eval.code, 0) << eval.out << eval.err;
  EXPECT_TRUE(std::regex_search(eval.out, std::regex(R"(cover\s+occlusion\s+1\s+1\s+100\.0%)")))
      << eval.out;
  EXPECT_NE(eval.out.find("false diagnostics on normal scenes: 0 in 1 clips, 20 s (road-day 0)"),
            std::string::npos)
      << eval.out;

  // A clip too short for the window is an input error, not a miss.
  ToolRun strict = RunTool(dir, "tools/eval/skynet-quality-eval", {dir.path(), "--window-s", "30"});
  EXPECT_EQ(strict.code, 2) << strict.out;
  EXPECT_NE(strict.err.find("shorter than the window"), std::string::npos) << strict.err;
}

}  // namespace
}  // namespace skynet
