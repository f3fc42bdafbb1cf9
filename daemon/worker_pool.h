// WorkerPool: a fixed set of analytics threads; each camera is pinned to one worker.
//
// A camera's frames are only ever analysed on its worker, so its detector state needs no lock.
// Wake(worker) is cheap and may be called from any thread (GStreamer streaming threads): the
// worker then analyses the pending frames of the cameras pinned to it, one frame at a time, in
// a fair order (below). Add()/Remove() may be called from any thread; Remove() returns only
// when the worker no longer touches the camera. The pool borrows what it runs (a CameraRunner,
// or a test's recording work).
//
// Fair share under overload: a worker serves its cameras by stride scheduling. Each camera has
// a virtual time that advances by 1 / OfferedRate() per analysed frame, and the worker always
// analyses a frame of the camera with the smallest virtual time (a camera that was idle starts
// from the worker's current virtual time, so it banks no credit). When a worker cannot keep up,
// every camera's analysed rate is then the same share of the rate it is offered: none is
// starved, and a 10 fps camera still gets twice the frames of a 5 fps one. Frames a camera
// cannot take in the meantime are dropped by its own 2-slot queue (newest frame wins).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace skynet::daemon {

// What a worker runs for one camera. Implemented by CameraRunner.
class PinnedWork {
 public:
  virtual ~PinnedWork() = default;
  // Analyses the oldest pending frame, if any; true if it did. Runs on the camera's worker only.
  virtual bool ProcessOne() = 0;
  // Frames per second this camera offers (its weight in the fair share); <= 0 counts as 1.
  // Called on the worker with the worker's lock held: cheap, no locks of the pool.
  virtual double OfferedRate() const { return 1.0; }
};

class WorkerPool {
 public:
  struct Options {
    int workers = 0;  // <= 0: one per core
    // Benchmarks and tests only (`testing.analysis_hold_ms`): after each analysed frame the
    // worker waits this long, as if analysis cost that much more. 0: off.
    std::chrono::microseconds hold_per_frame{0};
  };
  explicit WorkerPool(int workers) : WorkerPool(Options{workers, {}}) {}
  explicit WorkerPool(const Options& options);
  ~WorkerPool();  // Stop()

  // Pins `work` to the least loaded worker and returns the worker index.
  int Add(PinnedWork* work);
  void Remove(PinnedWork* work);
  void Wake(int worker);
  void Stop();
  int size() const { return static_cast<int>(workers_.size()); }

  // Per worker, for the systemd watchdog (daemon/service_notify.h): frames (items) completed,
  // and whether it waits for work (idle is not hung). A worker in the middle of one frame for
  // long shows the same `passes` twice while not idle.
  struct Progress {
    uint64_t passes = 0;
    bool idle = false;
  };
  std::vector<Progress> progress() const;

 private:
  struct Slot {
    PinnedWork* work = nullptr;
    double vtime = 0;      // virtual time of its next frame
    bool drained = false;  // had no frame when last asked, and no wake since
  };
  struct Worker {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::vector<Slot> runners;
    double vtime = 0;  // the worker's virtual time: that of the frame analysed last
    bool pending = false;
    bool busy = false;
    uint64_t passes = 0;  // completed items, so Remove() can wait for the one in progress
    bool stop = false;
    std::thread thread;
  };
  void Run(Worker* w);

  const std::chrono::microseconds hold_;
  std::mutex assign_mu_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace skynet::daemon
