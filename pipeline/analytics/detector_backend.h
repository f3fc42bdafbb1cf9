// DetectorBackend: which VehicleDetector a camera's vehicle analytics runs (`vehicles.backend`,
// docs/vehicles.md). The config spells it "classical" or "dnn"; parsed once, compared as an enum.
#pragma once

#include <optional>
#include <string_view>

namespace skynet::analytics {

enum class DetectorBackend { kClassical, kDnn };

// "classical" or "dnn".
const char* DetectorBackendName(DetectorBackend backend);
// The backend of that name; nullopt for any other text.
std::optional<DetectorBackend> ParseDetectorBackend(std::string_view name);

}  // namespace skynet::analytics
