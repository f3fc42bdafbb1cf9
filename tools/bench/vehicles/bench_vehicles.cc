// skynet-bench-vehicles: runs the classical vehicle analytics (ClassicalDetector + Tracker +
// TrafficRules + lifecycle/colour, i.e. VehicleAnalytics::Process) over synthetic 320x180 BGR
// traffic and prints its CPU time per frame, next to the MotionDetector alone (the baseline)
// measured in the same run. The target is under 3 ms per frame.
//
//   skynet-bench-vehicles [frames]      (default 2000)
//
// Frames are rendered before timing: a textured road, coloured cars with cast shadows in four
// lanes (two each way) in bursts of 20 s with 10 s gaps, sensor noise. OpenCV on one thread, as
// each camera runs on its analytics worker.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "pipeline/analytics/classical_detector.h"
#include "pipeline/analytics/motion_detector.h"
#include "pipeline/analytics/vehicle_analytics.h"
#include "pipeline/core/clock.h"

namespace {

using namespace skynet::analytics;

constexpr int kWidth = 320;
constexpr int kHeight = 180;
constexpr int64_t kFrameUs = 100'000;  // 10 fps

double CpuSeconds() { return skynet::ProcessCpuUs() * 1e-6; }

cv::Mat MakeRoad() {
  cv::RNG rng(42);
  cv::Mat road(kHeight, kWidth, CV_8UC3, cv::Scalar(105, 108, 110));
  for (int i = 0; i < 120; ++i) {
    const cv::Point p(rng.uniform(0, kWidth), rng.uniform(0, kHeight));
    const cv::Size s(rng.uniform(3, 30), rng.uniform(2, 12));
    const int g = rng.uniform(70, 150);
    cv::rectangle(road, cv::Rect(p, s), cv::Scalar(g, g + 3, g + 4), cv::FILLED);
  }
  cv::Mat fine(road.size(), CV_8UC3);
  rng.fill(fine, cv::RNG::UNIFORM, 0, 14);
  road += fine;
  for (int lane = 1; lane < 4; ++lane) {
    for (int x = 0; x < kWidth; x += 40) {
      cv::rectangle(road, cv::Rect(x, 50 + lane * 30, 20, 2), cv::Scalar(225, 225, 225),
                    cv::FILLED);
    }
  }
  return road;
}

// Left edge of lane `lane`'s car in frame `i`, or INT_MIN when the lane is empty then.
int CarX(int lane, int i) {
  const int speeds[4] = {7, 9, -8, -6};
  if (i % 300 >= 200) return INT_MIN;             // bursts: 20 s busy, 10 s empty
  if ((i / 150 + lane) % 3 == 0) return INT_MIN;  // lanes empty now and then
  const int period = kWidth + 160;
  int x = (i * speeds[lane] + lane * 97) % period;
  if (x < 0) x += period;
  return x - 80;
}

// Cars whose centre passes the middle of the frame between consecutive frames: the truth for
// the counting line.
int TruthCrossings(int frames) {
  int n = 0;
  for (int lane = 0; lane < 4; ++lane) {
    for (int i = 1; i < frames; ++i) {
      const int a = CarX(lane, i - 1), b = CarX(lane, i);
      if (a == INT_MIN || b == INT_MIN || std::abs(a - b) > 20) continue;
      n += (a + 28 < kWidth / 2) != (b + 28 < kWidth / 2);
    }
  }
  return n;
}

cv::Mat RenderFrame(const cv::Mat& road, int i) {
  cv::Mat frame = road.clone();
  const cv::Scalar colours[4] = {{35, 30, 190}, {230, 232, 235}, {170, 70, 25}, {40, 200, 230}};
  for (int lane = 0; lane < 4; ++lane) {
    const int x = CarX(lane, i);
    if (x == INT_MIN) continue;
    const cv::Rect body(x, 56 + lane * 30, 56, 22);
    const cv::Rect shadow =
        cv::Rect(body.x + 6, body.br().y, body.width, 6) & cv::Rect(0, 0, kWidth, kHeight);
    if (shadow.area() > 0) frame(shadow).convertTo(frame(shadow), -1, 0.6);
    cv::rectangle(frame, body, colours[lane], cv::FILLED);
    cv::rectangle(frame, cv::Rect(body.x + 14, body.y + 4, 28, 7), cv::Scalar(35, 30, 30),
                  cv::FILLED);
  }
  cv::Mat noise(frame.size(), CV_16SC3);
  cv::RNG rng(1000 + i);
  rng.fill(noise, cv::RNG::NORMAL, 0, 2);
  cv::Mat wide;
  frame.convertTo(wide, CV_16SC3);
  wide += noise;
  wide.convertTo(frame, CV_8UC3);
  return frame;
}

VehicleAnalyticsOptions Options() {
  VehicleAnalyticsOptions o;
  CalibrationConfig c;  // straight down, 20 px per metre
  c.image_points = {cv::Point2f(0, 0), {1, 0}, {1, 1}, {0, 1}};
  c.ground_points = {cv::Point2f(0, 0), {16, 0}, {16, 9}, {0, 9}};
  o.calibration = c;
  o.rules.lines.push_back({"count", {0.5f, 1.f}, {0.5f, 0.f}});
  const char* ids[4] = {"e1", "e2", "w1", "w2"};
  for (int lane = 0; lane < 4; ++lane) {
    const float y0 = (50.f + lane * 30) / kHeight, y1 = (80.f + lane * 30) / kHeight;
    o.rules.lanes.push_back({ids[lane],
                             {{0.f, y0}, {1.f, y0}, {1.f, y1}, {0.f, y1}},
                             lane < 2 ? cv::Point2f(1, 0) : cv::Point2f(-1, 0),
                             50.f});
  }
  o.rules.zones.push_back({"box", {{0.3f, 0.3f}, {0.7f, 0.3f}, {0.7f, 0.9f}, {0.3f, 0.9f}}});
  o.rules.stats_interval_ms = 30000;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const int frames = argc > 1 ? std::max(10, std::atoi(argv[1])) : 2000;
  cv::setNumThreads(1);
  const cv::Mat road = MakeRoad();
  std::vector<cv::Mat> video;
  video.reserve(frames);
  for (int i = 0; i < frames; ++i) video.push_back(RenderFrame(road, i));

  // Baseline: the motion detector alone.
  auto motion_only = std::move(MotionDetector::Create(MotionOptions{})).value();
  for (int i = 0; i < 20; ++i) (void)motion_only->Process(video[i], i * kFrameUs);
  motion_only->Reset();
  double motion_total = 0;
  for (int i = 0; i < frames; ++i) {
    const double t0 = CpuSeconds();
    (void)motion_only->Process(video[i], (1000 + i) * kFrameUs);
    motion_total += CpuSeconds() - t0;
  }
  const double motion_ms = motion_total * 1e3 / frames;

  // Vehicle analytics on the motion detector's observations (the motion time is not counted).
  auto motion = std::move(MotionDetector::Create(MotionOptions{})).value();
  auto detector = std::move(ClassicalDetector::Create({})).value();
  auto created = VehicleAnalytics::Create(Options(), detector.get());
  if (!created.ok()) {
    std::fprintf(stderr, "vehicles: %s\n", created.status().ToString().c_str());
    return 1;
  }
  VehicleAnalytics& analytics = **created;
  std::vector<double> per_frame;
  per_frame.reserve(frames);
  int crossings = 0, rule_events = 0, wrong_way = 0;
  for (int i = 0; i < frames; ++i) {
    const int64_t t = (1000 + i) * kFrameUs;
    const MotionObservation m = motion->Process(video[i], t);
    const double t0 = CpuSeconds();
    const VehicleObservation o = analytics.Process(video[i], m, t);
    per_frame.push_back(CpuSeconds() - t0);
    rule_events += static_cast<int>(o.rule_events.size());
    for (const RuleEvent& e : o.rule_events) {
      crossings += e.type == RuleEventType::kLineCrossed;
      wrong_way += e.type == RuleEventType::kWrongWay;
    }
  }
  double total = 0;
  for (double t : per_frame) total += t;
  const double mean_ms = total * 1e3 / frames;
  std::sort(per_frame.begin(), per_frame.end());
  const double p50_ms = per_frame[frames / 2] * 1e3;
  const double p99_ms = per_frame[std::min(frames - 1, frames * 99 / 100)] * 1e3;
  const VehicleAnalyticsStats& s = analytics.stats();

  std::printf(
      "vehicles: %d frames %dx%d, %llu tracks, %d line crossings, %d wrong-way, %d rule events\n",
      frames, kWidth, kHeight, static_cast<unsigned long long>(s.tracks_started), crossings,
      wrong_way, rule_events);
  std::printf("vehicles: line count %d of %d true crossings\n", crossings, TruthCrossings(frames));
  std::printf("vehicles: classical+tracker+rules %.3f ms/frame cpu (p50 %.3f, p99 %.3f)\n", mean_ms,
              p50_ms, p99_ms);
  std::printf("vehicles: motion detector alone (baseline) %.3f ms/frame cpu\n", motion_ms);
  std::printf("vehicles: ratio vs motion baseline: %.1fx\n", mean_ms / motion_ms);
  std::printf("vehicles: target < 3 ms/frame: %s\n", mean_ms < 3.0 ? "met" : "MISSED");
  return 0;
}
