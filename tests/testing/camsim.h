// Integration-test helpers for the project's own tools run as children: skynet-camsim (the RTSP
// simulator, with its fault control port) and skynetctl.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace skynet::testing {

// What camsim prints on stdout before it serves: one URL per camera, "control 127.0.0.1:PORT"
// when it was started with --control-port, then "ready".
struct CamsimReady {
  std::vector<std::string> urls;
  int control_port = 0;  // 0: no control port
};

// Reads camsim's start-up lines up to "ready" (a test failure if it does not come).
inline CamsimReady ReadCamsimReady(ChildProcess& camsim) {
  using namespace std::chrono_literals;
  CamsimReady out;
  while (auto line = camsim.ReadLine(120s)) {
    if (*line == "ready") return out;
    static const std::string kControl = "control 127.0.0.1:";
    if (line->rfind(kControl, 0) == 0) {
      out.control_port = std::stoi(line->substr(kControl.size()));
    } else {
      out.urls.push_back(*line);
    }
  }
  ADD_FAILURE() << "camsim did not print ready";
  return out;
}

// Starts skynet-camsim with `args` (its stderr in `dir`/camsim.log) and reads its start-up lines:
// a test failure if it does not start or print "ready".
struct Camsim {
  std::unique_ptr<ChildProcess> process;
  CamsimReady ready;
};
inline Camsim StartCamsim(const TempDir& dir, const std::vector<std::string>& args) {
  Camsim c;
  c.process = std::make_unique<ChildProcess>(BuildPath("tools/camsim/skynet-camsim"), args,
                                             dir.File("camsim.log"));
  EXPECT_TRUE(c.process->started());
  if (c.process->started()) c.ready = ReadCamsimReady(*c.process);
  return c;
}

// One command on camsim's control port (e.g. "fault cam0 garbage 3"); its answer line, empty when
// the port could not be reached.
inline std::string CamsimCommand(int port, const std::string& command) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  const std::string line = command + "\n";
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
    char c;
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 30000) > 0 && read(fd, &c, 1) == 1 && c != '\n') answer += c;
  }
  close(fd);
  return answer;
}

// A finished run of one of the project's binaries: exit code, stdout (lines joined with "\n"),
// stderr.
struct ToolRun {
  int code = -1;
  std::string out, err;
};

// Runs the binary at `relative` (to the build tree) with `args`; stderr goes through
// `dir`/<name>.err.
inline ToolRun RunTool(const TempDir& dir, const std::string& relative,
                       const std::vector<std::string>& args) {
  const std::string err = dir.File(relative.substr(relative.rfind('/') + 1) + ".err");
  ToolRun r;
  std::vector<std::string> lines;
  r.code = RunToCompletion(relative, args, err, &lines);
  for (const std::string& l : lines) r.out += l + "\n";
  r.err = ReadFile(err);
  return r;
}

// skynetctl with `args` against the control socket `control_endpoint` (20 s request timeout).
inline ToolRun RunSkynetctl(const TempDir& dir, const std::string& control_endpoint,
                            std::vector<std::string> args) {
  args.insert(args.begin(), {"--control", control_endpoint, "--timeout", "20000"});
  return RunTool(dir, "tools/skynetctl/skynetctl", args);
}

}  // namespace skynet::testing
