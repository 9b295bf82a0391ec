#include "reports/changes.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/escape.hpp"

namespace vbench {
namespace {

std::string pct(double f) { return std::isfinite(f) ? fmt::format("{:+.1f}%", f * 100) : "n/a"; }

}  // namespace

nlohmann::json changes_to_json(const std::vector<ChangeSeries>& series, const ChangeQuery& q) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json js = nlohmann::json::array();
  size_t total = 0, regressions = 0, too_short = 0;
  for (const auto& s : series) {
    nlohmann::json cps = nlohmann::json::array();
    for (const auto& c : s.changes) {
      cps.push_back({{"position", c.position},
                     {"history_id", c.first_after.history_id},
                     {"run_id", c.first_after.run_id},
                     {"git_commit", c.first_after.git_commit},
                     {"git_branch", c.first_after.git_branch},
                     {"started_at", c.first_after.started_at},
                     {"median_before", num(c.median_before)},
                     {"median_after", num(c.median_after)},
                     {"runs_before", c.n_before},
                     {"runs_after", c.n_after},
                     {"change", num(c.change)},
                     {"change_ci_low", num(c.change_ci_low)},
                     {"change_ci_high", num(c.change_ci_high)},
                     {"p_value", c.p_value},
                     {"kind", c.regression ? "regression" : "improvement"}});
      ++total;
      regressions += c.regression;
    }
    too_short += !s.note.empty();
    js.push_back({{"host_fingerprint", s.host_fingerprint},
                  {"hostname", s.hostname},
                  {"env", s.env},
                  {"workload", s.workload},
                  {"params", s.params},
                  {"metric", s.metric},
                  {"unit", s.unit},
                  {"better", to_string(s.better)},
                  {"runs", s.points.size()},
                  {"judged", s.note.empty()},
                  {"note", s.note},
                  {"change_points", std::move(cps)}});
  }
  const auto& o = q.options;
  return {{"method", "e-divisive means (Matteson & James 2014), permutation test"},
          {"alpha", o.alpha},
          {"permutations", o.permutations},
          {"min_segment", o.min_segment},
          {"min_change", o.min_change},
          {"seed", o.seed},
          {"branch", q.branch},
          {"since", q.since},
          {"change_points", total},
          {"regressions", regressions},
          {"improvements", total - regressions},
          {"series_too_short", too_short},
          {"series", std::move(js)}};
}

std::string render_changes_text(const std::vector<ChangeSeries>& series, const ChangeQuery& q) {
  const auto& o = q.options;
  std::string out = fmt::format(
      "change points over history (E-divisive means, permutation test: alpha {}, {} permutations, at least {} runs "
      "a side{}{}{})\n",
      o.alpha, o.permutations, o.min_segment,
      o.min_change > 0 ? fmt::format(", changes >= {:.3g}%", o.min_change * 100) : "",
      q.branch.empty() ? "" : ", branch " + terminal_safe(q.branch),
      q.since ? fmt::format(", only among the newest {} runs", q.since) : "");
  size_t total = 0, regressions = 0;
  std::vector<std::string> short_ones;
  for (const auto& s : series) {
    if (!s.note.empty()) {
      short_ones.push_back(fmt::format("  {}: {}", terminal_safe(s.title()), s.note));
      continue;
    }
    for (const auto& c : s.changes) {
      ++total;
      regressions += c.regression;
      out += fmt::format(
          "{} {} on {}: at run {}/{} (#{} {}, commit {}, {}): median {:.4g} -> {:.4g} {}, {} (95% CI {} .. {}), "
          "p={:.3g}, {} runs before, {} after\n",
          c.regression ? "REGRESSION" : "improvement", terminal_safe(s.title()), terminal_safe(s.hostname), c.position,
          s.points.size(), c.first_after.history_id, terminal_safe(c.first_after.run_id),
          terminal_safe(c.first_after.git_commit.empty() ? "unknown" : c.first_after.git_commit.substr(0, 12)),
          terminal_safe(c.first_after.started_at), c.median_before, c.median_after, terminal_safe(s.unit),
          pct(c.change), pct(c.change_ci_low), pct(c.change_ci_high), c.p_value, c.n_before, c.n_after);
    }
  }
  out += fmt::format("{} series, {} change point{} ({} regression{}, {} improvement{}){}\n", series.size(), total,
                     total == 1 ? "" : "s", regressions, regressions == 1 ? "" : "s", total - regressions,
                     total - regressions == 1 ? "" : "s",
                     short_ones.empty() ? "" : fmt::format("; {} too short to judge:", short_ones.size()));
  for (const auto& l : short_ones) out += l + "\n";
  return out;
}

}  // namespace vbench
