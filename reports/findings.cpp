#include "reports/findings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

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

}  // namespace

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
      if (v == RatioVerdict::Worse || v == RatioVerdict::Better) {
        ef.significant.push_back(finding(l, r, label));
        t.significant = true;
      } else if (v == RatioVerdict::TooFew) {
        ef.unconfirmed.push_back(finding(l, r, label));
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
