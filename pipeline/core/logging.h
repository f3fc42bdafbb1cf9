// Named spdlog loggers per component: daemon, ingest, analytics, events, control.
//
// GetLogger() creates the logger on first use with the shared sinks and level, so any thread
// may call it. Messages are lowercase, one line per lifecycle change at info; per-frame detail
// only at trace. Never log a credential: pass URLs through RedactUrl() first.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "pipeline/core/url.h"  // RedactUrl

namespace skynet {

// Returns the logger called `name`, creating it if needed.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& name);

// Sets the level of all current and future loggers ("trace" ... "off"). False if unknown.
bool SetLogLevel(std::string_view level);

// Sends all loggers to stderr (default) or also to `path`. Call once at start-up.
void InitLogging(std::string_view level, const std::string& file_path = "");

// Replaces every occurrence of each non-empty secret in `text` with "***".
std::string RedactSecrets(std::string text, std::initializer_list<std::string_view> secrets);

}  // namespace skynet
