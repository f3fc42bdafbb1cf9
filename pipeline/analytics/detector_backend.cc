#include "pipeline/analytics/detector_backend.h"

namespace skynet::analytics {

const char* DetectorBackendName(DetectorBackend backend) {
  switch (backend) {
    case DetectorBackend::kClassical:
      return "classical";
    case DetectorBackend::kDnn:
      return "dnn";
  }
  return "classical";
}

std::optional<DetectorBackend> ParseDetectorBackend(std::string_view name) {
  for (DetectorBackend b : {DetectorBackend::kClassical, DetectorBackend::kDnn}) {
    if (name == DetectorBackendName(b)) return b;
  }
  return std::nullopt;
}

}  // namespace skynet::analytics
