#include "daemon/worker_pool.h"

#include <pthread.h>

#include <algorithm>
#include <string>

namespace skynet::daemon {

WorkerPool::WorkerPool(const Options& options) : hold_(options.hold_per_frame) {
  int workers = options.workers;
  if (workers <= 0) workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<Worker>());
    Worker* w = workers_.back().get();
    w->thread = std::thread([this, w] { Run(w); });
    // "analytics-N" in top -H and /proc/PID/task/*/comm (tools/bench/dnn/bench_dnn_daemon.sh).
    pthread_setname_np(w->thread.native_handle(), ("analytics-" + std::to_string(i)).c_str());
  }
}

WorkerPool::~WorkerPool() { Stop(); }

int WorkerPool::Add(PinnedWork* runner) {
  std::lock_guard<std::mutex> assign(assign_mu_);
  size_t best = 0;
  size_t best_load = SIZE_MAX;
  for (size_t i = 0; i < workers_.size(); ++i) {
    std::lock_guard<std::mutex> lock(workers_[i]->mu);
    if (workers_[i]->runners.size() < best_load) {
      best_load = workers_[i]->runners.size();
      best = i;
    }
  }
  {
    std::lock_guard<std::mutex> lock(workers_[best]->mu);
    workers_[best]->runners.push_back({runner, workers_[best]->vtime});
  }
  return static_cast<int>(best);
}

void WorkerPool::Remove(PinnedWork* runner) {
  for (auto& w : workers_) {
    std::unique_lock<std::mutex> lock(w->mu);
    auto it = std::find_if(w->runners.begin(), w->runners.end(),
                           [&](const Slot& s) { return s.work == runner; });
    if (it == w->runners.end()) continue;
    w->runners.erase(it);
    // Wait for the frame in progress, which may be this camera's, to finish.
    if (w->busy) {
      const uint64_t pass = w->passes;
      w->cv.wait(lock, [&] { return w->passes != pass; });
    }
    return;
  }
}

void WorkerPool::Wake(int worker) {
  if (worker < 0 || worker >= static_cast<int>(workers_.size())) return;
  Worker* w = workers_[worker].get();
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->pending = true;
  }
  w->cv.notify_all();
}

std::vector<WorkerPool::Progress> WorkerPool::progress() const {
  std::vector<Progress> out;
  out.reserve(workers_.size());
  for (const auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    out.push_back({w->passes, !w->busy && !w->pending});
  }
  return out;
}

void WorkerPool::Stop() {
  for (auto& w : workers_) {
    {
      std::lock_guard<std::mutex> lock(w->mu);
      w->stop = true;
    }
    w->cv.notify_all();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void WorkerPool::Run(Worker* w) {
  std::unique_lock<std::mutex> lock(w->mu);
  while (true) {
    w->cv.wait(lock, [&] { return w->stop || w->pending; });
    if (w->stop) break;
    // One frame at a time, smallest virtual time first, until no camera has a frame. A wake
    // (a frame arrived) makes every camera a candidate again.
    while (!w->stop) {
      if (w->pending) {
        w->pending = false;
        for (Slot& s : w->runners) s.drained = false;
      }
      Slot* next = nullptr;
      double next_vtime = 0;
      for (Slot& s : w->runners) {
        if (s.drained) continue;
        // An idle camera starts from now: no credit for the time it had nothing to analyse.
        const double v = std::max(s.vtime, w->vtime);
        if (next == nullptr || v < next_vtime) {
          next = &s;
          next_vtime = v;
        }
      }
      if (next == nullptr) break;
      PinnedWork* work = next->work;
      const double rate = work->OfferedRate();
      w->busy = true;
      lock.unlock();
      const bool analysed = work->ProcessOne();
      if (analysed && hold_.count() > 0) std::this_thread::sleep_for(hold_);
      lock.lock();
      w->busy = false;
      ++w->passes;
      w->cv.notify_all();
      // The slot may have moved (Add/Remove while unlocked): find it again.
      for (Slot& s : w->runners) {
        if (s.work != work) continue;
        if (analysed) {
          s.vtime = next_vtime + 1.0 / (rate > 0 ? rate : 1.0);
          w->vtime = next_vtime;
        } else {
          s.drained = true;
        }
        break;
      }
    }
  }
}

}  // namespace skynet::daemon
