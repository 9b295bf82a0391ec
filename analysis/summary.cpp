#include "analysis/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "core/host_load.hpp"

namespace vbench {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // workload, params, metric

// perf counts the clock events in nanoseconds (and shows msec); everything
// else is a count of events.
std::string counter_unit(const std::string& event) {
  return event == "task-clock" || event == "cpu-clock" ? "ns" : "count";
}

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
      add(c.scope == "agent" ? c.name : c.scope + ":" + c.name, c.value, counter_unit(c.name), Better::Lower, "counter",
          c.status + (c.reason.empty() ? "" : ": " + c.reason));
  }
  return out;
}

double minimum_detectable_effect(double cv_a, size_t n_a, double cv_b, size_t n_b) {
  constexpr double kZ = 1.959964 + 0.841621;  // two-sided alpha = 0.05, power = 0.8
  if (n_a < 2 || n_b < 2 || !std::isfinite(cv_a) || !std::isfinite(cv_b))
    return std::numeric_limits<double>::quiet_NaN();
  return kZ * std::sqrt(cv_a * cv_a / static_cast<double>(n_a) + cv_b * cv_b / static_cast<double>(n_b));
}

RunSummary summarize_run(const ResultSet& rs, const std::string& baseline_env, uint64_t seed) {
  RunSummary out;
  // env -> (workload, params, metric) -> values; preserve first-seen order.
  RunValues rv = collect_values(rs);
  std::vector<std::string> env_order = rv.env_order;
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

  // Report order: the baseline first, then environments as the run started
  // them; workloads in suite order (samples arrive shuffled). Within a
  // workload, parameter sets and metrics keep the order they first appeared.
  auto env_rank = [&](const std::string& e) -> size_t {
    if (e == baseline_env) return 0;
    for (size_t i = 0; i < rs.envs.size(); ++i)
      if (rs.envs[i].label == e) return i + 1;
    return rs.envs.size() + 1;
  };
  std::stable_sort(env_order.begin(), env_order.end(),
                   [&](const std::string& a, const std::string& b) { return env_rank(a) < env_rank(b); });
  std::map<std::string, size_t> workload_rank;
  if (const auto ws = rs.meta.suite.find("workloads"); ws != rs.meta.suite.end() && ws->is_array())
    for (const auto& w : *ws)
      if (w.is_object() && w.contains("name") && w["name"].is_string())
        workload_rank.emplace(w["name"].get<std::string>(), workload_rank.size());
  auto wrank = [&](const Key& k) {
    auto it = workload_rank.find(std::get<0>(k));
    return it == workload_rank.end() ? workload_rank.size() : it->second;
  };
  std::stable_sort(key_order.begin(), key_order.end(), [&](const Key& a, const Key& b) { return wrank(a) < wrank(b); });

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
          const Summary b = summarize(bit->second.values, seed);
          r.mde = minimum_detectable_effect(r.stats.cv, r.stats.n, b.cv, b.n);
        }
      }
      if (!r.has_ratio && !metric.empty())
        r.mde = minimum_detectable_effect(r.stats.cv, r.stats.n, r.stats.cv, r.stats.n);
      out.rows.push_back(std::move(r));
    }
  }

  // Lifecycle metrics (start_s, boot_s, teardown_s): one value per
  // environment and run, rows of their own (workload "lifecycle") with a
  // ratio to the baseline's metric of the same name.
  const EnvRecord* base_rec = nullptr;
  for (const auto& e : rs.envs)
    if (e.label == baseline_env) base_rec = &e;
  for (const auto& e : rs.envs)
    for (const auto& m : e.lifecycle) {
      if (!std::isfinite(m.value)) continue;
      SummaryRow r;
      r.env = e.label;
      r.workload = "lifecycle";
      r.metric = m.name;
      r.unit = m.unit;
      r.better = m.better;
      r.source = "lifecycle";
      r.stats = summarize({m.value}, seed);
      r.status = "ok";
      if (base_rec && e.label != baseline_env)
        for (const auto& b : base_rec->lifecycle)
          if (b.name == m.name && std::isfinite(b.value)) {
            r.baseline_env = baseline_env;
            r.ratio = ratio({m.value}, {b.value}, m.better, seed);
            r.has_ratio = true;
          }
      out.rows.push_back(std::move(r));
    }

  // Warnings, most important first, one line per cause.
  auto add_group = [&](std::string cause, std::string line, std::vector<std::string> details) {
    out.warnings.push_back(line);
    out.warning_groups.push_back(WarningGroup{std::move(cause), std::move(line), std::move(details)});
  };
  for (const auto& e : rs.envs) {
    for (const auto& w : e.warnings) add_group("env", fmt::format("[{}] {}", e.label, w), {});
    if (!e.started) add_group("env", fmt::format("[{}] did not start: {}", e.label, e.error), {});
  }
  std::set<std::string> failed_groups, few, unsupported_events;
  std::vector<std::pair<double, std::string>> noisy, throttled, busy;  // (how bad, what)
  // reason -> (events, scopes)
  std::map<std::string, std::pair<std::set<std::string>, std::set<std::string>>> unsupported;
  for (const auto& r : out.rows) {
    const std::string where = fmt::format("{} {}{}", r.env, r.workload, r.params.empty() ? "" : " (" + r.params + ")");
    if (r.status == "failed" || r.status == "partial") failed_groups.insert(where + ": " + r.note);
    if (r.status == "unsupported") {
      const auto colon = r.metric.find(':');
      const std::string event = colon == std::string::npos ? r.metric : r.metric.substr(colon + 1);
      auto& [events, scopes] = unsupported[r.note];
      events.insert(event);
      unsupported_events.insert(event);
      scopes.insert(colon == std::string::npos ? "agent" : r.metric.substr(0, colon));
    }
    if (r.source == "workload" && r.stats.n >= 2 && std::isfinite(r.stats.cv) && r.stats.cv > 0.05)
      noisy.emplace_back(r.stats.cv, fmt::format("{} {} {:.0f}%", where, r.metric, r.stats.cv * 100));
    if (r.source == "workload" && r.stats.n > 0 && r.stats.n < kMinRepetitionsForCI) few.insert(where);
    // cgroup cpu.stat counts the periods in which the CPU quota stopped the
    // container: its numbers then measure the limit, not the isolation.
    // Other work beside the run (core/host_load.hpp): the mean over the
    // cell's samples, so that one unlucky tick-sampled window does not warn.
    if (r.source == "env" && r.metric == kForeignCpusMetric && r.stats.n > 0 && r.stats.mean > kBusyHostCpus)
      busy.emplace_back(r.stats.mean, fmt::format("{} {:.1f} CPUs (max {:.1f})", where, r.stats.mean, r.stats.max));
    if (r.source == "env" && r.metric.ends_with("nr_throttled") && r.stats.n > 0 && r.stats.max > 0)
      throttled.emplace_back(r.stats.max,
                             fmt::format("{}: {} up to {:.0f} periods per sample", where, r.metric, r.stats.max));
  }
  auto worst_first = [](std::vector<std::pair<double, std::string>>& v) {
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> d;
    for (auto& [_, t] : v) d.push_back(std::move(t));
    return d;
  };
  if (!failed_groups.empty())
    add_group("failed",
              fmt::format("failed samples: {} cell(s), e.g. {}", failed_groups.size(), *failed_groups.begin()),
              {failed_groups.begin(), failed_groups.end()});
  if (!unsupported.empty()) {
    std::vector<std::string> details;
    for (const auto& [reason, what] : unsupported)
      details.push_back(
          fmt::format("{} (scopes: {}): {}", fmt::join(what.first, ", "), fmt::join(what.second, ", "), reason));
    add_group("unsupported",
              fmt::format("unsupported counters: {} event(s) this host does not count ({}), e.g. {}",
                          unsupported_events.size(), fmt::join(unsupported_events, ", "), unsupported.begin()->first),
              std::move(details));
  }
  if (!busy.empty()) {
    auto d = worst_first(busy);
    add_group("busy-host",
              fmt::format("busy host: other work used over {} CPU on average during {} cell(s), worst {}; bare "
                          "competes with it as one task among many where a cgroup gets a share of its own, so "
                          "overhead ratios between environments are not to be trusted",
                          kBusyHostCpus, d.size(), d.front()),
              d);
  }
  if (!throttled.empty()) {
    auto d = worst_first(throttled);
    add_group("throttled", fmt::format("throttled by the cgroup CPU quota: {} cell(s), worst {}", d.size(), d.front()),
              d);
  }
  if (!noisy.empty()) {
    auto d = worst_first(noisy);
    add_group("noisy", fmt::format("noisy: {} metric(s) with CV above 5%, worst {}", d.size(), d.front()), d);
  }
  if (!few.empty())
    add_group("few-repetitions",
              fmt::format("fewer than {} repetitions, no confidence interval worth the name: {} cell(s), e.g. {}",
                          kMinRepetitionsForCI, few.size(), *few.begin()),
              {few.begin(), few.end()});
  if (rs.meta.interrupted) add_group("interrupted", "the run was interrupted: results are incomplete", {});
  return out;
}

nlohmann::json to_json(const SummaryRow& r) {
  nlohmann::json j = {{"env", r.env},       {"workload", r.workload},
                      {"params", r.params}, {"metric", r.metric},
                      {"unit", r.unit},     {"better", to_string(r.better)},
                      {"source", r.source}, {"stats", to_json(r.stats)},
                      {"failed", r.failed}, {"status", r.status}};
  if (!r.note.empty()) j["note"] = r.note;
  j["mde"] = std::isfinite(r.mde) ? nlohmann::json(r.mde) : nlohmann::json(nullptr);
  if (r.has_ratio) {
    j["baseline_env"] = r.baseline_env;
    j["ratio"] = to_json(r.ratio);
  }
  return j;
}

}  // namespace vbench
