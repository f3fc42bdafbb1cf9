// Bus message classification as a pure function: message descriptions in, outcomes out
// (no GStreamer, no pipeline). The GError adapter is covered by classify_test.cc.
#include "pipeline/ingest/bus_classifier.h"

#include <gtest/gtest.h>

#include <vector>

namespace skynet::ingest {
namespace {

using Kind = PipelineEvent::Kind;
using Type = BusMessage::Type;

// Records what classification asked, and answers with a fixed diagnosis.
struct RecordingDiagnose {
  StateReason answer = StateReason::kTimeout;
  std::string detail = "no answer from cam:554";
  int calls = 0;
  DiagnoseFn Fn() {
    return [this](std::string* d) {
      ++calls;
      *d = detail;
      return answer;
    };
  }
};

BusMessage Error(GstErrorKind kind, std::string message, std::string debug = "") {
  BusMessage m;
  m.type = Type::kError;
  m.error = kind;
  m.message = std::move(message);
  m.debug = std::move(debug);
  return m;
}

BusMessage Application(const char* name) {
  BusMessage m;
  m.type = Type::kApplication;
  m.name = name;
  return m;
}

class BusClassifierTest : public ::testing::Test {
 protected:
  BusOutcome Classify(const BusMessage& m, bool rtsp = true) {
    return ClassifyBusMessage(m, rtsp, redactor_, diagnose_.Fn());
  }
  Redactor redactor_{"rtsp://admin:s3cret@cam:554/live", ""};
  RecordingDiagnose diagnose_;
};

TEST(ClassifyErrorTest, MapsResourceErrors) {
  EXPECT_EQ(ClassifyError(GstErrorKind::kResourceNotFound, "Not found", "", true),
            StateReason::kNotFound);
  EXPECT_EQ(ClassifyError(GstErrorKind::kResourceNotAuthorized, "Unauthorized", "", true),
            StateReason::kAuthFailed);
  EXPECT_EQ(ClassifyError(GstErrorKind::kResourceOpenReadWrite, "Could not open",
                          "gstrtspsrc.c(8336): ...\nFailed to connect. (Generic error)", true),
            StateReason::kRefused);
  // Only rtspsrc's "Failed to connect" means a refused connection.
  EXPECT_EQ(ClassifyError(GstErrorKind::kResourceOpenReadWrite, "Could not open",
                          "Failed to connect", false),
            StateReason::kError);
  EXPECT_EQ(ClassifyError(GstErrorKind::kResourceReadWrite, "Could not read",
                          "Could not receive message. (Timeout while waiting)", true),
            StateReason::kTimeout);
  EXPECT_EQ(ClassifyError(GstErrorKind::kResourceReadWrite, "x", "Connection refused", true),
            StateReason::kRefused);
  EXPECT_EQ(ClassifyError(GstErrorKind::kResourceReadWrite, "No such file", "", false),
            StateReason::kNotFound);
  EXPECT_EQ(ClassifyError(GstErrorKind::kResourceOther, "busy", "", true), StateReason::kError);
}

TEST(ClassifyErrorTest, MapsStreamAndCoreErrors) {
  EXPECT_EQ(ClassifyError(GstErrorKind::kStreamDecode, "", "", true), StateReason::kDecodeError);
  EXPECT_EQ(ClassifyError(GstErrorKind::kStreamUnsupported, "", "", false),
            StateReason::kUnsupportedCodec);
  EXPECT_EQ(ClassifyError(GstErrorKind::kStreamOther, "Internal data stream error.",
                          "streaming stopped, reason not-linked (-1)", false),
            StateReason::kUnsupportedCodec);
  EXPECT_EQ(ClassifyError(GstErrorKind::kStreamOther, "", "reason error (-5)", false),
            StateReason::kError);
  EXPECT_EQ(ClassifyError(GstErrorKind::kCoreMissingPlugin, "", "", false),
            StateReason::kUnsupportedCodec);
  EXPECT_EQ(ClassifyError(GstErrorKind::kNone, "", "", true), StateReason::kError);
  EXPECT_EQ(ClassifyError(GstErrorKind::kOther, "", "", true), StateReason::kError);
}

TEST_F(BusClassifierTest, ErrorKeepsTheLastDebugLineAndRedacts) {
  const BusOutcome out =
      Classify(Error(GstErrorKind::kResourceNotFound, "Not found rtsp://admin:s3cret@cam:554/live",
                     "gstrtspsrc.c(6585): first\nsecond line \n"));
  EXPECT_EQ(out.event.kind, Kind::kError);
  EXPECT_EQ(out.event.reason, StateReason::kNotFound);
  EXPECT_EQ(out.event.detail.find("s3cret"), std::string::npos) << out.event.detail;
  EXPECT_NE(out.event.detail.find("(second line)"), std::string::npos) << out.event.detail;
  EXPECT_EQ(diagnose_.calls, 0);
}

TEST_F(BusClassifierTest, RefusedAsksTheDiagnosisAndPutsItFirst) {
  const BusOutcome out = Classify(Error(GstErrorKind::kResourceOpenReadWrite, "Could not open",
                                        "Failed to connect. (Generic error)"));
  EXPECT_EQ(diagnose_.calls, 1);
  EXPECT_EQ(out.event.kind, Kind::kError);
  EXPECT_EQ(out.event.reason, StateReason::kTimeout);
  EXPECT_EQ(out.event.detail,
            "no answer from cam:554: Could not open (Failed to connect. (Generic error))");
}

TEST_F(BusClassifierTest, ErrorWithoutGErrorIsUnknown) {
  BusMessage m;
  m.type = Type::kError;
  const BusOutcome out = Classify(m);
  EXPECT_EQ(out.event.kind, Kind::kError);
  EXPECT_EQ(out.event.reason, StateReason::kError);
  EXPECT_EQ(out.event.detail, "unknown error");
}

TEST_F(BusClassifierTest, WarningIsCountedNotActedOn) {
  BusMessage m = Error(GstErrorKind::kOther, "cannot reach rtsp://admin:s3cret@cam:554/live");
  m.type = Type::kWarning;
  const BusOutcome out = Classify(m);
  EXPECT_TRUE(out.warning);
  EXPECT_EQ(out.event.kind, Kind::kNone);
  EXPECT_EQ(out.warning_text.find("s3cret"), std::string::npos) << out.warning_text;
}

TEST_F(BusClassifierTest, EndOfStream) {
  BusMessage m;
  m.type = Type::kEndOfStream;
  const BusOutcome out = Classify(m);
  EXPECT_EQ(out.event.kind, Kind::kEndOfStream);
  EXPECT_EQ(out.event.reason, StateReason::kEndOfStream);
  EXPECT_EQ(out.event.detail, "end of stream");
}

TEST_F(BusClassifierTest, ApplicationMessages) {
  EXPECT_EQ(Classify(Application(kFirstFrameMessage)).event.kind, Kind::kFirstFrame);
  EXPECT_EQ(Classify(Application(kFirstFrameMessage)).event.reason, StateReason::kConnected);

  BusMessage changed = Application(kStreamChangedMessage);
  changed.width = 640;
  changed.height = 360;
  const PipelineEvent ev = Classify(changed).event;
  EXPECT_EQ(ev.kind, Kind::kStreamChanged);
  EXPECT_EQ(ev.reason, StateReason::kStreamChanged);
  EXPECT_EQ(ev.previous_width, 640);
  EXPECT_EQ(ev.previous_height, 360);

  BusMessage unsupported = Application(kUnsupportedMessage);
  unsupported.codec = "rtp encoding VP8";
  const PipelineEvent bad = Classify(unsupported).event;
  EXPECT_EQ(bad.kind, Kind::kError);
  EXPECT_EQ(bad.reason, StateReason::kUnsupportedCodec);
  EXPECT_EQ(bad.detail, "unsupported stream: rtp encoding VP8 (need H.264 or H.265)");

  EXPECT_EQ(Classify(Application("someone-else")).event.kind, Kind::kNone);
}

TEST_F(BusClassifierTest, OtherMessagesAreIgnored) {
  const BusOutcome out = Classify(BusMessage{});
  EXPECT_EQ(out.event.kind, Kind::kNone);
  EXPECT_FALSE(out.warning);
}

}  // namespace
}  // namespace skynet::ingest
