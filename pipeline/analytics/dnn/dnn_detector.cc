#include "pipeline/analytics/dnn/dnn_detector.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "pipeline/analytics/dnn/decode.h"

namespace skynet::analytics {

namespace {

// Which output is which, learnt from the warm-up run.
struct NanoDetOutput {
  int cls_index;
  int reg_index;
  int stride;
  int grid_w;
  // Single-output layout (NanoDet-Plus exports: all levels in one [1, N, classes + 4(R+1)]):
  // this level's rows, and the column where box logits start. split_col < 0: own outputs.
  int row_offset = 0;
  int rows = 0;
  int split_col = -1;
};

// A crop of the frame and how it was letterboxed into the network input.
struct Letterbox {
  cv::Rect crop;
  float scale;
};

int64_t Area(const cv::Rect& r) { return static_cast<int64_t>(r.width) * r.height; }

// "[1,80,52]": the shape of `m`, for error messages.
std::string Shape(const cv::Mat& m) {
  std::string t = "[";
  for (int i = 0; i < m.dims; ++i) t += (i ? "," : "") + std::to_string(m.size[i]);
  return t + "]";
}

// Grows `r` to `size` around its centre, then shifts it inside `bounds` (shrinking only when
// it is larger than the bounds), so crops near the border keep their size.
cv::Rect GrowInside(const cv::Rect2f& r, cv::Size2f size, const cv::Size& bounds) {
  const float w = std::min(size.width, static_cast<float>(bounds.width));
  const float h = std::min(size.height, static_cast<float>(bounds.height));
  float x = r.x + r.width / 2 - w / 2;
  float y = r.y + r.height / 2 - h / 2;
  x = std::clamp(x, 0.f, bounds.width - w);
  y = std::clamp(y, 0.f, bounds.height - h);
  cv::Rect out(cvRound(x), cvRound(y), cvRound(w), cvRound(h));
  return out & cv::Rect(0, 0, bounds.width, bounds.height);
}

}  // namespace

class DnnDetector::Impl {
 public:
  DnnDetectorOptions options;
  cv::dnn::Net net;
  std::vector<std::string> out_names;
  bool batched = false;
  std::vector<NanoDetOutput> nanodet_outputs;
  DnnPreprocess preprocess = DnnPreprocess::kNanoDetMeanStd;

  // Checks the output shapes of a run on `batch` images against the format; fills
  // nanodet_outputs. Returns an error naming what did not fit.
  Status LearnOutputs(const std::vector<cv::Mat>& outs, int batch) {
    for (const cv::Mat& m : outs) {
      if (m.dims != 3 || m.size[0] != batch || m.type() != CV_32F) {
        return Status::InvalidArgument("output " + Shape(m) + " is not [batch, a, b] float");
      }
    }
    switch (options.format) {
      case DnnFormat::kYoloV5:
        if (outs.size() != 1 || outs[0].size[2] < 6) {
          return Status::InvalidArgument("yolov5 expects one [1, N, 5 + classes] output, got " +
                                         std::to_string(outs.size()) + " outputs, first " +
                                         Shape(outs[0]));
        }
        return Status::Ok();
      case DnnFormat::kYoloV8:
        if (outs.size() != 1 || outs[0].size[1] < 5) {
          return Status::InvalidArgument("yolov8 expects one [1, 4 + classes, N] output, got " +
                                         std::to_string(outs.size()) + " outputs, first " +
                                         Shape(outs[0]));
        }
        return Status::Ok();
      case DnnFormat::kNanoDet:
        break;
    }
    return LearnNanoDetOutputs(outs);
  }

  // NanoDet: per stride two outputs [1, N, classes] and [1, N, 4 * (reg_max + 1)], N the
  // number of cells of that stride's grid; the class output is the one num_classes wide (else
  // the one whose width is not a multiple of 4, else the wider: 80 classes vs 32 or 44 logits).
  Status LearnNanoDetOutputs(const std::vector<cv::Mat>& outs) {
    const int s = options.input_size;
    nanodet_outputs.clear();
    const int nc = options.num_classes;
    if (outs.size() == 1) {
      // One output: levels of strides 8, 16, 32 (and 64) stacked, classes then box logits.
      const int n = outs[0].size[1], width = outs[0].size[2];
      if (width - nc < 4 || (width - nc) % 4 != 0) {
        return Status::InvalidArgument("nanodet single output " + Shape(outs[0]) +
                                       " is not [1, N, " + std::to_string(nc) +
                                       " classes + 4 * (reg_max + 1)]");
      }
      for (int top : {32, 64}) {
        std::vector<NanoDetOutput> levels;
        int offset = 0;
        for (int stride = 8; stride <= top; stride *= 2) {
          const int g = (s + stride - 1) / stride;
          levels.push_back({0, 0, stride, g, offset, g * g, nc});
          offset += g * g;
        }
        if (offset == n) {
          nanodet_outputs = levels;
          return Status::Ok();
        }
      }
      return Status::InvalidArgument("nanodet single output " + Shape(outs[0]) +
                                     ": anchor count fits no stride set of a " + std::to_string(s) +
                                     " input");
    }
    std::vector<bool> used(outs.size(), false);
    for (size_t i = 0; i < outs.size(); ++i) {
      if (used[i]) continue;
      size_t j = i + 1;
      while (j < outs.size() && (used[j] || outs[j].size[1] != outs[i].size[1])) ++j;
      if (j == outs.size()) {
        return Status::InvalidArgument("nanodet output " + out_names[i] + " " + Shape(outs[i]) +
                                       " has no partner with the same anchor count");
      }
      used[i] = used[j] = true;
      const int ci = outs[i].size[2], cj = outs[j].size[2];
      bool i_is_cls = (ci == nc) != (cj == nc)         ? ci == nc
                      : (ci % 4 != 0) != (cj % 4 != 0) ? (ci % 4 != 0)
                                                       : ci > cj;
      NanoDetOutput o{static_cast<int>(i_is_cls ? i : j), static_cast<int>(i_is_cls ? j : i), 0, 0};
      const int n = outs[i].size[1];
      for (int stride = 8; stride <= 128; stride *= 2) {
        const int g = (s + stride - 1) / stride;
        if (g * g == n) {
          o.stride = stride;
          o.grid_w = g;
        }
      }
      if (o.stride == 0) {
        return Status::InvalidArgument("nanodet output " + out_names[i] + " " + Shape(outs[i]) +
                                       ": anchor count fits no stride of a " + std::to_string(s) +
                                       " input");
      }
      nanodet_outputs.push_back(o);
    }
    return Status::Ok();
  }

  cv::Mat MakeBlob(const cv::Mat& frame, const std::vector<cv::Rect>& crops,
                   std::vector<Letterbox>* boxes) const {
    const int s = options.input_size;
    const bool nanodet_norm = preprocess == DnnPreprocess::kNanoDetMeanStd;
    std::vector<cv::Mat> images;
    for (const cv::Rect& crop : crops) {
      const float scale =
          std::min(static_cast<float>(s) / crop.width, static_cast<float>(s) / crop.height);
      const cv::Size resized(std::clamp(cvRound(crop.width * scale), 1, s),
                             std::clamp(cvRound(crop.height * scale), 1, s));
      // Padding: black for NanoDet (as upstream), YOLO's grey 114.
      cv::Mat canvas(s, s, CV_8UC3, nanodet_norm ? cv::Scalar::all(0) : cv::Scalar::all(114));
      cv::resize(frame(crop), canvas(cv::Rect(cv::Point(0, 0), resized)), resized, 0, 0,
                 cv::INTER_LINEAR);
      images.push_back(canvas);
      boxes->push_back({crop, scale});
    }
    if (!nanodet_norm) return cv::dnn::blobFromImages(images, 1.0 / 255, {}, {}, true, false);
    cv::Mat blob =
        cv::dnn::blobFromImages(images, 1.0, {}, cv::Scalar(103.53, 116.28, 123.675), false, false);
    const double inv_std[3] = {1 / 57.375, 1 / 57.12, 1 / 58.395};
    for (int b = 0; b < blob.size[0]; ++b) {
      for (int c = 0; c < 3; ++c) {
        cv::Mat plane(s, s, CV_32F, blob.ptr<float>(b, c));
        plane *= inv_std[c];
      }
    }
    return blob;
  }

  // Decodes batch item `b` of `outs`.
  std::vector<dnn::RawDetection> Decode(const std::vector<cv::Mat>& outs, int b) const {
    auto slice = [&](const cv::Mat& m) {
      return cv::Mat(m.size[1], m.size[2], CV_32F, const_cast<float*>(m.ptr<float>(b)));
    };
    const float t = options.score_threshold;
    switch (options.format) {
      case DnnFormat::kYoloV5:
        return dnn::DecodeYoloV5(slice(outs[0]), t);
      case DnnFormat::kYoloV8:
        return dnn::DecodeYoloV8(slice(outs[0]), t);
      case DnnFormat::kNanoDet:
        break;
    }
    std::vector<dnn::NanoDetLevel> levels;
    for (const NanoDetOutput& o : nanodet_outputs) {
      if (o.split_col < 0) {
        levels.push_back({slice(outs[o.cls_index]), slice(outs[o.reg_index]), o.stride, o.grid_w});
        continue;
      }
      const cv::Mat rows = slice(outs[0]).rowRange(o.row_offset, o.row_offset + o.rows);
      levels.push_back({rows.colRange(0, o.split_col), rows.colRange(o.split_col, rows.cols),
                        o.stride, o.grid_w});
    }
    return dnn::DecodeNanoDet(levels, t);
  }
};

DnnDetector::DnnDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnnDetector::~DnnDetector() = default;

bool DnnDetector::batched() const { return impl_->batched && impl_->options.batch_crops; }

std::string DnnDetector::name() const { return DnnFormatName(impl_->options.format); }

Result<std::unique_ptr<DnnDetector>> DnnDetector::Create(const DnnDetectorOptions& options) {
  const std::string& path = options.model_path;
  if (path.empty()) return Status::InvalidArgument("model_path: empty");
  SKYNET_RETURN_IF_ERROR(ValidateDnnDetectorOptions(options));
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound(path + ": no such model file (see docs/models.md: make models)");
  }

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->preprocess = options.preprocess;
  if (impl->preprocess == DnnPreprocess::kDefault) {
    impl->preprocess = options.format == DnnFormat::kNanoDet ? DnnPreprocess::kNanoDetMeanStd
                                                             : DnnPreprocess::kRgbUnit;
  }
  const int s = options.input_size;
  try {
    impl->net = cv::dnn::readNetFromONNX(path);
    impl->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    impl->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    impl->out_names = impl->net.getUnconnectedOutLayersNames();
    // Warm-up on a blank batch of two: a graph with batch-1 reshapes answers with batch 1 (or
    // fails); then it runs one crop at a time.
    std::vector<cv::Mat> outs;
    try {
      impl->net.setInput(cv::Mat(std::vector<int>{2, 3, s, s}, CV_32F, cv::Scalar(0)));
      impl->net.forward(outs, impl->out_names);
      impl->batched = !outs.empty() && impl->LearnOutputs(outs, 2).ok();
    } catch (const cv::Exception&) {
      impl->batched = false;
    }
    if (!impl->batched) {
      impl->net.setInput(cv::Mat(std::vector<int>{1, 3, s, s}, CV_32F, cv::Scalar(0)));
      impl->net.forward(outs, impl->out_names);
      Status st = impl->LearnOutputs(outs, 1);
      if (!st.ok()) {
        return Status::InvalidArgument(
            path + ": not a " + std::string(DnnFormatName(options.format)) + " model at input " +
            std::to_string(s) + ": " + st.message());
      }
    }
  } catch (const cv::Exception& e) {
    return Status::InvalidArgument(path + ": opencv dnn cannot load or run it: " + e.err);
  }
  return std::unique_ptr<DnnDetector>(new DnnDetector(std::move(impl)));
}

std::vector<cv::Rect> DnnDetector::PlanCrops(cv::Size frame_size,
                                             const std::vector<cv::Rect2f>& motion_regions) const {
  const DnnDetectorOptions& o = impl_->options;
  const cv::Rect full(cv::Point(0, 0), frame_size);
  if (!o.motion_gated) return {full};
  const float fw = static_cast<float>(frame_size.width);
  const float fh = static_cast<float>(frame_size.height);
  std::vector<cv::Rect> crops;
  for (const cv::Rect2f& n : motion_regions) {
    if (!(std::isfinite(n.x) && std::isfinite(n.y) && std::isfinite(n.width) &&
          std::isfinite(n.height))) {
      continue;  // garbage in: no crop
    }
    const cv::Rect2f r =
        cv::Rect2f(n.x * fw, n.y * fh, n.width * fw, n.height * fh) & cv::Rect2f(0, 0, fw, fh);
    if (!(r.width > 0.f && r.height > 0.f)) continue;  // empty or outside the frame
    float w = r.width * (1 + 2 * o.crop_padding);
    float h = r.height * (1 + 2 * o.crop_padding);
    w = std::max(w, static_cast<float>(o.min_crop_size));
    h = std::max(h, static_cast<float>(o.min_crop_size));
    // Square-ish: the short side at least 2/3 of the long one, so little input is padding.
    w = std::max(w, h * 2 / 3);
    h = std::max(h, w * 2 / 3);
    const cv::Rect c = GrowInside(r, {w, h}, frame_size);
    if (c.area() > 0) crops.push_back(c);
  }
  // Overlapping crops become their union, until none overlap.
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < crops.size() && !merged; ++i) {
      for (size_t j = i + 1; j < crops.size() && !merged; ++j) {
        if ((crops[i] & crops[j]).area() > 0) {
          crops[i] |= crops[j];
          crops.erase(crops.begin() + j);
          merged = true;
        }
      }
    }
  }
  // Too many: merge the pair whose union adds the least area.
  while (static_cast<int>(crops.size()) > o.max_crops) {
    size_t bi = 0, bj = 1;
    int64_t best = std::numeric_limits<int64_t>::max();
    for (size_t i = 0; i < crops.size(); ++i) {
      for (size_t j = i + 1; j < crops.size(); ++j) {
        const int64_t added = Area(crops[i] | crops[j]) - Area(crops[i]) - Area(crops[j]);
        if (added < best) {
          best = added;
          bi = i;
          bj = j;
        }
      }
    }
    crops[bi] |= crops[bj];
    crops.erase(crops.begin() + bj);
  }
  int64_t covered = 0;
  for (const cv::Rect& c : crops) covered += Area(c);
  if (!crops.empty() && covered >= o.full_frame_fraction * Area(full)) return {full};
  return crops;
}

std::vector<Detection> DnnDetector::Detect(const cv::Mat& frame,
                                           const std::vector<cv::Rect2f>& motion_regions,
                                           int64_t time_us) {
  ++stats_.calls;
  last_call_ran_ = false;
  const DnnDetectorOptions& o = impl_->options;
  if (o.detect_fps > 0 && has_run_ && time_us >= last_run_us_) {
    // 10% tolerance, so camera timestamp jitter does not push every run a frame late.
    const double interval_us = 0.9e6 / o.detect_fps;
    if (static_cast<double>(time_us - last_run_us_) < interval_us) {
      ++stats_.rate_skipped;
      return {};
    }
  }
  last_call_ran_ = true;
  if (frame.empty()) return {};
  const std::vector<cv::Rect> crops = PlanCrops(frame.size(), motion_regions);
  if (crops.empty()) {
    // Nothing moved: analysed, nothing to report; the next moving frame runs at once.
    ++stats_.no_motion;
    return {};
  }
  has_run_ = true;
  last_run_us_ = time_us;

  std::vector<Detection> result;
  const int64_t start = cv::getTickCount();
  try {
    cv::Mat bgr;
    if (frame.type() == CV_8UC3)
      bgr = frame;
    else if (frame.type() == CV_8UC1)
      cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
    else if (frame.type() == CV_8UC4)
      cv::cvtColor(frame, bgr, cv::COLOR_BGRA2BGR);
    else {
      ++stats_.failures;
      return {};
    }
    std::vector<Letterbox> boxes;
    const cv::Mat blob = impl_->MakeBlob(bgr, crops, &boxes);
    std::vector<dnn::RawDetection> all;
    const int n = blob.size[0];
    const int s = o.input_size;
    auto collect = [&](const std::vector<cv::Mat>& outs, int b, const Letterbox& lb) {
      for (dnn::RawDetection d : impl_->Decode(outs, b)) {
        if (!o.class_map.count(d.class_id)) continue;
        cv::Rect2f r(lb.crop.x + d.box.x / lb.scale, lb.crop.y + d.box.y / lb.scale,
                     d.box.width / lb.scale, d.box.height / lb.scale);
        r &= cv::Rect2f(lb.crop);  // a box cannot reach past its crop (or into the padding)
        if (r.width <= 0.f || r.height <= 0.f) continue;
        d.box = r;
        all.push_back(d);
      }
    };
    std::vector<cv::Mat> outs;
    if (batched()) {
      impl_->net.setInput(blob);
      impl_->net.forward(outs, impl_->out_names);
      ++stats_.inferences;
      for (int b = 0; b < n; ++b) collect(outs, b, boxes[b]);
    } else {
      for (int b = 0; b < n; ++b) {
        impl_->net.setInput(
            cv::Mat(std::vector<int>{1, 3, s, s}, CV_32F, const_cast<float*>(blob.ptr<float>(b))));
        impl_->net.forward(outs, impl_->out_names);
        ++stats_.inferences;
        collect(outs, 0, boxes[b]);
      }
    }
    stats_.crops += n;
    for (int i : dnn::NonMaxSuppression(all, o.nms_iou, o.class_aware_nms)) {
      result.push_back({all[i].box, o.class_map.at(all[i].class_id), all[i].score});
    }
  } catch (const cv::Exception&) {
    ++stats_.failures;
    result.clear();
  }
  stats_.infer_ms_total += (cv::getTickCount() - start) * 1000.0 / cv::getTickFrequency();
  stats_.detections += static_cast<int64_t>(result.size());
  return result;
}

int SetInferenceThreads(int threads) {
  // OpenCV reads 0 as "no threading at all" and a negative count as its default (every core).
  cv::setNumThreads(threads > 0 ? threads : -1);
  return cv::getNumThreads();
}

}  // namespace skynet::analytics
