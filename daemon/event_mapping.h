// Mapping of analytics observations to skynet.v1 events: shared by the live daemon
// (CameraRunner) and offline analysis, so both emit the same events for the same frames.
#pragma once

#include "pipeline/analytics/motion_detector.h"
#include "skynet/v1/events.pb.h"

namespace skynet::daemon {

// Sets the motion payload of `event` from `obs`. Returns false (event untouched) when the
// observation carries no lifecycle event.
bool FillMotionEvent(const analytics::MotionObservation& obs, v1::Event* event);

}  // namespace skynet::daemon
