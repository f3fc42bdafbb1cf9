// skynetctl: the operator CLI for skynetd. See docs/cli.md.
//
// Each subcommand is one entry of kCommands: a function that adds the subcommand's options and
// returns the code that runs it. Exit codes: 0 ok, 1 the daemon answered with an error,
// 2 bad usage, 3 the daemon could not be reached.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "skynet/client/client.h"
#include "skynet/keys.h"
#include "skynet/protocol.h"
#include "tools/skynetctl/format.h"
#include "tools/skynetctl/gat1400.h"
#include "tools/skynetctl/top.h"

namespace skynet::ctl {
namespace {

namespace v1 = skynet::v1;
using client::ControlClient;
using client::CurveCredentials;
using client::Delivery;
using client::FeedPosition;
using client::ParseFeedPosition;
using client::ReliableOptions;
using client::ReliableSubscriber;

// Exit codes.
constexpr int kExitOk = 0;
constexpr int kExitDaemonError = 1;  // the daemon answered with an error, or nonsense
constexpr int kExitUsage = 2;        // bad arguments (CLI11) or a malformed endpoint
constexpr int kExitUnreachable = 3;  // no answer within --timeout

constexpr const char* kDefaultControl = "ipc:///tmp/skynetd/control.sock";
constexpr const char* kDefaultFeed = "tcp://127.0.0.1:5556";

// Options that apply to every subcommand.
struct Globals {
  std::string control_endpoint = kDefaultControl;
  std::string feed_endpoint = kDefaultFeed;
  int timeout_ms = 3000;
  // CurveZMQ: this client's key pair file and the daemon's public key (or .pub file).
  std::string key_file;
  std::string server_key;
};

int Fail(int code, const std::string& message) {
  std::cerr << "skynetctl: " << message << "\n";
  return code;
}

// Prints `message` as one line of JSON (FormatJson); fails naming `what`.
int PrintJson(const google::protobuf::Message& message, const std::string& what) {
  Result<std::string> line = FormatJson(message);
  if (!line.ok()) return Fail(kExitDaemonError, "cannot print " + what + " as JSON");
  std::cout << *line << "\n";
  return kExitOk;
}

// Sends `request` to the control socket. On success fills *response and returns kExitOk;
// otherwise prints why and returns the exit code to use.
// The CurveZMQ credentials from --key and --server-key (none when neither is given).
Result<CurveCredentials> LoadCredentials(const Globals& g) {
  if (g.key_file.empty() && g.server_key.empty()) return CurveCredentials{};
  if (g.key_file.empty() || g.server_key.empty()) {
    return Status::InvalidArgument("--key and --server-key go together (CurveZMQ)");
  }
  Result<keys::KeyPair> pair = keys::LoadKeyPair(g.key_file);
  if (!pair) return pair.status();
  Result<std::string> server = keys::LoadPublicKey(g.server_key);
  if (!server) return server.status();
  return CurveCredentials{*server, pair->public_key, pair->secret_key};
}

int CallDaemon(const Globals& g, const v1::Request& request, v1::Response* response) {
  Result<CurveCredentials> curve = LoadCredentials(g);
  if (!curve) return Fail(kExitUsage, curve.status().message());
  Result<ControlClient> client = ControlClient::Connect(g.control_endpoint, g.timeout_ms, *curve);
  if (!client) return Fail(kExitUsage, client.status().message());
  Result<v1::Response> r = client->Call(request);
  if (!r) {
    if (r.status().code() == StatusCode::kUnavailable) {
      return Fail(kExitUnreachable, "cannot reach skynetd at " + g.control_endpoint +
                                        ": no answer within " + std::to_string(g.timeout_ms) +
                                        " ms (is it running?)");
    }
    return Fail(kExitDaemonError, r.status().message());
  }
  if (!r->ok()) return Fail(kExitDaemonError, r->error().empty() ? "request failed" : r->error());
  *response = std::move(r).value();
  return kExitOk;
}

// --- the commands -----------------------------------------------------------------------------

using Runner = std::function<int(const Globals&)>;

Runner AddCameras(CLI::App* cmd) {
  return [](const Globals& g) {
    v1::Request request;
    request.mutable_list_cameras();
    v1::Response response;
    if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
    if (!response.has_list_cameras()) return Fail(kExitDaemonError, "unexpected answer");
    std::cout << FormatCameraTable(response.list_cameras());
    return kExitOk;
  };
}

// "14:05" (today, local time) or "2026-12-06 14:05[:SS]": microseconds since the Unix epoch.
Result<int64_t> ParseLocalTime(const std::string& text) {
  std::tm tm{};
  const time_t now = time(nullptr);
  localtime_r(&now, &tm);
  const char* end = strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (!end || *end) end = strptime(text.c_str(), "%Y-%m-%d %H:%M", &tm);
  if (!end || *end) {
    localtime_r(&now, &tm);
    tm.tm_sec = 0;
    end = strptime(text.c_str(), "%H:%M:%S", &tm);
    if (!end || *end) end = strptime(text.c_str(), "%H:%M", &tm);
  }
  if (!end || *end) {
    return Status::InvalidArgument("bad time '" + text + "': use HH:MM or YYYY-MM-DD HH:MM");
  }
  tm.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&tm)) * 1000000;
}

struct SearchOptions {
  std::string from, to, vehicle_class, colour, line, direction;
  std::vector<std::string> cameras;
  float min_speed = 0;
  uint32_t limit = 50;
  uint64_t offset = 0;
  bool json = false;
};

// The search filters (not paging or output), shared by search and export.
void AddSearchFilters(CLI::App* cmd, SearchOptions* o) {
  cmd->add_option("--from", o->from, "Last seen at or after: HH:MM (today) or YYYY-MM-DD HH:MM");
  cmd->add_option("--to", o->to, "First seen at or before (same forms)");
  cmd->add_option("--camera", o->cameras, "Only this camera (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--class", o->vehicle_class, "car, bus, truck, motorcycle, bicycle, person");
  cmd->add_option("--colour,--color", o->colour,
                  "white, black, silver, red, blue, yellow, green");
  cmd->add_option("--line", o->line, "Crossed this line (its id in the camera's rules)");
  cmd->add_option("--direction", o->direction,
                  "With --line: in or forward (+1), out or backward (-1)")
      ->check(CLI::IsMember({"in", "out", "forward", "backward", "+1", "-1"}));
  cmd->add_option("--min-speed", o->min_speed, "At least this speed, km/h");
}

// Fills *s from the filters; returns kExitOk or kExitUsage after saying why.
int FillSearch(const SearchOptions* o, v1::SearchRequest* s) {
  for (auto [text, field] : {std::pair{&o->from, 0}, std::pair{&o->to, 1}}) {
    if (text->empty()) continue;
    Result<int64_t> t = ParseLocalTime(*text);
    if (!t) return Fail(kExitUsage, t.status().message());
    field == 0 ? s->set_from_us(*t) : s->set_to_us(*t);
  }
  for (const std::string& c : o->cameras) s->add_camera_ids(c);
  auto upper = [](std::string t) {
    for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return t;
  };
  if (!o->vehicle_class.empty()) {
    v1::VehicleClass c;
    if (!v1::VehicleClass_Parse("VEHICLE_CLASS_" + upper(o->vehicle_class), &c)) {
      return Fail(kExitUsage, "--class: unknown class '" + o->vehicle_class + "'");
    }
    s->set_vehicle_class(c);
  }
  if (!o->colour.empty()) {
    v1::VehicleColour c;
    const std::string name = o->colour == "grey" || o->colour == "gray" ? "silver" : o->colour;
    if (!v1::VehicleColour_Parse("VEHICLE_COLOUR_" + upper(name), &c)) {
      return Fail(kExitUsage, "--colour: unknown colour '" + o->colour + "'");
    }
    s->set_colour(c);
  }
  if (!o->direction.empty() && o->line.empty()) {
    return Fail(kExitUsage, "--direction needs --line");
  }
  s->set_line_id(o->line);
  if (!o->direction.empty()) {
    const std::string& d = o->direction;
    const bool forward = d == "in" || d == "forward" || d == "+1";
    s->set_direction(forward ? 1 : -1);
  }
  s->set_min_speed_kmh(o->min_speed);
  return kExitOk;
}

Runner AddSearch(CLI::App* cmd) {
  auto o = std::make_shared<SearchOptions>();
  AddSearchFilters(cmd, o.get());
  cmd->add_option("--limit", o->limit, "Records per page")->check(CLI::Range(1, 1000));
  cmd->add_option("--offset", o->offset, "Records skipped (the next page: offset + limit)");
  cmd->add_flag("--json", o->json, "One JSON object per record instead of a table");
  return [o](const Globals& g) {
    v1::Request request;
    v1::SearchRequest* s = request.mutable_search();
    if (int rc = FillSearch(o.get(), s); rc != kExitOk) return rc;
    s->set_limit(o->limit);
    s->set_offset(o->offset);
    v1::Response response;
    if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
    if (!response.has_search()) return Fail(kExitDaemonError, "unexpected answer");
    const v1::SearchResponse& found = response.search();
    if (o->json) {
      for (const v1::SearchHit& hit : found.records()) {
        if (int rc = PrintJson(hit, "a record"); rc != kExitOk) return rc;
      }
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {
        {"LAST SEEN", "CAMERA", "TRACK", "CLASS", "COLOUR", "SPEED", "LANE", "LINES", "CLIP"}};
    for (const v1::SearchHit& hit : found.records()) {
      const v1::VehicleRecord& r = hit.record();
      std::string lines;
      for (const v1::RecordCrossing& c : r.crossings()) {
        lines += (lines.empty() ? "" : ",") + c.line_id() + (c.direction() > 0 ? "+" : "-");
      }
      std::string colour = v1::VehicleColour_Name(r.colour()).substr(15);
      for (char& c : colour) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      rows.push_back({FormatLocalTime(r.last_seen_us()), hit.camera_id(),
                      std::to_string(r.track_id()), VehicleClassName(r.vehicle_class()), colour,
                      r.speed_kmh() >= 0 ? Printf("%.0f", r.speed_kmh()) : "-",
                      r.lane().empty() ? "-" : r.lane(), lines.empty() ? "-" : lines,
                      // A deleted clip is cleared from its records: "yes" means it is there.
                      r.clip_file().empty() ? "-" : "yes"});
    }
    std::cout << FormatColumns(rows, {false, false, true, false, false, true, false, false, false});
    if (found.more()) {
      std::cout << "(more: --offset " << o->offset + found.records_size() << ")\n";
    }
    return kExitOk;
  };
}

// A decimal unsigned number, all of `text`.
bool ParseDecimal(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

struct SnapshotOptions {
  std::string record, output;
  bool scene = false;
};

// RECORD: CAMERA:TRACK, as `search` shows them (the camera id is up to the last ':').
Runner AddSnapshot(CLI::App* cmd) {
  auto o = std::make_shared<SnapshotOptions>();
  cmd->add_option("RECORD", o->record, "CAMERA:TRACK, as `skynetctl search` shows them")
      ->required();
  cmd->add_option("-o,--output", o->output, "The JPEG file to write")->required();
  cmd->add_flag("--scene", o->scene, "The whole frame with the box, instead of the vehicle crop");
  return [o](const Globals& g) {
    const size_t colon = o->record.rfind(':');
    uint64_t track = 0;
    if (colon == std::string::npos || colon == 0 ||
        !ParseDecimal(o->record.substr(colon + 1), &track)) {
      return Fail(kExitUsage,
                  "RECORD: use CAMERA:TRACK (for example cam1:17), not '" + o->record + "'");
    }
    v1::Request request;
    v1::SnapshotRequest* s = request.mutable_snapshot();
    s->set_camera_id(o->record.substr(0, colon));
    s->set_track_id(track);
    s->set_scene(o->scene);
    v1::Response response;
    if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
    if (!response.has_snapshot()) return Fail(kExitDaemonError, "unexpected answer");
    std::ofstream out(o->output, std::ios::binary | std::ios::trunc);
    const std::string& jpeg = response.snapshot().jpeg();
    if (!out.write(jpeg.data(), static_cast<std::streamsize>(jpeg.size())) || !out.flush()) {
      return Fail(kExitUsage, "cannot write " + o->output);
    }
    std::cout << o->output << ": " << jpeg.size() << " bytes, " << response.snapshot().file()
              << " (last seen " << FormatLocalTime(response.snapshot().last_seen_us()) << ")\n";
    return kExitOk;
  };
}

Runner AddStatus(CLI::App* cmd) {
  auto camera = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("CAMERA", *camera, "Only this camera (default: all)");
  cmd->add_flag("--json", *json, "The whole answer as one JSON object");
  return [camera, json](const Globals& g) {
    v1::Request request;
    request.mutable_status()->set_camera_id(*camera);
    v1::Response response;
    if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
    if (!response.has_status()) return Fail(kExitDaemonError, "unexpected answer");
    if (*json) return PrintJson(response.status(), "the answer");
    std::cout << FormatStatusReport(response.status());
    return kExitOk;
  };
}

Runner AddQuality(CLI::App* cmd) {
  auto camera = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("CAMERA", *camera, "Only this camera (default: all)");
  cmd->add_flag("--json", *json, "One JSON object per camera instead of tables");
  return [camera, json](const Globals& g) {
    v1::Request request;
    request.mutable_quality()->set_camera_id(*camera);
    v1::Response response;
    if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
    if (!response.has_quality()) return Fail(kExitDaemonError, "unexpected answer");
    if (*json) {
      for (const v1::CameraQualityInfo& c : response.quality().cameras()) {
        if (int rc = PrintJson(c, "a camera"); rc != kExitOk) return rc;
      }
      return kExitOk;
    }
    std::cout << FormatQualityReport(response.quality());
    return kExitOk;
  };
}

// Sends `request`, prints the camera change the daemon reports ("cam5: added, starting").
int CallCameraChange(const Globals& g, const v1::Request& request) {
  v1::Response response;
  if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
  if (!response.has_camera_change()) return Fail(kExitDaemonError, "unexpected answer");
  std::cout << response.camera_change().camera_id() << ": " << response.camera_change().message()
            << "\n";
  return kExitOk;
}

struct CameraAddOptions {
  std::string yaml_file;  // "-": stdin
  std::string id, url, name;
  double fps = 0;
  int width = 0;
  bool disabled = false;
};

int CameraAdd(const Globals& g, const CameraAddOptions& o) {
  v1::Request request;
  v1::AddCameraRequest* add = request.mutable_add_camera();
  if (!o.yaml_file.empty()) {
    if (!o.id.empty() || !o.url.empty() || !o.name.empty() || o.fps != 0 || o.width != 0 ||
        o.disabled) {
      return Fail(kExitUsage, "camera add: give either --yaml or --id/--url and friends");
    }
    std::ostringstream text;
    if (o.yaml_file == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(o.yaml_file);
      if (!in) return Fail(kExitUsage, "camera add: cannot read " + o.yaml_file);
      text << in.rdbuf();
    }
    add->set_yaml(text.str());
  } else {
    if (o.id.empty() || o.url.empty()) {
      return Fail(kExitUsage, "camera add: --id and --url are required (or --yaml FILE)");
    }
    add->set_id(o.id);
    add->set_url(o.url);
    add->set_name(o.name);
    add->set_analytics_fps(o.fps);
    add->set_detect_width(static_cast<uint32_t>(o.width));
    add->set_disabled(o.disabled);
  }
  return CallCameraChange(g, request);
}

// `camera add|remove|enable|disable`: one camera changes, the others are left alone.
Runner AddCameraCommand(CLI::App* cmd) {
  cmd->require_subcommand(1);
  auto chosen = std::make_shared<Runner>();
  CLI::App* add = cmd->add_subcommand(
      "add", "Add a camera from flags, or from a YAML mapping like a `cameras:` entry");
  add->fallthrough();
  auto o = std::make_shared<CameraAddOptions>();
  add->add_option("--yaml", o->yaml_file, "File with the camera as YAML ('-': standard input)");
  add->add_option("--id", o->id, "Camera id");
  add->add_option("--url", o->url, "rtsp://, rtsps:// or file:// URL");
  add->add_option("--name", o->name, "Display name (default: the id)");
  add->add_option("--fps", o->fps, "Analytics frames per second (default 5)")
      ->check(CLI::Range(0.01, 60.0));
  add->add_option("--width", o->width, "Analysed frame width (default 320)")
      ->check(CLI::Range(64, 1920));
  add->add_flag("--disabled", o->disabled, "Add it disabled");
  add->callback([chosen, o] { *chosen = [o](const Globals& g) { return CameraAdd(g, *o); }; });

  struct Simple {
    const char* name;
    const char* help;
    void (*fill)(v1::Request*, const std::string&);
  };
  static constexpr Simple kSimple[] = {
      {"remove", "Stop a camera and forget it",
       [](v1::Request* r, const std::string& id) {
         r->mutable_remove_camera()->set_camera_id(id);
       }},
      {"enable", "Start a disabled camera",
       [](v1::Request* r, const std::string& id) {
         r->mutable_enable_camera()->set_camera_id(id);
       }},
      {"disable", "Stop a camera but keep it configured",
       [](v1::Request* r, const std::string& id) {
         r->mutable_disable_camera()->set_camera_id(id);
       }},
  };
  for (const Simple& spec : kSimple) {
    CLI::App* sub = cmd->add_subcommand(spec.name, spec.help);
    sub->fallthrough();
    auto id = std::make_shared<std::string>();
    sub->add_option("CAMERA", *id, "Camera id")->required();
    auto fill = spec.fill;
    sub->callback([chosen, id, fill] {
      *chosen = [id, fill](const Globals& g) {
        v1::Request request;
        fill(&request, *id);
        return CallCameraChange(g, request);
      };
    });
  }
  return [chosen](const Globals& g) { return (*chosen)(g); };
}

Runner AddAcceptView(CLI::App* cmd) {
  auto camera = std::make_shared<std::string>();
  cmd->add_option("CAMERA", *camera, "Camera id")->required();
  return [camera](const Globals& g) {
    v1::Request request;
    request.mutable_accept_view()->set_camera_id(*camera);
    return CallCameraChange(g, request);
  };
}

Runner AddReload(CLI::App*) {
  return [](const Globals& g) {
    v1::Request request;
    request.mutable_reload();
    v1::Response response;
    if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
    if (!response.has_reload()) return Fail(kExitDaemonError, "unexpected answer");
    std::cout << FormatReloadReport(response.reload());
    return kExitOk;
  };
}

std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int) { g_interrupted = true; }

// Ctrl-C and SIGTERM set g_interrupted (no SA_RESTART: a wait returns at once). When the reader
// goes away (`skynetctl tail | head -3`), the command stops quietly with exit 0 instead of dying
// of SIGPIPE.
void CatchStopSignals() {
  struct sigaction sa = {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

struct TailOptions {
  std::vector<std::string> cameras;
  std::vector<std::string> types;
  bool json = false;
  int count = 0;       // 0: no limit
  double seconds = 0;  // 0: no limit
  std::string replay_endpoint;  // empty: gaps are reported, not repaired
  std::string from;             // EPOCH:SEQ: resume after this event
};

// Nothing at all from the feed for this long (not even a heartbeat): say so once on stderr.
constexpr auto kSilenceHint = std::chrono::seconds(5);

int Tail(const Globals& g, const TailOptions& o) {
  std::set<std::string> types(o.types.begin(), o.types.end());
  // Heartbeats only on request.
  if (types.empty()) {
    for (protocol::EventCategory c : protocol::kKnownCategories) {
      if (c != protocol::EventCategory::kHeartbeat) types.insert(protocol::CategoryName(c));
    }
  }
  const std::set<std::string> cameras(o.cameras.begin(), o.cameras.end());

  // Gap detection needs every event, so the subscriber takes the whole feed; types and cameras
  // are filtered here.
  ReliableOptions ro;
  ro.feed_endpoint = g.feed_endpoint;
  ro.replay_endpoint = o.replay_endpoint;
  Result<CurveCredentials> curve = LoadCredentials(g);
  if (!curve) return Fail(kExitUsage, curve.status().message());
  ro.curve = *curve;
  if (!o.from.empty()) {
    Result<FeedPosition> from = ParseFeedPosition(o.from);
    if (!from) return Fail(kExitUsage, "--from: " + from.status().message());
    ro.from = *from;
  }
  Result<ReliableSubscriber> feed = ReliableSubscriber::Connect(ro);
  if (!feed) return Fail(kExitUsage, feed.status().message());

  CatchStopSignals();

  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.seconds));
  int printed = 0;
  auto last_heard = Clock::now();
  bool hinted = false;
  while (!g_interrupted) {
    if (!hinted && Clock::now() - last_heard > kSilenceHint) {
      std::cerr << "skynetctl: nothing from " << g.feed_endpoint << " for " << kSilenceHint.count()
                << " s, not even a heartbeat (is skynetd running and "
                << "publishing there?); still waiting\n";
      hinted = true;
    }
    int wait_ms = 200;  // short slices, so that a signal between checks is noticed soon
    if (o.seconds > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0) break;
      wait_ms = std::min<int>(wait_ms, left.count());
    }
    Result<std::optional<Delivery>> next = feed->Next(wait_ms);
    if (!next) {
      std::cerr << "skynetctl: warning: " << next.status().message() << "\n";
      continue;
    }
    if (!next->has_value()) continue;
    last_heard = Clock::now();
    if (!(*next)->event) {  // events lost for good: always shown
      const v1::ReplayGap& loss = (*next)->loss;
      if (o.json) {
        std::string json;
        google::protobuf::util::JsonPrintOptions jo;
        jo.preserve_proto_field_names = false;
        (void)google::protobuf::util::MessageToJsonString(loss, &json, jo);
        std::cout << "{\"dataLoss\":" << json << "}" << std::endl;
      } else {
        std::cout << "DATA LOSS node " << loss.node_id() << " epoch " << loss.epoch() << " seq "
                  << loss.first_seq() << ".."
                  << (loss.last_seq() == 0 ? std::string("end") : std::to_string(loss.last_seq()))
                  << " (" << v1::GapReason_Name(loss.reason()) << ")" << std::endl;
      }
      continue;
    }
    const v1::Event& event = *(*next)->event;
    const std::string type = protocol::CategoryName(protocol::CategoryOf(event));
    if (!types.count(type) && !(type == "unknown" && o.types.empty())) continue;
    if (type != "heartbeat" && !cameras.empty() && !cameras.count(event.camera_id())) continue;
    if (o.json) {
      Result<std::string> json = FormatEventJson(event);
      if (!json) return Fail(kExitDaemonError, json.status().message());
      std::cout << *json << std::endl;
    } else {
      std::cout << FormatEventLine(event) << std::endl;
    }
    if (!std::cout) break;  // stdout closed
    if (o.count > 0 && ++printed >= o.count) break;
  }
  return kExitOk;
}

Runner AddTail(CLI::App* cmd) {
  auto o = std::make_shared<TailOptions>();
  // allow_extra_args(false): one value per flag, so "--camera a b" does not eat b.
  cmd->add_option("--camera", o->cameras, "Only events of this camera (repeatable)")
      ->allow_extra_args(false);
  std::vector<std::string> names;
  for (protocol::EventCategory c : protocol::kKnownCategories) {
    names.push_back(protocol::CategoryName(c));
  }
  std::string listed;
  for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + n;
  cmd->add_option("--type", o->types,
                  "Only these event types (repeatable): " + listed +
                      "; default all but heartbeat")
      ->allow_extra_args(false)
      ->check(CLI::IsMember(names));
  cmd->add_flag("--json", o->json, "One JSON object per line instead of text");
  cmd->add_option("--count", o->count, "Exit after N events")->check(CLI::PositiveNumber);
  cmd->add_option("--for", o->seconds, "Exit after this many seconds")->check(CLI::PositiveNumber);
  cmd->add_option("--replay", o->replay_endpoint,
                  "Replay endpoint of skynetd: repair gaps from its journal (default: report them)")
      ->envname("SKYNET_REPLAY");
  cmd->add_option("--from", o->from,
                  "EPOCH:SEQ: first print everything after this event (needs --replay)");
  return [o](const Globals& g) {
    if (!o->from.empty() && o->replay_endpoint.empty()) {
      return Fail(kExitUsage, "--from needs --replay ENDPOINT");
    }
    return Tail(g, *o);
  };
}

struct TopCmdOptions {
  std::vector<std::string> cameras;
  double interval = 1;  // seconds between screens
  double seconds = 0;   // 0: until Ctrl-C
  double window = 60;   // seconds of counts and alarms
  int alarms = 10;
  bool once = false;
  bool plain = false;
};

// The daemon's camera list and states are fetched this often (the feed carries the rest).
constexpr auto kTopControlPeriod = std::chrono::seconds(5);
// A control call of `top` waits at most this long, so that the screen does not freeze.
constexpr int kTopControlTimeoutMs = 1000;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int TerminalColumns() {
  winsize ws{};
  return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

int Top(const Globals& g, const TopCmdOptions& o) {
  TopOptions to;
  to.window_us = static_cast<int64_t>(o.window * 1e6);
  to.max_alarms = static_cast<size_t>(o.alarms);
  to.cameras = std::set<std::string>(o.cameras.begin(), o.cameras.end());
  TopModel model(to);

  Result<CurveCredentials> curve = LoadCredentials(g);
  if (!curve) return Fail(kExitUsage, curve.status().message());
  ReliableOptions ro;
  ro.feed_endpoint = g.feed_endpoint;
  ro.curve = *curve;
  Result<ReliableSubscriber> feed = ReliableSubscriber::Connect(ro);
  if (!feed) return Fail(kExitUsage, feed.status().message());
  Result<ControlClient> control = ControlClient::Connect(
      g.control_endpoint, std::min(g.timeout_ms, kTopControlTimeoutMs), *curve);
  if (!control) return Fail(kExitUsage, control.status().message());

  CatchStopSignals();

  const bool ansi = !o.plain && isatty(STDOUT_FILENO);
  auto draw = [&] {
    if (ansi) {
      std::cout << model.RenderAnsi(NowUs(), TerminalColumns()) << std::flush;
    } else {
      std::cout << model.Render(NowUs()) << std::endl;  // a blank line between snapshots
    }
  };
  // Camera names and states from the control socket; a daemon that does not answer (or a feed
  // through a relay) leaves the screen to the feed alone.
  auto poll_control = [&] {
    v1::Request list_request;
    list_request.mutable_list_cameras();
    Result<v1::Response> list = control->Call(list_request);
    if (!list || !list->ok() || !list->has_list_cameras()) {
      model.SetNotice("control " + g.control_endpoint + ": " +
                      (!list                   ? list.status().message()
                       : list->error().empty() ? "unexpected answer"
                                               : list->error()) +
                      "; cameras from the feed only");
      return;
    }
    model.SetCameras(list->list_cameras());
    v1::Request status_request;
    status_request.mutable_status();
    Result<v1::Response> status = control->Call(status_request);
    if (status && status->ok() && status->has_status()) {
      model.SetStatus(status->status(), NowUs());
      model.SetNotice("");
    }
  };

  using Clock = std::chrono::steady_clock;
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.interval));
  const auto start = Clock::now();
  // --once: one screen, after --for seconds or else after one interval.
  const double run_for = o.once && o.seconds <= 0 ? o.interval : o.seconds;
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run_for));
  auto next_control = start;
  auto next_draw = start + interval;
  if (ansi) std::cout << "\x1b[2J";
  poll_control();
  next_control = Clock::now() + kTopControlPeriod;
  if (ansi && !o.once) draw();
  bool ended_on_time = false;
  while (!g_interrupted && std::cout) {
    auto now = Clock::now();
    if (run_for > 0 && now >= end) {
      ended_on_time = true;
      break;
    }
    if (now >= next_control) {
      poll_control();
      next_control = Clock::now() + kTopControlPeriod;
    }
    if (!o.once && now >= next_draw) {
      draw();
      while (next_draw <= now) next_draw += interval;
    }
    auto until = o.once ? end : next_draw;
    if (run_for > 0) until = std::min(until, end);
    int wait_ms = static_cast<int>(std::clamp<int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count(), 0,
        200));  // short slices, so that a signal between checks is noticed soon
    Result<std::optional<Delivery>> next = feed->Next(wait_ms);
    if (!next || !next->has_value()) continue;  // a malformed message is skipped, as tail does
    if ((*next)->event) {
      model.AddEvent(*(*next)->event, NowUs());
    } else {
      model.AddLoss((*next)->loss, NowUs());
    }
  }
  if (ended_on_time) draw();
  return kExitOk;
}

Runner AddTop(CLI::App* cmd) {
  auto o = std::make_shared<TopCmdOptions>();
  cmd->add_option("--camera", o->cameras, "Only this camera (repeatable)")->allow_extra_args(false);
  cmd->add_option("--interval", o->interval, "Seconds between screens")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--window", o->window, "Seconds of counts, mean speed and alarms per camera")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_option("--alarms", o->alarms, "Alarm lines shown under the table")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--for", o->seconds, "Exit after this many seconds, with a last screen")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--once", o->once,
                "Print one screen and exit: after --for seconds, else after one --interval");
  cmd->add_flag("--plain", o->plain,
                "Print each screen below the last, without terminal escapes (the default when "
                "stdout is not a terminal)");
  return [o](const Globals& g) { return Top(g, *o); };
}

Runner AddKeygen(CLI::App* cmd) {
  auto base = std::make_shared<std::string>();
  cmd->add_option("BASE", *base, "Writes BASE.key (mode 0600) and BASE.pub (mode 0644)")
      ->required();
  return [base](const Globals&) {
    Result<keys::KeyPair> pair = keys::GenerateKeyPair();
    if (!pair) return Fail(kExitDaemonError, pair.status().message());
    if (Status st = keys::WriteKeyFiles(*base, *pair); !st.ok()) {
      return Fail(kExitDaemonError, st.message());
    }
    std::cout << "wrote " << *base << ".key (secret, 0600) and " << *base << ".pub\n"
              << "public key: " << pair->public_key << "\n";
    return kExitOk;
  };
}

struct ClipOptions {
  std::string what;  // CAMERA:TRACK (a record) or NODE/EPOCH/SEQ (an event)
  std::string camera, from, to, output;
  int wait_s = 120;
};

// A time for clip --from/--to: the forms of ParseLocalTime, or microseconds since the epoch.
Result<int64_t> ParseClipTime(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
      text.size() >= 13) {
    return static_cast<int64_t>(std::stoll(text));
  }
  return ParseLocalTime(text);
}

Runner AddClip(CLI::App* cmd) {
  auto o = std::make_shared<ClipOptions>();
  cmd->add_option("WHAT", o->what,
                  "A record as CAMERA:TRACK (the CAMERA and TRACK columns of search), or an "
                  "event id NODE/EPOCH/SEQ");
  cmd->add_option("--camera", o->camera, "With --from and --to: this camera's video");
  cmd->add_option("--from", o->from,
                  "Start: HH:MM[:SS] (today), YYYY-MM-DD HH:MM[:SS], or microseconds since the "
                  "Unix epoch");
  cmd->add_option("--to", o->to, "End (same forms)");
  cmd->add_option("-o,--output", o->output, "Where to write the MP4 file")->required();
  cmd->add_option("--wait", o->wait_s,
                  "How long to wait, seconds, for a clip still being written")
      ->check(CLI::Range(1, 3600));
  return [o](const Globals& g) {
    v1::Request request;
    v1::ClipRequest* c = request.mutable_clip();
    if (!o->what.empty()) {
      if (!o->camera.empty() || !o->from.empty()) {
        return Fail(kExitUsage, "give a record or event, or --camera with --from and --to");
      }
      const size_t colon = o->what.rfind(':');
      if (o->what.find('/') != std::string::npos) {
        c->set_event_id(o->what);
      } else if (colon != std::string::npos && colon > 0 &&
                 o->what.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                 colon + 1 < o->what.size()) {
        c->set_camera_id(o->what.substr(0, colon));
        c->set_track_id(std::stoull(o->what.substr(colon + 1)));
      } else {
        return Fail(kExitUsage, "'" + o->what + "': expected CAMERA:TRACK or NODE/EPOCH/SEQ");
      }
    } else {
      if (o->camera.empty() || o->from.empty() || o->to.empty()) {
        return Fail(kExitUsage, "give a record or event, or --camera with --from and --to");
      }
      Result<int64_t> from = ParseClipTime(o->from), to = ParseClipTime(o->to);
      if (!from) return Fail(kExitUsage, from.status().message());
      if (!to) return Fail(kExitUsage, to.status().message());
      c->set_camera_id(o->camera);
      c->set_from_us(*from);
      c->set_to_us(*to);
    }
    c->set_max_bytes(1 << 20);
    std::ofstream out(o->output, std::ios::binary | std::ios::trunc);
    if (!out) return Fail(kExitUsage, "cannot write " + o->output);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o->wait_s);
    uint64_t offset = 0;
    while (true) {
      v1::Response response;
      if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
      if (!response.has_clip()) return Fail(kExitDaemonError, "unexpected answer");
      const v1::ClipResponse& r = response.clip();
      if (r.offset() != offset) return Fail(kExitDaemonError, "answer out of order");
      out.write(r.data().data(), static_cast<std::streamsize>(r.data().size()));
      if (!out) return Fail(kExitDaemonError, "cannot write " + o->output);
      offset += r.data().size();
      for (const std::string& note : r.notes()) std::cerr << "skynetctl: note: " << note << "\n";
      if (r.complete() && offset >= r.size()) {
        out.close();
        std::cout << "wrote " << o->output << ": " << offset << " bytes, " << r.file();
        if (r.start_us() > 0) {
          std::cout << ", " << FormatLocalTime(r.start_us()) << " to "
                    << FormatLocalTime(r.end_us());
        }
        if (r.from_recordings()) std::cout << " (cut from the recorded segments)";
        std::cout << "\n";
        return kExitOk;
      }
      if (r.data().empty()) {
        if (std::chrono::steady_clock::now() > deadline) {
          return Fail(kExitDaemonError, "clip " + r.file() + " still being written after " +
                                            std::to_string(o->wait_s) + " s (--wait)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
      request.Clear();
      c = request.mutable_clip();
      c->set_file(r.file());
      c->set_offset(offset);
      c->set_max_bytes(1 << 20);
    }
  };
}

struct FollowOptions {
  std::string record, at;
  bool earlier = false, both = false, json = false;
  uint32_t window_s = 600;
  uint32_t limit = 10;
};

// "CAMERA:TRACK", as search prints them (the camera id may not hold a ':').
bool ParseRecordRef(const std::string& text, std::string* camera, uint64_t* track) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  const std::string digits = text.substr(colon + 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 19) {
    return false;
  }
  *camera = text.substr(0, colon);
  *track = std::stoull(digits);
  return *track != 0;
}

std::string SnapshotList(const v1::VehicleRecord& r) {
  std::string files;
  for (const std::string& f : r.snapshot_files()) files += (files.empty() ? "" : ",") + f;
  return files.empty() ? "-" : files;
}

std::string LowerColour(v1::VehicleColour c) {
  std::string colour = v1::VehicleColour_Name(c).substr(15);
  for (char& ch : colour) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return colour;
}

// The ranked candidates of one direction, a table row each followed by its reasons.
std::string FormatCandidates(const char* title,
                             const google::protobuf::RepeatedPtrField<v1::FollowCandidate>& list) {
  if (list.empty()) return std::string(title) + ": none\n";
  std::vector<std::vector<std::string>> rows = {{"#", "SEEN", "CAMERA", "TRACK", "SCORE", "GAP",
                                                 "TYPICAL", "CLASS", "COLOUR", "SNAPSHOTS"}};
  for (int i = 0; i < list.size(); ++i) {
    const v1::FollowCandidate& c = list[i];
    const v1::VehicleRecord& r = c.hit().record();
    rows.push_back({std::to_string(i + 1), FormatLocalTime(r.first_seen_us()), c.hit().camera_id(),
                    std::to_string(r.track_id()), Printf("%.2f", c.score()),
                    Printf("%+.1fs", c.gap_s()),
                    c.expected_s() > 0 ? Printf("%.0fs", c.expected_s()) : "-",
                    VehicleClassName(r.vehicle_class()), LowerColour(r.colour()),
                    SnapshotList(r)});
  }
  std::string table =
      FormatColumns(rows, {true, false, false, true, true, true, true, false, false, false});
  // Each row, then its reasons indented under it.
  std::string out = std::string(title) + ":\n";
  size_t pos = 0;
  for (int i = -1; i < list.size(); ++i) {
    const size_t end = table.find('\n', pos);
    out += table.substr(pos, end - pos + 1);
    pos = end + 1;
    if (i < 0) continue;
    std::string reasons;
    for (const std::string& why : list[i].reasons()) reasons += (reasons.empty() ? "" : "; ") + why;
    out += "     " + reasons + "\n";
  }
  return out;
}

Runner AddFollow(CLI::App* cmd) {
  auto o = std::make_shared<FollowOptions>();
  cmd->add_option("record", o->record, "The record: CAMERA:TRACK, as search shows them")
      ->required();
  cmd->add_flag("--earlier", o->earlier, "The earlier sightings instead of the later ones");
  cmd->add_flag("--both", o->both, "Earlier and later sightings");
  cmd->add_option("--window", o->window_s, "How far from the record to look, seconds")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "Candidates per direction")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--at", o->at,
                  "Of several records with this track id (the daemon restarted), the one seen "
                  "nearest this time (HH:MM or YYYY-MM-DD HH:MM[:SS])");
  cmd->add_flag("--json", o->json, "The whole answer as one JSON object");
  return [o](const Globals& g) {
    v1::Request request;
    v1::FollowRequest* f = request.mutable_follow();
    std::string camera;
    uint64_t track = 0;
    if (!ParseRecordRef(o->record, &camera, &track)) {
      return Fail(kExitUsage, "record: expected CAMERA:TRACK (as search shows them), got '" +
                                  o->record + "'");
    }
    f->set_camera_id(camera);
    f->set_track_id(track);
    if (!o->at.empty()) {
      Result<int64_t> t = ParseLocalTime(o->at);
      if (!t) return Fail(kExitUsage, t.status().message());
      f->set_seen_us(*t);
    }
    f->set_direction(o->both      ? v1::FOLLOW_DIRECTION_BOTH
                     : o->earlier ? v1::FOLLOW_DIRECTION_EARLIER
                                  : v1::FOLLOW_DIRECTION_LATER);
    f->set_window_s(o->window_s);
    f->set_limit(o->limit);
    v1::Response response;
    if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
    if (!response.has_follow()) return Fail(kExitDaemonError, "unexpected answer");
    const v1::FollowResponse& trail = response.follow();
    if (o->json) return PrintJson(trail, "the answer");
    const v1::VehicleRecord& r = trail.record().record();
    std::cout << "record " << trail.record().camera_id() << ":" << r.track_id() << "  "
              << VehicleClassName(r.vehicle_class()) << " " << LowerColour(r.colour())
              << "  seen " << FormatLocalTime(r.first_seen_us()) << " .. "
              << FormatLocalTime(r.last_seen_us()) << "  snapshots " << SnapshotList(r) << "\n";
    if (!o->earlier || o->both) std::cout << FormatCandidates("later", trail.later());
    if (o->earlier || o->both) std::cout << FormatCandidates("earlier", trail.earlier());
    return kExitOk;
  };
}

struct ExportOptions {
  SearchOptions filters;
  std::string format, out, url_prefix;
  std::vector<std::string> device_ids, class_codes;
  uint32_t max_records = 100000;
};

// "KEY=VALUE" items into a map; false (after saying why) on an item without '='.
bool ParsePairs(const std::vector<std::string>& items, const char* option,
                std::map<std::string, std::string>* out) {
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      Fail(kExitUsage, std::string(option) + ": expected KEY=VALUE, got '" + item + "'");
      return false;
    }
    (*out)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return true;
}

Runner AddExport(CLI::App* cmd) {
  auto o = std::make_shared<ExportOptions>();
  AddSearchFilters(cmd, &o->filters);
  cmd->add_option("--format", o->format, "gat1400: GA/T 1400 MotorVehicle objects (JSON)")
      ->required()
      ->check(CLI::IsMember({"gat1400"}));
  cmd->add_option("-o,--out", o->out, "Write to this file (default: stdout)");
  cmd->add_option("--device-id", o->device_ids,
                  "CAMERA=CODE: the camera's 20-digit device code (repeatable; default: its id)");
  cmd->add_option("--class-code", o->class_codes,
                  "CLASS=CODE: the VehicleClass code of car, bus, truck or motorcycle "
                  "(repeatable; defaults in docs/evidence.md)");
  cmd->add_option("--url-prefix", o->url_prefix,
                  "Prefix of the snapshot URLs, e.g. http://10.0.0.5/evidence/");
  cmd->add_option("--max-records", o->max_records, "At most this many records")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  return [o](const Globals& g) {
    Gat1400Options options;
    options.url_prefix = o->url_prefix;
    if (!ParsePairs(o->device_ids, "--device-id", &options.device_ids) ||
        !ParsePairs(o->class_codes, "--class-code", &options.class_codes)) {
      return kExitUsage;
    }
    v1::Request request;
    v1::SearchRequest* s = request.mutable_search();
    if (int rc = FillSearch(&o->filters, s); rc != kExitOk) return rc;
    // Every page, oldest last as search gives them.
    std::vector<v1::SearchHit> hits;
    s->set_limit(1000);
    while (hits.size() < o->max_records) {
      s->set_offset(hits.size());
      v1::Response response;
      if (int rc = CallDaemon(g, request, &response); rc != kExitOk) return rc;
      if (!response.has_search()) return Fail(kExitDaemonError, "unexpected answer");
      for (const v1::SearchHit& hit : response.search().records()) {
        if (hits.size() < o->max_records) hits.push_back(hit);
      }
      if (!response.search().more() || response.search().records_size() == 0) break;
    }
    const std::string text = MotorVehicleList(hits, options).dump(1) + "\n";
    if (o->out.empty() || o->out == "-") {
      std::cout << text;
      return kExitOk;
    }
    std::ofstream file(o->out, std::ios::trunc);
    file << text;
    file.close();
    if (!file) return Fail(kExitDaemonError, "cannot write " + o->out);
    std::cerr << "wrote " << o->out << ": " << hits.size() << " records\n";
    return kExitOk;
  };
}

// The subcommands, in the order `--help` lists them. To add one, write an Add* function.
struct CommandSpec {
  const char* name;
  const char* help;
  Runner (*add)(CLI::App* cmd);
};
constexpr CommandSpec kCommands[] = {
    {"cameras", "List the configured cameras", AddCameras},
    {"status", "Show the daemon's and each camera's state and counters", AddStatus},
    {"camera", "Change one camera at runtime: add, remove, enable, disable", AddCameraCommand},
    {"reload", "Re-read the config file and apply the difference (like SIGHUP)", AddReload},
    {"tail", "Print events from the feed as they happen (Ctrl-C to stop)", AddTail},
    {"top", "Per-camera summary (state, vehicles, counts, speed) and alarms, refreshed", AddTop},
    {"keygen", "Write a CurveZMQ key pair (BASE.key, BASE.pub)", AddKeygen},
    {"search", "Vehicle records of the record store, newest first (docs/evidence.md)",
     AddSearch},
    {"quality", "Video quality checks of each camera, worst first (docs/video-quality.md)",
     AddQuality},
    {"accept-view",
     "Take a camera's current view as its video quality reference (after an intended change)",
     AddAcceptView},
    {"clip", "Fetch a video clip of a record, an event or a time range (docs/evidence.md)",
     AddClip},
    {"snapshot", "Write a vehicle record's full-resolution snapshot (JPEG) to a file",
     AddSnapshot},
    {"follow", "Likely sightings of a record's vehicle on the other cameras (docs/evidence.md)",
     AddFollow},
    {"export", "Records as GA/T 1400 MotorVehicle objects (docs/evidence.md)", AddExport},
};

int Main(int argc, char** argv) {
  CLI::App app{"skynetctl: control and watch a skynetd video-ingest daemon"};
  // At most one command; none is reported below. With require_subcommand(1) CLI11 would say
  // "a subcommand is required" even for a misspelt one, instead of naming it.
  app.require_subcommand(0, 1);
  app.fallthrough();  // global options may also follow the subcommand
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "skynetctl: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });
  Globals g;
  app.add_option("--control", g.control_endpoint, "Control endpoint of skynetd")
      ->envname("SKYNET_CONTROL")
      ->capture_default_str();
  app.add_option("--feed", g.feed_endpoint, "Event feed endpoint of skynetd")
      ->envname("SKYNET_FEED")
      ->capture_default_str();
  app.add_option("--key", g.key_file, "CurveZMQ: this client's key pair file (skynetctl keygen)")
      ->envname("SKYNET_KEY");
  app.add_option("--server-key", g.server_key,
                 "CurveZMQ: the daemon's public key, or its .pub file")
      ->envname("SKYNET_SERVER_KEY");
  app.add_option("--timeout", g.timeout_ms, "How long to wait for an answer, milliseconds")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();

  Runner chosen;
  for (const CommandSpec& spec : kCommands) {
    CLI::App* cmd = app.add_subcommand(spec.name, spec.help);
    Runner run = spec.add(cmd);
    cmd->callback([&chosen, run] { chosen = run; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help (rc 0) or the error and a hint
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!chosen) {
    std::string names;
    for (const CommandSpec& spec : kCommands)
      names += std::string(names.empty() ? "" : ", ") + spec.name;
    return Fail(kExitUsage,
                "a command is required: " + names + "\nRun with --help for more information.");
  }
  return chosen(g);
}

}  // namespace
}  // namespace skynet::ctl

int main(int argc, char** argv) { return skynet::ctl::Main(argc, argv); }
