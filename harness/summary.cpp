#include "harness/summary.hpp"

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

namespace vbench {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // workload, params, metric

}  // namespace

RunValues collect_values(const ResultSet& rs) {
  RunValues out;
  for (const auto& s : rs.samples) {
    if (s.warmup) continue;
    if (std::find(out.env_order.begin(), out.env_order.end(), s.env) == out.env_order.end())
      out.env_order.push_back(s.env);
    const std::string pk = params_key(s.params);
    GroupOutcome& g = out.groups[{s.env, s.workload, pk}];
    if (!s.ok) {
      ++g.failed;
      g.last_error = s.error;
      continue;
    }
    ++g.ok;
    auto add = [&](const std::string& metric, std::optional<double> v, const std::string& unit, Better b,
                   const char* source, const std::string& unsupported) {
      CellKey k{s.env, s.workload, pk, metric};
      auto [it, fresh] = out.cells.try_emplace(k);
      if (fresh) out.order.push_back(k);
      CellValues& c = it->second;
      c.unit = unit;
      c.better = b;
      c.source = source;
      if (!v)
        c.unsupported = unsupported;
      else if (std::isfinite(*v))
        c.values.push_back(*v);
    };
    for (const auto& m : s.metrics) add(m.name, m.value, m.unit, m.better, "workload", "");
    for (const auto& m : s.env_metrics) add(m.name, m.value, m.unit, m.better, "env", "");
    for (const auto& c : s.counters)
      add(c.scope == "agent" ? c.name : c.scope + ":" + c.name, c.value, "count", Better::Lower, "counter",
          c.status + (c.reason.empty() ? "" : ": " + c.reason));
  }
  return out;
}

RunSummary summarize_run(const ResultSet& rs, const std::string& baseline_env, uint64_t seed) {
  RunSummary out;
  // env -> (workload, params, metric) -> values; preserve first-seen order.
  RunValues rv = collect_values(rs);
  const std::vector<std::string>& env_order = rv.env_order;
  std::vector<Key> key_order;
  std::set<Key> keys_seen;
  std::map<std::string, std::map<Key, CellValues>> acc;
  auto& groups = rv.groups;
  for (const auto& ck : rv.order) {
    Key k{ck.workload, ck.params, ck.metric};
    if (keys_seen.insert(k).second) key_order.push_back(k);
    acc[ck.env][k] = std::move(rv.cells.at(ck));
  }
  // Failed groups with no metric at all still get one row, so a failure is
  // visible in every report.
  for (const auto& [gk, g] : groups) {
    if (g.ok > 0) continue;
    const auto& [env, workload, pk] = gk;
    Key k{workload, pk, ""};
    if (keys_seen.insert(k).second) key_order.push_back(k);
    acc[env][k];
  }

  const bool have_baseline = acc.count(baseline_env) > 0;
  for (const auto& env : env_order) {
    for (const auto& k : key_order) {
      auto it = acc[env].find(k);
      if (it == acc[env].end()) continue;
      const CellValues& a = it->second;
      const auto& [workload, pk, metric] = k;
      const GroupOutcome& g = groups[{env, workload, pk}];
      SummaryRow r;
      r.env = env;
      r.workload = workload;
      r.params = pk;
      r.metric = metric;
      r.unit = a.unit;
      r.better = a.better;
      r.source = a.source.empty() ? "workload" : a.source;
      r.stats = summarize(a.values, seed);
      r.failed = g.failed;
      if (metric.empty()) {
        r.status = "failed";
        r.note = g.last_error;
      } else if (!a.unsupported.empty() && a.values.empty()) {
        r.status = "unsupported";
        r.note = a.unsupported;
      } else {
        r.status = g.failed ? "partial" : "ok";
        if (g.failed) r.note = g.last_error;
      }
      if (have_baseline && env != baseline_env && !metric.empty() && !a.values.empty()) {
        auto bit = acc[baseline_env].find(k);
        if (bit != acc[baseline_env].end() && !bit->second.values.empty()) {
          r.baseline_env = baseline_env;
          r.ratio = ratio(a.values, bit->second.values, a.better, seed);
          r.has_ratio = true;
        }
      }
      out.rows.push_back(std::move(r));
    }
  }

  // Warnings, most important first.
  for (const auto& e : rs.envs) {
    for (const auto& w : e.warnings) out.warnings.push_back(fmt::format("[{}] {}", e.label, w));
    if (!e.started) out.warnings.push_back(fmt::format("[{}] did not start: {}", e.label, e.error));
  }
  std::set<std::string> failed_groups, noisy, few, unsupported;
  for (const auto& r : out.rows) {
    const std::string where = fmt::format("{} {}{}", r.env, r.workload, r.params.empty() ? "" : " (" + r.params + ")");
    if (r.status == "failed" || r.status == "partial") failed_groups.insert(where + ": " + r.note);
    if (r.status == "unsupported") unsupported.insert(r.metric);
    if (r.source == "workload" && r.stats.n >= 2 && std::isfinite(r.stats.cv) && r.stats.cv > 0.05)
      noisy.insert(fmt::format("{} {} (CV {:.1f}%)", where, r.metric, r.stats.cv * 100));
    if (r.source == "workload" && r.stats.n > 0 && r.stats.n < 3) few.insert(where);
  }
  for (const auto& f : failed_groups) out.warnings.push_back("failed samples: " + f);
  if (!unsupported.empty())
    out.warnings.push_back(fmt::format("counters unsupported on this host: {}", fmt::join(unsupported, ", ")));
  for (const auto& n : noisy) out.warnings.push_back("noisy (CV above 5%): " + n);
  if (!few.empty())
    out.warnings.push_back(fmt::format("fewer than 3 repetitions, no confidence interval worth the name: {} cell(s), "
                                       "e.g. {}",
                                       few.size(), *few.begin()));
  if (rs.meta.interrupted) out.warnings.push_back("the run was interrupted: results are incomplete");
  return out;
}

nlohmann::json to_json(const SummaryRow& r) {
  nlohmann::json j = {{"env", r.env},       {"workload", r.workload}, {"params", r.params},
                      {"metric", r.metric}, {"unit", r.unit},         {"better", to_string(r.better)},
                      {"source", r.source}, {"stats", to_json(r.stats)}, {"failed", r.failed},
                      {"status", r.status}};
  if (!r.note.empty()) j["note"] = r.note;
  if (r.has_ratio) {
    j["baseline_env"] = r.baseline_env;
    j["ratio"] = to_json(r.ratio);
  }
  return j;
}

}  // namespace vbench
