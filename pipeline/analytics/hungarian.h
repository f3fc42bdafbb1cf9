// Minimum-cost assignment (Hungarian / Munkres, O(n^3)) for the tracker's detection matching.
//
// Pure function, thread-safe.
//
//   std::vector<int> col = SolveAssignment(cost, rows, cols);  // col[r] == -1: row unassigned
#pragma once

#include <vector>

namespace skynet::analytics {

// Cost at or above this means "forbidden": such pairs are never returned as assigned.
inline constexpr double kForbiddenCost = 1e9;

// Assigns rows to columns so that the total cost is minimal, with each row and each column used
// at most once; `cost` is row-major, rows x cols (rectangular allowed, either way). Returns, per
// row, the assigned column or -1 (more rows than columns, or only forbidden pairs left). Finite
// costs only; an empty matrix yields an empty (rows == 0) or all -1 result.
std::vector<int> SolveAssignment(const std::vector<double>& cost, int rows, int cols);

}  // namespace skynet::analytics
