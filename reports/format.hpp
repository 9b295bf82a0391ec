#pragma once
// What the human-readable reports (terminal table, Markdown, HTML) share:
// escaping of untrusted text (core/escape.hpp), numbers with their units,
// the verdict on an overhead ratio, and the comparison grid they all lay out.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/summary.hpp"
#include "core/escape.hpp"
#include "model/results.hpp"

namespace vbench {

// GitHub refuses an issue or pull-request comment longer than 65,536
// characters (GitLab's limit is 1,000,000). The Markdown reports are meant to
// be posted as one, so they stay within this many bytes (never fewer than the
// characters) and say what they left out.
inline constexpr size_t kMarkdownCommentLimit = 65536;
// At most `max_bytes` of s, cut on a UTF-8 character boundary, with " …"
// appended when something was cut.
std::string clip_text(std::string_view s, size_t max_bytes);
// Appends lines, in order, while `out` stays within `max_size` bytes; stops at
// the first that does not fit and returns how many were left out.
size_t append_within(std::string& out, const std::vector<std::string>& lines, size_t max_size);

// Content-Security-Policy source for an inline <script> or <style> with
// exactly this text: "'sha256-…'".
std::string csp_hash(std::string_view text);

// Three significant digits, whole numbers from 100 up; "-" for NaN.
std::string value_text(double v);
// Compact, for chart ticks: 1.5k, 20M, 0.25.
std::string si_text(double v);
// A unit as people write it: "us" -> "µs".
std::string unit_text(const std::string& unit);
// Nanoseconds in the unit that keeps one to three digits before the point:
// "850 ns", "1.2 µs", "35 ms".
std::string ns_text(double ns);
// Bytes in binary units: "512 B", "18.1 MiB".
std::string bytes_text(double bytes);
// Relative half-width of the median's 95% CI: "±2.1%"; empty when undefined
// or from a single value.
std::string ci_text(const Summary& s);

// What an overhead ratio allows one to say. Worse and Better are significant:
// the 95% CI excludes 1 and both sides have kMinRepetitionsForCI values or
// more. TooFew: fewer repetitions than that, whatever the CI says.
enum class RatioVerdict { Worse, Better, Same, TooFew, Undefined };
RatioVerdict verdict(const OverheadRatio& r);
// "1.42× [1.30, 1.55]" (times: the multiplication sign to use); "n/a" when
// undefined.
std::string ratio_text(const OverheadRatio& r, std::string_view times = "×");

// One line per workload × params × metric (in the summary's order), one cell
// per environment. Cells point into the RunSummary, which must outlive this.
struct EnvGridLine {
  std::string workload, params, metric, unit, source;
  Better better = Better::Higher;
  std::map<std::string, const SummaryRow*> cells;  // by env label

  const SummaryRow* cell(const std::string& env) const;
};

struct EnvGrid {
  std::string baseline;           // empty when the run has no baseline rows
  std::vector<std::string> envs;  // baseline first, then in the run's order
  std::vector<EnvGridLine> lines;
};

EnvGrid compare_envs(const ResultSet& rs, const RunSummary& summary);
// The lines a summary shows: the workloads' own metrics (not the counter
// metrics derived inside the agent, nor counters and environment statistics).
std::vector<const EnvGridLine*> summary_lines(const EnvGrid& c);

// Workload family: "mem" for "mem.latency".
std::string workload_family(const std::string& workload);

}  // namespace vbench
