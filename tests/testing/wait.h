// WaitFor: polls a condition until it holds or a generous deadline passes. Tests wait on
// conditions, never on fixed sleeps.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace skynet::testing {

inline bool WaitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds deadline = std::chrono::seconds(30),
                    std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(poll);
  }
  return condition();
}

}  // namespace skynet::testing
