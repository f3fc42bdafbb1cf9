#include "pipeline/analytics/hungarian.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace skynet::analytics {
namespace {

double Total(const std::vector<double>& cost, int cols, const std::vector<int>& match) {
  double sum = 0;
  for (size_t r = 0; r < match.size(); ++r) {
    if (match[r] >= 0) sum += cost[r * cols + match[r]];
  }
  return sum;
}

// Minimum over all assignments of min(rows, cols) pairs, by enumerating permutations.
double BruteForce(const std::vector<double>& cost, int rows, int cols) {
  const int n = std::max(rows, cols);
  std::vector<int> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  double best = 1e18;
  do {
    double sum = 0;
    for (int r = 0; r < rows; ++r) {
      if (perm[r] < cols) sum += cost[r * cols + perm[r]];
    }
    best = std::min(best, sum);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

TEST(HungarianTest, SolvesKnownSquareMatrix) {
  const std::vector<double> cost = {4, 1, 3,  //
                                    2, 0, 5,  //
                                    3, 2, 2};
  const std::vector<int> match = SolveAssignment(cost, 3, 3);
  EXPECT_EQ(match, (std::vector<int>{1, 0, 2}));
  EXPECT_DOUBLE_EQ(Total(cost, 3, match), 5);
}

TEST(HungarianTest, SolvesKnownFourByFour) {
  // Classic example: optimum 140 (rows 0..3 -> columns 2, 1, 0, 3).
  const std::vector<double> cost = {82, 83, 69, 92,  //
                                    77, 37, 49, 92,  //
                                    11, 69, 5,  86,  //
                                    8,  9,  98, 23};
  const std::vector<int> match = SolveAssignment(cost, 4, 4);
  EXPECT_EQ(match, (std::vector<int>{2, 1, 0, 3}));
  EXPECT_DOUBLE_EQ(Total(cost, 4, match), 140);
}

TEST(HungarianTest, MoreColumnsThanRowsLeavesColumnsFree) {
  const std::vector<double> cost = {9, 1, 8, 7,  //
                                    2, 9, 9, 9};
  const std::vector<int> match = SolveAssignment(cost, 2, 4);
  EXPECT_EQ(match, (std::vector<int>{1, 0}));
}

TEST(HungarianTest, MoreRowsThanColumnsLeavesRowsUnassigned) {
  const std::vector<double> cost = {5, 9,  //
                                    1, 8,  //
                                    9, 2};
  const std::vector<int> match = SolveAssignment(cost, 3, 2);
  EXPECT_EQ(match, (std::vector<int>{-1, 0, 1}));
}

TEST(HungarianTest, NeverReturnsForbiddenPairs) {
  const std::vector<double> cost = {kForbiddenCost, 0.5,  //
                                    kForbiddenCost, kForbiddenCost};
  const std::vector<int> match = SolveAssignment(cost, 2, 2);
  EXPECT_EQ(match, (std::vector<int>{1, -1}));
}

TEST(HungarianTest, EmptyMatrices) {
  EXPECT_TRUE(SolveAssignment({}, 0, 3).empty());
  EXPECT_EQ(SolveAssignment({}, 2, 0), (std::vector<int>{-1, -1}));
}

TEST(HungarianTest, MatchesBruteForceOnRandomMatrices) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dist(0, 10);
  for (int trial = 0; trial < 200; ++trial) {
    const int rows = 1 + trial % 6, cols = 1 + (trial / 6) % 6;
    std::vector<double> cost(rows * cols);
    for (double& c : cost) c = dist(rng);
    const std::vector<int> match = SolveAssignment(cost, rows, cols);
    std::vector<int> used;
    for (int c : match) {
      if (c >= 0) used.push_back(c);
    }
    std::sort(used.begin(), used.end());
    EXPECT_EQ(std::adjacent_find(used.begin(), used.end()), used.end());
    EXPECT_EQ(static_cast<int>(used.size()), std::min(rows, cols));
    EXPECT_NEAR(Total(cost, cols, match), BruteForce(cost, rows, cols), 1e-9)
        << rows << "x" << cols;
  }
}

}  // namespace
}  // namespace skynet::analytics
