// chaosproxy: a TCP proxy on loopback that misbehaves on demand, for fault tests.
//
// Listens on 127.0.0.1 and forwards every connection to one target. The mode applies to all
// current and future connections and can be switched at any time:
//   pass          forward both ways
//   delay MS      forward each chunk MS milliseconds after it arrived (both ways)
//   blackhole     accept and swallow: read and drop everything, never forward or answer;
//                 connections stay open
//   reset         reset every connection (RST, SO_LINGER 0) and every new one at once
//   corrupt RATE  forward, flipping each target->client byte with probability RATE (0..1)
//   refuse        stop listening (connects are refused) and reset every connection
// One thread polls the listener, every connection and the control port. Each direction of a
// connection buffers at most ProxyOptions::max_buffer_bytes; beyond that it stops reading.
//
//   auto proxy = Proxy::Start({.target_port = camsim_port});
//   url = "rtsp://127.0.0.1:" + std::to_string((*proxy)->port()) + "/cam1";
//   (*proxy)->SetMode({.kind = Mode::Kind::kBlackhole});
//
// Threads: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pipeline/core/status.h"

namespace skynet::chaos {

struct Mode {
  enum class Kind { kPass, kDelay, kBlackhole, kReset, kCorrupt, kRefuse };
  Kind kind = Kind::kPass;
  int delay_ms = 0;           // kDelay
  double corrupt_rate = 0.0;  // kCorrupt
};

// Parses a control line ("delay 200", "corrupt 0.01", "pass", ...). InvalidArgument quoting it.
Result<Mode> ParseMode(std::string_view line);
std::string ModeName(const Mode& mode);  // "delay 200"

struct ProxyOptions {
  // Port to listen on (127.0.0.1); 0 picks a free one.
  int listen_port = 0;
  // Where connections go.
  std::string target_host = "127.0.0.1";
  int target_port = 0;
  // Line-protocol control port on 127.0.0.1 (a mode per line, answered "ok" or "error: ...";
  // "stats" answers "ok accepted=N active=N ..."); -1: none, 0: a free port.
  int control_port = -1;
  // Bytes buffered per direction of a connection before the proxy stops reading that side.
  size_t max_buffer_bytes = 1 << 20;
  Mode mode;
};

struct ProxyStats {
  uint64_t accepted = 0;        // client connections accepted
  uint64_t active = 0;          // connections open now
  uint64_t bytes_forwarded = 0;  // both directions
  uint64_t bytes_swallowed = 0;  // read in blackhole mode and dropped
  uint64_t bytes_corrupted = 0;  // bytes flipped
  uint64_t resets = 0;          // connections reset by the proxy
};

class Proxy {
 public:
  // Binds the listener (and control port) and starts the thread. InvalidArgument for a bad
  // option, Unavailable if a port cannot be bound or the target does not resolve.
  static Result<std::unique_ptr<Proxy>> Start(ProxyOptions options);
  ~Proxy();  // closes every connection and joins the thread
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  int port() const;
  int control_port() const;  // 0 without a control port
  // Switches the mode; returns once the proxy thread applied it (connections reset, listener
  // closed or reopened). Unavailable if the listener cannot be bound again after refuse.
  Status SetMode(const Mode& mode);
  // Parses and applies a control line; "stats" is answered in `reply`.
  Status Control(std::string_view line, std::string* reply = nullptr);
  ProxyStats stats() const;

  class Impl;

 private:
  explicit Proxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace skynet::chaos
