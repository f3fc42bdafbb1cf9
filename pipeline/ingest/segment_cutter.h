// CutRecordedSegments: a clip of a time range cut from a camera's recorded segments (the
// fragmented MP4 files of continuous recording, docs/evidence.md), remuxed without decoding or
// re-encoding into one new fragmented MP4 (mp4_remuxer.h), across segment boundaries.
//
// The clip starts at the last key frame at or before `from_us` and ends with the last picture at
// or before `to_us` (capture times: a segment's first picture was captured at its start_us, the
// others at start_us plus their presentation time in the file). A segment that cannot be opened
// or read is skipped with a note naming it; a segment whose stream differs (codec, size,
// parameter sets) ends the clip with a note. Reads with libavformat; no thread of its own.
//
//   std::vector<RecordedSegment> segments = ...;  // in time order
//   Result<CutResult> r = CutRecordedSegments(segments, from_us, to_us, write);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/core/status.h"
#include "pipeline/ingest/mp4_remuxer.h"

namespace skynet::ingest {

struct RecordedSegment {
  std::string path;      // to open
  std::string name;      // as notes name it (the evidence-relative path)
  int64_t start_us = 0;  // capture time of its first picture
  bool growing = false;  // still being written: a torn last fragment is its end, not damage
};

struct CutResult {
  int64_t start_us = 0;  // capture times of the first and last picture written
  int64_t end_us = 0;
  int64_t units = 0;     // pictures written
  int segments = 0;      // segments it was cut from
  std::vector<std::string> notes;  // damaged segments skipped, a range only partly recorded
};

// `segments` in time order; the caller passes those that may hold [from_us, to_us] (the one
// holding from_us and the later ones starting at or before to_us). Errors: NotFound (none of
// the range is in them; the message says what was read), IoError (every segment was damaged,
// naming them), the writer's error, Internal (libavformat).
Result<CutResult> CutRecordedSegments(const std::vector<RecordedSegment>& segments,
                                      int64_t from_us, int64_t to_us, Mp4Remuxer::Write write);

}  // namespace skynet::ingest
