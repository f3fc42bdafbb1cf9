// WorkerPool: a fixed set of analytics threads; each camera is pinned to one worker.
//
// A camera's frames are only ever analysed on its worker, so its detector state needs no lock.
// Wake(worker) is cheap and may be called from any thread (GStreamer streaming threads).
// Add()/Remove() may be called from any thread; Remove() returns only when the worker no
// longer touches the runner.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/camera_runner.h"

namespace skynet::daemon {

class WorkerPool {
 public:
  explicit WorkerPool(int workers);  // workers <= 0: one per core
  ~WorkerPool();                     // Stop()

  // Pins `runner` to the least loaded worker and returns the worker index.
  int Add(CameraRunner* runner);
  void Remove(CameraRunner* runner);
  void Wake(int worker);
  void Stop();
  int size() const { return static_cast<int>(workers_.size()); }

 private:
  struct Worker {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<CameraRunner*> runners;
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
