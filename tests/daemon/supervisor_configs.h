// Configs the supervisor tests (on fakes and on the real parts) start from.
#pragma once

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "daemon/config.h"

namespace skynet::daemon {

// Camera a (enabled, 10 fps, at `url_a`) and camera b (disabled, with credentials in its URL),
// one analytics worker.
inline Config TwoCameras(const std::string& url_a) {
  CameraConfig a;
  a.id = "a";
  a.name = "A";
  a.url = url_a;
  a.ingest.analytics_fps = 10;
  CameraConfig b;
  b.id = "b";
  b.url = "rtsp://admin:hunter2@127.0.0.1:9/stream";
  b.enabled = false;
  Config config;
  config.node_id = "sup";
  config.analytics_workers = 1;
  config.cameras = {a, b};
  return config;
}

// Writes a config file for reloads: node reload-test, one worker, cameras as (id, analytics_fps)
// all at `url`; `extra` is appended verbatim (it may extend the last camera).
inline void WriteReloadConfig(const std::string& path, const std::string& url,
                              const std::vector<std::pair<std::string, double>>& cameras,
                              const std::string& extra = "") {
  std::ofstream f(path);
  f << "node_id: reload-test\nanalytics_workers: 1\ncameras:\n";
  for (const auto& [id, fps] : cameras) {
    f << "  - id: " << id << "\n    url: " << url << "\n    analytics_fps: " << fps << "\n";
  }
  f << extra;
}

}  // namespace skynet::daemon
