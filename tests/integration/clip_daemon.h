// A skynetd with evidence on, watching camsim's traffic camera (320x180, 10 fps, a key frame
// every second) with a counting line, for the clip tests (clips_test.cc, clips_fault_test.cc).
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include "skynet/client/client.h"
#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace skynet::testing {

struct ClipDaemon {
  std::unique_ptr<ChildProcess> camsim;
  std::unique_ptr<ChildProcess> daemon;
  std::string evidence;  // the evidence directory
  std::string log;       // skynetd's log

  // Starts camsim, then skynetd with `evidence_yaml` (the keys under evidence:, indented by 2).
  void Start(const TempDir& dir, const std::string& evidence_dir,
             const std::string& evidence_yaml) {
    using namespace std::chrono_literals;
    camsim = std::make_unique<ChildProcess>(
        BuildPath("tools/camsim/skynet-camsim"),
        std::vector<std::string>{"--port", "0", "--loop-seconds", "8", "--size", "320x180",
                                 "--fps", "10", "--traffic", "1", "--log-level", "warn"},
        dir.File("camsim.log"));
    ASSERT_TRUE(camsim->started());
    const CamsimReady ready = ReadCamsimReady(*camsim);
    ASSERT_EQ(ready.urls.size(), 1u);
    evidence = evidence_dir;
    log = dir.File("skynetd.log");
    std::ofstream(dir.File("skynetd.yaml"))
        << "node_id: clip-node\n"
        << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
        << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
        << "metrics_endpoint: \"\"\n"
        << "heartbeat_interval_ms: 100\n"
        << "journal:\n  dir: " << dir.File("journal") << "\n"
        << "records:\n  path: " << dir.File("records.db") << "\n"
        << "evidence:\n  path: " << evidence << "\n"
        << evidence_yaml
        << "cameras:\n  - id: cam0\n    url: " << ready.urls[0] << "\n"
        << "    analytics_fps: 10\n"
        << "    vehicles:\n      enabled: true\n"
        << "      rules:\n        lines: [{id: middle, a: [0.5, 0.0], b: [0.5, 1.0]}]\n";
    daemon = std::make_unique<ChildProcess>(
        BuildPath("daemon/skynetd"),
        std::vector<std::string>{"--config", dir.File("skynetd.yaml")}, log);
    ASSERT_TRUE(daemon->started());
  }
};

}  // namespace skynet::testing
