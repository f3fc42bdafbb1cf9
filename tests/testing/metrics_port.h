// MetricsPort: the port a child skynetd bound for its metrics (configured as 127.0.0.1:0), read
// from the line it logs ("metrics on http://HOST:PORT/metrics"). Port 0 lets the kernel pick a
// free port at bind time, so tests running in parallel never race for one.
#pragma once

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "tests/testing/wait.h"

namespace skynet::testing {

// 0 if `log_path` shows no such line within `deadline`.
inline int MetricsPort(const std::string& log_path,
                       std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
  static const std::regex kLine(R"(metrics on http://[^ ]*:([0-9]+)/metrics)");
  int port = 0;
  WaitFor(
      [&] {
        std::ifstream in(log_path);
        std::stringstream text;
        text << in.rdbuf();
        const std::string s = text.str();
        std::smatch m;
        if (!std::regex_search(s, m, kLine)) return false;
        port = std::stoi(m[1]);
        return true;
      },
      deadline, std::chrono::milliseconds(20));
  return port;
}

}  // namespace skynet::testing
