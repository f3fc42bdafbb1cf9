// libFuzzer target: bytes -> ParseConfig() (daemon/config.h). Must never crash; malformed YAML
// and bad values are errors. Run: make fuzz (seeds in tests/fuzz/corpus/config).
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = skynet::daemon::ParseConfig(text, "fuzz.yaml");
  if (!config.ok() && config.status().message().empty()) __builtin_trap();  // errors say why
  return 0;
}
