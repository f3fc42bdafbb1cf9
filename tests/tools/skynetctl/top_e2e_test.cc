// `skynetctl top` against the real daemon on loopback: skynet-camsim serves a side-on traffic
// scene, skynetd analyses it with the counting line, lanes and calibration that skynet-scenegen
// generates for the same scene, and top's plain snapshots must show the camera online with the
// crossings it counted; when camsim takes the camera off the air, an OFFLINE alarm line that
// says "back online" once it returns.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::TempDir;

// skynetd's config: the feed and control socket in `dir`, and one camera "road" playing `url`
// with the vehicles: section (and masks) of scenegen's generated config for the scene.
std::string WriteConfig(const TempDir& dir, const std::string& generated_yaml,
                        const std::string& url) {
  std::ostringstream config;
  config << "node_id: top-node\n"
         << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
         << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
         << "metrics_endpoint: \"\"\n"  // the default port is one for every test running at once
         << "heartbeat_interval_ms: 500\n"
         << "cameras:\n";
  std::istringstream in(generated_yaml);
  std::string line;
  bool camera = false;
  while (std::getline(in, line)) {
    if (line.rfind("  - id:", 0) == 0) {
      camera = true;
      config << "  - id: road\n    name: Test road\n";
    } else if (!camera || line.rfind("    file_", 0) == 0) {
      continue;
    } else if (line.rfind("    url:", 0) == 0) {
      config << "    url: " << url << "\n";
    } else {
      config << line << "\n";
    }
  }
  const std::string path = dir.File("skynetd.yaml");
  std::ofstream(path) << config.str();
  return path;
}

// Reads `top`'s lines until one contains `text`; false at EOF or when `timeout` passes.
bool ReadUntil(ChildProcess& top, const std::string& text, std::chrono::milliseconds timeout,
               std::string* last) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<std::string> line =
        top.ReadLine(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()));
    if (!line) return false;
    *last = *line;
    if (line->find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(SkynetctlTopTest, ShowsTheCameraWithItsCountsAndItsOfflineAlarm) {
  TempDir dir;
  // The scene's geometry: scenegen writes traffic.yaml next to a (short) clip.
  ASSERT_EQ(testing::RunToCompletion("tools/scenegen/skynet-scenegen",
                                     {"--scene", "traffic", "--seconds", "1", "--fps", "10",
                                      "--size", "640x360", "--seed", "1", "--out", dir.path()},
                                     dir.File("scenegen.log")),
            0)
      << testing::ReadFile(dir.File("scenegen.log"));
  const std::string generated = testing::ReadFile(dir.File("traffic.yaml"));
  ASSERT_NE(generated.find("lines:"), std::string::npos) << generated;

  ChildProcess camsim(BuildPath("tools/camsim/skynet-camsim"),
                      {"--port", "0", "--camera", "road:traffic:640x360@10", "--seed", "1",
                       "--loop-seconds", "20", "--control-port", "0", "--log-level", "warn"},
                      dir.File("camsim.log"));
  ASSERT_TRUE(camsim.started());
  const testing::CamsimReady sim = testing::ReadCamsimReady(camsim);
  const std::string url = sim.urls.empty() ? "" : sim.urls[0];
  const int control_port = sim.control_port;
  ASSERT_NE(url, "") << testing::ReadFile(dir.File("camsim.log"));
  ASSERT_NE(control_port, 0);

  const std::string config = WriteConfig(dir, generated, url);
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config}, dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());

  // stdout is a pipe: plain snapshots, one per interval, each ending in a blank line.
  ChildProcess top(BuildPath("tools/skynetctl/skynetctl"),
                   {"--control", dir.Ipc("control.sock"), "--feed", dir.Ipc("feed.sock"), "top",
                    "--interval", "0.5", "--for", "240"},
                   dir.File("top.log"));
  ASSERT_TRUE(top.started());
  // The camera's row: id, state, vehicles in view, "count FWD/BACK", ..., its name.
  const std::regex row(R"(^road +online +\d+( \(\d+ stopped\))? +count (\d+)/(\d+) .*Test road$)");
  std::string snapshot, last_row;
  bool counted = false, headed = false;
  while (!counted) {
    std::optional<std::string> line = top.ReadLine(180s);
    ASSERT_TRUE(line.has_value()) << "no snapshot with crossings; last row: " << last_row
                                  << "\nskynetd log:\n"
                                  << testing::ReadFile(dir.File("skynetd.log"));
    snapshot += *line + "\n";
    if (line->empty()) {
      snapshot.clear();
      continue;
    }
    if (line->rfind("node top-node ", 0) == 0) headed = true;
    std::smatch m;
    if (line->rfind("road ", 0) == 0) last_row = *line;
    if (std::regex_match(*line, m, row) && std::stoi(m[2]) + std::stoi(m[3]) >= 2) counted = true;
  }
  EXPECT_TRUE(headed) << snapshot;

  // The camera goes off the air: one alarm line, closed when it is back.
  ASSERT_EQ(testing::CamsimCommand(control_port, "stop road"), "ok");
  std::string last;
  EXPECT_TRUE(ReadUntil(top, "  road  OFFLINE  ", 120s, &last)) << last;
  ASSERT_EQ(testing::CamsimCommand(control_port, "start road"), "ok");
  EXPECT_TRUE(ReadUntil(top, "(back online after ", 180s, &last)) << last;
  EXPECT_EQ(top.SignalAndWait(SIGTERM, 10s), 0);

  // --once: a single snapshot, then exit 0.
  ChildProcess once(BuildPath("tools/skynetctl/skynetctl"),
                    {"--control", dir.Ipc("control.sock"), "--feed", dir.Ipc("feed.sock"), "top",
                     "--once", "--for", "1"},
                    dir.File("once.log"));
  std::vector<std::string> lines;
  while (auto line = once.ReadLine(30s)) lines.push_back(*line);
  EXPECT_EQ(once.Wait(10s), 0);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].rfind("node top-node ", 0), 0u) << lines[0];
  int headers = 0;
  bool row_seen = false;
  for (const std::string& l : lines) {
    headers += l.rfind("node ", 0) == 0;
    row_seen |= l.rfind("road ", 0) == 0 && l.find(" online ") != std::string::npos;
  }
  EXPECT_EQ(headers, 1);
  EXPECT_TRUE(row_seen);

  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 10s), 0);
  EXPECT_EQ(camsim.SignalAndWait(SIGTERM, 30s), 0);
}

}  // namespace
}  // namespace skynet
