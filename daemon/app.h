// The skynetd process: what main() runs once arguments are parsed.
#pragma once

#include <string>

#include "daemon/config.h"

namespace skynet::daemon {

// Blocks SIGINT, SIGTERM, SIGHUP and SIGPIPE in the calling thread, so that every thread
// created later inherits the mask and the main thread can wait for them synchronously.
// Call first thing in main().
void BlockSignals();

// Runs the daemon with `config` until SIGINT or SIGTERM. Returns the process exit code:
// 0 after a clean shutdown, 1 if start-up failed (the error is logged).
int RunDaemon(const Config& config);

// Loads and validates `path`; prints "ok: N cameras" or the error. Returns the exit code.
int CheckConfig(const std::string& path);

}  // namespace skynet::daemon
