#include "daemon/config.h"

#include "pipeline/analytics/video_quality.h"
#include "pipeline/core/url.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace skynet::daemon {
namespace {

namespace fs = std::filesystem;

// The error message of parsing `yaml` as "t.yaml", or "ok".
std::string ErrorOf(const std::string& yaml) {
  Result<Config> r = ParseConfig(yaml, "t.yaml");
  return r.ok() ? "ok" : r.status().message();
}

// A config with one camera whose extra lines (indented by 4) are `camera_lines`.
std::string OneCamera(const std::string& camera_lines) {
  return "cameras:\n"
         "  - id: cam1\n"
         "    url: rtsp://10.0.0.1/stream\n" +
         camera_lines;
}

// A fresh directory under /tmp, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "skynet-config-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path Write(const std::string& name, const std::string& contents) const {
    fs::path p = path_ / name;
    std::ofstream(p) << contents;
    return p;
  }

 private:
  fs::path path_;
};

// ctest sets SKYNET_SOURCE_DIR; when the binary is run by hand, the source dir baked in at build
// time stands in.
fs::path ExampleConfigPath() {
  const char* source_dir = std::getenv("SKYNET_SOURCE_DIR");
  if (source_dir == nullptr) source_dir = SKYNET_DEFAULT_SOURCE_DIR;
  return fs::path(source_dir) / "config/skynetd.example.yaml";
}

TEST(ConfigTest, ExampleConfigParsesAndShowsEveryFeature) {
  setenv("SKYNET_NORTH_APPROACH_PASSWORD", "s3cret", 1);
  Result<Config> r = LoadConfigFile(ExampleConfigPath().string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.path, ExampleConfigPath().string());
  EXPECT_EQ(c.node_id, "junction-north-1");
  ASSERT_EQ(c.cameras.size(), 3u);

  EXPECT_EQ(c.cameras[0].id, "north-approach");
  EXPECT_EQ(c.cameras[0].username, "viewer");
  EXPECT_EQ(c.cameras[0].password, "s3cret");
  EXPECT_EQ(c.cameras[0].url.rfind("rtsp://", 0), 0u);

  EXPECT_EQ(c.cameras[1].name, "east-exit");  // defaults to the id
  ASSERT_EQ(c.cameras[1].motion.masks.size(), 1u);
  EXPECT_EQ(c.cameras[1].motion.masks[0].size(), 4u);
  EXPECT_FLOAT_EQ(c.cameras[1].motion.masks[0][2].x, 0.35f);
  EXPECT_FALSE(c.cameras[1].ingest.rtsp_tcp);

  EXPECT_FALSE(c.cameras[2].enabled);
  EXPECT_EQ(c.cameras[2].url.rfind("file://", 0), 0u);
  unsetenv("SKYNET_NORTH_APPROACH_PASSWORD");
}

// The first example camera spells out every optional key with its default value, so a changed
// default in code shows up here as a stale comment in the example.
TEST(ConfigTest, ExampleFirstCameraShowsTheDefaults) {
  setenv("SKYNET_NORTH_APPROACH_PASSWORD", "s3cret", 1);
  Result<Config> r = LoadConfigFile(ExampleConfigPath().string());
  unsetenv("SKYNET_NORTH_APPROACH_PASSWORD");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Config top;
  EXPECT_EQ(r->event_endpoint, top.event_endpoint);
  EXPECT_EQ(r->control_endpoint, top.control_endpoint);
  EXPECT_EQ(r->heartbeat_interval_ms, top.heartbeat_interval_ms);
  EXPECT_EQ(r->analytics_workers, top.analytics_workers);
  EXPECT_TRUE(r->dnn == top.dnn);
  EXPECT_TRUE(r->testing == top.testing);
  EXPECT_EQ(r->log_level, top.log_level);
  const CameraConfig& cam = r->cameras.at(0);
  CameraConfig d;
  EXPECT_EQ(cam.enabled, d.enabled);
  EXPECT_TRUE(cam.ingest == d.ingest);
  EXPECT_TRUE(cam.motion == d.motion);
}

TEST(ConfigTest, EmptyDocumentGivesDefaults) {
  Result<Config> r = ParseConfig("# nothing yet\n", "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Config defaults;
  EXPECT_EQ(r->node_id, defaults.node_id);
  EXPECT_EQ(r->event_endpoint, defaults.event_endpoint);
  EXPECT_EQ(r->control_endpoint, defaults.control_endpoint);
  EXPECT_EQ(r->heartbeat_interval_ms, defaults.heartbeat_interval_ms);
  EXPECT_TRUE(r->cameras.empty());
}

TEST(ConfigTest, EmptyCameraListIsAllowed) {
  EXPECT_EQ(ErrorOf("cameras: []\n"), "ok");
  EXPECT_EQ(ErrorOf("cameras:\n"), "ok");
}

TEST(ConfigTest, CameraDefaultsComeFromStructInitialisers) {
  Result<Config> r = ParseConfig(OneCamera(""), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const CameraConfig& cam = r->cameras.at(0);
  CameraConfig defaults;
  EXPECT_EQ(cam.name, "cam1");
  EXPECT_EQ(cam.enabled, defaults.enabled);
  EXPECT_EQ(cam.ingest.analytics_fps, defaults.ingest.analytics_fps);
  EXPECT_EQ(cam.ingest.detect_width, defaults.ingest.detect_width);
  EXPECT_EQ(cam.ingest.rtsp_tcp, defaults.ingest.rtsp_tcp);
  EXPECT_EQ(cam.motion.threshold, defaults.motion.threshold);
  EXPECT_TRUE(cam.motion.masks.empty());
}

TEST(ConfigTest, AllKeysAreRead) {
  Result<Config> r = ParseConfig(
      "node_id: n.2\n"
      "event_endpoint: ipc:///tmp/feed\n"
      "control_endpoint: inproc://control\n"
      "heartbeat_interval_ms: 250\n"
      "analytics_workers: 3\n"
      "dnn: {threads: 2}\n"
      "testing: {analysis_hold_ms: 40}\n"
      "log_level: debug\n" +
          OneCamera("    name: Cam One\n"
                    "    username: u\n"
                    "    password: p\n"
                    "    enabled: no\n"
                    "    analytics_fps: 12.5\n"
                    "    detect_width: 640\n"
                    "    rtsp_transport: udp\n"
                    "    file_realtime: false\n"
                    "    file_loop: false\n"
                    "    motion: {threshold: 40, min_region_area: 0.01, start_frames: 5,\n"
                    "             end_quiet_ms: 500, update_interval_ms: 250,\n"
                    "             background_adapt_ms: 7000, foreground_adapt_ms: 90000,\n"
                    "             max_brightness_step: 0, global_change_fraction: 0.7,\n"
                    "             dilate_px: 3, max_regions: 8, shake_compensation: false,\n"
                    "             min_shake_px: 1, max_shake_px: 4, auto_contrast: off,\n"
                    "             contrast_reference_range: 60, night_brightness: 30,\n"
                    "             night_threshold: 45, night_min_region_area: 0.004}\n"),
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->node_id, "n.2");
  EXPECT_EQ(r->event_endpoint, "ipc:///tmp/feed");
  EXPECT_EQ(r->control_endpoint, "inproc://control");
  EXPECT_EQ(r->heartbeat_interval_ms, 250);
  EXPECT_EQ(r->analytics_workers, 3);
  EXPECT_EQ(r->dnn.threads, 2);
  EXPECT_EQ(r->testing.analysis_hold_ms, 40);
  EXPECT_EQ(r->log_level, "debug");
  const CameraConfig& cam = r->cameras.at(0);
  EXPECT_EQ(cam.name, "Cam One");
  EXPECT_EQ(cam.username, "u");
  EXPECT_EQ(cam.password, "p");
  EXPECT_FALSE(cam.enabled);
  EXPECT_DOUBLE_EQ(cam.ingest.analytics_fps, 12.5);
  EXPECT_EQ(cam.ingest.detect_width, 640);
  EXPECT_FALSE(cam.ingest.rtsp_tcp);
  EXPECT_FALSE(cam.ingest.file_realtime);
  EXPECT_FALSE(cam.ingest.file_loop);
  EXPECT_EQ(cam.motion.threshold, 40);
  EXPECT_DOUBLE_EQ(cam.motion.min_region_area, 0.01);
  EXPECT_EQ(cam.motion.start_frames, 5);
  EXPECT_EQ(cam.motion.end_quiet_ms, 500);
  EXPECT_EQ(cam.motion.update_interval_ms, 250);
  EXPECT_EQ(cam.motion.background_adapt_ms, 7000);
  EXPECT_EQ(cam.motion.foreground_adapt_ms, 90000);
  EXPECT_EQ(cam.motion.max_brightness_step, 0);
  EXPECT_DOUBLE_EQ(cam.motion.global_change_fraction, 0.7);
  EXPECT_EQ(cam.motion.dilate_px, 3);
  EXPECT_EQ(cam.motion.max_regions, 8);
  EXPECT_FALSE(cam.motion.shake_compensation);
  EXPECT_DOUBLE_EQ(cam.motion.min_shake_px, 1);
  EXPECT_DOUBLE_EQ(cam.motion.max_shake_px, 4);
  EXPECT_FALSE(cam.motion.auto_contrast);
  EXPECT_EQ(cam.motion.contrast_reference_range, 60);
  EXPECT_EQ(cam.motion.night_brightness, 30);
  EXPECT_EQ(cam.motion.night_threshold, 45);
  EXPECT_DOUBLE_EQ(cam.motion.night_min_region_area, 0.004);
}

TEST(ConfigTest, ExampleVideoQualityShowsTheDefaults) {
  setenv("SKYNET_NORTH_APPROACH_PASSWORD", "s3cret", 1);
  Result<Config> r = LoadConfigFile(ExampleConfigPath().string());
  unsetenv("SKYNET_NORTH_APPROACH_PASSWORD");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  VideoQualityConfig d;
  EXPECT_EQ(r->video_quality.enabled, d.enabled);
  EXPECT_EQ(r->video_quality.sample_interval_ms, d.sample_interval_ms);
  EXPECT_TRUE(r->video_quality.options == d.options);
  // The example's reference_dir is the default it would get beside its journal.
  Config without = *r;
  without.video_quality.reference_dir.clear();
  EXPECT_EQ(QualityReferenceDir(without), r->video_quality.reference_dir);
}

// Every key of video_quality is read into a field that operator== compares (a reload warns when
// it changed), and the example documents it.
TEST(ConfigFieldsTest, EveryVideoQualityKeyIsParsedComparedAndDocumented) {
  std::ifstream in(ExampleConfigPath());
  const YAML::Node example = YAML::Load(std::string(std::istreambuf_iterator<char>(in), {}));
  std::vector<std::pair<std::string, std::string>> rows = {{"enabled", "false"},
                                                           {"sample_interval_ms", "250"},
                                                           {"reference_dir", "/tmp/q"},
                                                           {"warmup_samples", "9"}};
  for (int i = 0; i < analytics::kQualityCheckCount; ++i) {
    const std::string check = analytics::QualityCheckName(analytics::QualityCheck(i));
    rows.push_back({"checks." + check + ".enter", "0.95"});
    rows.push_back({"checks." + check + ".leave", "0.01"});
    rows.push_back({"checks." + check + ".enter_ms", "1234"});
    rows.push_back({"checks." + check + ".leave_ms", "4321"});
  }
  for (const auto& [path, value] : rows) {
    SCOPED_TRACE(path);
    std::string yaml = "video_quality:\n";
    std::string indent = "  ";
    size_t start = 0;
    for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1) {
      yaml += indent + path.substr(start, dot - start) + ":\n";
      indent += "  ";
    }
    yaml += indent + path.substr(start) + ": " + value + "\n";
    Result<Config> r = ParseConfig(yaml, "t.yaml");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->video_quality == VideoQualityConfig{}) << "not read or not compared";
    const std::string key = path.substr(0, path.find('.'));
    EXPECT_TRUE(example["video_quality"][key]) << "not in config/skynetd.example.yaml";
  }
}

TEST(ConfigTest, VideoQualityErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("video_quality:\n  checks:\n    frozen: {enter: 0.4, leave: 0.6}\n"),
            "t.yaml:3:33: video_quality.checks.frozen.leave: must be in [0, 0.4], got 0.6");
  EXPECT_EQ(ErrorOf("video_quality:\n  sample_interval_ms: 5\n"),
            "t.yaml:2:23: video_quality.sample_interval_ms: must be in 100..3600000, got 5");
  EXPECT_NE(ErrorOf("video_quality:\n  checks:\n    frost: {enter: 0.5}\n")
                .find("video_quality.checks.frost: unknown key"),
            std::string::npos);
}

TEST(ConfigTest, QualityReferenceDirDefaultsBesideTheJournal) {
  Config c;
  EXPECT_EQ(QualityReferenceDir(c), "");
  c.journal.dir = "/var/lib/skynetd/journal/";
  EXPECT_EQ(QualityReferenceDir(c), "/var/lib/skynetd/quality");
  c.video_quality.reference_dir = "/srv/refs";
  EXPECT_EQ(QualityReferenceDir(c), "/srv/refs");
}

TEST(ConfigTest, UnknownTopLevelKeyIsNamedWithItsPlace) {
  EXPECT_EQ(ErrorOf("node_id: a\nframerate: 5\n"),
            "t.yaml:2:1: framerate: unknown key (expected one of: node_id, event_endpoint, "
            "control_endpoint, heartbeat_interval_ms, replay_endpoint, metrics_endpoint, "
            "replay_max_events_per_second, journal, records, evidence, security, control, feed, "
            "analytics_workers, dnn, testing, ingest, video_quality, log_level, cameras)");
}

TEST(ConfigTest, MetricsEndpointIsHostAndPortOrEmpty) {
  auto parsed = ParseConfig("metrics_endpoint: '[::1]:9464'\n", "t.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->metrics_endpoint, "[::1]:9464");
  parsed = ParseConfig("metrics_endpoint: ''\n", "t.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->metrics_endpoint, "");
  EXPECT_EQ(ParseConfig("", "t.yaml")->metrics_endpoint, "127.0.0.1:9464");
  EXPECT_EQ(ErrorOf("metrics_endpoint: 127.0.0.1:99999\n"),
            "t.yaml:1:19: metrics_endpoint: port must be 0..65535, got '99999'");
  EXPECT_EQ(ErrorOf("metrics_endpoint: localhost\n"),
            "t.yaml:1:19: metrics_endpoint: must be host:port (e.g. 127.0.0.1:9464), got "
            "'localhost'");
  EXPECT_EQ(ErrorOf("metrics_endpoint: '::1:9464'\n"),
            "t.yaml:1:19: metrics_endpoint: an IPv6 host must be in brackets, e.g. [::1]:9464");
}

TEST(ConfigTest, MisspelledKeyGetsASuggestion) {
  EXPECT_EQ(ErrorOf("analytics_worker: 2\n"),
            "t.yaml:1:1: analytics_worker: unknown key (did you mean 'analytics_workers'?)");
}

TEST(ConfigTest, UnknownCameraKeyIsNamedWithItsPlace) {
  EXPECT_EQ(ErrorOf(OneCamera("    analytic_fps: 5\n")),
            "t.yaml:4:5: cameras[0].analytic_fps: unknown key (did you mean 'analytics_fps'?)");
  EXPECT_EQ(ErrorOf(OneCamera("    motion:\n      treshold: 5\n")),
            "t.yaml:5:7: cameras[0].motion.treshold: unknown key (did you mean 'threshold'?)");
}

TEST(ConfigTest, RepeatedKeyIsAnError) {
  EXPECT_EQ(ErrorOf("node_id: a\nnode_id: b\n"),
            "t.yaml:2:1: node_id: repeated key (first given at line 1)");
}

TEST(ConfigTest, BadUrlSchemeIsRejected) {
  EXPECT_EQ(ErrorOf("cameras:\n  - id: cam1\n    url: http://10.0.0.1/x\n"),
            "t.yaml:3:10: cameras[0].url: must be rtsp://, rtsps:// or file://");
  EXPECT_EQ(ErrorOf("cameras:\n  - id: cam1\n    url: rtsp://\n"),
            "t.yaml:3:10: cameras[0].url: has nothing after rtsp://");
}

TEST(ConfigTest, FileUrlNeedNotExistAtParseTime) {
  EXPECT_EQ(ErrorOf("cameras:\n  - id: c\n    url: file:///no/such/clip.mp4\n"), "ok");
}

TEST(ConfigTest, FpsOutOfRangeIsRejected) {
  EXPECT_EQ(ErrorOf(OneCamera("    analytics_fps: 0\n")),
            "t.yaml:4:20: cameras[0].analytics_fps: must be > 0 and <= 60, got 0");
  EXPECT_EQ(ErrorOf(OneCamera("    analytics_fps: 60.5\n")),
            "t.yaml:4:20: cameras[0].analytics_fps: must be > 0 and <= 60, got 60.5");
  EXPECT_EQ(ErrorOf(OneCamera("    analytics_fps: .nan\n")),
            "t.yaml:4:20: cameras[0].analytics_fps: must be > 0 and <= 60, got nan");
  EXPECT_EQ(ErrorOf(OneCamera("    analytics_fps: 60\n")), "ok");
}

TEST(ConfigTest, WrongTypeIsRejected) {
  EXPECT_EQ(ErrorOf(OneCamera("    analytics_fps: fast\n")),
            "t.yaml:4:20: cameras[0].analytics_fps: expected a number, got 'fast'");
  EXPECT_EQ(ErrorOf(OneCamera("    enabled: maybe\n")),
            "t.yaml:4:14: cameras[0].enabled: expected true or false, got 'maybe'");
  EXPECT_EQ(ErrorOf(OneCamera("    detect_width: 320.5\n")),
            "t.yaml:4:19: cameras[0].detect_width: expected an integer, got '320.5'");
  EXPECT_EQ(ErrorOf(OneCamera("    name: [a, b]\n")),
            "t.yaml:4:11: cameras[0].name: expected a string, got a list");
  EXPECT_EQ(ErrorOf("cameras: {id: a}\n"), "t.yaml:1:10: cameras: expected a list, got a mapping");
  EXPECT_EQ(ErrorOf("cameras:\n  - rtsp://10.0.0.1/x\n"),
            "t.yaml:2:5: cameras[0]: expected a mapping, got 'rtsp://10.0.0.1/x'");
  EXPECT_EQ(ErrorOf("cameras:\n  - id: cam1\n    url:\n"),
            "t.yaml:3:5: cameras[0].url: expected a string, got nothing");  // at the key
  std::string msg = ErrorOf("cameras:\n  - id: a\n    url: rtsp://h/x\n  -\n  - id: b\n");
  EXPECT_NE(msg.find(": cameras[1]: expected a mapping, got nothing"), std::string::npos) << msg;
  EXPECT_EQ(ErrorOf("just a string\n"), "t.yaml:1:1: expected a mapping, got 'just a string'");
}

TEST(ConfigTest, DetectWidthMustBeEvenAndInRange) {
  EXPECT_EQ(ErrorOf(OneCamera("    detect_width: 321\n")),
            "t.yaml:4:19: cameras[0].detect_width: must be even, got 321");
  EXPECT_EQ(ErrorOf(OneCamera("    detect_width: 32\n")),
            "t.yaml:4:19: cameras[0].detect_width: must be in 64..1920, got 32");
}

TEST(ConfigTest, AnalyticsTierIsParsedAndDecidesVehiclesAndColour) {
  Result<Config> full = ParseConfig(OneCamera("    vehicles:\n      enabled: true\n"), "t.yaml");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->cameras[0].ingest.analytics, ingest::AnalyticsTier::kFull);
  EXPECT_TRUE(VehiclesRun(full->cameras[0]));
  EXPECT_TRUE(SourceOptionsFor(full->cameras[0]).color);
  for (const char* tier : {"motion", "health"}) {
    Result<Config> r = ParseConfig(
        OneCamera(std::string("    analytics: ") + tier + "\n    vehicles:\n      enabled: true\n"),
        "t.yaml");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_STREQ(ingest::AnalyticsTierName(r->cameras[0].ingest.analytics), tier);
    EXPECT_FALSE(VehiclesRun(r->cameras[0])) << tier;
    EXPECT_FALSE(SourceOptionsFor(r->cameras[0]).color) << tier;
    EXPECT_EQ(SourceOptionsFor(r->cameras[0]).analytics, r->cameras[0].ingest.analytics);
  }
  EXPECT_EQ(ErrorOf(OneCamera("    analytics: keyframes\n")),
            "t.yaml:4:16: cameras[0].analytics: must be full, motion or health, got 'keyframes'");
}

TEST(ConfigTest, OtherValueChecks) {
  EXPECT_EQ(ErrorOf(OneCamera("    rtsp_transport: http\n")),
            "t.yaml:4:21: cameras[0].rtsp_transport: must be tcp or udp, got 'http'");
  EXPECT_EQ(ErrorOf("log_level: loud\n"),
            "t.yaml:1:12: log_level: must be one of trace, debug, info, warn, error, critical, "
            "off; got 'loud'");
  EXPECT_EQ(ErrorOf("heartbeat_interval_ms: 0\n"),
            "t.yaml:1:24: heartbeat_interval_ms: must be in 10..60000, got 0");
}

TEST(ConfigTest, MotionValuesAreJudgedByTheDetectorsValidation) {
  EXPECT_EQ(ErrorOf(OneCamera("    motion:\n      threshold: 256\n")),
            "t.yaml:5:18: cameras[0].motion.threshold: must be in [1, 254], got 256");
  // A value that is bad only together with a default points at the motion section.
  EXPECT_EQ(ErrorOf(OneCamera("    motion:\n      min_shake_px: 10\n")),
            "t.yaml:5:7: cameras[0].motion.max_shake_px: must be in [10, 32], got 8");
  EXPECT_EQ(ErrorOf(OneCamera("    motion:\n      shake_compensation: sometimes\n")),
            "t.yaml:5:27: cameras[0].motion.shake_compensation: expected true or false, got "
            "'sometimes'");
}

TEST(ConfigTest, EndpointSchemesAreChecked) {
  EXPECT_EQ(ErrorOf("event_endpoint: udp://127.0.0.1:5556\n"),
            "t.yaml:1:17: event_endpoint: must be tcp://, ipc:// or inproc://, got "
            "'udp://127.0.0.1:5556'");
  EXPECT_EQ(ErrorOf("control_endpoint: /tmp/control.sock\n"),
            "t.yaml:1:19: control_endpoint: must be tcp://, ipc:// or inproc://, got "
            "'/tmp/control.sock'");
}

TEST(ConfigTest, CameraIdSyntaxIsChecked) {
  EXPECT_EQ(ErrorOf("cameras:\n  - id: cam 1\n    url: rtsp://h/x\n"),
            "t.yaml:2:9: cameras[0].id: 'cam 1' may contain only letters, digits, '.', '_' and "
            "'-'");
  EXPECT_EQ(ErrorOf("cameras:\n  - id: " + std::string(65, 'a') + "\n    url: rtsp://h/x\n"),
            "t.yaml:2:9: cameras[0].id: must be at most 64 characters, got 65");
}

TEST(ConfigTest, MissingRequiredKeysAreNamed) {
  EXPECT_EQ(ErrorOf("cameras:\n  - url: rtsp://h/x\n"),
            "t.yaml:2:5: cameras[0]: missing required key 'id'");
  EXPECT_EQ(ErrorOf("cameras:\n  - id: a\n"), "t.yaml:2:5: cameras[0]: missing required key 'url'");
}

TEST(ConfigTest, DuplicateCameraIdIsReportedAtTheSecond) {
  EXPECT_EQ(ErrorOf("cameras:\n"
                    "  - id: cam1\n"
                    "    url: rtsp://h/1\n"
                    "  - id: cam2\n"
                    "    url: rtsp://h/2\n"
                    "  - url: rtsp://h/3\n"
                    "    id: cam1\n"),
            "t.yaml:7:9: cameras[2].id: duplicate camera id 'cam1' (first defined at line 2)");
}

TEST(ConfigTest, YamlSyntaxErrorNamesLineAndColumn) {
  std::string msg = ErrorOf("node_id: a\ncameras:\n  - id: [cam1\n    url: rtsp://h/x\n");
  EXPECT_EQ(msg.rfind("t.yaml:", 0), 0u) << msg;
  EXPECT_NE(msg.find(": yaml: "), std::string::npos) << msg;
  msg = ErrorOf("node_id: a\n\tlog_level: info\n");
  EXPECT_EQ(msg.rfind("t.yaml:2:", 0), 0u) << msg;
  EXPECT_NE(msg.find(": yaml: "), std::string::npos) << msg;
}

TEST(ConfigTest, MaskPolygonsAreRead) {
  Result<Config> r = ParseConfig(OneCamera("    motion:\n"
                                           "      masks:\n"
                                           "        - [[0, 0], [0.3, 0], [0.3, 0.1]]\n"
                                           "        - - [0.5, 0.5]\n"
                                           "          - [1, 0.5]\n"
                                           "          - [1, 1]\n"
                                           "          - [0.5, 1]\n"),
                                 "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& masks = r->cameras.at(0).motion.masks;
  ASSERT_EQ(masks.size(), 2u);
  EXPECT_EQ(masks[0].size(), 3u);
  EXPECT_EQ(masks[1].size(), 4u);
  EXPECT_FLOAT_EQ(masks[0][1].x, 0.3f);
  EXPECT_FLOAT_EQ(masks[1][3].y, 1.0f);
}

TEST(ConfigTest, MaskPolygonsAreValidated) {
  auto with_mask = [](const std::string& mask) {
    return ErrorOf(OneCamera("    motion:\n      masks:\n        - " + mask + "\n"));
  };
  EXPECT_EQ(with_mask("[[0, 0], [0.3, 0]]"),
            "t.yaml:6:11: cameras[0].motion.masks[0]: a mask polygon needs at least 3 points, "
            "got 2");
  EXPECT_EQ(with_mask("[[0, 0], [1.5, 0], [0.3, 0.1]]"),
            "t.yaml:6:21: cameras[0].motion.masks[0][1][0]: must be in [0, 1], got 1.5");
  EXPECT_EQ(with_mask("[[0, 0], [0.3, 0, 1], [0.3, 0.1]]"),
            "t.yaml:6:20: cameras[0].motion.masks[0][1]: expected a point [x, y], got a list");
  EXPECT_EQ(with_mask("[[0, 0], [0.5, 0.5], [1, 1]]"),
            "t.yaml:6:11: cameras[0].motion.masks[0]: mask polygon has zero area");
  EXPECT_EQ(with_mask("[[0, 0], [x, 0], [0.3, 0.1]]"),
            "t.yaml:6:21: cameras[0].motion.masks[0][1][0]: expected a number, got 'x'");
  EXPECT_EQ(
      ErrorOf(OneCamera("    motion:\n      masks: [0, 1]\n")),
      "t.yaml:5:15: cameras[0].motion.masks[0]: expected a polygon (a list of [x, y] points), "
      "got '0'");
}

TEST(ConfigTest, PasswordFileIsReadAndTrimmed) {
  TempDir dir;
  dir.Write("cam.pw", "  hunter2\n");
  dir.Write("skynetd.yaml", OneCamera("    password_file: cam.pw\n"));  // relative to the file
  Result<Config> r = LoadConfigFile((dir.path() / "skynetd.yaml").string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cameras.at(0).password, "hunter2");
}

TEST(ConfigTest, UnreadablePasswordFileIsNamed) {
  TempDir dir;
  fs::path config = dir.Write("skynetd.yaml", OneCamera("    password_file: missing.pw\n"));
  Result<Config> r = LoadConfigFile(config.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            config.string() + ":4:20: cameras[0].password_file: cannot read '" +
                (dir.path() / "missing.pw").string() + "': No such file or directory");
}

TEST(ConfigTest, PositionAndNeighboursAreReadAndCheckedWithThePlace) {
  Result<Config> ok = ParseConfig(
      "cameras:\n"
      "  - {id: a, url: rtsp://h/1, position: {lat: 31.2, lon: 121.4, bearing_deg: 270},\n"
      "     neighbours: [{camera: b, travel_s: 30}]}\n"
      "  - {id: b, url: rtsp://h/2, neighbours: [{camera: a, travel_s: 30}]}\n",
      "t.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_TRUE(ok->cameras[0].position.has_value());
  EXPECT_DOUBLE_EQ(ok->cameras[0].position->lon, 121.4);
  EXPECT_EQ(ok->cameras[0].position->bearing_deg, 270);
  EXPECT_EQ(ok->cameras[0].neighbours, (std::vector<CameraNeighbour>{{"b", 30}}));
  EXPECT_FALSE(ok->cameras[1].position.has_value());

  auto error = [](const std::string& cameras) {
    Result<Config> r = ParseConfig("cameras:\n" + cameras, "t.yaml");
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(error("  - {id: a, url: rtsp://h/1, position: {lat: 95, lon: 1}}\n"),
            "t.yaml:2:46: cameras[0].position.lat: must be in -90..90 (degrees north), got 95");
  EXPECT_EQ(error("  - {id: a, url: rtsp://h/1, position: {lat: 5, lon: 1, bearing_deg: -5}}\n"),
            "t.yaml:2:70: cameras[0].position.bearing_deg: must be in 0..360 (degrees clockwise "
            "from north), got -5");
  EXPECT_EQ(error("  - {id: a, url: rtsp://h/1, position: {lat: 5}}\n"),
            "t.yaml:2:40: cameras[0].position: needs both lat and lon");
  EXPECT_EQ(error("  - {id: a, url: rtsp://h/1, neighbours: [{camera: a, travel_s: 3}]}\n"),
            "t.yaml:2:52: cameras[0].neighbours[0].camera: a camera is not its own neighbour");
  EXPECT_EQ(error("  - {id: a, url: rtsp://h/1, neighbours: [{camera: b, travel_s: 0}]}\n"
                  "  - {id: b, url: rtsp://h/2}\n"),
            "t.yaml:2:65: cameras[0].neighbours[0].travel_s: must be > 0 and at most 86400 "
            "seconds, got 0");
  EXPECT_EQ(error("  - {id: a, url: rtsp://h/1, neighbours: [{camera: b}]}\n"),
            "t.yaml:2:43: cameras[0].neighbours[0]: missing required key 'travel_s'");
  EXPECT_EQ(error("  - {id: a, url: rtsp://h/1, neighbours: [{camera: c, travel_s: 9}]}\n"
                  "  - {id: b, url: rtsp://h/2}\n"),
            "t.yaml:2:52: cameras[0].neighbours[0].camera: no camera 'c' in this file (cameras: "
            "a, b)");
}

TEST(ConfigTest, EmptyPasswordFileIsAnError) {
  TempDir dir;
  dir.Write("empty.pw", "\n");
  fs::path config = dir.Write("skynetd.yaml", OneCamera("    password_file: empty.pw\n"));
  Result<Config> r = LoadConfigFile(config.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cameras[0].password_file: '"), std::string::npos);
  EXPECT_NE(r.status().message().find("empty.pw' is empty"), std::string::npos);
}

TEST(ConfigTest, PasswordEnvIsRead) {
  setenv("SKYNET_TEST_CAM_PW", "from-env", 1);
  Result<Config> r = ParseConfig(OneCamera("    password_env: SKYNET_TEST_CAM_PW\n"), "t.yaml");
  unsetenv("SKYNET_TEST_CAM_PW");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cameras.at(0).password, "from-env");
}

TEST(ConfigTest, UnsetPasswordEnvIsNamed) {
  unsetenv("SKYNET_TEST_UNSET_PW");
  EXPECT_EQ(ErrorOf(OneCamera("    password_env: SKYNET_TEST_UNSET_PW\n")),
            "t.yaml:4:19: cameras[0].password_env: environment variable SKYNET_TEST_UNSET_PW is "
            "not set");
}

TEST(ConfigTest, OnlyOnePasswordSourceMayBeGiven) {
  EXPECT_EQ(ErrorOf(OneCamera("    password: a\n    password_env: HOME\n")),
            "t.yaml:5:19: cameras[0].password_env: conflicts with password; give only one of "
            "password, password_file, password_env");
}

TEST(ConfigTest, AFileMustListItsCameras) {
  TempDir dir;
  const fs::path empty = dir.Write("empty.yaml", "");
  const fs::path comment = dir.Write("comment.yaml", "# cameras: later\n");
  const fs::path absent = dir.Write("absent.yaml", "node_id: a\n");
  const fs::path null = dir.Write("null.yaml", "node_id: a\ncameras:\n");
  const fs::path none = dir.Write("none.yaml", "cameras: []\n");
  auto error = [](const fs::path& p) {
    Result<Config> r = LoadConfigFile(p.string());
    return r.ok() ? std::string("ok") : r.status().message();
  };
  for (const fs::path& p : {empty, comment}) {
    EXPECT_EQ(error(p), p.string() +
                            ": cameras: missing: the file is empty or only comments; a config "
                            "must list its cameras (`cameras: []` for a node without cameras)");
  }
  EXPECT_EQ(error(absent), absent.string() + ": cameras: missing; list the cameras, or write "
                                             "`cameras: []` for a node without cameras");
  EXPECT_EQ(error(null), null.string() + ": cameras: has no value; list the cameras, or write "
                                         "`cameras: []` for a node without cameras");
  EXPECT_EQ(error(none), "ok");
  EXPECT_EQ(error(dir.path()), dir.path().string() + ": cannot read config: is a directory");
}

TEST(ConfigTest, EveryErrorIsReportedAtOnce) {
  EXPECT_EQ(ErrorOf("heartbeat_interval_ms: 1\nbogus: 2\ncameras:\n"
                    "  - id: a\n    url: http://x\n"
                    "  - id: b\n    url: rtsp://h/x\n    detect_width: 321\n"
                    "  - id: c\n    url: rtsp://h:99999/x\n"),
            "t.yaml:1:24: heartbeat_interval_ms: must be in 10..60000, got 1\n"
            "t.yaml:2:1: bogus: unknown key (expected one of: node_id, event_endpoint, "
            "control_endpoint, heartbeat_interval_ms, replay_endpoint, metrics_endpoint, "
            "replay_max_events_per_second, journal, records, evidence, security, control, feed, "
            "analytics_workers, dnn, testing, ingest, video_quality, log_level, cameras)\n"
            "t.yaml:5:10: cameras[0].url: must be rtsp://, rtsps:// or file://\n"
            "t.yaml:8:19: cameras[1].detect_width: must be even, got 321\n"
            "t.yaml:10:10: cameras[2].url: port must be 1..65535, got '99999'");
}

TEST(ConfigTest, EveryBrokenKeyOfACameraIsReported) {
  EXPECT_EQ(ErrorOf("cameras:\n  - id: a\n    analytics_fps: fast\n    colour: red\n"),
            "t.yaml:3:20: cameras[0].analytics_fps: expected a number, got 'fast'\n"
            "t.yaml:4:5: cameras[0].colour: unknown key (expected one of: id, name, url, username, "
            "enabled, motion, vehicles, position, neighbours, password, password_file, password_env, "
            "analytics, "
            "analytics_fps, detect_width, rtsp_transport, file_realtime, file_loop, connect_timeout_ms, "
            "stall_timeout_ms, backoff_initial_ms, backoff_max_ms)\n"
            "t.yaml:2:5: cameras[0]: missing required key 'url'");
}

TEST(ConfigTest, ErrorsAreValidUtf8WhateverTheFileHolds) {
  std::string garbage;
  for (int i = 0; i < 2048; ++i) garbage += static_cast<char>((i * 7919 + 13) & 0xff);
  for (const std::string& text :
       {garbage, std::string("node_id: \xff\xfe\n"), std::string("\xc3(: 1\n"),
        std::string("cameras:\n  - id: \x80\n    url: rtsp://h/x\n")}) {
    Result<Config> r = ParseConfig(text, "t.yaml", true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(ValidUtf8(r.status().message()), r.status().message()) << r.status().message();
  }
}

TEST(ConfigTest, AUrlQuotedInAnErrorIsRedacted) {
  EXPECT_EQ(ErrorOf(OneCamera("    enabled: rtsp://u:Leak@h/x?token=Tok\n")),
            "t.yaml:4:14: cameras[0].enabled: expected true or false, got "
            "'rtsp://***@h/x?token=***'");
}

TEST(ConfigTest, CameraUrlsWithBadPortsOrBracketsAreRefused) {
  EXPECT_EQ(ErrorOf(OneCamera("").replace(OneCamera("").find("rtsp://10.0.0.1/stream"), 22,
                                          "rtsp://127.0.0.1:99999/x")),
            "t.yaml:3:10: cameras[0].url: port must be 1..65535, got '99999'");
  EXPECT_EQ(ErrorOf("cameras:\n  - id: a\n    url: rtsp://[::1/x\n"),
            "t.yaml:3:10: cameras[0].url: IPv6 host: '[' without a closing ']'");
  CameraConfig cam;
  cam.id = "c";
  cam.url = "rtsp://127.0.0.1:99999/x";
  EXPECT_EQ(ValidateCameraConfig(cam).message(),
            "camera c: url: port must be 1..65535, got '99999'");
}

TEST(ConfigTest, MissingFileIsAnIoErrorNamingThePath) {
  Result<Config> r = LoadConfigFile("/no/such/skynetd.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_EQ(r.status().message(),
            "/no/such/skynetd.yaml: cannot read config: No such file or directory");
}

TEST(ConfigTest, NodeWideStartRateIsReadAndChecked) {
  Result<Config> r =
      ParseConfig("ingest:\n  start_rate_per_second: 2.5\n  start_burst: 7\n", "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ingest.start_rate_per_second, 2.5);
  EXPECT_EQ(r->ingest.start_burst, 7);
  EXPECT_EQ(ErrorOf("ingest:\n  start_burst: 0\n"),
            "t.yaml:2:16: ingest.start_burst: must be in 1..100000, got 0");
  EXPECT_EQ(ErrorOf("ingest:\n  start_rate_per_second: -1\n"),
            "t.yaml:2:26: ingest.start_rate_per_second: must be in 0..100000 (0: no limit), got -1");
  setenv("SKYNET_NORTH_APPROACH_PASSWORD", "s3cret", 1);
  Result<Config> example = LoadConfigFile(ExampleConfigPath().string());
  unsetenv("SKYNET_NORTH_APPROACH_PASSWORD");
  ASSERT_TRUE(example.ok()) << example.status().ToString();
  Config defaults;
  EXPECT_EQ(example->ingest.start_rate_per_second, defaults.ingest.start_rate_per_second);
  EXPECT_EQ(example->ingest.start_burst, defaults.ingest.start_burst);
}

TEST(ConfigTest, FeedAndControlLimitsAreReadCheckedComparedAndDocumented) {
  Result<Config> r = ParseConfig(
      "feed:\n  send_hwm: 500\n  max_subscribers: 3\ncontrol:\n  max_request_bytes: 2048\n",
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->feed.send_hwm, 500);
  EXPECT_EQ(r->feed.max_subscribers, 3);
  EXPECT_EQ(r->control.max_request_bytes, 2048);
  Config defaults;
  EXPECT_FALSE(r->feed == defaults.feed);
  EXPECT_FALSE(r->control == defaults.control);
  EXPECT_EQ(ErrorOf("feed:\n  send_hwm: 5\n"),
            "t.yaml:2:13: feed.send_hwm: must be in 100..1000000, got 5");
  EXPECT_EQ(ErrorOf("feed:\n  max_subscribers: -1\n"),
            "t.yaml:2:20: feed.max_subscribers: must be in 0..10000, got -1");
  EXPECT_EQ(ErrorOf("control:\n  max_request_bytes: 99999999\n"),
            "t.yaml:2:22: control.max_request_bytes: must be in 1024..16777216, got 99999999");
  setenv("SKYNET_NORTH_APPROACH_PASSWORD", "s3cret", 1);
  Result<Config> example = LoadConfigFile(ExampleConfigPath().string());
  unsetenv("SKYNET_NORTH_APPROACH_PASSWORD");
  ASSERT_TRUE(example.ok()) << example.status().ToString();
  EXPECT_EQ(example->feed, defaults.feed);  // the example shows the defaults
  EXPECT_EQ(example->control.max_request_bytes, defaults.control.max_request_bytes);
}

TEST(ConfigTest, IngestTimingKeysAreReadAndChecked) {
  Result<Config> r = ParseConfig(OneCamera("    connect_timeout_ms: 2000\n"
                                           "    stall_timeout_ms: 800\n"
                                           "    backoff_initial_ms: 50\n"
                                           "    backoff_max_ms: 4000\n"),
                                 "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const CameraConfig& c = r->cameras[0];
  EXPECT_EQ(c.ingest.connect_timeout_ms, 2000);
  EXPECT_EQ(c.ingest.stall_timeout_ms, 800);
  EXPECT_EQ(c.ingest.backoff_initial_ms, 50);
  EXPECT_EQ(c.ingest.backoff_max_ms, 4000);
  EXPECT_EQ(ErrorOf(OneCamera("    stall_timeout_ms: 10\n")),
            "t.yaml:4:23: cameras[0].stall_timeout_ms: must be in 200..600000, got 10");
  EXPECT_EQ(ErrorOf(OneCamera("    backoff_initial_ms: 5000\n    backoff_max_ms: 1000\n")),
            "t.yaml:5:21: cameras[0].backoff_max_ms: must be at least backoff_initial_ms (5000), "
            "got 1000");
  CameraConfig v;
  v.id = "cam1";
  v.url = "rtsp://h/s";
  v.ingest.backoff_initial_ms = 5000;
  v.ingest.backoff_max_ms = 1000;
  EXPECT_EQ(ValidateCameraConfig(v).message(),
            "camera cam1: backoff_max_ms: must be at least backoff_initial_ms (5000), got 1000");
  v.ingest.backoff_max_ms = 60000;
  v.ingest.connect_timeout_ms = 0;
  EXPECT_EQ(ValidateCameraConfig(v).message(),
            "camera cam1: connect_timeout_ms: must be in 500..600000, got 0");
}

TEST(ConfigTest, CameraEqualityComparesEveryFieldMotionIncluded) {
  CameraConfig a;
  a.id = "cam1";
  CameraConfig b = a;
  EXPECT_EQ(a, b);
  b.ingest.stall_timeout_ms += 1;
  EXPECT_NE(a, b);
  b = a;
  b.motion.night_min_region_area *= 2;
  EXPECT_NE(a, b);
  b = a;
  b.motion.masks.push_back({{0, 0}, {1, 0}, {1, 1}});
  EXPECT_NE(a, b);
  b = a;
  b.name = "other";
  EXPECT_NE(a, b);
}

TEST(ConfigTest, ParseCameraConfigReadsOneCamera) {
  Result<CameraConfig> r =
      ParseCameraConfig("{id: cam9, url: 'rtsp://h/9', analytics_fps: 2}", "request");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, "cam9");
  EXPECT_EQ(r->name, "cam9");
  EXPECT_DOUBLE_EQ(r->ingest.analytics_fps, 2);
  Result<CameraConfig> bad = ParseCameraConfig("{id: cam9, url: 'http://h/9'}", "request");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "request:1:17: url: must be rtsp://, rtsps:// or file://");
}

TEST(ConfigTest, ValidateCameraConfigChecksValues) {
  CameraConfig cam;
  cam.id = "cam1";
  cam.url = "rtsp://h/x";
  EXPECT_TRUE(ValidateCameraConfig(cam).ok());
  cam.ingest.detect_width = 321;
  EXPECT_EQ(ValidateCameraConfig(cam).message(),
            "camera cam1: detect_width: must be even, got 321");
  cam.ingest.detect_width = 320;
  cam.motion.masks = {{{0, 0}, {1, 0}}};
  EXPECT_EQ(ValidateCameraConfig(cam).message(),
            "camera cam1: motion.masks[0]: a mask polygon needs at least 3 points, got 2");
  cam.motion.masks.clear();
  cam.motion.threshold = 0;
  EXPECT_EQ(ValidateCameraConfig(cam).message(),
            "camera cam1: motion.threshold: must be in [1, 254], got 0");
  cam.motion.threshold = 25;
  cam.url = "http://h/x";
  EXPECT_EQ(ValidateCameraConfig(cam).code(), StatusCode::kInvalidArgument);
}

TEST(ConfigTest, RecordsSectionIsParsedAndChecked) {
  auto r = ParseConfig(
      "records: {enabled: false, path: /tmp/r.db, retention_days: 7, max_records: 1000, "
      "max_queued: 50}\n",
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->records.enabled);
  EXPECT_EQ(r->records.path, "/tmp/r.db");
  EXPECT_DOUBLE_EQ(r->records.retention_days, 7);
  EXPECT_EQ(r->records.max_records, 1000);
  EXPECT_EQ(r->records.max_queued, 50);
  EXPECT_FALSE(r->records == RecordsConfig{});
  EXPECT_EQ(ErrorOf("records: {retention_days: -1}\n"),
            "t.yaml:1:27: records.retention_days: must be in 0..36500 (0: no age limit), got -1");
}

TEST(ConfigTest, JournalFsyncAndClientRolesAreParsedIntoEnums) {
  Result<Config> r = ParseConfig(
      "journal: {dir: /tmp/j, fsync: every}\n"
      "security:\n"
      "  clients:\n"
      "    - {name: ops, public_key: 'v2H+jR%S%$(&07JyxyT*kEx7n*ec}FT/{z)ftB?=', role: admin}\n"
      "    - {name: wall, public_key: 'guP7&vBr4C*&5q&egm}k%0yq5krlqkJPD2Gy+MPi'}\n",
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->journal.fsync, FsyncPolicy::kEvery);
  ASSERT_EQ(r->security.clients.size(), 2u);
  EXPECT_EQ(r->security.clients[0].role, Role::kAdmin);
  EXPECT_EQ(r->security.clients[1].role, Role::kRead);  // the default
  EXPECT_EQ(ErrorOf("journal: {fsync: sometimes}\n"),
            "t.yaml:1:18: journal.fsync: must be none, interval or every, got 'sometimes'");
  const std::string client = "security: {clients: [{name: a, public_key: '";
  EXPECT_EQ(ErrorOf(client + "v2H+jR%S%$(&07JyxyT*kEx7n*ec}FT/{z)ftB?=', role: root}]}\n"),
            "t.yaml:1:94: security.clients[0].role: must be read or admin, got 'root'");
  EXPECT_EQ(ErrorOf(client + "short'}]}\n"),
            "t.yaml:1:44: security.clients[0].public_key: must be 40 characters of Z85 text, "
            "got 5");
  // 40 characters of the alphabet, but "#####" is more than 32 bits: not a key.
  EXPECT_EQ(ErrorOf(client + "#####R%S%$(&07JyxyT*kEx7n*ec}FT/{z)ftB?='}]}\n"),
            "t.yaml:1:44: security.clients[0].public_key: is not Z85 text");
}

// --- vehicles: ---------------------------------------------------------------------------------

TEST(ConfigVehiclesTest, ExampleShowsTheDefaultsAndTheGeometry) {
  setenv("SKYNET_NORTH_APPROACH_PASSWORD", "s3cret", 1);
  Result<Config> r = LoadConfigFile(ExampleConfigPath().string());
  unsetenv("SKYNET_NORTH_APPROACH_PASSWORD");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Camera 1 spells out every vehicles key with its default (model_path aside).
  EXPECT_TRUE(r->cameras.at(0).vehicles == VehiclesConfig{});
  EXPECT_FALSE(r->cameras.at(0).vehicles.enabled);
  // Camera 3 shows calibration, lines, zones and lanes.
  const VehiclesConfig& v = r->cameras.at(2).vehicles;
  EXPECT_TRUE(v.enabled);
  EXPECT_EQ(v.backend, analytics::DetectorBackend::kClassical);
  ASSERT_TRUE(v.analytics.calibration.has_value());
  EXPECT_FLOAT_EQ(v.analytics.calibration->image_points[2].x, 0.85f);
  EXPECT_FLOAT_EQ(v.analytics.calibration->ground_points[1].y, 20.f);
  const analytics::TrafficRulesOptions& rules = v.analytics.rules;
  ASSERT_EQ(rules.lines.size(), 1u);
  EXPECT_EQ(rules.lines[0].id, "stop-line");
  EXPECT_EQ(rules.lines[0].count, analytics::LineDirection::kBoth);
  ASSERT_EQ(rules.zones.size(), 1u);
  EXPECT_TRUE(rules.zones[0].no_parking);
  EXPECT_EQ(rules.zones[0].polygon.size(), 4u);
  ASSERT_EQ(rules.lanes.size(), 1u);
  EXPECT_FLOAT_EQ(rules.lanes[0].direction.y, -1.f);
  EXPECT_FLOAT_EQ(rules.lanes[0].speed_limit_kmh, 50.f);
}

TEST(ConfigVehiclesTest, DisabledByDefault) {
  Result<Config> r = ParseConfig(OneCamera(""), "t.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->cameras[0].vehicles.enabled);
  EXPECT_EQ(r->cameras[0].vehicles.backend, analytics::DetectorBackend::kClassical);
}

TEST(ConfigVehiclesTest, ParsesBackendDetectorTrackerAndRules) {
  TempDir dir;
  fs::path model = dir.Write("m.onnx", "x");
  const std::string yaml = OneCamera(
      "    vehicles:\n"
      "      enabled: true\n"
      "      backend: dnn\n"
      "      detector: {model_path: m.onnx, format: yolov8, input_size: 320,\n"
      "                 score_threshold: 0.4, detect_fps: 2.5}\n"
      "      tracker:\n"
      "        confirm_hits: 2\n"
      "        classes:\n"
      "          truck: {max_coast_ms: 3000}\n"
      "      rules:\n"
      "        lines: [{id: l1, a: [0, 0.5], b: [1, 0.5], count: forward}]\n"
      "        stats_interval_ms: 30000\n");
  Result<Config> r = ParseConfig(yaml, (dir.path() / "skynetd.yaml").string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const VehiclesConfig& v = r->cameras[0].vehicles;
  EXPECT_EQ(v.backend, analytics::DetectorBackend::kDnn);
  EXPECT_EQ(v.detector.model_path, model.string());  // relative to the config file
  EXPECT_EQ(v.detector.format, analytics::DnnFormat::kYoloV8);
  EXPECT_EQ(v.detector.input_size, 320);
  EXPECT_FLOAT_EQ(v.detector.score_threshold, 0.4f);
  EXPECT_DOUBLE_EQ(v.detector.detect_fps, 2.5);
  EXPECT_EQ(v.analytics.tracker.defaults.confirm_hits, 2);
  // A class entry starts from the general values, then overrides.
  const analytics::TrackerClassParams& truck =
      v.analytics.tracker.per_class.at(analytics::ObjectClass::kTruck);
  EXPECT_EQ(truck.confirm_hits, 2);
  EXPECT_EQ(truck.max_coast_ms, 3000);
  ASSERT_EQ(v.analytics.rules.lines.size(), 1u);
  EXPECT_EQ(v.analytics.rules.lines[0].count, analytics::LineDirection::kForward);
  EXPECT_EQ(v.analytics.rules.stats_interval_ms, 30000);
  EXPECT_TRUE(ValidateCameraConfig(r->cameras[0]).ok());
}

TEST(ConfigVehiclesTest, ErrorsNameThePlace) {
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n      backend: yolo\n")),
            "t.yaml:5:16: cameras[0].vehicles.backend: must be classical or dnn, got 'yolo'");
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n      enabeld: true\n")),
            "t.yaml:5:7: cameras[0].vehicles.enabeld: unknown key (did you mean 'enabled'?)");
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n      backend: dnn\n")),
            "t.yaml:5:16: cameras[0].vehicles.detector.model_path: backend dnn needs a model file");
  // Judged by the analytics' validation, placed at the key it names.
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n"
                              "      rules:\n"
                              "        zones:\n"
                              "          - {id: z, polygon: [[0, 0], [1, 0], [0.5, 0.5]]}\n"
                              "          - {id: y, polygon: [[0, 0], [1, 0]]}\n")),
            "t.yaml:8:30: cameras[0].vehicles.rules.zones[1].polygon: needs at least 3 points");
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n      tracker:\n        min_iou: 2\n")),
            "t.yaml:6:18: cameras[0].vehicles.tracker.min_iou: must be in (0, 1)");
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n      classical: {threshold: 1}\n")),
            "t.yaml:5:30: cameras[0].vehicles.classical.threshold: must be in [3, 765]");
  // Shapes: a point outside the frame, three calibration points.
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n"
                              "      rules: {lines: [{id: l, a: [0, 1.5], b: [1, 0.5]}]}\n")),
            "t.yaml:5:38: cameras[0].vehicles.rules.lines[0].a[1]: must be in [0, 1], got 1.5");
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n"
                              "      calibration:\n"
                              "        image_points: [[0, 0], [1, 0], [1, 1]]\n"
                              "        ground_points: [[0, 0], [1, 0], [1, 1], [0, 1]]\n")),
            "t.yaml:6:23: cameras[0].vehicles.calibration.image_points: expected a list of 4 "
            "points [x, y], got a list");
  EXPECT_EQ(ErrorOf(OneCamera("    vehicles:\n"
                              "      tracker: {classes: {plane: {max_coast_ms: 3}}}\n")),
            "t.yaml:5:27: cameras[0].vehicles.tracker.classes.plane: unknown class (expected "
            "car, bus, truck, motorcycle, bicycle or person)");
}

TEST(ConfigVehiclesTest, ValidateCameraConfigChecksVehicles) {
  CameraConfig cam;
  cam.id = "cam1";
  cam.url = "rtsp://10.0.0.1/s";
  cam.vehicles.enabled = true;
  EXPECT_TRUE(ValidateCameraConfig(cam).ok());
  cam.vehicles.analytics.rules.lines.push_back({"l", {0.1f, 0.5f}, {0.1f, 0.5f}});
  EXPECT_EQ(ValidateCameraConfig(cam).message(),
            "camera cam1: vehicles.rules.lines[0]: a and b coincide");
}

TEST(ConfigVehiclesTest, EqualityNoticesEveryPart) {
  VehiclesConfig a, b;
  EXPECT_TRUE(a == b);
  b.analytics.rules.zones.push_back({"z", {{0, 0}, {1, 0}, {1, 1}}});
  EXPECT_FALSE(a == b);
  b = a;
  b.analytics.calibration = analytics::CalibrationConfig{};
  EXPECT_FALSE(a == b);
  b = a;
  b.analytics.tracker.per_class[analytics::ObjectClass::kCar].max_coast_ms = 3;
  EXPECT_FALSE(a == b);
  b = a;
  b.detector.detect_fps = 1;
  EXPECT_FALSE(a == b);
  b = a;
  b.classical.shadow_suppression = false;
  EXPECT_FALSE(a == b);
  b = a;
  b.analytics.tracker.split_merged = false;  // once missing from a hand-written comparison
  EXPECT_FALSE(a == b);
  CameraConfig c1, c2;
  c2.vehicles.enabled = true;
  EXPECT_FALSE(c1 == c2);
}

// --- every option field is parsed, documented and compared -------------------------------------
//
// One row per field of the option structs a camera embeds: its key path in a camera entry and a
// valid value other than the default. For each row the test parses a camera with that value and
// asserts that the result differs from the camera without it (so the key is read and operator==
// sees it), and that the key appears in config/skynetd.example.yaml. A static_assert per struct
// counts its fields, so a new field without a row fails the build.

namespace fields {

// The number of fields of an aggregate: the most initialisers `T{...}` accepts.
struct AnyField {
  template <typename T>
  operator T() const;
};
template <typename T, typename... A>
constexpr size_t Count() {
  if constexpr (requires { T{A{}..., AnyField{}}; }) {
    return Count<T, A..., AnyField>();
  } else {
    return sizeof...(A);
  }
}

// A key path inside a camera entry and a YAML value. "x[]" in a path is a list of one mapping.
struct Row {
  const char* path;
  const char* value;
};
using Assignments = std::map<std::string, std::string>;  // key path -> YAML value

constexpr Row kIngest[] = {
    {"analytics", "health"},     {"analytics_fps", "7"},      {"detect_width", "640"},      {"rtsp_transport", "udp"},
    {"file_realtime", "false"},  {"file_loop", "false"},       {"connect_timeout_ms", "2000"},
    {"stall_timeout_ms", "800"}, {"backoff_initial_ms", "50"}, {"backoff_max_ms", "4000"},
};
static_assert(std::size(kIngest) == Count<ingest::IngestOptions>());

constexpr Row kMotion[] = {
    {"motion.threshold", "40"},
    {"motion.min_region_area", "0.01"},
    {"motion.start_frames", "5"},
    {"motion.end_quiet_ms", "500"},
    {"motion.update_interval_ms", "250"},
    {"motion.masks", "[[[0, 0], [1, 0], [1, 1]]]"},
    {"motion.background_adapt_ms", "7000"},
    {"motion.foreground_adapt_ms", "90000"},
    {"motion.max_brightness_step", "0"},
    {"motion.global_change_fraction", "0.7"},
    {"motion.dilate_px", "3"},
    {"motion.max_regions", "8"},
    {"motion.shake_compensation", "false"},
    {"motion.min_shake_px", "1"},
    {"motion.max_shake_px", "4"},
    {"motion.auto_contrast", "false"},
    {"motion.contrast_reference_range", "60"},
    {"motion.night_brightness", "30"},
    {"motion.night_threshold", "45"},
    {"motion.night_min_region_area", "0.004"},
};
static_assert(std::size(kMotion) == Count<analytics::MotionOptions>());

// VehiclesConfig: enabled, backend, and the classical, detector and analytics tables below.
// CameraConfig's place: position and neighbours (the base file has cameras cam2 and cam3).
constexpr Row kPlace[] = {
    {"position.lat", "31.5"},
    {"position.lon", "121.5"},
    {"position.bearing_deg", "90"},
    {"neighbours[].camera", "cam3"},
    {"neighbours[].travel_s", "40"},
};
static_assert(std::size(kPlace) == Count<GeoPosition>() + Count<CameraNeighbour>());

constexpr Row kVehicles[] = {
    {"vehicles.enabled", "true"}, {"vehicles.backend", "dnn"}, {"vehicles.snapshot_frames", "2"}};
static_assert(std::size(kVehicles) + 3 == Count<VehiclesConfig>());

constexpr Row kClassical[] = {
    {"vehicles.classical.threshold", "60"},
    {"vehicles.classical.background_adapt_ms", "6000"},
    {"vehicles.classical.foreground_adapt_ms", "70000"},
    {"vehicles.classical.require_motion_support", "false"},
    {"vehicles.classical.shadow_suppression", "false"},
    {"vehicles.classical.shadow_min_ratio", "0.5"},
    {"vehicles.classical.shadow_max_ratio", "0.9"},
    {"vehicles.classical.shadow_chroma_tolerance", "0.1"},
    {"vehicles.classical.shadow_texture_tolerance", "0.3"},
    {"vehicles.classical.close_px", "3"},
    {"vehicles.classical.min_blob_area", "0.001"},
    {"vehicles.classical.split_core_ratio", "0.4"},
    {"vehicles.classical.merge_gap_px", "5"},
    {"vehicles.classical.merge_max_fragment", "0.3"},
    {"vehicles.classical.close_m", "0.4"},
    {"vehicles.classical.min_blob_area_m2", "0.6"},
    {"vehicles.classical.merge_gap_m", "0.8"},
    {"vehicles.classical.max_vehicle_width_m", "3.2"},
    {"vehicles.classical.max_vehicle_height_m", "4.2"},
    {"vehicles.classical.max_distance_m", "150"},
    {"vehicles.classical.person_max_width_m", "1.5"},
    {"vehicles.classical.person_min_aspect", "1.3"},
    {"vehicles.classical.two_wheeler_max_width_m", "1.1"},
    {"vehicles.classical.large_min_width_m", "8"},
    {"vehicles.classical.large_min_height_m", "3"},
    {"vehicles.classical.min_object_m", "0.4"},
    {"vehicles.classical.person_max_area", "0.03"},
    {"vehicles.classical.person_min_aspect_uncalibrated", "1.6"},
    {"vehicles.classical.large_min_area", "0.09"},
};
static_assert(std::size(kClassical) == Count<analytics::ClassicalDetectorOptions>());

// DnnDetectorOptions::class_map is the model's class table (COCO), not a config key.
constexpr Row kDetector[] = {
    {"vehicles.detector.model_path", "m.onnx"},
    {"vehicles.detector.format", "yolov8"},
    {"vehicles.detector.input_size", "320"},
    {"vehicles.detector.score_threshold", "0.4"},
    {"vehicles.detector.nms_iou", "0.6"},
    {"vehicles.detector.class_aware_nms", "false"},
    {"vehicles.detector.preprocess", "rgb255"},
    {"vehicles.detector.motion_gated", "false"},
    {"vehicles.detector.crop_padding", "0.3"},
    {"vehicles.detector.min_crop_size", "128"},
    {"vehicles.detector.max_crops", "3"},
    {"vehicles.detector.batch_crops", "false"},
    {"vehicles.detector.full_frame_fraction", "0.7"},
    {"vehicles.detector.detect_fps", "2.5"},
    {"vehicles.detector.num_classes", "10"},
};
static_assert(std::size(kDetector) + 1 == Count<analytics::DnnDetectorOptions>());

// VehicleAnalyticsOptions: these, and the tracker and rules tables.
constexpr Row kAnalytics[] = {
    {"vehicles.calibration.image_points", "[[0.3, 0.3], [0.6, 0.3], [0.85, 0.95], [0.15, 0.95]]"},
    {"vehicles.snapshot_improvement", "2"},
    {"vehicles.snapshot_update_interval_ms", "1000"},
    {"vehicles.colour_every_frames", "3"},
};
// + tracker, rules, and motion_masks (not a vehicles key: VehiclePipeline::Create copies the
// camera's motion.masks).
static_assert(std::size(kAnalytics) + 3 == Count<analytics::VehicleAnalyticsOptions>());

constexpr Row kCalibration[] = {
    {"vehicles.calibration.image_points", "[[0.3, 0.3], [0.6, 0.3], [0.85, 0.95], [0.15, 0.95]]"},
    {"vehicles.calibration.ground_points", "[[0, 30], [3.5, 30], [3.5, 0], [0, 0]]"},
};
static_assert(std::size(kCalibration) == Count<analytics::CalibrationConfig>());

// TrackerOptions: `defaults` is the kClassParams table (its keys sit in `tracker:` itself).
constexpr Row kTracker[] = {
    {"vehicles.tracker.classes", "{car: {max_coast_ms: 600}}"},
    {"vehicles.tracker.min_iou", "0.1"},
    {"vehicles.tracker.max_centre_distance", "0.5"},
    {"vehicles.tracker.class_mismatch_cost", "0.4"},
    {"vehicles.tracker.stationary_after_ms", "2000"},
    {"vehicles.tracker.stationary_radius", "0.3"},
    {"vehicles.tracker.trajectory_points", "16"},
    {"vehicles.tracker.speed_window_ms", "500"},
    {"vehicles.tracker.measurement_noise", "0.1"},
    {"vehicles.tracker.split_merged", "false"},
};
static_assert(std::size(kTracker) + 1 == Count<analytics::TrackerOptions>());

constexpr Row kClassParams[] = {
    {"vehicles.tracker.confirm_hits", "2"},
    {"vehicles.tracker.max_coast_ms", "1000"},
    {"vehicles.tracker.max_coast_stationary_ms", "60000"},
    {"vehicles.tracker.accel_noise", "3"},
};
static_assert(std::size(kClassParams) == Count<analytics::TrackerClassParams>());

constexpr Row kRules[] = {
    {"vehicles.rules.speed_limit_kmh", "50"},
    {"vehicles.rules.speeding_frames", "4"},
    {"vehicles.rules.wrong_way_frames", "8"},
    {"vehicles.rules.wrong_way_min_distance_m", "4"},
    {"vehicles.rules.wrong_way_min_distance", "0.1"},
    {"vehicles.rules.wrong_way_cos", "0.6"},
    {"vehicles.rules.min_moving_speed", "0.4"},
    {"vehicles.rules.stats_interval_ms", "30000"},
    {"vehicles.rules.lines", "[{id: l, a: [0, 0.5], b: [1, 0.5]}]"},
    {"vehicles.rules.zones", "[{id: z, polygon: [[0, 0], [1, 0], [1, 1]]}]"},
    {"vehicles.rules.lanes", "[{id: n, polygon: [[0, 0], [1, 0], [1, 1]]}]"},
};
static_assert(std::size(kRules) == Count<analytics::TrafficRulesOptions>());

// Items of the rule lists: each row changes one key of a valid item (the base).
constexpr Row kLine[] = {
    {"vehicles.rules.lines[].id", "m"},
    {"vehicles.rules.lines[].a", "[0, 0.4]"},
    {"vehicles.rules.lines[].b", "[1, 0.4]"},
    {"vehicles.rules.lines[].count", "forward"},
};
static_assert(std::size(kLine) == Count<analytics::CountingLine>());
constexpr Row kZone[] = {
    {"vehicles.rules.zones[].id", "y"},
    {"vehicles.rules.zones[].polygon", "[[0, 0], [0.5, 0], [0.5, 0.5]]"},
    {"vehicles.rules.zones[].no_parking", "true"},
    {"vehicles.rules.zones[].max_stop_ms", "30000"},
};
static_assert(std::size(kZone) == Count<analytics::Zone>());
constexpr Row kLane[] = {
    {"vehicles.rules.lanes[].id", "s"},
    {"vehicles.rules.lanes[].polygon", "[[0, 0], [0.5, 0], [0.5, 0.5]]"},
    {"vehicles.rules.lanes[].direction", "[0, -1]"},
    {"vehicles.rules.lanes[].speed_limit_kmh", "30"},
};
static_assert(std::size(kLane) == Count<analytics::Lane>());

// What a row needs besides itself to be valid (and compared with): the other half of the
// calibration, a model for the dnn backend, the other keys of a rule item.
Assignments BaseFor(const std::string& path) {
  auto starts = [&](const char* prefix) { return path.rfind(prefix, 0) == 0; };
  if (starts("vehicles.calibration.")) {
    return {{"vehicles.calibration.image_points",
             "[[0.4, 0.3], [0.6, 0.3], [0.85, 0.95], [0.15, 0.95]]"},
            {"vehicles.calibration.ground_points", "[[0, 20], [3.5, 20], [3.5, 0], [0, 0]]"}};
  }
  if (path == "vehicles.backend") return {{"vehicles.detector.model_path", "m.onnx"}};
  if (starts("position.")) return {{"position.lat", "31"}, {"position.lon", "121"}};
  if (starts("neighbours[].")) {
    return {{"neighbours[].camera", "cam2"}, {"neighbours[].travel_s", "30"}};
  }
  if (starts("vehicles.rules.lines[].")) {
    return {{"vehicles.rules.lines[].id", "l"},
            {"vehicles.rules.lines[].a", "[0, 0.5]"},
            {"vehicles.rules.lines[].b", "[1, 0.5]"}};
  }
  for (std::string list : {"vehicles.rules.zones[]", "vehicles.rules.lanes[]"}) {
    if (starts(list.c_str())) {
      return {{list + ".id", "k"}, {list + ".polygon", "[[0, 0], [1, 0], [1, 1]]"}};
    }
  }
  return {};
}

// A camera entry in flow style from key paths: {"a.b": "1", "a.c": "2"} -> {a: {b: 1, c: 2}}.
std::string CameraYaml(const Assignments& keys) {
  struct Tree {
    std::map<std::string, Tree> kids;
    std::string value;
  };
  Tree root;
  for (const auto& [path, value] : keys) {
    Tree* t = &root;
    for (size_t i = 0;;) {
      const size_t dot = path.find('.', i);
      t = &t->kids[path.substr(i, dot == std::string::npos ? dot : dot - i)];
      if (dot == std::string::npos) break;
      i = dot + 1;
    }
    t->value = value;
  }
  std::function<std::string(const Tree&)> emit = [&](const Tree& t) {
    if (t.kids.empty()) return t.value;
    std::string out;
    for (const auto& [key, kid] : t.kids) {
      const bool list = key.size() > 2 && key.compare(key.size() - 2, 2, "[]") == 0;
      out += (out.empty() ? "{" : ", ") + (list ? key.substr(0, key.size() - 2) : key) + ": " +
             (list ? "[" + emit(kid) + "]" : emit(kid));
    }
    return out + "}";
  };
  root.kids["id"].value = "cam1";
  root.kids["url"].value = "rtsp://10.0.0.1/stream";
  return "cameras:\n  - " + emit(root) +
         "\n  - {id: cam2, url: rtsp://10.0.0.2/s}\n  - {id: cam3, url: rtsp://10.0.0.3/s}\n";
}

// Whether the key path appears under some camera of the example (any item of a list).
bool Documented(const YAML::Node& node, const std::string& path) {
  if (path.empty()) return true;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      if (Documented(item, path)) return true;
    }
    return false;
  }
  if (!node.IsMap()) return false;
  const size_t dot = path.find('.');
  std::string key = path.substr(0, dot);
  if (key.size() > 2 && key.compare(key.size() - 2, 2, "[]") == 0) key.resize(key.size() - 2);
  const YAML::Node child = node[key];
  return child && Documented(child, dot == std::string::npos ? "" : path.substr(dot + 1));
}

}  // namespace fields

TEST(ConfigFieldsTest, EveryOptionFieldIsParsedComparedAndDocumented) {
  std::ifstream in(ExampleConfigPath());
  const std::string example_text((std::istreambuf_iterator<char>(in)), {});
  const YAML::Node example = YAML::Load(example_text);
  std::vector<fields::Row> rows;
  for (const auto& table :
       {std::vector<fields::Row>(std::begin(fields::kIngest), std::end(fields::kIngest)),
        {std::begin(fields::kPlace), std::end(fields::kPlace)},
        {std::begin(fields::kMotion), std::end(fields::kMotion)},
        {std::begin(fields::kVehicles), std::end(fields::kVehicles)},
        {std::begin(fields::kClassical), std::end(fields::kClassical)},
        {std::begin(fields::kDetector), std::end(fields::kDetector)},
        {std::begin(fields::kAnalytics), std::end(fields::kAnalytics)},
        {std::begin(fields::kCalibration), std::end(fields::kCalibration)},
        {std::begin(fields::kTracker), std::end(fields::kTracker)},
        {std::begin(fields::kClassParams), std::end(fields::kClassParams)},
        {std::begin(fields::kRules), std::end(fields::kRules)},
        {std::begin(fields::kLine), std::end(fields::kLine)},
        {std::begin(fields::kZone), std::end(fields::kZone)},
        {std::begin(fields::kLane), std::end(fields::kLane)}}) {
    rows.insert(rows.end(), table.begin(), table.end());
  }
  for (const fields::Row& row : rows) {
    SCOPED_TRACE(row.path);
    fields::Assignments keys = fields::BaseFor(row.path);
    Result<Config> base = ParseConfig(fields::CameraYaml(keys), "t.yaml");
    ASSERT_TRUE(base.ok()) << base.status().ToString();
    keys[row.path] = row.value;
    Result<Config> changed = ParseConfig(fields::CameraYaml(keys), "t.yaml");
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    EXPECT_FALSE(changed->cameras.at(0) == base->cameras.at(0)) << "not read or not compared";
    // model_path has no default, so the example (whose first camera shows the defaults) gives
    // it in a comment.
    const bool commented = std::string_view(row.path) == "vehicles.detector.model_path";
    EXPECT_TRUE(commented ? example_text.find("# model_path: ") != std::string::npos
                          : fields::Documented(example["cameras"], row.path))
        << "not in config/skynetd.example.yaml";
  }
}

// The evidence section (issue 16 item 2): every key is read into its field, compared, and
// documented in the example config.
TEST(ConfigFieldsTest, EveryEvidenceFieldIsParsedComparedAndDocumented) {
  constexpr fields::Row kEvidence[] = {
      {"path", "/tmp/evidence"},       {"max_bytes", "1000"},   {"max_bytes_per_camera", "500"},
      {"retention_days", "2"},         {"pre_roll_s", "3"},     {"post_roll_s", "4"},
      {"clip_on", "[motion_start]"},   {"ring_max_bytes", "2097152"},
      {"record_cameras", "[cam1]"},    {"segment_s", "60"},
  };
  // clip_on fills two fields.
  static_assert(std::size(kEvidence) + 1 == fields::Count<EvidenceConfig>());
  std::ifstream in(ExampleConfigPath());
  const YAML::Node example = YAML::Load(std::string((std::istreambuf_iterator<char>(in)), {}));
  for (const fields::Row& row : kEvidence) {
    SCOPED_TRACE(row.path);
    Result<Config> changed =
        ParseConfig(std::string("evidence: {") + row.path + ": " + row.value + "}\n", "t.yaml");
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    EXPECT_FALSE(changed->evidence == EvidenceConfig{}) << "not read or not compared";
    EXPECT_TRUE(example["evidence"][row.path]) << "not in config/skynetd.example.yaml";
  }
  Result<Config> both = ParseConfig("evidence: {clip_on: [vehicle_rules, motion_start]}\n", "t.yaml");
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->evidence.clip_on_vehicle_rules && both->evidence.clip_on_motion_start);
  Result<Config> none = ParseConfig("evidence: {clip_on: []}\n", "t.yaml");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->evidence.clip_on_vehicle_rules || none->evidence.clip_on_motion_start);
  EXPECT_EQ(ErrorOf("evidence: {clip_on: [motion]}\n"),
            "t.yaml:1:22: evidence.clip_on[0]: must be vehicle_rules or motion_start, got 'motion'");
  EXPECT_EQ(ErrorOf("evidence: {pre_roll_s: -1}\n"),
            "t.yaml:1:24: evidence.pre_roll_s: must be in 0..300 seconds, got -1");
}

}  // namespace
}  // namespace skynet::daemon
