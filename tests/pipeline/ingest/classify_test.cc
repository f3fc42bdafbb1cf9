// Error classification through the GStreamer adapter: GErrors to StateReason
// (the pure classification is in bus_classifier_test.cc, connect diagnosis in tcp_probe_test.cc).
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "pipeline/ingest/bus_classifier.h"
#include "pipeline/ingest/camera_session.h"

namespace skynet::ingest {
namespace {

StateReason Classify(GQuark domain, int code, const char* message, const char* debug, bool rtsp) {
  GError* e = g_error_new_literal(domain, code, message);
  const StateReason r = ClassifyGstError(e, debug, rtsp);
  g_error_free(e);
  return r;
}

TEST(ClassifyGstErrorTest, MapsRtspSrcErrors) {
  ASSERT_TRUE(InitGStreamer().ok());
  EXPECT_EQ(Classify(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "Not found", "", true),
            StateReason::kNotFound);
  EXPECT_EQ(Classify(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED, "Unauthorized", "",
                     true),
            StateReason::kAuthFailed);
  EXPECT_EQ(Classify(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ_WRITE,
                     "Could not open resource for reading and writing.",
                     "gstrtspsrc.c(8336): ...\nFailed to connect. (Generic error)", true),
            StateReason::kRefused);
  EXPECT_EQ(Classify(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ, "Could not read from resource.",
                     "Could not receive message. (Timeout while waiting for server response)",
                     true),
            StateReason::kTimeout);
}

TEST(ClassifyGstErrorTest, MapsStreamErrors) {
  ASSERT_TRUE(InitGStreamer().ok());
  EXPECT_EQ(Classify(GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, "Could not decode", "", true),
            StateReason::kDecodeError);
  EXPECT_EQ(Classify(GST_STREAM_ERROR, GST_STREAM_ERROR_TYPE_NOT_FOUND, "type", "", false),
            StateReason::kUnsupportedCodec);
  EXPECT_EQ(Classify(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "Internal data stream error.",
                     "streaming stopped, reason not-linked (-1)", false),
            StateReason::kUnsupportedCodec);
  EXPECT_EQ(Classify(GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN, "missing", "", false),
            StateReason::kUnsupportedCodec);
  EXPECT_EQ(Classify(GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "boom", "", false),
            StateReason::kError);
}

}  // namespace
}  // namespace skynet::ingest
