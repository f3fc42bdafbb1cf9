// RecordingEventSink: a daemon::EventFeed that keeps every published event in order, for unit
// tests of whatever publishes (runners, the supervisor): no ZeroMQ, no journal. stats() reports
// `node_id` and the number of events as last_seq, plus whatever the test set with SetStats().
//
// Threads: Publish() and the readers may run on any thread.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "daemon/event_sink.h"

namespace skynet::testing {

class RecordingEventSink final : public daemon::EventFeed {
 public:
  explicit RecordingEventSink(std::string node_id = "test-node") {
    stats_.node_id = std::move(node_id);
  }

  void Publish(v1::Event event) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(event));
    ++stats_.last_seq;
  }
  daemon::FeedStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  // Counters stats() reports from now on (node id and last_seq included).
  void SetStats(daemon::FeedStats stats) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = std::move(stats);
  }

  std::vector<v1::Event> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  // The events with payload `kind` (of camera `camera_id`, if not empty), in order.
  std::vector<v1::Event> Of(v1::Event::PayloadCase kind, const std::string& camera_id = "") const {
    std::vector<v1::Event> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const v1::Event& e : events_) {
      if (e.payload_case() == kind && (camera_id.empty() || e.camera_id() == camera_id)) {
        out.push_back(e);
      }
    }
    return out;
  }
  size_t Count(v1::Event::PayloadCase kind, const std::string& camera_id = "") const {
    return Of(kind, camera_id).size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<v1::Event> events_;
  daemon::FeedStats stats_;
};

}  // namespace skynet::testing
