// Mp4Remuxer: writes compressed access units (encoded_ring.h) into a fragmented MP4 without
// decoding or re-encoding them (libavformat's mov muxer, "frag_keyframe+empty_moov": the header
// first, then a fragment at every key frame and at least every second, so a file cut short by a
// crash plays up to its last whole fragment).
//
// Timestamps come from the units (PTS/DTS, relative to the first unit), so the clip plays at the
// camera's own pace. Units must share one EncodedFormat (one continuous stream).
//
// Not thread-safe: one owner (the clip writer thread). Bytes go to `write` as the muxer produces
// them; a failing write fails the Add()/Finish() that caused it.
//
//   auto mux = Mp4Remuxer::Create(*unit.format, unit, [&](const uint8_t* p, size_t n) {...});
//   (*mux)->Add(unit); ... (*mux)->Finish();
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "pipeline/core/status.h"
#include "pipeline/ingest/encoded_ring.h"

namespace skynet::ingest {

class Mp4Remuxer {
 public:
  using Write = std::function<Status(const uint8_t* data, size_t size)>;

  // Writes the MP4 header. `first` is the clip's first unit, a key frame: when the format has
  // no codec_data (Annex B), its parameter sets make the header. InvalidArgument if it is not
  // a key frame or they are missing; Internal on a libavformat error.
  static Result<std::unique_ptr<Mp4Remuxer>> Create(const EncodedFormat& format,
                                                    const EncodedUnit& first, Write write);
  ~Mp4Remuxer();
  Mp4Remuxer(const Mp4Remuxer&) = delete;
  Mp4Remuxer& operator=(const Mp4Remuxer&) = delete;

  // Adds one unit (in decode order).
  Status Add(const EncodedUnit& unit);
  // Writes the last fragment and the index; later calls do nothing.
  Status Finish();
  // Units added; the capture times of the first and last.
  int64_t units() const { return units_; }

 private:
  struct Impl;
  explicit Mp4Remuxer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int64_t units_ = 0;
};

}  // namespace skynet::ingest
