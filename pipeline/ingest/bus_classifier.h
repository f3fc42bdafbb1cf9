// Bus message classification: what a GStreamer bus message means for a camera session.
//
// The classification is a pure function (ClassifyBusMessage) from a description of the
// message (BusMessage: plain data) to an outcome; DescribeBusMessage and ClassifyGstError are
// the thin adapters that read GStreamer's structures (the .cc includes GStreamer, this header
// does not). Called on the session thread by IngestPipeline::Poll; stateless, any thread.
//
//   BusOutcome out = ClassifyBusMessage(DescribeBusMessage(msg), rtsp, redactor, diagnose);
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "pipeline/ingest/ingest_pipeline.h"
#include "pipeline/ingest/redactor.h"
#include "pipeline/ingest/session_state.h"

typedef struct _GError GError;
typedef struct _GstMessage GstMessage;

namespace skynet::ingest {

// Application messages the streaming threads post to the bus for the session thread.
inline constexpr const char* kFirstFrameMessage = "skynet-first-frame";
inline constexpr const char* kUnsupportedMessage = "skynet-unsupported-codec";  // "codec"
inline constexpr const char* kStreamChangedMessage = "skynet-stream-changed";   // "width", "height"

// The GStreamer errors (GError domain and code) that classification tells apart.
enum class GstErrorKind {
  kNone,                   // the message carried no GError
  kResourceNotFound,       // GST_RESOURCE_ERROR_NOT_FOUND
  kResourceNotAuthorized,  // GST_RESOURCE_ERROR_NOT_AUTHORIZED
  kResourceOpenReadWrite,  // GST_RESOURCE_ERROR_OPEN_READ_WRITE (rtspsrc: cannot connect)
  kResourceReadWrite,      // GST_RESOURCE_ERROR_READ, _WRITE or _OPEN_READ
  kResourceOther,          // any other GST_RESOURCE_ERROR
  kStreamDecode,           // GST_STREAM_ERROR_DECODE
  kStreamUnsupported,      // GST_STREAM_ERROR_CODEC_NOT_FOUND, _TYPE_NOT_FOUND or _WRONG_TYPE
  kStreamOther,            // any other GST_STREAM_ERROR
  kCoreMissingPlugin,      // GST_CORE_ERROR_MISSING_PLUGIN
  kOther,                  // any other domain or code
};

// One bus message, reduced to what classification reads.
struct BusMessage {
  enum class Type { kOther, kError, kWarning, kEndOfStream, kApplication };
  Type type = Type::kOther;
  // kError, kWarning: the GError (kind and message) and the debug text (may be empty).
  GstErrorKind error = GstErrorKind::kNone;
  std::string message;
  std::string debug;
  // kApplication: the structure's name (kFirstFrameMessage, ...) and its fields.
  std::string name;
  std::string codec;  // kUnsupportedMessage: "codec" ("?" when absent)
  int width = 0;      // kStreamChangedMessage: the previous size (0 when absent)
  int height = 0;
};

struct BusOutcome {
  PipelineEvent event;   // kind kNone: nothing the session acts on
  bool warning = false;  // a GStreamer warning: count it and log `warning_text` (redacted)
  bool decode_warning = false;  // ... of GST_STREAM_ERROR_DECODE: the stream is damaged
  std::string warning_text;
};

// Asked when rtspsrc could not connect (kRefused): returns the real reason and fills a detail
// (DiagnoseConnect in tcp_probe.h).
using DiagnoseFn = std::function<StateReason(std::string* detail)>;

// Maps a GStreamer error to a reason. `rtsp` selects rtspsrc's conventions.
StateReason ClassifyError(GstErrorKind kind, std::string_view message, std::string_view debug,
                          bool rtsp);

// Classifies one message. Errors: the reason of ClassifyError and the GError message with the
// last line of the debug text; for kRefused, `diagnose` decides the reason and its detail goes
// first. GStreamer's texts are redacted with `redact`; application messages become first
// frame, stream changed or unsupported codec; everything else is kNone.
BusOutcome ClassifyBusMessage(const BusMessage& message, bool rtsp, const Redactor& redact,
                              const DiagnoseFn& diagnose);

// GStreamer adapters (borrow their arguments).
GstErrorKind ErrorKindOf(const GError* error);
BusMessage DescribeBusMessage(GstMessage* message);
// ClassifyError for a GError (kError without one).
StateReason ClassifyGstError(const GError* error, std::string_view debug, bool rtsp);

}  // namespace skynet::ingest
