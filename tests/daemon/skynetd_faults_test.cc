// Issue 14, items 3, 4, 8 and 9, against a real skynetd (and camsim where a stream is needed),
// with the hostile inputs of the issue:
//   3. reloads of an empty file, a comment-only file, a directory and random bytes: refused with a
//      valid UTF-8 error naming the path, skynetctl exits non-zero, the cameras keep running;
//      --check-config refuses the same files.
//   4. a password with '/' (and percent-escapes, and ?token=) never shown: not in the log, the
//      audit log, `skynetctl cameras`/`status`, the feed or the journal.
//   8. the audit log has every refusal (unknown CURVE key, wrong role, too large, malformed) with
//      who and why, and no answered status polls; --check-config refuses a world-readable server
//      key like start does; the journal directory is created 0750.
//   6. a camera removed, one disabled and the daemon stopped, each while its motion interval is
//      open: every MotionStarted gets its MotionEnded, before the camera's final status.
//   9. `camera add` refuses rtsp://127.0.0.1:99999/x and rtsp://[::1/x naming the field.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <set>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "pipeline/core/url.h"
#include "skynet/client/client.h"
#include "skynet/keys.h"
#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::ReadFile;
using testing::TempDir;

bool IsUtf8(const std::string& s) { return ValidUtf8(s) == s; }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// A loopback TCP endpoint with a port that was free a moment ago.
std::string FreeTcpEndpoint() {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::router);
  s.set(zmq::sockopt::linger, 0);
  s.bind("tcp://127.0.0.1:*");
  return s.get(zmq::sockopt::last_endpoint);
}

// The config's common head: ipc endpoints in `dir`, no metrics listener, the audit log.
std::string Head(const TempDir& dir) {
  return "node_id: faults\n"
         "event_endpoint: " +
         dir.Ipc("feed.sock") +
         "\n"
         "control_endpoint: " +
         dir.Ipc("control.sock") +
         "\n"
         "metrics_endpoint: \"\"\n"
         "heartbeat_interval_ms: 200\n"
         "analytics_workers: 1\n"
         "control:\n  audit_log: " +
         dir.File("audit.log") + "\n";
}

// skynetctl with `args` against the daemon of `dir`.
testing::ToolRun Ctl(const TempDir& dir, std::vector<std::string> args) {
  return testing::RunSkynetctl(dir, dir.Ipc("control.sock"), std::move(args));
}

testing::ToolRun CheckConfig(const TempDir& dir, const std::string& path) {
  return testing::RunTool(dir, "daemon/skynetd", {"--check-config", path});
}

// Camera id -> (state, session id) from a status request.
std::map<std::string, std::pair<v1::CameraState, uint64_t>> Cameras(
    skynet::client::ControlClient& control) {
  v1::Request req;
  req.mutable_status();
  std::map<std::string, std::pair<v1::CameraState, uint64_t>> out;
  auto r = control.Call(req);
  if (!r.ok() || !r->ok()) return out;
  for (const auto& c : r->status().cameras()) out[c.id()] = {c.state(), c.session_id()};
  return out;
}

TEST(SkynetdFaultsTest, ReloadOfAFileWithoutCamerasIsRefusedAndChangesNothing) {
  TempDir dir;
  ChildProcess camsim(BuildPath("tools/camsim/skynet-camsim"),
                      {"--port", "0", "--loop-seconds", "4", "--size", "320x180", "--fps", "10",
                       "--traffic", "2", "--log-level", "warn"},
                      dir.File("camsim.log"));
  ASSERT_TRUE(camsim.started());
  const std::vector<std::string> urls = testing::ReadCamsimReady(camsim).urls;
  ASSERT_EQ(urls.size(), 2u);
  const std::string config = dir.File("skynetd.yaml");
  const std::string good = Head(dir) + "cameras:\n  - id: cam0\n    url: " + urls[0] +
                           "\n    analytics_fps: 5\n  - id: cam1\n    url: " + urls[1] +
                           "\n    analytics_fps: 5\n";
  WriteFile(config, good);
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config}, dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  auto control = skynet::client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  std::map<std::string, std::pair<v1::CameraState, uint64_t>> before;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        before = Cameras(*control);
        return before.size() == 2 && before["cam0"].first == v1::CAMERA_STATE_ONLINE &&
               before["cam1"].first == v1::CAMERA_STATE_ONLINE;
      },
      90s, 100ms))
      << ReadFile(dir.File("skynetd.log"));

  std::string random;
  std::mt19937 rng(14);
  for (int i = 0; i < 4096; ++i) random += static_cast<char>(rng() & 0xff);
  struct Hostile {
    std::string name, text;
    bool directory = false;
  };
  const std::vector<Hostile> hostile = {{"empty file", ""},
                                        {"comment only", "# cameras: none yet\n"},
                                        {"cameras with no value", Head(dir) + "cameras:\n"},
                                        {"directory", "", true},
                                        {"random bytes", random}};
  for (const Hostile& h : hostile) {
    SCOPED_TRACE(h.name);
    std::filesystem::remove_all(config);
    if (h.directory) {
      std::filesystem::create_directory(config);
    } else {
      WriteFile(config, h.text);
    }
    const testing::ToolRun reload = Ctl(dir, {"reload"});
    EXPECT_NE(reload.code, 0) << reload.out;
    EXPECT_TRUE(IsUtf8(reload.err)) << reload.err;
    EXPECT_NE(reload.err.find("reload rejected, running config kept: " + config), std::string::npos)
        << reload.err;
    EXPECT_EQ(reload.err.find("malformed"), std::string::npos) << reload.err;
    if (h.name != "random bytes") {
      EXPECT_NE(reload.err.find(h.directory ? "is a directory" : "cameras:"), std::string::npos)
          << reload.err;
    }
    const testing::ToolRun check = CheckConfig(dir, config);
    EXPECT_EQ(check.code, 1) << check.out;
    EXPECT_EQ(check.err.rfind(config + ":", 0), 0u) << check.err;
    EXPECT_TRUE(IsUtf8(check.err)) << check.err;
    // Nothing changed: the same sessions, still online.
    EXPECT_EQ(Cameras(*control), before);
  }

  // `cameras: []` says "none" on purpose: check-config accepts it.
  std::filesystem::remove_all(config);
  WriteFile(config, Head(dir) + "cameras: []\n");
  const testing::ToolRun none = CheckConfig(dir, config);
  EXPECT_EQ(none.code, 0) << none.err;
  EXPECT_NE(none.out.find("0 cameras"), std::string::npos) << none.out;

  // Every error at once: two broken cameras and a broken top-level key in one answer.
  WriteFile(config, Head(dir) +
                        "log_level: loud\ncameras:\n"
                        "  - id: a\n    url: http://x\n"
                        "  - id: b\n    url: rtsp://127.0.0.1:99999/x\n");
  const testing::ToolRun many = CheckConfig(dir, config);
  EXPECT_EQ(many.code, 1);
  EXPECT_NE(many.err.find("log_level: must be one of"), std::string::npos) << many.err;
  EXPECT_NE(many.err.find("cameras[0].url: must be rtsp://"), std::string::npos) << many.err;
  EXPECT_NE(many.err.find("cameras[1].url: port must be 1..65535, got '99999'"), std::string::npos)
      << many.err;

  WriteFile(config, good);
  const testing::ToolRun fine = Ctl(dir, {"reload"});
  EXPECT_EQ(fine.code, 0) << fine.err;
  EXPECT_EQ(Cameras(*control), before);

  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 20s), 0);
  EXPECT_EQ(camsim.SignalAndWait(SIGTERM, 30s), 0);
  const std::string audit = ReadFile(dir.File("audit.log"));
  EXPECT_TRUE(IsUtf8(audit));
  EXPECT_NE(audit.find("\"command\":\"reload\",\"ok\":false"), std::string::npos) << audit;
  const std::string log = ReadFile(dir.File("skynetd.log"));
  EXPECT_TRUE(IsUtf8(log));
  EXPECT_EQ(log.find(" 2 removed"), std::string::npos) << log;
  EXPECT_EQ(log.find(" 1 removed"), std::string::npos) << log;
}

TEST(SkynetdFaultsTest, PasswordsAndTokensAreNeverShown) {
  TempDir dir;
  // Nothing listens on these ports: the cameras reconnect, and every failure is logged.
  const std::string config = dir.File("skynetd.yaml");
  WriteFile(config, Head(dir) + "journal:\n  dir: " + dir.File("journal") +
                        "\ncameras:\n  - id: leaky\n"
                        "    url: \"rtsp://u:Leak%2FPw@127.0.0.1:9/live?channel=1&token=Tok123\"\n"
                        "    connect_timeout_ms: 500\n    backoff_initial_ms: 50\n"
                        "    backoff_max_ms: 200\n");
  // The URL, a '/' in the password: refused, without quoting it.
  const std::string slash = dir.File("slash.yaml");
  WriteFile(slash, Head(dir) + "cameras:\n  - id: c\n    url: rtsp://u:Leak/Pw@127.0.0.1:9/x\n");
  const testing::ToolRun refused = CheckConfig(dir, slash);
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("cameras[0].url: the user or password contains"), std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.err.find("Leak"), std::string::npos) << refused.err;

  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config}, dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  auto feed = skynet::client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {""});
  ASSERT_TRUE(feed.ok());
  auto control = skynet::client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());

  // Runtime adds: the URL refused without an echo; one with escapes and ?auth= taken.
  testing::ToolRun add =
      Ctl(dir, {"camera", "add", "--id", "slash", "--url", "rtsp://u:Leak/Pw@127.0.0.1:9/x"});
  EXPECT_NE(add.code, 0);
  EXPECT_NE(add.err.find("url: the user or password contains"), std::string::npos) << add.err;
  add = Ctl(dir, {"camera", "add", "--id", "escaped", "--url",
                  "rtsp://v:Leak%40Pw:x@127.0.0.1:9/y?auth=Tok456"});
  EXPECT_EQ(add.code, 0) << add.err;
  // Item 9: a port out of range and an unclosed IPv6 bracket, refused naming the field.
  add = Ctl(dir, {"camera", "add", "--id", "badport", "--url", "rtsp://127.0.0.1:99999/x"});
  EXPECT_NE(add.code, 0);
  EXPECT_NE(add.err.find("url: port must be 1..65535, got '99999'"), std::string::npos) << add.err;
  add = Ctl(dir, {"camera", "add", "--id", "badv6", "--url", "rtsp://[::1/x"});
  EXPECT_NE(add.code, 0);
  EXPECT_NE(add.err.find("url: IPv6 host: '[' without a closing ']'"), std::string::npos)
      << add.err;

  // Let both cameras fail a few times, reading the feed meanwhile.
  std::string events;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto next = feed->Next(50);
        if (next.ok() && next->has_value()) events += (*next)->DebugString();
        v1::Request req;
        req.mutable_status();
        auto r = control->Call(req);
        if (!r.ok() || !r->ok()) return false;
        int failing = 0;
        for (const auto& c : r->status().cameras()) failing += c.reconnects() >= 2;
        return failing == 2;
      },
      90s, 0ms))
      << ReadFile(dir.File("skynetd.log"));
  for (int i = 0; i < 50; ++i) {
    auto next = feed->Next(10);
    if (next.ok() && next->has_value()) events += (*next)->DebugString();
  }
  const testing::ToolRun cameras = Ctl(dir, {"cameras"});
  EXPECT_EQ(cameras.code, 0) << cameras.err;
  EXPECT_NE(cameras.out.find("rtsp://***@127.0.0.1:9/live?channel=1&token=***"), std::string::npos)
      << cameras.out;
  const testing::ToolRun status = Ctl(dir, {"status"});
  EXPECT_EQ(status.code, 0) << status.err;
  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 20s), 0);

  std::string journal;
  for (const auto& entry : std::filesystem::directory_iterator(dir.File("journal"))) {
    journal += ReadFile(entry.path().string());
  }
  const std::map<std::string, std::string> shown = {{"log", ReadFile(dir.File("skynetd.log"))},
                                                    {"audit", ReadFile(dir.File("audit.log"))},
                                                    {"cameras", cameras.out},
                                                    {"status", status.out},
                                                    {"feed", events},
                                                    {"journal", journal}};
  for (const auto& [where, text] : shown) {
    for (const char* secret : {"Leak", "Tok123", "Tok456"}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in the " << where << ":\n"
                                                      << text;
    }
  }
  EXPECT_FALSE(events.empty());
  // The URL is shown, redacted, where an operator looks for it.
  EXPECT_NE(
      ReadFile(dir.File("skynetd.log")).find("rtsp://***@127.0.0.1:9/live?channel=1&token=***"),
      std::string::npos);
}

TEST(SkynetdFaultsTest, AuditLogHasEveryRefusalAndNoPolls) {
  TempDir dir;
  ASSERT_TRUE(keys::WriteKeyFiles(dir.File("server"), *keys::GenerateKeyPair()).ok());
  const keys::KeyPair reader = *keys::GenerateKeyPair();
  const keys::KeyPair stranger = *keys::GenerateKeyPair();
  const std::string server_public = *keys::LoadPublicKey(dir.File("server.pub"));
  const std::string endpoint = FreeTcpEndpoint();
  const std::string config = dir.File("skynetd.yaml");
  WriteFile(config,
            "node_id: audit\n"
            "event_endpoint: " +
                dir.Ipc("feed.sock") +
                "\n"
                "control_endpoint: " +
                endpoint +
                "\n"
                "metrics_endpoint: \"\"\n"
                "journal:\n  dir: " +
                dir.File("state/journal") +
                "\n"
                "security:\n  server_key_file: " +
                dir.File("server.key") +
                "\n"
                "  clients:\n    - name: center\n      public_key: \"" +
                reader.public_key +
                "\"\n      role: read\n"
                "control:\n  audit_log: " +
                dir.File("audit.log") +
                "\n"
                "cameras: []\n");
  // A world-readable server key: --check-config refuses it as start does.
  ASSERT_EQ(::chmod(dir.File("server.key").c_str(), 0644), 0);
  const testing::ToolRun check = CheckConfig(dir, config);
  EXPECT_EQ(check.code, 1);
  EXPECT_NE(check.err.find("security.server_key_file: " + dir.File("server.key") +
                           ": secret key file is accessible by group or others"),
            std::string::npos)
      << check.err;
  ChildProcess refused(BuildPath("daemon/skynetd"), {"--config", config}, dir.File("refused.log"));
  EXPECT_NE(refused.Wait(30s), 0);
  EXPECT_NE(ReadFile(dir.File("refused.log")).find("accessible by group or others"),
            std::string::npos);
  ASSERT_EQ(::chmod(dir.File("server.key").c_str(), 0600), 0);
  EXPECT_EQ(CheckConfig(dir, config).code, 0);

  ::umask(022);
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config}, dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  auto as = [&](const keys::KeyPair& k, int timeout_ms) {
    return std::move(skynet::client::ControlClient::Connect(
                         endpoint, timeout_ms, {server_public, k.public_key, k.secret_key}))
        .value();
  };
  skynet::client::ControlClient center = as(reader, 20000);
  v1::Request status;
  status.mutable_status();
  for (int i = 0; i < 5; ++i) {  // polls: answered, not audited
    auto r = center.Call(status);
    ASSERT_TRUE(r.ok()) << r.status().ToString() << ReadFile(dir.File("skynetd.log"));
    EXPECT_TRUE(r->ok()) << r->error();
  }
  v1::Request reload;
  reload.mutable_reload();
  auto denied = center.Call(reload);  // wrong role
  ASSERT_TRUE(denied.ok());
  EXPECT_FALSE(denied->ok());
  v1::Request big;
  big.mutable_add_camera()->set_yaml(std::string(100 << 10, 'x'));  // > 64 KiB, < 1 MiB
  auto too_large = center.Call(big);
  ASSERT_TRUE(too_large.ok()) << too_large.status().ToString();
  EXPECT_NE(too_large->error().find("request too large"), std::string::npos);
  {  // Not a protobuf at all, from a DEALER with the reader's key.
    zmq::context_t ctx(1);
    zmq::socket_t raw(ctx, zmq::socket_type::dealer);
    raw.set(zmq::sockopt::linger, 0);
    raw.set(zmq::sockopt::curve_serverkey, server_public);
    raw.set(zmq::sockopt::curve_publickey, reader.public_key);
    raw.set(zmq::sockopt::curve_secretkey, reader.secret_key);
    raw.set(zmq::sockopt::rcvtimeo, 20000);
    raw.connect(endpoint);
    raw.send(zmq::message_t(), zmq::send_flags::sndmore);
    raw.send(zmq::str_buffer("\xff\xfe garbage \x80"), zmq::send_flags::none);
    std::vector<zmq::message_t> reply;
    EXPECT_TRUE(zmq::recv_multipart(raw, std::back_inserter(reply)).has_value());
  }
  skynet::client::ControlClient nobody = as(stranger, 1000);  // unknown key: no answer
  EXPECT_FALSE(nobody.Call(status).ok());
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return ReadFile(dir.File("audit.log")).find("unknown client key") != std::string::npos;
      },
      30s, 50ms));
  // The journal directory and its parent, created by the daemon: 0750 whatever the umask.
  for (const char* d : {"state", "state/journal"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir.File(d).c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 0777, 0750u) << d;
  }
  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 20s), 0);

  const std::string audit = ReadFile(dir.File("audit.log"));
  EXPECT_TRUE(IsUtf8(audit));
  EXPECT_EQ(audit.find("\"command\":\"status\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"who\":\"center\",\"role\":\"read\",\"command\":\"reload\",\"ok\":false,"
                       "\"error\":\"permission denied: reload needs the admin role"),
            std::string::npos)
      << audit;
  EXPECT_NE(audit.find("\"who\":\"center\",\"role\":\"read\",\"command\":\"?\",\"ok\":false,"
                       "\"error\":\"request too large"),
            std::string::npos)
      << audit;
  EXPECT_NE(audit.find("\"who\":\"center\",\"role\":\"read\",\"command\":\"?\",\"ok\":false,"
                       "\"error\":\"malformed request"),
            std::string::npos)
      << audit;
  EXPECT_NE(audit.find("\"who\":\"tcp 127.0.0.1\",\"role\":\"none\",\"command\":\"control "
                       "connect\",\"ok\":false,\"error\":\"unknown client key " +
                       stranger.public_key),
            std::string::npos)
      << audit;
  EXPECT_NE(ReadFile(dir.File("skynetd.log")).find("connections refused so far"),
            std::string::npos);
}

TEST(SkynetdFaultsTest, RemovedDisabledAndStoppedCamerasEndTheirOpenMotionIntervals) {
  TempDir dir;
  ChildProcess camsim(BuildPath("tools/camsim/skynet-camsim"),
                      {"--port", "0", "--size", "320x180", "--fps", "10", "--traffic", "3",
                       "--vary-seed", "--log-level", "warn"},
                      dir.File("camsim.log"));
  ASSERT_TRUE(camsim.started());
  const std::vector<std::string> urls = testing::ReadCamsimReady(camsim).urls;
  ASSERT_EQ(urls.size(), 3u);
  const std::vector<std::string> ids = {"removed", "disabled", "stopped"};
  std::string cameras = "cameras:\n";
  for (size_t i = 0; i < ids.size(); ++i) {
    cameras += "  - id: " + ids[i] + "\n    url: " + urls[i] + "\n    analytics_fps: 5\n";
  }
  const std::string config = dir.File("skynetd.yaml");
  WriteFile(config, Head(dir) + cameras);
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config}, dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());
  auto feed = skynet::client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {""});
  ASSERT_TRUE(feed.ok());
  auto control = skynet::client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());

  std::vector<v1::Event> events;
  auto drain = [&] {
    for (;;) {
      auto next = feed->Next(20);
      if (!next.ok() || !next->has_value()) return;
      events.push_back(**next);
    }
  };
  // Whether `id`'s motion interval is open now, by the feed seen so far.
  auto motion_open = [&](const std::string& id) {
    drain();
    bool open = false;
    for (const v1::Event& e : events) {
      if (e.camera_id() != id) continue;
      if (e.has_motion_started()) open = true;
      if (e.has_motion_ended()) open = false;
    }
    return open;
  };
  // The camera's final status: STOPPED after whatever ended it.
  auto stopped = [&](const std::string& id) {
    drain();
    return std::any_of(events.begin(), events.end(), [&](const v1::Event& e) {
      return e.camera_id() == id && e.has_camera_status() &&
             e.camera_status().reason() == v1::STATUS_REASON_STOPPED;
    });
  };

  ASSERT_TRUE(testing::WaitFor([&] { return motion_open("removed"); }, 120s))
      << ReadFile(dir.File("skynetd.log"));
  testing::ToolRun r = Ctl(dir, {"camera", "remove", "removed"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(testing::WaitFor([&] { return stopped("removed"); }, 60s));

  ASSERT_TRUE(testing::WaitFor([&] { return motion_open("disabled"); }, 120s));
  r = Ctl(dir, {"camera", "disable", "disabled"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(testing::WaitFor([&] { return stopped("disabled"); }, 60s));

  ASSERT_TRUE(testing::WaitFor([&] { return motion_open("stopped"); }, 120s));
  ASSERT_EQ(kill(daemon.pid(), SIGTERM), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return stopped("stopped"); }, 60s));
  EXPECT_EQ(daemon.Wait(30s), 0);

  for (const std::string& id : ids) {
    std::set<uint64_t> open;
    size_t intervals = 0;
    bool final_seen = false;
    for (const v1::Event& e : events) {
      if (e.camera_id() != id) continue;
      if (e.has_motion_started()) {
        EXPECT_FALSE(final_seen) << id << ": motion after the final status";
        open.insert(e.motion_started().motion_id());
        ++intervals;
      }
      if (e.has_motion_ended()) {
        EXPECT_FALSE(final_seen) << id << ": motion ended after the final status";
        open.erase(e.motion_ended().motion_id());
      }
      if (e.has_camera_status() && e.camera_status().reason() == v1::STATUS_REASON_STOPPED) {
        EXPECT_TRUE(open.empty()) << id << ": " << open.size()
                                  << " motion interval(s) open at the final status";
        final_seen = true;
      }
    }
    EXPECT_TRUE(final_seen) << id;
    EXPECT_GE(intervals, 1u) << id;
    EXPECT_TRUE(open.empty()) << id << ": " << open.size() << " of " << intervals
                              << " motion intervals never ended";
  }
}

}  // namespace
}  // namespace skynet
