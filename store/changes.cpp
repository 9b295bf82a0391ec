#include "store/changes.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace vbench {
namespace {

using SeriesKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;

}  // namespace

Result<std::vector<ChangeSeries>> history_changes(const HistoryStore& store, const ChangeQuery& q) {
  auto runs = store.list("", 0);
  if (!runs) return runs.error();
  std::reverse(runs->begin(), runs->end());  // recording order
  std::map<SeriesKey, ChangeSeries> by_key;
  for (const auto& run : *runs) {
    if (!q.branch.empty() && run.git_branch != q.branch) continue;
    auto rows = store.metrics(run);
    if (!rows) return rows.error().context(fmt::format("run {}", run.run_id));
    for (const auto& row : *rows) {
      if (!q.all_sources && row.source != "workload") continue;
      if (!q.env.empty() && row.env != q.env) continue;
      if (!q.globs.empty() && std::none_of(q.globs.begin(), q.globs.end(), [&](const std::string& g) {
            return fnmatch(g.c_str(), row.workload.c_str(), 0) == 0;
          }))
        continue;
      if (!std::isfinite(row.median)) continue;
      auto [it, fresh] =
          by_key.try_emplace(SeriesKey{run.host_fingerprint, row.env, row.workload, row.params, row.metric});
      ChangeSeries& s = it->second;
      if (fresh) {
        s.host_fingerprint = run.host_fingerprint;
        s.hostname = run.hostname;
        s.env = row.env;
        s.workload = row.workload;
        s.params = row.params;
        s.metric = row.metric;
        s.unit = row.unit;
        s.better = row.better == "lower" ? Better::Lower : Better::Higher;
      }
      s.points.push_back(SeriesPoint{run.id, run.run_id, run.git_commit, run.git_branch, run.started_at, row.median});
    }
  }
  std::vector<ChangeSeries> out;
  for (auto& [key, s] : by_key) {
    ChangeSeries judged = find_change_points(std::move(s), q.options);
    if (q.since > 0) {
      const size_t n = judged.points.size();
      std::erase_if(judged.changes, [&](const ChangePoint& c) { return n > q.since && c.position <= n - q.since; });
    }
    out.push_back(std::move(judged));
  }
  return out;
}

}  // namespace vbench
