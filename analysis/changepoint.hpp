#pragma once
// Change points over history (the math; store/changes.hpp reads the
// series from the history store, reports/changes.hpp renders them): where a series of per-run medians (one host ×
// env × workload × params × metric, in recording order) shifts level, found
// with E-divisive means (Matteson & James 2014, "A nonparametric approach for
// multiple change point analysis of multivariate data", JASA 109(505)), the
// method MongoDB's signal-processing-algorithms, Hunter and Apache Otava use
// over their performance histories.
//
// E-divisive splits a series recursively: in every segment it finds the split
// tau that maximises the energy-distance statistic
//   q(tau) = n1*n2/(n1+n2) * (2/(n1*n2) sum|x_i - y_j| - 1/C(n1,2) sum|x_i - x_k|
//                             - 1/C(n2,2) sum|y_j - y_l|)            (alpha = 1)
// takes the best over all segments and keeps it when it is significant.
//
// Significance: a permutation test with a fixed seed, as in Matteson & James
// and MongoDB's original implementation, not Otava's Student's t. Why: run
// medians of a benchmark are not normal (skewed, with outliers and bimodal
// phases when a neighbour runs), which is exactly what a t-test assumes;
// the permutation test assumes only exchangeability under "no change", and a
// fixed seed makes it deterministic (the same history always gives the same
// change points). The price is CPU time, kept small by stopping a test as
// soon as its p-value is known to exceed alpha (most tests) and by O(1)
// evaluation of q(tau) from 2-D prefix sums of the distance matrix.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sample.hpp"

namespace vbench {

struct ChangePointOptions {
  double alpha = 0.01;     // a split is kept when its permutation p <= alpha
  int permutations = 999;  // smallest attainable p is 1/(permutations+1)
  size_t min_segment = 3;  // runs on each side of a change, at least 2
  uint64_t seed = 0x76626e6368637021ULL;
  // Report only changes of the median at least this large (fraction; 0 =
  // every significant one), like Otava's min_magnitude.
  double min_change = 0;
};

struct Split {
  size_t index = 0;  // first point after the change
  double p_value = 1;
};

// The change points of xs (finite values), sorted by index. Deterministic
// for a given opts.seed.
std::vector<Split> e_divisive(const std::vector<double>& xs, const ChangePointOptions& opts);

// One run's value in a series.
struct SeriesPoint {
  int64_t history_id = 0;
  std::string run_id, git_commit, git_branch, started_at;
  double value = 0;  // the run's median
};

struct ChangePoint {
  size_t position = 0;  // 1-based position in the series of the first run after the change
  SeriesPoint first_after;
  double median_before = 0, median_after = 0;  // of the run medians between neighbouring change points
  size_t n_before = 0, n_after = 0;
  double change = 0, change_ci_low = 0, change_ci_high = 0;  // median_after / median_before - 1, bootstrap 95% CI
  double p_value = 1;
  bool regression = false;  // worse given the metric's direction
};

struct ChangeSeries {
  std::string host_fingerprint, hostname, env, workload, params, metric, unit;
  Better better = Better::Higher;
  std::vector<SeriesPoint> points;  // oldest first
  std::vector<ChangePoint> changes;
  std::string note;  // "too short ..." when it could not be judged

  std::string title() const;  // "bare cpu.int (threads=1) ops_per_s"
};

// Change points of one series of points (oldest first).
ChangeSeries find_change_points(ChangeSeries s, const ChangePointOptions& opts);

}  // namespace vbench
