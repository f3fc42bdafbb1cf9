// skynet-bench-motion: runs MotionDetector over synthetic 320x180 traffic frames and prints its
// CPU time per frame, next to a plain absdiff+threshold baseline measured in the same run.
//
//   skynet-bench-motion [frames]      (default 2000)
//
// Frames are rendered before timing (a textured road, vehicles in four lanes in bursts of 20 s
// with 10 s gaps, sensor noise, and a stretch of camera shake), so only the detector's own work
// is measured. OpenCV runs on one thread, as each camera does on its analytics worker.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/analytics/motion_detector.h"
#include "pipeline/core/clock.h"

namespace {

using skynet::analytics::MotionDetector;
using skynet::analytics::MotionEventType;
using skynet::analytics::MotionOptions;

constexpr int kWidth = 320;
constexpr int kHeight = 180;
constexpr int kMargin = 8;
constexpr int64_t kFrameUs = 100'000;  // 10 fps

double CpuSeconds() { return skynet::ProcessCpuUs() * 1e-6; }

cv::Mat MakeRoad() {
  cv::RNG rng(42);
  cv::Mat canvas(kHeight + 2 * kMargin, kWidth + 2 * kMargin, CV_8UC1, cv::Scalar(110));
  for (int i = 0; i < 80; ++i) {
    const cv::Point p(rng.uniform(0, canvas.cols), rng.uniform(0, canvas.rows));
    const cv::Size s(rng.uniform(4, kWidth / 6), rng.uniform(4, kHeight / 6));
    cv::rectangle(canvas, cv::Rect(p, s), rng.uniform(50, 200), cv::FILLED);
  }
  cv::rectangle(canvas, cv::Rect(0, 70, canvas.cols, 90), 90, cv::FILLED);  // carriageway
  for (int lane = 1; lane < 4; ++lane) {
    for (int x = 0; x < canvas.cols; x += 40) {
      cv::rectangle(canvas, cv::Rect(x, 70 + lane * 22, 20, 2), 220, cv::FILLED);
    }
  }
  cv::GaussianBlur(canvas, canvas, cv::Size(3, 3), 0);
  return canvas;
}

// Frame `i`: vehicles at lane-specific speeds, noise, and shake during frames 1200-1399.
cv::Mat RenderFrame(const cv::Mat& road, int i) {
  cv::Point shake;
  if (i >= 1200 && i < 1400) shake = (i % 2 == 0) ? cv::Point(2, 1) : cv::Point(-2, -1);
  cv::Mat frame =
      road(cv::Rect(cv::Point(kMargin, kMargin) + shake, cv::Size(kWidth, kHeight))).clone();
  const int speeds[4] = {4, 6, -5, -3};
  for (int lane = 0; lane < 4; ++lane) {
    const int period = kWidth + 120;
    int x = (i * speeds[lane] + lane * 97) % period;
    if (x < 0) x += period;
    x -= 60;
    if (i % 300 >= 200) continue;             // traffic in bursts: 20 s busy, 10 s empty
    if ((i / 150 + lane) % 3 == 0) continue;  // lanes empty now and then
    const cv::Rect body(x, 74 + lane * 22, 30, 15);
    cv::rectangle(frame, body, 30 + 50 * lane, cv::FILLED);
    cv::rectangle(frame, cv::Rect(x + 8, body.y + 3, 12, 9), 230, cv::FILLED);
  }
  cv::Mat noise(frame.size(), CV_8SC1);
  cv::RNG rng(1000 + i);
  rng.fill(noise, cv::RNG::NORMAL, 0, 2);
  cv::Mat out;
  cv::add(frame, noise, out, cv::noArray(), CV_8U);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int frames = argc > 1 ? std::max(10, std::atoi(argv[1])) : 2000;
  cv::setNumThreads(1);
  const cv::Mat road = MakeRoad();
  std::vector<cv::Mat> video;
  video.reserve(frames);
  for (int i = 0; i < frames; ++i) video.push_back(RenderFrame(road, i));

  MotionOptions options;
  options.masks.push_back({{0.f, 0.f}, {0.35f, 0.f}, {0.35f, 0.08f}, {0.f, 0.08f}});  // OSD
  auto created = MotionDetector::Create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "motion: %s\n", created.status().ToString().c_str());
    return 1;
  }
  MotionDetector& detector = **created;

  // Warm up (first-touch allocations, DFT plans), then time each call.
  for (int i = 0; i < 20; ++i) (void)detector.Process(video[i], i * kFrameUs);
  detector.Reset();
  std::vector<double> per_frame;
  per_frame.reserve(frames);
  int started = 0, ended = 0, with_regions = 0;
  for (int i = 0; i < frames; ++i) {
    const double t0 = CpuSeconds();
    const auto o = detector.Process(video[i], (1000 + i) * kFrameUs);
    per_frame.push_back(CpuSeconds() - t0);
    started += o.event == MotionEventType::kStarted;
    ended += o.event == MotionEventType::kEnded;
    with_regions += !o.regions.empty();
  }

  // Baseline: difference with the previous frame and threshold, nothing else.
  cv::Mat diff, mask;
  long long baseline_changed = 0;
  const double b0 = CpuSeconds();
  for (int i = 1; i < frames; ++i) {
    cv::absdiff(video[i], video[i - 1], diff);
    cv::threshold(diff, mask, options.threshold, 255, cv::THRESH_BINARY);
    baseline_changed += cv::countNonZero(mask);
  }
  const double baseline_ms = (CpuSeconds() - b0) * 1e3 / (frames - 1);

  double total = 0;
  for (double t : per_frame) total += t;
  const double mean_ms = total * 1e3 / frames;
  std::sort(per_frame.begin(), per_frame.end());
  const double p50_ms = per_frame[frames / 2] * 1e3;
  const double p99_ms = per_frame[std::min(frames - 1, frames * 99 / 100)] * 1e3;
  const auto& stats = detector.stats();

  std::printf(
      "motion: %d frames %dx%d, %d started, %d ended, %d with regions, %llu shake-compensated\n",
      frames, kWidth, kHeight, started, ended, with_regions,
      static_cast<unsigned long long>(stats.shake_compensated));
  std::printf("motion: %.3f ms/frame cpu (%dx%d)\n", mean_ms, kWidth, kHeight);
  std::printf("motion: p50 %.3f ms, p99 %.3f ms cpu per frame\n", p50_ms, p99_ms);
  std::printf("motion: absdiff baseline %.3f ms/frame cpu (%lld changed px)\n", baseline_ms,
              baseline_changed);
  std::printf("motion: ratio vs absdiff baseline: %.1fx\n", mean_ms / baseline_ms);
  return 0;
}
