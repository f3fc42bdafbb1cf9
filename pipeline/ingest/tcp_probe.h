// TCP probing of a camera: is its RTSP port accepting connections, and if rtspsrc could not
// connect, why not (refused, no answer, unresolvable).
//
// GStreamer-free, blocking (at most the timeout given, plus name resolution). Called on the
// session thread: by the bus classification after rtspsrc's "Failed to connect", and while
// waiting to reconnect. Stateless; any thread.
#pragma once

#include <optional>
#include <string>

#include "pipeline/ingest/session_state.h"

namespace skynet::ingest {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal
  std::string port;  // as written, or the scheme's default
};

// scheme://[userinfo@]host[:port]/... -> host and port (default 554, or 322 for rtsps).
// nullopt if `url` has no "://".
std::optional<HostPort> SplitHostPort(const std::string& url);

// A TCP connect to the URL's host and port within `timeout_ms`: true if it was accepted.
bool ProbeTcp(const std::string& url, int timeout_ms);

// After rtspsrc's "Failed to connect": tries a TCP connect to the URL's host and port (at most
// `timeout_ms`) to tell refused / timeout / unresolvable apart. Fills `detail` (untouched,
// kError, if the URL has no "://").
StateReason DiagnoseConnect(const std::string& url, int timeout_ms, std::string* detail);

}  // namespace skynet::ingest
