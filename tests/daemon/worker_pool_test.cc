#include "daemon/worker_pool.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using skynet::testing::WaitFor;

// Records every pass: how many, and on which threads. Optionally holds a pass until released.
class RecordingWork final : public PinnedWork {
 public:
  void ProcessPending() override {
    std::unique_lock<std::mutex> lock(mu_);
    threads_.insert(std::this_thread::get_id());
    in_pass_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    in_pass_ = false;
    ++passes_;
    cv_.notify_all();
  }

  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }
  int passes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return passes_;
  }
  bool in_pass() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_pass_;
  }
  std::set<std::thread::id> threads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool in_pass_ = false;
  int passes_ = 0;
  std::set<std::thread::id> threads_;
};

TEST(WorkerPoolTest, SpreadsCamerasAndRunsEachOnlyOnItsWorker) {
  WorkerPool pool(3);
  ASSERT_EQ(pool.size(), 3);
  RecordingWork work[6];
  int worker[6];
  for (int i = 0; i < 6; ++i) worker[i] = pool.Add(&work[i]);
  EXPECT_EQ((std::vector<int>(worker, worker + 6)), (std::vector<int>{0, 1, 2, 0, 1, 2}));

  for (int round = 1; round <= 5; ++round) {
    for (int w = 0; w < 3; ++w) pool.Wake(w);
    ASSERT_TRUE(WaitFor([&] {
      for (const RecordingWork& r : work) {
        if (r.passes() < round) return false;
      }
      return true;
    }));
  }
  // Pinned: each camera saw one thread, shared with the cameras of its worker only.
  std::map<int, std::thread::id> thread_of_worker;
  std::set<std::thread::id> all;
  for (int i = 0; i < 6; ++i) {
    const std::set<std::thread::id> t = work[i].threads();
    ASSERT_EQ(t.size(), 1u) << i;
    auto [it, inserted] = thread_of_worker.emplace(worker[i], *t.begin());
    EXPECT_EQ(it->second, *t.begin()) << i;
    all.insert(*t.begin());
  }
  EXPECT_EQ(all.size(), 3u);
  EXPECT_EQ(all.count(std::this_thread::get_id()), 0u);
}

TEST(WorkerPoolTest, WakeRunsOnlyThatWorkersCameras) {
  WorkerPool pool(2);
  RecordingWork a, b;
  ASSERT_EQ(pool.Add(&a), 0);
  ASSERT_EQ(pool.Add(&b), 1);
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return a.passes() == 1; }));
  EXPECT_EQ(b.passes(), 0);
  pool.Wake(7);  // no such worker: ignored
  pool.Wake(-1);
  pool.Wake(1);
  ASSERT_TRUE(WaitFor([&] { return b.passes() == 1; }));
  EXPECT_EQ(a.passes(), 1);
}

TEST(WorkerPoolTest, WakeDuringAPassIsNotLost) {
  WorkerPool pool(1);
  RecordingWork a;
  pool.Add(&a);
  a.Hold();
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return a.in_pass(); }));
  pool.Wake(0);  // a frame arrived while the worker was busy with this camera
  pool.Wake(0);
  a.Release();
  // One more pass for both wakes together.
  ASSERT_TRUE(WaitFor([&] { return a.passes() == 2; }));
}

TEST(WorkerPoolTest, RemoveWaitsForThePassInProgressThenNeverRunsItAgain) {
  WorkerPool pool(1);
  RecordingWork a, b;
  pool.Add(&a);
  pool.Add(&b);
  a.Hold();
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return a.in_pass(); }));
  std::atomic<bool> removed{false};
  std::thread remover([&] {
    pool.Remove(&b);  // b is after a in the pass that is running
    removed = true;
  });
  EXPECT_FALSE(WaitFor([&] { return removed.load(); }, std::chrono::milliseconds(200)));
  a.Release();
  remover.join();
  EXPECT_TRUE(removed);
  const int b_passes = b.passes();
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return a.passes() == 2; }));
  EXPECT_EQ(b.passes(), b_passes);
  // The freed slot is the least loaded again.
  WorkerPool two(2);
  RecordingWork c, d, e;
  EXPECT_EQ(two.Add(&c), 0);
  EXPECT_EQ(two.Add(&d), 1);
  two.Remove(&c);
  EXPECT_EQ(two.Add(&e), 0);
}

TEST(WorkerPoolTest, StopJoinsTheWorkersAndLaterWakesDoNothing) {
  WorkerPool pool(0);  // one per core
  EXPECT_GE(pool.size(), 1);
  RecordingWork a;
  pool.Add(&a);
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return a.passes() == 1; }));
  pool.Stop();
  pool.Wake(0);
  pool.Stop();  // idempotent
  EXPECT_EQ(a.passes(), 1);
}

}  // namespace
}  // namespace skynet::daemon
