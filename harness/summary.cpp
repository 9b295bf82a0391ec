#include "harness/summary.hpp"

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

namespace vbench {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // workload, params, metric

struct Acc {
  std::string unit;
  Better better = Better::Higher;
  std::string source;
  std::vector<double> values;
  std::string unsupported_reason;
};

struct Group {  // one env × workload × params
  size_t ok = 0, failed = 0;
  std::string last_error;
};

}  // namespace

void for_each_sample_value(const Sample& s, const std::function<void(const SampleValue&)>& fn) {
  for (const auto& m : s.metrics) fn(SampleValue{m.name, m.value, m.unit, m.better, "workload", {}});
  for (const auto& m : s.env_metrics) fn(SampleValue{m.name, m.value, m.unit, m.better, "env", {}});
  static const std::string count = "count";
  for (const auto& c : s.counters) {
    const std::string name = c.scope == "agent" ? c.name : c.scope + ":" + c.name;
    fn(SampleValue{name, c.value, count, Better::Lower, "counter",
                   c.value ? std::string() : c.status + (c.reason.empty() ? "" : ": " + c.reason)});
  }
}

RunSummary summarize_run(const ResultSet& rs, const std::string& baseline_env, uint64_t seed) {
  RunSummary out;
  // env -> (workload, params, metric) -> values; preserve first-seen order.
  std::vector<std::string> env_order;
  std::vector<Key> key_order;
  std::set<Key> keys_seen;
  std::map<std::string, std::map<Key, Acc>> acc;
  std::map<std::tuple<std::string, std::string, std::string>, Group> groups;  // env, workload, params

  for (const auto& s : rs.samples) {
    if (s.warmup) continue;
    if (std::find(env_order.begin(), env_order.end(), s.env) == env_order.end()) env_order.push_back(s.env);
    const std::string pk = params_key(s.params);
    Group& g = groups[{s.env, s.workload, pk}];
    if (!s.ok) {
      ++g.failed;
      g.last_error = s.error;
      continue;
    }
    ++g.ok;
    for_each_sample_value(s, [&](const SampleValue& v) {
      Key k{s.workload, pk, v.metric};
      if (keys_seen.insert(k).second) key_order.push_back(k);
      Acc& a = acc[s.env][k];
      a.unit = v.unit;
      a.better = v.better;
      a.source = v.source;
      if (!v.value)
        a.unsupported_reason = v.note;
      else if (std::isfinite(*v.value))
        a.values.push_back(*v.value);
    });
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
      const Acc& a = it->second;
      const auto& [workload, pk, metric] = k;
      const Group& g = groups[{env, workload, pk}];
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
      } else if (!a.unsupported_reason.empty() && a.values.empty()) {
        r.status = "unsupported";
        r.note = a.unsupported_reason;
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
