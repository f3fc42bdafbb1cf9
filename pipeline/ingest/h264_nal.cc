#include "pipeline/ingest/h264_nal.h"

namespace skynet::ingest {
namespace {

// One NAL header byte: is it a slice, and a reference one?
struct Verdict {
  bool slices = false;
  bool reference = false;
};

void Judge(uint8_t header, Verdict* v) {
  const int type = header & 0x1f;
  if (type < 1 || type > 5) return;
  v->slices = true;
  if ((header >> 5) & 0x3) v->reference = true;
}

}  // namespace

bool H264AccessUnitIsDisposable(const uint8_t* data, size_t size, int nal_length_size) {
  Verdict v;
  if (nal_length_size > 0) {
    if (nal_length_size > 4) return false;
    size_t pos = 0;
    while (pos + nal_length_size <= size) {
      size_t len = 0;
      for (int i = 0; i < nal_length_size; ++i) len = (len << 8) | data[pos + i];
      pos += nal_length_size;
      if (len == 0 || len > size - pos) return false;
      Judge(data[pos], &v);
      pos += len;
    }
    if (pos != size) return false;
  } else {
    // Annex B: the byte after each 00 00 01 start code is a NAL header.
    for (size_t i = 0; i + 3 < size; ++i) {
      if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
        Judge(data[i + 3], &v);
        i += 2;
      }
    }
  }
  return v.slices && !v.reference;
}

}  // namespace skynet::ingest
