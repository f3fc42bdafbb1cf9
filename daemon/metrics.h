// Prometheus metrics: the text exposition format (version 0.0.4) and a latency histogram.
//
// MetricsText builds one scrape: declare a family once (HELP and TYPE), then add its samples;
// label values are escaped as the format requires. Histogram counts observations into fixed
// buckets with relaxed atomics: one writer thread (a camera's analytics worker) and any number
// of readers (the metrics server); a scrape may see a bucket one observation ahead of the sum,
// which Prometheus tolerates.
//
//   MetricsText m;
//   m.Family("skynet_camera_frames_total", "counter", "frames received by ingest");
//   m.Sample("skynet_camera_frames_total", {{"camera", "cam1"}}, 1234);
//   std::string body = m.Take();
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skynet::daemon {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Histogram;

// The counts of a Histogram at one moment: a plain value, copied into stats snapshots.
struct HistogramSnapshot {
  std::array<uint64_t, 12> buckets{};  // non-cumulative; the last: above the last bound
  double sum = 0;                      // seconds
};

class MetricsText {
 public:
  // `type`: counter, gauge or histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  // The _bucket (cumulative, le="..." and "+Inf"), _sum and _count samples of `h`.
  void HistogramSamples(std::string_view name, const MetricLabels& labels,
                        const HistogramSnapshot& h);
  std::string Take() { return std::move(out_); }

 private:
  void Line(std::string_view name, const MetricLabels& labels, std::string_view extra_label,
            std::string_view extra_value, double value);
  std::string out_;
};

// Observations in seconds; buckets from 0.5 ms to 1 s (analytics time per frame).
class Histogram {
 public:
  static constexpr std::array<double, 11> kBounds = {0.0005, 0.001, 0.002, 0.004, 0.008, 0.016,
                                                     0.032,  0.064, 0.128, 0.256, 1.0};
  void Observe(double seconds);
  // Non-cumulative count of bucket i (i == kBounds.size(): above the last bound).
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_us_.load(std::memory_order_relaxed) / 1e6; }
  HistogramSnapshot snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  static_assert(std::tuple_size_v<decltype(HistogramSnapshot::buckets)> == kBounds.size() + 1);
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace skynet::daemon
