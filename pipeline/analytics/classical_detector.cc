#include "pipeline/analytics/classical_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

namespace skynet::analytics {
namespace {

// Sizes in the options are for a 320 px wide frame; other detect sizes scale them.
constexpr double kReferenceWidth = 320.0;
// A gap between frames longer than this adapts the background as if it were this long.
constexpr int64_t kMaxFrameGapUs = 2'000'000;
// Backgrounds darker than this (|B|^2, summed over channels) say nothing about shadows.
constexpr int kMinShadowBackground = 3 * 20 * 20;
// Texture test slack, in summed-channel levels (about 4 grey levels).
constexpr float kTextureSlack = 12.f;
// Blobs are split only if they are this many times the minimum area and fill their box less
// than this (two vehicles touching at a corner leave empty box corners; one vehicle does not).
constexpr int kSplitMinAreaFactor = 4;
constexpr double kSplitMaxFill = 0.8;
// A core must hold this fraction of the blob's pixels to stand for a vehicle of its own.
constexpr double kMinCoreFraction = 0.04;
// A blob this much inside a tracked vehicle's box is supported without motion.
constexpr float kTrackedSupportShare = 0.5f;
// Motion regions are grown by this many pixels before testing support (they are tight boxes).
constexpr int kSupportMarginPx = 3;

double AdaptRate(int64_t dt_us, int tau_ms) {
  if (dt_us <= 0) return 0;
  return 1.0 - std::exp(-static_cast<double>(dt_us) / (1000.0 * tau_ms));
}

// Ghost test: a blob whose outline has this many times more edge energy in the background than
// in the frame is where something was (a vehicle present when the camera started, a parked car
// that left), not where something is; the outline's background must be at least this textured
// (mean |gx| + |gy| of the grey levels) for the test to say anything.
constexpr double kGhostEdgeRatio = 1.6;
constexpr double kGhostMinEdge = 12.0;

// Mean |gx| + |gy| (Sobel, the largest of the three colour channels: a green bus on grey
// asphalt has no edge in grey) of `bgr` over the non-zero pixels of `band` (same size).
double EdgeEnergy(const cv::Mat& bgr, const cv::Mat& band) {
  cv::Mat gx, gy, mag;
  cv::Sobel(bgr, gx, CV_16S, 1, 0, 3);
  cv::Sobel(bgr, gy, CV_16S, 0, 1, 3);
  cv::add(cv::abs(gx), cv::abs(gy), mag, cv::noArray(), CV_16S);
  std::vector<cv::Mat> channels;
  cv::split(mag, channels);
  cv::Mat most = cv::max(cv::max(channels[0], channels[1]), channels[2]);
  return cv::mean(most, band)[0] / 4.0;  // Sobel 3x3 weighs the difference by 4
}

struct Blob {
  cv::Rect box;
  int area = 0;       // foreground pixels
  bool cut = false;   // cut off or cut from another blob (tails, motion): never merged back
};

// Distance in pixels between two boxes (0 if they touch or overlap).
int Gap(const cv::Rect& a, const cv::Rect& b) {
  const int dx = std::max({0, b.x - (a.x + a.width), a.x - (b.x + b.width)});
  const int dy = std::max({0, b.y - (a.y + a.height), a.y - (b.y + b.height)});
  return std::max(dx, dy);
}

// Tails (CutTail): rows with fewer foreground pixels than this share of the widest row are
// narrow; a tail is at least kTailMinRows and this share of the remaining body's height; the body
// must be at least this much wider than tall (a vehicle, not a person).
constexpr double kTailNarrow = 0.35;
constexpr int kTailMinRows = 3;
constexpr double kTailMinShare = 0.3;
constexpr double kTailBodyAspect = 1.2;
constexpr double kTailMaxWidthShare = 0.4;

// Cuts a run of narrow rows at the top or bottom of `blob` (pixels of `fg` inside its box) into
// `tail` when what remains is vehicle-shaped. Returns whether it cut.
bool CutTail(const cv::Mat& fg, Blob* blob, Blob* tail) {
  const cv::Rect box = blob->box;
  if (box.height < 2 * kTailMinRows || box.width < 4) return false;
  std::vector<int> rows(box.height);
  int widest = 0;
  for (int y = 0; y < box.height; ++y) {
    rows[y] = cv::countNonZero(fg(cv::Rect(box.x, box.y + y, box.width, 1)));
    widest = std::max(widest, rows[y]);
  }
  auto narrow = [&](int y) { return rows[y] < kTailNarrow * widest; };
  int top = 0, bottom = 0;
  while (top < box.height && narrow(top)) ++top;
  while (bottom < box.height - top && narrow(box.height - 1 - bottom)) ++bottom;
  const int body = box.height - top - bottom;
  if (body <= 0 || box.width < kTailBodyAspect * body) return false;
  const bool cut_top = top >= std::max<double>(kTailMinRows, kTailMinShare * body);
  const bool cut_bottom = bottom >= std::max<double>(kTailMinRows, kTailMinShare * body);
  if (cut_top == cut_bottom) return false;  // none, or both (not one thing touching)
  const cv::Rect part = cut_top ? cv::Rect(box.x, box.y, box.width, top)
                                : cv::Rect(box.x, box.br().y - bottom, box.width, bottom);
  std::vector<cv::Point> points;
  cv::findNonZero(fg(part), points);
  if (points.empty()) return false;
  tail->box = cv::boundingRect(points) + part.tl();
  // Someone at the kerb is much narrower than the vehicle; a wide "tail" is part of the scene.
  if (tail->box.width > kTailMaxWidthShare * box.width) return false;
  tail->area = static_cast<int>(points.size());
  blob->box = cut_top ? cv::Rect(box.x, box.y + top, box.width, box.height - top)
                      : cv::Rect(box.x, box.y, box.width, box.height - bottom);
  blob->area = std::max(0, blob->area - tail->area);
  return true;
}

// Stacked vehicles (CutStacked): adjacent rows whose left or right foreground edge jumps by
// this share of the blob's width, with at least this share of the height on each side.
constexpr double kStackEdgeJump = 0.3;
constexpr double kStackMinShare = 0.3;
// ...and neither part's horizontal extent may hold the other's (give or take this share).
constexpr double kStackContainSlack = 0.1;
// A calibrated blob at least this tall (metres) is more than one road vehicle: no containment
// test then (two cars of adjacent lanes nearly aligned along the road).
constexpr float kStackMinHeightM = 3.0f;

// Splits `blob` into an upper and a lower vehicle when its rows' horizontal extent jumps at one
// row: two vehicles in adjacent lanes overlapping on screen (the nearer one hides the lower part
// of the farther one), offset along the road. Each part gets its own rows' extent.
bool CutStacked(const cv::Mat& fg, bool too_tall, Blob* blob, Blob* lower) {
  const cv::Rect box = blob->box;
  const int min_rows = std::max(4, static_cast<int>(kStackMinShare * box.height));
  if (box.height < 2 * min_rows || box.width < 8) return false;
  std::vector<int> left(box.height, -1), right(box.height, -1);
  for (int y = 0; y < box.height; ++y) {
    const uint8_t* row = fg.ptr<uint8_t>(box.y + y) + box.x;
    for (int x = 0; x < box.width; ++x) {
      if (!row[x]) continue;
      if (left[y] < 0) left[y] = x;
      right[y] = x;
    }
  }
  const double jump = kStackEdgeJump * box.width;
  int cut = -1;
  double best = 0;
  for (int y = min_rows; y <= box.height - min_rows; ++y) {
    if (left[y] < 0 || left[y - 1] < 0) continue;
    // The same jump must hold a few rows on: a real boundary, not a ragged edge.
    const int a = y - 1, b = std::min(box.height - 1, y + 2);
    if (left[b] < 0) continue;
    const double dl = std::abs(left[b] - left[a]), dr = std::abs(right[b] - right[a]);
    const double d = std::max(dl, dr);
    if (d >= jump && d > best) {
      best = d;
      cut = y;
    }
  }
  if (cut < 0) return false;
  auto extent = [&](int y0, int y1, Blob* out) {
    int l = box.width, r = -1, area = 0;
    for (int y = y0; y < y1; ++y) {
      if (left[y] < 0) continue;
      l = std::min(l, left[y]);
      r = std::max(r, right[y]);
      area += right[y] - left[y] + 1;
    }
    if (r < l) return false;
    out->box = cv::Rect(box.x + l, box.y + y0, r - l + 1, y1 - y0);
    out->area = area;
    return true;
  };
  Blob upper;
  if (!extent(0, cut, &upper) || !extent(cut, box.height, lower)) return false;
  // Two vehicles offset along the road: neither part's extent holds the other's (one vehicle's
  // narrower cabin or cargo box sits within the extent of its body), unless the blob is too tall
  // for one vehicle.
  const int slack = static_cast<int>(kStackContainSlack * box.width);
  auto holds = [&](const cv::Rect& a, const cv::Rect& b) {
    return a.x - slack <= b.x && a.br().x + slack >= b.br().x;
  };
  if (!too_tall && (holds(upper.box, lower->box) || holds(lower->box, upper.box))) return false;
  *blob = upper;
  return true;
}

// Motion split (SplitByMotion): objects that overlap on screen but move differently (vehicles
// of adjacent lanes at other speeds or in the other direction, a pedestrian at the kerb far
// slower than the vehicle it touches). Each row of a blob is matched against the previous frame
// at every horizontal shift up to the largest plausible motion; motions are added while one
// more explains a good share of the rows' error away; then every pixel goes to the motion that
// explains its neighbourhood clearly best (or, where none does, such as a uniform body, to its
// row's best), and each motion's connected parts become blobs. Shifts are horizontal: a view
// across the road, where vehicles of adjacent lanes overlap on screen. Seen along the road,
// vehicles move mostly vertically, no shift explains them and the blob is left whole (to the
// other splits).
//
// One more motion must take at least this share of the rows over (those it explains better
// than the motions so far), leave at most this share of their error...
constexpr double kMotionMinRowShare = 0.1;
constexpr double kMotionMaxRatio = 0.6;
// ...with a mean error per pixel there of at most this many grey levels...
constexpr double kMotionMaxPixelError = 30;
// ...and differ from the others by this many pixels (at 320 px) and this share of the larger.
constexpr double kMotionMinShiftPx = 3;
constexpr double kMotionMinShiftShare = 0.15;
constexpr int kMaxMotions = 4;
constexpr int kMotionRefinements = 3;
// Rows' errors are summed over this many rows around each (a row alone is noisy).
constexpr int kMotionRowWindow = 3;
// Largest apparent motion searched: this share of the frame width per second, at most
// kMotionMaxShare of the width between two frames.
constexpr double kMotionWidthsPerSecond = 0.5;
constexpr double kMotionMaxShare = 0.15;
// Shifts are searched this many pixels apart (at 320 px), then refined to the pixel.
constexpr double kMotionShiftStepPx = 2;
// Blobs lower than this (pixels at 320) are not split: a band of headlight glare or its
// reflection, too thin to tell motions apart by rows.
constexpr double kMotionMinHeightPx = 24;
// A pixel's 5x5 error under its motion is below this share of any other's, less this slack
// (grey levels); parts smaller than this many pixels are dropped.
constexpr float kMotionPixelRatio = 0.7f;
constexpr float kMotionPixelSlack = 2.f;
constexpr int kMotionMinPartArea = 12;
// A motion must win at least this share of its pixels clearly (not by their row).
constexpr double kMotionMinClearShare = 0.2;
// Pixels whose source under some motion is within this many columns of the frame's edge (the
// 5x5 error reaches 2 columns on) are decided by their row.
constexpr int kMotionEdgeMargin = 2;
// A part with at most this share of a larger part's pixels and this share of its box inside
// that part's box belongs to it.
constexpr double kMotionFragmentShare = 0.25;
constexpr double kMotionFragmentInside = 0.6;
// Pieces of one motion at most merge_gap_px apart that share this share of the lower one's
// rows are one object.
constexpr double kMotionJoinRows = 0.5;

struct MotionScratch {
  std::vector<int> count;
  std::vector<double> rows;            // rows x shifts: the row's error at each shift
  std::vector<double> windowed;        // the same, summed over kMotionRowWindow rows
  std::vector<double> windowed_count;  // per row: pixels in those rows
  std::vector<double> best;            // per row: the least error among the chosen motions
  std::vector<double> sum;             // per shift
  std::vector<double> refined;         // per row, at one shift
  std::vector<int> cumulative;         // rows x (width + 1): pixels of the row left of x
  std::vector<int> owner;              // per row: the motion that explains it best
  std::vector<char> mine;              // per row: this motion explains it best
  std::vector<Blob> parts;             // of the blob being split
  cv::Mat diff, row_sum;
  cv::Mat error[kMaxMotions], label, part, comp, comp_stats, comp_centroids;
};

// `own`: the blob's pixels (box-sized); `prev_padded`: the previous frame with max_shift columns
// of its edge repeated on both sides; `open_kernel`: 3x3. Appends the blob's parts to `parts` and
// returns true when two or more motions are found. `max_shift` > 0.
bool SplitByMotion(const cv::Mat& grey, const cv::Mat& prev_padded, const cv::Rect& box,
                   const cv::Mat& own, int max_shift, int step, double min_shift, int join_gap,
                   const cv::Mat& open_kernel, MotionScratch* sc, std::vector<Blob>* parts) {
  if (box.height < 2 * kTailMinRows || box.width < 4) return false;
  // Shift index i stands for the shift -max_shift + i * step (pixel x came from x - shift).
  const int shifts = 2 * (max_shift / step) + 1, rows = box.height, w = grey.cols;
  auto shift_of = [&](int i) { return (i - shifts / 2) * step; };
  const cv::Mat current = grey(box);
  // Pixels per row, cumulative along the row: the pixels of any column range.
  sc->count.assign(rows, 0);
  sc->cumulative.assign(static_cast<size_t>(rows) * (box.width + 1), 0);
  for (int y = 0; y < rows; ++y) {
    const uint8_t* m = own.ptr<uint8_t>(y);
    int* c = &sc->cumulative[static_cast<size_t>(y) * (box.width + 1)];
    for (int x = 0; x < box.width; ++x) c[x + 1] = c[x] + (m[x] != 0);
    sc->count[y] = c[box.width];
  }
  // Row errors at shift k: the mean of |current - previous at x - k| over the row's pixels
  // whose source is in the frame (an object entering the view has none for its new part),
  // times the row's pixel count; rows with less than half their pixels' sources known get the
  // worst error.
  auto row_errors = [&](int k, double* out, size_t stride) {
    const int x0 = std::clamp(k - box.x, 0, box.width);
    const int x1 = std::clamp(w + k - box.x, 0, box.width);
    if (x1 > x0) {
      const cv::Rect cols(x0, 0, x1 - x0, rows);
      const cv::Mat from = prev_padded(cv::Rect(box.x + x0 + max_shift - k, box.y, x1 - x0, rows));
      cv::absdiff(current(cols), from, sc->diff);
      cv::bitwise_and(sc->diff, own(cols), sc->diff);
      cv::reduce(sc->diff, sc->row_sum, 1, cv::REDUCE_SUM, CV_32S);
    }
    for (int y = 0; y < rows; ++y) {
      const int n = sc->count[y];
      const int* c = &sc->cumulative[static_cast<size_t>(y) * (box.width + 1)];
      const int valid = x1 > x0 ? c[x1] - c[x0] : 0;
      out[y * stride] = n == 0          ? 0.0
                        : valid * 2 < n ? 255.0 * n
                                        : static_cast<double>(sc->row_sum.at<int>(y)) / valid * n;
    }
  };
  sc->rows.assign(static_cast<size_t>(rows) * shifts, 0.0);
  for (int i = 0; i < shifts; ++i) row_errors(shift_of(i), &sc->rows[i], shifts);
  sc->windowed.assign(sc->rows.size(), 0.0);
  sc->windowed_count.assign(rows, 0.0);
  for (int y = 0; y < rows; ++y) {
    double* out = &sc->windowed[static_cast<size_t>(y) * shifts];
    for (int d = -(kMotionRowWindow / 2); d <= kMotionRowWindow / 2; ++d) {
      if (y + d < 0 || y + d >= rows) continue;
      const double* in = &sc->rows[static_cast<size_t>(y + d) * shifts];
      for (int k = 0; k < shifts; ++k) out[k] += in[k];
      sc->windowed_count[y] += sc->count[y + d];
    }
  }
  // Motions, greedily: the shift best for the whole blob, then while one more takes enough rows
  // over and explains them clearly better.
  std::vector<int> motions;  // shift indices
  sc->best.assign(rows, std::numeric_limits<double>::max());
  const int min_rows = std::max<int>(kTailMinRows, std::lround(kMotionMinRowShare * rows));
  while (static_cast<int>(motions.size()) < kMaxMotions) {
    int pick = -1;
    double pick_gain = 0;
    for (int k = 0; k < shifts; ++k) {
      bool distinct = true;
      for (int m : motions) {
        const int d = std::abs(shift_of(k) - shift_of(m));
        distinct =
            distinct && d >= min_shift &&
            d >= kMotionMinShiftShare * std::max(std::abs(shift_of(k)), std::abs(shift_of(m)));
      }
      if (!distinct) continue;
      double before = 0, after = 0, pixels = 0;
      int taken = 0;
      for (int y = 0; y < rows; ++y) {
        const double e = sc->windowed[static_cast<size_t>(y) * shifts + k];
        if (e >= sc->best[y]) continue;
        ++taken;
        before += std::min(sc->best[y], 255.0 * kMotionRowWindow * sc->count[y]);
        after += e;
        pixels += sc->windowed_count[y];
      }
      // ...and it must explain them well, not just better: rows where two objects meet are
      // explained by neither's motion, and a shift between the two fits them a little better.
      if (!motions.empty() && (taken < min_rows || after > kMotionMaxRatio * before ||
                               after > kMotionMaxPixelError * std::max(1.0, pixels))) {
        continue;
      }
      const double gain = motions.empty() ? -after : before - after;
      if (pick < 0 || gain > pick_gain) {
        pick = k;
        pick_gain = gain;
      }
    }
    if (pick < 0) break;
    motions.push_back(pick);
    // Refine (Lloyd): rows to their best motion, each motion to the best shift of its rows. A
    // first pick between two close motions moves to one of them, which lets the other in.
    std::vector<int>& owner = sc->owner;
    for (int iteration = 0; iteration < kMotionRefinements; ++iteration) {
      owner.assign(rows, 0);
      for (int y = 0; y < rows; ++y) {
        const double* wy = &sc->windowed[static_cast<size_t>(y) * shifts];
        for (size_t i = 1; i < motions.size(); ++i) {
          if (wy[motions[i]] < wy[motions[owner[y]]]) owner[y] = static_cast<int>(i);
        }
      }
      for (size_t i = 0; i < motions.size(); ++i) {
        sc->sum.assign(shifts, 0.0);
        for (int y = 0; y < rows; ++y) {
          if (owner[y] != static_cast<int>(i)) continue;
          const double* wy = &sc->windowed[static_cast<size_t>(y) * shifts];
          for (int k = 0; k < shifts; ++k) sc->sum[k] += wy[k];
        }
        motions[i] =
            static_cast<int>(std::min_element(sc->sum.begin(), sc->sum.end()) - sc->sum.begin());
      }
    }
    for (int y = 0; y < rows; ++y) {
      sc->best[y] = std::numeric_limits<double>::max();
      for (int m : motions) {
        sc->best[y] = std::min(sc->best[y], sc->windowed[static_cast<size_t>(y) * shifts + m]);
      }
    }
  }
  std::sort(motions.begin(), motions.end());
  motions.erase(std::unique(motions.begin(), motions.end()), motions.end());
  if (motions.size() < 2) return false;

  // Pixels: each to the motion that explains its 5x5 neighbourhood clearly best, else to the
  // motion best for its row.
  const int nm = static_cast<int>(motions.size());
  int shift[kMaxMotions];
  for (int i = 0; i < nm; ++i) {
    shift[i] = shift_of(motions[i]);
    if (step == 1) continue;
    // The searched shifts are `step` apart: the best one within, on the rows this motion has.
    std::vector<char>& mine = sc->mine;
    mine.assign(rows, 0);
    for (int y = 0; y < rows; ++y) {
      const double* wy = &sc->windowed[static_cast<size_t>(y) * shifts];
      mine[y] = std::all_of(motions.begin(), motions.end(),
                            [&](int m) { return wy[motions[i]] <= wy[m]; });
    }
    double least = 0;
    for (int y = 0; y < rows; ++y) {
      if (mine[y]) least += sc->rows[static_cast<size_t>(y) * shifts + motions[i]];
    }
    const int centre = shift[i];
    sc->refined.resize(rows);
    for (int d = -(step / 2); d <= step / 2; ++d) {
      const int k = centre + d;
      if (d == 0 || std::abs(k) > max_shift) continue;
      row_errors(k, sc->refined.data(), 1);
      double sum = 0;
      for (int y = 0; y < rows; ++y) sum += mine[y] ? sc->refined[y] : 0;
      if (sum < least) {
        least = sum;
        shift[i] = k;
      }
    }
  }
  for (int i = 0; i < nm; ++i) {
    cv::Mat& e = sc->error[i];
    const cv::Mat from =
        prev_padded(cv::Rect(box.x + max_shift - shift[i], box.y, box.width, rows));
    cv::absdiff(current, from, sc->diff);
    cv::bitwise_and(sc->diff, own, sc->diff);
    sc->diff.convertTo(e, CV_32F);
    cv::boxFilter(e, e, -1, {5, 5}, {-1, -1}, false);
  }
  // A motion that wins few pixels clearly, most of its pixels only by their row, is a
  // compromise between two others (rows where two objects meet): it is dropped and the
  // labelling done again without it.
  bool active[kMaxMotions];
  for (int i = 0; i < nm; ++i) active[i] = true;
  int active_count = nm;
  sc->label.create(box.size(), CV_8U);
  while (true) {
    int clear_pixels[kMaxMotions] = {}, pixels[kMaxMotions] = {};
    for (int y = 0; y < rows; ++y) {
      const uint8_t* m = own.ptr<uint8_t>(y);
      uint8_t* l = sc->label.ptr<uint8_t>(y);
      int row_best = -1;
      for (int i = 0; i < nm; ++i) {
        if (!active[i]) continue;
        const size_t at = static_cast<size_t>(y) * shifts;
        if (row_best < 0 || sc->windowed[at + motions[i]] < sc->windowed[at + motions[row_best]]) {
          row_best = i;
        }
      }
      const float* e[kMaxMotions];
      for (int i = 0; i < nm; ++i) e[i] = sc->error[i].ptr<float>(y);
      for (int x = 0; x < box.width; ++x) {
        if (!m[x]) {
          l[x] = 0;
          continue;
        }
        int first = row_best;
        for (int i = 0; i < nm; ++i) {
          if (active[i] && e[i][x] < e[first][x]) first = i;
        }
        float second = std::numeric_limits<float>::max();
        for (int i = 0; i < nm; ++i) {
          if (active[i] && i != first) second = std::min(second, e[i][x]);
        }
        // Near the frame's edge a motion may fetch its source from the padding (an object
        // entering the view): that error says nothing, the row decides.
        bool inside = true;
        for (int i = 0; i < nm; ++i) {
          const int from = box.x + x - shift[i];
          inside =
              inside && (!active[i] || (from >= kMotionEdgeMargin && from < w - kMotionEdgeMargin));
        }
        const bool clear = inside && e[first][x] + kMotionPixelSlack < kMotionPixelRatio * second;
        const int label = clear ? first : row_best;
        l[x] = static_cast<uint8_t>(1 + label);
        ++pixels[label];
        clear_pixels[label] += clear;
      }
    }
    int weakest = -1;
    double weakest_share = kMotionMinClearShare;
    for (int i = 0; i < nm; ++i) {
      if (!active[i] || pixels[i] == 0) continue;
      const double share = static_cast<double>(clear_pixels[i]) / pixels[i];
      if (share < weakest_share) {
        weakest_share = share;
        weakest = i;
      }
    }
    if (weakest < 0 || active_count <= 1) break;
    active[weakest] = false;
    --active_count;
  }
  if (active_count < 2) return false;
  const size_t before = parts->size();
  // `small`'s pixels join `big`.
  auto absorb = [](Blob& big, const Blob& small) {
    big.box |= small.box;
    big.area += small.area;
  };
  for (int i = 0; i < nm; ++i) {
    if (!active[i]) continue;
    cv::compare(sc->label, i + 1, sc->part, cv::CMP_EQ);
    cv::morphologyEx(sc->part, sc->part, cv::MORPH_OPEN, open_kernel);
    const int n = cv::connectedComponentsWithStats(sc->part, sc->comp, sc->comp_stats,
                                                   sc->comp_centroids, 8, CV_32S);
    const size_t first = parts->size();
    for (int c = 1; c < n; ++c) {
      const int* st = sc->comp_stats.ptr<int>(c);
      if (st[cv::CC_STAT_AREA] < kMotionMinPartArea) continue;
      const cv::Rect r(st[cv::CC_STAT_LEFT], st[cv::CC_STAT_TOP], st[cv::CC_STAT_WIDTH],
                       st[cv::CC_STAT_HEIGHT]);
      Blob part;
      part.box = r + box.tl();
      part.area = st[cv::CC_STAT_AREA];
      part.cut = true;
      // Pieces of one motion side by side in the same rows, a few pixels apart, are one object
      // whose middle no motion explained clearly (a uniform body).
      bool joined = false;
      for (size_t j = first; j < parts->size() && !joined; ++j) {
        Blob& other = (*parts)[j];
        const int rows_shared =
            std::min(other.box.br().y, part.box.br().y) - std::max(other.box.y, part.box.y);
        if (Gap(other.box, part.box) <= join_gap &&
            rows_shared >= kMotionJoinRows * std::min(other.box.height, part.box.height)) {
          absorb(other, part);
          joined = true;
        }
      }
      if (!joined) parts->push_back(std::move(part));
    }
  }
  // A small part mostly inside a larger part's box is a piece of that object that its motion
  // did not explain (a uniform patch, a wheel): it goes back to the larger part.
  std::sort(parts->begin() + static_cast<std::ptrdiff_t>(before), parts->end(),
            [](const Blob& a, const Blob& b) { return a.area > b.area; });
  for (size_t i = parts->size(); i-- > before + 1;) {
    const Blob& small = (*parts)[i];
    for (size_t j = before; j < i; ++j) {
      Blob& big = (*parts)[j];
      if (small.area <= kMotionFragmentShare * big.area &&
          (small.box & big.box).area() >= kMotionFragmentInside * small.box.area()) {
        absorb(big, small);
        parts->erase(parts->begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  if (parts->size() - before < 2) {
    parts->resize(before);
    return false;
  }
  return true;
}

}  // namespace

struct ClassicalDetector::State {
  cv::Size size;
  bool initialised = false;
  int64_t last_time_us = 0;
  double scale = 1;  // frame width / reference width
  cv::Mat bg, bg8;   // CV_32FC3 and CV_8UC3
  cv::Mat bgr, fg, raw, opened, closed, update, not_update, frozen;
  cv::Mat prev;  // the previous frame (BGR): what moved since is never healed
  cv::Mat grey, prev_grey;  // this and the previous frame, for the motion split
  cv::Mat prev_padded;
  int64_t prev_time_us = -1;
  MotionScratch motion;
  cv::Mat labels, comp_stats, centroids;
  cv::Mat open_kernel, close_kernel;
  // Split scratch.
  cv::Mat roi_mask, dist, cores, core_labels, core_stats, core_centroids, seeds, seed_dist,
      seed_labels;
};

Status ValidateClassicalDetectorOptions(const ClassicalDetectorOptions& o) {
  if (o.threshold < 3 || o.threshold > 765) {
    return Status::InvalidArgument("classical.threshold: must be in [3, 765]");
  }
  if (o.background_adapt_ms <= 0 || o.foreground_adapt_ms <= 0) {
    return Status::InvalidArgument(
        "classical.background_adapt_ms/foreground_adapt_ms: must be > 0");
  }
  if (!(o.shadow_min_ratio > 0 && o.shadow_min_ratio < o.shadow_max_ratio &&
        o.shadow_max_ratio <= 1)) {
    return Status::InvalidArgument(
        "classical.shadow_min_ratio/shadow_max_ratio: need 0 < min < max <= 1");
  }
  if (o.shadow_chroma_tolerance < 0 || o.shadow_texture_tolerance < 0) {
    return Status::InvalidArgument("classical.shadow_*_tolerance: must be >= 0");
  }
  if (o.close_px < 0 || o.close_px > 20) {
    return Status::InvalidArgument("classical.close_px: must be in [0, 20]");
  }
  if (!(o.min_blob_area > 0 && o.min_blob_area < 0.5)) {
    return Status::InvalidArgument("classical.min_blob_area: must be in (0, 0.5)");
  }
  if (o.split_core_ratio < 0 || o.split_core_ratio >= 1) {
    return Status::InvalidArgument("classical.split_core_ratio: must be in [0, 1)");
  }
  if (o.merge_gap_px < 0 || o.merge_max_fragment < 0 || o.merge_max_fragment > 1) {
    return Status::InvalidArgument("classical.merge_gap_px/merge_max_fragment: out of range");
  }
  return Status::Ok();
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
    : options_(options), state_(std::make_unique<State>()) {}
ClassicalDetector::~ClassicalDetector() = default;

void ClassicalDetector::Reset() { state_->initialised = false; }
const cv::Mat& ClassicalDetector::foreground() const { return state_->fg; }
const cv::Mat& ClassicalDetector::background() const { return state_->bg8; }

std::vector<Detection> ClassicalDetector::Detect(const cv::Mat& frame,
                                                 const std::vector<cv::Rect2f>& motion_regions,
                                                 int64_t time_us) {
  ++stats_.frames;
  std::vector<Detection> out;
  if (frame.empty() || frame.dims != 2 || frame.depth() != CV_8U ||
      (frame.channels() != 1 && frame.channels() != 3)) {
    ++stats_.rejected_frames;
    return out;
  }
  State& s = *state_;
  try {
    if (frame.channels() == 1) {
      cv::cvtColor(frame, s.bgr, cv::COLOR_GRAY2BGR);
    } else {
      frame.copyTo(s.bgr);
    }
    if (!s.initialised || s.bgr.size() != s.size) {
      s.size = s.bgr.size();
      s.scale = s.size.width / kReferenceWidth;
      s.bgr.convertTo(s.bg, CV_32FC3);
      s.bgr.copyTo(s.bg8);
      s.fg = cv::Mat::zeros(s.size, CV_8U);
      const int c = std::max(0, static_cast<int>(std::lround(options_.close_px * s.scale)));
      s.open_kernel = cv::getStructuringElement(cv::MORPH_RECT, {3, 3});
      s.close_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * c + 1, 2 * c + 1});
      s.initialised = true;
      s.last_time_us = time_us;
      s.prev_time_us = -1;
      ++stats_.reinitialisations;
      return out;
    }
    const int64_t dt_us = std::min(std::max<int64_t>(0, time_us - s.last_time_us), kMaxFrameGapUs);
    s.last_time_us = time_us;

    // 1. Foreground and shadows, in one pass. `raw` marks every changed pixel (shadows too: the
    // background must not learn them); `fg` only object pixels.
    const int w = s.size.width, h = s.size.height;
    s.fg.create(s.size, CV_8U);
    s.raw.create(s.size, CV_8U);
    const int thr = options_.threshold;
    const bool shadows = options_.shadow_suppression;
    const float lo = options_.shadow_min_ratio, hi = options_.shadow_max_ratio;
    const float chroma2 = options_.shadow_chroma_tolerance * options_.shadow_chroma_tolerance;
    const float tex = options_.shadow_texture_tolerance;
    for (int y = 0; y < h; ++y) {
      const uint8_t* in = s.bgr.ptr<uint8_t>(y);
      const uint8_t* bk = s.bg8.ptr<uint8_t>(y);
      const uint8_t* in_up = s.bgr.ptr<uint8_t>(std::max(0, y - 1));
      const uint8_t* in_dn = s.bgr.ptr<uint8_t>(std::min(h - 1, y + 1));
      const uint8_t* bk_up = s.bg8.ptr<uint8_t>(std::max(0, y - 1));
      const uint8_t* bk_dn = s.bg8.ptr<uint8_t>(std::min(h - 1, y + 1));
      uint8_t* f = s.fg.ptr<uint8_t>(y);
      uint8_t* r = s.raw.ptr<uint8_t>(y);
      for (int x = 0; x < w; ++x) {
        const int i0 = in[3 * x], i1 = in[3 * x + 1], i2 = in[3 * x + 2];
        const int b0 = bk[3 * x], b1 = bk[3 * x + 1], b2 = bk[3 * x + 2];
        const int d = std::abs(i0 - b0) + std::abs(i1 - b1) + std::abs(i2 - b2);
        if (d <= thr) {
          f[x] = r[x] = 0;
          continue;
        }
        r[x] = 255;
        f[x] = 255;
        if (!shadows) continue;
        const int bb = b0 * b0 + b1 * b1 + b2 * b2;
        if (bb < kMinShadowBackground) continue;
        const float alpha = static_cast<float>(i0 * b0 + i1 * b1 + i2 * b2) / bb;
        if (alpha < lo || alpha > hi) continue;
        const float e0 = i0 - alpha * b0, e1 = i1 - alpha * b1, e2 = i2 - alpha * b2;
        if (e0 * e0 + e1 * e1 + e2 * e2 > chroma2 * alpha * alpha * bb) continue;
        // Texture: a shadow darkens the road's own pattern; a vehicle replaces it.
        const int xl = std::max(0, x - 1), xr = std::min(w - 1, x + 1);
        auto sum = [](const uint8_t* p, int i) { return p[3 * i] + p[3 * i + 1] + p[3 * i + 2]; };
        const float gxi = static_cast<float>(sum(in, xr) - sum(in, xl));
        const float gyi = static_cast<float>(sum(in_dn, x) - sum(in_up, x));
        const float gxb = static_cast<float>(sum(bk, xr) - sum(bk, xl));
        const float gyb = static_cast<float>(sum(bk_dn, x) - sum(bk_up, x));
        const float err = std::abs(gxi - alpha * gxb) + std::abs(gyi - alpha * gyb);
        if (err <= tex * alpha * (std::abs(gxb) + std::abs(gyb)) + kTextureSlack) f[x] = 0;
      }
    }

    // 2. Blobs: opening drops speckle, closing fills the holes where a vehicle looks like road.
    cv::morphologyEx(s.fg, s.opened, cv::MORPH_OPEN, s.open_kernel);
    cv::morphologyEx(s.opened, s.closed, cv::MORPH_CLOSE, s.close_kernel);
    s.opened.copyTo(s.fg);
    const int n =
        cv::connectedComponentsWithStats(s.closed, s.labels, s.comp_stats, s.centroids, 8, CV_32S);
    const double min_area = options_.min_blob_area * s.size.area();

    // Motion support and frozen boxes, in pixels.
    std::vector<cv::Rect> support;
    for (const cv::Rect2f& r : motion_regions) {
      support.emplace_back(cvFloor(r.x * w) - kSupportMarginPx, cvFloor(r.y * h) - kSupportMarginPx,
                           cvCeil(r.width * w) + 2 * kSupportMarginPx,
                           cvCeil(r.height * h) + 2 * kSupportMarginPx);
    }
    std::vector<cv::Rect> frozen;
    const cv::Rect full(0, 0, w, h);
    for (const cv::Rect2f& r : frozen_) {
      const cv::Rect p =
          cv::Rect(cvFloor(r.x) - 2, cvFloor(r.y) - 2, cvCeil(r.width) + 4, cvCeil(r.height) + 4) &
          full;
      if (p.area() > 0) frozen.push_back(p);
    }

    std::vector<Blob> blobs;
    for (int i = 1; i < n; ++i) {
      const int* st = s.comp_stats.ptr<int>(i);
      const cv::Rect box(st[cv::CC_STAT_LEFT], st[cv::CC_STAT_TOP], st[cv::CC_STAT_WIDTH],
                         st[cv::CC_STAT_HEIGHT]);
      const int area = st[cv::CC_STAT_AREA];
      bool supported = !options_.require_motion_support;
      for (const cv::Rect& r : support) supported = supported || (r & box).area() > 0;
      for (const cv::Rect& r : frozen) supported = supported || (r & box).area() > 0;
      for (const cv::Rect2f& r : tracked_) {
        const cv::Rect2f b(box);
        supported = supported || (r & b).area() >= kTrackedSupportShare * b.area();
      }
      if (supported && area >= 4) {
        // A ghost has its edges in the background, not in the frame: heal it like an
        // unsupported blob, even where traffic nearby keeps the motion detector busy.
        const cv::Rect outer =
            cv::Rect(box.x - 2, box.y - 2, box.width + 4, box.height + 4) & full;
        cv::Mat mask = s.labels(outer) == i, grown, shrunk;
        cv::dilate(mask, grown, s.open_kernel);
        cv::erode(mask, shrunk, s.open_kernel);
        cv::Mat band = grown & ~shrunk;
        const double in_background = EdgeEnergy(s.bg8(outer), band);
        if (in_background >= kGhostMinEdge &&
            in_background > kGhostEdgeRatio * EdgeEnergy(s.bgr(outer), band)) {
          supported = false;
          ++stats_.ghosts;
        }
      }
      if (!supported) {
        // A ghost or a shake edge: heal the background here at once.
        if (area >= 4) {
          ++stats_.unsupported;
          cv::Mat blob = s.labels(box) == i;
          // Only what stands still is healed: a pedestrian merged with the ghost it left must
          // not be pasted into the background (it would leave a new ghost, and so on).
          cv::Mat heal = blob;
          if (s.prev.size() == s.bgr.size()) {
            cv::Mat diff, change;
            cv::absdiff(s.bgr(box), s.prev(box), diff);
            cv::transform(diff, change, cv::Matx13f(1, 1, 1));
            heal = blob & (change <= options_.threshold);
          }
          s.bgr(box).copyTo(s.bg8(box), heal);
          cv::Mat bgf = s.bg(box);
          s.bgr(box).convertTo(s.roi_mask, CV_32FC3);
          s.roi_mask.copyTo(bgf, heal);
          s.raw(box).setTo(0, blob);
          s.fg(box).setTo(0, blob);
        }
        continue;
      }
      if (area < min_area) continue;

      // 3. Split at necks: two cores left at a fraction of the largest inner distance.
      const double fill = static_cast<double>(area) / box.area();
      bool split = false;
      if (options_.split_core_ratio > 0 && area >= kSplitMinAreaFactor * min_area &&
          fill < kSplitMaxFill) {
        s.roi_mask = s.labels(box) == i;
        cv::distanceTransform(s.roi_mask, s.dist, cv::DIST_L2, 3);
        double max_dist = 0;
        cv::minMaxLoc(s.dist, nullptr, &max_dist);
        cv::threshold(s.dist, s.cores, options_.split_core_ratio * max_dist, 255,
                      cv::THRESH_BINARY);
        s.cores.convertTo(s.cores, CV_8U);
        const int nc = cv::connectedComponentsWithStats(s.cores, s.core_labels, s.core_stats,
                                                        s.core_centroids, 8, CV_32S);
        // Seeds: cores big enough to be a vehicle of their own.
        s.seeds.create(box.size(), CV_8U);
        s.seeds.setTo(255);
        int kept = 0;
        for (int c = 1; c < nc; ++c) {
          if (s.core_stats.at<int>(c, cv::CC_STAT_AREA) >= kMinCoreFraction * area) {
            s.seeds.setTo(0, s.core_labels == c);
            ++kept;
          }
        }
        if (kept >= 2) {
          // Each pixel goes to its nearest seed.
          cv::distanceTransform(s.seeds, s.seed_dist, s.seed_labels, cv::DIST_L2, 3,
                                cv::DIST_LABEL_CCOMP);
          std::vector<std::pair<int, Blob>> parts;  // seed label, part
          for (int y = 0; y < box.height; ++y) {
            const uint8_t* m = s.roi_mask.ptr<uint8_t>(y);
            const int* l = s.seed_labels.ptr<int>(y);
            for (int x = 0; x < box.width; ++x) {
              if (!m[x]) continue;
              auto it = std::find_if(parts.begin(), parts.end(),
                                     [&](const auto& p) { return p.first == l[x]; });
              if (it == parts.end()) {
                parts.push_back({l[x], Blob{cv::Rect(x, y, 1, 1), 0, false}});
                it = parts.end() - 1;
              }
              it->second.box |= cv::Rect(x, y, 1, 1);
              ++it->second.area;
            }
          }
          if (parts.size() >= 2) {
            split = true;
            ++stats_.splits;
            for (auto& [label, part] : parts) {
              part.box += box.tl();
              blobs.push_back(part);
            }
          }
        }
      }
      if (!split) blobs.push_back({box, area, false});
    }

    // 3b. Tails: a vehicle-shaped blob with a run of narrow rows above or below it is a vehicle
    // touching someone on the kerb (or a pole): cut the tail off as a blob of its own.
    for (size_t b = 0, n_blobs = blobs.size(); b < n_blobs; ++b) {
      Blob tail;
      if (CutTail(s.closed, &blobs[b], &tail)) {
        blobs[b].cut = tail.cut = true;
        blobs.push_back(tail);
        ++stats_.tails;
      }
    }
    const int gap = static_cast<int>(std::lround(options_.merge_gap_px * s.scale));
    // 3c. Motion: objects overlapping on screen that move differently (adjacent lanes, a
    // pedestrian at the kerb).
    cv::cvtColor(s.bgr, s.grey, cv::COLOR_BGR2GRAY);
    const double gap_s = static_cast<double>(time_us - s.prev_time_us) / 1e6;
    const int max_shift = std::min<int>(std::lround(kMotionMaxShare * w),
                                        std::lround(kMotionWidthsPerSecond * w * gap_s));
    if (s.prev_grey.size() == s.grey.size() && s.prev_time_us >= 0 && max_shift > 0 && gap_s > 0) {
      const int step = std::max(1, static_cast<int>(std::lround(kMotionShiftStepPx * s.scale)));
      const int min_height = static_cast<int>(std::lround(kMotionMinHeightPx * s.scale));
      bool padded = false;
      for (size_t b = 0, n_blobs = blobs.size(); b < n_blobs; ++b) {
        if (blobs[b].area < 2 * min_area || blobs[b].box.height < min_height) continue;
        if (!padded) {
          cv::copyMakeBorder(s.prev_grey, s.prev_padded, 0, 0, max_shift, max_shift,
                             cv::BORDER_REPLICATE);
          padded = true;
        }
        std::vector<Blob>& parts = s.motion.parts;
        parts.clear();
        if (SplitByMotion(s.grey, s.prev_padded, blobs[b].box, s.fg(blobs[b].box), max_shift, step,
                          kMotionMinShiftPx * s.scale, gap, s.open_kernel, &s.motion, &parts)) {
          ++stats_.motion_cuts;
          blobs[b] = parts[0];
          blobs.insert(blobs.end(), parts.begin() + 1, parts.end());
        }
      }
    }

    // 3d. Stacked: two vehicles of adjacent lanes overlapping on screen.
    for (size_t b = 0, n_blobs = blobs.size(); b < n_blobs; ++b) {
      if (blobs[b].cut || blobs[b].area < 2 * min_area) continue;
      Blob lower;
      const bool too_tall =
          calibration_ != nullptr &&
          calibration_->FootprintOf(cv::Rect2f(blobs[b].box)).height_m >= kStackMinHeightM;
      if (CutStacked(s.closed, too_tall, &blobs[b], &lower)) {
        blobs[b].cut = lower.cut = true;
        blobs.push_back(lower);
        ++stats_.stacked;
      }
    }

    // 4. Merge fragments of one vehicle: a small blob next to a much larger one.
    for (bool merged = true; merged;) {
      merged = false;
      for (size_t a = 0; a < blobs.size() && !merged; ++a) {
        for (size_t b = a + 1; b < blobs.size() && !merged; ++b) {
          const Blob& big = blobs[a].area >= blobs[b].area ? blobs[a] : blobs[b];
          const Blob& small = blobs[a].area >= blobs[b].area ? blobs[b] : blobs[a];
          if (blobs[a].cut || blobs[b].cut) continue;
          if (Gap(big.box, small.box) > gap) continue;
          if (small.area > options_.merge_max_fragment * big.area) continue;
          blobs[a] = Blob{big.box | small.box, big.area + small.area, false};
          blobs.erase(blobs.begin() + b);
          merged = true;
          ++stats_.merges;
        }
      }
    }

    for (const Blob& b : blobs) {
      if (b.area < min_area) continue;
      Detection d;
      d.box = cv::Rect2f(b.box);
      d.object_class = ClassifyBySize(d.box, s.size, calibration_, options_);
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

    // 5. Background: free road adapts, blobs (and their shadows) slowly, frozen boxes not at all.
    cv::dilate(s.raw, s.update, s.open_kernel);
    s.frozen = cv::Mat::zeros(s.size, CV_8U);
    for (const cv::Rect& r : frozen) s.frozen(r).setTo(255);
    cv::bitwise_or(s.update, s.frozen, s.not_update);
    cv::bitwise_not(s.not_update, s.not_update);  // free road
    const double rate = AdaptRate(dt_us, options_.background_adapt_ms);
    const double fg_rate = AdaptRate(dt_us, options_.foreground_adapt_ms);
    if (rate > 0) {
      cv::accumulateWeighted(s.bgr, s.bg, rate, s.not_update);
      if (!frozen.empty()) s.update.setTo(0, s.frozen);
      cv::accumulateWeighted(s.bgr, s.bg, fg_rate, s.update);
      s.bg.convertTo(s.bg8, CV_8U);
    }
    cv::swap(s.bgr, s.prev);  // the next frame is copied into the old buffer
    cv::swap(s.grey, s.prev_grey);
    s.prev_time_us = time_us;
  } catch (const cv::Exception&) {
    ++stats_.rejected_frames;
    s.initialised = false;
    out.clear();
  }
  return out;
}

}  // namespace skynet::analytics
