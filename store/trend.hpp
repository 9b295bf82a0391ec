#pragma once
// Trends over recorded runs, for the HTML report's history charts: per env ×
// workload × params × metric, the median and its 95% CI in each run of one
// suite on one host, oldest first, with the points where `vbench compare`
// against the previous run says `regressed` marked.
//
// The HTML report's wiring (`vbench report --history`):
//   auto store = HistoryStore::open(db_path, HistoryStore::Mode::ReadOnly);
//   TrendQuery q;
//   q.suite = rs.meta.suite["name"];  q.host_fingerprint = rs.meta.host["fingerprint"];
//   auto series = history_trends(*store, q);
//   for (const auto& s : *series) html += render_trend_svg(s);  // inline <svg>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "analysis/compare.hpp"
#include "core/error.hpp"
#include "core/sample.hpp"
#include "store/history.hpp"

namespace vbench {

struct TrendPoint {
  int64_t history_id = 0;  // 0 when not from a store
  std::string run_id, started_at, git_commit, git_branch;
  double median = 0, ci_low = 0, ci_high = 0;  // NaN when the run has no value
  bool regressed = false;                      // against the previous point's run
  std::string note;                            // the compare verdict's reason when regressed
  // The first run after a change point of the series (E-divisive means,
  // analysis/changepoint.hpp, over the points with a value).
  bool change_point = false;
  std::string change_note;  // "-10.0% (median 1.2e9 -> 1.08e9), p=0.001"
};

struct TrendSeries {
  std::string env, workload, params, metric, unit, source;
  Better better = Better::Higher;
  std::vector<TrendPoint> points;  // one per run, oldest first

  std::string title() const;  // "cpu.int ops_per_s (threads=1) [bare]"
};

// One run as the trend builder sees it.
struct TrendRun {
  HistoryRun run;  // id, run_id, started_at, git commit and branch
  ResultSet results;
};

// Series over `runs` (oldest first); metrics of source "workload" only unless
// with_all_sources. Each run is compared with the one before it by
// compare_runs(opts); a pair compare refuses (changed parameters) gets no
// regression marks. Change points over each whole series are marked too.
std::vector<TrendSeries> build_trends(const std::vector<TrendRun>& runs, const CompareOptions& opts,
                                      bool with_all_sources = false);

struct TrendQuery {
  std::string suite;             // required
  std::string host_fingerprint;  // required: trends never mix machines
  std::string branch;            // only runs recorded on this git branch; empty = all
  size_t max_runs = 30;          // the newest this many
  CompareOptions compare;
  bool with_all_sources = false;
};

Result<std::vector<TrendSeries>> history_trends(const HistoryStore& store, const TrendQuery& q);

}  // namespace vbench
