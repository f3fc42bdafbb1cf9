// Config: the daemon's configuration, loaded from YAML (see config/skynetd.example.yaml).
//
// LoadConfigFile() validates everything: unknown keys and bad values are errors that name the
// file, line, column and field, e.g.
//   skynetd.yaml:14:7: cameras[2].url: must be rtsp://, rtsps:// or file://
// Plain data, safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/fsync_policy.h"
#include "daemon/role.h"
#include "pipeline/analytics/classical_detector.h"
#include "pipeline/analytics/detector_backend.h"
#include "pipeline/analytics/dnn/dnn_detector.h"
#include "pipeline/analytics/motion_options.h"
#include "pipeline/analytics/vehicle_analytics.h"
#include "pipeline/analytics/video_quality_options.h"
#include "pipeline/core/status.h"
#include "pipeline/ingest/source_options.h"

namespace skynet::daemon {

// A camera's vehicle analytics (`vehicles:`, docs/vehicles.md): detector backend, calibration,
// tracker, traffic rules. Off by default; on, ingest delivers colour (BGR) frames.
struct VehiclesConfig {
  bool enabled = false;
  // `backend: classical` (model-free, the default) or `dnn` (an ONNX model: `detector`).
  analytics::DetectorBackend backend = analytics::DetectorBackend::kClassical;
  analytics::ClassicalDetectorOptions classical;
  // The `detector:` section, used when backend is dnn; a relative model_path resolves against
  // the config file's directory.
  analytics::DnnDetectorOptions detector;
  // Tracker, rules (lines, zones, lanes, stats interval), calibration, snapshot policy.
  analytics::VehicleAnalyticsOptions analytics;
  // Full-resolution snapshots: at most this many decoded frames (camera resolution, no copy) kept
  // per camera for the best moments of its live tracks; 0: snapshots from the detect-size frame
  // only (no full-resolution evidence).
  int snapshot_frames = 4;

  // Every field: a reload restarts a camera when its vehicles config changed.
  bool operator==(const VehiclesConfig&) const = default;
};

// Where a camera is, for following a vehicle from camera to camera (docs/evidence.md): its
// position, and/or the cameras a vehicle typically reaches next with the usual travel time.
struct GeoPosition {
  double lat = 0;  // degrees north, WGS 84, -90..90
  double lon = 0;  // degrees east, -180..180
  // Which way the camera looks: the compass bearing of the image's up direction on the road,
  // degrees clockwise from north (0..360); a vehicle driving up the image drives this way.
  // Unset: unknown (follow then compares no directions of travel).
  std::optional<double> bearing_deg;

  bool operator==(const GeoPosition&) const = default;
};

struct CameraNeighbour {
  std::string camera;   // id of another camera of this node
  double travel_s = 0;  // typical travel time between the two, seconds (either way), > 0

  bool operator==(const CameraNeighbour&) const = default;
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
  // Frame rate, detect width, transport, file pacing, timeouts and backoff: the flat keys of a
  // camera entry, same names (`rtsp_transport: tcp | udp` sets rtsp_tcp). Copied whole into
  // the camera's ingest::SourceOptions.
  ingest::IngestOptions ingest;
  analytics::MotionOptions motion;
  VehiclesConfig vehicles;
  // Where it is and which way it looks (`position: {lat, lon, bearing_deg}`); unset: unknown.
  std::optional<GeoPosition> position;
  // Cameras next to it on the road (`neighbours: [{camera, travel_s}]`); each id must be a
  // camera of the same file.
  std::vector<CameraNeighbour> neighbours;

  // Every field: a reload restarts a camera only when this differs.
  bool operator==(const CameraConfig&) const = default;
};

// The event journal (daemon/journal.h): every event is appended before it is published.
struct JournalConfig {
  // Directory of the segment files; empty: no journal, hence no replay.
  std::string dir;
  // none, interval (fdatasync at most once a second) or every (before each batch is published).
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  // Retention: total size of all segments, and age of a segment's last record (0: no limit).
  int64_t max_bytes = int64_t{1} << 30;
  double max_age_hours = 168;
  // Size at which a new segment file is started.
  int64_t segment_bytes = int64_t{64} << 20;

  bool operator==(const JournalConfig&) const = default;
};

// The vehicle record store (daemon/record_store.h, docs/evidence.md). Read at start only: a
// reload does not change it.
struct RecordsConfig {
  // Make a record of every finished vehicle track (topic record/<camera> on the feed).
  bool enabled = true;
  // SQLite database file of the records (its directory must exist); empty: records are not
  // stored, only published.
  std::string path;
  // Retention: records whose last sighting is older are deleted (0: no age limit).
  double retention_days = 30;
  // Retention: at most this many records, the oldest deleted first (0: no limit).
  int64_t max_records = 10'000'000;
  // Records waiting for the database writer; beyond it they are lost (counted and logged).
  int64_t max_queued = 10000;

  bool operator==(const RecordsConfig&) const = default;
};

// Evidence files (daemon/evidence_store.h, docs/evidence.md): snapshots and clips under one
// directory, with size and age retention. Read at start only: a reload does not change it.
struct EvidenceConfig {
  // The evidence directory (<path>/<camera>/<kind>/<date>/<file>); empty: no evidence files.
  std::string path;
  // Retention: total bytes of all evidence files, and per camera; the oldest files are deleted
  // first, never one being written (0: no limit).
  int64_t max_bytes = int64_t{100} << 30;
  int64_t max_bytes_per_camera = 0;
  // Retention: files older than this many days are deleted (0: no age limit).
  double retention_days = 30;
  // A clip runs from the key frame at or before (event - pre_roll_s) to event + post_roll_s.
  double pre_roll_s = 5;
  double post_roll_s = 10;
  // Events that write a clip by themselves (`clip_on: [vehicle_rules, motion_start]`); an
  // operator's request always can.
  bool clip_on_vehicle_rules = true;
  bool clip_on_motion_start = false;
  // Compressed video kept per camera for clips (the ring of access units), bytes.
  int64_t ring_max_bytes = int64_t{32} << 20;
  // Continuous recording: these cameras are recorded whole, in segments of segment_s seconds
  // (kind "recordings"), each starting at a key frame; retention applies as to clips.
  std::vector<std::string> record_cameras;
  double segment_s = 300;

  bool operator==(const EvidenceConfig&) const = default;
};

// A client public key allowed on the CurveZMQ endpoints.
struct ClientKeyConfig {
  // Shown in the audit log and logs: letters, digits, '.', '_' and '-'.
  std::string name;
  // Z85 text, 40 characters (as written by `skynetctl keygen`).
  std::string public_key;
  // read (status, tail, replay) or admin (every control command).
  Role role = Role::kRead;

  bool operator==(const ClientKeyConfig&) const = default;
};

struct SecurityConfig {
  // Secret key file of this node (`skynetctl keygen`); set: CurveZMQ on every tcp:// endpoint.
  std::string server_key_file;
  std::vector<ClientKeyConfig> clients;

  bool operator==(const SecurityConfig&) const = default;
};

struct ControlConfig {
  // Append-only audit log of control requests and refused connections (who, what, when,
  // result, why); empty: none.
  std::string audit_log;
  // Also audit answered read-only polls (status, list cameras); off: changes and refusals only.
  bool audit_reads = false;
  // Largest control request handled, bytes; larger ones (up to 16 MiB, what the socket reads at
  // all) are answered "request too large" and audited.
  int64_t max_request_bytes = 64 << 10;

  bool operator==(const ControlConfig&) const = default;
};

// Bounds of the event feed.
struct FeedConfig {
  // Events queued per subscriber that does not keep up; beyond it that subscriber's events are
  // dropped (it sees a seq gap and can replay). Roughly 200 bytes each in the daemon.
  int send_hwm = 10000;
  // Subscribers connected at once; more are refused at the handshake (audited). 0: no limit.
  int max_subscribers = 64;

  bool operator==(const FeedConfig&) const = default;
};

// Node-wide ingest settings.
struct IngestConfig {
  // Pipeline starts (connection attempts) per second on this node, a token bucket shared by
  // all cameras, so that many cameras returning at once do not storm the node. 0: no limit.
  double start_rate_per_second = 20;
  // Starts allowed back to back (the bucket size).
  int start_burst = 40;

  bool operator==(const IngestConfig&) const = default;
};

// Video quality diagnostics of every camera (docs/video-quality.md): a VideoQualityMonitor per
// camera on about one analysed frame per second, in every analytics tier. Read at start only.
struct VideoQualityConfig {
  bool enabled = true;
  // Time between samples, milliseconds (health tier: the next key frame after it).
  int sample_interval_ms = 1000;
  // Where each camera's reference view is kept (<camera id>.yml.gz); empty: "quality" next to
  // the journal's directory (e.g. /var/lib/skynetd/quality), or not kept without a journal.
  std::string reference_dir;
  // The monitor's options. Configurable: `warmup_samples` and each check's hysteresis,
  // `checks.<name>: {enter, leave, enter_ms, leave_ms}`; the rest keep their defaults.
  analytics::VideoQualityOptions options;

  bool operator==(const VideoQualityConfig&) const = default;
};

// The DNN backend's node-wide thread budget (docs/operations.md, "Thread budget"). Read at
// start only.
struct DnnConfig {
  // OpenCV threads for inference (and OpenCV's other parallel loops), shared by every analytics
  // worker. 1: each inference runs on its camera's worker alone, so N cameras cost N times one
  // and analytics never uses more than analytics_workers cores. 0: one per core (OpenCV's own
  // default, which lets one camera take every core).
  int threads = 1;

  bool operator==(const DnnConfig&) const = default;
};

// Benchmarking and testing only, never for production (docs/operations.md, "Overload"). Read at
// start only.
struct TestingConfig {
  // After each analysed frame the analytics worker waits this long (sleeping, no CPU), as if
  // analysis cost that much more: forces overload on a small machine. 0: off.
  int analysis_hold_ms = 0;

  bool operator==(const TestingConfig&) const = default;
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
  // Prometheus metrics over HTTP (GET /metrics), "host:port" ("[::1]:9464" for IPv6); empty: off.
  std::string metrics_endpoint = "127.0.0.1:9464";
  // Replay rate limit (token bucket), events per second.
  int replay_max_events_per_second = 50000;
  JournalConfig journal;
  RecordsConfig records;
  EvidenceConfig evidence;
  SecurityConfig security;
  ControlConfig control;
  FeedConfig feed;
  IngestConfig ingest;
  VideoQualityConfig video_quality;
  // Analytics worker threads; 0 = number of cores.
  int analytics_workers = 0;
  DnnConfig dnn;
  TestingConfig testing;
  // Log level: trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";
  std::vector<CameraConfig> cameras;
};

// The directory of the reference views: video_quality.reference_dir, else "quality" beside
// journal.dir; empty when neither is set.
std::string QualityReferenceDir(const Config& config);

// Parses and validates YAML text. `source_name` is used in error messages (usually the path);
// relative password_file paths resolve against its directory. Secrets from
// password_file/password_env end up in CameraConfig::password. Errors are reported together,
// one per line: every broken top-level key and camera key (within a nested section, and among a
// camera's value checks, the first only). Error texts are valid UTF-8 (invalid bytes quoted from
// the text become "\xNN").
// Without `require_cameras` an empty document gives the defaults; with it, a document without a
// list at `cameras:` is an error (`cameras: []` says "no cameras" on purpose).
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name,
                           bool require_cameras = false);

// Reads and parses a file, requiring `cameras:` (start, reload and --check-config all load
// through here, so an empty, comment-only or truncated file cannot stop every camera). Errors:
// unreadable file or a directory, YAML syntax, no cameras key, unknown keys, bad values.
Result<Config> LoadConfigFile(const std::string& path);

// Parses one camera given as a YAML mapping (the same keys as an entry of `cameras:`), e.g. for
// a camera added at runtime. Validates it like ParseConfig() does, except that the id cannot be
// checked for uniqueness here. Relative password_file paths resolve against the current directory.
Result<CameraConfig> ParseCameraConfig(const std::string& yaml_text,
                                       const std::string& source_name);

// Checks the values of a CameraConfig (ranges, id syntax, URL scheme, masks, the motion and
// vehicle options), e.g. one built from a control request. The parsers run the same checks and
// place their errors at the key. Errors name the camera and field:
//   camera cam1: detect_width: must be even, got 321
// Does not check that the id is unique (the caller knows the other cameras).
Status ValidateCameraConfig(const CameraConfig& camera);

// Whether the camera runs its vehicle analytics: enabled, and the analytics tier is full.
inline bool VehiclesRun(const CameraConfig& camera) {
  return camera.vehicles.enabled && camera.ingest.analytics == ingest::AnalyticsTier::kFull;
}

// What ingest needs to run this camera: its ingest options, id, URL and credentials, and colour
// frames when vehicle analytics runs (the motion detector accepts both).
ingest::SourceOptions SourceOptionsFor(const CameraConfig& camera);

// The checks of ValidateCameraConfig() by part. Errors name the field by its key path inside
// the part, without the camera: "detect_width: must be even, got 321" (IngestOptions, whose keys
// are flat in the camera), "rules.zones[1].polygon: needs at least 3 points" (VehiclesConfig).
Status ValidateIngestOptions(const ingest::IngestOptions& options);
Status ValidateVehiclesConfig(const VehiclesConfig& vehicles);

}  // namespace skynet::daemon
