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

BusMessage OfType(Type type) {
  BusMessage m;
  m.type = type;
  return m;
}

BusMessage Error(GstErrorKind kind, std::string message, std::string debug = "") {
  BusMessage m = OfType(Type::kError);
  m.error = kind;
  m.message = std::move(message);
  m.debug = std::move(debug);
  return m;
}

BusMessage Application(const char* name) {
  BusMessage m = OfType(Type::kApplication);
  m.name = name;
  return m;
}

void ExpectEvent(const PipelineEvent& ev, Kind kind, StateReason reason,
                 const std::string& detail) {
  EXPECT_EQ(ev.kind, kind);
  EXPECT_EQ(ev.reason, reason);
  EXPECT_EQ(ev.detail, detail);
}

class BusClassifierTest : public ::testing::Test {
 protected:
  BusOutcome Classify(const BusMessage& m, bool rtsp = true) {
    return ClassifyBusMessage(m, rtsp, redactor_, diagnose_.Fn());
  }
  Redactor redactor_{"rtsp://admin:s3cret@cam:554/live", ""};
  RecordingDiagnose diagnose_;
};

struct ErrorCase {
  GstErrorKind kind;
  const char* message;
  const char* debug;
  bool rtsp;
  StateReason expected;
};

void ExpectClassified(const std::vector<ErrorCase>& cases) {
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ClassifyError(c.kind, c.message, c.debug, c.rtsp), c.expected)
        << "kind " << static_cast<int>(c.kind) << " message '" << c.message << "' debug '"
        << c.debug << "' rtsp " << c.rtsp;
  }
}

TEST(ClassifyErrorTest, MapsResourceErrors) {
  using K = GstErrorKind;
  using R = StateReason;
  ExpectClassified({
      {K::kResourceNotFound, "Not found", "", true, R::kNotFound},
      {K::kResourceNotAuthorized, "Unauthorized", "", true, R::kAuthFailed},
      {K::kResourceOpenReadWrite, "Could not open",
       "gstrtspsrc.c(8336): ...\nFailed to connect. (Generic error)", true, R::kRefused},
      // Only rtspsrc's "Failed to connect" means a refused connection.
      {K::kResourceOpenReadWrite, "Could not open", "Failed to connect", false, R::kError},
      {K::kResourceReadWrite, "Could not read",
       "Could not receive message. (Timeout while waiting)", true, R::kTimeout},
      {K::kResourceReadWrite, "x", "Connection refused", true, R::kRefused},
      {K::kResourceReadWrite, "No such file", "", false, R::kNotFound},
      {K::kResourceOther, "busy", "", true, R::kError},
  });
}

TEST(ClassifyErrorTest, MapsStreamAndCoreErrors) {
  using K = GstErrorKind;
  using R = StateReason;
  ExpectClassified({
      {K::kStreamDecode, "", "", true, R::kDecodeError},
      {K::kStreamUnsupported, "", "", false, R::kUnsupportedCodec},
      {K::kStreamOther, "Internal data stream error.", "streaming stopped, reason not-linked (-1)",
       false, R::kUnsupportedCodec},
      {K::kStreamOther, "", "reason error (-5)", false, R::kError},
      {K::kCoreMissingPlugin, "", "", false, R::kUnsupportedCodec},
      {K::kNone, "", "", true, R::kError},
      {K::kOther, "", "", true, R::kError},
  });
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
  ExpectEvent(out.event, Kind::kError, StateReason::kTimeout,
              "no answer from cam:554: Could not open (Failed to connect. (Generic error))");
}

TEST_F(BusClassifierTest, ErrorWithoutGErrorIsUnknown) {
  ExpectEvent(Classify(OfType(Type::kError)).event, Kind::kError, StateReason::kError,
              "unknown error");
}

TEST_F(BusClassifierTest, WarningIsCountedNotActedOn) {
  BusMessage m = Error(GstErrorKind::kOther, "cannot reach rtsp://admin:s3cret@cam:554/live");
  m.type = Type::kWarning;  // a warning carries a GError like an error
  const BusOutcome out = Classify(m);
  EXPECT_TRUE(out.warning);
  EXPECT_EQ(out.event.kind, Kind::kNone);
  EXPECT_EQ(out.warning_text.find("s3cret"), std::string::npos) << out.warning_text;
}

TEST_F(BusClassifierTest, EndOfStream) {
  ExpectEvent(Classify(OfType(Type::kEndOfStream)).event, Kind::kEndOfStream,
              StateReason::kEndOfStream, "end of stream");
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
  ExpectEvent(Classify(unsupported).event, Kind::kError, StateReason::kUnsupportedCodec,
              "unsupported stream: rtp encoding VP8 (need H.264 or H.265)");

  EXPECT_EQ(Classify(Application("someone-else")).event.kind, Kind::kNone);
}

TEST_F(BusClassifierTest, OtherMessagesAreIgnored) {
  const BusOutcome out = Classify(BusMessage{});
  EXPECT_EQ(out.event.kind, Kind::kNone);
  EXPECT_FALSE(out.warning);
}

}  // namespace
}  // namespace skynet::ingest
