// Reading skynetd's protobuf-JSON events with nlohmann::json: helpers shared by the scorers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace skynet::eval {

// An integer field; the protobuf JSON mapping writes 64-bit integers as strings. 0 if absent.
inline int64_t JsonInt(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const nlohmann::json& v = j.at(key);
  if (v.is_string()) return std::stoll(v.get<std::string>());
  if (v.is_number()) return v.get<int64_t>();
  return 0;
}

}  // namespace skynet::eval
