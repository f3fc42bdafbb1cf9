#include "daemon/config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "pipeline/analytics/video_quality.h"
#include "pipeline/core/url.h"
#include "skynet/keys.h"

namespace skynet::daemon {
namespace {

// ---------------------------------------------------------------------------------------------
// Value checks of the validators below and of the parser's top-level keys. Each returns an empty
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
  if (url.empty()) return "must not be empty";
  static constexpr std::string_view kSchemes[] = {"rtsp://", "rtsps://", "file://"};
  for (std::string_view scheme : kSchemes) {
    if (url.rfind(scheme, 0) == 0) {
      if (url.size() == scheme.size()) return "has nothing after " + std::string(scheme);
      // The same split as redaction (pipeline/core/url.h): host, port, brackets, userinfo.
      Result<Url> parsed = ParseUrl(url);
      if (!parsed.ok()) return parsed.status().message();
      if (scheme != "file://" && parsed->host.empty()) return "has no host";
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

// "host:port" of an HTTP listener: a host (an IPv6 address in brackets) and a port 0..65535.
std::string CheckHostPort(const std::string& endpoint) {
  if (endpoint.empty()) return "";  // off
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return "must be host:port (e.g. 127.0.0.1:9464), got '" + endpoint + "'";
  }
  const std::string port = endpoint.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return "port must be 0..65535, got '" + port + "'";
  }
  const std::string host = endpoint.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') return "IPv6 host must be in brackets";
  if (host.front() != '[' && host.find(':') != std::string::npos) {
    return "an IPv6 host must be in brackets, e.g. [::1]:9464";
  }
  return "";
}

std::string CheckLogLevel(const std::string& level) {
  static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  for (std::string_view l : kLevels) {
    if (level == l) return "";
  }
  return "must be one of trace, debug, info, warn, error, critical, off; got '" + level + "'";
}

// Inclusive integer ranges.
struct Range {
  long long lo, hi;
};
constexpr Range kHeartbeatMs{10, 60'000};
constexpr Range kWorkers{0, 256};
constexpr Range kDetectWidth{64, 1920};
constexpr Range kConnectTimeoutMs{500, 600'000};
constexpr Range kStallTimeoutMs{200, 600'000};
constexpr Range kBackoffMs{10, 3'600'000};
constexpr Range kReplayRate{1, 10'000'000};
constexpr Range kJournalBytes{1 << 20, int64_t{1} << 50};
constexpr Range kSegmentBytes{64 << 10, int64_t{1} << 30};
constexpr Range kStartBurst{1, 100'000};
constexpr Range kSnapshotFrames{0, 64};
constexpr Range kSendHwm{100, 1'000'000};
constexpr Range kMaxSubscribers{0, 10'000};
constexpr Range kMaxRequestBytes{1024, 16 << 20};
constexpr Range kMaxRecords{0, int64_t{1} << 40};
constexpr Range kMaxQueuedRecords{1, 1'000'000};
constexpr Range kSampleIntervalMs{100, 3'600'000};
constexpr Range kDnnThreads{0, 256};
constexpr Range kAnalysisHoldMs{0, 10'000};
constexpr Range kEvidenceBytes{0, int64_t{1} << 50};
constexpr Range kRingBytes{1 << 20, int64_t{1} << 32};
constexpr Range kAnyInt{INT32_MIN, INT32_MAX};

std::string CheckIntRange(long long v, Range r) {
  if (v < r.lo || v > r.hi) {
    return "must be in " + std::to_string(r.lo) + ".." + std::to_string(r.hi) + ", got " +
           std::to_string(v);
  }
  return "";
}

std::string CheckStartRate(double v) {
  if (!(v >= 0 && v <= 100'000))
    return "must be in 0..100000 (0: no limit), got " + FormatNumber(v);
  return "";
}

std::string CheckAgeHours(double v) {
  if (!(v >= 0 && v <= 87600)) return "must be in 0..87600 (0: no age limit), got " + FormatNumber(v);
  return "";
}

std::string CheckRetentionDays(double v) {
  if (!(v >= 0 && v <= 36500)) {
    return "must be in 0..36500 (0: no age limit), got " + FormatNumber(v);
  }
  return "";
}

std::string CheckRollSeconds(double v) {
  if (!(v >= 0 && v <= 300)) return "must be in 0..300 seconds, got " + FormatNumber(v);
  return "";
}

std::string CheckSegmentSeconds(double v) {
  if (!(v >= 10 && v <= 3600)) return "must be in 10..3600 seconds, got " + FormatNumber(v);
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

std::string CheckFraction(double v) {
  if (!(v >= 0 && v <= 1)) return "must be in [0, 1], got " + FormatNumber(v);
  return "";
}

// The first failed check of a list of (field, message) pairs as "field: message", else ok.
Status FirstError(std::initializer_list<std::pair<std::string, std::string>> checks) {
  for (const auto& [field, message] : checks) {
    if (!message.empty()) return Status::InvalidArgument(field + ": " + message);
  }
  return Status::Ok();
}

// A status whose message is prefixed with `path` ("motion." + "threshold: ...").
Status Prefixed(const std::string& path, Status st) {
  if (st.ok()) return st;
  return Status(st.code(), path + st.message());
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

// Mask polygons: normalised coordinates, at least 3 points, some area. (The motion detector's
// own validation is looser: it has no area test.) Paths start with "masks[i]".
Status ValidateMasks(const std::vector<std::vector<cv::Point2f>>& masks) {
  for (size_t i = 0; i < masks.size(); ++i) {
    const std::string poly = "masks[" + std::to_string(i) + "]";
    for (size_t j = 0; j < masks[i].size(); ++j) {
      const cv::Point2f& p = masks[i][j];
      const std::string point = poly + "[" + std::to_string(j) + "]";
      SKYNET_RETURN_IF_ERROR(
          FirstError({{point + "[0]", CheckFraction(p.x)}, {point + "[1]", CheckFraction(p.y)}}));
    }
    SKYNET_RETURN_IF_ERROR(FirstError({{poly, CheckPolygon(masks[i])}}));
  }
  return Status::Ok();
}

// Position and neighbours; paths relative to the camera ("neighbours[1].travel_s: ...").
Status ValidatePlace(const CameraConfig& camera) {
  if (camera.position) {
    const GeoPosition& p = *camera.position;
    SKYNET_RETURN_IF_ERROR(FirstError(
        {{"position.lat", p.lat >= -90 && p.lat <= 90
                              ? ""
                              : "must be in -90..90 (degrees north), got " + FormatNumber(p.lat)},
         {"position.lon", p.lon >= -180 && p.lon <= 180
                              ? ""
                              : "must be in -180..180 (degrees east), got " + FormatNumber(p.lon)},
         {"position.bearing_deg",
          !p.bearing_deg || (*p.bearing_deg >= 0 && *p.bearing_deg <= 360)
              ? ""
              : "must be in 0..360 (degrees clockwise from north), got " +
                    FormatNumber(*p.bearing_deg)}}));
  }
  for (size_t i = 0; i < camera.neighbours.size(); ++i) {
    const CameraNeighbour& n = camera.neighbours[i];
    const std::string at = "neighbours[" + std::to_string(i) + "]";
    std::string same;
    for (size_t j = 0; j < i; ++j) {
      if (camera.neighbours[j].camera == n.camera) {
        same = "repeated camera '" + n.camera + "' (also neighbours[" + std::to_string(j) + "])";
      }
    }
    SKYNET_RETURN_IF_ERROR(FirstError(
        {{at + ".camera", CheckId(n.camera)},
         {at + ".camera", n.camera == camera.id ? "a camera is not its own neighbour" : ""},
         {at + ".camera", same},
         {at + ".travel_s", n.travel_s > 0 && n.travel_s <= 86400
                                ? ""
                                : "must be > 0 and at most 86400 seconds, got " +
                                      FormatNumber(n.travel_s)}}));
  }
  return Status::Ok();
}

// Every check of one camera; paths relative to the camera ("motion.threshold: ...").
Status ValidateCamera(const CameraConfig& camera) {
  SKYNET_RETURN_IF_ERROR(
      FirstError({{"id", CheckId(camera.id)}, {"url", CheckCameraUrl(camera.url)}}));
  SKYNET_RETURN_IF_ERROR(ValidatePlace(camera));
  SKYNET_RETURN_IF_ERROR(ValidateIngestOptions(camera.ingest));
  SKYNET_RETURN_IF_ERROR(Prefixed("motion.", ValidateMasks(camera.motion.masks)));
  SKYNET_RETURN_IF_ERROR(Prefixed("motion.", analytics::ValidateMotionOptions(camera.motion)));
  return Prefixed("vehicles.", ValidateVehiclesConfig(camera.vehicles));
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
    case YAML::NodeType::Scalar: {  // quoted, at most 60 bytes (garbage can be long)
      // A URL given to the wrong key must not show its credentials in the error.
      const std::string s = node.Scalar().find("://") != std::string::npos
                                ? RedactUrl(node.Scalar())
                                : node.Scalar();
      return s.size() <= 60 ? "'" + s + "'" : "'" + s.substr(0, 60) + "...'";
    }
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
// The YAML adapter: walks the node tree and converts every value where it is (types and shapes,
// so that each error carries the node's line and column), then runs the validators above on what
// it built and places their errors at the key they name.

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

  // Places a validator's error: its message "rules.zones[1].polygon: needs ..." names a key path
  // inside `section` (parsed as `field`); the error points at the deepest node along that path.
  // `anchors` maps a path whose key is absent to a sibling key that caused the rule (an absent
  // detector.model_path is the fault of `backend: dnn`).
  Status Place(const YAML::Node& section, const std::string& field, const Status& st,
               const std::map<std::string, std::string>& anchors = {}) const {
    if (st.ok()) return st;
    const std::string& msg = st.message();
    const size_t colon = msg.find(": ");
    if (colon == std::string::npos || msg.find(' ') < colon) return Error(section, field, msg);
    const std::string path = msg.substr(0, colon);
    auto [node, complete] = NodeAt(section, path);
    if (auto anchor = anchors.find(path); !complete && anchor != anchors.end()) {
      if (auto [a, found] = NodeAt(section, anchor->second); found) node.reset(a);
    }
    return Error(node.IsNull() ? section.Mark() : node.Mark(), Join(field, path),
                 msg.substr(colon + 2));
  }

  // --- mappings ------------------------------------------------------------------------------

  // One entry of a mapping's key table: the handler gets the value node and its field path.
  using Handler = std::function<Status(const YAML::Node& value, const std::string& field)>;
  using KeyTable = std::vector<std::pair<std::string_view, Handler>>;

  // Calls the handler of each key present in `map`. Unknown and repeated keys are errors at the
  // key; yaml-cpp itself accepts repeated keys and would silently keep one of them.
  // With `keep` (the top level, a camera), a key's error is appended to *keep and the next key
  // parsed, so that one run reports every broken key; without, the first error is returned.
  Status ParseMap(const YAML::Node& map, const std::string& field, const KeyTable& table,
                  std::vector<Status>* keep = nullptr) {
    if (!map.IsMap()) return Error(map, field, "expected a mapping, got " + Describe(map));
    auto fail = [&](Status st) {
      if (keep == nullptr || st.ok()) return st;
      keep->push_back(std::move(st));
      return Status::Ok();
    };
    std::map<std::string, int, std::less<>> seen;  // key -> line (1-based)
    for (const auto& entry : map) {                // entry: a pair of nodes, by value
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        SKYNET_RETURN_IF_ERROR(fail(Error(key, field, "keys must be plain names")));
        continue;
      }
      const std::string& name = key.Scalar();
      std::string key_field = Join(field, name);
      if (auto [pos, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
        SKYNET_RETURN_IF_ERROR(fail(Error(
            key, key_field,
            "repeated key (first given at line " + std::to_string(pos->second) + ")")));
        continue;
      }
      const Handler* handler = nullptr;
      for (const auto& [k, h] : table) {
        if (k == name) handler = &h;
      }
      if (handler == nullptr) {
        SKYNET_RETURN_IF_ERROR(fail(Error(key, key_field, UnknownKeyMessage(name, table))));
        continue;
      }
      null_value_mark_ = key.Mark();
      SKYNET_RETURN_IF_ERROR(fail((*handler)(entry.second, key_field)));
    }
    return Status::Ok();
  }
  Handler Map(KeyTable table) {
    return [this, table = std::move(table)](const YAML::Node& n, const std::string& f) {
      return ParseMap(n, f, table);
    };
  }
  // A list: `item` parses one entry (its node and field, e.g. "rules.lines[2]"). Null: none.
  Handler List(std::function<Status(const YAML::Node&, const std::string&)> item,
               const char* what = "a list") {
    return [this, item, what](const YAML::Node& n, const std::string& f) -> Status {
      if (n.IsNull()) return Status::Ok();
      if (!n.IsSequence())
        return Error(n, f, std::string("expected ") + what + ", got " + Describe(n));
      for (size_t i = 0; i < n.size(); ++i) {
        null_value_mark_ = n[i].Mark();
        SKYNET_RETURN_IF_ERROR(item(n[i], f + "[" + std::to_string(i) + "]"));
      }
      return Status::Ok();
    };
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
  Status ReadInt64(const YAML::Node& node, const std::string& field, Range range,
                   int64_t* out) const {
    long long v = 0;
    if (!node.IsScalar() || !YAML::convert<long long>::decode(node, v)) {
      return Error(node, field, "expected an integer, got " + Describe(node));
    }
    SKYNET_RETURN_IF_ERROR(Check(node, field, CheckIntRange(v, range)));
    *out = v;
    return Status::Ok();
  }
  Status ReadDouble(const YAML::Node& node, const std::string& field, double* out) const {
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, *out)) {
      return Error(node, field, "expected a number, got " + Describe(node));
    }
    return Status::Ok();
  }

  // Handler factories. Ranges and checks here only for the node-wide settings, which have no
  // validator of their own; camera settings are judged by ValidateCamera() after parsing.
  Handler String(std::string* out, std::function<std::string(const std::string&)> check = {}) {
    return [this, out, check](const YAML::Node& n, const std::string& f) -> Status {
      SKYNET_RETURN_IF_ERROR(ReadString(n, f, out));
      return check ? Check(n, f, check(*out)) : Status::Ok();
    };
  }
  // A word from a fixed set: `parse` stores it and returns true, or refuses it (false), and the
  // error says "must be <expected>, got '<word>'".
  Handler Word(std::function<bool(const std::string&)> parse, std::string expected) {
    return [this, parse, expected](const YAML::Node& n, const std::string& f) -> Status {
      std::string s;
      SKYNET_RETURN_IF_ERROR(ReadString(n, f, &s));
      if (parse(s)) return Status::Ok();
      return Error(n, f, "must be " + expected + ", got '" + s + "'");
    };
  }
  // `handler`, noting in *given that the key was there.
  Handler Flag(bool* given, Handler handler) {
    return [given, handler](const YAML::Node& n, const std::string& f) {
      *given = true;
      return handler(n, f);
    };
  }
  Handler Bool(bool* out) {
    return [this, out](const YAML::Node& n, const std::string& f) { return ReadBool(n, f, out); };
  }
  Handler Int(int* out, Range range = kAnyInt) {
    return [this, out, range](const YAML::Node& n, const std::string& f) -> Status {
      int64_t v = 0;
      SKYNET_RETURN_IF_ERROR(ReadInt64(n, f, range, &v));
      *out = static_cast<int>(v);
      return Status::Ok();
    };
  }
  Handler Int64(int64_t* out, Range range) {
    return [this, out, range](const YAML::Node& n, const std::string& f) {
      return ReadInt64(n, f, range, out);
    };
  }
  Handler Double(double* out, std::function<std::string(double)> check = {}) {
    return [this, out, check](const YAML::Node& n, const std::string& f) -> Status {
      SKYNET_RETURN_IF_ERROR(ReadDouble(n, f, out));
      return check ? Check(n, f, check(*out)) : Status::Ok();
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
  // A polygon: a list of normalised points [x, y].
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

  // --- the node ------------------------------------------------------------------------------

  Status ParseTop(const YAML::Node& root, Config* config) {
    if (root.IsNull()) return Status::Ok();  // empty file: all defaults
    KeyTable table = {
        {"node_id", String(&config->node_id, CheckId)},
        {"event_endpoint", String(&config->event_endpoint, CheckEndpoint)},
        {"control_endpoint", String(&config->control_endpoint, CheckEndpoint)},
        {"heartbeat_interval_ms", Int(&config->heartbeat_interval_ms, kHeartbeatMs)},
        {"replay_endpoint", String(&config->replay_endpoint, CheckEndpoint)},
        {"metrics_endpoint", String(&config->metrics_endpoint, CheckHostPort)},
        {"replay_max_events_per_second", Int(&config->replay_max_events_per_second, kReplayRate)},
        {"journal", [&](const YAML::Node& n,
                        const std::string& f) { return ParseJournal(n, f, &config->journal); }},
        {"records",
         Map({{"enabled", Bool(&config->records.enabled)},
              {"path", String(&config->records.path)},
              {"retention_days", Double(&config->records.retention_days, CheckRetentionDays)},
              {"max_records", Int64(&config->records.max_records, kMaxRecords)},
              {"max_queued", Int64(&config->records.max_queued, kMaxQueuedRecords)}})},
        {"evidence", Map(EvidenceKeys(&config->evidence))},
        {"security", Map(SecurityKeys(&config->security))},
        {"control", Map({{"audit_log", String(&config->control.audit_log)},
                         {"audit_reads", Bool(&config->control.audit_reads)},
                         {"max_request_bytes",
                          Int64(&config->control.max_request_bytes, kMaxRequestBytes)}})},
        {"feed", Map({{"send_hwm", Int(&config->feed.send_hwm, kSendHwm)},
                      {"max_subscribers", Int(&config->feed.max_subscribers, kMaxSubscribers)}})},
        {"analytics_workers", Int(&config->analytics_workers, kWorkers)},
        {"dnn", Map({{"threads", Int(&config->dnn.threads, kDnnThreads)}})},
        {"testing",
         Map({{"analysis_hold_ms", Int(&config->testing.analysis_hold_ms, kAnalysisHoldMs)}})},
        {"ingest", Map({{"start_rate_per_second",
                         Double(&config->ingest.start_rate_per_second, CheckStartRate)},
                        {"start_burst", Int(&config->ingest.start_burst, kStartBurst)}})},
        {"video_quality",
         [&](const YAML::Node& n, const std::string& f) {
           return ParseVideoQuality(n, f, &config->video_quality);
         }},
        {"log_level", String(&config->log_level, CheckLogLevel)},
        {"cameras", [&](const YAML::Node& n,
                        const std::string& f) { return ParseCameras(n, f, &config->cameras); }},
    };
    SKYNET_RETURN_IF_ERROR(ParseMap(root, "", table, &errors_));
    if (!config->replay_endpoint.empty() && config->journal.dir.empty()) {
      errors_.push_back(Error(root["replay_endpoint"].Mark(), "replay_endpoint",
                              "needs a journal to replay from: set journal.dir"));
    }
    return Status::Ok();
  }

  // Whether and how the top level gave `cameras:` (set by ParseCameras).
  enum class CamerasKey { kAbsent, kNull, kGiven };
  CamerasKey cameras_key() const { return cameras_key_; }

  // Errors kept by the keep-going parts (top-level keys, cameras), in file order.
  void AddError(Status st) { errors_.push_back(std::move(st)); }
  // Ok if none; else one status whose message has one error per line.
  Status Errors() const { return Joined(errors_); }
  static Status Joined(const std::vector<Status>& errors) {
    if (errors.empty()) return Status::Ok();
    std::string message;
    for (const Status& e : errors) {
      if (!message.empty()) message += "\n";
      message += e.message();
    }
    return Status(errors.front().code(), std::move(message));
  }

  Status ParseJournal(const YAML::Node& node, const std::string& field, JournalConfig* j) {
    KeyTable table = {
        {"dir", String(&j->dir)},
        {"fsync", Word([j](const std::string& s) { return ParseFsyncPolicy(s, &j->fsync); },
                       "none, interval or every")},
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

  Status ParseVideoQuality(const YAML::Node& node, const std::string& field,
                           VideoQualityConfig* q) {
    KeyTable checks;
    for (int i = 0; i < analytics::kQualityCheckCount; ++i) {
      const auto check = static_cast<analytics::QualityCheck>(i);
      analytics::QualityThresholds* t = &analytics::ThresholdsFor(q->options, check);
      checks.emplace_back(analytics::QualityCheckName(check),
                          Map({{"enter", Double(&t->enter)},
                               {"leave", Double(&t->leave)},
                               {"enter_ms", Int(&t->enter_ms)},
                               {"leave_ms", Int(&t->leave_ms)}}));
    }
    KeyTable table = {
        {"enabled", Bool(&q->enabled)},
        {"sample_interval_ms", Int(&q->sample_interval_ms, kSampleIntervalMs)},
        {"reference_dir", String(&q->reference_dir)},
        {"warmup_samples", Int(&q->options.warmup_samples)},
        {"checks", Map(std::move(checks))},
    };
    SKYNET_RETURN_IF_ERROR(ParseMap(node, field, table));
    // The monitor's messages name its fields: "frozen.enter: ..." is checks.frozen.enter here.
    Status st = analytics::ValidateVideoQualityOptions(q->options);
    if (!st.ok() && st.message().rfind("warmup_samples", 0) != 0) st = Prefixed("checks.", st);
    return Place(node, field, st);
  }

  KeyTable EvidenceKeys(EvidenceConfig* e) {
    auto clip_on = [this, e](const YAML::Node& n, const std::string& f) -> Status {
      if (!n.IsSequence()) {
        return Error(n, f, "expected a list of vehicle_rules, motion_start; got " + Describe(n));
      }
      e->clip_on_vehicle_rules = e->clip_on_motion_start = false;
      for (size_t i = 0; i < n.size(); ++i) {
        const std::string item_field = f + "[" + std::to_string(i) + "]";
        std::string word;
        SKYNET_RETURN_IF_ERROR(ReadString(n[i], item_field, &word));
        if (word == "vehicle_rules") {
          e->clip_on_vehicle_rules = true;
        } else if (word == "motion_start") {
          e->clip_on_motion_start = true;
        } else {
          return Error(n[i], item_field,
                       "must be vehicle_rules or motion_start, got '" + word + "'");
        }
      }
      return Status::Ok();
    };
    return {{"path", String(&e->path)},
            {"max_bytes", Int64(&e->max_bytes, kEvidenceBytes)},
            {"max_bytes_per_camera", Int64(&e->max_bytes_per_camera, kEvidenceBytes)},
            {"retention_days", Double(&e->retention_days, CheckRetentionDays)},
            {"pre_roll_s", Double(&e->pre_roll_s, CheckRollSeconds)},
            {"post_roll_s", Double(&e->post_roll_s, CheckRollSeconds)},
            {"clip_on", clip_on},
            {"ring_max_bytes", Int64(&e->ring_max_bytes, kRingBytes)},
            {"record_cameras",
             [this, e](const YAML::Node& n, const std::string& f) -> Status {
               if (!n.IsSequence()) return Error(n, f, "expected a list of camera ids, got " + Describe(n));
               for (size_t i = 0; i < n.size(); ++i) {
                 std::string id;
                 const std::string item = f + "[" + std::to_string(i) + "]";
                 SKYNET_RETURN_IF_ERROR(ReadString(n[i], item, &id));
                 SKYNET_RETURN_IF_ERROR(Check(n[i], item, CheckId(id)));
                 e->record_cameras.push_back(id);
               }
               return Status::Ok();
             }},
            {"segment_s", Double(&e->segment_s, CheckSegmentSeconds)}};
  }

  KeyTable SecurityKeys(SecurityConfig* sec) {
    auto client = [this, sec](const YAML::Node& n, const std::string& f) -> Status {
      ClientKeyConfig c;
      SKYNET_RETURN_IF_ERROR(ParseMap(
          n, f,
          {{"name", String(&c.name, CheckId)},
           {"public_key",
            String(&c.public_key, [](const std::string& k) { return keys::Z85KeyError(k); })},
           {"role",
            Word([&c](const std::string& s) { return ParseRole(s, &c.role); }, "read or admin")}}));
      if (c.name.empty()) return Error(n, f, "missing required key 'name'");
      if (c.public_key.empty()) return Error(n, f, "missing required key 'public_key'");
      for (const ClientKeyConfig& other : sec->clients) {
        if (other.name == c.name) return Error(n, f + ".name", "repeated name");
        if (other.public_key == c.public_key) {
          return Error(n, f + ".public_key", "same key as " + other.name);
        }
      }
      sec->clients.push_back(std::move(c));
      return Status::Ok();
    };
    return {{"server_key_file", String(&sec->server_key_file)}, {"clients", List(client)}};
  }

  // --- cameras -------------------------------------------------------------------------------

  Status ParseCameras(const YAML::Node& node, const std::string& field,
                      std::vector<CameraConfig>* cameras) {
    cameras_key_ = node.IsNull() ? CamerasKey::kNull : CamerasKey::kGiven;
    if (node.IsNull()) return Status::Ok();  // "cameras:" with nothing: none yet
    if (!node.IsSequence()) return Error(node, field, "expected a list, got " + Describe(node));
    std::map<std::string, int, std::less<>> first_line;  // id -> line of its first definition
    std::vector<size_t> item_of;  // index in `node` of each camera kept
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node& item = node[i];
      std::string item_field = field + "[" + std::to_string(i) + "]";
      null_value_mark_ = item.Mark();  // an empty "-" item: its own mark is the best there is
      CameraConfig camera;
      YAML::Mark id_mark;
      // Each camera's first error is kept and the next camera parsed (one report for all).
      if (Status st = ParseCamera(item, item_field, &camera, &id_mark); !st.ok()) {
        errors_.push_back(std::move(st));
        continue;
      }
      if (auto [pos, inserted] = first_line.emplace(camera.id, id_mark.line + 1); !inserted) {
        errors_.push_back(Error(id_mark, item_field + ".id",
                                "duplicate camera id '" + camera.id + "' (first defined at line " +
                                    std::to_string(pos->second) + ")"));
        continue;
      }
      cameras->push_back(std::move(camera));
      item_of.push_back(i);
    }
    // Neighbours name cameras of this file.
    for (size_t c = 0; c < cameras->size(); ++c) {
      const std::vector<CameraNeighbour>& nbs = (*cameras)[c].neighbours;
      for (size_t j = 0; j < nbs.size(); ++j) {
        if (first_line.count(nbs[j].camera) != 0) continue;
        std::string ids;
        for (const CameraConfig& other : *cameras) ids += (ids.empty() ? "" : ", ") + other.id;
        const YAML::Node at = node[item_of[c]]["neighbours"][j]["camera"];
        errors_.push_back(Error(at.Mark(),
                                field + "[" + std::to_string(item_of[c]) + "].neighbours[" +
                                    std::to_string(j) + "].camera",
                                "no camera '" + nbs[j].camera + "' in this file (cameras: " +
                                    ids + ")"));
      }
    }
    return Status::Ok();
  }

  // Reads one camera mapping, then judges it with ValidateCamera().
  Status ParseCamera(const YAML::Node& node, const std::string& field, CameraConfig* camera,
                     YAML::Mark* id_mark) {
    bool have_id = false, have_url = false;
    KeyTable table = {
        {"id",
         [&](const YAML::Node& n, const std::string& f) {
           have_id = true;
           *id_mark = n.Mark();
           return ReadString(n, f, &camera->id);
         }},
        {"name", String(&camera->name)},
        {"url",
         [&](const YAML::Node& n, const std::string& f) {
           have_url = true;
           return ReadString(n, f, &camera->url);
         }},
        {"username", String(&camera->username)},
        {"enabled", Bool(&camera->enabled)},
        {"motion", Map(MotionKeys(&camera->motion))},
        {"vehicles",
         [this, v = &camera->vehicles](const YAML::Node& n, const std::string& f) -> Status {
           if (n.IsNull()) return Status::Ok();
           return ParseMap(n, f, VehiclesKeys(v));
         }},
        {"position",
         [this, camera](const YAML::Node& n, const std::string& f) -> Status {
           GeoPosition p;
           bool lat = false, lon = false, bearing = false;
           double bearing_deg = 0;
           SKYNET_RETURN_IF_ERROR(
               ParseMap(n, f,
                        {{"lat", Flag(&lat, Double(&p.lat))},
                         {"lon", Flag(&lon, Double(&p.lon))},
                         {"bearing_deg", Flag(&bearing, Double(&bearing_deg))}}));
           if (!lat || !lon) return Error(n, f, "needs both lat and lon");
           if (bearing) p.bearing_deg = bearing_deg;
           camera->position = p;
           return Status::Ok();
         }},
        {"neighbours", List([this, camera](const YAML::Node& n, const std::string& f) -> Status {
           CameraNeighbour nb;
           bool id = false, travel = false;
           SKYNET_RETURN_IF_ERROR(ParseMap(n, f,
                                           {{"camera", Flag(&id, String(&nb.camera))},
                                            {"travel_s", Flag(&travel, Double(&nb.travel_s))}}));
           if (!id) return Error(n, f, "missing required key 'camera'");
           if (!travel) return Error(n, f, "missing required key 'travel_s'");
           camera->neighbours.push_back(std::move(nb));
           return Status::Ok();
         })},
    };
    AddSecretKeys(&camera->password, &table);
    AddIngestKeys(&camera->ingest, &table);
    // Every broken key of the camera is reported; its values are judged only once they all read.
    std::vector<Status> errors;
    SKYNET_RETURN_IF_ERROR(ParseMap(node, field, table, &errors));
    if (!have_id) errors.push_back(Error(node, field, "missing required key 'id'"));
    if (!have_url) errors.push_back(Error(node, field, "missing required key 'url'"));
    if (!errors.empty()) return Joined(errors);
    if (camera->name.empty()) camera->name = camera->id;
    return Place(node, field, ValidateCamera(*camera),
                 {{"vehicles.detector.model_path", "vehicles.backend"}});
  }

  // password, password_file and password_env: at most one of them, each giving the password.
  void AddSecretKeys(std::string* password, KeyTable* table) {
    auto given = std::make_shared<std::string>();  // which key gave it, shared by the handlers
    auto secret =
        [this, given](
            std::string_view key,
            std::function<Status(const YAML::Node&, const std::string&)> read) -> Handler {
      return [this, given, key, read](const YAML::Node& n, const std::string& f) -> Status {
        if (!given->empty()) {
          return Error(n, f,
                       "conflicts with " + *given +
                           "; give only one of password, password_file, password_env");
        }
        *given = std::string(key);
        return read(n, f);
      };
    };
    table->insert(
        table->end(),
        {{"password", secret("password",
                             [this, password](const YAML::Node& n, const std::string& f) {
                               return ReadString(n, f, password);
                             })},
         {"password_file", secret("password_file",
                                  [this, password](const YAML::Node& n, const std::string& f) {
                                    return ReadPasswordFile(n, f, password);
                                  })},
         {"password_env",
          secret("password_env", [this, password](const YAML::Node& n, const std::string& f) {
            return ReadPasswordEnv(n, f, password);
          })}});
  }

  Status ReadPasswordFile(const YAML::Node& n, const std::string& f, std::string* password) {
    std::string path;
    SKYNET_RETURN_IF_ERROR(ReadString(n, f, &path));
    if (path.empty()) return Error(n, f, "must not be empty");
    std::filesystem::path p(path);
    if (p.is_relative() && !base_dir_.empty()) p = base_dir_ / p;
    std::string contents, error;
    if (!ReadWholeFile(p.string(), &contents, &error)) {
      return Error(n, f, "cannot read '" + p.string() + "': " + error);
    }
    *password = Trim(contents);
    if (password->empty()) return Error(n, f, "'" + p.string() + "' is empty");
    return Status::Ok();
  }

  Status ReadPasswordEnv(const YAML::Node& n, const std::string& f, std::string* password) {
    std::string var;
    SKYNET_RETURN_IF_ERROR(ReadString(n, f, &var));
    if (var.empty()) return Error(n, f, "must name an environment variable");
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) return Error(n, f, "environment variable " + var + " is not set");
    if (*value == '\0') return Error(n, f, "environment variable " + var + " is empty");
    *password = value;
    return Status::Ok();
  }

  // The ingest options: flat keys of the camera mapping.
  void AddIngestKeys(ingest::IngestOptions* o, KeyTable* table) {
    table->insert(table->end(), {{"analytics", Word(
                                                   [o](const std::string& s) {
                                                     return ingest::ParseAnalyticsTier(
                                                         s, &o->analytics);
                                                   },
                                                   "full, motion or health")},
                                 {"analytics_fps", Double(&o->analytics_fps)},
                                 {"detect_width", Int(&o->detect_width)},
                                 {"rtsp_transport", Word(
                                                        [o](const std::string& s) {
                                                          if (s != "tcp" && s != "udp")
                                                            return false;
                                                          o->rtsp_tcp = s == "tcp";
                                                          return true;
                                                        },
                                                        "tcp or udp")},
                                 {"file_realtime", Bool(&o->file_realtime)},
                                 {"file_loop", Bool(&o->file_loop)},
                                 {"connect_timeout_ms", Int(&o->connect_timeout_ms)},
                                 {"stall_timeout_ms", Int(&o->stall_timeout_ms)},
                                 {"backoff_initial_ms", Int(&o->backoff_initial_ms)},
                                 {"backoff_max_ms", Int(&o->backoff_max_ms)}});
  }

  KeyTable MotionKeys(analytics::MotionOptions* m) {
    auto mask = [this, m](const YAML::Node& n, const std::string& f) -> Status {
      m->masks.emplace_back();
      return ReadMask(n, f, &m->masks.back());
    };
    return {
        {"threshold", Int(&m->threshold)},
        {"min_region_area", Double(&m->min_region_area)},
        {"start_frames", Int(&m->start_frames)},
        {"end_quiet_ms", Int(&m->end_quiet_ms)},
        {"update_interval_ms", Int(&m->update_interval_ms)},
        {"masks", List(mask, "a list of polygons")},
        {"background_adapt_ms", Int(&m->background_adapt_ms)},
        {"foreground_adapt_ms", Int(&m->foreground_adapt_ms)},
        {"max_brightness_step", Int(&m->max_brightness_step)},
        {"global_change_fraction", Double(&m->global_change_fraction)},
        {"dilate_px", Int(&m->dilate_px)},
        {"max_regions", Int(&m->max_regions)},
        {"shake_compensation", Bool(&m->shake_compensation)},
        {"min_shake_px", Double(&m->min_shake_px)},
        {"max_shake_px", Double(&m->max_shake_px)},
        {"auto_contrast", Bool(&m->auto_contrast)},
        {"contrast_reference_range", Int(&m->contrast_reference_range)},
        {"night_brightness", Int(&m->night_brightness)},
        {"night_threshold", Int(&m->night_threshold)},
        {"night_min_region_area", Double(&m->night_min_region_area)},
    };
  }

  // A mask polygon: a list of points [x, y] (numbers; ValidateMasks() judges the values).
  Status ReadMask(const YAML::Node& node, const std::string& field,
                  std::vector<cv::Point2f>* poly) {
    if (!node.IsSequence()) {
      return Error(node, field,
                   "expected a polygon (a list of [x, y] points), got " + Describe(node));
    }
    for (size_t j = 0; j < node.size(); ++j) {
      const YAML::Node& pt = node[j];
      std::string pt_field = field + "[" + std::to_string(j) + "]";
      null_value_mark_ = pt.Mark();
      if (!pt.IsSequence() || pt.size() != 2) {
        return Error(pt, pt_field, "expected a point [x, y], got " + Describe(pt));
      }
      double xy[2];
      for (size_t k = 0; k < 2; ++k) {
        SKYNET_RETURN_IF_ERROR(ReadDouble(pt[k], pt_field + "[" + std::to_string(k) + "]", &xy[k]));
      }
      poly->emplace_back(static_cast<float>(xy[0]), static_cast<float>(xy[1]));
    }
    return Status::Ok();
  }

  // --- vehicles: (docs/vehicles.md) ------------------------------------------------------------

  KeyTable VehiclesKeys(VehiclesConfig* v) {
    analytics::VehicleAnalyticsOptions* a = &v->analytics;
    return {
        {"enabled", Bool(&v->enabled)},
        {"backend", Word(
                        [v](const std::string& s) {
                          auto b = analytics::ParseDetectorBackend(s);
                          if (!b) return false;
                          v->backend = *b;
                          return true;
                        },
                        "classical or dnn")},
        {"calibration", CalibrationHandler(&a->calibration)},
        {"classical", Map(ClassicalKeys(&v->classical))},
        {"detector", Map(DetectorKeys(&v->detector))},
        {"tracker", Map(TrackerKeys(&a->tracker))},
        {"rules", Map(RulesKeys(&a->rules))},
        {"snapshot_improvement", Float(&a->snapshot_improvement)},
        {"snapshot_update_interval_ms", Int(&a->snapshot_update_interval_ms)},
        {"colour_every_frames", Int(&a->colour_every_frames)},
        {"snapshot_frames", Int(&v->snapshot_frames, kSnapshotFrames)},
    };
  }

  // `calibration:` needs both point lists; null: none.
  Handler CalibrationHandler(std::optional<analytics::CalibrationConfig>* out) {
    return [this, out](const YAML::Node& n, const std::string& f) -> Status {
      if (n.IsNull()) return Status::Ok();
      analytics::CalibrationConfig cal;
      bool have_image = false, have_ground = false;
      auto points4 = [this](std::array<cv::Point2f, 4>* points, bool fraction, bool* given) {
        return
            [this, points, fraction, given](const YAML::Node& pn, const std::string& pf) -> Status {
              *given = true;
              if (!pn.IsSequence() || pn.size() != 4) {
                return Error(pn, pf, "expected a list of 4 points [x, y], got " + Describe(pn));
              }
              for (size_t i = 0; i < 4; ++i) {
                SKYNET_RETURN_IF_ERROR(
                    ReadPoint(pn[i], pf + "[" + std::to_string(i) + "]", fraction, &(*points)[i]));
              }
              return Status::Ok();
            };
      };
      SKYNET_RETURN_IF_ERROR(
          ParseMap(n, f,
                   {{"image_points", points4(&cal.image_points, true, &have_image)},
                    {"ground_points", points4(&cal.ground_points, false, &have_ground)}}));
      if (!have_image) return Error(n, f, "missing required key 'image_points'");
      if (!have_ground) return Error(n, f, "missing required key 'ground_points'");
      *out = cal;
      return Status::Ok();
    };
  }

  KeyTable ClassicalKeys(analytics::ClassicalDetectorOptions* c) {
    return {
        {"threshold", Int(&c->threshold)},
        {"background_adapt_ms", Int(&c->background_adapt_ms)},
        {"foreground_adapt_ms", Int(&c->foreground_adapt_ms)},
        {"require_motion_support", Bool(&c->require_motion_support)},
        {"shadow_suppression", Bool(&c->shadow_suppression)},
        {"shadow_min_ratio", Float(&c->shadow_min_ratio)},
        {"shadow_max_ratio", Float(&c->shadow_max_ratio)},
        {"shadow_chroma_tolerance", Float(&c->shadow_chroma_tolerance)},
        {"shadow_texture_tolerance", Float(&c->shadow_texture_tolerance)},
        {"close_px", Int(&c->close_px)},
        {"min_blob_area", Double(&c->min_blob_area)},
        {"split_core_ratio", Float(&c->split_core_ratio)},
        {"merge_gap_px", Int(&c->merge_gap_px)},
        {"merge_max_fragment", Float(&c->merge_max_fragment)},
        {"close_m", Float(&c->close_m)},
        {"min_blob_area_m2", Float(&c->min_blob_area_m2)},
        {"merge_gap_m", Float(&c->merge_gap_m)},
        {"max_vehicle_width_m", Float(&c->max_vehicle_width_m)},
        {"max_vehicle_height_m", Float(&c->max_vehicle_height_m)},
        {"max_distance_m", Float(&c->max_distance_m)},
        {"person_max_width_m", Float(&c->person_max_width_m)},
        {"person_min_aspect", Float(&c->person_min_aspect)},
        {"two_wheeler_max_width_m", Float(&c->two_wheeler_max_width_m)},
        {"large_min_width_m", Float(&c->large_min_width_m)},
        {"large_min_height_m", Float(&c->large_min_height_m)},
        {"min_object_m", Float(&c->min_object_m)},
        {"person_max_area", Double(&c->person_max_area)},
        {"person_min_aspect_uncalibrated", Float(&c->person_min_aspect_uncalibrated)},
        {"large_min_area", Double(&c->large_min_area)},
    };
  }

  KeyTable DetectorKeys(analytics::DnnDetectorOptions* d) {
    return {
        {"model_path",
         [this, d](const YAML::Node& n, const std::string& f) -> Status {
           SKYNET_RETURN_IF_ERROR(ReadString(n, f, &d->model_path));
           if (d->model_path.empty()) return Error(n, f, "must not be empty");
           std::filesystem::path p(d->model_path);
           if (p.is_relative() && !base_dir_.empty()) d->model_path = (base_dir_ / p).string();
           return Status::Ok();
         }},
        {"format",
         Word([d](const std::string& s) { return analytics::ParseDnnFormat(s, &d->format); },
              "nanodet, yolov5 or yolov8")},
        {"input_size", Int(&d->input_size)},
        {"score_threshold", Float(&d->score_threshold)},
        {"nms_iou", Float(&d->nms_iou)},
        {"class_aware_nms", Bool(&d->class_aware_nms)},
        {"preprocess",
         Word(
             [d](const std::string& s) { return analytics::ParseDnnPreprocess(s, &d->preprocess); },
             "default, nanodet or rgb255")},
        {"motion_gated", Bool(&d->motion_gated)},
        {"crop_padding", Float(&d->crop_padding)},
        {"min_crop_size", Int(&d->min_crop_size)},
        {"max_crops", Int(&d->max_crops)},
        {"batch_crops", Bool(&d->batch_crops)},
        {"full_frame_fraction", Float(&d->full_frame_fraction)},
        {"detect_fps", Double(&d->detect_fps)},
        {"num_classes", Int(&d->num_classes)},
    };
  }

  KeyTable ClassParamsKeys(analytics::TrackerClassParams* p) {
    return {{"confirm_hits", Int(&p->confirm_hits)},
            {"max_coast_ms", Int(&p->max_coast_ms)},
            {"max_coast_stationary_ms", Int(&p->max_coast_stationary_ms)},
            {"accel_noise", Float(&p->accel_noise)}};
  }

  KeyTable TrackerKeys(analytics::TrackerOptions* t) {
    KeyTable table = ClassParamsKeys(&t->defaults);
    table.insert(table.end(), {{"classes", TrackerClassesHandler(t)},
                               {"min_iou", Float(&t->min_iou)},
                               {"max_centre_distance", Float(&t->max_centre_distance)},
                               {"class_mismatch_cost", Float(&t->class_mismatch_cost)},
                               {"stationary_after_ms", Int(&t->stationary_after_ms)},
                               {"stationary_radius", Float(&t->stationary_radius)},
                               {"trajectory_points", Int(&t->trajectory_points)},
                               {"speed_window_ms", Int(&t->speed_window_ms)},
                               {"measurement_noise", Float(&t->measurement_noise)},
                               {"split_merged", Bool(&t->split_merged)}});
    return table;
  }

  // `tracker.classes`: per-class overrides; keys not given keep the general values (given
  // before `classes:`), not the built-in person override.
  Handler TrackerClassesHandler(analytics::TrackerOptions* t) {
    return [this, t](const YAML::Node& n, const std::string& f) -> Status {
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
                       "unknown class (expected car, bus, truck, motorcycle, bicycle or person)");
        }
        analytics::TrackerClassParams p = t->defaults;
        null_value_mark_ = entry.first.Mark();
        SKYNET_RETURN_IF_ERROR(ParseMap(entry.second, Join(f, name), ClassParamsKeys(&p)));
        t->per_class[oc] = p;
      }
      return Status::Ok();
    };
  }

  KeyTable RulesKeys(analytics::TrafficRulesOptions* r) {
    return {
        {"speed_limit_kmh", Float(&r->speed_limit_kmh)},
        {"speeding_frames", Int(&r->speeding_frames)},
        {"wrong_way_frames", Int(&r->wrong_way_frames)},
        {"wrong_way_min_distance_m", Float(&r->wrong_way_min_distance_m)},
        {"wrong_way_min_distance", Float(&r->wrong_way_min_distance)},
        {"wrong_way_cos", Float(&r->wrong_way_cos)},
        {"min_moving_speed", Float(&r->min_moving_speed)},
        {"stats_interval_ms", Int(&r->stats_interval_ms)},
        {"lines", List(Item<analytics::CountingLine>(&r->lines, &Parser::LineKeys))},
        {"zones", List(Item<analytics::Zone>(&r->zones, &Parser::ZoneKeys))},
        {"lanes", List(Item<analytics::Lane>(&r->lanes, &Parser::LaneKeys))},
    };
  }

  // One entry of a list of rules (lines, zones, lanes): a mapping with a required id.
  template <typename T>
  Handler Item(std::vector<T>* out, KeyTable (Parser::*keys)(T*)) {
    return [this, out, keys](const YAML::Node& n, const std::string& f) -> Status {
      T item;
      SKYNET_RETURN_IF_ERROR(ParseMap(n, f, (this->*keys)(&item)));
      if (item.id.empty()) return Error(n, f, "missing required key 'id'");
      out->push_back(std::move(item));
      return Status::Ok();
    };
  }
  KeyTable LineKeys(analytics::CountingLine* l) {
    return {{"id", String(&l->id, CheckId)},
            {"a", Point(&l->a)},
            {"b", Point(&l->b)},
            {"count", Word(
                          [l](const std::string& s) {
                            using analytics::LineDirection;
                            if (s == "both")
                              l->count = LineDirection::kBoth;
                            else if (s == "forward")
                              l->count = LineDirection::kForward;
                            else if (s == "backward")
                              l->count = LineDirection::kBackward;
                            else
                              return false;
                            return true;
                          },
                          "both, forward or backward")}};
  }
  KeyTable ZoneKeys(analytics::Zone* z) {
    return {{"id", String(&z->id, CheckId)},
            {"polygon", Polygon(&z->polygon)},
            {"no_parking", Bool(&z->no_parking)},
            {"max_stop_ms", Int(&z->max_stop_ms)}};
  }
  KeyTable LaneKeys(analytics::Lane* l) {
    return {{"id", String(&l->id, CheckId)},
            {"polygon", Polygon(&l->polygon)},
            {"direction", Point(&l->direction, false)},
            {"speed_limit_kmh", Float(&l->speed_limit_kmh)}};
  }

 private:
  // The deepest node along a key path like "rules.zones[1].polygon" (stops where it ends), and
  // whether the whole path exists.
  static std::pair<YAML::Node, bool> NodeAt(const YAML::Node& root, const std::string& path) {
    YAML::Node cur;
    cur.reset(root);
    size_t i = 0;
    while (i < path.size()) {
      size_t end = path.find_first_of(".[", i);
      std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
      if (!key.empty()) {
        if (!cur.IsMap()) return {cur, false};
        const YAML::Node& view = cur;        // const lookup: never inserts
        const YAML::Node child = view[key];  // invalid if absent (reset() would throw)
        if (!child) return {cur, false};
        cur.reset(child);  // reset, not =: assignment would write into the tree
      }
      if (end == std::string::npos) break;
      if (path[end] == '[') {
        size_t close = path.find(']', end);
        if (close == std::string::npos || !cur.IsSequence()) return {cur, false};
        size_t idx = std::strtoul(path.c_str() + end + 1, nullptr, 10);
        if (idx >= cur.size()) return {cur, false};
        const YAML::Node& view = cur;
        const YAML::Node child = view[idx];
        cur.reset(child);
        i = close + 1;
        if (i < path.size() && path[i] == '.') ++i;
      } else {
        i = end + 1;
      }
    }
    return {cur, true};
  }

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
  std::vector<Status> errors_;
  CamerasKey cameras_key_ = CamerasKey::kAbsent;
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
  } catch (const std::exception& e) {
    return parser.Error(YAML::Mark::null_mark(), "yaml", e.what());
  }
}

// Error texts end up in protobuf strings, JSON and logs: invalid UTF-8 (random bytes quoted
// from a broken file) becomes "\xNN".
Status Utf8Status(const Status& st) {
  if (st.ok()) return st;
  return Status(st.code(), ValidUtf8(st.message()));
}

}  // namespace

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name,
                           bool require_cameras) {
  Parser parser(source_name, std::filesystem::path(source_name).parent_path());
  Result<YAML::Node> root = LoadYaml(yaml_text, parser);
  if (!root) return Utf8Status(root.status());
  Config config;
  config.path = source_name;
  // Walking a loaded tree does not throw in practice; catching here keeps yaml-cpp's exceptions
  // inside this adapter should a corner of it do so.
  try {
    SKYNET_RETURN_IF_ERROR(Utf8Status(parser.ParseTop(*root, &config)));
  } catch (const YAML::Exception& e) {
    return Utf8Status(parser.Error(e.mark, "yaml", e.msg));
  }
  if (require_cameras && parser.cameras_key() != Parser::CamerasKey::kGiven) {
    // A file that does not list its cameras is more likely empty, truncated or the wrong file
    // than a node meant to run none: applying it would stop every camera.
    const bool blank = !root->IsDefined() || root->IsNull();
    std::string why =
        parser.cameras_key() == Parser::CamerasKey::kNull
            ? "has no value; list the cameras, or write `cameras: []` for a node without cameras"
        : blank ? "missing: the file is empty or only comments; a config must list its cameras "
                  "(`cameras: []` for a node without cameras)"
                : "missing; list the cameras, or write `cameras: []` for a node without cameras";
    parser.AddError(Status::InvalidArgument(source_name + ": cameras: " + why));
  }
  SKYNET_RETURN_IF_ERROR(Utf8Status(parser.Errors()));
  return config;
}

std::string QualityReferenceDir(const Config& config) {
  if (!config.video_quality.reference_dir.empty()) return config.video_quality.reference_dir;
  if (config.journal.dir.empty()) return "";
  std::filesystem::path journal(config.journal.dir);
  if (!journal.has_filename()) journal = journal.parent_path();  // "/var/lib/skynetd/journal/"
  return (journal.parent_path() / "quality").string();
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::IoError(ValidUtf8(path) + ": cannot read config: is a directory");
  }
  std::string text, error;
  if (!ReadWholeFile(path, &text, &error)) {
    return Status::IoError(ValidUtf8(path) + ": cannot read config: " + error);
  }
  return ParseConfig(text, path, /*require_cameras=*/true);
}

Result<CameraConfig> ParseCameraConfig(const std::string& yaml_text,
                                       const std::string& source_name) {
  Parser parser(source_name, std::filesystem::path());
  Result<YAML::Node> root = LoadYaml(yaml_text, parser);
  if (!root) return Utf8Status(root.status());
  CameraConfig camera;
  YAML::Mark id_mark;
  try {
    SKYNET_RETURN_IF_ERROR(Utf8Status(parser.ParseCamera(*root, "", &camera, &id_mark)));
  } catch (const YAML::Exception& e) {
    return Utf8Status(parser.Error(e.mark, "yaml", e.msg));
  }
  return camera;
}

ingest::SourceOptions SourceOptionsFor(const CameraConfig& camera) {
  ingest::SourceOptions o;
  static_cast<ingest::IngestOptions&>(o) = camera.ingest;
  o.camera_id = camera.id;
  o.url = camera.url;
  o.username = camera.username;
  o.password = camera.password;
  o.color = VehiclesRun(camera);
  o.keep_source_frames = VehiclesRun(camera) && camera.vehicles.snapshot_frames > 0;
  return o;
}

Status ValidateIngestOptions(const ingest::IngestOptions& o) {
  return FirstError({
      {"analytics_fps", CheckFps(o.analytics_fps)},
      {"detect_width", CheckDetectWidth(o.detect_width)},
      {"connect_timeout_ms", CheckIntRange(o.connect_timeout_ms, kConnectTimeoutMs)},
      {"stall_timeout_ms", CheckIntRange(o.stall_timeout_ms, kStallTimeoutMs)},
      {"backoff_initial_ms", CheckIntRange(o.backoff_initial_ms, kBackoffMs)},
      {"backoff_max_ms", CheckIntRange(o.backoff_max_ms, kBackoffMs)},
      {"backoff_max_ms", CheckBackoff(o.backoff_initial_ms, o.backoff_max_ms)},
  });
}

Status ValidateVehiclesConfig(const VehiclesConfig& v) {
  if (v.backend == analytics::DetectorBackend::kDnn && v.detector.model_path.empty()) {
    return Status::InvalidArgument("detector.model_path: backend dnn needs a model file");
  }
  // The analytics' own validation: messages already start with "classical.", "tracker.",
  // "rules." or "calibration.".
  SKYNET_RETURN_IF_ERROR(analytics::ValidateClassicalDetectorOptions(v.classical));
  SKYNET_RETURN_IF_ERROR(analytics::ValidateVehicleAnalyticsOptions(v.analytics));
  return Prefixed("detector.", analytics::ValidateDnnDetectorOptions(v.detector));
}

Status ValidateCameraConfig(const CameraConfig& camera) {
  const std::string who = camera.id.empty() ? std::string("camera") : "camera " + camera.id;
  return Prefixed(who + ": ", ValidateCamera(camera));
}

}  // namespace skynet::daemon
