// Frame: one decoded, scaled video frame handed from ingest to analytics.
//
// The image owns its pixels (ingest copies out of the GStreamer sample), so a Frame may
// outlive the sample and move between threads freely. Not shared: one owner at a time.
//
// SourceImage: the same frame at the camera's resolution, as the decoder produced it. No copy:
// its planes are read-only views into the decoded buffer, which stays alive (and unchanged) as
// long as a reference to the SourceImage exists; dropping the last reference gives the buffer
// back to the decoder. Only set when the session keeps source frames
// (ingest::SourceOptions::keep_source_frames). Holders keep as few as they can (a decoded
// 1920x1080 frame is 3 MB) and never write to the planes. Any thread.
#pragma once

#include <cstdint>
#include <memory>

#include <opencv2/core.hpp>

namespace skynet {

struct SourceImage {
  enum class Format { kI420, kNV12, kGray8 };
  Format format = Format::kI420;
  int width = 0;  // in pixels (planes[0] is width x height)
  int height = 0;
  // kI420: Y, U, V (CV_8UC1, U and V half size); kNV12: Y, UV (CV_8UC2, half size);
  // kGray8: Y. Views with the buffer's strides.
  cv::Mat planes[3];
};

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
  // The decoded frame at the camera's resolution, or null (not kept, or a format ingest does not
  // wrap). Shared: copying the Frame copies the reference, never the pixels.
  std::shared_ptr<const SourceImage> source;
};

}  // namespace skynet
