#include "daemon/event_bus.h"

#include <zmq.hpp>

#include "pipeline/core/logging.h"

namespace skynet::daemon {

std::string TopicFor(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kCameraStatus:
    case v1::Event::kStreamChanged:
      return "camera/" + event.camera_id();
    case v1::Event::kMotionStarted:
    case v1::Event::kMotionUpdated:
    case v1::Event::kMotionEnded:
      return "motion/" + event.camera_id();
    case v1::Event::kHeartbeat:
      return "heartbeat";
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  return "other/" + event.camera_id();
}

struct EventBus::ZmqState {
  zmq::context_t context{1};  // declared before the socket: destroyed after it
  zmq::socket_t socket{context, zmq::socket_type::pub};
};

EventBus::EventBus(const EventBusOptions& options, HeartbeatSource source, Clock* clock)
    : options_(options),
      heartbeat_source_(std::move(source)),
      clock_(clock),
      epoch_(options.epoch != 0 ? options.epoch : static_cast<uint64_t>(clock->NowWallUs())) {}

Result<std::unique_ptr<EventBus>> EventBus::Create(const EventBusOptions& options,
                                                   HeartbeatSource heartbeat_source,
                                                   Clock* clock) {
  std::unique_ptr<EventBus> bus(new EventBus(options, std::move(heartbeat_source), clock));
  bus->zmq_ = std::make_unique<ZmqState>();
  try {
    bus->zmq_->socket.set(zmq::sockopt::linger, 2000);
    bus->zmq_->socket.set(zmq::sockopt::sndhwm, options.send_hwm);
    bus->zmq_->socket.bind(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("event_endpoint " + options.endpoint + ": cannot bind: " + e.what());
  }
  // The socket is handed to the bus thread, which uses it exclusively from now on.
  bus->thread_ = std::thread([b = bus.get()] { b->Run(&b->zmq_->socket); });
  GetLogger("events")->info("event feed on {} (node {}, epoch {})", options.endpoint,
                            options.node_id, bus->epoch_);
  return bus;
}

EventBus::~EventBus() { Stop(); }

void EventBus::Publish(v1::Event event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    pending_.push_back(std::move(event));
  }
  cv_.notify_one();
}

uint64_t EventBus::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

void EventBus::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  zmq_.reset();
}

void EventBus::Run(void* raw_socket) {
  auto& socket = *static_cast<zmq::socket_t*>(raw_socket);
  auto log = GetLogger("events");
  const int64_t hb_us = int64_t{options_.heartbeat_interval_ms} * 1000;
  int64_t next_heartbeat = clock_->NowMonotonicUs() + hb_us;
  std::string bytes;
  std::deque<v1::Event> batch;
  uint64_t send_errors = 0;

  auto send = [&](v1::Event& ev) {
    const uint64_t seq = last_seq_.load() + 1;
    ev.set_schema_version(1);
    ev.set_node_id(options_.node_id);
    ev.set_epoch(epoch_);
    ev.set_seq(seq);
    ev.set_event_id(options_.node_id + "/" + std::to_string(epoch_) + "/" + std::to_string(seq));
    ev.set_publish_time_us(clock_->NowWallUs());
    if (ev.has_heartbeat()) ev.mutable_heartbeat()->set_last_seq(seq - 1);
    const std::string topic = TopicFor(ev);
    bytes.clear();
    ev.SerializeToString(&bytes);
    try {
      socket.send(zmq::buffer(topic), zmq::send_flags::sndmore);
      socket.send(zmq::buffer(bytes), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (send_errors++ == 0) log->error("publish failed: {}", e.what());
    }
    last_seq_.store(seq);
  };

  while (true) {
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (hb_us > 0) {
        const int64_t wait_us = std::max<int64_t>(0, next_heartbeat - clock_->NowMonotonicUs());
        cv_.wait_for(lock, std::chrono::microseconds(wait_us),
                     [&] { return stopping_ || !pending_.empty(); });
      } else {
        cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      }
      batch.swap(pending_);
      stop = stopping_;
    }
    for (auto& ev : batch) send(ev);
    batch.clear();
    if (stop) break;
    if (hb_us > 0 && clock_->NowMonotonicUs() >= next_heartbeat) {
      v1::Event hb;
      auto* h = hb.mutable_heartbeat();
      if (heartbeat_source_) {
        const HeartbeatInfo info = heartbeat_source_();
        h->set_cameras_online(info.cameras_online);
        h->set_cameras_total(info.cameras_total);
      }
      hb.set_capture_time_us(clock_->NowWallUs());
      send(hb);
      next_heartbeat = clock_->NowMonotonicUs() + hb_us;
    }
  }
  if (send_errors > 1) log->error("{} publish errors in total", send_errors);
}

}  // namespace skynet::daemon
