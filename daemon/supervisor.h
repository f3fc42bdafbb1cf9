// Supervisor: the composition root at run time. Owns the cameras (CameraRunner), the analytics
// worker pool, and answers control requests, including runtime changes: add, remove, enable and
// disable one camera, and Reload() of the config file (only changed cameras restart).
// Its cameras' sources come from a SessionFactory and their events go to an EventFeed (both
// borrowed, must outlive it): the daemon passes CameraSessionFactory and the EventBus, unit
// tests recording fakes.
//
// Threads: Start()/Stop() from the main thread; HandleRequest() from the control thread;
// Reload() from the control thread (reload request) or the main thread (SIGHUP); Heartbeat()
// from the event bus thread. All are safe to call concurrently.
//
// Teardown never blocks a caller: a camera that is removed, disabled or restarted leaves the
// camera list at once and is stopped by a small pool of stopper threads (CameraSession::Stop()
// may take seconds on a dead camera). A restarted camera's new session starts only after its
// old one has stopped, so its events stay in order. mu_ is never held while a camera stops,
// so status answers throughout.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon/camera_runner.h"
#include "daemon/config.h"
#include "daemon/event_bus.h"
#include "daemon/event_sink.h"
#include "daemon/frame_source.h"
#include "daemon/stats.h"
#include "daemon/worker_pool.h"
#include "skynet/v1/control.pb.h"

namespace skynet::daemon {

class Supervisor {
 public:
  // Creates a runner for every configured camera (nothing starts yet). Fails on a camera whose
  // settings the analytics or ingest reject.
  static Result<std::unique_ptr<Supervisor>> Create(const Config& config, SessionFactory* sessions,
                                                    EventFeed* feed,
                                                    Clock* clock = SystemClock::Get());
  ~Supervisor();  // Stop()

  // Starts ingest for every enabled camera.
  void Start();
  // Stops every camera (publishing their final status), waits for pending teardowns, stops the
  // workers. Later runtime changes fail.
  void Stop();

  v1::Response HandleRequest(const v1::Request& request);

  // Re-reads the config file (Config::path) and applies the difference: cameras that are new
  // start, cameras no longer in the file stop (runtime-added ones too: the file is the truth),
  // cameras whose settings differ restart, the others are left alone. Settings that cannot
  // change at run time (endpoints, node_id, ...) give warnings. log_level applies at once.
  // Fails, changing nothing, on an unreadable or invalid file ("file:line:col: field: message")
  // or a camera that ingest or analytics reject. Logs one line with the result either way.
  Result<v1::ReloadResponse> Reload();

  EventBus::HeartbeatInfo Heartbeat() const;
  // The feed's and every camera's counters (a snapshot; any thread).
  NodeStats Stats() const;
  // The analytics workers' progress, for the systemd watchdog.
  std::vector<WorkerPool::Progress> WorkerProgress() const { return pool_.progress(); }

  // Blocks until no teardown or deferred start is pending (tests).
  void WaitIdle();

 private:
  Supervisor(const Config& config, SessionFactory* sessions, EventFeed* feed, Clock* clock);

  struct Camera {
    std::shared_ptr<CameraRunner> runner;
    uint64_t session_id = 0;
    bool runtime = false;  // added by a control request, not from the file
  };
  // Stop `stop` (if set), then start `start` (if set and enabled) on a stopper thread. Jobs of
  // one camera id run one after another, in order.
  struct Job {
    std::string id;
    std::shared_ptr<CameraRunner> stop;
    std::shared_ptr<CameraRunner> start;
  };

  Result<std::shared_ptr<CameraRunner>> NewRunner(const CameraConfig& config);
  // Starts a runner on the worker pool. Not under mu_ (it may run on a stopper thread).
  void StartRunner(CameraRunner* runner);
  // Replaces camera `index` with a new session for `config`: the old one stops in the
  // background, then the new one starts if enabled. Caller holds mu_.
  void ReplaceLocked(size_t index, std::shared_ptr<CameraRunner> runner);
  void Enqueue(Job job);
  void StopperLoop();
  int FindLocked(const std::string& id) const;

  v1::Response AddCamera(const v1::AddCameraRequest& request);
  v1::Response RemoveCamera(const std::string& id);
  v1::Response SetEnabled(const std::string& id, bool enabled);
  v1::Response AcceptView(const std::string& id);

  Config config_;  // the settings started with; cameras are in cameras_
  SessionFactory* const sessions_;
  EventFeed* const feed_;
  Clock* const clock_;
  const int64_t started_us_;
  const std::string quality_dir_;  // video quality reference views; empty: not kept
  WorkerPool pool_;
  std::mutex reload_mu_;  // one reload at a time; taken before mu_
  mutable std::mutex mu_;
  std::vector<Camera> cameras_;  // config order, runtime additions at the end
  uint64_t next_session_id_ = 1;
  bool started_ = false;
  bool stopped_ = false;

  // The stopper pool.
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<Job> jobs_;
  std::set<std::string> busy_ids_;  // ids with a job running
  int running_jobs_ = 0;
  bool jobs_quit_ = false;
  bool no_more_starts_ = false;  // set by Stop(): deferred starts are skipped
  std::vector<std::thread> stoppers_;
};

}  // namespace skynet::daemon
