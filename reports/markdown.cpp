// The Markdown report, for a pull-request comment: the findings, the summary table and the
// warnings. Every string from the results goes through markdown_escape, so a
// hostile guest's error can neither break the table nor add links or HTML.
#include <fmt/format.h>

#include "reports/findings.hpp"
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
  std::string t = md(ratio_text(r->ratio));
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
  std::string o =
      "## vbench: what isolation costs" + (suite.empty() ? "" : ", suite " + md(clip_text(suite, 200))) + "\n\n";
  std::vector<std::string> facts;
  if (!m.run_id.empty()) facts.push_back("run " + md(m.run_id));
  if (!m.started_at.empty())
    facts.push_back(md(m.started_at) + " → " + md(m.finished_at.empty() ? "?" : m.finished_at));
  if (!cmp.baseline.empty()) facts.push_back("baseline **" + md(cmp.baseline) + "**");
  if (!facts.empty()) o += fmt::format("{}\n\n", fmt::join(facts, " · "));
  if (m.interrupted) o += "**The run was interrupted: the results are incomplete.**\n\n";

  // Findings first: what each environment costs, in lines one can quote.
  if (const Findings f = find_overheads(cmp); !f.envs.empty()) {
    o += "### Findings\n\n";
    constexpr size_t kMaxLines = 15;  // per environment; the HTML report has them all
    for (const auto& e : f.envs) {
      o += fmt::format("**{}** against {}:\n\n", md(clip_text(e.env, 100)), md(clip_text(f.baseline, 100)));
      if (e.significant.empty() && e.unconfirmed.empty()) o += "- no significant difference\n";
      for (size_t i = 0; i < e.significant.size() && i < kMaxLines; ++i)
        o += fmt::format("- {} {}\n", e.significant[i].row->ratio.value >= 1 ? "▲" : "▼",
                         md(clip_text(e.significant[i].text, 300)));
      if (e.significant.size() > kMaxLines)
        o += fmt::format("- … and {} more significant differences\n", e.significant.size() - kMaxLines);
      if (!e.unconfirmed.empty()) {
        std::vector<std::string> seen;
        for (const auto& l : e.unconfirmed) seen.push_back(md(clip_text(l.text, 200)));
        // " · " between them: a line may hold "; " itself (its attribution).
        o += fmt::format("- fewer than {} repetitions, no significance claimed; largest differences: {}\n",
                         kMinRepetitionsForCI, fmt::join(seen, " · "));
      }
      if (!e.no_overhead.empty())
        o += fmt::format("- no measurable overhead (95% CI within ±{:.0f}%): {}\n", f.bound * 100,
                         md(clip_text(fmt::format("{}", fmt::join(e.no_overhead, ", ")), 2000)));
      if (!e.inconclusive.empty())
        o += fmt::format("- inconclusive (CI wider than ±{:.0f}%): {}\n", f.bound * 100,
                         md(clip_text(fmt::format("{}", fmt::join(e.inconclusive, ", ")), 2000)));
      o += "\n";
    }
    o += "The forest plot of every ratio is in report.html.\n\n";
  }

  // What follows the table, built first: the table gets the room that is
  // left, so that the legend and the warnings always reach the comment.
  std::string tail;
  const auto lines = summary_lines(cmp);
  if (!lines.empty()) {
    tail += "\nMedians; ↑ higher is better, ↓ lower is better.";
    if (!cmp.baseline.empty())
      tail += fmt::format(
          " Ratios are overheads against {0} with their 95% CI, above 1 is worse: **▲** significantly worse, "
          "**▼** significantly better (the CI excludes 1, {1}+ repetitions); † fewer than {1} repetitions, no "
          "significance claimed.",
          md(cmp.baseline), kMinRepetitionsForCI);
    tail += "\n";
  }
  tail += "\n### Warnings\n\n";
  if (summary.warnings.empty()) tail += "None.\n";
  std::vector<std::string> warnings;
  for (const auto& w : summary.warnings) warnings.push_back("- " + md(clip_text(w, 500)) + "\n");
  if (const size_t left = append_within(tail, warnings, kMarkdownCommentLimit / 4))
    tail += fmt::format("- … and {} more warnings (see the HTML report)\n", left);

  if (lines.empty()) {
    o += "No workload results in this run.\n";
  } else {
    std::string head = "| Workload | Params | Metric | Unit |", rule = "|:--|:--|:--|:--|";
    for (const auto& e : cmp.envs) {
      const std::string name = clip_text(e, 100);
      head += fmt::format(" {} |", md(e == cmp.baseline ? name + " (baseline)" : name));
      rule += "--:|";
      if (!cmp.baseline.empty() && e != cmp.baseline) {
        head += fmt::format(" {} / {} |", md(name), md(clip_text(cmp.baseline, 100)));
        rule += "--:|";
      }
    }
    o += head + "\n" + rule + "\n";
    std::vector<std::string> rows;
    for (const EnvGridLine* l : lines) {
      std::string row =
          fmt::format("| {} | {} | {} | {} |", md(l->workload), md(l->params),
                      l->metric.empty() ? "**no result**" : md(l->metric) + (l->better == Better::Higher ? " ↑" : " ↓"),
                      md(unit_text(l->unit)));
      for (const auto& e : cmp.envs) {
        const SummaryRow* r = l->cell(e);
        row += fmt::format(" {} |", value_md(r, e == cmp.baseline || cmp.baseline.empty()));
        if (!cmp.baseline.empty() && e != cmp.baseline) row += fmt::format(" {} |", ratio_md(r));
      }
      rows.push_back(row + "\n");
    }
    constexpr size_t kNoteRoom = 200;
    if (const size_t left = append_within(o, rows, kMarkdownCommentLimit - tail.size() - kNoteRoom))
      o += fmt::format(
          "\n*{} more rows are left out: a comment holds at most {} characters. The HTML report and "
          "results.csv have them all.*\n",
          left, kMarkdownCommentLimit);
  }
  o += tail;
  return o;
}

}  // namespace vbench
