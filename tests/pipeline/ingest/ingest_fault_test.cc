// CameraSession against injected faults: camsim's fault controls and chaosproxy on loopback.
// Every wait is a condition with a generous deadline; absence is asserted over short windows.
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include "pipeline/core/logging.h"
#include "pipeline/ingest/camera_session.h"
#include "pipeline/ingest/teardown_reaper.h"
#include "tests/pipeline/ingest/ingest_test_util.h"
#include "tests/testing/wait.h"
#include "tools/camsim/camsim.h"
#include "tools/chaosproxy/chaosproxy.h"

namespace skynet::ingest {
namespace {

using namespace std::chrono_literals;
using skynet::testing::WaitFor;
using testing::Recorder;
using Clock = std::chrono::steady_clock;

// Small, cheap cameras: many sessions decode them on two cores.
camsim::CameraSpec Cam(const std::string& name, int w = 320, int h = 180, int fps = 10) {
  return {.name = name, .width = w, .height = h, .fps = fps, .bitrate_kbps = 200,
          .loop_seconds = 2};
}

std::unique_ptr<camsim::Server> StartCamsim(std::vector<camsim::CameraSpec> cameras) {
  auto server = camsim::Server::Create({.cameras = std::move(cameras)});
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return nullptr;
  EXPECT_TRUE((*server)->Start().ok());
  return std::move(server).value();
}

SourceOptions Rtsp(const std::string& url, const std::string& id = "fault") {
  SourceOptions o;
  o.camera_id = id;
  o.url = url;
  o.analytics_fps = 5;
  o.detect_width = 160;
  o.connect_timeout_ms = 5000;
  o.first_connect_timeout_ms = 10000;
  o.stall_timeout_ms = 1500;
  o.backoff_initial_ms = 200;
  o.backoff_max_ms = 800;
  o.probe_interval_ms = 500;
  o.teardown_deadline_ms = 1500;
  return o;
}

std::string ProxyUrl(const chaos::Proxy& proxy, const std::string& cam) {
  return "rtsp://127.0.0.1:" + std::to_string(proxy.port()) + "/" + cam;
}

std::unique_ptr<chaos::Proxy> StartProxy(int target) {
  chaos::ProxyOptions o;
  o.target_port = target;
  auto p = chaos::Proxy::Start(o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(*p) : nullptr;
}

size_t Count(const std::vector<StateChange>& states, SessionState s,
             std::optional<StateReason> r = std::nullopt) {
  return std::count_if(states.begin(), states.end(), [&](const StateChange& c) {
    return c.state == s && (!r || c.reason == *r);
  });
}

int CountEntries(const char* dir) {
  int n = 0;
  if (DIR* d = opendir(dir)) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

TEST(IngestFaultTest, KilledCameraGoesOfflineOthersUnaffectedThenComesBack) {
  auto server = StartCamsim({Cam("cam"), Cam("other")});
  ASSERT_TRUE(server);
  Recorder rec, other;
  auto s = CameraSession::Create(Rtsp(server->Url("cam")), rec.Callbacks());
  auto o = CameraSession::Create(Rtsp(server->Url("other"), "other"), other.Callbacks());
  ASSERT_TRUE(s.ok() && o.ok());
  (*s)->Start();
  (*o)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline));
  ASSERT_TRUE(other.WaitForState(SessionState::kOnline));
  ASSERT_TRUE(server->Control("kill cam").ok());
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  const size_t other_frames = other.frame_count();
  EXPECT_TRUE(other.WaitForFrames(other_frames + 5));
  EXPECT_EQ(other.states().size(), 2u);  // connecting, online: nothing else
  ASSERT_TRUE(server->Control("start cam").ok());
  ASSERT_TRUE(rec.WaitForStateCount(SessionState::kOnline, 2));
  const size_t n = rec.frame_count();
  EXPECT_TRUE(rec.WaitForFrames(n + 5));
  (*s)->Stop();
  (*o)->Stop();
  EXPECT_EQ((*o)->stats().reconnects, 0u);
}

TEST(IngestFaultTest, StallWithTcpOpenIsDetectedAndRebuilt) {
  auto server = StartCamsim({Cam("cam")});
  ASSERT_TRUE(server);
  Recorder rec;
  auto s = CameraSession::Create(Rtsp(server->Url("cam")), rec.Callbacks());
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline));
  const auto stalled_at = Clock::now();
  ASSERT_TRUE(server->Control("stall cam").ok());
  ASSERT_TRUE(rec.WaitForState(SessionState::kStalled));
  EXPECT_GE(Clock::now() - stalled_at, 1400ms);  // not before stall_timeout
  ASSERT_TRUE(server->Control("resume cam").ok());
  ASSERT_TRUE(rec.WaitForStateCount(SessionState::kOnline, 2));
  (*s)->Stop();
  EXPECT_GE((*s)->stats().stalls, 1u);
  EXPECT_GT((*s)->stats().bytes_received, 0u);
}

TEST(IngestFaultTest, BlackholeThroughChaosproxyIsAStallAndRecovers) {
  auto server = StartCamsim({Cam("cam")});
  ASSERT_TRUE(server);
  auto proxy = StartProxy(server->port());
  ASSERT_TRUE(proxy);
  Recorder rec;
  auto s = CameraSession::Create(Rtsp(ProxyUrl(*proxy, "cam")), rec.Callbacks());
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline));
  ASSERT_TRUE(proxy->Control("blackhole").ok());
  ASSERT_TRUE(rec.WaitForState(SessionState::kStalled));
  EXPECT_EQ(Count(rec.states(), SessionState::kStalled, StateReason::kStall), 1u);
  ASSERT_TRUE(proxy->Control("pass").ok());
  ASSERT_TRUE(rec.WaitForStateCount(SessionState::kOnline, 2));
  (*s)->Stop();
}

TEST(IngestFaultTest, GarbageNeitherCrashesNorSpinsRetriesFollowTheBackoff) {
  auto server = StartCamsim({Cam("cam")});
  ASSERT_TRUE(server);
  Recorder rec;
  SourceOptions opts = Rtsp(server->Url("cam"));
  opts.connect_timeout_ms = 1500;
  auto s = CameraSession::Create(opts, rec.Callbacks());
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline));
  ASSERT_TRUE(server->Control("garbage cam").ok());
  // Corrupt slices are concealed, dropped (then: decode error) or break the payload (then:
  // stall), depending on which bytes flip; watch up to 20 s or five more attempts.
  rec.WaitForStateCount(SessionState::kConnecting, 6, 20s);
  const auto t0 = Clock::now();
  (*s)->Stop();
  EXPECT_LT(Clock::now() - t0, 5s);
  const auto states = rec.states();
  const auto times = rec.state_times();
  // Each retry waited at least the delay it announced, and no delay exceeded the cap: the
  // retry rate is the backoff schedule's, not a busy loop.
  for (size_t i = 0; i + 1 < states.size(); ++i) {
    if (states[i].state != SessionState::kWaiting) continue;
    EXPECT_LE(states[i].retry_in_ms, opts.backoff_max_ms);
    if (states[i + 1].state == SessionState::kConnecting) {
      EXPECT_GE(times[i + 1] - times[i], std::chrono::milliseconds(states[i].retry_in_ms) - 20ms);
    }
  }
  // And every attempt lasted (the connect timeout or the stall timeout) before failing.
  const auto first_fail =
      std::find_if(states.begin(), states.end(),
                   [](const StateChange& c) { return c.state == SessionState::kWaiting; });
  // Every corrupt unit may have been concealed (or only changed the decoded size): then no
  // attempt failed and there is no retry to pace.
  if (first_fail == states.end()) return;
  const size_t attempts = Count(rec.states(), SessionState::kConnecting);
  const double span_s =
      std::chrono::duration<double>(times.back() - times[first_fail - states.begin()]).count();
  EXPECT_LE(attempts - 1, 2 + span_s / (std::min(opts.connect_timeout_ms, opts.stall_timeout_ms) / 1e3))
      << "attempts " << attempts << " in " << span_s << " s";
}

// The issue-14 case: camsim's garbage fault is concealed by libav, so frames keep coming. The
// session must say "degraded" (decode error) within 2 s of the first damaged frame decoded, and
// go back to online once the camera sends clean data again.
TEST(IngestFaultTest, GarbageIsDegradedWithinTwoSecondsThenOnlineAgain) {
  auto server = StartCamsim({Cam("cam")});
  ASSERT_TRUE(server);
  Recorder rec;
  auto s = CameraSession::Create(Rtsp(server->Url("cam")), rec.Callbacks());
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  ASSERT_TRUE(rec.WaitForFrames(10));
  EXPECT_EQ(Count(rec.states(), SessionState::kDegraded), 0u);  // a clean stream is not
  ASSERT_TRUE(server->Control("garbage cam").ok());
  ASSERT_TRUE(rec.WaitForState(SessionState::kDegraded, 30s));
  // The fault is still on: the report came while the camera sent garbage.
  StateChange degraded;
  for (const auto& c : rec.states()) {
    if (c.state == SessionState::kDegraded) degraded = c;
  }
  EXPECT_EQ(degraded.reason, StateReason::kDecodeError);
  EXPECT_LE(degraded.detection_latency_us, 2'000'000) << degraded.detail;
  EXPECT_NE(degraded.detail.find("decode errors"), std::string::npos) << degraded.detail;
  EXPECT_GT((*s)->stats().decoder_errors + (*s)->stats().corrupt_frames, 0u);
  EXPECT_GE((*s)->stats().degraded, 1u);
  ASSERT_TRUE(server->Control("resume cam").ok());
  // Clean again: online (on this connection, or after a reconnect the damage caused).
  const size_t n = rec.states().size();
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto states = rec.states();
        return states.size() > n && states.back().state == SessionState::kOnline;
      },
      30s));
  (*s)->Stop();
}

TEST(IngestFaultTest, ResolutionChangeIsReportedWithoutReconnecting) {
  auto server = StartCamsim({Cam("cam", 320, 180)});
  ASSERT_TRUE(server);
  Recorder rec;
  auto s = CameraSession::Create(Rtsp(server->Url("cam")), rec.Callbacks());
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  ASSERT_TRUE(rec.WaitForFrames(3));
  ASSERT_TRUE(server->Control("resize cam 480x360").ok());
  ASSERT_TRUE(WaitFor([&] {
    return Count(rec.states(), SessionState::kOnline, StateReason::kStreamChanged) > 0;
  }));
  const size_t n = rec.frame_count();
  ASSERT_TRUE(rec.WaitForFrames(n + 3));
  (*s)->Stop();
  StateChange change;
  for (const auto& c : rec.states()) {
    if (c.reason == StateReason::kStreamChanged) change = c;
  }
  EXPECT_EQ(change.previous_width, 320);
  EXPECT_EQ(change.previous_height, 180);
  EXPECT_EQ(change.width, 480);
  EXPECT_EQ(change.height, 360);
  EXPECT_EQ(change.codec, "h264");
  EXPECT_EQ(rec.frames().back().source_width, 480);
  EXPECT_EQ(rec.frames().back().image.rows, 120);  // 160 wide at 4:3
  EXPECT_EQ((*s)->stats().reconnects, 0u);
  EXPECT_EQ((*s)->stats().stream_changes, 1u);
}

TEST(IngestFaultTest, WrongPasswordIsAuthFailedAndNeverLogged) {
  auto server = StartCamsim({Cam("cam")});
  ASSERT_TRUE(server);
  ASSERT_TRUE(server->Control("auth cam on").ok());
  std::ostringstream log_text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
  auto logger = GetLogger("ingest");
  logger->sinks().push_back(sink);
  const auto old_level = logger->level();
  logger->set_level(spdlog::level::trace);
  const std::string url_secret = "Url-S3cret%21x", field_secret = "Field-S3cret-y";
  std::vector<StateChange> states;
  for (const bool in_url : {true, false}) {
    Recorder rec;
    SourceOptions o = Rtsp(in_url ? "rtsp://viewer:" + url_secret + "@127.0.0.1:" +
                                        std::to_string(server->port()) + "/cam"
                                  : server->Url("cam"));
    if (!in_url) {
      o.username = "viewer";
      o.password = field_secret;
    }
    auto s = CameraSession::Create(o, rec.Callbacks());
    ASSERT_TRUE(s.ok());
    (*s)->Start();
    ASSERT_TRUE(rec.WaitForStateCount(SessionState::kWaiting, 2));
    (*s)->Stop();
    for (const auto& c : rec.states()) states.push_back(c);
  }
  logger->set_level(old_level);
  std::erase(logger->sinks(), sink);
  EXPECT_EQ(Count(states, SessionState::kWaiting, StateReason::kAuthFailed),
            Count(states, SessionState::kWaiting));
  const std::string text = log_text.str();
  EXPECT_NE(text.find("auth failed"), std::string::npos) << text;
  for (const std::string& secret : {url_secret, field_secret, std::string("Url-S3cret!x")}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
    for (const auto& c : states) EXPECT_EQ(c.detail.find(secret), std::string::npos) << c.detail;
  }
}

TEST(IngestFaultTest, ThirtyCamerasRestartedTogetherComeBackWithinTheStartRate) {
  constexpr int kCameras = 30;
  std::vector<camsim::CameraSpec> specs;
  for (int i = 0; i < kCameras; ++i) specs.push_back(Cam("c" + std::to_string(i), 160, 96, 5));
  auto server = StartCamsim(specs);
  ASSERT_TRUE(server);
  constexpr double kRate = 15;
  constexpr int kBurst = 5;
  StartLimiter limiter(kRate, kBurst);
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<std::unique_ptr<CameraSession>> sessions;
  for (int i = 0; i < kCameras; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    SourceOptions o = Rtsp(server->Url(specs[i].name), specs[i].name);
    o.analytics_fps = 1;
    o.detect_width = 64;
    o.stall_timeout_ms = 3000;
    auto s = CameraSession::Create(o, recs.back()->Callbacks(), SystemClock::Get(), &limiter);
    ASSERT_TRUE(s.ok());
    sessions.push_back(std::move(*s));
    sessions.back()->Start();
  }
  auto all_online = [&](size_t times) {
    return WaitFor([&] {
      return std::all_of(recs.begin(), recs.end(),
                         [&](auto& r) { return r->CountState(SessionState::kOnline) >= times; });
    }, 90s, 50ms);
  };
  ASSERT_TRUE(all_online(1));
  for (const auto& spec : specs) ASSERT_TRUE(server->Control("restart " + spec.name).ok());
  ASSERT_TRUE(all_online(2));
  for (auto& s : sessions) s->Stop();
  // Starts (kConnecting) within any 1 s window: at most burst + rate, plus one for rounding.
  std::vector<Clock::time_point> starts;
  for (auto& r : recs) {
    const auto states = r->states();
    const auto times = r->state_times();
    for (size_t i = 0; i < states.size(); ++i) {
      if (states[i].state == SessionState::kConnecting) starts.push_back(times[i]);
    }
  }
  std::sort(starts.begin(), starts.end());
  ASSERT_GE(starts.size(), 2u * kCameras);
  size_t max_in_window = 0;
  for (size_t i = 0, j = 0; j < starts.size(); ++j) {
    while (starts[j] - starts[i] >= 1s) ++i;
    max_in_window = std::max(max_in_window, j - i + 1);
  }
  EXPECT_LE(max_in_window, kBurst + kRate + 1);
  EXPECT_GT(limiter.stats().refused, 0u);
  EXPECT_EQ(limiter.stats().granted, starts.size());
}

TEST(IngestFaultTest, ReturningCameraIsNoticedByTheProbeBeforeTheBackoffEnds) {
  auto server = StartCamsim({Cam("cam")});
  ASSERT_TRUE(server);
  auto proxy = StartProxy(server->port());
  ASSERT_TRUE(proxy);
  ASSERT_TRUE(proxy->Control("refuse").ok());
  Recorder rec;
  SourceOptions o = Rtsp(ProxyUrl(*proxy, "cam"));
  o.backoff_initial_ms = 30000;  // without the probe, the retry would come within 30 s
  o.backoff_max_ms = 30000;
  auto s = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kWaiting));
  EXPECT_EQ(rec.states().back().reason, StateReason::kRefused);
  // Full jitter: the wait is drawn from [0, 30 s]; one in twenty is shorter than the probe
  // interval and needs no probe to end early.
  const int64_t drawn_ms = rec.states().back().retry_in_ms;
  const auto back = Clock::now();
  ASSERT_TRUE(proxy->Control("pass").ok());
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline, 60s));
  EXPECT_LT(Clock::now() - back, 5s);
  (*s)->Stop();
  if (drawn_ms > o.probe_interval_ms + 5000) {
    EXPECT_GE((*s)->stats().probe_shortcuts, 1u) << "drawn wait " << drawn_ms << " ms";
  }
}

TEST(IngestFaultTest, FirstConnectGetsTheLongerWindow) {
  auto server = StartCamsim({Cam("cam")});
  ASSERT_TRUE(server);
  auto proxy = StartProxy(server->port());
  ASSERT_TRUE(proxy);
  ASSERT_TRUE(proxy->Control("blackhole").ok());
  Recorder rec;
  SourceOptions o = Rtsp(ProxyUrl(*proxy, "cam"));
  o.connect_timeout_ms = 500;
  o.first_connect_timeout_ms = 1200;
  auto s = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  ASSERT_TRUE(rec.WaitForStateCount(SessionState::kWaiting, 2));
  (*s)->Stop();
  // How long each attempt waited for its first frame: connecting -> waiting.
  const auto states = rec.states();
  const auto times = rec.state_times();
  std::vector<Clock::duration> attempts;
  for (size_t i = 0; i + 1 < states.size(); ++i) {
    if (states[i].state == SessionState::kConnecting && states[i + 1].state == SessionState::kWaiting) {
      attempts.push_back(times[i + 1] - times[i]);
      EXPECT_EQ(states[i + 1].reason, StateReason::kTimeout) << states[i + 1].detail;
    }
  }
  ASSERT_GE(attempts.size(), 2u);
  EXPECT_GE(attempts[0], 1100ms);
  EXPECT_LT(attempts[1], 1100ms);
  EXPECT_GE(attempts[1], 450ms);
}

TEST(IngestFaultTest, BlockedConsumerIsAlarmedNotReconnectedAndItsTeardownIsAbandoned) {
  auto server = StartCamsim({Cam("cam"), Cam("other")});
  ASSERT_TRUE(server);
  std::mutex mu;
  std::condition_variable cv;
  bool block = false, release = false;
  std::atomic<int> blocked_calls{0};
  Recorder rec, other;
  CameraSession::Callbacks cb = rec.Callbacks();
  auto record = cb.on_frame;
  cb.on_frame = [&, record](Frame&& f) {
    std::unique_lock<std::mutex> lock(mu);
    if (block) {
      ++blocked_calls;
      cv.wait(lock, [&] { return release; });  // a consumer that hangs
    }
    lock.unlock();
    record(std::move(f));
  };
  SourceOptions o = Rtsp(server->Url("cam"));
  o.teardown_deadline_ms = 1000;
  auto s = CameraSession::Create(o, cb);
  auto t = CameraSession::Create(Rtsp(server->Url("other"), "other"), other.Callbacks());
  ASSERT_TRUE(s.ok() && t.ok());
  (*s)->Start();
  (*t)->Start();
  ASSERT_TRUE(rec.WaitForFrames(3));
  {
    std::lock_guard<std::mutex> lock(mu);
    block = true;
  }
  ASSERT_TRUE(rec.WaitForState(SessionState::kBlocked));
  EXPECT_EQ(Count(rec.states(), SessionState::kBlocked, StateReason::kDownstreamBlocked), 1u);
  EXPECT_EQ((*s)->stats().reconnects, 0u);
  EXPECT_EQ((*s)->state(), SessionState::kBlocked);
  // Stop returns within the teardown deadline although a streaming thread is stuck in on_frame.
  const auto t0 = Clock::now();
  (*s)->Stop();
  EXPECT_LT(Clock::now() - t0, 4s);
  EXPECT_EQ((*s)->stats().teardowns_abandoned, 1u);
  EXPECT_GE(PendingTeardowns(), 1);
  const size_t n = other.frame_count();
  EXPECT_TRUE(other.WaitForFrames(n + 5));  // the other camera never noticed
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_TRUE(WaitFor([] { return PendingTeardowns() == 0; }));
  (*t)->Stop();
  EXPECT_EQ(blocked_calls.load(), 1);
}

// 200 cycles by default (SKYNET_RESTART_CYCLES overrides): kill the camera, let the session
// reconnect. File descriptors and threads end where they started.
TEST(IngestFaultTest, RestartLoopLeavesFdsAndThreadsAtBaseline) {
  const char* env = std::getenv("SKYNET_RESTART_CYCLES");
  const int cycles = env ? std::atoi(env) : 200;
  auto server = StartCamsim({Cam("cam", 160, 96, 15)});
  ASSERT_TRUE(server);
  Recorder rec;
  SourceOptions o = Rtsp(server->Url("cam"));
  o.backoff_initial_ms = 1;
  o.backoff_max_ms = 20;
  auto s = CameraSession::Create(o, rec.Callbacks());
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  ASSERT_TRUE(rec.WaitForState(SessionState::kOnline));
  auto cycle = [&](size_t k) {
    EXPECT_TRUE(server->Control("restart cam").ok());
    return rec.WaitForStateCount(SessionState::kOnline, k);
  };
  for (size_t k = 2; k <= 6; ++k) ASSERT_TRUE(cycle(k));  // warm up thread pools
  const int fds0 = CountEntries("/proc/self/fd"), threads0 = CountEntries("/proc/self/task");
  for (int i = 0; i < cycles; ++i) ASSERT_TRUE(cycle(7 + i)) << "cycle " << i;
  (*s)->Stop();
  constexpr int kSlack = 8;
  EXPECT_TRUE(WaitFor([&] {
    return CountEntries("/proc/self/fd") <= fds0 + kSlack &&
           CountEntries("/proc/self/task") <= threads0 + kSlack;
  }, 30s, 100ms)) << "fds " << fds0 << " -> " << CountEntries("/proc/self/fd") << ", threads "
                  << threads0 << " -> " << CountEntries("/proc/self/task");
}

}  // namespace
}  // namespace skynet::ingest
