#include "pipeline/analytics/video_quality.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

namespace skynet::analytics {
namespace {

constexpr int kFileVersion = 1;

// What one sample measures; the reference keeps the same measures, averaged.
struct Measures {
  double black_share = 0;
  double saturated_share = 0;
  double range = 1;                // p95 - p5, levels (at least 1)
  double contrast = 0;             // (p95 - p5) / (p95 + p5)
  double edge = 0;                 // mean |Laplacian| / range
  double chroma = 0;               // grey-world distance from neutral
  double noise = 0;                // noise sigma estimate, levels
  double stripe = 0;               // strongest periodic row/column amplitude / range
  std::vector<double> cell_edge;   // per grid cell: mean |Laplacian| / range
  std::vector<double> cell_std;    // per grid cell: standard deviation / range
  std::vector<bool> cell_clipped;  // per grid cell: mean black or saturated (exposure, not cover)
  std::vector<double> cell_mean;   // per grid cell: mean level
};

// A textured cell that went black while the rest of the view kept its brightness is under a dark
// cover over the lens (a hand, a bag): a cover over part of the view leaves the exposure checks
// below their enter. Dusk, an infrared switch or an exposure step darken every cell, and the
// reference follows slow changes. At least this share of the textured cells must still be lit
// to judge, and their median level must be at least kDarkCoverKeptLevel of the reference's.
constexpr double kDarkCoverMinLit = 0.25;
constexpr double kDarkCoverKeptLevel = 0.7;
// A cell counts as darkened by a cover only if the reference saw it at least this many times
// brighter than the black level.
constexpr double kDarkCoverLitFactor = 2.0;

// Cell (r, c) of the `o.grid_cols` x `o.grid_rows` grid over an image of `size`.
cv::Rect GridCell(int r, int c, cv::Size size, const VideoQualityOptions& o) {
  return cv::Rect(c * size.width / o.grid_cols, r * size.height / o.grid_rows,
                  (c + 1) * size.width / o.grid_cols - c * size.width / o.grid_cols,
                  (r + 1) * size.height / o.grid_rows - r * size.height / o.grid_rows);
}

double Clip01(double v) { return std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0; }

// Amplitude (levels) of the strongest periodic component of a profile, periods 2..n/4 samples:
// slow trends (sky to road) are removed first, so only repetition counts.
double PeriodicAmplitude(const cv::Mat& profile_in) {
  cv::Mat profile = profile_in.reshape(1, 1);
  profile.convertTo(profile, CV_32F);
  const int n = profile.cols;
  if (n < 16) return 0;
  cv::Mat trend;
  cv::blur(profile, trend, cv::Size(9, 1), cv::Point(-1, -1), cv::BORDER_REFLECT);
  cv::Mat detail = profile - trend;
  cv::Mat spectrum;
  cv::dft(detail, spectrum, cv::DFT_COMPLEX_OUTPUT);
  double best = 0;
  for (int k = 4; k <= n / 2; ++k) {
    const cv::Vec2f c = spectrum.at<cv::Vec2f>(0, k);
    best = std::max(best, 2.0 * std::hypot(c[0], c[1]) / n);
  }
  return best;
}

Measures Measure(const cv::Mat& grey, const cv::Mat& colour, const VideoQualityOptions& o) {
  Measures m;
  const double area = double(grey.total());
  int hist[256] = {0};
  for (int y = 0; y < grey.rows; ++y) {
    const uint8_t* row = grey.ptr<uint8_t>(y);
    for (int x = 0; x < grey.cols; ++x) ++hist[row[x]];
  }
  double p5 = -1, p95 = -1, cumulative = 0, black = 0, saturated = 0;
  for (int v = 0; v < 256; ++v) {
    cumulative += hist[v];
    if (p5 < 0 && cumulative >= 0.05 * area) p5 = v;
    if (p95 < 0 && cumulative >= 0.95 * area) p95 = v;
    if (v <= o.black_level) black += hist[v];
    if (v >= o.saturated_level) saturated += hist[v];
  }
  m.black_share = black / area;
  m.saturated_share = saturated / area;
  m.range = std::max(1.0, p95 - p5);
  m.contrast = (p95 - p5) / std::max(1.0, p95 + p5);

  cv::Mat lap;
  cv::Laplacian(grey, lap, CV_16S, 1);
  lap = cv::abs(lap);
  m.edge = cv::mean(lap)[0] / m.range;
  m.cell_edge.resize(o.grid_cols * o.grid_rows);
  m.cell_std.resize(m.cell_edge.size());
  m.cell_clipped.resize(m.cell_edge.size());
  m.cell_mean.resize(m.cell_edge.size());
  for (int r = 0; r < o.grid_rows; ++r) {
    for (int c = 0; c < o.grid_cols; ++c) {
      const cv::Rect cell = GridCell(r, c, grey.size(), o);
      cv::Scalar mean, stddev;
      cv::meanStdDev(grey(cell), mean, stddev);
      m.cell_edge[r * o.grid_cols + c] = cv::mean(lap(cell))[0] / m.range;
      m.cell_std[r * o.grid_cols + c] = stddev[0] / m.range;
      m.cell_clipped[r * o.grid_cols + c] =
          mean[0] <= o.black_level || mean[0] >= o.saturated_level - 10;
      m.cell_mean[r * o.grid_cols + c] = mean[0];
    }
  }

  if (colour.channels() == 3) {
    const cv::Scalar bgr = cv::mean(colour);
    const double mean = (bgr[0] + bgr[1] + bgr[2]) / 3.0;
    if (mean > 1.0) {
      double sum = 0;
      for (int i = 0; i < 3; ++i) sum += std::pow(bgr[i] / mean - 1.0, 2);
      m.chroma = std::sqrt(sum / 3.0);
    }
  }

  // Immerkaer's estimate: the kernel cancels planes and straight edges, leaving mostly noise.
  static const cv::Mat kNoiseKernel = (cv::Mat_<float>(3, 3) << 1, -2, 1, -2, 4, -2, 1, -2, 1);
  cv::Mat response;
  cv::filter2D(grey, response, CV_32F, kNoiseKernel);
  m.noise = cv::mean(cv::abs(response))[0] * std::sqrt(CV_PI / 2.0) / 6.0;

  cv::Mat rows, cols;
  cv::reduce(grey, rows, 1, cv::REDUCE_AVG, CV_32F);  // one value per row: horizontal stripes
  cv::reduce(grey, cols, 0, cv::REDUCE_AVG, CV_32F);  // one value per column: vertical ones
  m.stripe = std::max(PeriodicAmplitude(rows), PeriodicAmplitude(cols)) / m.range;
  return m;
}

// Follows `current` with weight alpha (0 keeps `reference`).
// Per cell, the median of the warm-up samples' values (`samples`: one vector per sample). A
// vehicle passing near the camera while the view is learned (a bus's windows, or its plain
// side over the road's markings) is in a few samples only: a mean would keep its texture in the
// reference, and the plain road seen later would look like lost edges (a cover) for minutes.
std::vector<double> CellMedians(const std::vector<std::vector<double>>& samples) {
  std::vector<double> out(samples.empty() ? 0 : samples[0].size());
  std::vector<double> values;
  for (size_t i = 0; i < out.size(); ++i) {
    values.clear();
    for (const std::vector<double>& v : samples) values.push_back(v[i]);
    const size_t mid = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + mid, values.end());
    out[i] = values[mid];
  }
  return out;
}

void Blend(Measures& reference, const Measures& current, double alpha) {
  auto mix = [alpha](double& r, double c) { r += alpha * (c - r); };
  mix(reference.range, current.range);
  mix(reference.contrast, current.contrast);
  mix(reference.edge, current.edge);
  mix(reference.chroma, current.chroma);
  mix(reference.noise, current.noise);
  mix(reference.stripe, current.stripe);
  for (size_t i = 0; i < reference.cell_edge.size(); ++i) {
    mix(reference.cell_edge[i], current.cell_edge[i]);
    mix(reference.cell_std[i], current.cell_std[i]);
  }
  for (size_t i = 0; i < reference.cell_mean.size() && i < current.cell_mean.size(); ++i) {
    mix(reference.cell_mean[i], current.cell_mean[i]);
  }
}

cv::Mat Stretch(const cv::Mat& grey) {
  // ORB's FAST threshold is in levels: stretch the contrast so fog and dusk keep their corners.
  cv::Mat out;
  cv::normalize(grey, out, 0, 255, cv::NORM_MINMAX);
  return out;
}

// A change is pending from the first sample beyond the threshold towards the other state (>=
// enter from ok, <= leave from fault). It survives samples that fall back no further than the
// middle of enter and leave (a blur score hovering at enter, a cover's flicker), is cancelled by
// one beyond the middle, and happens once it has been pending for enter_ms (leave_ms) with the
// mean score of its samples beyond the threshold; a window whose mean fell short is dropped.
struct Hysteresis {
  QualityState state = QualityState::kLearning;
  int64_t since_us = 0;
  int64_t pending_since_us = -1;  // first sample beyond the threshold towards the other state
  double pending_sum = 0;         // sum and count of the scores since then
  int pending_samples = 0;

  void CancelPending() {
    pending_since_us = -1;
    pending_sum = 0;
    pending_samples = 0;
  }
};

bool UsesReference(QualityCheck c) {
  return c != QualityCheck::kFrozen && c != QualityCheck::kBlack && c != QualityCheck::kOverexposed;
}

}  // namespace

const char* QualityCheckName(QualityCheck check) {
  switch (check) {
    case QualityCheck::kFrozen:
      return "frozen";
    case QualityCheck::kBlack:
      return "black";
    case QualityCheck::kOverexposed:
      return "overexposed";
    case QualityCheck::kLowContrast:
      return "low_contrast";
    case QualityCheck::kBlur:
      return "blur";
    case QualityCheck::kOcclusion:
      return "occlusion";
    case QualityCheck::kMoved:
      return "moved";
    case QualityCheck::kColourCast:
      return "colour_cast";
    case QualityCheck::kNoise:
      return "noise";
    case QualityCheck::kStripes:
      return "stripes";
  }
  return "unknown";
}

QualityThresholds& ThresholdsFor(VideoQualityOptions& o, QualityCheck check) {
  switch (check) {
    case QualityCheck::kFrozen:
      return o.frozen;
    case QualityCheck::kBlack:
      return o.black;
    case QualityCheck::kOverexposed:
      return o.overexposed;
    case QualityCheck::kLowContrast:
      return o.low_contrast;
    case QualityCheck::kBlur:
      return o.blur;
    case QualityCheck::kOcclusion:
      return o.occlusion;
    case QualityCheck::kMoved:
      return o.moved;
    case QualityCheck::kColourCast:
      return o.colour_cast;
    case QualityCheck::kNoise:
      return o.noise;
    case QualityCheck::kStripes:
      return o.stripes;
  }
  return o.frozen;
}

const QualityThresholds& ThresholdsFor(const VideoQualityOptions& o, QualityCheck check) {
  return ThresholdsFor(const_cast<VideoQualityOptions&>(o), check);
}

const char* QualityStateName(QualityState state) {
  switch (state) {
    case QualityState::kLearning:
      return "learning";
    case QualityState::kOk:
      return "ok";
    case QualityState::kFault:
      return "fault";
  }
  return "unknown";
}

bool QualityObservation::Any(QualityState s) const {
  return std::any_of(checks.begin(), checks.end(),
                     [s](const QualityCheckStatus& c) { return c.state == s; });
}

struct VideoQualityMonitor::State {
  cv::Ptr<cv::ORB> orb;
  cv::BFMatcher matcher{cv::NORM_HAMMING, /*crossCheck=*/true};

  // Reference view.
  bool has_reference = false;
  cv::Mat reference_grey;
  std::vector<cv::KeyPoint> reference_keypoints;
  cv::Mat reference_descriptors;
  Measures reference;
  int64_t reference_image_us = 0;
  // Warm-up: running mean of the measures of the samples so far, and every sample's per-cell
  // measures (the reference takes their median: CellMedians).
  Measures warmup;
  int warmup_count = 0;
  std::vector<std::vector<double>> warmup_cell_edge, warmup_cell_std;

  // Previous sample.
  cv::Mat last_grey;
  Measures last_measures;
  bool has_last = false;
  int64_t last_us = 0;

  std::array<Hysteresis, kQualityCheckCount> hysteresis;
  std::array<float, kQualityCheckCount> scores{};
  std::vector<QualityChange> pending_changes;  // from AcceptCurrentView()

  void SetReferenceImage(const cv::Mat& grey, int64_t time_us) {
    reference_grey = grey.clone();
    reference_keypoints.clear();
    reference_descriptors.release();
    orb->detectAndCompute(Stretch(grey), cv::noArray(), reference_keypoints, reference_descriptors);
    reference_image_us = time_us;
    has_reference = true;
  }
};

VideoQualityMonitor::VideoQualityMonitor(const VideoQualityOptions& options)
    : options_(options), state_(std::make_unique<State>()) {
  state_->orb = cv::ORB::create(/*nfeatures=*/400, /*scaleFactor=*/1.2f, /*nlevels=*/4,
                                /*edgeThreshold=*/19, /*firstLevel=*/0, /*WTA_K=*/2,
                                cv::ORB::HARRIS_SCORE, /*patchSize=*/19, /*fastThreshold=*/12);
}

VideoQualityMonitor::~VideoQualityMonitor() = default;

Result<std::unique_ptr<VideoQualityMonitor>> VideoQualityMonitor::Create(
    const VideoQualityOptions& options) {
  SKYNET_RETURN_IF_ERROR(ValidateVideoQualityOptions(options));
  return std::unique_ptr<VideoQualityMonitor>(new VideoQualityMonitor(options));
}

bool VideoQualityMonitor::has_reference() const { return state_->has_reference; }

QualityObservation VideoQualityMonitor::Process(const cv::Mat& frame, int64_t time_us) {
  State& s = *state_;
  const VideoQualityOptions& o = options_;
  ++stats_.samples;
  QualityObservation obs;
  obs.changes = std::move(s.pending_changes);
  s.pending_changes.clear();
  auto fill = [&] {
    obs.reference_ready = s.has_reference;
    for (int i = 0; i < kQualityCheckCount; ++i) {
      obs.checks[i].state = s.hysteresis[i].state;
      obs.checks[i].since_us = s.hysteresis[i].since_us;
      obs.checks[i].score = s.scores[i];
    }
  };
  if (frame.empty() || frame.depth() != CV_8U || (frame.channels() != 1 && frame.channels() != 3)) {
    ++stats_.rejected_samples;
    fill();
    return obs;
  }
  try {
    const cv::Size work(
        o.work_width,
        std::max(16, int(std::lround(double(frame.rows) * o.work_width / frame.cols / 2)) * 2));
    cv::Mat colour, grey;
    cv::resize(frame, colour, work, 0, 0, cv::INTER_AREA);
    if (colour.channels() == 3) {
      cv::cvtColor(colour, grey, cv::COLOR_BGR2GRAY);
    } else {
      grey = colour;
    }
    if (s.has_reference && s.reference_grey.size() != work) {
      // Another resolution or aspect: the reference no longer applies; learn again.
      s.has_reference = false;
      s.warmup_count = 0;
    }
    if (s.has_last && s.last_grey.size() != work) s.has_last = false;

    const Measures m = Measure(grey, colour, o);
    std::array<double, kQualityCheckCount> score{};
    auto at = [&score](QualityCheck c) -> double& { return score[int(c)]; };

    // Frozen: equal to the previous sample everywhere, within noise of a re-encoded still.
    if (s.has_last) {
      cv::Mat diff;
      cv::absdiff(grey, s.last_grey, diff);
      cv::Mat a, b;
      const cv::Size blocks(std::max(1, work.width / 8), std::max(1, work.height / 8));
      cv::resize(grey, a, blocks, 0, 0, cv::INTER_AREA);
      cv::resize(s.last_grey, b, blocks, 0, 0, cv::INTER_AREA);
      cv::Mat block_diff;
      cv::absdiff(a, b, block_diff);
      double block_max = 0;
      cv::minMaxLoc(block_diff, nullptr, &block_max);
      at(QualityCheck::kFrozen) =
          cv::mean(diff)[0] < o.frozen_mean_diff && block_max <= o.frozen_block_diff ? 1 : 0;
    }
    at(QualityCheck::kBlack) = Clip01(m.black_share / o.black_fraction);
    at(QualityCheck::kOverexposed) = Clip01(m.saturated_share / o.saturated_fraction);
    const bool held = at(QualityCheck::kFrozen) >= o.frozen.enter ||
                      at(QualityCheck::kBlack) >= o.black.enter ||
                      at(QualityCheck::kOverexposed) >= o.overexposed.enter;
    if (held) ++stats_.held_samples;

    // Warm-up: the first usable samples average into the reference.
    bool reference_set_now = false;
    if (!s.has_reference && !held) {
      if (s.warmup_count == 0) {
        s.warmup = m;
        s.warmup_cell_edge.clear();
        s.warmup_cell_std.clear();
      }
      ++s.warmup_count;
      Blend(s.warmup, m, 1.0 / s.warmup_count);
      s.warmup_cell_edge.push_back(m.cell_edge);
      s.warmup_cell_std.push_back(m.cell_std);
      if (s.warmup_count >= o.warmup_samples) {
        s.reference = s.warmup;
        s.reference.cell_edge = CellMedians(s.warmup_cell_edge);
        s.reference.cell_std = CellMedians(s.warmup_cell_std);
        s.warmup_cell_edge.clear();
        s.warmup_cell_std.clear();
        s.SetReferenceImage(grey, time_us);
        ++stats_.reference_updates;
        reference_set_now = true;
      }
    }

    std::array<bool, kQualityCheckCount> evaluated{};
    // A black or blown-out picture is the same at every sample: the exposure check says what is
    // wrong, frozen keeps its state.
    evaluated[int(QualityCheck::kFrozen)] = s.has_last &&
                                            at(QualityCheck::kBlack) < o.black.enter &&
                                            at(QualityCheck::kOverexposed) < o.overexposed.enter;
    evaluated[int(QualityCheck::kBlack)] = true;
    evaluated[int(QualityCheck::kOverexposed)] = true;
    double displacement = -1;  // registration displacement, working pixels (-1: none)
    if (s.has_reference && !held) {
      const Measures& ref = s.reference;
      at(QualityCheck::kLowContrast) = Clip01(1.0 - m.contrast / std::max(1e-6, ref.contrast));
      at(QualityCheck::kBlur) = Clip01(1.0 - m.edge / std::max(1e-6, ref.edge));
      at(QualityCheck::kColourCast) = Clip01((m.chroma - ref.chroma) / o.cast_chroma);
      at(QualityCheck::kNoise) = Clip01((m.noise - ref.noise) / o.noise_sigma);
      at(QualityCheck::kStripes) = Clip01((m.stripe - ref.stripe) / o.stripe_amplitude);

      // Occlusion: textured reference cells covered (they became uniform, or black under a dark
      // cover), or that lost their edges while the rest of the view kept them.
      const size_t cells = m.cell_edge.size();
      std::vector<bool> textured(cells), covered(cells);
      std::vector<double> lit_levels;
      int textured_count = 0;
      const bool levels_known = ref.cell_mean.size() == cells;
      for (size_t i = 0; i < cells; ++i) {
        textured[i] = ref.cell_std[i] >= o.cell_textured_contrast;
        textured_count += textured[i];
        const double ref_mean = levels_known ? ref.cell_mean[i] : 0;
        if (textured[i] && !m.cell_clipped[i] && ref_mean > o.black_level) {
          lit_levels.push_back(m.cell_mean[i] / ref_mean);
        }
      }
      bool view_kept_level = false;
      if (!lit_levels.empty() && lit_levels.size() >= kDarkCoverMinLit * textured_count) {
        std::nth_element(lit_levels.begin(), lit_levels.begin() + lit_levels.size() / 2,
                         lit_levels.end());
        view_kept_level = lit_levels[lit_levels.size() / 2] >= kDarkCoverKeptLevel;
      }
      for (size_t i = 0; i < cells; ++i) {
        if (!textured[i]) continue;
        if (m.cell_clipped[i]) {
          // Black or blown out: the exposure checks' matter, unless it is a dark cover.
          covered[i] = levels_known && view_kept_level && m.cell_mean[i] <= o.black_level &&
                       ref.cell_mean[i] >= kDarkCoverLitFactor * o.black_level;
        } else {
          covered[i] = m.cell_std[i] < o.cell_uniform_contrast;
        }
      }
      // Edge ratios of the textured cells still showing something: blur is judged on them, a
      // cover's cells say nothing about focus.
      std::vector<double> ratios;
      for (size_t i = 0; i < cells; ++i) {
        if (textured[i] && !covered[i]) {
          ratios.push_back(m.cell_edge[i] / std::max(1e-6, ref.cell_edge[i]));
        }
      }
      if (textured_count > 0) {
        double median = 1;
        at(QualityCheck::kBlur) = 0;  // every textured cell covered: focus cannot be judged
        if (!ratios.empty()) {
          std::vector<double> sorted = ratios;
          std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
          median = sorted[sorted.size() / 2];
          // Blur is the loss of the median uncovered cell: a defocus takes every cell's edges,
          // a cover over part of the view only its own cells' (that is occlusion, below).
          at(QualityCheck::kBlur) = Clip01(1.0 - median);
        }
        // On a blurred view (blur at least at the level its fault clears) fine texture loses
        // more than the median cell: only covered cells are lost then.
        const bool blurred = at(QualityCheck::kBlur) >= o.blur.leave;
        int lost = 0, k = 0;
        for (size_t i = 0; i < cells; ++i) {
          if (!textured[i]) continue;
          if (covered[i]) {
            ++lost;
            continue;
          }
          const double ratio = ratios[k++];
          if (m.cell_clipped[i]) continue;  // blown out or black: the exposure checks' matter
          if (!blurred && ratio < o.cell_edge_ratio && ratio < 0.5 * median) ++lost;
        }
        at(QualityCheck::kOcclusion) = Clip01(double(lost) / textured_count / o.occluded_fraction);
        evaluated[int(QualityCheck::kOcclusion)] = true;
      }
      for (QualityCheck c :
           {QualityCheck::kLowContrast, QualityCheck::kBlur, QualityCheck::kColourCast,
            QualityCheck::kNoise, QualityCheck::kStripes}) {
        evaluated[int(c)] = true;
      }

      // Moved: register against the reference view (similarity transform, RANSAC).
      std::vector<cv::KeyPoint> keypoints;
      cv::Mat descriptors;
      s.orb->detectAndCompute(Stretch(grey), cv::noArray(), keypoints, descriptors);
      int inliers = 0;
      cv::Mat transform;
      if (!descriptors.empty() && !s.reference_descriptors.empty()) {
        std::vector<cv::DMatch> matches;
        s.matcher.match(s.reference_descriptors, descriptors, matches);
        std::vector<cv::Point2f> from, to;
        for (const cv::DMatch& d : matches) {
          from.push_back(s.reference_keypoints[d.queryIdx].pt);
          to.push_back(keypoints[d.trainIdx].pt);
        }
        if (from.size() >= 3) {
          std::vector<uchar> mask;
          transform = cv::estimateAffinePartial2D(from, to, mask, cv::RANSAC, 3.0);
          inliers = cv::countNonZero(mask);
        }
      }
      if (!transform.empty() && inliers >= o.min_inliers) {
        const std::vector<cv::Point2f> corners = {{0, 0},
                                                  {float(work.width), 0},
                                                  {0, float(work.height)},
                                                  {float(work.width), float(work.height)}};
        std::vector<cv::Point2f> moved;
        cv::transform(corners, moved, transform);
        displacement = 0;
        for (size_t i = 0; i < corners.size(); ++i) {
          displacement = std::max(displacement, double(cv::norm(moved[i] - corners[i])));
        }
        at(QualityCheck::kMoved) = Clip01(displacement / (o.moved_displacement * work.width));
        obs.shift = {float(transform.at<double>(0, 2)), float(transform.at<double>(1, 2))};
        obs.rotation_deg = float(
            std::atan2(transform.at<double>(1, 0), transform.at<double>(0, 0)) * 180.0 / CV_PI);
        evaluated[int(QualityCheck::kMoved)] = true;
        // A view registered away from the reference (beyond where a moved fault clears): its
        // cells show other parts of the scene than the reference's, so whether they lost their
        // edges says nothing about a cover (a knock's shifted borders looked like one).
        if (at(QualityCheck::kMoved) > o.moved.leave) {
          evaluated[int(QualityCheck::kOcclusion)] = false;
        }
      } else {
        ++stats_.registrations_failed;
        // A view already known to be moved that no longer registers is not judged for covers
        // either: its cells are not the reference's.
        if (s.hysteresis[int(QualityCheck::kMoved)].state == QualityState::kFault) {
          evaluated[int(QualityCheck::kOcclusion)] = false;
        }
        // No registration: on a sharp, unobstructed view that is another scene; otherwise the
        // cover or blur explains it and the aim is unknown (held). A view is doubtful from the
        // score at which its fault would clear: a growing defocus fails the registration before
        // its blur is raised.
        if (at(QualityCheck::kBlur) < o.blur.leave &&
            at(QualityCheck::kOcclusion) < o.occlusion.leave &&
            at(QualityCheck::kLowContrast) < o.low_contrast.leave) {
          at(QualityCheck::kMoved) = 1;
          evaluated[int(QualityCheck::kMoved)] = true;
        }
      }
    }

    // Hysteresis.
    for (int i = 0; i < kQualityCheckCount; ++i) {
      const QualityCheck check = QualityCheck(i);
      Hysteresis& h = s.hysteresis[i];
      obs.checks[i].held = !evaluated[i];
      if (!evaluated[i]) continue;
      s.scores[i] = float(score[i]);
      const QualityThresholds* t = &ThresholdsFor(o, check);
      auto change = [&](QualityState to) {
        obs.changes.push_back({check, h.state, to, float(score[i]), time_us});
        h.state = to;
        h.since_us = time_us;
        h.CancelPending();
      };
      if (h.state == QualityState::kLearning) change(QualityState::kOk);
      const bool from_ok = h.state == QualityState::kOk;
      // Signed so that "beyond" is >= in both directions.
      const double sign = from_ok ? 1 : -1;
      const double beyond = sign * score[i] - sign * (from_ok ? t->enter : t->leave);
      const double middle = sign * score[i] - sign * 0.5 * (t->enter + t->leave);
      if (h.pending_since_us < 0 ? beyond < 0 : middle < 0) {
        h.CancelPending();
        continue;
      }
      if (h.pending_since_us < 0) h.pending_since_us = time_us;
      h.pending_sum += score[i];
      ++h.pending_samples;
      const double mean = h.pending_sum / h.pending_samples;
      const bool mean_beyond = from_ok ? mean >= t->enter : mean <= t->leave;
      const int64_t needed_ms = from_ok ? t->enter_ms : t->leave_ms;
      if (std::max<int64_t>(0, time_us - h.pending_since_us) < needed_ms * 1000) continue;
      if (mean_beyond) {
        change(from_ok ? QualityState::kFault : QualityState::kOk);
      } else {
        // The window's mean fell short: judge a new one, from this sample if it is beyond the
        // threshold. (A score held between the middle and the threshold must not keep a change
        // pending for ever: its old samples would slow a real fault, and a pending change stops
        // the reference from following the scene.)
        h.CancelPending();
        if (beyond >= 0) {
          h.pending_since_us = time_us;
          h.pending_sum = score[i];
          h.pending_samples = 1;
        }
      }
    }

    // Follow the scene slowly while every check is OK and none is pending.
    const bool all_quiet =
        !held && s.has_reference && !reference_set_now &&
        std::all_of(s.hysteresis.begin(), s.hysteresis.end(), [](const Hysteresis& h) {
          return h.state == QualityState::kOk && h.pending_since_us < 0;
        });
    if (all_quiet && s.has_last) {
      const double dt_ms = std::max<double>(0, time_us - s.last_us) / 1000.0;
      Blend(s.reference, m, std::min(1.0, dt_ms / o.reference_adapt_ms));
      if (displacement >= 0 && displacement <= o.reference_refresh_max_shift * work.width &&
          time_us - s.reference_image_us >= int64_t(o.reference_refresh_ms) * 1000) {
        s.SetReferenceImage(grey, time_us);
        ++stats_.reference_updates;
        reference_set_now = true;
      }
    }
    obs.reference_updated = reference_set_now;
    s.last_grey = grey.clone();
    s.last_measures = m;
    s.has_last = true;
    s.last_us = time_us;
  } catch (const cv::Exception&) {
    ++stats_.rejected_samples;
  }
  fill();
  return obs;
}

Status VideoQualityMonitor::AcceptCurrentView() {
  State& s = *state_;
  if (!s.has_last) return Status::Unavailable("no sample yet: nothing to accept as reference");
  try {
    s.reference = s.last_measures;
    s.SetReferenceImage(s.last_grey, s.last_us);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("accepting the view failed: ") + e.what());
  }
  ++stats_.reference_updates;
  for (int i = 0; i < kQualityCheckCount; ++i) {
    Hysteresis& h = s.hysteresis[i];
    if (!UsesReference(QualityCheck(i)) || h.state != QualityState::kFault) continue;
    s.pending_changes.push_back(
        {QualityCheck(i), h.state, QualityState::kOk, s.scores[i], s.last_us});
    h.state = QualityState::kOk;
    h.since_us = s.last_us;
    h.CancelPending();
  }
  return Status::Ok();
}

Status VideoQualityMonitor::SaveReference(const std::string& path) const {
  const State& s = *state_;
  if (!s.has_reference) return Status::Unavailable("no reference view learned yet");
  try {
    cv::FileStorage fs(path, cv::FileStorage::WRITE);
    if (!fs.isOpened()) return Status::IoError(path + ": cannot write the reference view");
    const Measures& r = s.reference;
    fs << "version" << kFileVersion << "grid_cols" << options_.grid_cols << "grid_rows"
       << options_.grid_rows << "image" << s.reference_grey << "range" << r.range << "contrast"
       << r.contrast << "edge" << r.edge << "chroma" << r.chroma << "noise" << r.noise << "stripe"
       << r.stripe << "cell_edge" << r.cell_edge << "cell_std" << r.cell_std << "cell_mean"
       << r.cell_mean;
    fs.release();
  } catch (const cv::Exception& e) {
    return Status::IoError(path + ": " + e.what());
  }
  return Status::Ok();
}

Status VideoQualityMonitor::LoadReference(const std::string& path) {
  State& s = *state_;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::NotFound(path + ": no file");
  Measures r;
  cv::Mat image;
  try {
    cv::FileStorage fs(path, cv::FileStorage::READ);
    if (!fs.isOpened()) return Status::IoError(path + ": cannot read the reference view");
    int version = 0, cols = 0, rows = 0;
    fs["version"] >> version;
    fs["grid_cols"] >> cols;
    fs["grid_rows"] >> rows;
    if (version != kFileVersion) {
      return Status::InvalidArgument(path + ": not a reference view of version " +
                                     std::to_string(kFileVersion));
    }
    fs["image"] >> image;
    fs["range"] >> r.range;
    fs["contrast"] >> r.contrast;
    fs["edge"] >> r.edge;
    fs["chroma"] >> r.chroma;
    fs["noise"] >> r.noise;
    fs["stripe"] >> r.stripe;
    fs["cell_edge"] >> r.cell_edge;
    fs["cell_std"] >> r.cell_std;
    fs["cell_mean"] >> r.cell_mean;  // absent in files written before it was kept
    const size_t cells = size_t(options_.grid_cols) * options_.grid_rows;
    if (cols != options_.grid_cols || rows != options_.grid_rows || image.type() != CV_8UC1 ||
        image.cols != options_.work_width || r.cell_edge.size() != cells ||
        r.cell_std.size() != cells) {
      return Status::InvalidArgument(path + ": reference of another working size or grid");
    }
    // A file without the levels: measure them on its image (the reference image is grey).
    if (r.cell_mean.size() != cells) r.cell_mean = Measure(image, image, options_).cell_mean;
  } catch (const cv::Exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
  s.reference = std::move(r);
  s.SetReferenceImage(image, s.last_us);
  ++stats_.reference_updates;
  return Status::Ok();
}

}  // namespace skynet::analytics
