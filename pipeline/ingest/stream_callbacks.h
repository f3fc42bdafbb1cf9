// Streaming-thread callbacks of an IngestPipeline: pad probes, rtpbin signals and the appsink.
//
// Private to skynet_ingest (includes GStreamer). Every function runs on a GStreamer streaming
// thread (the one named per function), is noexcept, and only counts, maps times and hands
// frames over; `user` is a CtxRef (pipeline_context.h) that GStreamer releases with DeleteRef.
// Nothing here blocks except the hand-over of a frame to the session's FrameSink.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

namespace skynet::ingest {

// Decoder input (sink pad of the first element after the source): counts compressed bytes,
// stamps decoder input (and, for files, network) progress, reads RTCP NTP reference times.
GstPadProbeReturn OnEncodedBuffer(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept;
// Decoder sink pad, first of its probes (clips): copies each access unit with its timestamps,
// key flag and capture time to the EncodedSink; segment events set the capture time mapping.
GstPadProbeReturn OnEncodedUnit(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept;
// Decoder sink pad, health tier only: drops delta units (counted as skipped) so only key frames
// are decoded. A skipped unit is progress unless a key frame is still pending in the decoder.
GstPadProbeReturn OnDecoderInput(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept;
// Decoder sink pad, H.264 or H.265 with an analytics_fps limit (full and motion tiers): drops
// disposable units (no picture refers to them: nal_units.h) that the limit would drop after
// decoding anyway, counted as skipped; reference units always pass.
GstPadProbeReturn OnDisposableInput(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept;
// rtspsrc "new-manager": probes each new jitter buffer's sink pad for network data (on the
// threads that read the camera's sockets, so they keep counting while downstream blocks).
void OnNewManager(GstElement* src, GstElement* manager, gpointer user) noexcept;
// Decoder output buffers: counts decoded frames, posts the first-frame message, tracks the
// end of a file pass, and applies the drop-only rate limit (counted as rate-limited).
GstPadProbeReturn OnDecodedBuffer(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept;
// Decoder output events: segments (for stream time) and caps (source size, scaled size, and
// the stream-changed message on a size change).
GstPadProbeReturn OnDecodedEvent(GstPad* pad, GstPadProbeInfo* info, gpointer user) noexcept;
// Appsink: pulls the sample and delivers it (Context::HandleSample); counts exceptions.
GstFlowReturn OnNewSample(GstAppSink* appsink, gpointer user) noexcept;

}  // namespace skynet::ingest
