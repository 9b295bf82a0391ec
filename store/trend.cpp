#include "store/trend.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "analysis/changepoint.hpp"
#include "analysis/summary.hpp"

namespace vbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using SeriesKey = std::tuple<std::string, std::string, std::string, std::string>;  // env, workload, params, metric

// Marks the first run after each change point of the series' medians.
void mark_change_points(TrendSeries& t) {
  ChangeSeries cs;
  cs.better = t.better;
  std::vector<size_t> where;  // index into t.points of each finite point
  for (size_t i = 0; i < t.points.size(); ++i)
    if (std::isfinite(t.points[i].median)) {
      where.push_back(i);
      cs.points.push_back(SeriesPoint{0, t.points[i].run_id, "", "", "", t.points[i].median});
    }
  for (const auto& c : find_change_points(std::move(cs), ChangePointOptions{}).changes) {
    TrendPoint& p = t.points[where[c.position - 1]];
    p.change_point = true;
    p.change_note =
        fmt::format("{} {:+.1f}% (median {:.4g} -> {:.4g}), p={:.3g}", c.regression ? "regression" : "improvement",
                    c.change * 100, c.median_before, c.median_after, c.p_value);
  }
}

}  // namespace

std::string TrendSeries::title() const {
  return fmt::format("{} {}{} [{}]", workload, metric, params.empty() ? "" : " (" + params + ")", env);
}

std::vector<TrendSeries> build_trends(const std::vector<TrendRun>& runs, const CompareOptions& opts,
                                      bool with_all_sources) {
  std::vector<TrendSeries> out;
  std::map<SeriesKey, size_t> index;
  for (size_t i = 0; i < runs.size(); ++i) {
    const TrendRun& tr = runs[i];
    const RunSummary summary = summarize_run(tr.results, tr.results.meta.baseline_env, tr.results.meta.seed);
    // Regressions of this run against the previous one.
    std::map<SeriesKey, std::string> regressed;
    if (i > 0)
      if (auto cmp = compare_runs(runs[i - 1].results, tr.results, opts))
        for (const auto& r : cmp->rows)
          if (r.verdict == Verdict::Regressed) regressed[{r.env, r.workload, r.params, r.metric}] = r.reason;
    for (const auto& row : summary.rows) {
      if (row.metric.empty() || (!with_all_sources && row.source != "workload")) continue;
      const SeriesKey key{row.env, row.workload, row.params, row.metric};
      auto [it, fresh] = index.try_emplace(key, out.size());
      if (fresh) {
        TrendSeries s;
        s.env = row.env;
        s.workload = row.workload;
        s.params = row.params;
        s.metric = row.metric;
        s.unit = row.unit;
        s.source = row.source;
        s.better = row.better;
        // Runs before this series began have no value: keep the x axis shared.
        for (size_t k = 0; k < i; ++k)
          s.points.push_back(TrendPoint{runs[k].run.id,
                                        runs[k].results.meta.run_id,
                                        runs[k].results.meta.started_at,
                                        runs[k].run.git_commit,
                                        runs[k].run.git_branch,
                                        kNaN,
                                        kNaN,
                                        kNaN,
                                        false,
                                        {},
                                        false,
                                        {}});
        out.push_back(std::move(s));
      }
      TrendSeries& s = out[it->second];
      TrendPoint p{tr.run.id,
                   tr.results.meta.run_id,
                   tr.results.meta.started_at,
                   tr.run.git_commit,
                   tr.run.git_branch,
                   row.stats.median,
                   row.stats.ci_low,
                   row.stats.ci_high,
                   false,
                   {},
                   false,
                   {}};
      if (auto r = regressed.find(key); r != regressed.end()) {
        p.regressed = true;
        p.note = r->second;
      }
      s.points.push_back(std::move(p));
    }
    // Series this run has no value for get a gap.
    for (auto& s : out)
      if (s.points.size() < i + 1)
        s.points.push_back(TrendPoint{tr.run.id,
                                      tr.results.meta.run_id,
                                      tr.results.meta.started_at,
                                      tr.run.git_commit,
                                      tr.run.git_branch,
                                      kNaN,
                                      kNaN,
                                      kNaN,
                                      false,
                                      {},
                                      false,
                                      {}});
  }
  for (auto& s : out) mark_change_points(s);
  return out;
}

Result<std::vector<TrendSeries>> history_trends(const HistoryStore& store, const TrendQuery& q) {
  if (q.suite.empty() || q.host_fingerprint.empty()) return make_error("trends need a suite and a host fingerprint");
  auto runs = store.series(q.suite, q.host_fingerprint, q.max_runs, q.branch);
  if (!runs) return runs.error();
  std::vector<TrendRun> loaded;
  for (const auto& r : *runs) {
    auto rs = store.load(r);
    if (!rs) return rs.error();
    loaded.push_back(TrendRun{r, std::move(*rs)});
  }
  return build_trends(loaded, q.compare, q.with_all_sources);
}

}  // namespace vbench
