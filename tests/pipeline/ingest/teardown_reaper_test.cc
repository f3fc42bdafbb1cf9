// The teardown reaper with plain work items (no GStreamer): in time, overrun, handed over.
#include "pipeline/ingest/teardown_reaper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

#include "tests/testing/wait.h"

namespace skynet::ingest {
namespace {

using skynet::testing::WaitFor;
using std::chrono::steady_clock;

TEST(TeardownReaperTest, WorkThatFinishesInTimeIsJoined) {
  TeardownReaper reaper;
  std::atomic<bool> ran{false};
  EXPECT_TRUE(reaper.RunWithin([&] { ran = true; }, steady_clock::now() + std::chrono::minutes(1)));
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(reaper.Pending(), 0);
}

TEST(TeardownReaperTest, OverrunIsAdoptedUntilItFinishes) {
  TeardownReaper reaper;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // The deadline has passed: the reaper cannot wait for the blocked work.
  EXPECT_FALSE(reaper.RunWithin([released] { released.wait(); }, steady_clock::now()));
  EXPECT_EQ(reaper.Pending(), 1);
  release.set_value();
  EXPECT_TRUE(WaitFor([&] { return reaper.Pending() == 0; }));
}

TEST(TeardownReaperTest, AdoptedWorkRunsAndIsCountedWhileBlocked) {
  TeardownReaper reaper;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> ran{false};
  reaper.RunAdopted([released, &ran] {
    released.wait();
    ran = true;
  });
  EXPECT_EQ(reaper.Pending(), 1);
  release.set_value();
  EXPECT_TRUE(WaitFor([&] { return reaper.Pending() == 0; }));
  EXPECT_TRUE(ran.load());
}

}  // namespace
}  // namespace skynet::ingest
