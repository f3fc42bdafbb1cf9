#include "pipeline/core/bounded_queue.h"

#include <thread>

#include <gtest/gtest.h>

namespace skynet {
namespace {

TEST(BoundedQueueTest, DropsOldestWhenFullAndCounts) {
  BoundedQueue<int> q(2);
  EXPECT_TRUE(q.Push(1));
  EXPECT_TRUE(q.Push(2));
  EXPECT_FALSE(q.Push(3));
  EXPECT_EQ(q.dropped(), 1u);
  EXPECT_EQ(*q.TryPop(), 2);
  EXPECT_EQ(*q.TryPop(), 3);
  EXPECT_FALSE(q.TryPop().has_value());
}

TEST(BoundedQueueTest, CloseWakesWaiter) {
  BoundedQueue<int> q(1);
  std::thread t([&] { q.Close(); });
  auto v = q.PopFor(std::chrono::seconds(30));
  t.join();
  EXPECT_FALSE(v.has_value());
  EXPECT_FALSE(q.Push(1));
}

}  // namespace
}  // namespace skynet
