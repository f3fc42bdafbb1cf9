// BoundedQueue<T>: a small multi-producer queue that never blocks the producer.
//
// When full, Push() drops the oldest item and counts the drop: a live camera prefers the newest
// frame over a backlog. Pop() waits with a deadline. Safe for any number of threads.
//
//   BoundedQueue<Frame> q(2);
//   q.Push(std::move(frame));                 // GStreamer streaming thread
//   if (auto f = q.PopFor(100ms)) Analyse(*f); // analytics worker
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace skynet {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Appends `item`; if the queue is full, the oldest item is dropped first.
  // Returns false if an item was dropped, or if the queue is closed (item discarded).
  bool Push(T item) {
    bool dropped = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return false;
      if (items_.size() >= capacity_) {
        items_.pop_front();
        ++dropped_;
        dropped = true;
      }
      items_.push_back(std::move(item));
      ++pushed_;
    }
    cv_.notify_one();
    return !dropped;
  }

  // Removes and returns the oldest item, waiting up to `timeout`. Empty on timeout or close.
  template <typename Rep, typename Period>
  std::optional<T> PopFor(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  std::optional<T> TryPop() { return PopFor(std::chrono::seconds(0)); }

  // Wakes all waiters; later pushes are discarded.
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  size_t size() const { std::lock_guard<std::mutex> lock(mu_); return items_.size(); }
  uint64_t dropped() const { std::lock_guard<std::mutex> lock(mu_); return dropped_; }
  uint64_t pushed() const { std::lock_guard<std::mutex> lock(mu_); return pushed_; }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  bool closed_ = false;
  uint64_t dropped_ = 0;
  uint64_t pushed_ = 0;
};

}  // namespace skynet
