#include "pipeline/ingest/bus_classifier.h"

#include <gst/gst.h>

#include "pipeline/ingest/gst_handles.h"

namespace skynet::ingest {
namespace {

bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

std::string LastLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

// kResourceReadWrite: a read that timed out, a refused connection or a missing file.
StateReason ClassifyReadWrite(std::string_view message, std::string_view debug) {
  if (Contains(debug, "Timeout") || Contains(debug, "timeout") || Contains(message, "timeout")) {
    return StateReason::kTimeout;
  }
  if (Contains(debug, "Connection refused")) return StateReason::kRefused;
  if (Contains(debug, "No such file") || Contains(message, "No such file")) {
    return StateReason::kNotFound;
  }
  return StateReason::kError;
}

BusOutcome ClassifyErrorMessage(const BusMessage& m, bool rtsp, const Redactor& redact,
                                const DiagnoseFn& diagnose) {
  BusOutcome out;
  PipelineEvent& ev = out.event;
  ev.kind = PipelineEvent::Kind::kError;
  ev.reason = ClassifyError(m.error, m.message, m.debug, rtsp);
  std::string text = m.error != GstErrorKind::kNone ? m.message : "unknown error";
  const std::string last = LastLine(m.debug);
  if (!last.empty()) text += " (" + last + ")";
  if (ev.reason == StateReason::kRefused) {
    std::string diag;
    ev.reason = diagnose(&diag);
    if (!diag.empty()) text = diag + ": " + text;
  }
  ev.detail = redact(std::move(text));
  return out;
}

PipelineEvent ClassifyApplication(const BusMessage& m) {
  PipelineEvent ev;
  if (m.name == kFirstFrameMessage) {
    ev.kind = PipelineEvent::Kind::kFirstFrame;
    ev.reason = StateReason::kConnected;
  } else if (m.name == kStreamChangedMessage) {
    ev.kind = PipelineEvent::Kind::kStreamChanged;
    ev.reason = StateReason::kStreamChanged;
    ev.previous_width = m.width;
    ev.previous_height = m.height;
  } else if (m.name == kUnsupportedMessage) {
    ev.kind = PipelineEvent::Kind::kError;
    ev.reason = StateReason::kUnsupportedCodec;
    ev.detail = "unsupported stream: " + m.codec + " (need H.264 or H.265)";
  }
  return ev;
}

// The GError and debug text of an error or warning message.
void ReadError(GstMessage* msg, BusMessage* out) {
  GError* raw = nullptr;
  gchar* raw_debug = nullptr;
  if (out->type == BusMessage::Type::kError) {
    gst_message_parse_error(msg, &raw, &raw_debug);
  } else {
    gst_message_parse_warning(msg, &raw, &raw_debug);
  }
  ErrorPtr err(raw);
  GCharPtr debug(raw_debug);
  out->error = ErrorKindOf(err.get());
  if (err && err->message) out->message = err->message;
  if (debug) out->debug = debug.get();
}

void ReadApplication(GstMessage* msg, BusMessage* out) {
  const GstStructure* s = gst_message_get_structure(msg);  // borrowed
  if (!s) return;
  out->name = gst_structure_get_name(s);
  const char* codec = gst_structure_get_string(s, "codec");
  out->codec = codec ? codec : "?";
  gst_structure_get_int(s, "width", &out->width);
  gst_structure_get_int(s, "height", &out->height);
}

}  // namespace

StateReason ClassifyError(GstErrorKind kind, std::string_view message, std::string_view debug,
                          bool rtsp) {
  switch (kind) {
    case GstErrorKind::kResourceNotFound:
      return StateReason::kNotFound;
    case GstErrorKind::kResourceNotAuthorized:
      return StateReason::kAuthFailed;
    case GstErrorKind::kResourceOpenReadWrite:
      // rtspsrc: "Failed to connect" covers refused, unreachable and unresolvable.
      if (rtsp && Contains(debug, "Failed to connect")) return StateReason::kRefused;
      if (rtsp && Contains(debug, "Connection refused")) return StateReason::kRefused;
      return StateReason::kError;
    case GstErrorKind::kResourceReadWrite:
      return ClassifyReadWrite(message, debug);
    case GstErrorKind::kStreamDecode:
      return StateReason::kDecodeError;
    case GstErrorKind::kStreamUnsupported:
    case GstErrorKind::kCoreMissingPlugin:
      return StateReason::kUnsupportedCodec;
    case GstErrorKind::kStreamOther:
      return Contains(debug, "not-linked") ? StateReason::kUnsupportedCodec : StateReason::kError;
    case GstErrorKind::kNone:
    case GstErrorKind::kResourceOther:
    case GstErrorKind::kOther:
      return StateReason::kError;
  }
  return StateReason::kError;
}

BusOutcome ClassifyBusMessage(const BusMessage& message, bool rtsp, const Redactor& redact,
                              const DiagnoseFn& diagnose) {
  BusOutcome out;
  switch (message.type) {
    case BusMessage::Type::kError:
      return ClassifyErrorMessage(message, rtsp, redact, diagnose);
    case BusMessage::Type::kEndOfStream:
      out.event.kind = PipelineEvent::Kind::kEndOfStream;
      out.event.reason = StateReason::kEndOfStream;
      out.event.detail = "end of stream";
      break;
    case BusMessage::Type::kWarning:
      out.warning = true;
      out.decode_warning = message.error == GstErrorKind::kStreamDecode;
      out.warning_text =
          redact(message.error != GstErrorKind::kNone ? message.message : std::string("?"));
      break;
    case BusMessage::Type::kApplication:
      out.event = ClassifyApplication(message);
      break;
    case BusMessage::Type::kOther:
      break;
  }
  return out;
}

GstErrorKind ErrorKindOf(const GError* error) {
  if (!error) return GstErrorKind::kNone;
  if (error->domain == GST_RESOURCE_ERROR) {
    switch (error->code) {
      case GST_RESOURCE_ERROR_NOT_FOUND:
        return GstErrorKind::kResourceNotFound;
      case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
        return GstErrorKind::kResourceNotAuthorized;
      case GST_RESOURCE_ERROR_OPEN_READ_WRITE:
        return GstErrorKind::kResourceOpenReadWrite;
      case GST_RESOURCE_ERROR_READ:
      case GST_RESOURCE_ERROR_WRITE:
      case GST_RESOURCE_ERROR_OPEN_READ:
        return GstErrorKind::kResourceReadWrite;
      default:
        return GstErrorKind::kResourceOther;
    }
  }
  if (error->domain == GST_STREAM_ERROR) {
    switch (error->code) {
      case GST_STREAM_ERROR_DECODE:
        return GstErrorKind::kStreamDecode;
      case GST_STREAM_ERROR_CODEC_NOT_FOUND:
      case GST_STREAM_ERROR_TYPE_NOT_FOUND:
      case GST_STREAM_ERROR_WRONG_TYPE:
        return GstErrorKind::kStreamUnsupported;
      default:
        return GstErrorKind::kStreamOther;
    }
  }
  if (error->domain == GST_CORE_ERROR && error->code == GST_CORE_ERROR_MISSING_PLUGIN) {
    return GstErrorKind::kCoreMissingPlugin;
  }
  return GstErrorKind::kOther;
}

StateReason ClassifyGstError(const GError* error, std::string_view debug, bool rtsp) {
  const std::string_view message = error && error->message ? error->message : "";
  return ClassifyError(ErrorKindOf(error), message, debug, rtsp);
}

BusMessage DescribeBusMessage(GstMessage* message) {
  BusMessage out;
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR:
      out.type = BusMessage::Type::kError;
      ReadError(message, &out);
      break;
    case GST_MESSAGE_WARNING:
      out.type = BusMessage::Type::kWarning;
      ReadError(message, &out);
      break;
    case GST_MESSAGE_EOS:
      out.type = BusMessage::Type::kEndOfStream;
      break;
    case GST_MESSAGE_APPLICATION:
      out.type = BusMessage::Type::kApplication;
      ReadApplication(message, &out);
      break;
    default:
      break;
  }
  return out;
}

}  // namespace skynet::ingest
