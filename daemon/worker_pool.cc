#include "daemon/worker_pool.h"

#include <algorithm>

namespace skynet::daemon {

WorkerPool::WorkerPool(int workers) {
  if (workers <= 0) workers = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<Worker>());
    Worker* w = workers_.back().get();
    w->thread = std::thread([this, w] { Run(w); });
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
    workers_[best]->runners.push_back(runner);
  }
  return static_cast<int>(best);
}

void WorkerPool::Remove(PinnedWork* runner) {
  for (auto& w : workers_) {
    std::unique_lock<std::mutex> lock(w->mu);
    auto it = std::find(w->runners.begin(), w->runners.end(), runner);
    if (it == w->runners.end()) continue;
    w->runners.erase(it);
    // Wait for a pass in progress, which may still hold the pointer, to finish.
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
  std::vector<PinnedWork*> snapshot;
  std::unique_lock<std::mutex> lock(w->mu);
  while (true) {
    w->cv.wait(lock, [&] { return w->stop || w->pending; });
    if (w->stop) break;
    w->pending = false;
    w->busy = true;
    snapshot = w->runners;
    lock.unlock();
    for (PinnedWork* r : snapshot) r->ProcessPending();
    lock.lock();
    w->busy = false;
    ++w->passes;
    w->cv.notify_all();
  }
}

}  // namespace skynet::daemon
