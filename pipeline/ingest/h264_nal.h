// H.264 access units: is this one disposable (no other picture refers to it)?
//
// A picture whose slices all have nal_ref_idc == 0 (non-reference B frames, the top temporal
// layer of "SVC" cameras) can be dropped before the decoder without harming any other picture.
// Internal to skynet_ingest, GStreamer-free, pure: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace skynet::ingest {

// `nal_length_size`: 1..4 for length-prefixed units (stream-format avc; the size comes from
// codec_data), 0 for Annex B start codes (byte-stream). True only if the unit holds at least one
// slice (NAL types 1..5) and every slice has nal_ref_idc 0; false on anything malformed.
bool H264AccessUnitIsDisposable(const uint8_t* data, size_t size, int nal_length_size);

}  // namespace skynet::ingest
