// Full-resolution evidence snapshots: the vehicle crop (with a margin) and the whole scene with
// the box drawn, cut from the decoded frame at the camera's resolution (a SourceImage) and JPEG
// encoded. Pure functions (OpenCV only), any thread.
//
//   EvidenceSnapshot s;
//   if (MakeEvidenceSnapshot(*frame.source, box, frame.image.size(), time_us, {}, &s)) ...
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "pipeline/core/frame.h"

namespace skynet::daemon {

struct EvidenceSnapshotOptions {
  // JPEG quality of both images (the feed's small snapshots use 80).
  int jpeg_quality = 90;
  // The crop extends the box by this fraction of its width and height on each side, so the
  // vehicle's outline and what is next to it are in the picture.
  float crop_margin = 0.15f;
};

// One track's evidence at its best moment.
struct EvidenceSnapshot {
  std::string crop_jpeg;   // the box plus margin, at the camera's resolution
  std::string scene_jpeg;  // the whole frame at the camera's resolution, the box drawn in red
  int64_t time_us = 0;     // capture time of the frame
  cv::Size scene_size;     // the camera's resolution
  cv::Rect box;            // the box in the scene, pixels
};

// The BGR pixels of `roi` (clipped to the image; for 4:2:0 formats widened to even
// coordinates) of `source`: a new image, the source untouched. Empty if nothing is left.
cv::Mat SourceToBgr(const SourceImage& source, cv::Rect roi);

// `box` (pixels of a frame of `detect_size`) in pixels of a frame of `source_size`.
cv::Rect2f ScaleBox(const cv::Rect2f& box, cv::Size detect_size, cv::Size source_size);

// Fills `out` from `source` and `box` (pixels of the detect-size frame of `detect_size`).
// False (out unspecified) if the box is empty in the frame or encoding fails.
bool MakeEvidenceSnapshot(const SourceImage& source, const cv::Rect2f& box, cv::Size detect_size,
                          int64_t time_us, const EvidenceSnapshotOptions& options,
                          EvidenceSnapshot* out);

// Baseline JPEG of `image` at `quality`; false (and `out` untouched) if OpenCV fails.
bool EncodeJpeg(const cv::Mat& image, int quality, std::string* out);

}  // namespace skynet::daemon
