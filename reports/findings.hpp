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
  std::string text;                                 // "net.tcp_stream throughput −19% [−24%, −15%]"
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

Findings find_overheads(const EnvGrid& grid);

// The lines findings and the forest plot consider: workload metrics (not
// counter-derived ones) and lifecycle metrics.
std::vector<const EnvGridLine*> finding_lines(const EnvGrid& grid);

// "−19%", "+3.2%" (a true minus sign).
std::string percent_change_text(double change);

}  // namespace vbench
