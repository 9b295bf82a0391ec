#pragma once
// History-aware thresholds for `vbench compare --noise-from-history N`: the
// run-to-run spread of each metric over the last N recorded runs of the
// baseline's branch (same suite, same host), as Arrow's Conbench judges
// against a lookback window rather than one run. A change stays a
// regression (or an improvement) only when it is significant by compare's
// own test AND the current median lies beyond that spread:
//   z = (current median - mean of the N run medians) / their standard deviation
//   |z| >= z_min   (default 3)
// Rows it demotes become `unchanged`, with the numbers in their reason.
#include <cstddef>
#include <string>

#include "analysis/compare.hpp"
#include "core/error.hpp"
#include "store/history.hpp"

namespace vbench {

inline constexpr double kDefaultNoiseZ = 3;
inline constexpr size_t kMinNoiseRuns = 3;

struct HistoryNoiseQuery {
  size_t runs = 0;     // the newest N runs of the branch
  std::string branch;  // the baseline's branch
  double z_min = kDefaultNoiseZ;
};

// Applies the history's spread to c's regressed and improved rows, sets each
// row's history_noise (runs, mean, stddev, z, branch) and adds a warning
// saying what was used. Metrics with fewer than kMinNoiseRuns values in the
// window keep their verdict, and the warning says how many.
Status apply_history_noise(Comparison& c, const HistoryStore& store, const HistoryNoiseQuery& q);

}  // namespace vbench
