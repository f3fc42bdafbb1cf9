// Decoder log: counts the errors libav reports while it decodes, per camera.
//
// libav tells of a corrupt stream mostly through its log ("error while decoding MB ...",
// "concealing 120 DC, 120 AC, 120 MV errors"): it conceals the damage and still outputs frames,
// so neither the bus nor the buffer flags show it. gst-libav forwards that log to GStreamer's
// debug log without naming the element. InstallDecoderLog() (once, after the gst-libav plugin
// installed its own callback) replaces libav's log callback: a message at AV_LOG_ERROR or worse
// from a codec context whose `opaque` is a registered decoder element (gst-libav points it at
// the element) adds one to that decoder's counter; every message still goes on to GStreamer's
// "libav" debug category, so GST_DEBUG=libav:N works as before. The registry only compares
// pointers, never dereferences an unknown `opaque` (other libav users in the process are
// ignored).
//
// Thread-safe. The callback runs on libav's decoding threads; past the level check it takes one
// short lock per message. RegisterDecoder() holds the counter weakly until the element is
// finalised.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

typedef struct _GstElement GstElement;

namespace skynet::ingest {

// Loads the gst-libav plugin and installs the callback. Idempotent; InitGStreamer() calls it.
void InstallDecoderLog();

// Counts libav errors of `decoder` (an avdec_* element) on `*errors` while both exist.
void RegisterDecoder(GstElement* decoder, std::weak_ptr<std::atomic<uint64_t>> errors);

}  // namespace skynet::ingest
