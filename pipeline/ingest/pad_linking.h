// Pad linking of an IngestPipeline: picks and links the decode chain when the source exposes
// its streams (rtspsrc or parsebin "pad-added"), and ignores the streams that are not ours.
//
// Private to skynet_ingest (includes GStreamer). The callbacks run on GStreamer streaming
// threads, are noexcept, and get a CtxRef (pipeline_context.h) as `user` (nullptr for
// OnSelectStream). New elements are created floating and sunk by the pipeline bin, which owns
// them from then on. What cannot be decoded is reported to the session thread as an
// application message on the bus (kUnsupportedMessage), never as an exception.
//
//   rtsp:  rtspsrc ! rtpH26Xdepay ! h26Xparse ! avdec_h26X ! tail
//   file:  filesrc ! parsebin ! avdec_h26X ! tail
#pragma once

#include <gst/gst.h>

namespace skynet::ingest {

// rtspsrc "select-stream": only set up the video stream(s).
gboolean OnSelectStream(GstElement* src, guint num, GstCaps* caps, gpointer user) noexcept;
// rtspsrc "pad-added": links the first video stream (H.264 or H.265) to a depay/parse/decode
// chain; other streams go to a fakesink.
void OnRtspPadAdded(GstElement* src, GstPad* pad, gpointer user) noexcept;
// parsebin "pad-added": links the first video stream (H.264 or H.265) to a decoder; other
// streams go to a fakesink, and their EOS reports a file without video.
void OnParsebinPadAdded(GstElement* parsebin, GstPad* pad, gpointer user) noexcept;
// "no-more-pads": without a video stream the appsink would never see EOS; reports it.
void OnNoMorePads(GstElement* element, gpointer user) noexcept;

}  // namespace skynet::ingest
