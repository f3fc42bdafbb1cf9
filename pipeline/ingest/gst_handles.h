// Owning handles for GStreamer and GLib objects used inside skynet_ingest.
//
// Private to skynet_ingest (includes GStreamer). Each handle owns one reference and releases
// it on destruction: construct it only from a "transfer full" return value (or after
// gst_object_ref_sink() of a floating one), never from a borrowed pointer. Any thread.
#pragma once

#include <gst/gst.h>

#include <memory>

namespace skynet::ingest {

// A unique_ptr deleter that calls `kRelease` on a non-null pointer.
template <auto kRelease>
struct ReleaseWith {
  template <typename T>
  void operator()(T* p) const {
    if (p) kRelease(p);
  }
};

using CapsPtr = std::unique_ptr<GstCaps, ReleaseWith<gst_caps_unref>>;
using SamplePtr = std::unique_ptr<GstSample, ReleaseWith<gst_sample_unref>>;
using MessagePtr = std::unique_ptr<GstMessage, ReleaseWith<gst_message_unref>>;
using ErrorPtr = std::unique_ptr<GError, ReleaseWith<g_error_free>>;
using GCharPtr = std::unique_ptr<gchar, ReleaseWith<g_free>>;
template <typename T>
using ObjectPtr = std::unique_ptr<T, ReleaseWith<gst_object_unref>>;

}  // namespace skynet::ingest
