#pragma once
// From samples to the rows every report shows: one row per environment ×
// workload × parameter set × metric, with its statistics and, against the
// baseline environment, an overhead ratio (> 1 = worse than baseline).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/results.hpp"
#include "harness/stats.hpp"

namespace vbench {

// Below this many measured repetitions a cell's confidence interval is not
// worth the name: reports warn, and do not call a difference significant.
inline constexpr size_t kMinRepetitionsForCI = 3;

struct SummaryRow {
  std::string env;       // env label
  std::string workload;
  std::string params;    // params_key()
  std::string metric;
  std::string unit;
  Better better = Better::Higher;
  std::string source = "workload";  // "workload" | "counter" | "env"
  Summary stats;
  size_t failed = 0;     // failed samples of this (env, workload, params)
  std::string baseline_env;  // empty for the baseline itself or when absent
  OverheadRatio ratio;       // NaN unless baseline_env is set
  bool has_ratio = false;
  std::string status;        // "ok" | "partial" | "failed" | "unsupported"
  std::string note;          // error or reason, for failed/unsupported rows
};

struct RunSummary {
  std::vector<SummaryRow> rows;
  std::vector<std::string> warnings;  // for people: emulated guest, noisy rows, failures, ...
};

RunSummary summarize_run(const ResultSet& rs, const std::string& baseline_env, uint64_t seed);

nlohmann::json to_json(const SummaryRow& r);

}  // namespace vbench
