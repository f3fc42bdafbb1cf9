#include "pipeline/analytics/hungarian.h"

#include <algorithm>
#include <limits>

namespace skynet::analytics {
namespace {

// Shortest augmenting paths with potentials (the e-maxx formulation), for n <= m. `a` is
// 1-based: a[i][j], i in 1..n, j in 1..m. Returns p: p[j] = row assigned to column j (0: none).
std::vector<int> Solve(const std::vector<double>& a, int n, int m) {
  const double inf = std::numeric_limits<double>::infinity();
  auto at = [&](int i, int j) { return a[(i - 1) * m + (j - 1)]; };
  std::vector<double> u(n + 1, 0), v(m + 1, 0);
  std::vector<int> p(m + 1, 0), way(m + 1, 0);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(m + 1, inf);
    std::vector<char> used(m + 1, false);
    do {
      used[j0] = true;
      const int i0 = p[j0];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double cur = at(i0, j) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  return p;
}

}  // namespace

std::vector<int> SolveAssignment(const std::vector<double>& cost, int rows, int cols) {
  std::vector<int> result(std::max(rows, 0), -1);
  if (rows <= 0 || cols <= 0) return result;
  // Forbidden pairs keep a large finite cost, so the solver still finds a complete assignment;
  // they are dropped afterwards.
  auto clamp = [](double c) { return std::min(c, kForbiddenCost); };
  if (rows <= cols) {
    std::vector<double> a(cost.size());
    std::transform(cost.begin(), cost.end(), a.begin(), clamp);
    const std::vector<int> p = Solve(a, rows, cols);
    for (int j = 1; j <= cols; ++j) {
      if (p[j] > 0) result[p[j] - 1] = j - 1;
    }
  } else {
    std::vector<double> t(static_cast<size_t>(rows) * cols);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) t[c * rows + r] = clamp(cost[r * cols + c]);
    }
    const std::vector<int> p = Solve(t, cols, rows);
    for (int j = 1; j <= rows; ++j) {
      if (p[j] > 0) result[j - 1] = p[j] - 1;
    }
  }
  for (int r = 0; r < rows; ++r) {
    if (result[r] >= 0 && cost[r * cols + result[r]] >= kForbiddenCost) result[r] = -1;
  }
  return result;
}

}  // namespace skynet::analytics
