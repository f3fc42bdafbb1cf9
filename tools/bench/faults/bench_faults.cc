// skynet-bench-faults: how camera sessions behave under faults, on real parts in one process:
// camsim serving RTSP on 127.0.0.1 (and chaosproxy in front of it for the TCP probe path),
// ingest CameraSessions reading it. Prints
//   - time from camera return to the first frame handed to analytics (p50/p95), next to a cold
//     start of a fresh session (the baseline, same camera, same run): camsim stop/start with a
//     small backoff, and an unreachable camera (chaosproxy refuse/pass) noticed by the TCP probe
//     while the default backoff (1 s .. 60 s) would still be waiting;
//   - stall detection latency beyond stall_timeout_ms (camsim stall: TCP open, no data);
//   - RSS growth per restart over N restarts of one camera (least-squares slope after warm-up),
//     with file descriptors and threads at the start and the end.
//
//   skynet-bench-faults [--returns N] [--stalls N] [--restarts N]    (defaults 20, 10, 1000)
//
// A "restart" is the fault suite's restart loop (tests/pipeline/ingest/ingest_fault_test.cc):
// camsim restarts the camera (its clients are closed), the session reconnects and is online
// again. The frame handed to on_frame is where the daemon queues it for its analytics worker.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/core/logging.h"
#include "pipeline/ingest/camera_session.h"
#include "tools/camsim/camsim.h"
#include "tools/chaosproxy/chaosproxy.h"

namespace skynet::ingest {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Watches one session with bounded memory (the restart loop runs for thousands of cycles, so
// nothing per frame or per change is kept): per state, how many changes and when the last one
// came; frames are counted, and the first one after Arm() is timed.
class Watch {
 public:
  CameraSession::Callbacks Callbacks() {
    CameraSession::Callbacks cb;
    cb.on_frame = [this](Frame&&) {
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lock(mu_);
      ++frames_;
      if (!first_frame_) first_frame_ = now;
      cv_.notify_all();
    };
    cb.on_state = [this](const StateChange& c) {
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lock(mu_);
      const int i = static_cast<int>(c.state);
      ++count_[i];
      last_[i] = now;
      last_change_[i] = c;
      cv_.notify_all();
    };
    return cb;
  }
  // Forgets the first frame seen, so the next one is timed.
  void Arm() {
    std::lock_guard<std::mutex> lock(mu_);
    first_frame_.reset();
  }
  // Time of the first frame since Arm(), or nullopt after `timeout`.
  std::optional<Clock::time_point> FirstFrame(Clock::duration timeout = 60s) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return first_frame_.has_value(); })) return {};
    return first_frame_;
  }
  // Time of the n-th change to `s` (the latest one once there are n), or nullopt on timeout.
  std::optional<Clock::time_point> WaitState(SessionState s, uint64_t n,
                                             Clock::duration timeout = 60s) {
    const int i = static_cast<int>(s);
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return count_[i] >= n; })) return {};
    return last_[i];
  }
  uint64_t Count(SessionState s) {
    std::lock_guard<std::mutex> lock(mu_);
    return count_[static_cast<int>(s)];
  }
  StateChange Last(SessionState s) {
    std::lock_guard<std::mutex> lock(mu_);
    return last_change_[static_cast<int>(s)];
  }

 private:
  static constexpr int kStates = 8;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t frames_ = 0;
  std::optional<Clock::time_point> first_frame_;
  uint64_t count_[kStates] = {};
  Clock::time_point last_[kStates] = {};
  StateChange last_change_[kStates];
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "faults: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) Fail(std::string(what) + ": " + s.ToString());
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

int CountEntries(const char* dir) {
  int n = -2;  // "." and ".."
  if (DIR* d = opendir(dir)) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

double RssKiB() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024.0);
}

// The fault suite's settings: small backoff, short stall timeout.
SourceOptions Options(const std::string& url) {
  SourceOptions o;
  o.camera_id = "bench";
  o.url = url;
  o.analytics_fps = 5;
  o.detect_width = 320;
  o.connect_timeout_ms = 5000;
  o.first_connect_timeout_ms = 10000;
  o.stall_timeout_ms = 1000;
  o.backoff_initial_ms = 200;
  o.backoff_max_ms = 1000;
  o.probe_interval_ms = 500;
  o.teardown_deadline_ms = 1500;
  return o;
}

std::unique_ptr<CameraSession> NewSession(const SourceOptions& o, Watch* watch) {
  auto s = CameraSession::Create(o, watch->Callbacks());
  if (!s.ok()) Fail("session: " + s.status().ToString());
  return std::move(*s);
}

// Cold start: a fresh session on a serving camera, Start() to its first frame.
std::vector<double> ColdStarts(const std::string& url, int n) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    Watch watch;
    auto s = NewSession(Options(url), &watch);
    const auto t0 = Clock::now();
    s->Start();
    const auto first = watch.FirstFrame();
    if (!first) Fail("cold start: no frame");
    ms.push_back(Ms(*first - t0));
    s->Stop();
  }
  return ms;
}

// camsim stop (FIN; DESCRIBE then gets 404), down for `down`, start: start to first frame.
std::vector<double> Returns(camsim::Server& server, const std::string& cam, int n,
                            Clock::duration down) {
  Watch watch;
  auto s = NewSession(Options(server.Url(cam)), &watch);
  s->Start();
  if (!watch.WaitState(SessionState::kOnline, 1)) Fail("return: not online");
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const uint64_t waits = watch.Count(SessionState::kWaiting);
    Check(server.Control("stop " + cam), "camsim stop");
    if (!watch.WaitState(SessionState::kWaiting, waits + 1)) Fail("return: not offline");
    std::this_thread::sleep_for(down);
    watch.Arm();
    const auto back = Clock::now();
    Check(server.Control("start " + cam), "camsim start");
    const auto first = watch.FirstFrame();
    if (!first) Fail("return: no frame");
    ms.push_back(Ms(*first - back));
  }
  s->Stop();
  return ms;
}

struct ProbeReturns {
  std::vector<double> ms;          // pass to first frame
  std::vector<double> backoff_ms;  // what was left of the backoff at pass: the wait without probe
  uint64_t shortcuts = 0;
};

// The camera becomes unreachable (chaosproxy refuse: the connection is reset, connects are
// refused) for 2-4 s, longer than a probe interval, as a rebooting camera is, and comes back
// (pass). The session runs with the daemon's default backoff (1 s .. 60 s) and probe interval
// (1500 ms); the backoff is not reset by a short online period, so it grows over the returns.
ProbeReturns ProbeReturnsThroughProxy(camsim::Server& server, const std::string& cam, int n) {
  chaos::ProxyOptions po;
  po.target_port = server.port();
  auto proxy = chaos::Proxy::Start(po);
  if (!proxy.ok()) Fail("chaosproxy: " + proxy.status().ToString());
  SourceOptions o = Options("rtsp://127.0.0.1:" + std::to_string((*proxy)->port()) + "/" + cam);
  const SourceOptions defaults;
  o.backoff_initial_ms = defaults.backoff_initial_ms;
  o.backoff_max_ms = defaults.backoff_max_ms;
  o.probe_interval_ms = defaults.probe_interval_ms;
  Watch watch;
  auto s = NewSession(o, &watch);
  s->Start();
  if (!watch.WaitState(SessionState::kOnline, 1)) Fail("probe: not online");
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> down_ms(2000, 4000);
  ProbeReturns r;
  for (int i = 0; i < n; ++i) {
    const uint64_t waits = watch.Count(SessionState::kWaiting);
    Check((*proxy)->Control("refuse"), "chaosproxy refuse");
    if (!watch.WaitState(SessionState::kWaiting, waits + 1)) Fail("probe: not offline");
    std::this_thread::sleep_for(std::chrono::milliseconds(down_ms(rng)));
    watch.Arm();
    const auto back = Clock::now();
    const auto wait_at = watch.WaitState(SessionState::kWaiting, 1);
    const int64_t retry_in_ms = watch.Last(SessionState::kWaiting).retry_in_ms;
    Check((*proxy)->Control("pass"), "chaosproxy pass");
    const auto first = watch.FirstFrame();
    if (!first) Fail("probe: no frame");
    r.ms.push_back(Ms(*first - back));
    // What was left of the current wait (0 if an attempt was already under way).
    r.backoff_ms.push_back(
        std::max(0.0, Ms(*wait_at + std::chrono::milliseconds(retry_in_ms) - back)));
  }
  s->Stop();
  r.shortcuts = s->stats().probe_shortcuts;
  return r;
}

// camsim stall (TCP open, no data): stall command to kStalled, minus stall_timeout_ms.
std::vector<double> Stalls(camsim::Server& server, const std::string& cam, int n,
                           int* stall_timeout_ms) {
  const SourceOptions o = Options(server.Url(cam));
  *stall_timeout_ms = o.stall_timeout_ms;
  Watch watch;
  auto s = NewSession(o, &watch);
  s->Start();
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    if (!watch.WaitState(SessionState::kOnline, i + 1)) Fail("stall: not online");
    std::this_thread::sleep_for(500ms);  // frames flowing for a while
    const auto stalled = Clock::now();
    Check(server.Control("stall " + cam), "camsim stall");
    const auto seen = watch.WaitState(SessionState::kStalled, i + 1);
    if (!seen) Fail("stall: not detected");
    ms.push_back(Ms(*seen - stalled) - o.stall_timeout_ms);
    Check(server.Control("resume " + cam), "camsim resume");
  }
  s->Stop();
  return ms;
}

struct RestartRun {
  int restarts = 0;
  double rss_first_kib = 0, rss_last_kib = 0, slope_kib = 0;
  int fds_start = 0, fds_end = 0, threads_start = 0, threads_end = 0;
  double seconds = 0;
};

// The fault suite's restart loop, `n` times after `warmup` cycles; RSS sampled after each.
RestartRun Restarts(camsim::Server& server, const std::string& cam, int n, int warmup) {
  SourceOptions o = Options(server.Url(cam));
  o.detect_width = 160;
  o.backoff_initial_ms = 1;
  o.backoff_max_ms = 20;
  Watch watch;
  auto s = NewSession(o, &watch);
  s->Start();
  uint64_t online = 1;
  auto cycle = [&] {
    Check(server.Control("restart " + cam), "camsim restart");
    if (!watch.WaitState(SessionState::kOnline, ++online)) Fail("restart: not online again");
  };
  if (!watch.WaitState(SessionState::kOnline, online)) Fail("restart: not online");
  for (int i = 0; i < warmup; ++i) cycle();
  RestartRun r;
  r.restarts = n;
  r.fds_start = CountEntries("/proc/self/fd");
  r.threads_start = CountEntries("/proc/self/task");
  std::vector<double> rss;
  rss.reserve(n);
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    cycle();
    rss.push_back(RssKiB());
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.fds_end = CountEntries("/proc/self/fd");
  r.threads_end = CountEntries("/proc/self/task");
  s->Stop();
  // Least squares: rss = a + slope * i.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < n; ++i) {
    sx += i;
    sy += rss[i];
    sxx += double(i) * i;
    sxy += i * rss[i];
  }
  const double d = n * sxx - sx * sx;
  r.slope_kib = d > 0 ? (n * sxy - sx * sy) / d : 0;
  r.rss_first_kib = rss.empty() ? 0 : rss.front();
  r.rss_last_kib = rss.empty() ? 0 : rss.back();
  return r;
}

int Main(int argc, char** argv) {
  int returns = 20, stalls = 10, restarts = 1000, warmup = 20;
  if (argc % 2 == 0) Fail("usage: skynet-bench-faults [--returns N] [--stalls N] [--restarts N]");
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (flag == "--returns") {
      returns = v;
    } else if (flag == "--stalls") {
      stalls = v;
    } else if (flag == "--restarts") {
      restarts = v;
    } else if (flag == "--warmup") {
      warmup = v;
    } else {
      Fail("unknown flag " + flag + " (--returns N --stalls N --restarts N --warmup N)");
    }
  }
  SetLogLevel("warn");
  camsim::CameraSpec cam{.name = "cam",
                         .width = 640,
                         .height = 360,
                         .fps = 15,
                         .bitrate_kbps = 800,
                         .loop_seconds = 4};
  camsim::CameraSpec small{.name = "small",
                           .width = 160,
                           .height = 96,
                           .fps = 15,
                           .bitrate_kbps = 200,
                           .loop_seconds = 2};
  auto server = camsim::Server::Create({.cameras = {cam, small}});
  if (!server.ok()) Fail("camsim: " + server.status().ToString());
  Check((*server)->Start(), "camsim start");
  const SourceOptions o = Options("");

  std::printf(
      "faults: camsim on 127.0.0.1, 640x360 H.264 at 15 fps (keyframe every 1 s), "
      "analytics at %.0f fps, %d wide; backoff %d ms .. %d ms, stall_timeout %d ms\n",
      o.analytics_fps, o.detect_width, o.backoff_initial_ms, o.backoff_max_ms, o.stall_timeout_ms);
  std::fflush(stdout);
  if (returns > 0) {
    const auto cold = ColdStarts((*server)->Url("cam"), returns);
    const auto back = Returns(**server, "cam", returns, 1s);
    const double cold50 = Percentile(cold, 0.5), cold95 = Percentile(cold, 0.95);
    std::printf(
        "faults: cold start (fresh session, Start to first frame), %d runs: p50 %.0f ms, "
        "p95 %.0f ms (baseline)\n",
        returns, cold50, cold95);
    std::printf(
        "faults: return (camsim stop, 1 s down, start -> first frame to analytics), %d "
        "returns: p50 %.0f ms, p95 %.0f ms; ratio to cold start p50 %.2f, p95 %.2f\n",
        returns, Percentile(back, 0.5), Percentile(back, 0.95), Percentile(back, 0.5) / cold50,
        Percentile(back, 0.95) / cold95);
    std::fflush(stdout);
    const auto probe = ProbeReturnsThroughProxy(**server, "cam", returns);
    std::printf(
        "faults: return noticed by the TCP probe (chaosproxy refuse, 2-4 s down, pass, default "
        "backoff %d ms .. %d ms, probe every %d ms), %d returns: p50 %.0f ms, p95 %.0f "
        "ms; ratio to cold start p50 %.2f, p95 %.2f; the backoff alone would have "
        "waited p50 %.0f ms, p95 %.0f ms; probe shortcuts %llu\n",
        SourceOptions{}.backoff_initial_ms, SourceOptions{}.backoff_max_ms,
        SourceOptions{}.probe_interval_ms, returns, Percentile(probe.ms, 0.5),
        Percentile(probe.ms, 0.95), Percentile(probe.ms, 0.5) / cold50,
        Percentile(probe.ms, 0.95) / cold95, Percentile(probe.backoff_ms, 0.5),
        Percentile(probe.backoff_ms, 0.95), static_cast<unsigned long long>(probe.shortcuts));
    std::fflush(stdout);
  }
  if (stalls > 0) {
    int timeout_ms = 0;
    const auto late = Stalls(**server, "cam", stalls, &timeout_ms);
    std::printf(
        "faults: stall detection (camsim stall: TCP open, no data), %d stalls: beyond "
        "stall_timeout %d ms p50 %.0f ms, p95 %.0f ms; ratio to the timeout p95 %.2f\n",
        stalls, timeout_ms, Percentile(late, 0.5), Percentile(late, 0.95),
        (timeout_ms + Percentile(late, 0.95)) / timeout_ms);
    std::fflush(stdout);
  }
  if (restarts > 0) {
    const RestartRun r = Restarts(**server, "small", restarts, warmup);
    std::printf(
        "faults: %d restarts (camsim restart -> session online again, 160x96, backoff 1 "
        "ms .. 20 ms) in %.0f s after %d warm-up: RSS %.0f KiB -> %.0f KiB, slope %.2f "
        "KiB/restart (least squares); fds %d -> %d, threads %d -> %d\n",
        r.restarts, r.seconds, warmup, r.rss_first_kib, r.rss_last_kib, r.slope_kib, r.fds_start,
        r.fds_end, r.threads_start, r.threads_end);
  }
  (*server)->Stop();
  return 0;
}

}  // namespace
}  // namespace skynet::ingest

int main(int argc, char** argv) { return skynet::ingest::Main(argc, argv); }
