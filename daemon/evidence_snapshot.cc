#include "daemon/evidence_snapshot.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace skynet::daemon {

cv::Mat SourceToBgr(const SourceImage& s, cv::Rect roi) {
  roi &= cv::Rect(0, 0, s.width, s.height);
  if (s.format != SourceImage::Format::kGray8) {
    // 4:2:0: even origin and size, so the chroma planes cover exactly the same pixels.
    const int x0 = roi.x & ~1, y0 = roi.y & ~1;
    const int x1 = std::min(s.width & ~1, (roi.x + roi.width + 1) & ~1);
    const int y1 = std::min(s.height & ~1, (roi.y + roi.height + 1) & ~1);
    roi = cv::Rect(x0, y0, std::max(0, x1 - x0), std::max(0, y1 - y0));
  }
  if (roi.area() <= 0) return {};
  cv::Mat bgr;
  try {
    const cv::Mat y = s.planes[0](roi);
    const cv::Rect half(roi.x / 2, roi.y / 2, roi.width / 2, roi.height / 2);
    switch (s.format) {
      case SourceImage::Format::kGray8:
        cv::cvtColor(y, bgr, cv::COLOR_GRAY2BGR);
        break;
      case SourceImage::Format::kNV12:
        cv::cvtColorTwoPlane(y, s.planes[1](half), bgr, cv::COLOR_YUV2BGR_NV12);
        break;
      case SourceImage::Format::kI420: {
        // cvtColor wants the three planes back to back: one copy of the region (1.5 bytes a
        // pixel), then the conversion.
        const int w = roi.width, h = roi.height;
        cv::Mat i420(h * 3 / 2, w, CV_8UC1);
        uchar* p = i420.data;
        y.copyTo(cv::Mat(h, w, CV_8UC1, p));
        s.planes[1](half).copyTo(cv::Mat(h / 2, w / 2, CV_8UC1, p + w * h));
        s.planes[2](half).copyTo(cv::Mat(h / 2, w / 2, CV_8UC1, p + w * h + w * h / 4));
        cv::cvtColor(i420, bgr, cv::COLOR_YUV2BGR_I420);
        break;
      }
    }
  } catch (const cv::Exception&) {
    return {};
  }
  return bgr;
}

cv::Rect2f ScaleBox(const cv::Rect2f& box, cv::Size detect_size, cv::Size source_size) {
  if (detect_size.width <= 0 || detect_size.height <= 0) return {};
  const float fx = static_cast<float>(source_size.width) / detect_size.width;
  const float fy = static_cast<float>(source_size.height) / detect_size.height;
  return {box.x * fx, box.y * fy, box.width * fx, box.height * fy};
}

bool EncodeJpeg(const cv::Mat& image, int quality, std::string* out) {
  if (image.empty()) return false;
  std::vector<uchar> buf;
  try {
    if (!cv::imencode(".jpg", image, buf, {cv::IMWRITE_JPEG_QUALITY, quality})) return false;
  } catch (const cv::Exception&) {
    return false;
  }
  out->assign(buf.begin(), buf.end());
  return true;
}

bool MakeEvidenceSnapshot(const SourceImage& source, const cv::Rect2f& box, cv::Size detect_size,
                          int64_t time_us, const EvidenceSnapshotOptions& options,
                          EvidenceSnapshot* out) {
  const cv::Size size(source.width, source.height);
  const cv::Rect2f scaled = ScaleBox(box, detect_size, size);
  const cv::Rect frame(0, 0, size.width, size.height);
  const cv::Rect b = cv::Rect(cv::Point(static_cast<int>(std::floor(scaled.x)),
                                        static_cast<int>(std::floor(scaled.y))),
                              cv::Point(static_cast<int>(std::ceil(scaled.br().x)),
                                        static_cast<int>(std::ceil(scaled.br().y)))) &
                     frame;
  if (b.area() <= 0) return false;
  cv::Mat scene = SourceToBgr(source, frame);
  if (scene.empty()) return false;
  const int mx = static_cast<int>(std::lround(b.width * options.crop_margin));
  const int my = static_cast<int>(std::lround(b.height * options.crop_margin));
  const cv::Rect crop_rect =
      cv::Rect(b.x - mx, b.y - my, b.width + 2 * mx, b.height + 2 * my) & frame;
  // The crop before the box is drawn: evidence shows the vehicle as the camera saw it.
  if (!EncodeJpeg(scene(crop_rect), options.jpeg_quality, &out->crop_jpeg)) return false;
  const int thickness = std::max(2, size.width / 480);
  try {
    cv::rectangle(scene, b, cv::Scalar(0, 0, 255), thickness);
  } catch (const cv::Exception&) {
    return false;
  }
  if (!EncodeJpeg(scene, options.jpeg_quality, &out->scene_jpeg)) return false;
  out->time_us = time_us;
  out->scene_size = size;
  out->box = b;
  return true;
}

}  // namespace skynet::daemon
