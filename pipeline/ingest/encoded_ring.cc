#include "pipeline/ingest/encoded_ring.h"

#include <algorithm>

namespace skynet::ingest {

void EncodedRing::Push(EncodedUnit unit) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.pushed;
  if (units_.empty() && !unit.key) {
    ++stats_.dropped_no_key;
    return;
  }
  unit.seq = ++stats_.last_seq;
  stats_.bytes += unit.data ? static_cast<int64_t>(unit.data->size()) : 0;
  if (unit.key) keys_.push_back(unit.seq);
  units_.push_back(std::move(unit));
  Evict();
  stats_.units = static_cast<int64_t>(units_.size());
  stats_.oldest_us = units_.empty() ? 0 : units_.front().capture_us;
  stats_.newest_us = units_.empty() ? 0 : units_.back().capture_us;
}

void EncodedRing::PopFront() {
  const EncodedUnit& u = units_.front();
  stats_.bytes -= u.data ? static_cast<int64_t>(u.data->size()) : 0;
  if (!keys_.empty() && keys_.front() == u.seq) keys_.pop_front();
  units_.pop_front();
}

void EncodedRing::Evict() {
  const int64_t newest = units_.back().capture_us;
  // By time: the oldest group of pictures goes once the next one starts early enough.
  while (keys_.size() >= 2) {
    const uint64_t second = keys_[1];
    if (units_[second - units_.front().seq].capture_us > newest - options_.keep_us) break;
    while (units_.front().seq != second) PopFront();
  }
  // By bytes: whole groups of pictures, the oldest first; the newest group unit by unit.
  while (stats_.bytes > options_.max_bytes && units_.size() > 1) {
    const uint64_t stop = keys_.size() >= 2 ? keys_[1] : units_.back().seq;
    while (units_.front().seq != stop) {
      PopFront();
      ++stats_.evicted_for_bytes;
    }
    while (!units_.empty() && !units_.front().key) {  // no key frame left before them
      PopFront();
      ++stats_.evicted_for_bytes;
    }
    if (units_.empty()) break;
  }
}

std::optional<uint64_t> EncodedRing::KeyFrameAtOrBefore(int64_t time_us) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (keys_.empty()) return std::nullopt;
  const uint64_t base = units_.front().seq;
  std::optional<uint64_t> found;
  for (uint64_t seq : keys_) {
    if (units_[seq - base].capture_us > time_us) break;
    found = seq;
  }
  return found ? found : std::optional<uint64_t>(keys_.front());
}

std::vector<EncodedUnit> EncodedRing::ReadFrom(uint64_t first_seq, size_t max) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<EncodedUnit> out;
  if (units_.empty()) return out;
  const uint64_t base = units_.front().seq;
  size_t i = first_seq <= base ? 0 : static_cast<size_t>(first_seq - base);
  for (; i < units_.size() && out.size() < max; ++i) out.push_back(units_[i]);
  return out;
}

void EncodedRing::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  units_.clear();
  keys_.clear();
  stats_.bytes = stats_.units = stats_.oldest_us = stats_.newest_us = 0;
}

EncodedRingStats EncodedRing::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace skynet::ingest
