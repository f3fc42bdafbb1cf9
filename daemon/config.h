// Config: the daemon's configuration, loaded from YAML (see config/skynetd.example.yaml).
//
// LoadConfigFile() validates everything: unknown keys and bad values are errors that name the
// file, line, column and field, e.g.
//   skynetd.yaml:14:7: cameras[2].url: must be rtsp://, rtsps:// or file://
// Plain data, safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/analytics/classical_detector.h"
#include "pipeline/analytics/dnn/dnn_detector.h"
#include "pipeline/analytics/motion_options.h"
#include "pipeline/analytics/vehicle_analytics.h"
#include "pipeline/core/status.h"

namespace skynet::daemon {

// A camera's vehicle analytics (`vehicles:`, docs/vehicles.md): detector backend, calibration,
// tracker, traffic rules. Off by default; on, ingest delivers colour (BGR) frames.
struct VehiclesConfig {
  bool enabled = false;
  // "classical" (model-free, the default) or "dnn" (an ONNX model: `detector`).
  std::string backend = "classical";
  analytics::ClassicalDetectorOptions classical;
  // The `detector:` section, used when backend is dnn; a relative model_path resolves against
  // the config file's directory.
  analytics::DnnDetectorOptions detector;
  // Tracker, rules (lines, zones, lanes, stats interval), calibration, snapshot policy.
  analytics::VehicleAnalyticsOptions analytics;

  // Field by field (config.cc): a reload restarts a camera when its vehicles config changed.
  bool operator==(const VehiclesConfig& other) const;
};

struct CameraConfig {
  // Unique id: letters, digits, '-', '_' and '.'; used in topics and status.
  std::string id;
  // Display name; defaults to the id.
  std::string name;
  // rtsp://, rtsps:// or file:// URL. May carry user:password (redacted everywhere).
  std::string url;
  // Credentials given separately (they win over those in the URL).
  std::string username;
  std::string password;
  bool enabled = true;
  // Frames per second handed to analytics (the stream is rate-limited to this).
  double analytics_fps = 5.0;
  // Width of the analysed frame in pixels; the height keeps the aspect ratio.
  int detect_width = 320;
  // RTSP transport: "tcp" (default) or "udp".
  std::string rtsp_transport = "tcp";
  // file:// sources: paced like a live camera (true) or as fast as possible (false); looped.
  bool file_realtime = true;
  bool file_loop = true;
  // Ingest timing (ingest::SourceOptions): no first frame within connect_timeout_ms is a
  // timeout; online and no frame for stall_timeout_ms is a stall; reconnect delays grow from
  // backoff_initial_ms to backoff_max_ms (full jitter).
  int connect_timeout_ms = 10000;
  int stall_timeout_ms = 5000;
  int backoff_initial_ms = 1000;
  int backoff_max_ms = 60000;
  analytics::MotionOptions motion;
  VehiclesConfig vehicles;

  // Field by field, motion options included: a reload restarts a camera only when this differs.
  bool operator==(const CameraConfig&) const = default;
};

// The event journal (daemon/journal.h): every event is appended before it is published.
struct JournalConfig {
  // Directory of the segment files; empty: no journal, hence no replay.
  std::string dir;
  // none, interval (fdatasync at most once a second) or every (before each batch is published).
  std::string fsync = "interval";
  // Retention: total size of all segments, and age of a segment's last record (0: no limit).
  int64_t max_bytes = int64_t{1} << 30;
  double max_age_hours = 168;
  // Size at which a new segment file is started.
  int64_t segment_bytes = int64_t{64} << 20;
};

// A client public key allowed on the CurveZMQ endpoints.
struct ClientKeyConfig {
  // Shown in the audit log and logs: letters, digits, '.', '_' and '-'.
  std::string name;
  // Z85 text, 40 characters (as written by `skynetctl keygen`).
  std::string public_key;
  // "read" (status, tail, replay) or "admin" (every control command).
  std::string role = "read";
};

struct SecurityConfig {
  // Secret key file of this node (`skynetctl keygen`); set: CurveZMQ on every tcp:// endpoint.
  std::string server_key_file;
  std::vector<ClientKeyConfig> clients;
};

struct ControlConfig {
  // Append-only audit log of control requests (who, what, when, result); empty: none.
  std::string audit_log;
};

// Node-wide ingest settings.
struct IngestConfig {
  // Pipeline starts (connection attempts) per second on this node, a token bucket shared by
  // all cameras, so that many cameras returning at once do not storm the node. 0: no limit.
  double start_rate_per_second = 20;
  // Starts allowed back to back (the bucket size).
  int start_burst = 40;
};

struct Config {
  // Where this file came from, for messages.
  std::string path;
  // Identifies this ingest node in every event.
  std::string node_id = "node-1";
  // ZeroMQ endpoint of the event feed (PUB), e.g. tcp://127.0.0.1:5556.
  std::string event_endpoint = "tcp://127.0.0.1:5556";
  // ZeroMQ endpoint of the control socket (ROUTER), e.g. ipc:///run/skynetd/control.sock.
  std::string control_endpoint = "ipc:///tmp/skynetd/control.sock";
  // Heartbeat interval on the feed, milliseconds.
  int heartbeat_interval_ms = 1000;
  // ZeroMQ endpoint of the replay server (ROUTER); empty: no replay. Needs journal.dir.
  std::string replay_endpoint;
  // Replay rate limit (token bucket), events per second.
  int replay_max_events_per_second = 50000;
  JournalConfig journal;
  SecurityConfig security;
  ControlConfig control;
  IngestConfig ingest;
  // Analytics worker threads; 0 = number of cores.
  int analytics_workers = 0;
  // Log level: trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";
  std::vector<CameraConfig> cameras;
};

// Parses and validates YAML text. `source_name` is used in error messages (usually the path);
// relative password_file paths resolve against its directory. An empty document gives the
// defaults. Secrets from password_file/password_env end up in CameraConfig::password.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name);

// Reads and parses a file. Errors: unreadable file, YAML syntax, unknown keys, bad values.
Result<Config> LoadConfigFile(const std::string& path);

// Parses one camera given as a YAML mapping (the same keys as an entry of `cameras:`), e.g. for
// a camera added at runtime. Validates it like ParseConfig() does, except that the id cannot be
// checked for uniqueness here. Relative password_file paths resolve against the current directory.
Result<CameraConfig> ParseCameraConfig(const std::string& yaml_text,
                                       const std::string& source_name);

// Checks the values of an already-built CameraConfig (ranges, id syntax, URL scheme, masks), e.g.
// one built from a control request. Errors name the camera and field:
//   camera cam1: detect_width: must be even, got 321
// Does not check that the id is unique (the caller knows the other cameras).
Status ValidateCameraConfig(const CameraConfig& camera);

}  // namespace skynet::daemon
