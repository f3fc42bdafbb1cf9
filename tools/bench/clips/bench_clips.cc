// skynet-bench-clips: what clips cost (issue 16 item 2, 7). N live cameras from skynet-camsim
// (a child process, so its encoders do not count) are ingested twice in one run, for the same
// time each:
//   1. decode only: CameraSessions as the daemon runs them (decode, scale, hand over);
//   2. the same, plus every access unit tapped into an EncodedRing and all of it remuxed into
//      fragmented MP4 files through the EvidenceStore (continuous recording: the most a camera
//      can cost in clips).
// Prints the process CPU per camera (percent of one core) of each, their difference, the CPU of
// the remux thread alone, and the bytes written per camera-hour.
//
//   skynet-bench-clips [--cameras N] [--seconds S] [--size WxH] [--fps F] [--bitrate KBPS]
//                      [--camsim PATH]           (defaults 4, 20, 1280x720, 15, 2000)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon/evidence_store.h"
#include "pipeline/core/clock.h"
#include "pipeline/core/logging.h"
#include "pipeline/ingest/camera_session.h"
#include "pipeline/ingest/encoded_ring.h"
#include "pipeline/ingest/mp4_remuxer.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;

struct Args {
  int cameras = 4;
  int seconds = 20;
  std::string size = "1280x720";
  int fps = 15;
  int bitrate = 2000;
  std::string camsim;
};

// skynet-camsim as a child: its camera URLs, read from its stdout up to "ready".
struct Camsim {
  pid_t pid = -1;
  std::vector<std::string> urls;
  ~Camsim() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
};

bool StartCamsim(const Args& a, Camsim* c) {
  int out[2];
  if (pipe(out) != 0) return false;
  c->pid = fork();
  if (c->pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    const std::string n = std::to_string(a.cameras), fps = std::to_string(a.fps),
                      br = std::to_string(a.bitrate);
    execl(a.camsim.c_str(), a.camsim.c_str(), "--port", "0", "--traffic", n.c_str(), "--size",
          a.size.c_str(), "--fps", fps.c_str(), "--bitrate", br.c_str(), "--vary-seed",
          "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s == "ready") return static_cast<int>(c->urls.size()) == a.cameras;
    if (s.rfind("rtsp://", 0) == 0) c->urls.push_back(s);
  }
  return false;
}

struct Phase {
  double cpu_s = 0;           // process CPU over the measured window
  double remux_cpu_s = 0;     // the remux thread's CPU
  uint64_t frames = 0;        // decoded frames handed over
  uint64_t units = 0;         // access units tapped
  int64_t bytes_written = 0;  // MP4 bytes
  double seconds = 0;         // wall time of the window
};

// Runs the cameras for `seconds` (after a warm-up); with `record`, rings and remuxing too.
Phase Run(const Args& a, const std::vector<std::string>& urls, bool record,
          const std::string& dir) {
  std::atomic<uint64_t> frames{0}, units{0};
  std::vector<std::shared_ptr<ingest::EncodedRing>> rings;
  std::vector<std::unique_ptr<ingest::CameraSession>> sessions;
  for (size_t i = 0; i < urls.size(); ++i) {
    auto ring = std::make_shared<ingest::EncodedRing>(
        ingest::EncodedRingOptions{.max_bytes = 32 << 20, .keep_us = 17'000'000});
    rings.push_back(ring);
    ingest::SourceOptions o;
    o.camera_id = "cam" + std::to_string(i + 1);
    o.url = urls[i];
    o.analytics_fps = 5;  // the daemon's default
    ingest::CameraSession::Callbacks cb;
    cb.on_frame = [&frames](Frame&&) { frames.fetch_add(1); };
    if (record) {
      cb.on_encoded = [ring, &units](ingest::EncodedUnit&& u) {
        units.fetch_add(1);
        ring->Push(std::move(u));
      };
    }
    auto s = ingest::CameraSession::Create(o, std::move(cb));
    if (!s.ok()) {
      std::fprintf(stderr, "session: %s\n", s.status().message().c_str());
      std::exit(1);
    }
    sessions.push_back(std::move(s).value());
  }
  for (auto& s : sessions) s->Start();
  std::this_thread::sleep_for(3s);  // connect and settle

  std::shared_ptr<daemon::EvidenceStore> store;
  if (record) {
    auto opened = daemon::EvidenceStore::Open({.path = dir, .sync = false});
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().message().c_str());
      std::exit(1);
    }
    store = *opened;
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> remux_cpu_us{0};
  std::thread remux;
  if (record) {
    remux = std::thread([&] {
      const int64_t cpu0 = ThreadCpuUs();
      struct Out {
        std::unique_ptr<daemon::EvidenceFile> file;
        std::unique_ptr<ingest::Mp4Remuxer> mux;
        uint64_t next = 0;
      };
      std::vector<Out> outs(rings.size());
      for (size_t i = 0; i < rings.size(); ++i) {
        outs[i].next = rings[i]->stats().last_seq + 1;  // from now on
      }
      while (!stop.load()) {
        std::this_thread::sleep_for(100ms);
        for (size_t i = 0; i < rings.size(); ++i) {
          Out& o = outs[i];
          for (const ingest::EncodedUnit& u : rings[i]->ReadFrom(o.next, 1024)) {
            o.next = u.seq + 1;
            if (!o.mux) {
              if (!u.key) continue;
              auto f = store->Create("cam" + std::to_string(i + 1), "recordings", "bench.mp4",
                                     u.capture_us);
              if (!f.ok()) continue;
              o.file = std::move(f).value();
              daemon::EvidenceFile* file = o.file.get();
              auto m = ingest::Mp4Remuxer::Create(
                  *u.format, u, [file](const uint8_t* p, size_t n) { return file->Write(p, n); });
              if (!m.ok()) continue;
              o.mux = std::move(m).value();
            }
            (void)o.mux->Add(u);
          }
        }
      }
      for (Out& o : outs) {
        if (o.mux) (void)o.mux->Finish();
        if (o.file) (void)o.file->Close();
      }
      remux_cpu_us.store(ThreadCpuUs() - cpu0);
    });
  }
  const uint64_t frames0 = frames.load(), units0 = units.load();
  const int64_t cpu0 = ProcessCpuUs();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(a.seconds));
  Phase p;
  p.cpu_s = (ProcessCpuUs() - cpu0) / 1e6;
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  p.frames = frames.load() - frames0;
  p.units = units.load() - units0;
  if (store) p.bytes_written = store->stats().bytes;
  stop.store(true);
  if (remux.joinable()) remux.join();
  p.remux_cpu_s = remux_cpu_us.load() / 1e6;
  for (auto& s : sessions) s->Stop();
  return p;
}

}  // namespace
}  // namespace skynet

int main(int argc, char** argv) {
  using namespace skynet;
  Args a;
  a.camsim = (std::filesystem::canonical("/proc/self/exe").parent_path() /
              "../../camsim/skynet-camsim").lexically_normal().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--cameras") a.cameras = std::atoi(v.c_str());
    else if (k == "--seconds") a.seconds = std::atoi(v.c_str());
    else if (k == "--size") a.size = v;
    else if (k == "--fps") a.fps = std::atoi(v.c_str());
    else if (k == "--bitrate") a.bitrate = std::atoi(v.c_str());
    else if (k == "--camsim") a.camsim = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  SetLogLevel("warn");
  if (!ingest::InitGStreamer().ok()) return 1;
  Camsim camsim;
  if (!StartCamsim(a, &camsim)) {
    std::fprintf(stderr, "cannot start %s\n", a.camsim.c_str());
    return 1;
  }
  char tmpl[] = "/tmp/skynet-bench-clips.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::printf("skynet-bench-clips: %d cameras %s@%d fps, %d kbit/s, %d s per phase\n", a.cameras,
              a.size.c_str(), a.fps, a.bitrate, a.seconds);
  const Phase decode = Run(a, camsim.urls, false, dir);
  const Phase record = Run(a, camsim.urls, true, dir);
  std::filesystem::remove_all(dir);
  const double n = a.cameras;
  auto pct = [&](double cpu_s, double secs) { return 100.0 * cpu_s / secs / n; };
  std::printf("decode only:        %6.2f %% of a core per camera (%llu frames handed over)\n",
              pct(decode.cpu_s, decode.seconds), static_cast<unsigned long long>(decode.frames));
  std::printf("decode+ring+remux:  %6.2f %% of a core per camera (%llu access units tapped)\n",
              pct(record.cpu_s, record.seconds), static_cast<unsigned long long>(record.units));
  std::printf("ring+remux (diff):  %6.2f %% of a core per camera\n",
              pct(record.cpu_s, record.seconds) - pct(decode.cpu_s, decode.seconds));
  std::printf("remux thread alone: %6.3f %% of a core per camera (%.1f%% of decode only)\n",
              pct(record.remux_cpu_s, record.seconds),
              100.0 * pct(record.remux_cpu_s, record.seconds) / pct(decode.cpu_s, decode.seconds));
  std::printf("written:            %.0f MB per camera-hour (%lld bytes in %.1f s, %d cameras)\n",
              record.bytes_written / n / record.seconds * 3600 / 1e6,
              static_cast<long long>(record.bytes_written), record.seconds, a.cameras);
  return 0;
}
