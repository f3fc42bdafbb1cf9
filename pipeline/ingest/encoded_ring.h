// EncodedRing: a camera's recent compressed video (access units, as they went into the decoder,
// before any unit was dropped), for clips cut without re-encoding (docs/evidence.md).
//
// The ring always starts at a key frame. It keeps at least keep_us of capture time back from
// the newest unit, counted from a key frame (so a clip can start a pre-roll before "now" at a key
// frame), and never more than max_bytes (beyond it the oldest group of pictures goes first,
// counted as `evicted_for_bytes`: then the pre-roll may be short).
//
// Pure and GStreamer-free; every method is safe from any thread (one short lock). Units share
// their bytes (shared_ptr), so reads copy no video.
//
//   EncodedRing ring({.max_bytes = 32 << 20, .keep_us = 15'000'000});
//   ring.Push(unit);                                   // streaming thread
//   auto start = ring.KeyFrameAtOrBefore(event_us - 5'000'000);
//   auto units = ring.ReadFrom(*start, 256);           // the clip writer
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace skynet::ingest {

// What a muxer needs to know of the stream. One object per pipeline: units that share the
// pointer are one continuous stream (timestamps of one timeline).
struct EncodedFormat {
  std::string codec;       // "h264" or "h265"
  // avcC / hvcC from the caps (length-prefixed units); empty: Annex B units (start codes) that
  // carry their parameter sets in band.
  std::string codec_data;
  int width = 0;
  int height = 0;
};

// One access unit (a whole picture).
struct EncodedUnit {
  uint64_t seq = 0;          // set by EncodedRing::Push: 1, 2, 3, ...
  int64_t pts_ns = -1;       // buffer timestamps of the stream (-1: none)
  int64_t dts_ns = -1;
  int64_t duration_ns = -1;
  int64_t capture_us = 0;    // capture time, as Frame::capture_time_us
  bool key = false;
  std::shared_ptr<const std::string> data;
  std::shared_ptr<const EncodedFormat> format;
};

struct EncodedRingOptions {
  int64_t max_bytes = int64_t{32} << 20;  // hard bound of the bytes held
  int64_t keep_us = 15'000'000;           // capture time kept back from the newest unit
};

struct EncodedRingStats {
  int64_t bytes = 0;
  int64_t units = 0;
  int64_t oldest_us = 0;       // capture time of the first unit (0: empty)
  int64_t newest_us = 0;
  uint64_t last_seq = 0;       // of the newest unit (0: none yet)
  uint64_t pushed = 0;
  uint64_t dropped_no_key = 0;      // delta units with no key frame before them in the ring
  uint64_t evicted_for_bytes = 0;   // units evicted by max_bytes before keep_us was reached
};

class EncodedRing {
 public:
  explicit EncodedRing(EncodedRingOptions options) : options_(options) {}

  // Appends `unit` (its seq is assigned) and evicts what is no longer needed. A delta unit
  // into an empty ring is dropped (a clip must start at a key frame).
  void Push(EncodedUnit unit);
  // The seq of the newest key frame captured at or before `time_us`; if every key frame is
  // later, the oldest one (the clip's pre-roll is then short). Empty if the ring is empty.
  std::optional<uint64_t> KeyFrameAtOrBefore(int64_t time_us) const;
  // Up to `max` units from `first_seq` on (or from the oldest kept, if it was evicted: the
  // caller sees the jump in seq), in order.
  std::vector<EncodedUnit> ReadFrom(uint64_t first_seq, size_t max) const;
  // Forgets everything (the camera went away).
  void Clear();
  EncodedRingStats stats() const;

 private:
  void PopFront();  // mu_ held
  void Evict();     // mu_ held

  const EncodedRingOptions options_;
  mutable std::mutex mu_;
  std::deque<EncodedUnit> units_;  // contiguous seqs, front is a key frame
  std::deque<uint64_t> keys_;      // seqs of the key frames in units_
  EncodedRingStats stats_;
};

}  // namespace skynet::ingest
