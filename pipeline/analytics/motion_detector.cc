#include "pipeline/analytics/motion_detector.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace skynet::analytics {
namespace {

// Auto-contrast never lowers the day threshold below this fraction of it: below that, sensor
// noise in a flat scene would count as motion.
constexpr double kMinContrastScale = 0.5;
// Day resumes this many levels above night_brightness, so dusk does not flap between profiles.
constexpr int kNightHysteresis = 10;
// Phase-correlation peaks weaker than this are not trusted (flat or changing scene). The peak
// of a perfect match is 1; sensor noise and vehicles lower it.
constexpr double kMinShakeResponse = 0.05;
// Shake is estimated on a power-of-two patch of a reduced frame: non-power-of-two DFTs are many
// times slower in OpenCV's own FFT, and 128x64 is plenty for a global shift.
const cv::Size kShakePatch(128, 64);
// The background's spectrum is recomputed every this many frames (it changes slowly).
constexpr int kSpectrumRefreshFrames = 8;
// A region is a ghost (an object that has left, still in the background) when the background
// has this many times more edge along the region's outline than the frame has.
constexpr double kGhostEdgeRatio = 2.0;
// ...and the background's edge there averages at least this (levels), i.e. there is an outline.
constexpr double kMinGhostEdge = 12.0;
// Below this changed fraction there is no shake worth estimating.
constexpr float kShakeCheckFraction = 0.004f;
// A brightness step larger than max_brightness_step is followed at once when re-lighting the
// background leaves fewer than 1/this of the changed pixels changed.
constexpr int kRelightGain = 3;
// A gap between frames longer than this adapts the background as if it were this long.
constexpr int64_t kMaxFrameGapUs = 2'000'000;

// Fraction of the way the background moves towards the frame after `dt_us` with time constant
// `tau_ms` (exact for an exponential filter, so any frame rate gives the same behaviour).
double AdaptRate(int64_t dt_us, int tau_ms) {
  if (dt_us <= 0) return 0;
  return 1.0 - std::exp(-static_cast<double>(dt_us) / (1000.0 * tau_ms));
}

bool SupportedFrame(const cv::Mat& frame) {
  return !frame.empty() && frame.dims == 2 && frame.depth() == CV_8U &&
         (frame.channels() == 1 || frame.channels() == 3 || frame.channels() == 4);
}

}  // namespace

// Image buffers, profile and interval state. Member functions here rather than in the header
// keep the header short; all of it belongs to the one thread that calls Process().
struct MotionDetector::State {
  explicit State(const MotionOptions& o, MotionStats* s) : opt(o), stats(s) {}

  void Process(const cv::Mat& frame, int64_t time_us, MotionObservation* obs);
  void Initialise();
  void Seed(const cv::Mat& image);
  void InitialiseShake();
  // Reduces `image` (8U or 32F) to the phase-correlation patch, windowed, as float.
  void ShakePatch(const cv::Mat& image, cv::Mat& patch);
  cv::Point2d EstimateShift();
  void Align(const cv::Point2d& shift);
  // Fits frame = gain * background + offset over the unchanged pixels; false if unreliable.
  bool FitBrightness(const cv::Mat& cur, double* gain, double* offset) const;
  int ChangedPixels(const cv::Mat& cur, cv::Mat& mask);
  // Process()'s steps. Follows a small frame-wide brightness drift at once; returns whether a
  // larger one is a step candidate (its gain and offset in `gain`, `offset`).
  bool FollowBrightness(double* gain, double* offset);
  // Re-lights the background at once when the step's gain and offset explain most of the
  // `changed` pixels (a global change); updates `changed`.
  void Relight(double gain, double offset, int* changed, MotionObservation* obs);
  // Aligns the frame to the background when that explains more of it; `cur` becomes the aligned
  // frame and `changed` its changed pixels.
  void CompensateShake(const cv::Mat** cur, int* changed, MotionObservation* obs);
  void FindRegions(const cv::Mat& cur, MotionObservation* obs);
  bool IsGhost(const cv::Mat& cur, const cv::Rect& box) const;
  void Absorb(const cv::Mat& cur, const cv::Rect& box, int contour);
  void UpdateBackground(const cv::Mat& cur, int64_t dt_us);
  void UpdateProfile();
  void Advance(bool motion, float fraction, int64_t time_us, MotionObservation* obs);
  void EndInterval(MotionObservation* obs);
  void FillInterval(MotionObservation* obs) const;

  const MotionOptions& opt;
  MotionStats* stats;

  // Per frame size; rebuilt by Initialise().
  cv::Size size;
  cv::Mat ignore;  // 255 where a mask polygon covers the pixel
  cv::Mat valid;   // 255 where the pixel is analysed
  int valid_count = 0;
  int shake_levels = 0;  // pyrDown steps before cutting the shake patch; -1: no estimation
  cv::Rect shake_roi;    // the patch in the reduced frame
  cv::Mat hanning;       // window over the patch
  cv::Mat bg_spectrum;   // DFT of the background's patch
  int frames_since_spectrum = 0;
  cv::Mat erode_kernel, dilate_kernel;
  cv::Mat ghost;  // scratch: the filled contour of a ghost, zero outside Absorb()

  // Background: float for slow adaptation, 8-bit copy for differencing.
  cv::Mat bg, bg8;

  // Per-frame scratch, kept to avoid allocations.
  cv::Mat gray, aligned, relit, diff, fg, fg_aligned, eroded, blobs, not_blobs;
  std::array<cv::Mat, 4> pyramid;
  cv::Mat patch, cur_spectrum, cross, correlation;
  std::vector<std::vector<cv::Point>> contours;
  std::vector<std::pair<int, MotionRegion>> candidates;  // changed pixels, region

  bool initialised = false;
  int64_t last_time_us = 0;  // the caller's time of the previous frame
  // The detector's own clock: the caller's time, except that it never runs backwards (capture
  // times may be wall-clock and jump back with NTP). Interval timers run on it.
  int64_t clock_us = 0;

  // Profile, refreshed from the background after each frame.
  bool night = false;
  int threshold = 25;
  int bg_p5 = 0, bg_p95 = 255;  // 5th and 95th percentile levels of the background
  double min_area_px = 0;

  // Interval state.
  bool active = false;
  uint64_t last_id = 0;
  uint64_t motion_id = 0;
  int run_length = 0;        // consecutive frames with motion (confirmation, while not active)
  int64_t run_start_us = 0;  // caller's time
  int64_t run_start_clock = 0;
  float run_peak = 0;
  int64_t started_at_us = 0;  // caller's time
  int64_t started_clock = 0;
  int64_t last_motion_clock = 0;
  int64_t last_update_clock = 0;
  float peak = 0;
};

Result<std::unique_ptr<MotionDetector>> MotionDetector::Create(const MotionOptions& options) {
  Status st = ValidateMotionOptions(options);
  if (!st.ok()) return st;
  return std::unique_ptr<MotionDetector>(new MotionDetector(options));
}

MotionDetector::MotionDetector(const MotionOptions& options)
    : options_(options), state_(std::make_unique<State>(options_, &stats_)) {}

MotionDetector::~MotionDetector() = default;

void MotionDetector::Reset() { state_->initialised = false; }

MotionObservation MotionDetector::Close() {
  MotionObservation obs;
  if (state_->active) state_->EndInterval(&obs);
  return obs;
}

MotionObservation MotionDetector::Process(const cv::Mat& frame, int64_t time_us) {
  MotionObservation obs;
  ++stats_.frames;
  if (!SupportedFrame(frame)) {
    ++stats_.rejected_frames;
    state_->FillInterval(&obs);
    return obs;
  }
  try {
    state_->Process(frame, time_us, &obs);
  } catch (const cv::Exception&) {
    // Not expected with a supported frame; a broken frame must not take the worker down.
    ++stats_.rejected_frames;
    state_->initialised = false;
    obs = MotionObservation{};
    state_->FillInterval(&obs);
  }
  return obs;
}

void MotionDetector::State::Process(const cv::Mat& frame, int64_t time_us, MotionObservation* obs) {
  // Copy even a gray frame: `gray` must never alias the caller's buffer, or the next cvtColor
  // would write into it.
  if (frame.channels() == 3) {
    cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
  } else if (frame.channels() == 4) {
    cv::cvtColor(frame, gray, cv::COLOR_BGRA2GRAY);
  } else {
    frame.copyTo(gray);
  }

  if (!initialised || gray.size() != size) {
    if (gray.size() != size) {
      size = gray.size();
      Initialise();
    }
    Seed(gray);
    UpdateProfile();
    initialised = true;
    last_time_us = time_us;
    ++stats->reinitialisations;
    if (active) EndInterval(obs);
    run_length = 0;
    obs->night = night;
    FillInterval(obs);
    return;
  }

  const int64_t step_us = std::max<int64_t>(0, time_us - last_time_us);
  const int64_t dt_us = std::min(step_us, kMaxFrameGapUs);
  last_time_us = time_us;
  clock_us += step_us;
  obs->night = night;
  if (night) ++stats->night_frames;

  // Frame-wide brightness drift (auto-exposure, iris, clouds): move the whole background with
  // it, if the change is small; a large one is left to global-change suppression.
  double step_gain = 1, step_offset = 0;
  const bool step_candidate = FollowBrightness(&step_gain, &step_offset);

  // Shake: align the frame to the background, which stays in the camera's reference pose.
  // Pixels that the shift uncovers keep the background value, so they never count as changed.
  // The aligned frame is used only if it explains more of the frame than the raw one: a
  // spurious sub-pixel estimate on a sharp scene would otherwise light up every edge.
  const cv::Mat* cur = &gray;
  int changed = ChangedPixels(gray, fg);
  // A larger jump (auto-exposure step, a cloud's edge) that lights up only the bright or dark
  // parts stays under global_change_fraction and would otherwise be reported as motion until the
  // background caught up. If the fitted gain and offset explain most of the change, re-light the
  // background at once (a global change, reported as such) and look for motion in what remains.
  if (step_candidate && changed > kShakeCheckFraction * valid_count) {
    Relight(step_gain, step_offset, &changed, obs);
  }
  if (opt.shake_compensation && changed > kShakeCheckFraction * valid_count) {
    CompensateShake(&cur, &changed, obs);
  }
  const float fraction = valid_count > 0 ? static_cast<float>(changed) / valid_count : 0.f;
  obs->changed_fraction = fraction;

  if (fraction > opt.global_change_fraction) {
    // Light switch, iris, or the camera moved: start again from this frame.
    Seed(gray);
    obs->global_change = true;
    ++stats->global_changes;
    Advance(false, fraction, time_us, obs);
    return;
  }

  FindRegions(*cur, obs);
  UpdateBackground(*cur, dt_us);
  UpdateProfile();
  Advance(!obs->regions.empty(), fraction, time_us, obs);
}

bool MotionDetector::State::FollowBrightness(double* step_gain, double* step_offset) {
  if (opt.max_brightness_step <= 0) return false;
  double gain = 1, offset = 0;
  if (!FitBrightness(gray, &gain, &offset)) return false;
  const double at_lo = (gain - 1) * bg_p5 + offset, at_hi = (gain - 1) * bg_p95 + offset;
  const double largest = std::max(std::abs(at_lo), std::abs(at_hi));
  if (largest >= 0.25 && largest <= opt.max_brightness_step) {
    bg.convertTo(bg, CV_32F, gain, offset);
    bg.convertTo(bg8, CV_8U);
  } else if (largest > opt.max_brightness_step) {
    *step_gain = gain;
    *step_offset = offset;
    return true;
  }
  return false;
}

void MotionDetector::State::Relight(double gain, double offset, int* changed,
                                    MotionObservation* obs) {
  bg8.convertTo(relit, CV_8U, gain, offset);
  cv::absdiff(gray, relit, diff);
  cv::threshold(diff, fg_aligned, threshold, 255, cv::THRESH_BINARY);
  if (valid_count < size.area()) fg_aligned.setTo(0, ignore);
  if (cv::countNonZero(fg_aligned) * kRelightGain < *changed) {
    bg.convertTo(bg, CV_32F, gain, offset);
    bg.convertTo(bg8, CV_8U);
    bg_spectrum.release();
    *changed = ChangedPixels(gray, fg);
    obs->global_change = true;
    ++stats->global_changes;
    ++stats->exposure_steps;
  }
}

void MotionDetector::State::CompensateShake(const cv::Mat** cur, int* changed,
                                            MotionObservation* obs) {
  const cv::Point2d shift = EstimateShift();
  const double magnitude = std::hypot(shift.x, shift.y);
  if (magnitude > opt.min_shake_px && magnitude <= opt.max_shake_px) {
    Align(shift);
    const int changed_aligned = ChangedPixels(aligned, fg_aligned);
    if (changed_aligned < *changed) {
      *cur = &aligned;
      *changed = changed_aligned;
      std::swap(fg, fg_aligned);
      obs->camera_shift = cv::Point2f(static_cast<float>(shift.x), static_cast<float>(shift.y));
      ++stats->shake_compensated;
    }
  }
}

int MotionDetector::State::ChangedPixels(const cv::Mat& cur, cv::Mat& mask) {
  cv::absdiff(cur, bg8, diff);
  cv::threshold(diff, mask, threshold, 255, cv::THRESH_BINARY);
  if (valid_count < size.area()) mask.setTo(0, ignore);
  return cv::countNonZero(mask);
}

void MotionDetector::State::Initialise() {
  ignore = cv::Mat::zeros(size, CV_8U);
  std::vector<std::vector<cv::Point>> polygons;
  for (const auto& polygon : opt.masks) {
    std::vector<cv::Point> pts;
    for (const cv::Point2f& p : polygon) {
      pts.emplace_back(cvRound(p.x * size.width), cvRound(p.y * size.height));
    }
    polygons.push_back(std::move(pts));
  }
  if (!polygons.empty()) cv::fillPoly(ignore, polygons, cv::Scalar(255));
  cv::bitwise_not(ignore, valid);
  valid_count = cv::countNonZero(valid);

  InitialiseShake();
  ghost = cv::Mat::zeros(size, CV_8U);
  erode_kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3));
  const int d = 3 + 2 * opt.dilate_px;  // undoes the erosion, then dilates by dilate_px
  dilate_kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(d, d));
}

void MotionDetector::State::Seed(const cv::Mat& image) {
  image.convertTo(bg, CV_32F);
  image.copyTo(bg8);
  bg_spectrum.release();
}

void MotionDetector::State::InitialiseShake() {
  shake_levels = -1;
  bg_spectrum.release();
  if (size.width < kShakePatch.width || size.height < kShakePatch.height) return;
  // Halve while the patch still fits twice over, so it covers most of the frame.
  int levels = 0;
  cv::Size reduced = size;
  while (levels < static_cast<int>(pyramid.size()) && reduced.width / 2 >= kShakePatch.width &&
         reduced.height / 2 >= kShakePatch.height) {
    reduced = cv::Size((reduced.width + 1) / 2, (reduced.height + 1) / 2);
    ++levels;
  }
  shake_levels = levels;
  shake_roi =
      cv::Rect((reduced.width - kShakePatch.width) / 2, (reduced.height - kShakePatch.height) / 2,
               kShakePatch.width, kShakePatch.height);
  cv::createHanningWindow(hanning, kShakePatch, CV_32F);
}

void MotionDetector::State::ShakePatch(const cv::Mat& image, cv::Mat& out) {
  const cv::Mat* level = &image;
  for (int i = 0; i < shake_levels; ++i) {
    cv::pyrDown(*level, pyramid[i]);
    level = &pyramid[i];
  }
  (*level)(shake_roi).convertTo(out, CV_32F);
  cv::multiply(out, hanning, out);
}

cv::Point2d MotionDetector::State::EstimateShift() {
  if (shake_levels < 0) return {};
  if (bg_spectrum.empty() || ++frames_since_spectrum >= kSpectrumRefreshFrames) {
    ShakePatch(bg8, patch);
    cv::dft(patch, bg_spectrum, cv::DFT_COMPLEX_OUTPUT);
    frames_since_spectrum = 0;
  }
  ShakePatch(gray, patch);
  cv::dft(patch, cur_spectrum, cv::DFT_COMPLEX_OUTPUT);

  // Normalised cross-power spectrum: its inverse is a peak at the shift of the frame relative
  // to the background (cur(x) = bg(x - d) puts the peak at +d).
  cross.create(cur_spectrum.size(), CV_32FC2);
  for (int y = 0; y < cross.rows; ++y) {
    const cv::Vec2f* a = cur_spectrum.ptr<cv::Vec2f>(y);
    const cv::Vec2f* b = bg_spectrum.ptr<cv::Vec2f>(y);
    cv::Vec2f* c = cross.ptr<cv::Vec2f>(y);
    for (int x = 0; x < cross.cols; ++x) {
      const float re = a[x][0] * b[x][0] + a[x][1] * b[x][1];
      const float im = a[x][1] * b[x][0] - a[x][0] * b[x][1];
      const float mag = std::sqrt(re * re + im * im) + 1e-6f;
      c[x] = cv::Vec2f(re / mag, im / mag);
    }
  }
  cv::dft(cross, correlation, cv::DFT_INVERSE | cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);

  cv::Point peak;
  cv::minMaxLoc(correlation, nullptr, nullptr, nullptr, &peak);
  // Sub-pixel: centroid of the 3x3 neighbourhood (wrapping, as the correlation is circular).
  const int w = correlation.cols, h = correlation.rows;
  double sum = 0, sx = 0, sy = 0;
  for (int dy = -1; dy <= 1; ++dy) {
    for (int dx = -1; dx <= 1; ++dx) {
      const float v = correlation.at<float>((peak.y + dy + h) % h, (peak.x + dx + w) % w);
      if (v <= 0) continue;
      sum += v;
      sx += dx * v;
      sy += dy * v;
    }
  }
  if (sum < kMinShakeResponse) return {};
  double px = peak.x + sx / sum, py = peak.y + sy / sum;
  if (px > w / 2.0) px -= w;
  if (py > h / 2.0) py -= h;
  const double scale = static_cast<double>(1 << shake_levels);
  return {px * scale, py * scale};
}

void MotionDetector::State::Align(const cv::Point2d& shift) {
  // aligned(x) = gray(x + shift). getRectSubPix is several times faster than warpAffine here;
  // it replicates the border, so the strips the shift uncovers are then taken from the
  // background instead, where they count as unchanged.
  const cv::Point2f centre(static_cast<float>((size.width - 1) * 0.5 + shift.x),
                           static_cast<float>((size.height - 1) * 0.5 + shift.y));
  cv::getRectSubPix(gray, size, centre, aligned);
  const int bx = std::min(size.width, static_cast<int>(std::ceil(std::abs(shift.x))));
  const int by = std::min(size.height, static_cast<int>(std::ceil(std::abs(shift.y))));
  if (bx > 0) {
    const cv::Rect strip(shift.x > 0 ? size.width - bx : 0, 0, bx, size.height);
    bg8(strip).copyTo(aligned(strip));
  }
  if (by > 0) {
    const cv::Rect strip(0, shift.y > 0 ? size.height - by : 0, size.width, by);
    bg8(strip).copyTo(aligned(strip));
  }
}

bool MotionDetector::State::FitBrightness(const cv::Mat& cur, double* gain, double* offset) const {
  // On a quarter of the analysed pixels: the median of (frame - background) first, which
  // ignores vehicles as long as they cover less than half of the frame; then a least-squares
  // line through the pixels whose difference is near that median (the scene, not the vehicles).
  // A gain, not only an offset, because exposure changes scale dark and bright parts unequally.
  std::array<int, 511> hist{};
  int n = 0;
  for (int y = 0; y < size.height; y += 2) {
    const uint8_t* c = cur.ptr<uint8_t>(y);
    const uint8_t* b = bg8.ptr<uint8_t>(y);
    const uint8_t* v = valid.ptr<uint8_t>(y);
    for (int x = 0; x < size.width; x += 2) {
      if (v[x]) {
        ++hist[c[x] - b[x] + 255];
        ++n;
      }
    }
  }
  if (n < 16) return false;
  int median = 0;
  for (int i = 0, seen = 0; i < 511; ++i) {
    seen += hist[i];
    if (2 * seen >= n) {
      median = i - 255;
      break;
    }
  }
  const int window = std::max(8, threshold);
  double sb = 0, sc = 0, sbb = 0, sbc = 0;
  int m = 0;
  for (int y = 0; y < size.height; y += 2) {
    const uint8_t* c = cur.ptr<uint8_t>(y);
    const uint8_t* b = bg8.ptr<uint8_t>(y);
    const uint8_t* v = valid.ptr<uint8_t>(y);
    for (int x = 0; x < size.width; x += 2) {
      const int d = c[x] - b[x];
      if (!v[x] || d < median - window || d > median + window) continue;
      if (c[x] == 255 || c[x] == 0) continue;  // clipped: says nothing about the gain
      sb += b[x];
      sc += c[x];
      sbb += static_cast<double>(b[x]) * b[x];
      sbc += static_cast<double>(b[x]) * c[x];
      ++m;
    }
  }
  if (m < n / 4) return false;  // most of the frame changed some other way
  const double var = m * sbb - sb * sb;
  *gain = 1;
  // A flat background cannot tell gain from offset: follow the offset alone.
  if (var > 100.0 * m * m) *gain = std::clamp((m * sbc - sb * sc) / var, 0.8, 1.25);
  *offset = (sc - *gain * sb) / m;
  return true;
}

void MotionDetector::State::FindRegions(const cv::Mat& cur, MotionObservation* obs) {
  // Erosion drops speckle and the thin edges a sub-pixel shake leaves; the larger dilation
  // restores the blobs and joins the fragments of one vehicle.
  cv::erode(fg, eroded, erode_kernel);
  cv::dilate(eroded, blobs, dilate_kernel);
  cv::findContours(blobs, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  candidates.clear();
  for (int i = 0; i < static_cast<int>(contours.size()); ++i) {
    // The blob (dilated) groups the changed pixels; the region is judged by the changed pixels
    // themselves, so dilation does not let small specks pass the minimum area.
    const cv::Rect outer = cv::boundingRect(contours[i]) & cv::Rect(cv::Point(), size);
    if (outer.area() < min_area_px) continue;
    const cv::Rect inner = cv::boundingRect(fg(outer));  // non-zero pixels of the blob's box
    if (inner.area() == 0) continue;
    const cv::Rect box = inner + outer.tl();
    const int area = cv::countNonZero(fg(box));
    if (area < min_area_px) continue;
    if (IsGhost(cur, box)) {
      Absorb(cur, outer, i);
      ++stats->ghosts_absorbed;
      continue;
    }
    MotionRegion region;
    region.box = cv::Rect2f(
        static_cast<float>(box.x) / size.width, static_cast<float>(box.y) / size.height,
        static_cast<float>(box.width) / size.width, static_cast<float>(box.height) / size.height);
    region.fill = static_cast<float>(area) / box.area();
    candidates.emplace_back(area, region);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  const size_t n = std::min(candidates.size(), static_cast<size_t>(opt.max_regions));
  obs->regions.reserve(n);
  for (size_t i = 0; i < n; ++i) obs->regions.push_back(candidates[i].second);
}

bool MotionDetector::State::IsGhost(const cv::Mat& cur, const cv::Rect& box) const {
  // Compare edges along the changed pixels' outline: a vehicle that is there has its outline in
  // the frame; one that has left (started up in the background, or parked and gone) has it
  // only in the background. Central differences tolerate an outline off by a pixel.
  const int x0 = std::max(1, box.x), x1 = std::min(size.width - 1, box.x + box.width);
  const int y0 = std::max(1, box.y), y1 = std::min(size.height - 1, box.y + box.height);
  double edge_frame = 0, edge_bg = 0;
  int n = 0;
  for (int y = y0; y < y1; ++y) {
    const uint8_t* m = fg.ptr<uint8_t>(y);
    const uint8_t* up = fg.ptr<uint8_t>(y - 1);
    const uint8_t* down = fg.ptr<uint8_t>(y + 1);
    const uint8_t *c = cur.ptr<uint8_t>(y), *cu = cur.ptr<uint8_t>(y - 1),
                  *cd = cur.ptr<uint8_t>(y + 1);
    const uint8_t *b = bg8.ptr<uint8_t>(y), *bu = bg8.ptr<uint8_t>(y - 1),
                  *bd = bg8.ptr<uint8_t>(y + 1);
    for (int x = x0; x < x1; ++x) {
      if (!m[x] || (m[x - 1] && m[x + 1] && up[x] && down[x])) continue;  // not on the outline
      edge_frame += std::abs(c[x + 1] - c[x - 1]) + std::abs(cd[x] - cu[x]);
      edge_bg += std::abs(b[x + 1] - b[x - 1]) + std::abs(bd[x] - bu[x]);
      ++n;
    }
  }
  if (n < 8) return false;
  return edge_bg > kGhostEdgeRatio * edge_frame && edge_bg / n >= kMinGhostEdge;
}

void MotionDetector::State::Absorb(const cv::Mat& cur, const cv::Rect& box, int contour) {
  // The frame is the truth under a ghost: copy it into the background, and keep the blob out
  // of the slow foreground update below. Only inside this contour: the box may overlap others.
  cv::drawContours(ghost, contours, contour, cv::Scalar(255), cv::FILLED);
  cv::Mat blob = ghost(box);
  cur(box).copyTo(bg8(box), blob);
  for (int y = 0; y < box.height; ++y) {
    const uint8_t* m = blob.ptr<uint8_t>(y);
    const uint8_t* c = cur.ptr<uint8_t>(box.y + y) + box.x;
    float* b = bg.ptr<float>(box.y + y) + box.x;
    for (int x = 0; x < box.width; ++x) {
      if (m[x]) b[x] = c[x];
    }
  }
  blobs(box).setTo(0, blob);
  blob.setTo(0);
}

void MotionDetector::State::UpdateBackground(const cv::Mat& cur, int64_t dt_us) {
  // Selective update: pixels under a blob adapt far more slowly, so a vehicle waiting at a
  // light stays visible instead of fading into the background within seconds.
  const double rate = AdaptRate(dt_us, opt.background_adapt_ms);
  const double fg_rate = AdaptRate(dt_us, opt.foreground_adapt_ms);
  if (rate <= 0) return;
  cv::bitwise_not(blobs, not_blobs);
  cv::accumulateWeighted(cur, bg, rate, not_blobs);
  if (fg_rate > 0) cv::accumulateWeighted(cur, bg, fg_rate, blobs);
  bg.convertTo(bg8, CV_8U);
}

void MotionDetector::State::UpdateProfile() {
  // Brightness and contrast of the background (not the frame: headlights do not flip it).
  std::array<int, 256> hist{};
  int n = 0;
  double sum = 0;
  for (int y = 0; y < size.height; y += 2) {
    const uint8_t* b = bg8.ptr<uint8_t>(y);
    const uint8_t* v = valid.ptr<uint8_t>(y);
    for (int x = 0; x < size.width; x += 2) {
      if (v[x]) {
        ++hist[b[x]];
        sum += b[x];
        ++n;
      }
    }
  }
  const double frame_area = static_cast<double>(size.area());
  if (n == 0) {
    threshold = opt.threshold;
    min_area_px = opt.min_region_area * frame_area;
    return;
  }
  const double mean = sum / n;
  bg_p5 = 0;
  bg_p95 = 255;
  for (int i = 0, seen = 0; i < 256; ++i) {
    seen += hist[i];
    if (seen * 20 <= n) bg_p5 = i;
    if (seen * 20 >= n * 19) {
      bg_p95 = i;
      break;
    }
  }
  if (!night && mean < opt.night_brightness) {
    night = true;
  } else if (night && mean >= opt.night_brightness + kNightHysteresis) {
    night = false;
  }
  if (night) {
    // No auto-contrast at night: a dark scene is low-contrast by nature, and stretching it
    // would amplify sensor noise and glare.
    threshold = opt.night_threshold;
    min_area_px = opt.night_min_region_area * frame_area;
    return;
  }
  threshold = opt.threshold;
  min_area_px = opt.min_region_area * frame_area;
  if (opt.auto_contrast) {
    const double range = bg_p95 - bg_p5;
    const double scale = std::clamp(range / opt.contrast_reference_range, kMinContrastScale, 1.0);
    threshold = std::max(1, static_cast<int>(std::lround(opt.threshold * scale)));
  }
}

void MotionDetector::State::Advance(bool motion, float fraction, int64_t time_us,
                                    MotionObservation* obs) {
  if (motion) {
    if (run_length == 0) {
      run_start_us = time_us;
      run_start_clock = clock_us;
      run_peak = 0;
    }
    ++run_length;
    run_peak = std::max(run_peak, fraction);
    last_motion_clock = clock_us;
    if (active) peak = std::max(peak, fraction);
  } else if (!active) {
    run_length = 0;
  }

  if (!active) {
    if (motion && run_length >= opt.start_frames) {
      active = true;
      motion_id = ++last_id;
      started_at_us = run_start_us;
      started_clock = run_start_clock;
      peak = run_peak;
      last_update_clock = clock_us;
      obs->event = MotionEventType::kStarted;
    }
  } else if (motion) {
    if (clock_us - last_update_clock >= int64_t{opt.update_interval_ms} * 1000) {
      last_update_clock = clock_us;
      obs->event = MotionEventType::kUpdated;
    }
  } else if (clock_us - last_motion_clock >= int64_t{opt.end_quiet_ms} * 1000) {
    EndInterval(obs);
  }
  FillInterval(obs);
}

void MotionDetector::State::EndInterval(MotionObservation* obs) {
  obs->event = MotionEventType::kEnded;
  obs->motion_id = motion_id;
  obs->started_at_us = started_at_us;
  obs->duration_ms = (last_motion_clock - started_clock) / 1000;
  obs->peak_changed_fraction = peak;
  active = false;
  run_length = 0;
}

void MotionDetector::State::FillInterval(MotionObservation* obs) const {
  obs->active = active;
  if (active) {
    obs->motion_id = motion_id;
    obs->started_at_us = started_at_us;
    obs->peak_changed_fraction = peak;
  }
}

}  // namespace skynet::analytics
