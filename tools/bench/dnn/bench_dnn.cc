// skynet-bench-dnn: CPU time per DnnDetector::Detect() call with the real NanoDet, on OpenCV's
// vtest.avi frame 100 (768x576; a grey synthetic frame when the video is absent), and ratios.
//
//   skynet-bench-dnn [model.onnx [batch1-model.onnx]] [--runs N]
//
// Default model: models/nanodet.onnx (make models), else ../shared/models/nanodet.onnx. A second
// model that only takes batch 1 (the shared reference conversion) measures crops run one by one.
// Figures are process CPU ms per call (wall in brackets). Lines: full frame at 416 and 320; two
// motion-gated crops batched (and one by one); the ratios. OpenCV runs on one thread, as on a
// camera's analytics worker; load time is the Create() call (load + a warm-up batch).
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "pipeline/analytics/dnn/dnn_detector.h"

namespace {

using skynet::analytics::DnnDetector;
using skynet::analytics::DnnDetectorOptions;

double NowMs() { return cv::getTickCount() * 1000.0 / cv::getTickFrequency(); }

// Process CPU time: with one OpenCV thread it is the detector's own work, and it stays honest
// when other jobs share the cores (wall time does not).
double CpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

struct Figure {
  double load_ms = 0;
  double call_ms = 0;  // cpu
  double wall_ms = 0;
  double crops_per_call = 0;
  bool batched = false;
};

// Mean cpu (and wall) ms per Detect() over `runs` calls (after one untimed call).
bool Measure(const std::string& model, int size, bool gated, const cv::Mat& frame,
             const std::vector<cv::Rect2f>& regions, int runs, Figure* f) {
  DnnDetectorOptions o;
  o.model_path = model;
  o.input_size = size;
  o.motion_gated = gated;
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
  const double t1 = NowMs(), c1 = CpuMs();
  for (int i = 0; i < runs; ++i) (*det)->Detect(frame, regions, 0);
  f->call_ms = (CpuMs() - c1) / runs;
  f->wall_ms = (NowMs() - t1) / runs;
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

  Figure full416, full320, crops416, crops320, seq416;
  if (!Measure(models[0], 416, false, frame, {}, runs, &full416) ||
      !Measure(models[0], 320, false, frame, {}, runs, &full320) ||
      !Measure(models[0], 416, true, frame, regions, runs, &crops416) ||
      !Measure(models[0], 320, true, frame, regions, runs, &crops320)) {
    return 1;
  }
  const bool have_seq =
      models.size() > 1 && Measure(models[1], 416, true, frame, regions, runs, &seq416);
  std::printf("dnn: model %s (%s), frame %dx%d, %d runs, 1 thread\n", models[0].c_str(),
              crops416.batched ? "batched" : "batch 1", frame.cols, frame.rows, runs);
  std::printf("dnn: load %.0f ms (416, incl. warm-up)\n", full416.load_ms);
  std::printf("dnn: full frame 416: %.1f ms cpu/inference (wall %.1f)\n", full416.call_ms,
              full416.wall_ms);
  std::printf("dnn: full frame 320: %.1f ms cpu/inference (wall %.1f)\n", full320.call_ms,
              full320.wall_ms);
  std::printf("dnn: crops 416: %.1f ms cpu/call, %.0f crops in one batch (%.1f ms/crop)\n",
              crops416.call_ms, crops416.crops_per_call,
              crops416.call_ms / crops416.crops_per_call);
  std::printf("dnn: crops 320: %.1f ms cpu/call, %.0f crops in one batch (%.1f ms/crop)\n",
              crops320.call_ms, crops320.crops_per_call,
              crops320.call_ms / crops320.crops_per_call);
  if (have_seq) {
    std::printf("dnn: crops 416 one by one (%s): %.1f ms cpu/call\n", models[1].c_str(),
                seq416.call_ms);
  }
  std::printf("dnn: ratio 320/416 full frame: %.2f\n", full320.call_ms / full416.call_ms);
  std::printf("dnn: ratio crops/full frame at 416: %.2f (at 320: %.2f)\n",
              crops416.call_ms / full416.call_ms, crops320.call_ms / full320.call_ms);
  if (have_seq) {
    std::printf("dnn: ratio batched/one-by-one crops at 416: %.2f\n",
                crops416.call_ms / seq416.call_ms);
  }
  std::printf("dnn: no motion: 0 inferences (Detect returns at once)\n");
  return 0;
}
