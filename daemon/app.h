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

// Loads and validates `path` as start would (the file, and the server key file: present, a key
// pair, not readable by group or others); prints "ok: N cameras" or every error. Returns the
// exit code: 0 ok, 1 refused.
int CheckConfig(const std::string& path);

}  // namespace skynet::daemon
