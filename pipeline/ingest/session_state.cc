#include "pipeline/ingest/session_state.h"

namespace skynet::ingest {

const char* SessionStateName(SessionState s) {
  switch (s) {
    case SessionState::kConnecting: return "connecting";
    case SessionState::kOnline: return "online";
    case SessionState::kStalled: return "stalled";
    case SessionState::kWaiting: return "waiting";
    case SessionState::kOffline: return "offline";
    case SessionState::kStopped: return "stopped";
    case SessionState::kBlocked: return "blocked";
    case SessionState::kDegraded: return "degraded";
  }
  return "unknown";
}

const char* StateReasonName(StateReason r) {
  switch (r) {
    case StateReason::kStarted: return "started";
    case StateReason::kConnected: return "connected";
    case StateReason::kRefused: return "refused";
    case StateReason::kNotFound: return "not found";
    case StateReason::kAuthFailed: return "auth failed";
    case StateReason::kTimeout: return "timeout";
    case StateReason::kStall: return "stall";
    case StateReason::kEndOfStream: return "end of stream";
    case StateReason::kDecodeError: return "decode error";
    case StateReason::kUnsupportedCodec: return "unsupported codec";
    case StateReason::kStopped: return "stopped";
    case StateReason::kError: return "error";
    case StateReason::kDownstreamBlocked: return "downstream blocked";
    case StateReason::kStreamChanged: return "stream changed";
  }
  return "unknown";
}

}  // namespace skynet::ingest
