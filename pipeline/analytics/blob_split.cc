#include "pipeline/analytics/blob_split.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <utility>

namespace skynet::analytics {
namespace {

// Blobs are split only if they are this many times the minimum area and fill their box less
// than this (two vehicles touching at a corner leave empty box corners; one vehicle does not).
constexpr int kSplitMinAreaFactor = 4;
constexpr double kSplitMaxFill = 0.8;
// A core must hold this fraction of the blob's pixels to stand for a vehicle of its own.
constexpr double kMinCoreFraction = 0.04;

// Tails (CutTail): rows with fewer foreground pixels than this share of the widest row are
// narrow; a tail is at least kTailMinRows and this share of the remaining body's height; the body
// must be at least this much wider than tall (a vehicle, not a person).
constexpr double kTailNarrow = 0.35;
constexpr double kTailMinShare = 0.3;
constexpr double kTailBodyAspect = 1.2;
constexpr double kTailMaxWidthShare = 0.4;

// Stacked vehicles (CutStacked): adjacent rows whose left or right foreground edge jumps by
// this share of the blob's width, with at least this share of the height on each side.
constexpr double kStackEdgeJump = 0.3;
constexpr double kStackMinShare = 0.3;
// ...and neither part's horizontal extent may hold the other's (give or take this share).
constexpr double kStackContainSlack = 0.1;

// The parts of the blob in `roi_mask` (box-sized), one per seed label: each pixel joins the part
// of its nearest seed. Parts are in box coordinates, in the order their first pixel is met.
std::vector<std::pair<int, Blob>> PartsBySeed(const cv::Mat& roi_mask, const cv::Mat& seed_labels) {
  std::vector<std::pair<int, Blob>> parts;  // seed label, part
  for (int y = 0; y < roi_mask.rows; ++y) {
    const uint8_t* m = roi_mask.ptr<uint8_t>(y);
    const int* l = seed_labels.ptr<int>(y);
    for (int x = 0; x < roi_mask.cols; ++x) {
      if (!m[x]) continue;
      auto it =
          std::find_if(parts.begin(), parts.end(), [&](const auto& p) { return p.first == l[x]; });
      if (it == parts.end()) {
        parts.push_back({l[x], Blob{cv::Rect(x, y, 1, 1), 0, false}});
        it = parts.end() - 1;
      }
      it->second.box |= cv::Rect(x, y, 1, 1);
      ++it->second.area;
    }
  }
  return parts;
}

// The leftmost and rightmost foreground column of each row of `fg` inside `box` (box
// coordinates; -1 for an empty row).
void RowExtents(const cv::Mat& fg, const cv::Rect& box, std::vector<int>* left,
                std::vector<int>* right) {
  left->assign(box.height, -1);
  right->assign(box.height, -1);
  for (int y = 0; y < box.height; ++y) {
    const uint8_t* row = fg.ptr<uint8_t>(box.y + y) + box.x;
    for (int x = 0; x < box.width; ++x) {
      if (!row[x]) continue;
      if ((*left)[y] < 0) (*left)[y] = x;
      (*right)[y] = x;
    }
  }
}

// The row (box coordinates) where the rows' extent jumps the most, by at least `jump`, with at
// least `min_rows` on each side; -1 if none.
int StackCutRow(const std::vector<int>& left, const std::vector<int>& right, int min_rows,
                double jump) {
  const int height = static_cast<int>(left.size());
  int cut = -1;
  double best = 0;
  for (int y = min_rows; y <= height - min_rows; ++y) {
    if (left[y] < 0 || left[y - 1] < 0) continue;
    // The same jump must hold a few rows on: a real boundary, not a ragged edge.
    const int a = y - 1, b = std::min(height - 1, y + 2);
    if (left[b] < 0) continue;
    const double dl = std::abs(left[b] - left[a]), dr = std::abs(right[b] - right[a]);
    const double d = std::max(dl, dr);
    if (d >= jump && d > best) {
      best = d;
      cut = y;
    }
  }
  return cut;
}

}  // namespace

int Gap(const cv::Rect& a, const cv::Rect& b) {
  const int dx = std::max({0, b.x - (a.x + a.width), a.x - (b.x + b.width)});
  const int dy = std::max({0, b.y - (a.y + a.height), a.y - (b.y + b.height)});
  return std::max(dx, dy);
}

bool SplitAtNeck(const cv::Mat& labels, int label, const cv::Rect& box, int area, double min_area,
                 float core_ratio, NeckScratch* s, std::vector<Blob>* out) {
  const double fill = static_cast<double>(area) / box.area();
  if (!(core_ratio > 0 && area >= kSplitMinAreaFactor * min_area && fill < kSplitMaxFill)) {
    return false;
  }
  s->roi_mask = labels(box) == label;
  cv::distanceTransform(s->roi_mask, s->dist, cv::DIST_L2, 3);
  double max_dist = 0;
  cv::minMaxLoc(s->dist, nullptr, &max_dist);
  cv::threshold(s->dist, s->cores, core_ratio * max_dist, 255, cv::THRESH_BINARY);
  s->cores.convertTo(s->cores, CV_8U);
  const int nc = cv::connectedComponentsWithStats(s->cores, s->core_labels, s->core_stats,
                                                  s->core_centroids, 8, CV_32S);
  // Seeds: cores big enough to be a vehicle of their own.
  s->seeds.create(box.size(), CV_8U);
  s->seeds.setTo(255);
  int kept = 0;
  for (int c = 1; c < nc; ++c) {
    if (s->core_stats.at<int>(c, cv::CC_STAT_AREA) >= kMinCoreFraction * area) {
      s->seeds.setTo(0, s->core_labels == c);
      ++kept;
    }
  }
  if (kept < 2) return false;
  // Each pixel goes to its nearest seed.
  cv::distanceTransform(s->seeds, s->seed_dist, s->seed_labels, cv::DIST_L2, 3,
                        cv::DIST_LABEL_CCOMP);
  std::vector<std::pair<int, Blob>> parts = PartsBySeed(s->roi_mask, s->seed_labels);
  if (parts.size() < 2) return false;
  for (auto& [seed, part] : parts) {
    part.box += box.tl();
    out->push_back(part);
  }
  return true;
}

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

// Two vehicles in adjacent lanes overlapping on screen (the nearer one hides the lower part of
// the farther one), offset along the road: each part gets its own rows' extent.
bool CutStacked(const cv::Mat& fg, bool too_tall, Blob* blob, Blob* lower) {
  const cv::Rect box = blob->box;
  const int min_rows = std::max(4, static_cast<int>(kStackMinShare * box.height));
  if (box.height < 2 * min_rows || box.width < 8) return false;
  std::vector<int> left, right;
  RowExtents(fg, box, &left, &right);
  const int cut = StackCutRow(left, right, min_rows, kStackEdgeJump * box.width);
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

namespace {

// The part of `fg` inside `rect` as a blob with its box tightened to its pixels; false if empty.
bool TightBlob(const cv::Mat& fg, const cv::Rect& rect, Blob* out) {
  std::vector<cv::Point> points;
  cv::findNonZero(fg(rect), points);
  if (points.empty()) return false;
  out->box = cv::boundingRect(points) + rect.tl();
  out->area = static_cast<int>(points.size());
  out->cut = true;
  return true;
}

// The foreground pixels of each row (`rows`) or column of `fg` inside `box`.
std::vector<int> Profile(const cv::Mat& fg, const cv::Rect& box, bool rows) {
  std::vector<int> p(rows ? box.height : box.width, 0);
  for (int y = 0; y < box.height; ++y) {
    const uint8_t* row = fg.ptr<uint8_t>(box.y + y) + box.x;
    for (int x = 0; x < box.width; ++x) {
      if (row[x]) ++p[rows ? y : x];
    }
  }
  return p;
}

// The median of the non-empty entries of `p` (0 if none).
int NonEmptyMedian(std::vector<int> p) {
  p.erase(std::remove(p.begin(), p.end(), 0), p.end());
  if (p.empty()) return 0;
  std::nth_element(p.begin(), p.begin() + p.size() / 2, p.end());
  return p[p.size() / 2];
}

}  // namespace

int CutAlongRoad(const cv::Mat& fg, const VehicleRows& rows, Blob* blob, std::vector<Blob>* parts) {
  // A few vehicles at most: each cut leaves a part at least rows()[0] high.
  constexpr int kMaxCuts = 8;
  int cuts = 0;
  while (cuts < kMaxCuts) {
    const cv::Rect box = blob->box;
    const cv::Vec2i range = rows(box);
    const int lo = std::max(kTailMinRows, range[0]),
              hi = std::min(box.height - kTailMinRows, range[1]);
    if (box.height <= range[1] || lo > hi || box.width < 2) break;
    // The emptiest row between lo and hi rows above the bottom: the road between two vehicles,
    // or the narrow join of a bonnet and the vehicle ahead.
    const std::vector<int> profile = Profile(fg, box, true);
    int cut = -1, fewest = std::numeric_limits<int>::max();
    for (int h = lo; h <= hi; ++h) {
      const int y = box.br().y - h;
      if (profile[y - box.y] < fewest) {
        fewest = profile[y - box.y];
        cut = y;
      }
    }
    if (fewest > kValleyShare * NonEmptyMedian(profile)) break;
    Blob lower, upper;
    if (!TightBlob(fg, cv::Rect(box.x, cut + 1, box.width, box.br().y - cut - 1), &lower) ||
        !TightBlob(fg, cv::Rect(box.x, box.y, box.width, cut + 1 - box.y), &upper)) {
      break;
    }
    parts->push_back(lower);
    *blob = upper;
    ++cuts;
  }
  return cuts;
}

int CutAcrossRoad(const cv::Mat& fg, const VehicleColumns& columns, Blob* blob,
                  std::vector<Blob>* parts) {
  constexpr int kMaxCuts = 8;
  int cuts = 0;
  // Parts still to look at: the blob itself first, then what is cut off its right.
  std::vector<Blob> todo{*blob};
  std::vector<Blob> done;
  while (!todo.empty()) {
    Blob b = todo.back();
    todo.pop_back();
    const cv::Rect box = b.box;
    const cv::Vec2i range = columns(box);
    const int min_w = std::max(2, range[0]);
    if (cuts >= kMaxCuts || box.width <= range[1] || box.width < 2 * min_w) {
      done.push_back(b);
      continue;
    }
    const std::vector<int> profile = Profile(fg, box, false);
    int cut = -1, fewest = std::numeric_limits<int>::max();
    for (int x = min_w; x <= box.width - min_w; ++x) {
      if (profile[x] < fewest) {
        fewest = profile[x];
        cut = x;
      }
    }
    Blob left, right;
    if (cut < 0 || fewest > kValleyShare * NonEmptyMedian(profile) ||
        !TightBlob(fg, cv::Rect(box.x, box.y, cut, box.height), &left) ||
        !TightBlob(fg, cv::Rect(box.x + cut, box.y, box.width - cut, box.height), &right)) {
      done.push_back(b);
      continue;
    }
    ++cuts;
    todo.push_back(right);
    todo.push_back(left);
  }
  if (cuts == 0) return 0;
  std::sort(done.begin(), done.end(),
            [](const Blob& a, const Blob& b) { return a.box.x < b.box.x; });
  *blob = done.front();
  parts->insert(parts->end(), done.begin() + 1, done.end());
  return cuts;
}

bool CutBelowLamps(const cv::Mat& fg, const cv::Mat& lamp, int max_below, Blob* blob, Blob* lower) {
  const cv::Rect box = blob->box;
  // The highest run of rows with lamp pixels: the vehicle's own lamps, above their reflections.
  int lamp_bottom = -1;
  for (int y = box.y; y < box.br().y; ++y) {
    const bool lit = cv::countNonZero(lamp(cv::Rect(box.x, y, box.width, 1))) > 0;
    if (lit) {
      lamp_bottom = y;
    } else if (lamp_bottom >= 0) {
      break;
    }
  }
  if (lamp_bottom < 0) return false;
  const int cut = lamp_bottom + std::max(1, max_below) + 1;  // first row below the vehicle
  if (cut >= box.br().y) return false;
  Blob upper;
  if (!TightBlob(fg, cv::Rect(box.x, box.y, box.width, cut - box.y), &upper)) return false;
  if (!TightBlob(fg, cv::Rect(box.x, cut, box.width, box.br().y - cut), lower)) *lower = Blob{};
  *blob = upper;
  return true;
}

int MergeFragments(int gap, float max_fragment, std::vector<Blob>* blobs) {
  return MergeFragments(
      max_fragment,
      [gap](const Blob& big, const Blob& small) { return Gap(big.box, small.box) <= gap; }, blobs);
}

int MergeFragments(float max_fragment, const FragmentTest& is_fragment,
                   std::vector<Blob>* blobs_in) {
  std::vector<Blob>& blobs = *blobs_in;
  int merges = 0;
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t a = 0; a < blobs.size() && !merged; ++a) {
      for (size_t b = a + 1; b < blobs.size() && !merged; ++b) {
        const Blob& big = blobs[a].area >= blobs[b].area ? blobs[a] : blobs[b];
        const Blob& small = blobs[a].area >= blobs[b].area ? blobs[b] : blobs[a];
        if (blobs[a].cut || blobs[b].cut) continue;
        if (small.area > max_fragment * big.area) continue;
        if (!is_fragment(big, small)) continue;
        blobs[a] = Blob{big.box | small.box, big.area + small.area, false};
        blobs.erase(blobs.begin() + b);
        merged = true;
        ++merges;
      }
    }
  }
  return merges;
}

int CutAtLanes(const cv::Mat& fg, const LaneAt& lane_at, const VehicleColumns& columns, Blob* blob,
               std::vector<Blob>* parts) {
  const cv::Rect box = blob->box;
  if (box.width < 2) return 0;
  // Each column's lowest pixel and its lane; empty columns take their left neighbour's lane.
  std::vector<int> lane(box.width, -2), bottom(box.width, -1);
  for (int x = 0; x < box.width; ++x) {
    for (int y = box.height - 1; y >= 0; --y) {
      if (fg.at<uint8_t>(box.y + y, box.x + x)) {
        bottom[x] = box.y + y;
        lane[x] = lane_at({box.x + x, box.y + y});
        break;
      }
    }
  }
  for (int x = 1; x < box.width; ++x) {
    if (bottom[x] < 0) lane[x] = lane[x - 1];
  }
  // Runs of one lane; a run narrower than the narrowest vehicle where it stands (a wheel or a
  // mirror over the line) joins the run before it.
  struct Run {
    int begin, end, lane, bottom;  // columns [begin, end) of the box, lowest pixel row
  };
  std::vector<Run> runs;
  for (int x = 0; x < box.width; ++x) {
    if (runs.empty() || runs.back().lane != lane[x]) runs.push_back({x, x, lane[x], -1});
    runs.back().end = x + 1;
    runs.back().bottom = std::max(runs.back().bottom, bottom[x]);
  }
  auto wide_enough = [&](const Run& r) {
    if (r.lane < 0 || r.bottom < 0) return false;
    const cv::Rect part(box.x + r.begin, box.y, r.end - r.begin, r.bottom + 1 - box.y);
    return r.end - r.begin >= std::max(2, columns(part)[0]);
  };
  std::vector<Run> kept;
  for (const Run& r : runs) {
    if (!kept.empty() && (!wide_enough(r) || kept.back().lane == r.lane)) {
      kept.back().end = r.end;
      kept.back().bottom = std::max(kept.back().bottom, r.bottom);
    } else if (!kept.empty() && !wide_enough(kept.back())) {
      // A narrow leading run joins the one after it.
      kept.back() = {kept.back().begin, r.end, r.lane, std::max(kept.back().bottom, r.bottom)};
    } else {
      kept.push_back(r);
    }
  }
  if (kept.size() < 2 || !wide_enough(kept.back()) || !wide_enough(kept.front())) return 0;
  // Cut at the emptiest column within a quarter of the narrower side of each change.
  const std::vector<int> profile = Profile(fg, box, false);
  std::vector<int> cuts{0};
  for (size_t i = 1; i < kept.size(); ++i) {
    const int reach =
        std::min(kept[i - 1].end - kept[i - 1].begin, kept[i].end - kept[i].begin) / 4;
    int cut = kept[i].begin, fewest = std::numeric_limits<int>::max();
    for (int x = std::max(cuts.back() + 1, kept[i].begin - reach);
         x <= std::min(box.width - 1, kept[i].begin + reach); ++x) {
      if (profile[x] < fewest) {
        fewest = profile[x];
        cut = x;
      }
    }
    cuts.push_back(cut);
  }
  cuts.push_back(box.width);
  std::vector<Blob> pieces;
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    Blob piece;
    if (cuts[i + 1] > cuts[i] &&
        TightBlob(fg, cv::Rect(box.x + cuts[i], box.y, cuts[i + 1] - cuts[i], box.height),
                  &piece)) {
      pieces.push_back(piece);
    }
  }
  // Each piece must stand as a vehicle: at least as tall as the narrowest vehicle is wide where
  // it stands (a headlight beam on the road at night is flat).
  for (const Blob& piece : pieces) {
    if (piece.box.height < std::max(2, columns(piece.box)[0])) return 0;
  }
  if (pieces.size() < 2) return 0;
  *blob = pieces[0];
  parts->insert(parts->end(), pieces.begin() + 1, pieces.end());
  return static_cast<int>(pieces.size()) - 1;
}

}  // namespace skynet::analytics
