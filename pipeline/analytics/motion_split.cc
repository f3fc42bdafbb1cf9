#include "pipeline/analytics/motion_split.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <opencv2/imgproc.hpp>

namespace skynet::analytics {
namespace {

// One more motion must take at least this share of the rows over (those it explains better
// than the motions so far), leave at most this share of their error...
constexpr double kMotionMinRowShare = 0.1;
constexpr double kMotionMaxRatio = 0.6;
// ...with a mean error per pixel there of at most this many grey levels...
constexpr double kMotionMaxPixelError = 30;
// ...and differ from the others by at least min_shift and this share of the larger.
constexpr double kMotionMinShiftShare = 0.15;
constexpr int kMotionRefinements = 3;
// Rows' errors are summed over this many rows around each (a row alone is noisy).
constexpr int kMotionRowWindow = 3;
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
// Pieces of one motion at most join_gap apart that share this share of the lower one's rows are
// one object.
constexpr double kMotionJoinRows = 0.5;

// One blob's search: its rows' errors against the previous frame at every searched shift. Shift
// index i stands for the shift -max_shift + i * step (pixel x came from x - shift).
struct RowSearch {
  const cv::Mat& prev_padded;
  const cv::Rect& box;
  const cv::Mat& own;
  cv::Mat current;  // the blob's box of this frame
  int max_shift, step, shifts, rows, w;
  MotionScratch* sc;

  int ShiftOf(int i) const { return (i - shifts / 2) * step; }
  const double* WindowedRow(int y) const { return &sc->windowed[static_cast<size_t>(y) * shifts]; }

  // Pixels per row, cumulative along the row: the pixels of any column range.
  void CountPixels() const {
    sc->count.assign(rows, 0);
    sc->cumulative.assign(static_cast<size_t>(rows) * (box.width + 1), 0);
    for (int y = 0; y < rows; ++y) {
      const uint8_t* m = own.ptr<uint8_t>(y);
      int* c = &sc->cumulative[static_cast<size_t>(y) * (box.width + 1)];
      for (int x = 0; x < box.width; ++x) c[x + 1] = c[x] + (m[x] != 0);
      sc->count[y] = c[box.width];
    }
  }

  // Row errors at shift k: the mean of |current - previous at x - k| over the row's pixels
  // whose source is in the frame (an object entering the view has none for its new part),
  // times the row's pixel count; rows with less than half their pixels' sources known get the
  // worst error.
  void RowErrors(int k, double* out, size_t stride) const {
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
  }

  // Every row's error at every shift, then summed over kMotionRowWindow rows.
  void AllRowErrors() const {
    sc->rows.assign(static_cast<size_t>(rows) * shifts, 0.0);
    for (int i = 0; i < shifts; ++i) RowErrors(ShiftOf(i), &sc->rows[i], shifts);
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
  }
};

// The shift index that explains the most error away beyond `motions` (the best for the whole
// blob when there are none), or -1 when none takes enough rows over and explains them well.
int PickMotion(const RowSearch& rs, const std::vector<int>& motions, double min_shift,
               int min_rows) {
  const MotionScratch& sc = *rs.sc;
  int pick = -1;
  double pick_gain = 0;
  for (int k = 0; k < rs.shifts; ++k) {
    bool distinct = true;
    for (int m : motions) {
      const int d = std::abs(rs.ShiftOf(k) - rs.ShiftOf(m));
      distinct =
          distinct && d >= min_shift &&
          d >= kMotionMinShiftShare * std::max(std::abs(rs.ShiftOf(k)), std::abs(rs.ShiftOf(m)));
    }
    if (!distinct) continue;
    double before = 0, after = 0, pixels = 0;
    int taken = 0;
    for (int y = 0; y < rs.rows; ++y) {
      const double e = rs.WindowedRow(y)[k];
      if (e >= sc.best[y]) continue;
      ++taken;
      before += std::min(sc.best[y], 255.0 * kMotionRowWindow * sc.count[y]);
      after += e;
      pixels += sc.windowed_count[y];
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
  return pick;
}

// Lloyd: rows to their best motion, each motion to the best shift of its rows. A first pick
// between two close motions moves to one of them, which lets the other in. Then every row's
// least error among the motions.
void RefineMotions(const RowSearch& rs, std::vector<int>* motions_in) {
  std::vector<int>& motions = *motions_in;
  MotionScratch& sc = *rs.sc;
  std::vector<int>& owner = sc.owner;
  for (int iteration = 0; iteration < kMotionRefinements; ++iteration) {
    owner.assign(rs.rows, 0);
    for (int y = 0; y < rs.rows; ++y) {
      const double* wy = rs.WindowedRow(y);
      for (size_t i = 1; i < motions.size(); ++i) {
        if (wy[motions[i]] < wy[motions[owner[y]]]) owner[y] = static_cast<int>(i);
      }
    }
    for (size_t i = 0; i < motions.size(); ++i) {
      sc.sum.assign(rs.shifts, 0.0);
      for (int y = 0; y < rs.rows; ++y) {
        if (owner[y] != static_cast<int>(i)) continue;
        const double* wy = rs.WindowedRow(y);
        for (int k = 0; k < rs.shifts; ++k) sc.sum[k] += wy[k];
      }
      motions[i] =
          static_cast<int>(std::min_element(sc.sum.begin(), sc.sum.end()) - sc.sum.begin());
    }
  }
  for (int y = 0; y < rs.rows; ++y) {
    sc.best[y] = std::numeric_limits<double>::max();
    for (int m : motions) sc.best[y] = std::min(sc.best[y], rs.WindowedRow(y)[m]);
  }
}

// Motions (shift indices, sorted, distinct), greedily: the shift best for the whole blob, then
// while one more takes enough rows over and explains them clearly better.
std::vector<int> FindMotions(const RowSearch& rs, double min_shift) {
  std::vector<int> motions;
  rs.sc->best.assign(rs.rows, std::numeric_limits<double>::max());
  const int min_rows = std::max<int>(kTailMinRows, std::lround(kMotionMinRowShare * rs.rows));
  while (static_cast<int>(motions.size()) < kMaxMotions) {
    const int pick = PickMotion(rs, motions, min_shift, min_rows);
    if (pick < 0) break;
    motions.push_back(pick);
    RefineMotions(rs, &motions);
  }
  std::sort(motions.begin(), motions.end());
  motions.erase(std::unique(motions.begin(), motions.end()), motions.end());
  return motions;
}

// The shift of motion `i` in pixels: the searched shifts are `step` apart, so the best one
// within, on the rows this motion has.
int RefineShift(const RowSearch& rs, const std::vector<int>& motions, size_t i) {
  MotionScratch& sc = *rs.sc;
  int shift = rs.ShiftOf(motions[i]);
  if (rs.step == 1) return shift;
  std::vector<char>& mine = sc.mine;
  mine.assign(rs.rows, 0);
  for (int y = 0; y < rs.rows; ++y) {
    const double* wy = rs.WindowedRow(y);
    mine[y] =
        std::all_of(motions.begin(), motions.end(), [&](int m) { return wy[motions[i]] <= wy[m]; });
  }
  double least = 0;
  for (int y = 0; y < rs.rows; ++y) {
    if (mine[y]) least += sc.rows[static_cast<size_t>(y) * rs.shifts + motions[i]];
  }
  const int centre = shift;
  sc.refined.resize(rs.rows);
  for (int d = -(rs.step / 2); d <= rs.step / 2; ++d) {
    const int k = centre + d;
    if (d == 0 || std::abs(k) > rs.max_shift) continue;
    rs.RowErrors(k, sc.refined.data(), 1);
    double sum = 0;
    for (int y = 0; y < rs.rows; ++y) sum += mine[y] ? sc.refined[y] : 0;
    if (sum < least) {
      least = sum;
      shift = k;
    }
  }
  return shift;
}

// sc.error[i]: each pixel's error under motion i, summed over its 5x5 neighbourhood.
void PixelErrors(const RowSearch& rs, const int* shift, int nm) {
  MotionScratch& sc = *rs.sc;
  for (int i = 0; i < nm; ++i) {
    cv::Mat& e = sc.error[i];
    const cv::Mat from = rs.prev_padded(
        cv::Rect(rs.box.x + rs.max_shift - shift[i], rs.box.y, rs.box.width, rs.rows));
    cv::absdiff(rs.current, from, sc.diff);
    cv::bitwise_and(sc.diff, rs.own, sc.diff);
    sc.diff.convertTo(e, CV_32F);
    cv::boxFilter(e, e, -1, {5, 5}, {-1, -1}, false);
  }
}

// One labelling of sc.label (1 + motion, 0 off the blob) by the active motions: each pixel to
// the motion that explains its neighbourhood clearly best, else to the motion best for its row.
// Counts each motion's pixels and those it won clearly.
void LabelPixels(const RowSearch& rs, const std::vector<int>& motions, const int* shift,
                 const bool* active, int* pixels, int* clear_pixels) {
  MotionScratch& sc = *rs.sc;
  const int nm = static_cast<int>(motions.size());
  for (int y = 0; y < rs.rows; ++y) {
    const uint8_t* m = rs.own.ptr<uint8_t>(y);
    uint8_t* l = sc.label.ptr<uint8_t>(y);
    int row_best = -1;
    const double* wy = rs.WindowedRow(y);
    for (int i = 0; i < nm; ++i) {
      if (!active[i]) continue;
      if (row_best < 0 || wy[motions[i]] < wy[motions[row_best]]) row_best = i;
    }
    const float* e[kMaxMotions];
    for (int i = 0; i < nm; ++i) e[i] = sc.error[i].ptr<float>(y);
    for (int x = 0; x < rs.box.width; ++x) {
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
        const int from = rs.box.x + x - shift[i];
        inside = inside &&
                 (!active[i] || (from >= kMotionEdgeMargin && from < rs.w - kMotionEdgeMargin));
      }
      const bool clear = inside && e[first][x] + kMotionPixelSlack < kMotionPixelRatio * second;
      const int label = clear ? first : row_best;
      l[x] = static_cast<uint8_t>(1 + label);
      ++pixels[label];
      clear_pixels[label] += clear;
    }
  }
}

// Labels the pixels, dropping (and labelling again without) a motion that wins few pixels
// clearly, most of its pixels only by their row: a compromise between two others (rows where
// two objects meet). Returns the motions left active.
int LabelByMotion(const RowSearch& rs, const std::vector<int>& motions, const int* shift,
                  bool* active) {
  const int nm = static_cast<int>(motions.size());
  for (int i = 0; i < nm; ++i) active[i] = true;
  int active_count = nm;
  rs.sc->label.create(rs.box.size(), CV_8U);
  while (true) {
    int clear_pixels[kMaxMotions] = {}, pixels[kMaxMotions] = {};
    LabelPixels(rs, motions, shift, active, pixels, clear_pixels);
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
  return active_count;
}

// `small`'s pixels join `big`.
void Absorb(Blob& big, const Blob& small) {
  big.box |= small.box;
  big.area += small.area;
}

// Each active motion's connected parts (after an opening) become blobs, cut; pieces of one
// motion side by side in the same rows, a few pixels apart, are one object whose middle no
// motion explained clearly (a uniform body).
void CollectParts(const RowSearch& rs, int nm, const bool* active, int join_gap,
                  const cv::Mat& open_kernel, std::vector<Blob>* parts) {
  MotionScratch& sc = *rs.sc;
  for (int i = 0; i < nm; ++i) {
    if (!active[i]) continue;
    cv::compare(sc.label, i + 1, sc.part, cv::CMP_EQ);
    cv::morphologyEx(sc.part, sc.part, cv::MORPH_OPEN, open_kernel);
    const int n = cv::connectedComponentsWithStats(sc.part, sc.comp, sc.comp_stats,
                                                   sc.comp_centroids, 8, CV_32S);
    const size_t first = parts->size();
    for (int c = 1; c < n; ++c) {
      const int* st = sc.comp_stats.ptr<int>(c);
      if (st[cv::CC_STAT_AREA] < kMotionMinPartArea) continue;
      const cv::Rect r(st[cv::CC_STAT_LEFT], st[cv::CC_STAT_TOP], st[cv::CC_STAT_WIDTH],
                       st[cv::CC_STAT_HEIGHT]);
      Blob part;
      part.box = r + rs.box.tl();
      part.area = st[cv::CC_STAT_AREA];
      part.cut = true;
      bool joined = false;
      for (size_t j = first; j < parts->size() && !joined; ++j) {
        Blob& other = (*parts)[j];
        const int rows_shared =
            std::min(other.box.br().y, part.box.br().y) - std::max(other.box.y, part.box.y);
        if (Gap(other.box, part.box) <= join_gap &&
            rows_shared >= kMotionJoinRows * std::min(other.box.height, part.box.height)) {
          Absorb(other, part);
          joined = true;
        }
      }
      if (!joined) parts->push_back(std::move(part));
    }
  }
}

// A small part mostly inside a larger part's box is a piece of that object that its motion did
// not explain (a uniform patch, a wheel): it goes back to the larger part. Parts from `before`
// on end sorted by area, largest first.
void AbsorbFragments(size_t before, std::vector<Blob>* parts) {
  std::sort(parts->begin() + static_cast<std::ptrdiff_t>(before), parts->end(),
            [](const Blob& a, const Blob& b) { return a.area > b.area; });
  for (size_t i = parts->size(); i-- > before + 1;) {
    const Blob& small = (*parts)[i];
    for (size_t j = before; j < i; ++j) {
      Blob& big = (*parts)[j];
      if (small.area <= kMotionFragmentShare * big.area &&
          (small.box & big.box).area() >= kMotionFragmentInside * small.box.area()) {
        Absorb(big, small);
        parts->erase(parts->begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
}

}  // namespace

bool SplitByMotion(const cv::Mat& grey, const cv::Mat& prev_padded, const cv::Rect& box,
                   const cv::Mat& own, int max_shift, int step, double min_shift, int join_gap,
                   const cv::Mat& open_kernel, MotionScratch* sc, std::vector<Blob>* parts) {
  if (box.height < 2 * kTailMinRows || box.width < 4) return false;
  const RowSearch rs{
      prev_padded, box,       own, grey(box), max_shift, step, 2 * (max_shift / step) + 1,
      box.height,  grey.cols, sc};
  rs.CountPixels();
  rs.AllRowErrors();
  const std::vector<int> motions = FindMotions(rs, min_shift);
  if (motions.size() < 2) return false;

  const int nm = static_cast<int>(motions.size());
  int shift[kMaxMotions];
  for (int i = 0; i < nm; ++i) shift[i] = RefineShift(rs, motions, i);
  PixelErrors(rs, shift, nm);
  bool active[kMaxMotions];
  if (LabelByMotion(rs, motions, shift, active) < 2) return false;
  const size_t before = parts->size();
  CollectParts(rs, nm, active, join_gap, open_kernel, parts);
  AbsorbFragments(before, parts);
  if (parts->size() - before < 2) {
    parts->resize(before);
    return false;
  }
  return true;
}

}  // namespace skynet::analytics
