// Frame: one decoded, scaled video frame handed from ingest to analytics.
//
// The image owns its pixels (ingest copies out of the GStreamer sample), so a Frame may
// outlive the sample and move between threads freely. Not shared: one owner at a time.
#pragma once

#include <cstdint>

#include <opencv2/core.hpp>

namespace skynet {

struct Frame {
  // GRAY8 (CV_8UC1) or BGR (CV_8UC3), already scaled to the camera's detect size.
  cv::Mat image;
  // Capture time in microseconds since the Unix epoch: from RTCP sender reports where the
  // camera sends them, else the arrival time at the daemon.
  int64_t capture_time_us = 0;
  // Stream time from the start of the stream, microseconds (buffer PTS).
  int64_t stream_time_us = 0;
  // Number of this frame among those handed to analytics since the session (re)started.
  uint64_t index = 0;
  // Size of the decoded frame before scaling.
  int source_width = 0;
  int source_height = 0;
};

}  // namespace skynet
