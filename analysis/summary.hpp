#pragma once
// From samples to the rows every report shows: one row per environment ×
// workload × parameter set × metric, with its statistics and, against the
// baseline environment, an overhead ratio (> 1 = worse than baseline).
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "model/results.hpp"
#include "model/stats.hpp"

namespace vbench {

// Below this many measured repetitions a cell's confidence interval is not
// worth the name: reports warn, and do not call a difference significant.
inline constexpr size_t kMinRepetitionsForCI = 3;

struct SummaryRow {
  std::string env;  // env label
  std::string workload;
  std::string params;  // params_key()
  std::string metric;
  std::string unit;
  Better better = Better::Higher;
  std::string source = "workload";  // "workload" | "counter" | "env"
  Summary stats;
  size_t failed = 0;         // failed samples of this (env, workload, params)
  std::string baseline_env;  // empty for the baseline itself or when absent
  OverheadRatio ratio;       // NaN unless baseline_env is set
  bool has_ratio = false;
  // Minimum detectable effect: the smallest relative change of the median this
  // run could have told from noise (two-sided 95% confidence, 80% power);
  // NaN with fewer than two values on a side. See minimum_detectable_effect.
  double mde = std::numeric_limits<double>::quiet_NaN();
  std::string status;  // "ok" | "partial" | "failed" | "unsupported"
  std::string note;    // error or reason, for failed/unsupported rows
};

// Warnings come grouped by cause: one line each, with how many cells it
// concerns and the worst example; the cells themselves are the details
// (the HTML report lists them in a collapsed list).
struct WarningGroup {
  std::string cause;                 // "noisy", "failed", "unsupported", "throttled", "few-repetitions", "env", ...
  std::string line;                  // "noisy: 84 metrics with CV above 5%, worst container net.tcp_rr lat_max 72%"
  std::vector<std::string> details;  // one per cell, worst first where there is an order
};

struct RunSummary {
  std::vector<SummaryRow> rows;
  std::vector<std::string> warnings;  // for people, one line per cause: warning_groups[i].line
  std::vector<WarningGroup> warning_groups;
};

// A run's values grouped the way every report groups them: per env ×
// workload × params × metric. Warm-ups are left out; failed samples are
// counted per env × workload × params and contribute no values; non-finite
// values are dropped. Metric names are the public ones: workload metrics
// (source "workload"), environment metrics ("env") and counters ("counter",
// named "SCOPE:NAME" unless counted inside the env, unit "count", lower is
// better; an unsupported counter has no values and says why).
struct CellKey {
  std::string env, workload, params, metric;  // params: params_key()
  auto operator<=>(const CellKey&) const = default;
};
struct CellValues {
  std::string unit;
  Better better = Better::Higher;
  std::string source;
  std::vector<double> values;
  std::string unsupported;  // why a counter never had a value
};
struct GroupOutcome {  // one env × workload × params
  size_t ok = 0, failed = 0;
  std::string last_error;
};
struct RunValues {
  std::vector<std::string> env_order;  // first seen
  std::vector<CellKey> order;          // first seen
  std::map<CellKey, CellValues> cells;
  std::map<std::tuple<std::string, std::string, std::string>, GroupOutcome> groups;  // env, workload, params
};
RunValues collect_values(const ResultSet& rs);

// Minimum detectable effect of comparing two samples with coefficients of
// variation cv_a, cv_b and sizes n_a, n_b (the normal approximation of a
// two-sample test on relative differences):
//   mde = (z_{1-alpha/2} + z_{1-beta}) * sqrt(cv_a^2 / n_a + cv_b^2 / n_b)
// with alpha = 0.05 (z = 1.960) and power 1 - beta = 0.8 (z = 0.8416), so
// 2.80 * sqrt(...). A row without a baseline is compared with a run as noisy
// as itself (cv_b = cv_a, n_b = n_a). NaN when a side has fewer than 2 values
// or a CV is undefined.
double minimum_detectable_effect(double cv_a, size_t n_a, double cv_b, size_t n_b);

RunSummary summarize_run(const ResultSet& rs, const std::string& baseline_env, uint64_t seed);

nlohmann::json to_json(const SummaryRow& r);

}  // namespace vbench
