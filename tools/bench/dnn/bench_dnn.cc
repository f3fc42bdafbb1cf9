// skynet-bench-dnn: CPU time per DnnDetector::Detect() call with the real NanoDet, on OpenCV's
// vtest.avi frame 100 (768x576; a grey synthetic frame when the video is absent), and ratios.
//
//   skynet-bench-dnn [model.onnx] [--runs N] [--budget]   (--budget: the thread budget only)
//
// Default model: models/nanodet.onnx (make models, takes batches), else
// ../shared/models/nanodet.onnx (batch 1 only: crops always run one by one).
// Figures are median process CPU ms per call (wall in brackets). Lines: full frame at 416 and 320;
// two motion-gated crops batched (and one by one); the ratios. OpenCV runs on one thread, as on a
// camera's analytics worker; load time is the Create() call (load + a warm-up batch).
//
// Then the thread budget (`dnn.threads`, docs/operations.md): 1 and 2 cameras, each with its own
// detector on its own thread (as on two analytics workers), full frames at 320, first with
// OpenCV's default thread pool (one thread per core: before the budget), then with 1 thread
// (after): the cores the process used (CPU time / wall time) and CPU ms per inference.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <thread>
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

struct Budget {
  double cores = 0;          // process CPU time / wall time
  double cpu_per_call = 0;   // ms
  double wall_per_call = 0;  // ms, per camera
  // Process CPU time / CPU time of the cameras' own threads: 1.0 when inference stays on the
  // calling thread, about 2 when a pool of two threads does half of it elsewhere. Unlike `cores`
  // it does not depend on what else loads the machine.
  double cpu_per_camera_thread_cpu = 0;
};

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// `cameras` threads, each with its own detector, each running `runs` full-frame inferences.
bool MeasureBudget(const std::string& model, int cameras, int runs, const cv::Mat& frame,
                   Budget* b) {
  DnnDetectorOptions o;
  o.model_path = model;
  o.input_size = 320;
  o.motion_gated = false;
  o.detect_fps = 0;
  std::vector<std::unique_ptr<DnnDetector>> dets;
  for (int i = 0; i < cameras; ++i) {
    auto det = DnnDetector::Create(o);
    if (!det) {
      std::fprintf(stderr, "dnn: %s\n", det.status().ToString().c_str());
      return false;
    }
    (*det)->Detect(frame, {}, 0);
    dets.push_back(std::move(det).value());
  }
  const double t0 = NowMs(), c0 = CpuMs();
  std::vector<std::thread> threads;
  std::vector<double> thread_cpu(dets.size(), 0.0);
  for (size_t k = 0; k < dets.size(); ++k) {
    threads.emplace_back([&frame, runs, det = dets[k].get(), out = &thread_cpu[k]] {
      const double c = ThreadCpuMs();
      for (int i = 0; i < runs; ++i) det->Detect(frame, {}, 0);
      *out = ThreadCpuMs() - c;
    });
  }
  for (auto& t : threads) t.join();
  const double wall = NowMs() - t0, cpu = CpuMs() - c0;
  double own = 0;
  for (double c : thread_cpu) own += c;
  b->cpu_per_camera_thread_cpu = own > 0 ? cpu / own : 0;
  b->cores = cpu / wall;
  b->cpu_per_call = cpu / (cameras * runs);
  b->wall_per_call = wall / runs;
  for (auto& d : dets) {
    if (d->stats().failures != 0) return false;
  }
  return true;
}

bool MeasureDetect(const std::string& model, const cv::Mat& frame,
                   const std::vector<cv::Rect2f>& regions, int runs);
bool MeasureBudgets(const std::string& model, const cv::Mat& frame, int runs);

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> models;
  int runs = 10;
  bool budget_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--budget")
      budget_only = true;
    else if (a == "--runs" && i + 1 < argc)
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
  skynet::analytics::SetInferenceThreads(1);

  cv::Mat frame;
  cv::VideoCapture cap("/usr/share/doc/opencv-doc/examples/data/vtest.avi");
  for (int i = 0; i <= 100 && cap.read(frame); ++i) {
  }
  if (frame.empty()) frame = cv::Mat(576, 768, CV_8UC3, cv::Scalar::all(110));
  // Two people walking apart (vtest frame 100), as normalised motion regions.
  const std::vector<cv::Rect2f> regions = {{347.f / 768, 198.f / 576, 34.f / 768, 76.f / 576},
                                           {589.f / 768, 156.f / 576, 29.f / 768, 78.f / 576}};

  const std::string& model = models[0];
  if (!budget_only && !MeasureDetect(model, frame, regions, runs)) return 1;
  return MeasureBudgets(model, frame, runs) ? 0 : 1;
}

namespace {

bool MeasureDetect(const std::string& model, const cv::Mat& frame,
                   const std::vector<cv::Rect2f>& regions, int runs) {
  Figure full416, full320, crops416, crops320, seq416, seq320;
  if (!Measure(model, 416, false, true, frame, {}, runs, &full416) ||
      !Measure(model, 320, false, true, frame, {}, runs, &full320) ||
      !Measure(model, 416, true, true, frame, regions, runs, &crops416) ||
      !Measure(model, 320, true, true, frame, regions, runs, &crops320) ||
      !Measure(model, 416, true, false, frame, regions, runs, &seq416) ||
      !Measure(model, 320, true, false, frame, regions, runs, &seq320)) {
    return false;
  }
  std::printf("dnn: model %s (%s), frame %dx%d, median of %d runs, 1 thread\n", model.c_str(),
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
  return true;
}

bool MeasureBudgets(const std::string& model, const cv::Mat& frame, int runs) {
  // The thread budget, before (OpenCV's default pool) and after (dnn.threads: 1), same run.
  Budget before[2], after[2];
  const int cores = skynet::analytics::SetInferenceThreads(0);
  for (int n = 1; n <= 2; ++n) {
    if (!MeasureBudget(model, n, runs, frame, &before[n - 1])) return false;
  }
  skynet::analytics::SetInferenceThreads(1);
  for (int n = 1; n <= 2; ++n) {
    if (!MeasureBudget(model, n, runs, frame, &after[n - 1])) return false;
  }
  for (int n = 1; n <= 2; ++n) {
    std::printf("dnn: %d camera%s, full frame 320, opencv default (%d threads): %.2f cores, "
                "%.1f ms cpu/inference (wall %.1f per camera), process cpu %.2fx the cameras' "
                "threads\n",
                n, n == 1 ? "" : "s", cores, before[n - 1].cores, before[n - 1].cpu_per_call,
                before[n - 1].wall_per_call, before[n - 1].cpu_per_camera_thread_cpu);
  }
  for (int n = 1; n <= 2; ++n) {
    std::printf("dnn: %d camera%s, full frame 320, dnn.threads 1: %.2f cores, "
                "%.1f ms cpu/inference (wall %.1f per camera), process cpu %.2fx the cameras' "
                "threads\n",
                n, n == 1 ? "" : "s", after[n - 1].cores, after[n - 1].cpu_per_call,
                after[n - 1].wall_per_call, after[n - 1].cpu_per_camera_thread_cpu);
  }
  std::printf("dnn: ratio cpu 2 cameras / 1 camera: default %.2f, dnn.threads 1 %.2f "
              "(2.00: N cameras cost N times one)\n",
              before[1].cpu_per_call * 2 / before[0].cpu_per_call,
              after[1].cpu_per_call * 2 / after[0].cpu_per_call);
  std::printf("dnn: ratio cpu per inference default / dnn.threads 1: 1 camera %.2f, 2 cameras "
              "%.2f\n",
              before[0].cpu_per_call / after[0].cpu_per_call,
              before[1].cpu_per_call / after[1].cpu_per_call);
  return true;
}

}  // namespace
