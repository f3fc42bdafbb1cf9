// Owning handles for GStreamer and GLib objects used inside skynet_ingest.
//
// Private to skynet_ingest (includes GStreamer). Each handle owns one reference and releases
// it on destruction: construct it only from a "transfer full" return value (or after
// gst_object_ref_sink() of a floating one), never from a borrowed pointer. Any thread.
#pragma once

#include <gst/gst.h>

#include <memory>

namespace skynet::ingest {

struct GstObjectUnref {
  void operator()(gpointer p) const {
    if (p) gst_object_unref(p);
  }
};
struct CapsUnref {
  void operator()(GstCaps* p) const {
    if (p) gst_caps_unref(p);
  }
};
struct SampleUnref {
  void operator()(GstSample* p) const {
    if (p) gst_sample_unref(p);
  }
};
struct MessageUnref {
  void operator()(GstMessage* p) const {
    if (p) gst_message_unref(p);
  }
};
struct ErrorFree {
  void operator()(GError* p) const {
    if (p) g_error_free(p);
  }
};
struct GFree {
  void operator()(gchar* p) const { g_free(p); }
};

using CapsPtr = std::unique_ptr<GstCaps, CapsUnref>;
using SamplePtr = std::unique_ptr<GstSample, SampleUnref>;
using MessagePtr = std::unique_ptr<GstMessage, MessageUnref>;
using ErrorPtr = std::unique_ptr<GError, ErrorFree>;
using GCharPtr = std::unique_ptr<gchar, GFree>;
template <typename T>
using ObjectPtr = std::unique_ptr<T, GstObjectUnref>;

}  // namespace skynet::ingest
