// WorkerPool: a fixed set of analytics threads; each camera is pinned to one worker.
//
// A camera's frames are only ever analysed on its worker, so its detector state needs no lock.
// Wake(worker) is cheap and may be called from any thread (GStreamer streaming threads): the
// worker then runs ProcessPending() of every camera pinned to it. Add()/Remove() may be called
// from any thread; Remove() returns only when the worker no longer touches the camera. The pool
// borrows what it runs (a CameraRunner, or a test's recording work).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace skynet::daemon {

// What a worker runs for one camera. Implemented by CameraRunner.
class PinnedWork {
 public:
  virtual ~PinnedWork() = default;
  // Analyses whatever is pending. Runs on the camera's worker only.
  virtual void ProcessPending() = 0;
};

class WorkerPool {
 public:
  explicit WorkerPool(int workers);  // workers <= 0: one per core
  ~WorkerPool();                     // Stop()

  // Pins `work` to the least loaded worker and returns the worker index.
  int Add(PinnedWork* work);
  void Remove(PinnedWork* work);
  void Wake(int worker);
  void Stop();
  int size() const { return static_cast<int>(workers_.size()); }

  // Per worker, for the systemd watchdog (daemon/service_notify.h): passes completed, and
  // whether it waits for work (idle is not hung). A worker in the middle of one pass for long
  // shows the same `passes` twice while not idle.
  struct Progress {
    uint64_t passes = 0;
    bool idle = false;
  };
  std::vector<Progress> progress() const;

 private:
  struct Worker {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::vector<PinnedWork*> runners;
    bool pending = false;
    bool busy = false;
    uint64_t passes = 0;  // completed passes, so Remove() can wait for the one in progress
    bool stop = false;
    std::thread thread;
  };
  void Run(Worker* w);

  std::mutex assign_mu_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace skynet::daemon
