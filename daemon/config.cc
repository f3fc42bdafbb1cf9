#include "daemon/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <tuple>
#include <utility>

namespace skynet::daemon {
namespace {

// ---------------------------------------------------------------------------------------------
// Value checks shared by the YAML parser and ValidateCameraConfig(). Each returns an empty
// string when the value is fine, else the message without the place (the caller adds it).

std::string FormatNumber(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string CheckId(const std::string& id) {
  if (id.empty()) return "must not be empty";
  if (id.size() > 64) return "must be at most 64 characters, got " + std::to_string(id.size());
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return "'" + id + "' may contain only letters, digits, '.', '_' and '-'";
  }
  return "";
}

std::string CheckCameraUrl(const std::string& url) {
  static constexpr std::string_view kSchemes[] = {"rtsp://", "rtsps://", "file://"};
  for (std::string_view scheme : kSchemes) {
    if (url.rfind(scheme, 0) == 0) {
      if (url.size() == scheme.size()) return "has nothing after " + std::string(scheme);
      return "";
    }
  }
  return "must be rtsp://, rtsps:// or file://";
}

std::string CheckEndpoint(const std::string& endpoint) {
  static constexpr std::string_view kSchemes[] = {"tcp://", "ipc://", "inproc://"};
  for (std::string_view scheme : kSchemes) {
    if (endpoint.rfind(scheme, 0) == 0) {
      if (endpoint.size() == scheme.size()) return "has nothing after " + std::string(scheme);
      return "";
    }
  }
  return "must be tcp://, ipc:// or inproc://, got '" + endpoint + "'";
}

std::string CheckLogLevel(const std::string& level) {
  static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  for (std::string_view l : kLevels) {
    if (level == l) return "";
  }
  return "must be one of trace, debug, info, warn, error, critical, off; got '" + level + "'";
}

std::string CheckIntRange(long long v, long long lo, long long hi) {
  if (v < lo || v > hi) {
    return "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
           std::to_string(v);
  }
  return "";
}

// Inclusive integer ranges, shared by the parser and ValidateCameraConfig().
struct Range {
  long long lo, hi;
};
constexpr Range kHeartbeatMs{10, 60'000};
constexpr Range kWorkers{0, 256};
constexpr Range kDetectWidth{64, 1920};
constexpr Range kConnectTimeoutMs{500, 600'000};
constexpr Range kStallTimeoutMs{200, 600'000};
constexpr Range kBackoffMs{10, 3'600'000};

std::string CheckIntRange(long long v, Range r) { return CheckIntRange(v, r.lo, r.hi); }

constexpr Range kReplayRate{1, 10'000'000};
constexpr Range kJournalBytes{1 << 20, int64_t{1} << 50};
constexpr Range kSegmentBytes{64 << 10, int64_t{1} << 30};
constexpr Range kStartBurst{1, 100'000};

std::string CheckStartRate(double v) {
  if (!(v >= 0 && v <= 100'000)) return "must be in 0..100000 (0: no limit), got " + FormatNumber(v);
  return "";
}

std::string CheckFsync(const std::string& v) {
  if (v == "none" || v == "interval" || v == "every") return "";
  return "must be none, interval or every, got '" + v + "'";
}

std::string CheckAgeHours(double v) {
  if (!(v >= 0 && v <= 87600)) return "must be in 0..87600 (0: no age limit), got " + FormatNumber(v);
  return "";
}

std::string CheckRole(const std::string& v) {
  if (v == "read" || v == "admin") return "";
  return "must be read or admin, got '" + v + "'";
}

// A CurveZMQ public key in Z85 text: 40 characters of the Z85 alphabet.
std::string CheckZ85Key(const std::string& v) {
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (v.size() != 40) return "must be 40 characters of Z85 text, got " + std::to_string(v.size());
  for (char c : v) {
    if (kZ85.find(c) == std::string_view::npos) return "is not Z85 text";
  }
  return "";
}

std::string CheckFps(double fps) {
  if (!(fps > 0 && fps <= 60)) return "must be > 0 and <= 60, got " + FormatNumber(fps);
  return "";
}

std::string CheckDetectWidth(long long w) {
  if (std::string m = CheckIntRange(w, kDetectWidth); !m.empty()) return m;
  if (w % 2 != 0) return "must be even, got " + std::to_string(w);
  return "";
}

std::string CheckBackoff(int initial_ms, int max_ms) {
  if (max_ms < initial_ms) {
    return "must be at least backoff_initial_ms (" + std::to_string(initial_ms) + "), got " +
           std::to_string(max_ms);
  }
  return "";
}

std::string CheckTransport(const std::string& t) {
  if (t == "tcp" || t == "udp") return "";
  return "must be tcp or udp, got '" + t + "'";
}

std::string CheckFraction(double v) {
  if (!(v >= 0 && v <= 1)) return "must be in [0, 1], got " + FormatNumber(v);
  return "";
}

std::string CheckVehicleBackend(const std::string& b) {
  if (b == "classical" || b == "dnn") return "";
  return "must be classical or dnn, got '" + b + "'";
}

std::string CheckDetectFps(double fps) {
  if (!(fps >= 0 && fps <= 240)) {
    return "must be in [0, 240] (0: every frame), got " + FormatNumber(fps);
  }
  return "";
}

// The values of a `vehicles:` section, judged by the analytics' own Validate*() functions.
// Messages start with the key path inside `vehicles:` ("rules.zones[1].polygon: ...").
Status ValidateVehicles(const VehiclesConfig& v) {
  if (std::string m = CheckVehicleBackend(v.backend); !m.empty()) {
    return Status::InvalidArgument("backend: " + m);
  }
  if (Status st = analytics::ValidateClassicalDetectorOptions(v.classical); !st.ok()) {
    // Its messages already start with "classical.".
    return st;
  }
  SKYNET_RETURN_IF_ERROR(analytics::ValidateVehicleAnalyticsOptions(v.analytics));
  const analytics::DnnDetectorOptions& d = v.detector;
  if (!(d.score_threshold > 0.f && d.score_threshold <= 1.f)) {
    return Status::InvalidArgument("detector.score_threshold: must be in (0, 1]");
  }
  if (!(d.nms_iou > 0.f && d.nms_iou <= 1.f)) {
    return Status::InvalidArgument("detector.nms_iou: must be in (0, 1]");
  }
  if (!(d.crop_padding >= 0.f)) return Status::InvalidArgument("detector.crop_padding: negative");
  if (!(d.full_frame_fraction > 0.f)) {
    return Status::InvalidArgument("detector.full_frame_fraction: must be > 0 (above 1: never)");
  }
  if (std::string m = CheckDetectFps(d.detect_fps); !m.empty()) {
    return Status::InvalidArgument("detector.detect_fps: " + m);
  }
  if (v.backend == "dnn" && d.model_path.empty()) {
    return Status::InvalidArgument("detector.model_path: backend dnn needs a model file");
  }
  return Status::Ok();
}

// Field-by-field equality of the analytics option structs inside VehiclesConfig (they have no
// operator== of their own). The static_asserts notice new fields in the stable ones.
bool SameClassParams(const analytics::TrackerClassParams& a,
                     const analytics::TrackerClassParams& b) {
  return std::tie(a.confirm_hits, a.max_misses, a.max_misses_stationary, a.accel_noise) ==
         std::tie(b.confirm_hits, b.max_misses, b.max_misses_stationary, b.accel_noise);
}

bool SameTracker(const analytics::TrackerOptions& a, const analytics::TrackerOptions& b) {
  if (!SameClassParams(a.defaults, b.defaults) || a.per_class.size() != b.per_class.size()) {
    return false;
  }
  for (auto ia = a.per_class.begin(), ib = b.per_class.begin(); ia != a.per_class.end();
       ++ia, ++ib) {
    if (ia->first != ib->first || !SameClassParams(ia->second, ib->second)) return false;
  }
  auto f = [](const analytics::TrackerOptions& t) {
    return std::tie(t.min_iou, t.max_centre_distance, t.class_mismatch_cost,
                    t.stationary_after_ms, t.stationary_radius, t.trajectory_points,
                    t.speed_window_ms, t.measurement_noise);
  };
  return f(a) == f(b);
}

bool SameRules(const analytics::TrafficRulesOptions& a, const analytics::TrafficRulesOptions& b) {
  auto line = [](const analytics::CountingLine& l) { return std::tie(l.id, l.a, l.b, l.count); };
  auto zone = [](const analytics::Zone& z) {
    return std::tie(z.id, z.polygon, z.no_parking, z.max_stop_ms);
  };
  auto lane = [](const analytics::Lane& l) {
    return std::tie(l.id, l.polygon, l.direction, l.speed_limit_kmh);
  };
  auto same_list = [](const auto& x, const auto& y, auto key) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (key(x[i]) != key(y[i])) return false;
    }
    return true;
  };
  auto f = [](const analytics::TrafficRulesOptions& r) {
    return std::tie(r.speed_limit_kmh, r.speeding_frames, r.wrong_way_frames,
                    r.wrong_way_min_distance_m, r.wrong_way_min_distance, r.wrong_way_cos,
                    r.min_moving_speed, r.stats_interval_ms);
  };
  return same_list(a.lines, b.lines, line) && same_list(a.zones, b.zones, zone) &&
         same_list(a.lanes, b.lanes, lane) && f(a) == f(b);
}

bool SameClassical(const analytics::ClassicalDetectorOptions& a,
                   const analytics::ClassicalDetectorOptions& b) {
  auto f = [](const analytics::ClassicalDetectorOptions& c) {
    return std::tie(c.threshold, c.background_adapt_ms, c.foreground_adapt_ms,
                    c.require_motion_support, c.shadow_suppression, c.shadow_min_ratio,
                    c.shadow_max_ratio, c.shadow_chroma_tolerance, c.shadow_texture_tolerance,
                    c.close_px, c.min_blob_area, c.split_core_ratio, c.merge_gap_px,
                    c.merge_max_fragment, c.person_max_width_m, c.person_min_aspect,
                    c.two_wheeler_max_width_m, c.large_min_width_m, c.large_min_height_m,
                    c.min_object_m, c.person_max_area, c.person_min_aspect_uncalibrated,
                    c.large_min_area);
  };
  return f(a) == f(b);
}

bool SameDetector(const analytics::DnnDetectorOptions& a, const analytics::DnnDetectorOptions& b) {
  auto f = [](const analytics::DnnDetectorOptions& d) {
    return std::tie(d.model_path, d.format, d.input_size, d.score_threshold, d.nms_iou,
                    d.class_aware_nms, d.preprocess, d.motion_gated, d.crop_padding,
                    d.min_crop_size, d.max_crops, d.batch_crops, d.full_frame_fraction,
                    d.detect_fps, d.num_classes, d.class_map);
  };
  return f(a) == f(b);
}

bool SameCalibration(const std::optional<analytics::CalibrationConfig>& a,
                     const std::optional<analytics::CalibrationConfig>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->image_points == b->image_points && a->ground_points == b->ground_points);
}

// Twice the signed area of a polygon (shoelace formula).
double TwiceArea(const std::vector<cv::Point2f>& poly) {
  double a = 0;
  for (size_t i = 0; i < poly.size(); ++i) {
    const cv::Point2f& p = poly[i];
    const cv::Point2f& q = poly[(i + 1) % poly.size()];
    a += static_cast<double>(p.x) * q.y - static_cast<double>(q.x) * p.y;
  }
  return a;
}

std::string CheckPolygon(const std::vector<cv::Point2f>& poly) {
  if (poly.size() < 3) {
    return "a mask polygon needs at least 3 points, got " + std::to_string(poly.size());
  }
  if (std::abs(TwiceArea(poly)) < 1e-9) return "mask polygon has zero area";
  return "";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "an undefined value";
  }
}

std::string Join(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// Reads a whole file; on failure returns the strerror text in *error.
bool ReadWholeFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::strerror(errno);
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    *error = std::strerror(errno);
    return false;
  }
  *out = buf.str();
  return true;
}

// ---------------------------------------------------------------------------------------------
// The YAML adapter: walks the node tree, converting and checking every value where it is, so that
// each error carries the node's line and column.

class Parser {
 public:
  Parser(std::string source, std::filesystem::path base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  Status Error(const YAML::Mark& mark, const std::string& field, const std::string& message) const {
    std::string out = source_;
    if (!mark.is_null()) {
      out += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    out += ": ";
    if (!field.empty()) out += field + ": ";
    out += message;
    return Status::InvalidArgument(std::move(out));
  }
  // A null value ("key:" with nothing after it) has its mark where the next token starts, often
  // on the next line; its key is where a reader looks, so errors about it point there.
  Status Error(const YAML::Node& node, const std::string& field, const std::string& message) const {
    return Error(node.IsNull() ? null_value_mark_ : node.Mark(), field, message);
  }
  // Turns a check's message into an error at `node`, or ok if the message is empty.
  Status Check(const YAML::Node& node, const std::string& field, const std::string& message) const {
    if (message.empty()) return Status::Ok();
    return Error(node, field, message);
  }

  // One entry of a mapping's key table: the handler gets the value node and its field path.
  using Handler = std::function<Status(const YAML::Node& value, const std::string& field)>;
  using KeyTable = std::vector<std::pair<std::string_view, Handler>>;

  // Calls the handler of each key present in `map`. Unknown and repeated keys are errors at the
  // key; yaml-cpp itself accepts repeated keys and would silently keep one of them.
  Status ParseMap(const YAML::Node& map, const std::string& field, const KeyTable& table) {
    if (!map.IsMap()) return Error(map, field, "expected a mapping, got " + Describe(map));
    std::map<std::string, int, std::less<>> seen;  // key -> line (1-based)
    for (const auto& entry : map) {                // entry: a pair of nodes, by value
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return Error(key, field, "keys must be plain names");
      const std::string& name = key.Scalar();
      std::string key_field = Join(field, name);
      if (auto [pos, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
        return Error(key, key_field,
                     "repeated key (first given at line " + std::to_string(pos->second) + ")");
      }
      const Handler* handler = nullptr;
      for (const auto& [k, h] : table) {
        if (k == name) handler = &h;
      }
      if (handler == nullptr) return Error(key, key_field, UnknownKeyMessage(name, table));
      null_value_mark_ = key.Mark();
      SKYNET_RETURN_IF_ERROR((*handler)(entry.second, key_field));
    }
    return Status::Ok();
  }

  // --- scalars -------------------------------------------------------------------------------

  Status ReadString(const YAML::Node& node, const std::string& field, std::string* out) const {
    if (!node.IsScalar()) return Error(node, field, "expected a string, got " + Describe(node));
    *out = node.Scalar();
    return Status::Ok();
  }
  Status ReadBool(const YAML::Node& node, const std::string& field, bool* out) const {
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, *out)) {
      return Error(node, field, "expected true or false, got " + Describe(node));
    }
    return Status::Ok();
  }
  Status ReadInt(const YAML::Node& node, const std::string& field, long long lo, long long hi,
                 int* out) const {
    long long v = 0;
    if (!node.IsScalar() || !YAML::convert<long long>::decode(node, v)) {
      return Error(node, field, "expected an integer, got " + Describe(node));
    }
    SKYNET_RETURN_IF_ERROR(Check(node, field, CheckIntRange(v, lo, hi)));
    *out = static_cast<int>(v);
    return Status::Ok();
  }
  Status ReadDouble(const YAML::Node& node, const std::string& field, double* out) const {
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, *out)) {
      return Error(node, field, "expected a number, got " + Describe(node));
    }
    return Status::Ok();
  }

  // Handler factories for the common cases.
  Handler String(std::string* out, std::function<std::string(const std::string&)> check = {}) {
    return [this, out, check](const YAML::Node& n, const std::string& f) -> Status {
      SKYNET_RETURN_IF_ERROR(ReadString(n, f, out));
      return check ? Check(n, f, check(*out)) : Status::Ok();
    };
  }
  Handler Bool(bool* out) {
    return [this, out](const YAML::Node& n, const std::string& f) { return ReadBool(n, f, out); };
  }
  // An int in `range`; without one, any int (another check follows).
  Handler Int(int* out, Range range = {INT32_MIN, INT32_MAX}) {
    return [this, out, range](const YAML::Node& n, const std::string& f) {
      return ReadInt(n, f, range.lo, range.hi, out);
    };
  }
  Handler Int64(int64_t* out, Range range) {
    return [this, out, range](const YAML::Node& n, const std::string& f) -> Status {
      long long v = 0;
      if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) {
        return Error(n, f, "expected an integer, got " + Describe(n));
      }
      SKYNET_RETURN_IF_ERROR(Check(n, f, CheckIntRange(v, range)));
      *out = v;
      return Status::Ok();
    };
  }
  Handler Double(double* out, std::function<std::string(double)> check = {}) {
    return [this, out, check](const YAML::Node& n, const std::string& f) -> Status {
      SKYNET_RETURN_IF_ERROR(ReadDouble(n, f, out));
      return check ? Check(n, f, check(*out)) : Status::Ok();
    };
  }

  // --- sections ------------------------------------------------------------------------------

  Status ParseTop(const YAML::Node& root, Config* config) {
    if (root.IsNull()) return Status::Ok();  // empty file: all defaults
    KeyTable table = {
        {"node_id", String(&config->node_id, CheckId)},
        {"event_endpoint", String(&config->event_endpoint, CheckEndpoint)},
        {"control_endpoint", String(&config->control_endpoint, CheckEndpoint)},
        {"heartbeat_interval_ms", Int(&config->heartbeat_interval_ms, kHeartbeatMs)},
        {"replay_endpoint", String(&config->replay_endpoint, CheckEndpoint)},
        {"replay_max_events_per_second",
         Int(&config->replay_max_events_per_second, kReplayRate)},
        {"journal", [&](const YAML::Node& n,
                        const std::string& f) { return ParseJournal(n, f, &config->journal); }},
        {"security", [&](const YAML::Node& n,
                         const std::string& f) { return ParseSecurity(n, f, &config->security); }},
        {"control", [&](const YAML::Node& n, const std::string& f) {
           return ParseMap(n, f, {{"audit_log", String(&config->control.audit_log)}});
         }},
        {"analytics_workers", Int(&config->analytics_workers, kWorkers)},
        {"ingest", [&](const YAML::Node& n, const std::string& f) {
           return ParseMap(
               n, f,
               {{"start_rate_per_second",
                 Double(&config->ingest.start_rate_per_second, CheckStartRate)},
                {"start_burst", Int(&config->ingest.start_burst, kStartBurst)}});
         }},
        {"log_level", String(&config->log_level, CheckLogLevel)},
        {"cameras", [&](const YAML::Node& n,
                        const std::string& f) { return ParseCameras(n, f, &config->cameras); }},
    };
    SKYNET_RETURN_IF_ERROR(ParseMap(root, "", table));
    if (!config->replay_endpoint.empty() && config->journal.dir.empty()) {
      return Error(root["replay_endpoint"].Mark(), "replay_endpoint",
                   "needs a journal to replay from: set journal.dir");
    }
    return Status::Ok();
  }

  Status ParseJournal(const YAML::Node& node, const std::string& field, JournalConfig* j) {
    KeyTable table = {
        {"dir", String(&j->dir)},
        {"fsync", String(&j->fsync, CheckFsync)},
        {"max_bytes", Int64(&j->max_bytes, kJournalBytes)},
        {"max_age_hours", Double(&j->max_age_hours, CheckAgeHours)},
        {"segment_bytes", Int64(&j->segment_bytes, kSegmentBytes)},
    };
    SKYNET_RETURN_IF_ERROR(ParseMap(node, field, table));
    if (j->segment_bytes > j->max_bytes) {
      return Error(node, Join(field, "segment_bytes"), "must not exceed max_bytes");
    }
    return Status::Ok();
  }

  Status ParseSecurity(const YAML::Node& node, const std::string& field, SecurityConfig* sec) {
    KeyTable table = {
        {"server_key_file", String(&sec->server_key_file)},
        {"clients",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           if (n.IsNull()) return Status::Ok();
           if (!n.IsSequence()) return Error(n, f, "expected a list, got " + Describe(n));
           for (size_t i = 0; i < n.size(); ++i) {
             const std::string item = f + "[" + std::to_string(i) + "]";
             null_value_mark_ = n[i].Mark();
             ClientKeyConfig c;
             SKYNET_RETURN_IF_ERROR(ParseMap(n[i], item,
                                             {{"name", String(&c.name, CheckId)},
                                              {"public_key", String(&c.public_key, CheckZ85Key)},
                                              {"role", String(&c.role, CheckRole)}}));
             if (c.name.empty()) return Error(n[i], item, "missing required key 'name'");
             if (c.public_key.empty()) return Error(n[i], item, "missing required key 'public_key'");
             for (const ClientKeyConfig& other : sec->clients) {
               if (other.name == c.name) return Error(n[i], item + ".name", "repeated name");
               if (other.public_key == c.public_key) {
                 return Error(n[i], item + ".public_key", "same key as " + other.name);
               }
             }
             sec->clients.push_back(std::move(c));
           }
           return Status::Ok();
         }},
    };
    return ParseMap(node, field, table);
  }

  Status ParseCameras(const YAML::Node& node, const std::string& field,
                      std::vector<CameraConfig>* cameras) {
    if (node.IsNull()) return Status::Ok();  // "cameras:" with nothing: none yet
    if (!node.IsSequence()) return Error(node, field, "expected a list, got " + Describe(node));
    std::map<std::string, int, std::less<>> first_line;  // id -> line of its first definition
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node& item = node[i];
      std::string item_field = field + "[" + std::to_string(i) + "]";
      null_value_mark_ = item.Mark();  // an empty "-" item: its own mark is the best there is
      CameraConfig camera;
      YAML::Mark id_mark;
      SKYNET_RETURN_IF_ERROR(ParseCamera(item, item_field, &camera, &id_mark));
      if (auto [pos, inserted] = first_line.emplace(camera.id, id_mark.line + 1); !inserted) {
        return Error(id_mark, item_field + ".id",
                     "duplicate camera id '" + camera.id + "' (first defined at line " +
                         std::to_string(pos->second) + ")");
      }
      cameras->push_back(std::move(camera));
    }
    return Status::Ok();
  }

  Status ParseCamera(const YAML::Node& node, const std::string& field, CameraConfig* camera,
                     YAML::Mark* id_mark) {
    bool have_id = false, have_url = false;
    std::string secret_key;  // which of password / password_file / password_env was given
    auto secret = [&](std::string_view key, const YAML::Node& n, const std::string& f) -> Status {
      if (!secret_key.empty()) {
        return Error(n, f,
                     "conflicts with " + secret_key +
                         "; give only one of password, password_file, password_env");
      }
      secret_key = std::string(key);
      return Status::Ok();
    };
    KeyTable table = {
        {"id",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           have_id = true;
           *id_mark = n.Mark();
           SKYNET_RETURN_IF_ERROR(ReadString(n, f, &camera->id));
           return Check(n, f, CheckId(camera->id));
         }},
        {"name", String(&camera->name)},
        {"url",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           have_url = true;
           SKYNET_RETURN_IF_ERROR(ReadString(n, f, &camera->url));
           return Check(n, f, CheckCameraUrl(camera->url));
         }},
        {"username", String(&camera->username)},
        {"password",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           SKYNET_RETURN_IF_ERROR(secret("password", n, f));
           return ReadString(n, f, &camera->password);
         }},
        {"password_file",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           SKYNET_RETURN_IF_ERROR(secret("password_file", n, f));
           std::string path;
           SKYNET_RETURN_IF_ERROR(ReadString(n, f, &path));
           if (path.empty()) return Error(n, f, "must not be empty");
           std::filesystem::path p(path);
           if (p.is_relative() && !base_dir_.empty()) p = base_dir_ / p;
           std::string contents, error;
           if (!ReadWholeFile(p.string(), &contents, &error)) {
             return Error(n, f, "cannot read '" + p.string() + "': " + error);
           }
           camera->password = Trim(contents);
           if (camera->password.empty()) return Error(n, f, "'" + p.string() + "' is empty");
           return Status::Ok();
         }},
        {"password_env",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           SKYNET_RETURN_IF_ERROR(secret("password_env", n, f));
           std::string var;
           SKYNET_RETURN_IF_ERROR(ReadString(n, f, &var));
           if (var.empty()) return Error(n, f, "must name an environment variable");
           const char* value = std::getenv(var.c_str());
           if (value == nullptr) return Error(n, f, "environment variable " + var + " is not set");
           if (*value == '\0') return Error(n, f, "environment variable " + var + " is empty");
           camera->password = value;
           return Status::Ok();
         }},
        {"enabled", Bool(&camera->enabled)},
        {"analytics_fps", Double(&camera->analytics_fps, CheckFps)},
        {"detect_width",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           SKYNET_RETURN_IF_ERROR(
               ReadInt(n, f, kDetectWidth.lo, kDetectWidth.hi, &camera->detect_width));
           return Check(n, f, CheckDetectWidth(camera->detect_width));
         }},
        {"rtsp_transport", String(&camera->rtsp_transport, CheckTransport)},
        {"file_realtime", Bool(&camera->file_realtime)},
        {"file_loop", Bool(&camera->file_loop)},
        {"connect_timeout_ms", Int(&camera->connect_timeout_ms, kConnectTimeoutMs)},
        {"stall_timeout_ms", Int(&camera->stall_timeout_ms, kStallTimeoutMs)},
        {"backoff_initial_ms", Int(&camera->backoff_initial_ms, kBackoffMs)},
        {"backoff_max_ms", Int(&camera->backoff_max_ms, kBackoffMs)},
        {"motion", [&](const YAML::Node& n,
                       const std::string& f) { return ParseMotion(n, f, &camera->motion); }},
        {"vehicles", [&](const YAML::Node& n,
                         const std::string& f) { return ParseVehicles(n, f, &camera->vehicles); }},
    };
    SKYNET_RETURN_IF_ERROR(ParseMap(node, field, table));
    if (!have_id) return Error(node, field, "missing required key 'id'");
    if (!have_url) return Error(node, field, "missing required key 'url'");
    if (std::string m = CheckBackoff(camera->backoff_initial_ms, camera->backoff_max_ms);
        !m.empty()) {
      YAML::Node max = node["backoff_max_ms"];  // const lookup: never inserts
      return Error(max ? max.Mark() : node.Mark(), Join(field, "backoff_max_ms"), m);
    }
    if (camera->name.empty()) camera->name = camera->id;
    return Status::Ok();
  }

  // Reads the keys of `motion:` (types and mask shapes here, with their places), then lets
  // analytics::ValidateMotionOptions() judge the values, so that the config accepts exactly what
  // the detector accepts. Its error names a field; the error points at that key if given.
  Status ParseMotion(const YAML::Node& node, const std::string& field,
                     analytics::MotionOptions* motion) {
    analytics::MotionOptions& m = *motion;
    KeyTable table = {
        {"threshold", Int(&m.threshold)},
        {"min_region_area", Double(&m.min_region_area)},
        {"start_frames", Int(&m.start_frames)},
        {"end_quiet_ms", Int(&m.end_quiet_ms)},
        {"update_interval_ms", Int(&m.update_interval_ms)},
        {"masks",
         [&](const YAML::Node& n, const std::string& f) { return ParseMasks(n, f, &m.masks); }},
        {"background_adapt_ms", Int(&m.background_adapt_ms)},
        {"foreground_adapt_ms", Int(&m.foreground_adapt_ms)},
        {"max_brightness_step", Int(&m.max_brightness_step)},
        {"global_change_fraction", Double(&m.global_change_fraction)},
        {"dilate_px", Int(&m.dilate_px)},
        {"max_regions", Int(&m.max_regions)},
        {"shake_compensation", Bool(&m.shake_compensation)},
        {"min_shake_px", Double(&m.min_shake_px)},
        {"max_shake_px", Double(&m.max_shake_px)},
        {"auto_contrast", Bool(&m.auto_contrast)},
        {"contrast_reference_range", Int(&m.contrast_reference_range)},
        {"night_brightness", Int(&m.night_brightness)},
        {"night_threshold", Int(&m.night_threshold)},
        {"night_min_region_area", Double(&m.night_min_region_area)},
    };
    SKYNET_RETURN_IF_ERROR(ParseMap(node, field, table));
    Status st = analytics::ValidateMotionOptions(m);
    if (st.ok()) return st;
    // "max_shake_px: must be in [0.5, 32], got 40" -> key "max_shake_px", rest ": must be ...".
    const std::string& msg = st.message();
    size_t key_end = msg.find_first_not_of("abcdefghijklmnopqrstuvwxyz_");
    size_t colon = msg.find(": ");
    if (key_end == 0 || key_end == std::string::npos || colon == std::string::npos) {
      return Error(node, field, msg);
    }
    std::string key = msg.substr(0, key_end);
    YAML::Node value = node[key];  // const lookup: never inserts
    return Error(value ? value.Mark() : node.Mark(), field + "." + msg.substr(0, colon),
                 msg.substr(colon + 2));
  }

  Status ParseMasks(const YAML::Node& node, const std::string& field,
                    std::vector<std::vector<cv::Point2f>>* masks) {
    if (node.IsNull()) return Status::Ok();
    if (!node.IsSequence()) {
      return Error(node, field, "expected a list of polygons, got " + Describe(node));
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node& poly_node = node[i];
      std::string poly_field = field + "[" + std::to_string(i) + "]";
      null_value_mark_ = poly_node.Mark();
      if (!poly_node.IsSequence()) {
        return Error(poly_node, poly_field,
                     "expected a polygon (a list of [x, y] points), got " + Describe(poly_node));
      }
      std::vector<cv::Point2f> poly;
      for (size_t j = 0; j < poly_node.size(); ++j) {
        const YAML::Node& pt = poly_node[j];
        std::string pt_field = poly_field + "[" + std::to_string(j) + "]";
        null_value_mark_ = pt.Mark();
        if (!pt.IsSequence() || pt.size() != 2) {
          return Error(pt, pt_field, "expected a point [x, y], got " + Describe(pt));
        }
        double xy[2];
        for (size_t k = 0; k < 2; ++k) {
          std::string c_field = pt_field + "[" + std::to_string(k) + "]";
          SKYNET_RETURN_IF_ERROR(ReadDouble(pt[k], c_field, &xy[k]));
          SKYNET_RETURN_IF_ERROR(Check(pt[k], c_field, CheckFraction(xy[k])));
        }
        poly.emplace_back(static_cast<float>(xy[0]), static_cast<float>(xy[1]));
      }
      SKYNET_RETURN_IF_ERROR(Check(poly_node, poly_field, CheckPolygon(poly)));
      masks->push_back(std::move(poly));
    }
    return Status::Ok();
  }

  // --- vehicles: (docs/vehicles.md) ------------------------------------------------------------

  // Reads a point [x, y]; `fraction`: each coordinate must be in [0, 1] (normalised image).
  Status ReadPoint(const YAML::Node& node, const std::string& field, bool fraction,
                   cv::Point2f* out) {
    null_value_mark_ = node.Mark();
    if (!node.IsSequence() || node.size() != 2) {
      return Error(node, field, "expected a point [x, y], got " + Describe(node));
    }
    double xy[2];
    for (size_t k = 0; k < 2; ++k) {
      std::string c_field = field + "[" + std::to_string(k) + "]";
      SKYNET_RETURN_IF_ERROR(ReadDouble(node[k], c_field, &xy[k]));
      if (!std::isfinite(xy[k])) return Error(node[k], c_field, "must be a finite number");
      if (fraction) SKYNET_RETURN_IF_ERROR(Check(node[k], c_field, CheckFraction(xy[k])));
    }
    *out = cv::Point2f(static_cast<float>(xy[0]), static_cast<float>(xy[1]));
    return Status::Ok();
  }
  Handler Point(cv::Point2f* out, bool fraction = true) {
    return [this, out, fraction](const YAML::Node& n, const std::string& f) {
      return ReadPoint(n, f, fraction, out);
    };
  }
  Handler Polygon(std::vector<cv::Point2f>* out) {
    return [this, out](const YAML::Node& n, const std::string& f) -> Status {
      if (!n.IsSequence()) {
        return Error(n, f, "expected a polygon (a list of [x, y] points), got " + Describe(n));
      }
      for (size_t j = 0; j < n.size(); ++j) {
        cv::Point2f p;
        SKYNET_RETURN_IF_ERROR(ReadPoint(n[j], f + "[" + std::to_string(j) + "]", true, &p));
        out->push_back(p);
      }
      return Status::Ok();
    };
  }
  Handler Float(float* out) {
    return [this, out](const YAML::Node& n, const std::string& f) -> Status {
      double v = 0;
      SKYNET_RETURN_IF_ERROR(ReadDouble(n, f, &v));
      if (!std::isfinite(v)) return Error(n, f, "must be a finite number");
      *out = static_cast<float>(v);
      return Status::Ok();
    };
  }
  // A list of mappings: `item` parses one entry (its node and field, e.g. "rules.lines[2]").
  Handler List(std::function<Status(const YAML::Node&, const std::string&)> item) {
    return [this, item](const YAML::Node& n, const std::string& f) -> Status {
      if (n.IsNull()) return Status::Ok();
      if (!n.IsSequence()) return Error(n, f, "expected a list, got " + Describe(n));
      for (size_t i = 0; i < n.size(); ++i) {
        null_value_mark_ = n[i].Mark();
        SKYNET_RETURN_IF_ERROR(item(n[i], f + "[" + std::to_string(i) + "]"));
      }
      return Status::Ok();
    };
  }

  // Reads `vehicles:` (types and shapes here, with their places), then lets the analytics'
  // Validate*() functions judge the values, so the config accepts exactly what they accept.
  // Their errors name a key path ("rules.zones[1].polygon: ..."): the error points at it.
  Status ParseVehicles(const YAML::Node& node, const std::string& field, VehiclesConfig* v) {
    if (node.IsNull()) return Status::Ok();
    analytics::VehicleAnalyticsOptions& a = v->analytics;
    analytics::ClassicalDetectorOptions& c = v->classical;
    analytics::DnnDetectorOptions& d = v->detector;
    analytics::TrackerOptions& t = a.tracker;
    analytics::TrafficRulesOptions& r = a.rules;
    auto class_params = [&](analytics::TrackerClassParams* p) -> KeyTable {
      return {{"confirm_hits", Int(&p->confirm_hits)},
              {"max_misses", Int(&p->max_misses)},
              {"max_misses_stationary", Int(&p->max_misses_stationary)},
              {"accel_noise", Float(&p->accel_noise)}};
    };
    KeyTable tracker = class_params(&t.defaults);
    tracker.insert(
        tracker.end(),
        {{"classes",
          [&](const YAML::Node& n, const std::string& f) -> Status {
            if (n.IsNull()) return Status::Ok();
            if (!n.IsMap()) return Error(n, f, "expected a mapping, got " + Describe(n));
            for (const auto& entry : n) {
              const std::string name = entry.first.Scalar();
              analytics::ObjectClass oc = analytics::ObjectClass::kUnknown;
              for (int k = 1; k <= static_cast<int>(analytics::ObjectClass::kPerson); ++k) {
                auto candidate = static_cast<analytics::ObjectClass>(k);
                if (name == analytics::ObjectClassName(candidate)) oc = candidate;
              }
              if (oc == analytics::ObjectClass::kUnknown) {
                return Error(entry.first, Join(f, name),
                             "unknown class (expected car, bus, truck, motorcycle, bicycle or "
                             "person)");
              }
              // Keys not given keep the general defaults (not the built-in person override).
              analytics::TrackerClassParams p = t.defaults;
              null_value_mark_ = entry.first.Mark();
              SKYNET_RETURN_IF_ERROR(ParseMap(entry.second, Join(f, name), class_params(&p)));
              t.per_class[oc] = p;
            }
            return Status::Ok();
          }},
         {"min_iou", Float(&t.min_iou)},
         {"max_centre_distance", Float(&t.max_centre_distance)},
         {"class_mismatch_cost", Float(&t.class_mismatch_cost)},
         {"stationary_after_ms", Int(&t.stationary_after_ms)},
         {"stationary_radius", Float(&t.stationary_radius)},
         {"trajectory_points", Int(&t.trajectory_points)},
         {"speed_window_ms", Int(&t.speed_window_ms)},
         {"measurement_noise", Float(&t.measurement_noise)}});
    KeyTable classical = {
        {"threshold", Int(&c.threshold)},
        {"background_adapt_ms", Int(&c.background_adapt_ms)},
        {"foreground_adapt_ms", Int(&c.foreground_adapt_ms)},
        {"require_motion_support", Bool(&c.require_motion_support)},
        {"shadow_suppression", Bool(&c.shadow_suppression)},
        {"shadow_min_ratio", Float(&c.shadow_min_ratio)},
        {"shadow_max_ratio", Float(&c.shadow_max_ratio)},
        {"shadow_chroma_tolerance", Float(&c.shadow_chroma_tolerance)},
        {"shadow_texture_tolerance", Float(&c.shadow_texture_tolerance)},
        {"close_px", Int(&c.close_px)},
        {"min_blob_area", Double(&c.min_blob_area)},
        {"split_core_ratio", Float(&c.split_core_ratio)},
        {"merge_gap_px", Int(&c.merge_gap_px)},
        {"merge_max_fragment", Float(&c.merge_max_fragment)},
        {"person_max_width_m", Float(&c.person_max_width_m)},
        {"person_min_aspect", Float(&c.person_min_aspect)},
        {"two_wheeler_max_width_m", Float(&c.two_wheeler_max_width_m)},
        {"large_min_width_m", Float(&c.large_min_width_m)},
        {"large_min_height_m", Float(&c.large_min_height_m)},
        {"min_object_m", Float(&c.min_object_m)},
        {"person_max_area", Double(&c.person_max_area)},
        {"person_min_aspect_uncalibrated", Float(&c.person_min_aspect_uncalibrated)},
        {"large_min_area", Double(&c.large_min_area)},
    };
    KeyTable detector = {
        {"model_path",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           SKYNET_RETURN_IF_ERROR(ReadString(n, f, &d.model_path));
           if (d.model_path.empty()) return Error(n, f, "must not be empty");
           std::filesystem::path p(d.model_path);
           if (p.is_relative() && !base_dir_.empty()) d.model_path = (base_dir_ / p).string();
           return Status::Ok();
         }},
        {"format",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           std::string s;
           SKYNET_RETURN_IF_ERROR(ReadString(n, f, &s));
           if (analytics::ParseDnnFormat(s, &d.format)) return Status::Ok();
           return Error(n, f, "must be nanodet, yolov5 or yolov8, got '" + s + "'");
         }},
        {"input_size",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           SKYNET_RETURN_IF_ERROR(ReadInt(n, f, 32, 2048, &d.input_size));
           if (d.input_size % 32 != 0) return Error(n, f, "must be a multiple of 32");
           return Status::Ok();
         }},
        {"score_threshold", Float(&d.score_threshold)},
        {"nms_iou", Float(&d.nms_iou)},
        {"class_aware_nms", Bool(&d.class_aware_nms)},
        {"preprocess",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           std::string s;
           SKYNET_RETURN_IF_ERROR(ReadString(n, f, &s));
           if (analytics::ParseDnnPreprocess(s, &d.preprocess)) return Status::Ok();
           return Error(n, f, "must be default, nanodet or rgb255, got '" + s + "'");
         }},
        {"motion_gated", Bool(&d.motion_gated)},
        {"crop_padding", Float(&d.crop_padding)},
        {"min_crop_size", Int(&d.min_crop_size, {1, 4096})},
        {"max_crops", Int(&d.max_crops, {1, 64})},
        {"batch_crops", Bool(&d.batch_crops)},
        {"full_frame_fraction", Float(&d.full_frame_fraction)},
        {"detect_fps", Double(&d.detect_fps, CheckDetectFps)},
        {"num_classes", Int(&d.num_classes, {1, 10000})},
    };
    auto line = [&](const YAML::Node& n, const std::string& f) -> Status {
      analytics::CountingLine l;
      SKYNET_RETURN_IF_ERROR(ParseMap(
          n, f,
          {{"id", String(&l.id, CheckId)},
           {"a", Point(&l.a)},
           {"b", Point(&l.b)},
           {"count", [&](const YAML::Node& cn, const std::string& cf) -> Status {
              std::string s;
              SKYNET_RETURN_IF_ERROR(ReadString(cn, cf, &s));
              if (s == "both") l.count = analytics::LineDirection::kBoth;
              else if (s == "forward") l.count = analytics::LineDirection::kForward;
              else if (s == "backward") l.count = analytics::LineDirection::kBackward;
              else return Error(cn, cf, "must be both, forward or backward, got '" + s + "'");
              return Status::Ok();
            }}}));
      if (l.id.empty()) return Error(n, f, "missing required key 'id'");
      r.lines.push_back(std::move(l));
      return Status::Ok();
    };
    auto zone = [&](const YAML::Node& n, const std::string& f) -> Status {
      analytics::Zone z;
      SKYNET_RETURN_IF_ERROR(ParseMap(n, f,
                                      {{"id", String(&z.id, CheckId)},
                                       {"polygon", Polygon(&z.polygon)},
                                       {"no_parking", Bool(&z.no_parking)},
                                       {"max_stop_ms", Int(&z.max_stop_ms)}}));
      if (z.id.empty()) return Error(n, f, "missing required key 'id'");
      r.zones.push_back(std::move(z));
      return Status::Ok();
    };
    auto lane = [&](const YAML::Node& n, const std::string& f) -> Status {
      analytics::Lane l;
      SKYNET_RETURN_IF_ERROR(ParseMap(n, f,
                                      {{"id", String(&l.id, CheckId)},
                                       {"polygon", Polygon(&l.polygon)},
                                       {"direction", Point(&l.direction, false)},
                                       {"speed_limit_kmh", Float(&l.speed_limit_kmh)}}));
      if (l.id.empty()) return Error(n, f, "missing required key 'id'");
      r.lanes.push_back(std::move(l));
      return Status::Ok();
    };
    KeyTable rules = {
        {"speed_limit_kmh", Float(&r.speed_limit_kmh)},
        {"speeding_frames", Int(&r.speeding_frames)},
        {"wrong_way_frames", Int(&r.wrong_way_frames)},
        {"wrong_way_min_distance_m", Float(&r.wrong_way_min_distance_m)},
        {"wrong_way_min_distance", Float(&r.wrong_way_min_distance)},
        {"wrong_way_cos", Float(&r.wrong_way_cos)},
        {"min_moving_speed", Float(&r.min_moving_speed)},
        {"stats_interval_ms", Int(&r.stats_interval_ms)},
        {"lines", List(line)},
        {"zones", List(zone)},
        {"lanes", List(lane)},
    };
    auto points4 = [&](std::array<cv::Point2f, 4>* out, bool fraction) -> Handler {
      return [this, out, fraction](const YAML::Node& n, const std::string& f) -> Status {
        if (!n.IsSequence() || n.size() != 4) {
          return Error(n, f, "expected a list of 4 points [x, y], got " + Describe(n));
        }
        for (size_t i = 0; i < 4; ++i) {
          SKYNET_RETURN_IF_ERROR(
              ReadPoint(n[i], f + "[" + std::to_string(i) + "]", fraction, &(*out)[i]));
        }
        return Status::Ok();
      };
    };
    KeyTable table = {
        {"enabled", Bool(&v->enabled)},
        {"backend", String(&v->backend, CheckVehicleBackend)},
        {"calibration",
         [&](const YAML::Node& n, const std::string& f) -> Status {
           if (n.IsNull()) return Status::Ok();
           analytics::CalibrationConfig cal;
           bool have_image = false, have_ground = false;
           Handler image = points4(&cal.image_points, true);
           Handler ground = points4(&cal.ground_points, false);
           SKYNET_RETURN_IF_ERROR(ParseMap(
               n, f,
               {{"image_points",
                 [&](const YAML::Node& pn, const std::string& pf) {
                   have_image = true;
                   return image(pn, pf);
                 }},
                {"ground_points", [&](const YAML::Node& pn, const std::string& pf) {
                   have_ground = true;
                   return ground(pn, pf);
                 }}}));
           if (!have_image) return Error(n, f, "missing required key 'image_points'");
           if (!have_ground) return Error(n, f, "missing required key 'ground_points'");
           a.calibration = cal;
           return Status::Ok();
         }},
        {"classical",
         [&](const YAML::Node& n, const std::string& f) { return ParseMap(n, f, classical); }},
        {"detector",
         [&](const YAML::Node& n, const std::string& f) { return ParseMap(n, f, detector); }},
        {"tracker",
         [&](const YAML::Node& n, const std::string& f) { return ParseMap(n, f, tracker); }},
        {"rules", [&](const YAML::Node& n, const std::string& f) { return ParseMap(n, f, rules); }},
        {"snapshot_improvement", Float(&a.snapshot_improvement)},
        {"snapshot_update_interval_ms", Int(&a.snapshot_update_interval_ms)},
        {"colour_every_frames", Int(&a.colour_every_frames)},
    };
    SKYNET_RETURN_IF_ERROR(ParseMap(node, field, table));
    if (v->backend == "dnn" && v->detector.model_path.empty()) {
      YAML::Node b = node["backend"];  // const lookup: never inserts
      return Error(b ? b.Mark() : node.Mark(), Join(field, "detector.model_path"),
                   "backend dnn needs a model file");
    }
    Status st = ValidateVehicles(*v);
    if (st.ok()) return st;
    // "rules.zones[1].polygon: needs ..." -> the node at that path, field "vehicles.rules...".
    const std::string& msg = st.message();
    size_t colon = msg.find(": ");
    if (colon == std::string::npos) return Error(node, field, msg);
    const std::string path = msg.substr(0, colon);
    return Error(NodeAt(node, path).Mark(), Join(field, path), msg.substr(colon + 2));
  }

  // The deepest node along a key path like "rules.zones[1].polygon" (stops where it ends).
  static YAML::Node NodeAt(const YAML::Node& root, const std::string& path) {
    YAML::Node cur;
    cur.reset(root);
    size_t i = 0;
    while (i < path.size()) {
      size_t end = path.find_first_of(".[", i);
      std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
      YAML::Node next;
      if (!key.empty()) {
        if (!cur.IsMap()) break;
        const YAML::Node& view = cur;  // const lookup: never inserts
        next.reset(view[key]);
        if (!next) break;
        cur.reset(next);  // reset, not =: assignment would write into the tree
      }
      if (end == std::string::npos) break;
      if (path[end] == '[') {
        size_t close = path.find(']', end);
        if (close == std::string::npos || !cur.IsSequence()) break;
        size_t idx = std::strtoul(path.c_str() + end + 1, nullptr, 10);
        if (idx >= cur.size()) break;
        const YAML::Node& view = cur;
        next.reset(view[idx]);
        cur.reset(next);
        i = close + 1;
        if (i < path.size() && path[i] == '.') ++i;
      } else {
        i = end + 1;
      }
    }
    return cur;
  }

 private:
  static std::string UnknownKeyMessage(const std::string& name, const KeyTable& table) {
    std::string best;
    size_t best_distance = 3;  // suggest only close matches
    for (const auto& [k, h] : table) {
      size_t d = EditDistance(name, k);
      if (d < best_distance) {
        best_distance = d;
        best = std::string(k);
      }
    }
    if (!best.empty()) return "unknown key (did you mean '" + best + "'?)";
    std::string known;
    for (const auto& [k, h] : table) known += (known.empty() ? "" : ", ") + std::string(k);
    return "unknown key (expected one of: " + known + ")";
  }

  std::string source_;
  std::filesystem::path base_dir_;
  YAML::Mark null_value_mark_ = YAML::Mark::null_mark();  // see Error()
};

// Loads YAML text into a node tree, mapping a syntax error to "FILE:LINE:COL: yaml: <message>".
Result<YAML::Node> LoadYaml(const std::string& text, const Parser& parser) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return parser.Error(e.mark, "yaml", e.msg);
  } catch (const YAML::Exception& e) {
    return parser.Error(e.mark, "yaml", e.msg);
  }
}

}  // namespace

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name) {
  Parser parser(source_name, std::filesystem::path(source_name).parent_path());
  Result<YAML::Node> root = LoadYaml(yaml_text, parser);
  if (!root) return root.status();
  Config config;
  config.path = source_name;
  // Walking a loaded tree does not throw in practice; catching here keeps yaml-cpp's exceptions
  // inside this adapter should a corner of it do so.
  try {
    SKYNET_RETURN_IF_ERROR(parser.ParseTop(*root, &config));
  } catch (const YAML::Exception& e) {
    return parser.Error(e.mark, "yaml", e.msg);
  }
  return config;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::string text, error;
  if (!ReadWholeFile(path, &text, &error)) {
    return Status::IoError(path + ": cannot read config: " + error);
  }
  return ParseConfig(text, path);
}

Result<CameraConfig> ParseCameraConfig(const std::string& yaml_text,
                                       const std::string& source_name) {
  Parser parser(source_name, std::filesystem::path());
  Result<YAML::Node> root = LoadYaml(yaml_text, parser);
  if (!root) return root.status();
  CameraConfig camera;
  YAML::Mark id_mark;
  try {
    SKYNET_RETURN_IF_ERROR(parser.ParseCamera(*root, "", &camera, &id_mark));
  } catch (const YAML::Exception& e) {
    return parser.Error(e.mark, "yaml", e.msg);
  }
  return camera;
}

Status ValidateCameraConfig(const CameraConfig& camera) {
  const std::string who = camera.id.empty() ? std::string("camera") : "camera " + camera.id;
  auto error = [&](std::string_view field, const std::string& message) {
    return Status::InvalidArgument(who + ": " + std::string(field) + ": " + message);
  };
  std::vector<std::pair<std::string_view, std::string>> checks = {
      {"id", CheckId(camera.id)},
      {"url", camera.url.empty() ? "must not be empty" : CheckCameraUrl(camera.url)},
      {"analytics_fps", CheckFps(camera.analytics_fps)},
      {"detect_width", CheckDetectWidth(camera.detect_width)},
      {"rtsp_transport", CheckTransport(camera.rtsp_transport)},
      {"connect_timeout_ms", CheckIntRange(camera.connect_timeout_ms, kConnectTimeoutMs)},
      {"stall_timeout_ms", CheckIntRange(camera.stall_timeout_ms, kStallTimeoutMs)},
      {"backoff_initial_ms", CheckIntRange(camera.backoff_initial_ms, kBackoffMs)},
      {"backoff_max_ms", CheckIntRange(camera.backoff_max_ms, kBackoffMs)},
  };
  for (const auto& [field, message] : checks) {
    if (!message.empty()) return error(field, message);
  }
  // Mask shapes are checked here too, as the parser does, for the zero-area test.
  for (size_t i = 0; i < camera.motion.masks.size(); ++i) {
    if (std::string m = CheckPolygon(camera.motion.masks[i]); !m.empty()) {
      return error("motion.masks[" + std::to_string(i) + "]", m);
    }
  }
  if (std::string m = CheckBackoff(camera.backoff_initial_ms, camera.backoff_max_ms); !m.empty()) {
    return error("backoff_max_ms", m);
  }
  if (Status st = analytics::ValidateMotionOptions(camera.motion); !st.ok()) {
    return Status::InvalidArgument(who + ": motion." + st.message());
  }
  if (Status st = ValidateVehicles(camera.vehicles); !st.ok()) {
    return Status::InvalidArgument(who + ": vehicles." + st.message());
  }
  return Status::Ok();
}

bool VehiclesConfig::operator==(const VehiclesConfig& o) const {
  const analytics::VehicleAnalyticsOptions& a = analytics;
  const analytics::VehicleAnalyticsOptions& b = o.analytics;
  return enabled == o.enabled && backend == o.backend && SameClassical(classical, o.classical) &&
         SameDetector(detector, o.detector) && SameTracker(a.tracker, b.tracker) &&
         SameRules(a.rules, b.rules) && SameCalibration(a.calibration, b.calibration) &&
         std::tie(a.snapshot_improvement, a.snapshot_update_interval_ms, a.colour_every_frames) ==
             std::tie(b.snapshot_improvement, b.snapshot_update_interval_ms, b.colour_every_frames);
}

}  // namespace skynet::daemon
