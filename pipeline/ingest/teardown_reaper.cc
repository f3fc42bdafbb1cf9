#include "pipeline/ingest/teardown_reaper.h"

namespace skynet::ingest {
namespace {

bool IsReady(const std::shared_future<void>& done) {
  return done.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace

TeardownReaper::~TeardownReaper() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Item& item : items_) item.first.join();
}

TeardownReaper& TeardownReaper::Global() {
  static TeardownReaper* reaper = new TeardownReaper();  // intentionally leaked, see header
  return *reaper;
}

TeardownReaper::Item TeardownReaper::Start(std::function<void()> work) {
  std::promise<void> done;
  std::shared_future<void> finished = done.get_future().share();
  std::thread thread([work = std::move(work), done = std::move(done)]() mutable {
    work();
    done.set_value();
  });
  return {std::move(thread), std::move(finished)};
}

bool TeardownReaper::RunWithin(std::function<void()> work, TimePoint deadline) {
  Item item = Start(std::move(work));
  if (item.second.wait_until(deadline) == std::future_status::ready) {
    item.first.join();
    return true;
  }
  Adopt(std::move(item));
  return false;
}

void TeardownReaper::RunAdopted(std::function<void()> work) { Adopt(Start(std::move(work))); }

void TeardownReaper::Adopt(Item item) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = items_.begin(); it != items_.end();) {
    if (IsReady(it->second)) {
      it->first.join();
      it = items_.erase(it);
    } else {
      ++it;
    }
  }
  items_.push_back(std::move(item));
}

int TeardownReaper::Pending() {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const Item& item : items_) n += !IsReady(item.second);
  return n;
}

int PendingTeardowns() { return TeardownReaper::Global().Pending(); }

}  // namespace skynet::ingest
