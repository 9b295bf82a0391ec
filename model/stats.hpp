#pragma once
// Statistics behind every number vbench reports: a summary of repeated
// measurements with a bootstrap confidence interval of the median, overhead
// ratios against a baseline environment, and the Mann–Whitney U test with
// Holm–Bonferroni correction used by `vbench compare`.
//
// Everything random is driven by a caller-given seed (std::mt19937_64 and an
// index mapping of our own rather than std::uniform_int_distribution, whose
// output differs between standard libraries), so a report rebuilt from the
// same samples shows the same intervals.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/sample.hpp"

namespace vbench {

inline constexpr int kBootstrapResamples = 2000;

// Summary of one metric's repeated measurements. Non-finite inputs (NaN, inf)
// are left out of every statistic and counted in `n_nonfinite`, so that a
// report can say so. With n == 0 every statistic is NaN; with n == 1 the
// stddev, cv and CI are NaN (one value says nothing about spread).
struct Summary {
  size_t n = 0;
  size_t n_nonfinite = 0;
  double median = 0;
  double mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1)
  double cv = 0;      // stddev / |mean|; NaN when the mean is 0
  double min = 0;
  double max = 0;
  double ci_low = 0;  // percentile-bootstrap 95% CI of the median
  double ci_high = 0;
};

Summary summarize(const std::vector<double>& xs, uint64_t seed, int resamples = kBootstrapResamples);

// Relative half-width of the median's CI: (ci_high - ci_low) / 2 / |median|.
// NaN when undefined (n == 0, median 0); NaN compares false with any target,
// so `ci_halfwidth_rel(s) < target` is a safe stopping test.
double ci_halfwidth_rel(const Summary& s);

// Median of env against median of baseline, oriented so that a value > 1
// always means "worse than the baseline": env/base when lower is better,
// base/env when higher is better. The CI resamples both sides independently.
// When the ratio cannot be defined (no samples, a non-finite input, a zero or
// negative median in the denominator, negative values) `value` is NaN and
// `reason` says why; when only the CI is undefined (a side with one value, or
// a bootstrap resample hit a zero median) the CI bounds are NaN and `reason`
// says why. Never inf.
struct OverheadRatio {
  double value = 0;
  double ci_low = 0;
  double ci_high = 0;
  size_t n_env = 0;
  size_t n_base = 0;
  std::string reason;  // empty when value and CI are both defined

  bool ok() const;  // value is a finite number
};

OverheadRatio ratio(const std::vector<double>& env, const std::vector<double>& base, Better better, uint64_t seed,
                    int resamples = kBootstrapResamples);

// Two-sided Mann–Whitney U test of x against y.
//   Auto: exact null distribution when there are no ties and both samples
//         have at most kMannWhitneyExactMax values; otherwise the normal
//         approximation with tie and continuity corrections.
//   Exact: the exact distribution; falls back to the normal approximation
//          when there are ties or the samples are too large for it
//          (`method` in the result says which was used).
//   Asymptotic: always the normal approximation.
// scipy.stats.mannwhitneyu(x, y, method=...) gives the same U and p (its
// "auto" switches to exact only up to 8 values, so pass the method we report
// when checking).
enum class MannWhitneyMethod { Auto, Exact, Asymptotic };
inline constexpr size_t kMannWhitneyExactMax = 20;

struct MannWhitney {
  double u = 0;        // U statistic of x: pairs (xi, yj) with xi > yj, ties counting 1/2
  double p = 0;        // two-sided p-value; NaN when a sample is empty or holds a NaN
  double z = 0;        // normal score (asymptotic only; NaN for exact)
  double effect = 0;   // u / (nx * ny): P(X > Y) + P(X = Y) / 2; 0.5 = no shift
  std::string method;  // "exact" | "asymptotic" | "none" (no test: empty or NaN input)
};

MannWhitney mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y,
                           MannWhitneyMethod method = MannWhitneyMethod::Auto);

// Holm–Bonferroni adjusted p-values, in the input's order: reject hypothesis i
// at family-wise level alpha when adjusted[i] <= alpha. NaN p-values stay NaN
// and do not count towards the number of hypotheses.
std::vector<double> holm_adjust(const std::vector<double>& p);
std::vector<bool> holm_reject(const std::vector<double>& p, double alpha);

// NaN becomes null (JSON has no NaN).
nlohmann::json to_json(const Summary& s);
nlohmann::json to_json(const OverheadRatio& r);
nlohmann::json to_json(const MannWhitney& m);

}  // namespace vbench
