#include "pipeline/analytics/detector_backend.h"

#include <string>

namespace skynet::analytics {

Result<DetectorBackend> ParseDetectorBackend(std::string_view s) {
  for (DetectorBackend b : {DetectorBackend::kClassical, DetectorBackend::kDnn}) {
    if (s == DetectorBackendName(b)) return b;
  }
  return Status::InvalidArgument("must be classical or dnn, got '" + std::string(s) + "'");
}

const char* DetectorBackendName(DetectorBackend backend) {
  switch (backend) {
    case DetectorBackend::kClassical:
      return "classical";
    case DetectorBackend::kDnn:
      return "dnn";
  }
  return "unknown";
}

}  // namespace skynet::analytics
