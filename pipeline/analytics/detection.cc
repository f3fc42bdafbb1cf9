#include "pipeline/analytics/detection.h"

namespace skynet::analytics {

const char* ObjectClassName(ObjectClass c) {
  switch (c) {
    case ObjectClass::kCar: return "car";
    case ObjectClass::kBus: return "bus";
    case ObjectClass::kTruck: return "truck";
    case ObjectClass::kMotorcycle: return "motorcycle";
    case ObjectClass::kBicycle: return "bicycle";
    case ObjectClass::kPerson: return "person";
    case ObjectClass::kUnknown: break;
  }
  return "unknown";
}

bool IsVehicle(ObjectClass c) {
  return c == ObjectClass::kCar || c == ObjectClass::kBus || c == ObjectClass::kTruck ||
         c == ObjectClass::kMotorcycle;
}

}  // namespace skynet::analytics
