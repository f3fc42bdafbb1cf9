// RateLimiter: drop-only frame rate limiting on presentation timestamps.
//
// Admits at most `max_fps` frames per second of stream time, never duplicates, keeps the
// admitted frames' own timestamps, and works for any input rate (lower, variable, unknown),
// which videorate drop-only does not: it fails to negotiate when the input is slower than
// the target and passes variable-rate (0/1) input through unlimited.
// Not thread-safe: one streaming thread.
#pragma once

#include <cstdint>

namespace skynet::ingest {

class RateLimiter {
 public:
  explicit RateLimiter(double max_fps);  // <= 0: admits everything

  // True if the frame at `pts_ns` is kept. A jump back of more than one interval (a loop or
  // a new segment) starts over.
  bool Admit(int64_t pts_ns);
  void Reset() { started_ = false; }

 private:
  int64_t interval_ns_ = 0;
  int64_t tolerance_ns_ = 0;
  bool started_ = false;
  int64_t next_ns_ = 0;  // earliest pts of the next admitted frame
};

}  // namespace skynet::ingest
