// Supervisor: the composition root at run time. Owns the cameras (CameraRunner), the analytics
// worker pool, and answers control requests.
//
// Threads: Start()/Stop() from the main thread; HandleRequest() from the control thread;
// Heartbeat() from the event bus thread. All are safe to call concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "daemon/camera_runner.h"
#include "daemon/config.h"
#include "daemon/event_bus.h"
#include "daemon/worker_pool.h"
#include "skynet/v1/control.pb.h"

namespace skynet::daemon {

class Supervisor {
 public:
  // Creates a runner for every configured camera (nothing starts yet). Fails on a camera whose
  // settings the analytics or ingest reject.
  static Result<std::unique_ptr<Supervisor>> Create(const Config& config, EventBus* bus,
                                                    Clock* clock = SystemClock::Get());
  ~Supervisor();  // Stop()

  // Starts ingest for every enabled camera.
  void Start();
  // Stops every camera (publishing their final status) and the workers.
  void Stop();

  v1::Response HandleRequest(const v1::Request& request);
  EventBus::HeartbeatInfo Heartbeat() const;

 private:
  Supervisor(const Config& config, EventBus* bus, Clock* clock);

  struct Camera {
    std::unique_ptr<CameraRunner> runner;
    int worker = -1;
  };

  const Config config_;
  EventBus* const bus_;
  Clock* const clock_;
  const int64_t started_us_;
  WorkerPool pool_;
  mutable std::mutex mu_;
  std::vector<Camera> cameras_;  // config order
  bool stopped_ = false;
};

}  // namespace skynet::daemon
