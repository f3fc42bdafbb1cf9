#include "pipeline/analytics/dnn/decode.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <opencv2/dnn.hpp>

namespace skynet::analytics::dnn {
namespace {

// Index and value of the largest of n floats.
inline int ArgMax(const float* v, int n, float* best) {
  int arg = 0;
  for (int i = 1; i < n; ++i) {
    if (v[i] > v[arg]) arg = i;
  }
  *best = v[arg];
  return arg;
}

// Expected bin index under a softmax over `bins` logits.
inline float SoftmaxExpectation(const float* logits, int bins) {
  float max_logit = logits[0];
  for (int i = 1; i < bins; ++i) max_logit = std::max(max_logit, logits[i]);
  float sum = 0.f, weighted = 0.f;
  for (int i = 0; i < bins; ++i) {
    const float e = std::exp(logits[i] - max_logit);
    sum += e;
    weighted += e * static_cast<float>(i);
  }
  return weighted / sum;
}

RawDetection FromCentre(float cx, float cy, float w, float h, int class_id, float score) {
  return RawDetection{cv::Rect2f(cx - w / 2, cy - h / 2, w, h), class_id, score};
}

}  // namespace

std::vector<RawDetection> DecodeNanoDet(const std::vector<NanoDetLevel>& levels,
                                        float score_threshold) {
  std::vector<RawDetection> out;
  for (const NanoDetLevel& level : levels) {
    const int n = level.cls.rows;
    const int num_classes = level.cls.cols;
    const int bins = level.reg.cols / 4;
    if (n != level.reg.rows || bins < 1 || level.grid_w < 1) continue;  // malformed: nothing
    const float s = static_cast<float>(level.stride);
    for (int i = 0; i < n; ++i) {
      float score = 0.f;
      const int class_id = ArgMax(level.cls.ptr<float>(i), num_classes, &score);
      if (score < score_threshold) continue;
      const float* reg = level.reg.ptr<float>(i);
      const float left = SoftmaxExpectation(reg, bins) * s;
      const float top = SoftmaxExpectation(reg + bins, bins) * s;
      const float right = SoftmaxExpectation(reg + 2 * bins, bins) * s;
      const float bottom = SoftmaxExpectation(reg + 3 * bins, bins) * s;
      const float cx = (static_cast<float>(i % level.grid_w) + 0.5f) * s;
      const float cy = (static_cast<float>(i / level.grid_w) + 0.5f) * s;
      out.push_back({cv::Rect2f(cx - left, cy - top, left + right, top + bottom), class_id, score});
    }
  }
  return out;
}

std::vector<RawDetection> DecodeYoloV5(const cv::Mat& rows, float score_threshold) {
  std::vector<RawDetection> out;
  const int num_classes = rows.cols - 5;
  if (num_classes < 1) return out;
  for (int i = 0; i < rows.rows; ++i) {
    const float* r = rows.ptr<float>(i);
    if (r[4] < score_threshold) continue;  // obj x cls <= obj: cheap early out
    float best = 0.f;
    const int class_id = ArgMax(r + 5, num_classes, &best);
    const float score = r[4] * best;
    if (score < score_threshold) continue;
    out.push_back(FromCentre(r[0], r[1], r[2], r[3], class_id, score));
  }
  return out;
}

std::vector<RawDetection> DecodeYoloV8(const cv::Mat& channels, float score_threshold) {
  std::vector<RawDetection> out;
  const int num_classes = channels.rows - 4;
  const int n = channels.cols;
  if (num_classes < 1) return out;
  // Column-major candidates: walk the class rows once, keeping the best per column, rather
  // than transposing 84 x N first.
  std::vector<float> best(n, -1.f);
  std::vector<int> best_class(n, -1);
  for (int c = 0; c < num_classes; ++c) {
    const float* row = channels.ptr<float>(4 + c);
    for (int i = 0; i < n; ++i) {
      if (row[i] > best[i]) {
        best[i] = row[i];
        best_class[i] = c;
      }
    }
  }
  const float* cx = channels.ptr<float>(0);
  const float* cy = channels.ptr<float>(1);
  const float* w = channels.ptr<float>(2);
  const float* h = channels.ptr<float>(3);
  for (int i = 0; i < n; ++i) {
    if (best[i] < score_threshold) continue;
    out.push_back(FromCentre(cx[i], cy[i], w[i], h[i], best_class[i], best[i]));
  }
  return out;
}

std::vector<int> NonMaxSuppression(const std::vector<RawDetection>& detections, float iou_threshold,
                                   bool class_aware) {
  std::map<int, std::vector<int>> groups;  // class (or -1 for all) -> indices
  for (int i = 0; i < static_cast<int>(detections.size()); ++i) {
    groups[class_aware ? detections[i].class_id : -1].push_back(i);
  }
  std::vector<int> keep;
  for (const auto& [cls, indices] : groups) {
    std::vector<cv::Rect2d> boxes;
    std::vector<float> scores;
    boxes.reserve(indices.size());
    scores.reserve(indices.size());
    for (int i : indices) {
      boxes.emplace_back(detections[i].box);
      scores.push_back(detections[i].score);
    }
    std::vector<int> kept;
    // Score threshold 0 (4.6 asserts >= 0 and keeps scores > it): zero-score boxes never survive.
    cv::dnn::NMSBoxes(boxes, scores, 0.f, iou_threshold, kept);
    for (int k : kept) keep.push_back(indices[k]);
  }
  std::stable_sort(keep.begin(), keep.end(),
                   [&](int a, int b) { return detections[a].score > detections[b].score; });
  return keep;
}

}  // namespace skynet::analytics::dnn
