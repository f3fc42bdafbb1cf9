#include "daemon/event_mapping.h"

namespace skynet::daemon {
namespace {

void ToProto(const std::vector<analytics::MotionRegion>& regions,
             google::protobuf::RepeatedPtrField<v1::MotionRegion>* out) {
  for (const auto& r : regions) {
    auto* m = out->Add();
    m->mutable_box()->set_x(r.box.x);
    m->mutable_box()->set_y(r.box.y);
    m->mutable_box()->set_w(r.box.width);
    m->mutable_box()->set_h(r.box.height);
    m->set_fill(r.fill);
  }
}

}  // namespace

bool FillMotionEvent(const analytics::MotionObservation& obs, v1::Event* ev) {
  switch (obs.event) {
    case analytics::MotionEventType::kStarted: {
      auto* m = ev->mutable_motion_started();
      m->set_motion_id(obs.motion_id);
      ToProto(obs.regions, m->mutable_regions());
      m->set_changed_fraction(obs.changed_fraction);
      return true;
    }
    case analytics::MotionEventType::kUpdated: {
      auto* m = ev->mutable_motion_updated();
      m->set_motion_id(obs.motion_id);
      ToProto(obs.regions, m->mutable_regions());
      m->set_changed_fraction(obs.changed_fraction);
      return true;
    }
    case analytics::MotionEventType::kEnded: {
      auto* m = ev->mutable_motion_ended();
      m->set_motion_id(obs.motion_id);
      m->set_started_at_us(obs.started_at_us);
      m->set_duration_ms(obs.duration_ms);
      m->set_peak_changed_fraction(obs.peak_changed_fraction);
      return true;
    }
    case analytics::MotionEventType::kNone:
      break;
  }
  return false;
}

}  // namespace skynet::daemon
