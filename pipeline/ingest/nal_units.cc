#include "pipeline/ingest/nal_units.h"

namespace skynet::ingest {
namespace {

// Calls `on_nal(nal, length)` for each NAL unit of an access unit, length-prefixed
// (`nal_length_size` 1..4) or Annex B (0; a unit ends at the next start code, trailing zero bytes
// included, which the callers never read). False if the unit is malformed.
template <typename F>
bool ForEachNal(const uint8_t* data, size_t size, int nal_length_size, F&& on_nal) {
  if (nal_length_size > 0) {
    if (nal_length_size > 4) return false;
    size_t pos = 0;
    while (pos + nal_length_size <= size) {
      size_t len = 0;
      for (int i = 0; i < nal_length_size; ++i) len = (len << 8) | data[pos + i];
      pos += nal_length_size;
      if (len == 0 || len > size - pos) return false;
      on_nal(data + pos, len);
      pos += len;
    }
    return pos == size;
  }
  // Annex B: each unit starts after a 00 00 01 start code.
  size_t start = 0;
  bool in_unit = false;
  for (size_t i = 0; i + 2 < size; ++i) {
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
      if (in_unit) on_nal(data + start, i - start);
      start = i + 3;
      in_unit = true;
      i += 2;
    }
  }
  if (in_unit && start < size) on_nal(data + start, size - start);
  return true;
}

}  // namespace

bool H264AccessUnitIsDisposable(const uint8_t* data, size_t size, int nal_length_size) {
  bool slices = false, reference = false;
  const bool ok = ForEachNal(data, size, nal_length_size, [&](const uint8_t* nal, size_t len) {
    if (len < 1) return;
    const int type = nal[0] & 0x1f;
    if (type < 1 || type > 5) return;
    slices = true;
    if ((nal[0] >> 5) & 0x3) reference = true;
  });
  return ok && slices && !reference;
}

bool H265AccessUnitIsDisposable(const uint8_t* data, size_t size, int nal_length_size,
                                int* top_temporal_id) {
  constexpr int kSps = 33;
  bool slices = false, kept = false;
  const bool ok = ForEachNal(data, size, nal_length_size, [&](const uint8_t* nal, size_t len) {
    if (len < 2) {
      kept = true;
      return;
    }
    const int type = (nal[0] >> 1) & 0x3f;
    const int temporal_id = (nal[1] & 0x7) - 1;
    if (type == kSps && len >= 3) {
      // sps_video_parameter_set_id (4 bits), sps_max_sub_layers_minus1 (3 bits), ...
      *top_temporal_id = (nal[2] >> 1) & 0x7;
      return;
    }
    if (type > 31) return;  // not a slice
    slices = true;
    // Sub-layer non-reference: even types below 16. The highest sub-layer only.
    if (type >= 16 || type % 2 != 0 || *top_temporal_id < 0 || temporal_id != *top_temporal_id) {
      kept = true;
    }
  });
  return ok && slices && !kept;
}

bool ParseHevcConfig(const uint8_t* data, size_t size, int* nal_length_size, int* top_temporal_id) {
  // configurationVersion (1) ... byte 21: constantFrameRate (2), numTemporalLayers (3),
  // temporalIdNested (1), lengthSizeMinusOne (2).
  if (size < 23 || data[0] != 1) return false;
  *nal_length_size = (data[21] & 0x3) + 1;
  const int layers = (data[21] >> 3) & 0x7;
  *top_temporal_id = layers == 0 ? -1 : layers - 1;
  return true;
}

}  // namespace skynet::ingest
