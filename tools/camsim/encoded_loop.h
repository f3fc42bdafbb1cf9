// EncodedLoop: a short video loop encoded once and kept in memory as access units.
//
// Built by EncodeLoop() from a rendered scene or a decoded file; immutable afterwards and
// shared (read-only, from any thread) by every camera whose spec differs only in name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "pipeline/core/status.h"
#include "tools/camsim/camera_spec.h"

namespace skynet::camsim {

struct GstMiniObjectUnref {
  void operator()(GstBuffer* b) const { gst_buffer_unref(b); }
  void operator()(GstCaps* c) const { gst_caps_unref(c); }
};
using BufferPtr = std::unique_ptr<GstBuffer, GstMiniObjectUnref>;  // adopts "transfer full"
using CapsPtr = std::unique_ptr<GstCaps, GstMiniObjectUnref>;      // adopts "transfer full"

struct EncodedLoop {
  std::string codec;             // "h264" | "h265"
  CapsPtr caps;                  // byte-stream, alignment=au, with width/height/framerate
  std::vector<BufferPtr> units;  // one access unit per frame, decode order; units[0] is a keyframe
  // Per unit, its PTS minus its DTS in frames (>= 0; all 0 without B frames).
  std::vector<int> pts_offset;
  GstClockTime frame_duration = 0;
};

// Identifies loops that can be shared: everything in the spec except the name.
std::string LoopKey(const CameraSpec& spec);

// Renders (traffic/static) or decodes (file) spec.loop_seconds of video and encodes it with
// x264enc/x265enc (zerolatency, ultrafast, a keyframe every second, spec.bframes B frames). Blocks. Unavailable if
// an element is missing; IoError if the file cannot be decoded; Internal otherwise.
Result<std::shared_ptr<const EncodedLoop>> EncodeLoop(const CameraSpec& spec);

// True if the GStreamer registry has an element factory called `name`.
bool HasElement(const char* name);

}  // namespace skynet::camsim
