#include "pipeline/analytics/classical_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "pipeline/analytics/blob_split.h"
#include "pipeline/analytics/classical_background.h"
#include "pipeline/analytics/ghost_heal.h"
#include "pipeline/analytics/motion_split.h"

namespace skynet::analytics {
namespace {

// Sizes in the options are for a 320 px wide frame; other detect sizes scale them.
constexpr double kReferenceWidth = 320.0;
// A gap between frames longer than this adapts the background as if it were this long.
constexpr int64_t kMaxFrameGapUs = 2'000'000;
// A blob this much inside a tracked vehicle's box is supported without motion.
constexpr float kTrackedSupportShare = 0.5f;
// A blob without motion support is supported when at least this share of its pixels changed
// (by more than the foreground threshold) since the previous frame: a ghost holds still.
constexpr double kOwnMotionShare = 0.3;
// Motion regions are grown by this many pixels before testing support (they are tight boxes).
constexpr int kSupportMarginPx = 3;
// Motion split: the largest apparent motion searched is this share of the frame width per
// second, at most kMotionMaxShare of the width between two frames; shifts are searched this many
// pixels apart (at 320 px), then refined to the pixel; two motions differ by at least this many
// pixels (at 320 px).
constexpr double kMotionWidthsPerSecond = 0.5;
constexpr double kMotionMaxShare = 0.15;
constexpr double kMotionShiftStepPx = 2;
constexpr double kMotionMinShiftPx = 3;
// Blobs lower than this (pixels at 320) are not split by motion: a band of headlight glare or its
// reflection, too thin to tell motions apart by rows.
constexpr double kMotionMinHeightPx = 24;

// The motion regions (normalised) as pixel boxes of a w x h frame, grown by kSupportMarginPx.
std::vector<cv::Rect> SupportBoxes(const std::vector<cv::Rect2f>& motion_regions, int w, int h) {
  std::vector<cv::Rect> support;
  for (const cv::Rect2f& r : motion_regions) {
    support.emplace_back(cvFloor(r.x * w) - kSupportMarginPx, cvFloor(r.y * h) - kSupportMarginPx,
                         cvCeil(r.width * w) + 2 * kSupportMarginPx,
                         cvCeil(r.height * h) + 2 * kSupportMarginPx);
  }
  return support;
}

// Stationary boxes (pixels) grown by 2 pixels and clipped to `full`; empty ones dropped.
std::vector<cv::Rect> FrozenBoxes(const std::vector<cv::Rect2f>& stationary, const cv::Rect& full) {
  std::vector<cv::Rect> frozen;
  for (const cv::Rect2f& r : stationary) {
    const cv::Rect p =
        cv::Rect(cvFloor(r.x) - 2, cvFloor(r.y) - 2, cvCeil(r.width) + 4, cvCeil(r.height) + 4) &
        full;
    if (p.area() > 0) frozen.push_back(p);
  }
  return frozen;
}

// Calibrated closing radii are capped at this share of the frame height: a cost bound (a near
// vehicle's holes are filled long before), not a scene size.
constexpr double kMaxCloseShare = 1.0 / 24;
// The narrowest and lowest road vehicle (a motorcycle seen from behind is about this wide and a
// car this high, metres): a blob is never cut into parts smaller than this.
constexpr double kMinVehicleWidthM = 1.0;
constexpr double kMinVehicleHeightM = 1.0;
// A vehicle's lamps are at most this high above the road (metres): what hangs lower in its blob
// at night is the lamps' light on the road.
constexpr double kMaxLampHeightM = 1.2;
// A camera looks along the road when the ground at the top of its frame is at least this many
// times as far as at the bottom (metres per pixel there; a pole camera: 10 m and 120 m or more,
// across the road 1-2).
constexpr double kAlongRoadDepth = 4.0;
// Ghosts of the first frame (SeedGhosts): a row's leave time is how long a car (this long and
// high, metres) at a slow road speed (m/s) covers a point of the road there: its length plus the
// road its height hides from the camera (the height times the ratio of the ground scales along
// and across the view, which grows with the distance); at most kMaxSeedHoldS (rows near the
// horizon, where the ratio has no bound). Its hold time is the same, at least kMinSeedHoldS.
constexpr double kSeedVehicleLengthM = 4.5;
constexpr double kSeedVehicleHeightM = 1.5;
constexpr double kSeedRoadSpeedMps = 8.0;
constexpr double kMinSeedHoldS = 2.0;
constexpr double kMaxSeedHoldS = 10.0;

}  // namespace

// The working state of one detector, and the steps of Detect() in the order they run.
struct ClassicalDetector::State {
  State(const ClassicalDetectorOptions& o, ClassicalDetectorStats* st) : options(o), stats(*st) {}

  const ClassicalDetectorOptions& options;
  ClassicalDetectorStats& stats;
  cv::Size size;
  bool initialised = false;
  int64_t last_time_us = 0;
  double scale = 1;  // frame width / reference width
  ClassicalBackground background;
  SeedGhosts seed_ghosts;
  cv::Mat aligned;  // the frame aligned to the steady pose, when the camera shook
  cv::Mat bgr, fg, raw, opened, closed;
  cv::Mat prev;             // the previous frame (BGR): what moved since is never healed
  cv::Mat grey, prev_grey;  // this and the previous frame, for the motion split
  cv::Mat prev_padded;
  int64_t prev_time_us = -1;
  MotionScratch motion;
  NeckScratch neck;
  cv::Mat labels, comp_stats, centroids;
  cv::Mat lamp;  // lamp pixels at night, set inside the blob being looked at (CutReflections)
  cv::Mat open_kernel, close_kernel;
  // Calibrated: rows [y0, y1) are closed with `kernel` (a radius of close_m at their ground
  // scale), for the calibration of homography `bands_for` at `bands_size`.
  struct CloseBand {
    int y0 = 0, y1 = 0, radius = 0;
    cv::Mat kernel;
  };
  std::vector<CloseBand> close_bands;
  cv::Matx33d bands_for;
  cv::Size bands_size;
  cv::Mat band_closed;
  const Calibration* calibration = nullptr;  // of the frame being analysed, or nullptr
  bool night = false;  // calibrated, looking along the road, at night (background.Night())
  const std::vector<std::vector<cv::Point>>* lanes = nullptr;  // of the frame, pixels
  const std::vector<std::vector<cv::Point>>* masks = nullptr;  // motion masks, pixels

  // Steps 1-5 on `frame` (checked: 8-bit, 1 or 3 channels). Never throws: an OpenCV error
  // counts as a rejected frame and re-seeds the background.
  std::vector<Detection> Detect(const cv::Mat& frame, const std::vector<cv::Rect2f>& motion_regions,
                                int64_t time_us, const SceneContext& context);
  // Takes `frame` into `bgr`. The first frame (or one of a new size) seeds the background and
  // returns false; else sets `dt_us` to the time since the last frame (capped) and returns true.
  bool Prepare(const cv::Mat& frame, int64_t time_us, int64_t* dt_us);
  // Per row: SeedGhosts' leave and hold times (calibrated; empty without a calibration: no
  // scale to tell a far vehicle from a ghost).
  std::vector<SeedGhosts::Row> SeedGhostRows() const;
  // Step 2: the blobs of `fg` (after an opening and a closing), each supported by a motion
  // region, a frozen box or a tracked box and no ghost, else healed into the background; blobs
  // analysed (Analysed()) of at least MinArea() pixels, split at their necks (step 3).
  std::vector<Blob> FindBlobs(const std::vector<cv::Rect>& support,
                              const std::vector<cv::Rect>& frozen,
                              const std::vector<cv::Rect2f>& tracked);
  // Closes `opened` into `closed`: by close_px (scaled) without a calibration, else by
  // close_m at each band of rows' ground scale.
  void Close();
  void UpdateCloseBands();
  // The smallest blob standing where `box` stands, pixels: min_blob_area_m2 at the ground
  // scale of its bottom centre (calibrated), else min_blob_area of the frame.
  double MinArea(const cv::Rect& box) const;
  // Whether a blob of `box` is analysed: always uncalibrated; calibrated, its bottom centre
  // must be on the ground within max_distance_m of the camera.
  bool Analysed(const cv::Rect& box) const;
  // Whether `small` is a fragment of `big` (step 4): within merge_gap_px (scaled) or, calibrated,
  // merge_gap_m where `big` stands.
  bool IsFragment(const Blob& big, const Blob& small, int gap_px) const;
  // The share of component `label` (of `labels`, in `box`) that changed by more than the
  // foreground threshold since the previous frame (0 without one).
  double MovedShare(int label, const cv::Rect& box) const;
  // Whether the centre of `box` lies in one of the camera's motion masks (SceneContext::masks).
  bool Masked(const cv::Rect& box) const;
  // Whether component `i` (box `box`, `area` pixels) is supported and not a ghost.
  bool Supported(int i, const cv::Rect& box, int area, const std::vector<cv::Rect>& support,
                 const std::vector<cv::Rect>& frozen, const std::vector<cv::Rect2f>& tracked);
  // Step 3b: cuts tails off vehicle blobs.
  void CutTails(std::vector<Blob>* blobs);
  // Step 3c: splits blobs whose rows move differently since the previous frame.
  void SplitMoving(int64_t time_us, int gap, std::vector<Blob>* blobs);
  // Step 3d: splits blobs of vehicles of adjacent lanes overlapping on screen.
  void CutStackedBlobs(std::vector<Blob>* blobs);
  // Step 3e (calibrated): cuts blobs larger than one vehicle standing where they stand, across
  // the road (vehicles side by side) and along it (one behind the other), at valleys.
  void CutByFootprint(std::vector<Blob>* blobs);
  // Whether the calibrated camera looks along the road: the ground at the top of the frame is
  // beyond the horizon or at least kAlongRoadDepth times as far as at the bottom (its ground
  // scale is). Headlights then
  // face the camera and their light lies on the road between the vehicle and the camera; seen
  // across the road it lies beside the vehicle and is all a dark vehicle shows.
  bool LooksAlongTheRoad() const;
  // Step 3f (calibrated): at night, cuts the reflections and beam hanging below a vehicle's
  // lamps off its blob (dropped when they are light, kept as a blob of their own otherwise).
  void CutReflections(std::vector<Blob>* blobs);
  // Blobs of at least MinArea() pixels as classified detections.
  std::vector<Detection> ToDetections(const std::vector<Blob>& blobs) const;
  // Step 5: adapts the background and keeps this frame as the previous one.
  void Finish(const std::vector<cv::Rect>& frozen, int64_t dt_us, int64_t time_us);
};

bool ClassicalDetector::State::Prepare(const cv::Mat& frame, int64_t time_us, int64_t* dt_us) {
  if (frame.channels() == 1) {
    cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
  } else {
    frame.copyTo(bgr);
  }
  if (!initialised || bgr.size() != size) {
    size = bgr.size();
    scale = size.width / kReferenceWidth;
    background.Seed(bgr);
    seed_ghosts.Seed(bgr, SeedGhostRows());
    fg = cv::Mat::zeros(size, CV_8U);
    const int c = std::max(0, static_cast<int>(std::lround(options.close_px * scale)));
    open_kernel = cv::getStructuringElement(cv::MORPH_RECT, {3, 3});
    close_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * c + 1, 2 * c + 1});
    initialised = true;
    last_time_us = time_us;
    prev_time_us = -1;
    ++stats.reinitialisations;
    return false;
  }
  *dt_us = std::min(std::max<int64_t>(0, time_us - last_time_us), kMaxFrameGapUs);
  last_time_us = time_us;
  return true;
}

std::vector<SeedGhosts::Row> ClassicalDetector::State::SeedGhostRows() const {
  std::vector<SeedGhosts::Row> rows;
  if (calibration == nullptr) return rows;
  const float cx = 0.5f * size.width;
  const cv::Point2f half_row(0, 0.5f);
  for (int y = 0; y < size.height; ++y) {
    const cv::Point2f p(cx, y + 0.5f);
    double s = kMaxSeedHoldS;
    const double across = calibration->OnGround(p) ? calibration->MetresPerPixelAt(p) : 0;
    if (across > 0 && calibration->OnGround(p - half_row)) {
      const double along = calibration->GroundDistance(p - half_row, p + half_row);
      s = std::min(kMaxSeedHoldS, (kSeedVehicleLengthM + kSeedVehicleHeightM * along / across) /
                                      kSeedRoadSpeedMps);
    }
    rows.push_back({static_cast<float>(s), static_cast<float>(std::max(s, kMinSeedHoldS))});
  }
  return rows;
}

bool ClassicalDetector::State::Supported(int i, const cv::Rect& box, int area,
                                         const std::vector<cv::Rect>& support,
                                         const std::vector<cv::Rect>& frozen,
                                         const std::vector<cv::Rect2f>& tracked) {
  bool supported = !options.require_motion_support;
  for (const cv::Rect& r : support) supported = supported || (r & box).area() > 0;
  for (const cv::Rect& r : frozen) supported = supported || (r & box).area() > 0;
  for (const cv::Rect2f& r : tracked) {
    const cv::Rect2f b(box);
    supported = supported || (r & b).area() >= kTrackedSupportShare * b.area();
  }
  // A blob that changed since the previous frame is moving even where the motion detector saw
  // nothing: it compares grey levels, and a red car on a grey road in the rain is nearly the
  // road's brightness. Healing it as a ghost would paste the car into the background, and the
  // car would be lost for as long as the background holds it.
  const bool moved =
      !supported && area >= 4 && !Masked(box) && MovedShare(i, box) >= kOwnMotionShare;
  supported = supported || moved;
  // A ghost has its edges in the background, not in the frame: heal it like an unsupported
  // blob, even where traffic nearby keeps the motion detector busy.
  if (supported && area >= 4 && IsGhost(labels, i, box, bgr, background.image(), open_kernel)) {
    supported = false;
    ++stats.ghosts;
  }
  if (moved && supported) ++stats.moved;
  return supported;
}

bool ClassicalDetector::State::Masked(const cv::Rect& box) const {
  if (masks == nullptr) return false;
  const cv::Point2f centre(box.x + box.width * 0.5f, box.y + box.height * 0.5f);
  for (const std::vector<cv::Point>& mask : *masks) {
    if (cv::pointPolygonTest(mask, centre, false) >= 0) return true;
  }
  return false;
}

double ClassicalDetector::State::MovedShare(int label, const cv::Rect& box) const {
  // No previous frame since the background was (re)seeded: nothing to compare with.
  if (prev_time_us < 0 || prev.size() != bgr.size() || prev.type() != bgr.type()) return 0;
  int changed = 0, pixels = 0;
  for (int y = box.y; y < box.br().y; ++y) {
    const int* l = labels.ptr<int>(y);
    const uint8_t* in = bgr.ptr<uint8_t>(y);
    const uint8_t* pr = prev.ptr<uint8_t>(y);
    for (int x = box.x; x < box.br().x; ++x) {
      if (l[x] != label) continue;
      ++pixels;
      const int d = std::abs(in[3 * x] - pr[3 * x]) + std::abs(in[3 * x + 1] - pr[3 * x + 1]) +
                    std::abs(in[3 * x + 2] - pr[3 * x + 2]);
      if (d > options.threshold) ++changed;
    }
  }
  return pixels > 0 ? static_cast<double>(changed) / pixels : 0;
}

std::vector<Blob> ClassicalDetector::State::FindBlobs(const std::vector<cv::Rect>& support,
                                                      const std::vector<cv::Rect>& frozen,
                                                      const std::vector<cv::Rect2f>& tracked) {
  // Opening drops speckle, closing fills the holes where a vehicle looks like road.
  cv::morphologyEx(fg, opened, cv::MORPH_OPEN, open_kernel);
  Close();
  opened.copyTo(fg);
  const int n = cv::connectedComponentsWithStats(closed, labels, comp_stats, centroids, 8, CV_32S);
  std::vector<Blob> blobs;
  for (int i = 1; i < n; ++i) {
    const int* st = comp_stats.ptr<int>(i);
    const cv::Rect box(st[cv::CC_STAT_LEFT], st[cv::CC_STAT_TOP], st[cv::CC_STAT_WIDTH],
                       st[cv::CC_STAT_HEIGHT]);
    const int area = st[cv::CC_STAT_AREA];
    if (!Supported(i, box, area, support, frozen, tracked)) {
      // A ghost or a shake edge: heal the background here at once.
      if (area >= 4) {
        ++stats.unsupported;
        HealBlob(labels, i, box, bgr, prev, options.threshold, &background, &raw, &fg);
      }
      continue;
    }
    if (!Analysed(box)) {
      ++stats.not_analysed;
      continue;
    }
    const double min_area = MinArea(box);
    if (area < min_area) continue;
    // 3. Split at necks: two cores left at a fraction of the largest inner distance.
    if (SplitAtNeck(labels, i, box, area, min_area, options.split_core_ratio, &neck, &blobs)) {
      ++stats.splits;
    } else {
      blobs.push_back({box, area, false});
    }
  }
  return blobs;
}

void ClassicalDetector::State::CutTails(std::vector<Blob>* blobs) {
  for (size_t b = 0, n_blobs = blobs->size(); b < n_blobs; ++b) {
    Blob tail;
    if (CutTail(closed, &(*blobs)[b], &tail)) {
      (*blobs)[b].cut = tail.cut = true;
      blobs->push_back(tail);
      ++stats.tails;
    }
  }
}

void ClassicalDetector::State::SplitMoving(int64_t time_us, int gap, std::vector<Blob>* blobs_in) {
  std::vector<Blob>& blobs = *blobs_in;
  const int w = size.width;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  const double gap_s = static_cast<double>(time_us - prev_time_us) / 1e6;
  const int max_shift = std::min<int>(std::lround(kMotionMaxShare * w),
                                      std::lround(kMotionWidthsPerSecond * w * gap_s));
  if (prev_grey.size() != grey.size() || prev_time_us < 0 || max_shift <= 0 || !(gap_s > 0)) {
    return;
  }
  const int step = std::max(1, static_cast<int>(std::lround(kMotionShiftStepPx * scale)));
  const int min_height = static_cast<int>(std::lround(kMotionMinHeightPx * scale));
  bool padded = false;
  for (size_t b = 0, n_blobs = blobs.size(); b < n_blobs; ++b) {
    if (blobs[b].area < 2 * MinArea(blobs[b].box) || blobs[b].box.height < min_height) continue;
    if (!padded) {
      cv::copyMakeBorder(prev_grey, prev_padded, 0, 0, max_shift, max_shift, cv::BORDER_REPLICATE);
      padded = true;
    }
    std::vector<Blob>& parts = motion.parts;
    parts.clear();
    if (SplitByMotion(grey, prev_padded, blobs[b].box, fg(blobs[b].box), max_shift, step,
                      kMotionMinShiftPx * scale, gap, open_kernel, &motion, &parts)) {
      ++stats.motion_cuts;
      blobs[b] = parts[0];
      blobs.insert(blobs.end(), parts.begin() + 1, parts.end());
    }
  }
}

void ClassicalDetector::State::CutStackedBlobs(std::vector<Blob>* blobs_in) {
  std::vector<Blob>& blobs = *blobs_in;
  for (size_t b = 0, n_blobs = blobs.size(); b < n_blobs; ++b) {
    if (blobs[b].cut || blobs[b].area < 2 * MinArea(blobs[b].box)) continue;
    Blob lower;
    const bool too_tall =
        calibration != nullptr &&
        calibration->FootprintOf(cv::Rect2f(blobs[b].box)).height_m >= kStackMinHeightM;
    if (CutStacked(closed, too_tall, &blobs[b], &lower)) {
      blobs[b].cut = lower.cut = true;
      blobs.push_back(lower);
      ++stats.stacked;
    }
  }
}

void ClassicalDetector::State::CutByFootprint(std::vector<Blob>* blobs_in) {
  if (calibration == nullptr) return;
  std::vector<Blob>& blobs = *blobs_in;
  // Pixels per metre at the box's bottom centre; a box not standing on the ground is never cut.
  auto range = [&](const cv::Rect& box, double min_m, double max_m) {
    const cv::Point2f foot = BottomCentre(cv::Rect2f(box));
    const double mpp = calibration->OnGround(foot) ? calibration->MetresPerPixelAt(foot) : 0;
    if (!(mpp > 0))
      return cv::Vec2i(std::numeric_limits<int>::max() / 2, std::numeric_limits<int>::max() / 2);
    return cv::Vec2i(static_cast<int>(std::lround(min_m / mpp)),
                     static_cast<int>(std::lround(max_m / mpp)));
  };
  const VehicleColumns columns = [&](const cv::Rect& box) {
    return range(box, kMinVehicleWidthM, options.max_vehicle_width_m);
  };
  const VehicleRows rows = [&](const cv::Rect& box) {
    return range(box, kMinVehicleHeightM, options.max_vehicle_height_m);
  };
  // The lane of the ground point at a pixel (the first lane holding it), -1 outside every lane.
  const LaneAt lane_at = [&](cv::Point pixel) {
    for (size_t i = 0; i < lanes->size(); ++i) {
      if (cv::pointPolygonTest((*lanes)[i], cv::Point2f(pixel), false) >= 0) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  std::vector<Blob> parts;
  // Parts cut off are appended and looked at in turn.
  for (size_t b = 0; b < blobs.size(); ++b) {
    parts.clear();
    // Lamp light at night (headlights, beams, reflections) spreads over lanes: not cut by them.
    const int lane_cuts = lanes->size() >= 2 && !background.IsLampLight(bgr, fg, blobs[b].box)
                              ? CutAtLanes(closed, lane_at, columns, &blobs[b], &parts)
                              : 0;
    stats.lane_cuts += lane_cuts;
    const int cuts = lane_cuts + CutAcrossRoad(closed, columns, &blobs[b], &parts) +
                     CutAlongRoad(closed, rows, &blobs[b], &parts);
    if (cuts == 0) continue;
    stats.footprint_cuts += cuts;
    blobs[b].cut = true;
    blobs.insert(blobs.end(), parts.begin(), parts.end());
  }
}

bool ClassicalDetector::State::LooksAlongTheRoad() const {
  const cv::Point2f top(0.5f * size.width, 0.5f), bottom(0.5f * size.width, size.height - 0.5f);
  if (!calibration->OnGround(top)) return true;
  // The ground scale grows with the distance from the camera.
  return calibration->MetresPerPixelAt(top) >=
         kAlongRoadDepth * calibration->MetresPerPixelAt(bottom);
}

void ClassicalDetector::State::CutReflections(std::vector<Blob>* blobs_in) {
  if (!night) return;
  std::vector<Blob>& blobs = *blobs_in;
  if (lamp.size() != size) lamp = cv::Mat::zeros(size, CV_8U);
  for (size_t b = 0, n_blobs = blobs.size(); b < n_blobs; ++b) {
    const cv::Rect box = blobs[b].box;
    background.MarkLamps(bgr, fg, box, &lamp);
    // The lamps' greatest height above the road, in pixels where the blob stands.
    const cv::Point2f foot = BottomCentre(cv::Rect2f(box));
    const double mpp = calibration->MetresPerPixelAt(foot);
    if (!calibration->OnGround(foot) || !(mpp > 0)) continue;
    Blob lower;
    if (!CutBelowLamps(fg, lamp, static_cast<int>(std::lround(kMaxLampHeightM / mpp)), &blobs[b],
                       &lower)) {
      continue;
    }
    ++stats.reflections;
    blobs[b].cut = true;
    if (lower.area > 0 && !background.IsLampLight(bgr, fg, lower.box)) {
      blobs.push_back(lower);
    }
  }
}

std::vector<Detection> ClassicalDetector::State::ToDetections(
    const std::vector<Blob>& blobs) const {
  std::vector<Detection> out;
  const int w = size.width;
  for (const Blob& b : blobs) {
    if (b.area < MinArea(b.box) || !Analysed(b.box)) continue;
    Detection d;
    d.box = cv::Rect2f(b.box);
    d.object_class = ClassifyBySize(d.box, size, calibration, options);
    // A blob cut by the left or right edge is only part of its object: too narrow to tell a
    // vehicle entering the view from a person. Leave the class to the frames that see it all.
    const bool cut_by_edge = b.box.x <= 1 || b.box.br().x >= w - 1;
    if (cut_by_edge && d.object_class != ObjectClass::kCar &&
        d.object_class != ObjectClass::kTruck && d.object_class != ObjectClass::kBus) {
      d.object_class = ObjectClass::kUnknown;
    }
    d.score =
        static_cast<float>(std::min(1.0, 0.5 + 0.5 * static_cast<double>(b.area) / b.box.area()));
    out.push_back(d);
  }
  return out;
}

void ClassicalDetector::State::UpdateCloseBands() {
  bands_for = calibration->image_to_ground();
  bands_size = size;
  close_bands.clear();
  const int max_radius = std::max(1, static_cast<int>(kMaxCloseShare * size.height));
  const float cx = 0.5f * size.width;
  for (int y = 0; y < size.height; ++y) {
    // No roll: a row's ground scale is the same across it. Rows above the horizon are not
    // closed (nothing there is analysed).
    const cv::Point2f p(cx, y + 0.5f);
    int radius = 0;
    if (calibration->OnGround(p)) {
      const double mpp = calibration->MetresPerPixelAt(p);
      if (mpp > 0) {
        radius = std::clamp(static_cast<int>(std::lround(options.close_m / mpp)), 0, max_radius);
      }
    }
    if (close_bands.empty() || close_bands.back().radius != radius) {
      CloseBand band;
      band.y0 = y;
      band.radius = radius;
      band.kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * radius + 1, 2 * radius + 1});
      close_bands.push_back(band);
    }
    close_bands.back().y1 = y + 1;
  }
}

void ClassicalDetector::State::Close() {
  if (calibration == nullptr) {
    cv::morphologyEx(opened, closed, cv::MORPH_CLOSE, close_kernel);
    return;
  }
  if (bands_size != size || bands_for != calibration->image_to_ground()) UpdateCloseBands();
  opened.copyTo(closed);
  for (const CloseBand& band : close_bands) {
    if (band.radius == 0) continue;
    // Close the band with a margin of its radius above and below, keep the band's rows.
    const int y0 = std::max(0, band.y0 - 2 * band.radius);
    const int y1 = std::min(size.height, band.y1 + 2 * band.radius);
    const cv::Rect roi(0, y0, size.width, y1 - y0);
    cv::morphologyEx(opened(roi), band_closed, cv::MORPH_CLOSE, band.kernel);
    const cv::Rect rows(0, band.y0 - y0, size.width, band.y1 - band.y0);
    band_closed(rows).copyTo(closed(cv::Rect(0, band.y0, size.width, band.y1 - band.y0)));
  }
}

double ClassicalDetector::State::MinArea(const cv::Rect& box) const {
  if (calibration == nullptr) return options.min_blob_area * size.area();
  const cv::Point2f foot = BottomCentre(cv::Rect2f(box));
  const double mpp = calibration->MetresPerPixelAt(foot);
  if (!calibration->OnGround(foot) || !(mpp > 0)) return std::numeric_limits<double>::infinity();
  return options.min_blob_area_m2 / (mpp * mpp);
}

bool ClassicalDetector::State::Analysed(const cv::Rect& box) const {
  if (calibration == nullptr) return true;
  const cv::Point2f foot = BottomCentre(cv::Rect2f(box));
  if (!calibration->OnGround(foot)) return false;
  return options.max_distance_m <= 0 ||
         calibration->DistanceFromCamera(foot) <= options.max_distance_m;
}

bool ClassicalDetector::State::IsFragment(const Blob& big, const Blob& small, int gap_px) const {
  if (calibration == nullptr) return Gap(big.box, small.box) <= gap_px;
  // No limit on the union's size: at night a side-on car is a headlight beam, its lights and
  // their reflections, several metres apart.
  const cv::Point2f foot = BottomCentre(cv::Rect2f(big.box));
  const double mpp = calibration->MetresPerPixelAt(foot);
  if (!calibration->OnGround(foot) || !(mpp > 0)) return false;
  return Gap(big.box, small.box) <= options.merge_gap_m / mpp;
}

void ClassicalDetector::State::Finish(const std::vector<cv::Rect>& frozen, int64_t dt_us,
                                      int64_t time_us) {
  // Free road adapts, blobs (and their shadows) slowly, frozen boxes not at all.
  background.Adapt(bgr, raw, frozen, dt_us, options, open_kernel);
  cv::swap(bgr, prev);  // the next frame is copied into the old buffer
  cv::swap(grey, prev_grey);
  prev_time_us = time_us;
}

std::vector<Detection> ClassicalDetector::State::Detect(
    const cv::Mat& frame, const std::vector<cv::Rect2f>& motion_regions, int64_t time_us,
    const SceneContext& context) {
  std::vector<Detection> out;
  try {
    int64_t dt_us = 0;
    calibration = context.calibration;
    if (!Prepare(frame, time_us, &dt_us)) return out;
    // 1. Foreground and shadows.
    // At night, seen along the road (calibrated cameras only: sizes below are metres there),
    // lamp light is no object.
    night = calibration != nullptr && LooksAlongTheRoad() && background.Night();
    background.Classify(bgr, options, night, &fg, &raw);
    lanes = &context.lanes;
    masks = &context.masks;
    const std::vector<cv::Rect> frozen =
        FrozenBoxes(context.stationary_boxes, cv::Rect(0, 0, size.width, size.height));
    // Ghosts of the first frame that have held still long enough: healed before the blobs.
    seed_ghosts.Heal(bgr, dt_us, options.threshold, frozen, &background, &raw, &fg);
    // 2-3. Blobs with support (motion, frozen or tracked boxes), split at necks.
    std::vector<Blob> blobs = FindBlobs(SupportBoxes(motion_regions, size.width, size.height),
                                        frozen, context.tracked_boxes);
    // 3b. Tails: a vehicle-shaped blob with a run of narrow rows above or below it is a vehicle
    // touching someone on the kerb (or a pole): cut the tail off as a blob of its own.
    CutTails(&blobs);
    // 3c. Motion: objects overlapping on screen that move differently (adjacent lanes, a
    // pedestrian at the kerb).
    const int gap = static_cast<int>(std::lround(options.merge_gap_px * scale));
    SplitMoving(time_us, gap, &blobs);
    // 3d. Stacked: two vehicles of adjacent lanes overlapping on screen.
    CutStackedBlobs(&blobs);
    // 3e. Footprints (calibrated): blobs larger than one vehicle where they stand.
    CutByFootprint(&blobs);
    // 3f. Night (calibrated): reflections and beams below a vehicle's lamps.
    CutReflections(&blobs);
    // 4. Merge fragments of one vehicle: a small blob next to a much larger one.
    stats.merges += MergeFragments(
        options.merge_max_fragment,
        [&](const Blob& big, const Blob& small) { return IsFragment(big, small, gap); }, &blobs);
    out = ToDetections(blobs);
    // 5. Background.
    Finish(frozen, dt_us, time_us);
  } catch (const cv::Exception&) {
    ++stats.rejected_frames;
    initialised = false;
    out.clear();
  }
  return out;
}

ObjectClass ClassifyBySize(const cv::Rect2f& box, cv::Size frame_size,
                           const Calibration* calibration, const ClassicalDetectorOptions& o) {
  if (box.width <= 0 || box.height <= 0) return ObjectClass::kUnknown;
  const float aspect = box.height / box.width;
  if (calibration != nullptr) {
    const Footprint f = calibration->FootprintOf(box);
    if (f.width_m < o.min_object_m && f.height_m < o.min_object_m) return ObjectClass::kUnknown;
    if (f.width_m <= o.person_max_width_m && aspect >= o.person_min_aspect) {
      return ObjectClass::kPerson;
    }
    if (f.width_m <= o.two_wheeler_max_width_m) return ObjectClass::kMotorcycle;
    if (f.width_m >= o.large_min_width_m || f.height_m >= o.large_min_height_m) {
      return ObjectClass::kTruck;
    }
    return ObjectClass::kCar;
  }
  const double area = static_cast<double>(box.area()) / frame_size.area();
  if (aspect >= o.person_min_aspect_uncalibrated && area <= o.person_max_area) {
    return ObjectClass::kPerson;
  }
  if (area >= o.large_min_area) return ObjectClass::kTruck;
  return ObjectClass::kCar;
}

Result<std::unique_ptr<ClassicalDetector>> ClassicalDetector::Create(
    const ClassicalDetectorOptions& options) {
  SKYNET_RETURN_IF_ERROR(ValidateClassicalDetectorOptions(options));
  return std::unique_ptr<ClassicalDetector>(new ClassicalDetector(options));
}

ClassicalDetector::ClassicalDetector(const ClassicalDetectorOptions& options)
    : options_(options), state_(std::make_unique<State>(options_, &stats_)) {}
ClassicalDetector::~ClassicalDetector() = default;

void ClassicalDetector::Reset() { state_->initialised = false; }
const cv::Mat& ClassicalDetector::foreground() const { return state_->fg; }
const cv::Mat& ClassicalDetector::background() const { return state_->background.image(); }

std::vector<Detection> ClassicalDetector::Detect(const cv::Mat& frame,
                                                 const std::vector<cv::Rect2f>& motion_regions,
                                                 int64_t time_us) {
  ++stats_.frames;
  if (frame.empty() || frame.dims != 2 || frame.depth() != CV_8U ||
      (frame.channels() != 1 && frame.channels() != 3)) {
    ++stats_.rejected_frames;
    return {};
  }
  const cv::Point2f shift = context_.camera_shift;
  if (shift.x == 0.f && shift.y == 0.f) {
    return state_->Detect(frame, motion_regions, time_us, context_);
  }
  // The motion detector aligned this frame to its steady background (camera shake); the
  // background here lives in the same steady pose. Detect on the aligned frame (the motion
  // regions are already in it) and move the boxes back to where they are in this frame.
  // aligned(x) = frame(x + shift), as in the motion detector.
  try {
    const cv::Point2f centre((frame.cols - 1) * 0.5f + shift.x, (frame.rows - 1) * 0.5f + shift.y);
    cv::getRectSubPix(frame, frame.size(), centre, state_->aligned);
  } catch (const cv::Exception&) {
    ++stats_.rejected_frames;
    return {};
  }
  ++stats_.shake_aligned;
  std::vector<Detection> found = state_->Detect(state_->aligned, motion_regions, time_us, context_);
  for (Detection& d : found) {
    d.box.x += shift.x;
    d.box.y += shift.y;
  }
  return found;
}

}  // namespace skynet::analytics
