#include "pipeline/core/logging.h"

#include <mutex>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace skynet {
namespace {

std::mutex g_mu;
std::vector<spdlog::sink_ptr>& Sinks() {
  static std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};
  return sinks;
}
spdlog::level::level_enum g_level = spdlog::level::info;

}  // namespace

std::shared_ptr<spdlog::logger> GetLogger(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, Sinks().begin(), Sinks().end());
  logger->set_level(g_level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v");
  spdlog::register_logger(logger);
  return logger;
}

bool SetLogLevel(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") return false;
  std::lock_guard<std::mutex> lock(g_mu);
  g_level = lvl;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
  return true;
}

void InitLogging(std::string_view level, const std::string& file_path) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!file_path.empty()) {
      Sinks().push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file_path));
    }
  }
  SetLogLevel(level);
}

std::string RedactSecrets(std::string text, std::initializer_list<std::string_view> secrets) {
  for (std::string_view s : secrets) {
    if (s.empty()) continue;
    size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), "***");
      pos += 3;
    }
  }
  return text;
}

}  // namespace skynet
