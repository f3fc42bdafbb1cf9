// skynetd: the ingest and analytics daemon. Parses arguments and hands over to daemon/app.
#include <CLI/CLI.hpp>

#include "daemon/analyze.h"
#include "daemon/app.h"
#include "pipeline/core/logging.h"

int main(int argc, char** argv) {
  skynet::daemon::BlockSignals();
  CLI::App app{"skynetd: video ingestion and analytics for fixed traffic cameras"};
  std::string config_path;
  std::string check_path;
  std::string log_level;
  app.add_option("-c,--config", config_path, "configuration file (YAML)")->check(CLI::ExistingFile);
  // No CLI11 file check: LoadConfigFile names the path and says what is wrong with it.
  app.add_option("--check-config", check_path, "validate a configuration file and exit");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off");
  app.set_version_flag("--version", SKYNET_VERSION);
  skynet::daemon::AnalyzeArgs analyze;
  CLI::App* analyze_cmd =
      app.add_subcommand("analyze", "analyse a recorded video offline; events as JSON lines");
  analyze_cmd->add_option("-c,--config", analyze.config_path, "configuration file (YAML)")
      ->required();
  analyze_cmd->add_option("--camera", analyze.camera_id, "id of the camera whose settings apply")
      ->required();
  analyze_cmd->add_option("video", analyze.video_path, "video file")->required();
  analyze_cmd->add_option("-o,--out", analyze.out_path, "events file (default: stdout)");
  analyze_cmd->add_option("--tracks", analyze.tracks_path,
                          "also write the vehicle tracks of every analysed frame (JSON lines)");
  analyze_cmd->add_option("--records", analyze.records_path,
                          "also store the vehicle records in this SQLite database");
  analyze_cmd->add_option("--log-level", analyze.log_level, "log level (default: warn)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the error
    return code == 0 ? 0 : 2;
  }

  if (*analyze_cmd) return skynet::daemon::RunAnalyze(analyze);

  if (!check_path.empty()) return skynet::daemon::CheckConfig(check_path);
  if (config_path.empty()) {
    std::fprintf(stderr, "skynetd: --config FILE is required (see --help)\n");
    return 2;
  }
  auto config = skynet::daemon::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "skynetd: %s\n", config.status().message().c_str());
    return 2;
  }
  if (!log_level.empty()) config->log_level = log_level;
  if (!skynet::SetLogLevel(config->log_level)) {
    std::fprintf(stderr, "skynetd: --log-level: unknown level '%s'\n", config->log_level.c_str());
    return 2;
  }
  return skynet::daemon::RunDaemon(*config);
}
