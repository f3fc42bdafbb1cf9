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

// Records every frame analysed: how many, and on which threads. Offer() queues frames (each Wake
// of a test offers one first, as a camera's OnFrame does); a held frame waits until released.
class RecordingWork final : public PinnedWork {
 public:
  explicit RecordingWork(double rate = 1.0) : rate_(rate) {}

  bool ProcessOne() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (queued_ == 0) return false;
    if (budget_ != nullptr && budget_->fetch_sub(1) <= 0) return false;
    --queued_;
    threads_.insert(std::this_thread::get_id());
    in_pass_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    in_pass_ = false;
    ++passes_;
    cv_.notify_all();
    return true;
  }
  double OfferedRate() const override { return rate_; }

  // Frames analysed by all works sharing `budget` stop when it runs out (a snapshot in the
  // middle of a backlog).
  void ShareBudget(std::atomic<int>* budget) { budget_ = budget; }
  void Offer(int frames = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    queued_ += frames;
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
  const double rate_;
  std::atomic<int>* budget_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool in_pass_ = false;
  int queued_ = 0;
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
    for (RecordingWork& r : work) r.Offer();
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
  a.Offer();
  b.Offer();
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
  a.Offer();
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return a.in_pass(); }));
  a.Offer(2);  // two frames arrived while the worker was busy with this camera
  pool.Wake(0);
  pool.Wake(0);
  a.Release();
  ASSERT_TRUE(WaitFor([&] { return a.passes() == 3; }));
}

TEST(WorkerPoolTest, RemoveWaitsForThePassInProgressThenNeverRunsItAgain) {
  WorkerPool pool(1);
  RecordingWork a, b;
  pool.Add(&a);
  pool.Add(&b);
  a.Hold();
  a.Offer();
  b.Offer(5);
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return a.in_pass(); }));
  std::atomic<bool> removed{false};
  std::thread remover([&] {
    pool.Remove(&b);  // b has frames waiting behind a's
    removed = true;
  });
  EXPECT_FALSE(WaitFor([&] { return removed.load(); }, std::chrono::milliseconds(200)));
  a.Release();
  remover.join();
  EXPECT_TRUE(removed);
  const int b_passes = b.passes();
  a.Offer();
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
  a.Offer();
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return a.passes() == 1; }));
  pool.Stop();
  a.Offer();
  pool.Wake(0);
  pool.Stop();  // idempotent
  EXPECT_EQ(a.passes(), 1);
}

// Overload: one worker, three cameras that always have frames waiting (a backlog far beyond what
// is analysed). Each is served in proportion to the rate it is offered: the 10 fps camera twice as
// often as each 5 fps one, none starved, whatever their order.
TEST(WorkerPoolTest, OverloadedWorkerServesCamerasInProportionToTheirRates) {
  WorkerPool pool(1);
  std::atomic<int> budget{400};  // analysed in all, while each still has hundreds waiting
  RecordingWork fast(10), slow1(5), slow2(5);
  for (RecordingWork* r : {&slow1, &fast, &slow2}) {
    r->ShareBudget(&budget);
    r->Offer(1000);
    pool.Add(r);
  }
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return fast.passes() + slow1.passes() + slow2.passes() == 400; }));
  pool.Stop();
  EXPECT_NEAR(fast.passes(), 200, 2) << slow1.passes() << " " << slow2.passes();
  EXPECT_NEAR(slow1.passes(), 100, 2);
  EXPECT_NEAR(slow2.passes(), 100, 2);
}

// A camera that had nothing to analyse for a while banks no credit: when its frames come back it
// takes its share from then on, not a burst that starves the others.
TEST(WorkerPoolTest, IdleCameraBanksNoCredit) {
  WorkerPool pool(1);
  std::atomic<int> budget{200};
  RecordingWork busy(5), late(5);
  busy.ShareBudget(&budget);
  late.ShareBudget(&budget);
  pool.Add(&busy);
  pool.Add(&late);
  busy.Offer(200);
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return busy.passes() == 200; }));
  // Now both have a backlog: 100 more frames are analysed in all.
  budget = 100;
  busy.Offer(100);
  late.Offer(100);
  pool.Wake(0);
  ASSERT_TRUE(WaitFor([&] { return busy.passes() + late.passes() == 300; }));
  pool.Stop();
  // Served alternately from the moment both had frames, not the late one's 100 first.
  EXPECT_NEAR(busy.passes(), 250, 2);
  EXPECT_NEAR(late.passes(), 50, 2);
}

}  // namespace
}  // namespace skynet::daemon
