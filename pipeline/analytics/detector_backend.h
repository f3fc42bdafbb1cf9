// DetectorBackend: which VehicleDetector a camera runs, as the `vehicles.backend` config key
// spells it. Parsed once (config load), then compared as an enum everywhere else.
//
//   auto b = ParseDetectorBackend("dnn");          // Result<DetectorBackend>
//   if (!b) return b.status();                     // "must be classical or dnn, got 'yolo'"
//   if (*b == DetectorBackend::kDnn) ...
//
// Plain functions on values: callable from any thread.
#pragma once

#include <string_view>

#include "pipeline/core/status.h"

namespace skynet::analytics {

enum class DetectorBackend {
  kClassical,  // ClassicalDetector: foreground blobs, no model files (the default)
  kDnn,        // DnnDetector: an ONNX model run on motion regions
};

// "classical" | "dnn"; InvalidArgument "must be classical or dnn, got '<s>'" otherwise (the
// caller prefixes the key).
Result<DetectorBackend> ParseDetectorBackend(std::string_view s);
// The config spelling: "classical" or "dnn".
const char* DetectorBackendName(DetectorBackend backend);

}  // namespace skynet::analytics
