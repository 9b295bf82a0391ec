// The Markdown report, for a pull-request comment: the summary table and the
// warnings. Every string from the results goes through markdown_escape, so a
// hostile guest's error can neither break the table nor add links or HTML.
#include <fmt/format.h>

#include "reports/format.hpp"
#include "reports/reports.hpp"

namespace vbench {
namespace {

std::string md(std::string_view s) { return markdown_escape(s); }

std::string value_md(const SummaryRow* r, bool with_ci) {
  if (!r) return "–";
  if (r->status == "failed") return "**failed**";
  if (r->status == "unsupported") return "unsupported";
  if (r->stats.n == 0) return "–";
  std::string t = value_text(r->stats.median);
  if (with_ci)
    if (const std::string ci = ci_text(r->stats); !ci.empty()) t += " " + ci;
  if (r->status == "partial") t += " (some failed)";
  return md(t);
}

std::string ratio_md(const SummaryRow* r) {
  if (!r || !r->has_ratio) return "";
  const std::string t = md(ratio_text(r->ratio));
  switch (verdict(r->ratio)) {
    case RatioVerdict::Worse:
      return "**" + t + "** ▲";
    case RatioVerdict::Better:
      return "**" + t + "** ▼";
    case RatioVerdict::TooFew:
      return t + " †";
    default:
      return t;
  }
}

}  // namespace

std::string render_markdown(const ResultSet& rs, const RunSummary& summary) {
  const EnvGrid cmp = compare_envs(rs, summary);
  const auto& m = rs.meta;
  std::string suite = m.suite.is_object() && m.suite.contains("name") && m.suite["name"].is_string()
                          ? m.suite["name"].get<std::string>()
                          : "";
  std::string o = "## vbench: what isolation costs" + (suite.empty() ? "" : ", suite " + md(suite)) + "\n\n";
  std::vector<std::string> facts;
  if (!m.run_id.empty()) facts.push_back("run " + md(m.run_id));
  if (!m.started_at.empty())
    facts.push_back(md(m.started_at) + " → " + md(m.finished_at.empty() ? "?" : m.finished_at));
  if (!cmp.baseline.empty()) facts.push_back("baseline **" + md(cmp.baseline) + "**");
  if (!facts.empty()) o += fmt::format("{}\n\n", fmt::join(facts, " · "));
  if (m.interrupted) o += "**The run was interrupted: the results are incomplete.**\n\n";

  const auto lines = summary_lines(cmp);
  if (lines.empty()) {
    o += "No workload results in this run.\n";
  } else {
    std::string head = "| Workload | Params | Metric | Unit |", rule = "|:--|:--|:--|:--|";
    for (const auto& e : cmp.envs) {
      head += fmt::format(" {} |", md(e == cmp.baseline ? e + " (baseline)" : e));
      rule += "--:|";
      if (!cmp.baseline.empty() && e != cmp.baseline) {
        head += fmt::format(" {} / {} |", md(e), md(cmp.baseline));
        rule += "--:|";
      }
    }
    o += head + "\n" + rule + "\n";
    for (const EnvGridLine* l : lines) {
      o +=
          fmt::format("| {} | {} | {} | {} |", md(l->workload), md(l->params),
                      l->metric.empty() ? "**no result**" : md(l->metric) + (l->better == Better::Higher ? " ↑" : " ↓"),
                      md(unit_text(l->unit)));
      for (const auto& e : cmp.envs) {
        const SummaryRow* r = l->cell(e);
        o += fmt::format(" {} |", value_md(r, e == cmp.baseline || cmp.baseline.empty()));
        if (!cmp.baseline.empty() && e != cmp.baseline) o += fmt::format(" {} |", ratio_md(r));
      }
      o += "\n";
    }
    o += "\nMedians; ↑ higher is better, ↓ lower is better.";
    if (!cmp.baseline.empty())
      o += fmt::format(
          " Ratios are overheads against {0} with their 95% CI, above 1 is worse: **▲** significantly worse, "
          "**▼** significantly better (the CI excludes 1, {1}+ repetitions); † fewer than {1} repetitions, no "
          "significance claimed.",
          md(cmp.baseline), kMinRepetitionsForCI);
    o += "\n";
  }
  o += "\n### Warnings\n\n";
  if (summary.warnings.empty()) o += "None.\n";
  for (const auto& w : summary.warnings) o += "- " + md(w) + "\n";
  return o;
}

}  // namespace vbench
