#pragma once
// The answer before the table: what each environment costs against the
// baseline, in sentences a reader can quote. Shared by report.html (section
// "findings", with the forest plot) and report.md.
//
// Per environment:
//  - significant: the metrics whose overhead ratio's 95% CI excludes 1 (with
//    kMinRepetitionsForCI repetitions or more), largest change first, each as
//    "net.tcp_stream throughput −19% [−24%, −15%]" (the change of the metric
//    itself, env / baseline − 1, with its CI);
//  - no_overhead: workloads none of whose metrics moved: every ratio's CI
//    lies within ±bound of 1; each with "(none larger than X%)", X the
//    largest minimum detectable effect (SummaryRow::mde) of its metrics;
//  - inconclusive: workloads with a metric whose CI includes 1 but reaches
//    beyond ±bound (more repetitions would tell);
//  - unconfirmed: with too few repetitions for a CI, the largest differences
//    seen, no significance claimed.
// Lifecycle rows (start_s, boot_s, ...) take part like any other metric.
#include <optional>
#include <string>
#include <vector>

#include "analysis/summary.hpp"
#include "reports/format.hpp"

namespace vbench {

// A CI of the ratio within ±5% of 1 counts as "no measurable overhead"
// (the default threshold of `vbench compare`).
inline constexpr double kNoOverheadBound = 0.05;

struct FindingLine {
  const EnvGridLine* line = nullptr;
  const SummaryRow* row = nullptr;
  double change = 0, change_lo = 0, change_hi = 0;  // env / baseline − 1 in the metric's own terms
  std::string attribution;  // the part of the host CPU per operation that grew most: "+38% softirq per MiB"
  std::string text;         // "net.tcp_stream throughput −19% [−24%, −15%]; +38% softirq per MiB"
};

struct EnvFindings {
  std::string env;
  std::vector<FindingLine> significant;   // largest |change| first
  std::vector<std::string> no_overhead;   // "cpu.int (none larger than 2.1%)"
  std::vector<std::string> inconclusive;  // workloads
  std::vector<FindingLine> unconfirmed;   // largest |change| first, at most 5
  size_t max_repetitions = 0;             // of the rows seen, for "n = 1: no significance"
};

struct Findings {
  std::string baseline;
  double bound = kNoOverheadBound;
  std::vector<EnvFindings> envs;  // every environment but the baseline
};

// The findings point into `grid` (FindingLine::line): it must outlive them.
Findings find_overheads(const EnvGrid& grid);
Findings find_overheads(EnvGrid&&) = delete;  // a temporary grid would leave them dangling

// The lines findings and the forest plot consider: workload metrics (not
// counter-derived ones) and lifecycle metrics.
std::vector<const EnvGridLine*> finding_lines(const EnvGrid& grid);

// Where a workload's overhead in `env` goes: of the parts of the host's CPU
// time per operation (cpu_ns_per_op.user, .sys, .softirq, .guest: environment
// statistics, drivers/cpu_accounting.hpp), the one whose median grew most
// against the baseline, in ns per operation, as "+38% softirq per MiB" (or
// "+1.2 µs guest per I/O (none in bare)" for a part the baseline lacks or
// has at 0).
// Empty when no part grew or the run has no such statistics.
std::string cpu_attribution_text(const EnvGrid& grid, const std::string& env, const std::string& workload,
                                 const std::string& params);

// The host-side attribution statistics: cpu_ns_per_op and its parts,
// cycles_per_op, instructions_per_op.
bool is_cpu_attribution_metric(const std::string& metric);

// A counter line's median per operation in `env`: its count per CPU ns of
// its own window (the task-clock of the same scope) × the environment's CPU
// ns per operation (cpu_ns_per_op without softirq; the vCPU threads' for a
// guest), counters/per_op.hpp. `op` gets the operation ("MiB"). Empty when
// any of them is missing.
std::optional<double> counter_per_op_median(const EnvGrid& grid, const EnvGridLine& counter, const std::string& env,
                                            std::string* op = nullptr);

// "−19%", "+3.2%" (a true minus sign).
std::string percent_change_text(double change);

}  // namespace vbench
