// Decoders for detector heads, and class-aware NMS: pure functions over one image's output
// tensors, so each can be tested on hand-built tensors with exactly known boxes.
//
// Every decoder returns boxes in pixels of the network input (the letterboxed crop), one
// candidate per anchor with its best class, filtered by `score_threshold`; NMS comes after.
//
//   std::vector<RawDetection> d = DecodeYoloV5(out_2d, 0.3f);
//   std::vector<int> keep = NonMaxSuppression(d, 0.5f, /*class_aware=*/true);
//
// Thread-compatible: no state.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace skynet::analytics::dnn {

struct RawDetection {
  cv::Rect2f box;  // x, y, width, height in network-input pixels
  int class_id = -1;
  float score = 0.f;
};

// One NanoDet (GFL head) level: anchors on a grid_w-wide grid of cells of `stride` pixels,
// row-major. `cls` is N x num_classes (scores after the sigmoid, as the graph outputs them);
// `reg` is N x 4*(reg_max+1): distance logits for left, top, right, bottom, in that order, each
// side's bins contiguous. Both CV_32F; rows may be views into a wider tensor (read by ptr(i)).
struct NanoDetLevel {
  cv::Mat cls;
  cv::Mat reg;
  int stride = 8;
  int grid_w = 52;
};

// NanoDet GFL: per anchor, softmax over each side's reg_max+1 bins, distance = expectation x
// stride; centre ((i mod grid_w) + 0.5) x stride, ((i div grid_w) + 0.5) x stride; box = centre
// -/+ distances. reg_max is derived from the reg columns.
std::vector<RawDetection> DecodeNanoDet(const std::vector<NanoDetLevel>& levels,
                                        float score_threshold);

// YOLOv5: `rows` is N x (5 + C), each row cx, cy, w, h, objectness, C class scores (already
// sigmoid, as exported). score = objectness x best class score.
std::vector<RawDetection> DecodeYoloV5(const cv::Mat& rows, float score_threshold);

// YOLOv8 raw head: `channels` is (4 + C) x N (the export's [1, 84, N] without the batch axis):
// cx, cy, w, h and C class scores per column, no objectness. score = best class score.
std::vector<RawDetection> DecodeYoloV8(const cv::Mat& channels, float score_threshold);

// Greedy NMS at `iou_threshold`. Class-aware: boxes only suppress boxes of their own class
// (what cv::dnn::NMSBoxesBatched does in OpenCV 4.7+; done per class here for 4.6). Returns the
// indices kept, highest score first.
std::vector<int> NonMaxSuppression(const std::vector<RawDetection>& detections, float iou_threshold,
                                   bool class_aware);

}  // namespace skynet::analytics::dnn
