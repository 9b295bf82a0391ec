#include "reports/findings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "counters/per_op.hpp"

namespace vbench {
namespace {

// The ratio is oriented (> 1 = worse); the change is the metric's own:
// env / baseline − 1. For higher-is-better metrics ratio = baseline / env.
double change_of(double ratio, Better b) { return b == Better::Higher ? 1 / ratio - 1 : ratio - 1; }

FindingLine finding(const EnvGridLine* l, const SummaryRow* r, const std::string& label) {
  FindingLine f;
  f.line = l;
  f.row = r;
  const OverheadRatio& q = r->ratio;
  f.change = change_of(q.value, l->better);
  const double a = change_of(q.ci_low, l->better), b = change_of(q.ci_high, l->better);
  f.change_lo = std::min(a, b);
  f.change_hi = std::max(a, b);
  f.text = fmt::format("{} {} {}", label, l->metric, percent_change_text(f.change));
  if (std::isfinite(f.change_lo) && std::isfinite(f.change_hi) && q.n_env > 1 && q.n_base > 1)
    f.text += fmt::format(" [{}, {}]", percent_change_text(f.change_lo), percent_change_text(f.change_hi));
  return f;
}

bool by_size(const FindingLine& a, const FindingLine& b) {
  return std::abs(std::log1p(a.change)) > std::abs(std::log1p(b.change));
}

// "850 ns", "12.5 µs", "3.1 ms": an amount of CPU time.
std::string ns_amount_text(double ns) {
  if (ns < 1e3) return fmt::format("{:.3g} ns", ns);
  if (ns < 1e6) return fmt::format("{:.3g} µs", ns / 1e3);
  return fmt::format("{:.3g} ms", ns / 1e6);
}

}  // namespace

std::string cpu_attribution_text(const EnvGrid& grid, const std::string& env, const std::string& workload,
                                 const std::string& params) {
  static const char* const kParts[] = {"user", "sys", "softirq", "guest"};
  const std::string prefix = "cpu_ns_per_op.";
  std::string best_text;
  double best_growth = 0;
  for (const auto& l : grid.lines) {
    if (l.source != "env" || l.workload != workload || l.params != params || !l.metric.starts_with(prefix)) continue;
    const std::string part = l.metric.substr(prefix.size());
    if (std::find(std::begin(kParts), std::end(kParts), part) == std::end(kParts)) continue;
    const SummaryRow* e = l.cell(env);
    if (!e || e->stats.n == 0 || !std::isfinite(e->stats.median)) continue;
    const SummaryRow* b = l.cell(grid.baseline);
    const bool in_base = b && b->stats.n > 0 && std::isfinite(b->stats.median);
    const double base = in_base ? b->stats.median : 0;
    const double growth = e->stats.median - base;
    if (!(growth > best_growth)) continue;
    best_growth = growth;
    const std::string op = l.unit.starts_with("ns/") ? l.unit.substr(3) : "op";
    if (in_base && base > 0)
      best_text = fmt::format("{} {} per {}", percent_change_text(growth / base), part, op);
    else
      best_text = fmt::format("+{} {} per {} ({} in {})", ns_amount_text(growth), part, op, in_base ? "0" : "none",
                              grid.baseline);
  }
  return best_text;
}

bool is_cpu_attribution_metric(const std::string& metric) {
  return metric == "cpu_ns_per_op" || metric.starts_with("cpu_ns_per_op.") || metric == "cycles_per_op" ||
         metric == "instructions_per_op";
}

std::optional<double> counter_per_op_median(const EnvGrid& grid, const EnvGridLine& counter, const std::string& env,
                                            std::string* op) {
  if (counter.source != "counter") return std::nullopt;
  // "host-cgroup:cycles" -> scope "host-cgroup:", event "cycles".
  const size_t colon = counter.metric.find(':');
  const std::string scope = colon == std::string::npos ? "" : counter.metric.substr(0, colon + 1);
  auto median_of = [&](const std::string& metric, const std::string& source) -> std::optional<double> {
    for (const auto& l : grid.lines) {
      if (l.workload != counter.workload || l.params != counter.params || l.metric != metric || l.source != source)
        continue;
      const SummaryRow* r = l.cell(env);
      if (r && r->stats.n > 0 && std::isfinite(r->stats.median)) {
        if (op && metric == "cpu_ns_per_op") *op = l.unit.starts_with("ns/") ? l.unit.substr(3) : "op";
        return r->stats.median;
      }
    }
    return std::nullopt;
  };
  const SummaryRow* c = counter.cell(env);
  if (!c || c->stats.n == 0) return std::nullopt;
  const auto clock = median_of(scope + "task-clock", "counter");
  const auto total = median_of("cpu_ns_per_op", "env");
  if (!clock || !total) return std::nullopt;
  double env_cpu = *total - median_of("cpu_ns_per_op.softirq", "env").value_or(0);
  if (auto vcpu = median_of("cpu_ns_per_op.vcpu", "env")) env_cpu = *vcpu;
  return counter_per_op(c->stats.median, *clock, env_cpu);
}

std::string percent_change_text(double change) {
  if (!std::isfinite(change)) return "n/a";
  const double p = change * 100;
  const std::string sign = p < 0 ? "−" : "+";
  const double a = std::abs(p);
  return sign + (a >= 10 ? fmt::format("{:.0f}%", a) : fmt::format("{:.1f}%", a));
}

std::vector<const EnvGridLine*> finding_lines(const EnvGrid& grid) {
  std::vector<const EnvGridLine*> out;
  for (const EnvGridLine* l : summary_lines(grid))
    if (!l->metric.empty()) out.push_back(l);
  for (const auto& l : grid.lines)
    if (l.source == "lifecycle") out.push_back(&l);
  return out;
}

Findings find_overheads(const EnvGrid& grid) {
  Findings out;
  out.baseline = grid.baseline;
  if (grid.baseline.empty()) return out;
  const auto lines = finding_lines(grid);
  std::map<std::string, std::set<std::string>> params_of;
  for (const EnvGridLine* l : lines) params_of[l->workload].insert(l->params);
  auto label_of = [&](const EnvGridLine* l) {
    return params_of[l->workload].size() > 1 && !l->params.empty() ? l->workload + " (" + l->params + ")" : l->workload;
  };
  for (const auto& env : grid.envs) {
    if (env == grid.baseline) continue;
    EnvFindings ef;
    ef.env = env;
    // workload label -> what its metrics allow one to say
    struct Tally {
      bool any = false, all_within = true, too_few = false, significant = false;
      double mde = 0;  // the largest of its metrics'
    };
    std::vector<std::string> order;
    std::map<std::string, Tally> tally;
    for (const EnvGridLine* l : lines) {
      const SummaryRow* r = l->cell(env);
      if (!r || !r->has_ratio || !r->ratio.ok()) continue;
      ef.max_repetitions = std::max(ef.max_repetitions, r->stats.n);
      const std::string label = label_of(l);
      if (!tally.count(label)) order.push_back(label);
      Tally& t = tally[label];
      t.any = true;
      if (std::isfinite(r->mde)) t.mde = std::max(t.mde, r->mde);
      const RatioVerdict v = verdict(r->ratio);
      // An overhead names where the host's CPU time per operation grew.
      auto attributed = [&](FindingLine f) {
        if (!(r->ratio.value > 1)) return f;
        f.attribution = cpu_attribution_text(grid, env, l->workload, l->params);
        if (!f.attribution.empty()) f.text += "; " + f.attribution;
        return f;
      };
      if (v == RatioVerdict::Worse || v == RatioVerdict::Better) {
        ef.significant.push_back(attributed(finding(l, r, label)));
        t.significant = true;
      } else if (v == RatioVerdict::TooFew) {
        ef.unconfirmed.push_back(attributed(finding(l, r, label)));
        t.too_few = true;
      } else {
        const OverheadRatio& q = r->ratio;
        if (!(q.ci_low >= 1 - out.bound && q.ci_high <= 1 + out.bound)) t.all_within = false;
      }
    }
    for (const auto& w : order) {
      const Tally& t = tally[w];
      if (!t.any || t.significant || t.too_few) continue;
      const std::string text = t.mde > 0 ? fmt::format("{} (none larger than {:.1f}%)", w, t.mde * 100) : w;
      (t.all_within ? ef.no_overhead : ef.inconclusive).push_back(text);
    }
    std::stable_sort(ef.significant.begin(), ef.significant.end(), by_size);
    std::stable_sort(ef.unconfirmed.begin(), ef.unconfirmed.end(), by_size);
    if (ef.unconfirmed.size() > 5) ef.unconfirmed.resize(5);
    out.envs.push_back(std::move(ef));
  }
  return out;
}

}  // namespace vbench
