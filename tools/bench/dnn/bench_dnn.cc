// skynet-bench-dnn: CPU time per DnnDetector::Detect() call with the real NanoDet, on OpenCV's
// vtest.avi frame 100 (768x576; a grey synthetic frame when the video is absent), and ratios.
//
//   skynet-bench-dnn [model.onnx] [--runs N]
//
// Default model: models/nanodet.onnx (make models, takes batches), else
// ../shared/models/nanodet.onnx (batch 1 only: crops always run one by one).
// Figures are median process CPU ms per call (wall in brackets). Lines: full frame at 416 and 320;
// two motion-gated crops batched (and one by one); the ratios. OpenCV runs on one thread, as on a
// camera's analytics worker; load time is the Create() call (load + a warm-up batch).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "pipeline/analytics/dnn/dnn_detector.h"
#include "pipeline/core/clock.h"

namespace {

using skynet::analytics::DnnDetector;
using skynet::analytics::DnnDetectorOptions;

double NowMs() { return cv::getTickCount() * 1000.0 / cv::getTickFrequency(); }

// Process CPU time: with one OpenCV thread it is the detector's own work, and it stays honest
// when other jobs share the cores (wall time does not).
double CpuMs() { return skynet::ProcessCpuUs() * 1e-3; }

struct Figure {
  double load_ms = 0;
  double call_ms = 0;  // cpu
  double wall_ms = 0;
  double crops_per_call = 0;
  bool batched = false;
};

// Median cpu (and wall) ms per Detect() over `runs` calls (after one untimed call).
bool Measure(const std::string& model, int size, bool gated, bool batch, const cv::Mat& frame,
             const std::vector<cv::Rect2f>& regions, int runs, Figure* f) {
  DnnDetectorOptions o;
  o.model_path = model;
  o.input_size = size;
  o.motion_gated = gated;
  o.batch_crops = batch;
  o.detect_fps = 0;
  const double t0 = NowMs();
  auto det = DnnDetector::Create(o);
  f->load_ms = NowMs() - t0;
  if (!det) {
    std::fprintf(stderr, "dnn: %s\n", det.status().ToString().c_str());
    return false;
  }
  (*det)->Detect(frame, regions, 0);
  const int64_t crops0 = (*det)->stats().crops;
  std::vector<double> cpu, wall;
  for (int i = 0; i < runs; ++i) {
    const double t1 = NowMs(), c1 = CpuMs();
    (*det)->Detect(frame, regions, 0);
    cpu.push_back(CpuMs() - c1);
    wall.push_back(NowMs() - t1);
  }
  // Medians: other jobs on the shared cores inflate single calls, not the typical one.
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  f->call_ms = cpu[cpu.size() / 2];
  f->wall_ms = wall[wall.size() / 2];
  f->crops_per_call = double((*det)->stats().crops - crops0) / runs;
  f->batched = (*det)->batched();
  return (*det)->stats().failures == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> models;
  int runs = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else
      models.push_back(a);
  }
  if (models.empty()) {
    for (const char* p : {"models/nanodet.onnx", "../shared/models/nanodet.onnx"}) {
      if (std::filesystem::exists(p)) models.push_back(p);
    }
  }
  if (models.empty()) {
    std::fprintf(stderr, "dnn: no model (make models, or pass a path)\n");
    return 2;
  }
  cv::setNumThreads(1);

  cv::Mat frame;
  cv::VideoCapture cap("/usr/share/doc/opencv-doc/examples/data/vtest.avi");
  for (int i = 0; i <= 100 && cap.read(frame); ++i) {
  }
  if (frame.empty()) frame = cv::Mat(576, 768, CV_8UC3, cv::Scalar::all(110));
  // Two people walking apart (vtest frame 100), as normalised motion regions.
  const std::vector<cv::Rect2f> regions = {{347.f / 768, 198.f / 576, 34.f / 768, 76.f / 576},
                                           {589.f / 768, 156.f / 576, 29.f / 768, 78.f / 576}};

  const std::string& model = models[0];
  Figure full416, full320, crops416, crops320, seq416, seq320;
  if (!Measure(model, 416, false, true, frame, {}, runs, &full416) ||
      !Measure(model, 320, false, true, frame, {}, runs, &full320) ||
      !Measure(model, 416, true, true, frame, regions, runs, &crops416) ||
      !Measure(model, 320, true, true, frame, regions, runs, &crops320) ||
      !Measure(model, 416, true, false, frame, regions, runs, &seq416) ||
      !Measure(model, 320, true, false, frame, regions, runs, &seq320)) {
    return 1;
  }
  std::printf("dnn: model %s (%s), frame %dx%d, median of %d runs, 1 thread\n", models[0].c_str(),
              crops416.batched ? "batched" : "batch 1", frame.cols, frame.rows, runs);
  std::printf("dnn: load %.0f ms (416, incl. warm-up)\n", full416.load_ms);
  std::printf("dnn: full frame 416: %.1f ms cpu/inference (wall %.1f)\n", full416.call_ms,
              full416.wall_ms);
  std::printf("dnn: full frame 320: %.1f ms cpu/inference (wall %.1f)\n", full320.call_ms,
              full320.wall_ms);
  std::printf("dnn: crops 416: %.1f ms cpu/call, %.0f crops %s (%.1f ms/crop)\n", crops416.call_ms,
              crops416.crops_per_call, crops416.batched ? "in one batch" : "one by one",
              crops416.call_ms / crops416.crops_per_call);
  std::printf("dnn: crops 320: %.1f ms cpu/call, %.0f crops %s (%.1f ms/crop)\n", crops320.call_ms,
              crops320.crops_per_call, crops320.batched ? "in one batch" : "one by one",
              crops320.call_ms / crops320.crops_per_call);
  std::printf("dnn: crops 416 one by one: %.1f ms cpu/call\n", seq416.call_ms);
  std::printf("dnn: crops 320 one by one: %.1f ms cpu/call\n", seq320.call_ms);
  std::printf("dnn: ratio 320/416 full frame: %.2f\n", full320.call_ms / full416.call_ms);
  std::printf("dnn: ratio crops/full frame at 416: %.2f (at 320: %.2f)\n",
              crops416.call_ms / full416.call_ms, crops320.call_ms / full320.call_ms);
  if (crops416.batched) {
    std::printf("dnn: ratio batched/one-by-one crops at 416: %.2f (at 320: %.2f)\n",
                crops416.call_ms / seq416.call_ms, crops320.call_ms / seq320.call_ms);
  }
  std::printf("dnn: no motion: 0 inferences (Detect returns at once)\n");
  return 0;
}
