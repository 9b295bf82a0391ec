#pragma once
// From samples to the rows every report shows: one row per environment ×
// workload × parameter set × metric, with its statistics and, against the
// baseline environment, an overhead ratio (> 1 = worse than baseline).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/results.hpp"
#include "harness/stats.hpp"

namespace vbench {

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

// Every value one sample contributes, under the public metric name every
// report uses: workload metrics ("workload"), environment metrics ("env") and
// counters ("counter"; named "SCOPE:NAME" unless counted inside the env, in
// "count", lower is better). An unsupported counter comes with no value and
// `note` saying why. Warm-up and failed samples are the caller's to skip.
struct SampleValue {
  const std::string& metric;
  std::optional<double> value;
  const std::string& unit;
  Better better;
  const char* source;
  std::string note;
};
void for_each_sample_value(const Sample& s, const std::function<void(const SampleValue&)>& fn);

RunSummary summarize_run(const ResultSet& rs, const std::string& baseline_env, uint64_t seed);

nlohmann::json to_json(const SummaryRow& r);

}  // namespace vbench
