#include "analysis/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "analysis/summary.hpp"
#include "core/escape.hpp"
#include "core/host_load.hpp"
#include "model/hostinfo.hpp"

namespace vbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string host_value(const nlohmann::json& host, const std::string& key) {
  return HostInfo::from_json(host).value(key);
}

std::string fingerprint_of(const RunMeta& m) {
  return m.host.contains("fingerprint") && m.host["fingerprint"].is_string() ? m.host["fingerprint"].get<std::string>()
                                                                             : std::string();
}

// What differs between the machines, in the facts the fingerprint is made of.
std::vector<std::string> host_differences(const RunMeta& a, const RunMeta& b) {
  std::vector<std::string> out;
  const std::string fa = fingerprint_of(a), fb = fingerprint_of(b);
  if (fa.empty() || fb.empty()) return out;  // unknown host: warned about elsewhere
  if (fa == fb) return out;
  for (const char* key : {"hostname", "cpu_model", "cpus", "memory", "kernel"}) {
    const std::string va = host_value(a.host, key), vb = host_value(b.host, key);
    if (va != vb) out.push_back(fmt::format("host {}: `{}` vs `{}`", key, va, vb));
  }
  if (out.empty()) out.push_back(fmt::format("host fingerprint: {} vs {}", fa, fb));
  return out;
}

// The smallest p-value a complete separation of nx against ny values can
// give (no ties; what the test itself would report).
double best_p(size_t nx, size_t ny) {
  std::vector<double> x(nx), y(ny);
  for (size_t i = 0; i < nx; ++i) x[i] = static_cast<double>(ny + i);
  for (size_t i = 0; i < ny; ++i) y[i] = static_cast<double>(i);
  return mann_whitney_u(x, y).p;
}

// Fewest repetitions per side with which a complete separation survives
// Holm's correction over `family` metrics at alpha; 0 if more than 50.
size_t repetitions_needed(size_t family, double alpha) {
  for (size_t k = 2; k <= 50; ++k)
    if (best_p(k, k) * static_cast<double>(family) <= alpha) return k;
  return 0;
}

std::string pct(double fraction) { return fmt::format("{:+.1f}%", fraction * 100); }
std::string pct_abs(double fraction) { return fmt::format("{:g}%", fraction * 100); }

uint64_t comparison_seed(const RunMeta& a, const RunMeta& b) {
  // Reproducible intervals for the same pair of runs.
  return std::hash<std::string>{}(a.run_id + "\x1f" + b.run_id);
}

void judge(MetricComparison& r, const std::vector<double>& base, const std::vector<double>& cur, uint64_t seed,
           size_t min_samples) {
  r.base = summarize(base, seed);
  r.current = summarize(cur, seed + 1);
  r.change = r.change_ci_low = r.change_ci_high = kNaN;
  r.p_adjusted = kNaN;
  r.test = MannWhitney{kNaN, kNaN, kNaN, kNaN, "none"};
  if (base.size() < min_samples || cur.size() < min_samples) {
    r.verdict = Verdict::Noisy;
    r.reason =
        fmt::format("too few samples: {} in base, {} in current (need {} each)", base.size(), cur.size(), min_samples);
    return;
  }
  r.test = mann_whitney_u(cur, base);
  // current / base with Better::Lower is exactly "current over base".
  const OverheadRatio q = ratio(cur, base, Better::Lower, seed + 2);
  if (q.ok()) {
    r.change = q.value - 1;
    r.change_ci_low = q.ci_low - 1;
    r.change_ci_high = q.ci_high - 1;
  } else if (r.base.median == 0 && r.current.median == 0) {
    r.change = 0;
    // All zeros on both sides (a count that never happens): certainly no change.
    if (r.base.min == 0 && r.base.max == 0 && r.current.min == 0 && r.current.max == 0)
      r.change_ci_low = r.change_ci_high = 0;
  } else {
    r.reason = q.reason;  // kept as a note; the verdict adds to it
  }
}

}  // namespace

static std::string json_str(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// Same suite: the name, what each common workload measures (its parameter
// sets) and how each common environment is set up (its knobs). Repetitions,
// seeds and the choice of workloads and envs may differ.
std::vector<std::string> suite_differences(const RunMeta& a, const RunMeta& b) {
  std::vector<std::string> out;
  const std::string na = json_str(a.suite, "name"), nb = json_str(b.suite, "name");
  if (na != nb) out.push_back(fmt::format("suite name: `{}` vs `{}`", na, nb));
  auto by_name = [](const nlohmann::json& suite, const char* list, const char* field) {
    std::map<std::string, nlohmann::json> m;
    if (suite.is_object() && suite.contains(list) && suite[list].is_array())
      for (const auto& e : suite[list])
        if (e.is_object() && e.contains("name") && e["name"].is_string())
          m[e["name"].get<std::string>()] = e.contains(field) ? e[field] : nlohmann::json();
    return m;
  };
  const auto wa = by_name(a.suite, "workloads", "param_sets"), wb = by_name(b.suite, "workloads", "param_sets");
  for (const auto& [name, sets] : wa)
    if (auto it = wb.find(name); it != wb.end() && it->second != sets)
      out.push_back(fmt::format("workload {} parameters: {} vs {}", name, dump_json(sets), dump_json(it->second)));
  const auto ea = by_name(a.suite, "envs", "knobs"), eb = by_name(b.suite, "envs", "knobs");
  for (const auto& [name, knobs] : ea)
    if (auto it = eb.find(name); it != eb.end() && it->second != knobs)
      out.push_back(fmt::format("env {} knobs: {} vs {}", name, dump_json(knobs), dump_json(it->second)));
  return out;
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::Regressed:
      return "regressed";
    case Verdict::Improved:
      return "improved";
    case Verdict::Unchanged:
      return "unchanged";
    case Verdict::Noisy:
      break;
  }
  return "noisy";
}

std::string MetricComparison::where() const {
  return fmt::format("{} {}{} {}", env, workload, params.empty() ? "" : " (" + params + ")", metric);
}

size_t Comparison::count(Verdict v) const {
  return static_cast<size_t>(
      std::count_if(rows.begin(), rows.end(), [&](const auto& r) { return r.gates && r.verdict == v; }));
}

size_t Comparison::count_diagnostic(Verdict v) const {
  return static_cast<size_t>(
      std::count_if(rows.begin(), rows.end(), [&](const auto& r) { return !r.gates && r.verdict == v; }));
}

bool gate_matches(const std::string& pattern, const std::string& metric) {
  if (!pattern.empty() && pattern.back() == '*')
    return metric.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == metric;
}

std::string gate_entry_error(const std::string& entry) {
  const bool bad_char =
      std::any_of(entry.begin(), entry.end(), [](unsigned char ch) { return ch <= ' ' || ch == 0x7f; });
  const size_t star = entry.find('*');
  if (entry.empty() || entry.size() > kMaxGateEntryLength || bad_char ||
      (star != std::string::npos && star + 1 != entry.size()))
    return fmt::format(
        "`{}` is not a metric name (a name as results show it, such as cgroup.memory_peak, "
        "or a prefix ending in `*`, such as cgroup.*; at most {} characters)",
        terminal_safe(entry.substr(0, kMaxGateEntryLength)), kMaxGateEntryLength);
  if (entry == kForeignCpusMetric) return fmt::format("`{}` is a condition of the host, never judged", entry);
  return {};
}

bool metric_gates(const std::string& source, const std::string& metric, const std::vector<std::string>& gate) {
  if (source == "workload" || (source == "env" && metric == "cpu_ns_per_op")) return true;
  return std::any_of(gate.begin(), gate.end(), [&](const std::string& g) { return gate_matches(g, metric); });
}

double threshold_for(const SuiteCompare& c, const std::string& workload, const std::string& metric, double fallback) {
  if (auto it = c.thresholds.find(workload + "." + metric); it != c.thresholds.end()) return it->second;
  if (auto it = c.thresholds.find(workload); it != c.thresholds.end()) return it->second;
  if (const size_t dot = workload.find('.'); dot != std::string::npos)
    if (auto it = c.thresholds.find(workload.substr(0, dot) + ".*"); it != c.thresholds.end()) return it->second;
  return fallback;
}

Result<Comparison> compare_runs(const ResultSet& base, const ResultSet& current, const CompareOptions& opts) {
  Comparison out;
  out.base = base.meta;
  out.current = current.meta;

  std::vector<std::string> diffs = host_differences(base.meta, current.meta);
  for (auto& d : suite_differences(base.meta, current.meta)) diffs.push_back(std::move(d));
  if (!diffs.empty() && !opts.force)
    return make_error("base and current are not comparable ({}); use --force to compare anyway",
                      fmt::join(diffs, "; "));
  for (const auto& d : diffs) out.warnings.push_back("compared despite a difference (--force): " + d);
  for (const auto* m : {&base.meta, &current.meta}) {
    const char* which = m == &base.meta ? "base" : "current";
    if (fingerprint_of(*m).empty())
      out.warnings.push_back(fmt::format("the {} run records no host fingerprint: same machine not checked", which));
    if (m->interrupted) out.warnings.push_back(fmt::format("the {} run was interrupted: it is incomplete", which));
  }
  if (base.meta.vbench_version != current.meta.vbench_version)
    out.warnings.push_back(
        fmt::format("vbench versions differ: {} vs {}", base.meta.vbench_version, current.meta.vbench_version));

  auto suite_cmp = suite_compare_from_json(current.meta.suite);
  if (!suite_cmp) return suite_cmp.error().context("current run");
  out.alpha = opts.alpha ? *opts.alpha : suite_cmp->alpha ? *suite_cmp->alpha : kDefaultAlpha;
  out.threshold = opts.threshold ? *opts.threshold : suite_cmp->threshold ? *suite_cmp->threshold : kDefaultThreshold;
  if (!(out.alpha > 0 && out.alpha < 1)) return make_error("alpha must be in (0, 1), not {}", out.alpha);
  if (!(out.threshold >= 0 && std::isfinite(out.threshold)))
    return make_error("the threshold must be a percentage of at least 0, not {}", out.threshold);

  const RunValues b = collect_values(base), c = collect_values(current);
  const uint64_t seed = comparison_seed(base.meta, current.meta);

  // Cells in the current run's order, then those only the base has.
  std::vector<CellKey> order = c.order;
  for (const auto& k : b.order)
    if (!c.cells.count(k)) order.push_back(k);

  auto failure_note = [](const RunValues& side, const CellKey& k) {
    auto it = side.groups.find({k.env, k.workload, k.params});
    if (it == side.groups.end()) return std::string("not run");
    if (it->second.ok == 0 && it->second.failed > 0)
      return fmt::format("all {} samples failed: {}", it->second.failed, it->second.last_error);
    return std::string("no value for this metric");
  };

  std::vector<bool> gate_used(suite_cmp->gate.size(), false);
  size_t row_index = 0;
  for (const auto& k : order) {
    const auto& [env, workload, pk, metric] = k;
    // The host's other work is a condition of the run, not a result: it has
    // its own warning and no verdict.
    if (metric == kForeignCpusMetric) continue;
    auto bi = b.cells.find(k), ci = c.cells.find(k);
    const bool in_b = bi != b.cells.end() && !bi->second.values.empty();
    const bool in_c = ci != c.cells.end() && !ci->second.values.empty();
    if (!in_b && !in_c) continue;  // e.g. a counter unsupported in both
    if (!in_b || !in_c) {
      UnmatchedMetric u{env, workload, pk, metric, in_b ? "base" : "current", {}};
      const auto& other = in_b ? c : b;
      const auto oc = in_b ? ci : bi;
      const bool has_cell = oc != (in_b ? c.cells.end() : b.cells.end());
      u.note =
          fmt::format("{}: {}", in_b ? "current" : "base",
                      has_cell && !oc->second.unsupported.empty() ? oc->second.unsupported : failure_note(other, k));
      out.unmatched.push_back(std::move(u));
      continue;
    }
    const CellValues& cell = ci->second;
    MetricComparison r;
    r.env = env;
    r.workload = workload;
    r.params = pk;
    r.metric = metric;
    r.unit = cell.unit;
    r.source = cell.source;
    r.gates = metric_gates(cell.source, metric);
    for (size_t g = 0; g < gate_used.size(); ++g)
      if (gate_matches(suite_cmp->gate[g], metric)) {
        gate_used[g] = true;
        r.gates = true;  // a diagnostic the suite made gate
      }
    r.better = cell.better;
    r.threshold = threshold_for(*suite_cmp, workload, metric, out.threshold);
    judge(r, bi->second.values, cell.values, seed + 7 * row_index++, opts.min_samples);
    out.rows.push_back(std::move(r));
  }

  for (size_t g = 0; g < gate_used.size(); ++g)
    if (!gate_used[g])
      out.warnings.push_back(
          fmt::format("[compare] gate `{}` names no metric that both runs have: it gated nothing", suite_cmp->gate[g]));

  // Holm over every metric that was tested.
  std::vector<double> ps;
  for (const auto& r : out.rows) ps.push_back(r.test.p);
  const std::vector<double> adj = holm_adjust(ps);
  out.tested = static_cast<size_t>(std::count_if(ps.begin(), ps.end(), [](double p) { return !std::isnan(p); }));

  size_t underpowered = 0;
  for (size_t i = 0; i < out.rows.size(); ++i) {
    MetricComparison& r = out.rows[i];
    if (r.test.method == "none") continue;  // too few samples: judged already
    r.p_adjusted = adj[i];
    const double delta = r.current.median - r.base.median;
    const bool worse = r.better == Better::Higher ? delta < 0 : delta > 0;
    // A change from a zero median has no percentage but is as large as any.
    const bool big = std::isfinite(r.change) ? std::fabs(r.change) > r.threshold : delta != 0;
    const std::string note = r.reason.empty() ? "" : " (" + r.reason + ")";
    const std::string change_text = std::isfinite(r.change) ? pct(r.change) : "change undefined";
    if (r.p_adjusted <= out.alpha) {
      if (big) {
        r.verdict = worse ? Verdict::Regressed : Verdict::Improved;
        r.reason = fmt::format("{} ({} is better), p={:.2g} after Holm over {} metrics, beyond ±{}{}", change_text,
                               to_string(r.better), r.p_adjusted, out.tested, pct_abs(r.threshold), note);
      } else {
        r.verdict = Verdict::Unchanged;
        r.reason =
            fmt::format("significant (p={:.2g}) but {} is within ±{}", r.p_adjusted, change_text, pct_abs(r.threshold));
      }
      continue;
    }
    const bool ci_known = std::isfinite(r.change_ci_low) && std::isfinite(r.change_ci_high);
    if (ci_known && r.change_ci_low >= -r.threshold && r.change_ci_high <= r.threshold) {
      r.verdict = Verdict::Unchanged;
      r.reason = fmt::format("not significant (p={:.2g}); 95% CI of the change [{}, {}] within ±{}", r.p_adjusted,
                             pct(r.change_ci_low), pct(r.change_ci_high), pct_abs(r.threshold));
      continue;
    }
    r.verdict = Verdict::Noisy;
    const double reachable = std::min(1.0, best_p(r.base.n, r.current.n) * static_cast<double>(out.tested));
    if (reachable > out.alpha) {
      ++underpowered;
      r.reason = fmt::format("{} vs {} samples cannot reach p <= {:g} after Holm over {} metrics", r.base.n,
                             r.current.n, out.alpha, out.tested);
    } else if (ci_known) {
      r.reason = fmt::format(
          "not significant (p={:.2g}), but the 95% CI of the change [{}, {}] reaches beyond ±{}: "
          "too wide to tell",
          r.p_adjusted, pct(r.change_ci_low), pct(r.change_ci_high), pct_abs(r.threshold));
    } else {
      r.reason = fmt::format("not significant (p={:.2g}); the change has no CI{}", r.p_adjusted, note);
    }
  }
  if (underpowered > 0) {
    const size_t k = repetitions_needed(out.tested, out.alpha);
    out.warnings.push_back(fmt::format(
        "{} of {} metrics have too few repetitions to ever be significant at alpha {:g} over {} comparisons{}",
        underpowered, out.tested, out.alpha, out.tested,
        k ? fmt::format(": run both sides with --repetitions {} or more", k) : std::string()));
  }
  size_t few = 0;
  for (const auto& r : out.rows) few += r.test.method == "none";
  if (few > 0)
    out.warnings.push_back(
        fmt::format("{} metrics have fewer than {} samples on a side: not tested", few, opts.min_samples));
  if (!out.unmatched.empty())
    out.warnings.push_back(fmt::format("{} metrics are in only one of the runs (workloads added, dropped or failed)",
                                       out.unmatched.size()));
  return out;
}

using nlohmann::json;

nlohmann::json to_json(const SuiteCompare& c) {
  json j = {{"alpha", c.alpha ? json(*c.alpha) : json(nullptr)},
            {"threshold", c.threshold ? json(*c.threshold) : json(nullptr)},
            {"thresholds", c.thresholds}};
  if (!c.gate.empty()) j["gate"] = c.gate;  // absent when unset: results as before
  return j;
}

Result<SuiteCompare> suite_compare_from_json(const nlohmann::json& suite) {
  SuiteCompare c;
  if (!suite.is_object() || !suite.contains("compare") || suite["compare"].is_null()) return c;
  const json& j = suite["compare"];
  if (!j.is_object()) return make_error("suite `compare` is not an object");
  auto fraction = [](const json& v, double hi) {
    return v.is_number() && v.get<double>() >= 0 && v.get<double>() <= hi;
  };
  if (j.contains("alpha") && !j["alpha"].is_null()) {
    if (!fraction(j["alpha"], 1) || j["alpha"].get<double>() <= 0 || j["alpha"].get<double>() >= 1)
      return make_error("suite compare.alpha must be a number in (0, 1)");
    c.alpha = j["alpha"].get<double>();
  }
  if (j.contains("threshold") && !j["threshold"].is_null()) {
    if (!fraction(j["threshold"], kMaxThreshold))
      return make_error("suite compare.threshold must be a fraction in [0, 10]");
    c.threshold = j["threshold"].get<double>();
  }
  if (j.contains("thresholds") && !j["thresholds"].is_null()) {
    if (!j["thresholds"].is_object()) return make_error("suite compare.thresholds is not an object");
    for (const auto& [k, v] : j["thresholds"].items()) {
      if (!fraction(v, kMaxThreshold))
        return make_error("suite compare.thresholds[`{}`] must be a fraction in [0, 10]", k);
      c.thresholds[k] = v.get<double>();
    }
  }
  if (j.contains("gate") && !j["gate"].is_null()) {
    const json& g = j["gate"];
    if (!g.is_array() || g.size() > kMaxGateEntries)
      return make_error("suite compare.gate must be an array of at most {} metric names", kMaxGateEntries);
    for (const auto& e : g) {
      if (!e.is_string()) return make_error("suite compare.gate: each entry must be a string");
      if (std::string why = gate_entry_error(e.get_ref<const std::string&>()); !why.empty())
        return make_error("suite compare.gate: {}", why);
      c.gate.push_back(e.get<std::string>());
    }
  }
  return c;
}

}  // namespace vbench
