#include "daemon/supervisor.h"

#include "pipeline/core/logging.h"

namespace skynet::daemon {

Supervisor::Supervisor(const Config& config, EventBus* bus, Clock* clock)
    : config_(config),
      bus_(bus),
      clock_(clock),
      started_us_(clock->NowMonotonicUs()),
      pool_(config.analytics_workers) {}

Result<std::unique_ptr<Supervisor>> Supervisor::Create(const Config& config, EventBus* bus,
                                                       Clock* clock) {
  std::unique_ptr<Supervisor> sup(new Supervisor(config, bus, clock));
  for (const CameraConfig& cam : config.cameras) {
    auto runner = CameraRunner::Create(
        cam, [bus](v1::Event ev) { bus->Publish(std::move(ev)); }, clock);
    if (!runner.ok()) return runner.status();
    sup->cameras_.push_back(Camera{std::move(runner).value(), -1});
  }
  return sup;
}

Supervisor::~Supervisor() { Stop(); }

void Supervisor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  auto log = GetLogger("daemon");
  int started = 0;
  for (Camera& cam : cameras_) {
    if (!cam.runner->config().enabled) continue;
    cam.worker = pool_.Add(cam.runner.get());
    const int worker = cam.worker;
    cam.runner->Start([this, worker] { pool_.Wake(worker); });
    ++started;
  }
  log->info("{} of {} cameras started on {} analytics workers", started, cameras_.size(),
            pool_.size());
}

void Supervisor::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  for (Camera& cam : cameras_) {
    cam.runner->Stop();
    if (cam.worker >= 0) pool_.Remove(cam.runner.get());
  }
  pool_.Stop();
}

EventBus::HeartbeatInfo Supervisor::Heartbeat() const {
  std::lock_guard<std::mutex> lock(mu_);
  EventBus::HeartbeatInfo info;
  info.cameras_total = static_cast<uint32_t>(cameras_.size());
  for (const Camera& cam : cameras_) {
    if (cam.runner->online()) ++info.cameras_online;
  }
  return info;
}

v1::Response Supervisor::HandleRequest(const v1::Request& request) {
  v1::Response response;
  std::lock_guard<std::mutex> lock(mu_);
  switch (request.command_case()) {
    case v1::Request::kListCameras: {
      auto* list = response.mutable_list_cameras();
      for (const Camera& cam : cameras_) cam.runner->FillInfo(list->add_cameras());
      response.set_ok(true);
      break;
    }
    case v1::Request::kStatus: {
      const std::string& want = request.status().camera_id();
      auto* st = response.mutable_status();
      st->set_node_id(bus_->node_id());
      st->set_epoch(bus_->epoch());
      st->set_last_seq(bus_->last_seq());
      st->set_uptime_seconds(static_cast<double>(clock_->NowMonotonicUs() - started_us_) / 1e6);
      st->set_version(SKYNET_VERSION);
      bool found = want.empty();
      for (const Camera& cam : cameras_) {
        if (!want.empty() && cam.runner->config().id != want) continue;
        found = true;
        cam.runner->FillStatus(st->add_cameras());
      }
      if (!found) {
        response.clear_status();
        response.set_ok(false);
        response.set_error("status: no camera with id '" + want + "'");
      } else {
        response.set_ok(true);
      }
      break;
    }
    case v1::Request::COMMAND_NOT_SET:
      response.set_ok(false);
      response.set_error("empty request");
      break;
  }
  return response;
}

}  // namespace skynet::daemon
