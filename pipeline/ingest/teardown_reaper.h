// TeardownReaper: runs a pipeline's teardown on a helper thread with a deadline, and keeps the
// threads of teardowns that overran it, so that a pipeline stuck in set_state(NULL) (a dead
// camera's TEARDOWN, a streaming thread blocked in a consumer) never blocks a reconnect, Stop()
// or the exit of the process.
//
// GStreamer-free. Thread-safe: any session thread may call it. Global() is the process-wide
// instance, intentionally never destroyed (a thread stuck in a dead camera's TEARDOWN must not
// block exit). Another instance joins its remaining threads when destroyed (tests).
//
//   if (!TeardownReaper::Global().RunWithin([p] { ...set NULL, unref... }, deadline)) warn();
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace skynet::ingest {

class TeardownReaper {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  TeardownReaper() = default;
  ~TeardownReaper();  // joins what is left: waits for every adopted work to finish
  TeardownReaper(const TeardownReaper&) = delete;
  TeardownReaper& operator=(const TeardownReaper&) = delete;

  static TeardownReaper& Global();

  // Runs `work` on a new thread and waits for it until `deadline`. True if it finished in time
  // (its thread is joined); false if not: the thread is adopted and counted by Pending() until
  // `work` returns.
  bool RunWithin(std::function<void()> work, TimePoint deadline);
  // Runs `work` on a new thread that is adopted at once (the deadline already passed).
  void RunAdopted(std::function<void()> work);

  // Adopted works that have not finished yet.
  int Pending();

 private:
  using Item = std::pair<std::thread, std::shared_future<void>>;
  static Item Start(std::function<void()> work);
  // Joins the threads whose work finished, then keeps `item`.
  void Adopt(Item item);

  std::mutex mu_;
  std::vector<Item> items_;  // guarded by mu_
};

// Pipelines abandoned to the global reaper whose teardown has not finished yet.
int PendingTeardowns();

}  // namespace skynet::ingest
