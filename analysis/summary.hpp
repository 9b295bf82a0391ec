#pragma once
// From samples to the rows every report shows: one row per environment ×
// workload × parameter set × metric, with its statistics and, against the
// baseline environment, an overhead ratio (> 1 = worse than baseline).
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
  std::string status;  // "ok" | "partial" | "failed" | "unsupported"
  std::string note;    // error or reason, for failed/unsupported rows
};

struct RunSummary {
  std::vector<SummaryRow> rows;
  std::vector<std::string> warnings;  // for people: emulated guest, noisy rows, failures, ...
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

RunSummary summarize_run(const ResultSet& rs, const std::string& baseline_env, uint64_t seed);

nlohmann::json to_json(const SummaryRow& r);

}  // namespace vbench
