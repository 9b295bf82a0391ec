#pragma once
// Run-vs-run comparison, the verdict CI gates on: for every env × workload ×
// params × metric two runs share, the change of the median with a bootstrap
// 95% CI, a two-sided Mann–Whitney U test, Holm's correction over every
// metric tested, and a verdict.
//
//   regressed / improved   Holm-adjusted p <= alpha AND the median moved by
//                          more than the metric's threshold, in the worse /
//                          better direction (Metric.better)
//   unchanged              no significant change and the change's CI lies
//                          within ±threshold, or a significant change
//                          smaller than the threshold
//   noisy                  cannot tell: fewer than min_samples per side, or
//                          not significant while the CI of the change reaches
//                          beyond ±threshold (the reason says whether the
//                          samples were too few for even a complete
//                          separation to reach alpha after the correction)
//
// What gates (the exit status, the headline counts, JUnit failures): the
// workload's own metrics and the environment's cpu_ns_per_op. Counters,
// cgroup statistics and the parts of cpu_ns_per_op are diagnostics: judged
// the same way and shown, marked, but never the verdict of the comparison.
// They measure the kernel's bookkeeping as much as the workload: two
// identical containers of one interleaved run differed by 20% in
// cgroup.memory_peak at p = 2e-6 (which cgroup a page or kernel object is
// charged to depends on who touched it first). A suite that wants one of
// them to gate says so: [compare] gate = ["cgroup.memory_peak"].
//
// Like google/benchmark's tools/compare.py and Firecracker's ab_test.py: a
// significance test AND an effect size, and "unreliable" said out loud below
// a minimum number of repetitions. Warm-ups and failed samples are left out.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "model/results.hpp"
#include "model/stats.hpp"

namespace vbench {

inline constexpr double kDefaultAlpha = 0.05;
inline constexpr double kDefaultThreshold = 0.05;
inline constexpr size_t kMinSamplesPerSide = 3;
// A threshold above this is a typo: no median moves by more than 10x and
// stays comparable.
inline constexpr double kMaxThreshold = 10.0;

// Whether a metric decides the comparison (see the top of this file):
// `source` is where the metric came from ("workload", "env", "counter");
// `gate` lists the diagnostics a suite made gate too (SuiteCompare::gate).
bool metric_gates(const std::string& source, const std::string& metric, const std::vector<std::string>& gate = {});
// One entry of [compare] gate: a metric name, or a prefix ending in `*`
// ("cgroup.*", "cpu_ns_per_op.*").
bool gate_matches(const std::string& pattern, const std::string& metric);
inline constexpr size_t kMaxGateEntries = 256;
inline constexpr size_t kMaxGateEntryLength = 128;
// Why `entry` cannot be a [compare] gate entry, or "" when it can: one test
// for the suite loader and for a results file's recorded list.
std::string gate_entry_error(const std::string& entry);

// A suite's [compare]; thresholds are fractions (0.03 for "3%"). Unset values fall back
// to the command line's or compare's defaults.
struct SuiteCompare {
  std::optional<double> alpha;
  std::optional<double> threshold;
  std::map<std::string, double> thresholds;  // "WORKLOAD", "WORKLOAD.METRIC" or "FAMILY.*" -> fraction
  std::vector<std::string> gate;             // diagnostics that gate too (metric_gates)

  bool empty() const { return !alpha && !threshold && thresholds.empty() && gate.empty(); }
};

nlohmann::json to_json(const SuiteCompare& c);
// The [compare] settings of a suite as recorded in results.json (the
// "compare" member of to_json(Suite), harness/suite.hpp); absent means all defaults. Results are
// input: the values are checked again.
Result<SuiteCompare> suite_compare_from_json(const nlohmann::json& suite);

enum class Verdict { Regressed, Improved, Unchanged, Noisy };
const char* to_string(Verdict v);  // "regressed" | "improved" | "unchanged" | "noisy"

struct CompareOptions {
  // Unset: the current run's suite [compare] settings, else the defaults.
  std::optional<double> alpha;
  std::optional<double> threshold;  // fraction: 0.05 = 5%
  bool force = false;               // compare across hosts and suites
  size_t min_samples = kMinSamplesPerSide;
};

struct MetricComparison {
  std::string env, workload, params, metric, unit, source;
  Better better = Better::Higher;
  Summary base, current;
  // current median / base median - 1; NaN when undefined (see note). The CI
  // resamples both sides (stats.hpp ratio()).
  double change = 0, change_ci_low = 0, change_ci_high = 0;
  MannWhitney test;       // method "none" when not tested
  double p_adjusted = 0;  // Holm over every tested metric; NaN when not tested
  double threshold = 0;   // the one that applied (fraction)
  Verdict verdict = Verdict::Noisy;
  std::string reason;  // why this verdict, for people
  bool gates = true;   // false: a diagnostic (see the top of this file)
  // With --noise-from-history: the window's runs, mean, stddev and z of
  // this metric (compare_noise.hpp); null otherwise.
  nlohmann::json history_noise;

  std::string where() const;  // "bare cpu.int (threads=1) ops_per_s"
};

// A metric only one run has: a workload added or dropped, or failed in one.
struct UnmatchedMetric {
  std::string env, workload, params, metric;
  std::string only_in;  // "base" | "current"
  std::string note;     // e.g. the error of the failed samples on the other side
};

struct Comparison {
  RunMeta base, current;
  std::string base_source, current_source;  // where they were read from
  double alpha = kDefaultAlpha;
  double threshold = kDefaultThreshold;  // the default; per-metric ones in rows
  size_t tested = 0;                     // the size of Holm's family
  std::vector<MetricComparison> rows;
  std::vector<UnmatchedMetric> unmatched;
  std::vector<std::string> warnings;  // differences overridden by --force, interrupted runs, ...

  size_t count(Verdict v) const;             // rows that gate
  size_t count_diagnostic(Verdict v) const;  // rows that do not
  bool regressed() const { return count(Verdict::Regressed) > 0; }
};

// What differs between the suites two runs ran: the name, the parameter sets
// of common workloads and the knobs of common environments (repetitions,
// seeds and the choice of workloads and envs may differ). Empty: the same.
std::vector<std::string> suite_differences(const RunMeta& a, const RunMeta& b);

// Refuses runs from different hosts (RunMeta.host fingerprint) or suites
// (name, parameter sets of common workloads, knobs of common envs) unless
// opts.force, naming the difference; forced differences become warnings.
Result<Comparison> compare_runs(const ResultSet& base, const ResultSet& current, const CompareOptions& opts);

// The threshold that applies to one metric: the most specific of
// thresholds["WORKLOAD.METRIC"], ["WORKLOAD"], ["FAMILY.*"], else fallback.
double threshold_for(const SuiteCompare& c, const std::string& workload, const std::string& metric, double fallback);

}  // namespace vbench
