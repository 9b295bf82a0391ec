// The renderers of a Comparison: terminal table, Markdown, JUnit XML, JSON.
// Every string that comes from a results file is escaped for its format.
#include "reports/compare_formats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/compare.hpp"
#include "core/escape.hpp"
#include "core/json.hpp"
#include "reports/format.hpp"

namespace vbench {
namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string value_str(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "-"; }
std::string pct_str(double f) { return std::isfinite(f) ? fmt::format("{:+.1f}%", f * 100) : "-"; }
std::string ci_str(const MetricComparison& r) {
  if (!std::isfinite(r.change_ci_low) || !std::isfinite(r.change_ci_high)) return "-";
  return fmt::format("[{:+.1f}, {:+.1f}]", r.change_ci_low * 100, r.change_ci_high * 100);
}
std::string p_str(double p) { return std::isfinite(p) ? fmt::format("{:.2g}", p) : "-"; }

// "run vb...-abc (commit 1234abcd, 2024-05-01T10:00:00Z)"
std::string run_line(const RunMeta& m, const std::string& source) {
  std::string s = "run " + m.run_id;
  std::vector<std::string> bits;
  if (!m.git_commit.empty()) bits.push_back("vbench " + m.git_commit.substr(0, 12));
  if (!m.started_at.empty()) bits.push_back(m.started_at);
  if (!source.empty()) bits.push_back(source);
  if (!bits.empty()) s += fmt::format(" ({})", fmt::join(bits, ", "));
  return s;
}

std::string host_name(const RunMeta& m) {
  if (m.host.is_object() && m.host.contains("facts") && m.host["facts"].is_array())
    for (const auto& f : m.host["facts"])
      if (json_string(f, "key") == "hostname" && f.contains("value") && f["value"].is_string())
        return f["value"].get<std::string>();
  return "unknown host";
}

std::string suite_name(const RunMeta& m) {
  return m.suite.is_object() && m.suite.contains("name") && m.suite["name"].is_string()
             ? m.suite["name"].get<std::string>()
             : std::string("?");
}

std::string headline(const Comparison& c) {
  std::string out = fmt::format("{} regressed, {} improved, {} unchanged, {} noisy", c.count(Verdict::Regressed),
                                c.count(Verdict::Improved), c.count(Verdict::Unchanged), c.count(Verdict::Noisy));
  const size_t worse = c.count_diagnostic(Verdict::Regressed), better = c.count_diagnostic(Verdict::Improved);
  if (worse + better > 0)
    out += fmt::format(
        "; diagnostics (counters, cgroup statistics, CPU-time parts; they do not gate): {} regressed, "
        "{} improved",
        worse, better);
  return out;
}

// The verdict as a row shows it: a diagnostic's change is marked as one.
std::string verdict_text(const MetricComparison& r) {
  const bool moved = r.verdict == Verdict::Regressed || r.verdict == Verdict::Improved;
  return std::string(to_string(r.verdict)) + (moved && !r.gates ? " (diagnostic)" : "");
}

std::string method_line(const Comparison& c) {
  return fmt::format(
      "alpha {:g} with Holm's correction over {} metrics tested; threshold ±{:g}% unless the suite "
      "sets one per metric",
      c.alpha, c.tested, c.threshold * 100);
}

int verdict_color(Verdict v) {
  switch (v) {
    case Verdict::Regressed:
      return 31;
    case Verdict::Improved:
      return 32;
    case Verdict::Noisy:
      return 33;
    case Verdict::Unchanged:
      break;
  }
  return 0;
}

// Rows worth a reader's attention first: regressions, improvements; those
// that gate before the diagnostics.
std::vector<const MetricComparison*> notable(const Comparison& c) {
  std::vector<const MetricComparison*> out;
  for (bool gates : {true, false})
    for (Verdict v : {Verdict::Regressed, Verdict::Improved})
      for (const auto& r : c.rows)
        if (r.gates == gates && r.verdict == v) out.push_back(&r);
  return out;
}

}  // namespace

std::string render_compare_table(const Comparison& c, bool color) {
  const std::vector<std::string> head = {"env",     "workload", "params", "metric",   "unit",   "base",
                                         "current", "change",   "95% CI", "p (Holm)", "verdict"};
  const size_t first_numeric = 5;
  std::vector<std::vector<std::string>> lines;
  for (const auto& r : c.rows)
    lines.push_back({terminal_safe(r.env), terminal_safe(r.workload), terminal_safe(r.params), terminal_safe(r.metric),
                     terminal_safe(r.unit), value_str(r.base.median), value_str(r.current.median), pct_str(r.change),
                     ci_str(r), p_str(r.p_adjusted), verdict_text(r)});
  std::vector<size_t> width(head.size());
  for (size_t i = 0; i < head.size(); ++i) {
    width[i] = head[i].size();
    for (const auto& l : lines) width[i] = std::max(width[i], l[i].size());
    width[i] = std::min<size_t>(width[i], 36);
  }
  auto cell = [&](const std::string& text, size_t i) {
    std::string t = text.size() > width[i] ? text.substr(0, width[i] - 1) + "~" : text;
    return i >= first_numeric ? fmt::format("{:>{}}", t, width[i]) : fmt::format("{:<{}}", t, width[i]);
  };
  std::string out;
  out += fmt::format("base:    {}\ncurrent: {}\n", terminal_safe(run_line(c.base, c.base_source)),
                     terminal_safe(run_line(c.current, c.current_source)));
  out += fmt::format("suite {} on {}; {}\n\n", terminal_safe(suite_name(c.current)),
                     terminal_safe(host_name(c.current)), method_line(c));
  for (size_t i = 0; i < head.size(); ++i) {
    const std::string t = cell(head[i], i);
    out += color ? "\033[1m" + t + "\033[0m" : t;
    out += i + 1 < head.size() ? "  " : "\n";
  }
  for (size_t k = 0; k < lines.size(); ++k) {
    for (size_t i = 0; i < head.size(); ++i) {
      std::string t = cell(lines[k][i], i);
      const int col = verdict_color(c.rows[k].verdict);
      if (color && col && (i == head.size() - 1 || i == 7)) t = fmt::format("\033[{}m{}\033[0m", col, t);
      out += t;
      out += i + 1 < head.size() ? "  " : "\n";
    }
  }
  out += "\nchange = current median / base median - 1, with its bootstrap 95% CI; p = Mann-Whitney U, Holm-adjusted\n";
  const auto top = notable(c);
  if (!top.empty()) out += "\n";
  for (const auto* r : top)
    out += fmt::format("{}: {}: {}\n", verdict_text(*r), terminal_safe(r->where()), terminal_safe(r->reason));
  for (const auto& u : c.unmatched)
    out += fmt::format("only in {}: {} {}{} {} ({})\n", u.only_in, terminal_safe(u.env), terminal_safe(u.workload),
                       u.params.empty() ? "" : " (" + terminal_safe(u.params) + ")", terminal_safe(u.metric),
                       terminal_safe(u.note));
  for (const auto& w : c.warnings) out += "warning: " + terminal_safe(w) + "\n";
  const std::string verdict = c.regressed() ? "REGRESSION" : "no regression";
  out +=
      fmt::format("\n{}: {}\n", color ? fmt::format("\033[1;{}m{}\033[0m", c.regressed() ? 31 : 32, verdict) : verdict,
                  headline(c));
  return out;
}

std::string render_compare_markdown(const Comparison& c) {
  const auto md = [](const std::string& s) { return markdown_escape(s); };
  std::string out;
  out += fmt::format("### vbench compare: {}\n\n",
                     c.regressed() ? fmt::format("{} regressed", c.count(Verdict::Regressed)) : "no regression");
  out += fmt::format("{}.\n\n", headline(c));
  out += fmt::format("- base: {}\n- current: {}\n- suite {} on {}\n- {}\n\n", md(run_line(c.base, c.base_source)),
                     md(run_line(c.current, c.current_source)), md(suite_name(c.current)), md(host_name(c.current)),
                     md(method_line(c)));
  const std::string table_head =
      "| verdict | env | workload | params | metric | base | current | change | 95% CI | p (Holm) |\n"
      "|---|---|---|---|---|---:|---:|---:|---:|---:|\n";
  auto table_row = [&](const MetricComparison& r) {
    const std::string v = (r.verdict == Verdict::Regressed || r.verdict == Verdict::Improved) && r.gates
                              ? fmt::format("**{}**", to_string(r.verdict))
                              : verdict_text(r);
    return fmt::format("| {} | {} | {} | {} | {} | {} {} | {} {} | {} | {} | {} |\n", v, md(r.env), md(r.workload),
                       md(r.params), md(r.metric), value_str(r.base.median), md(r.unit), value_str(r.current.median),
                       md(r.unit), pct_str(r.change), ci_str(r), p_str(r.p_adjusted));
  };
  // A comment holds kMarkdownCommentLimit characters: the blocks that must
  // arrive (warnings, the metrics in only one run) are built first and get at
  // most an eighth each; the notable metrics then get half of what is left,
  // and the table of all metrics the rest. What does not fit is counted.
  auto bounded_list = [](const std::string& title, const std::vector<std::string>& items, const char* what) {
    if (items.empty()) return std::string();
    std::string block = title;
    if (const size_t left = append_within(block, items, kMarkdownCommentLimit / 8))
      block += fmt::format("- … and {} more {} (see compare.json)\n", left, what);
    return block;
  };
  std::vector<std::string> items;
  for (const auto& w : c.warnings) items.push_back("- " + md(clip_text(w, 500)) + "\n");
  std::string warnings = bounded_list("**Warnings**\n\n", items, "warnings");
  if (!warnings.empty()) warnings += "\n";
  items.clear();
  for (const auto& u : c.unmatched)
    items.push_back(fmt::format("- only in {}: {} {} {} {} ({})\n", u.only_in, md(u.env), md(u.workload), md(u.params),
                                md(u.metric), md(clip_text(u.note, 300))));
  const std::string only = bounded_list("\nIn only one run:\n\n", items, "metrics in only one run");
  constexpr size_t kSkeletonRoom = 1000;  // the <details> lines, table heads, notes of what was left out
  const size_t fixed = out.size() + warnings.size() + only.size() + kSkeletonRoom;
  const size_t room = kMarkdownCommentLimit > fixed ? kMarkdownCommentLimit - fixed : 0;

  const auto top = notable(c);
  if (!top.empty()) {
    const size_t notable_end = out.size() + room / 2;
    out += table_head;
    std::vector<std::string> rows, reasons;
    for (const auto* r : top) rows.push_back(table_row(*r));
    const size_t left = append_within(out, rows, notable_end);
    out += "\n";
    for (size_t i = 0; i + left < top.size(); ++i)
      reasons.push_back(fmt::format("- {}: {}\n", md(top[i]->where()), md(clip_text(top[i]->reason, 300))));
    const size_t reasons_left = append_within(out, reasons, notable_end);
    if (left || reasons_left)  // reasons are written only for the rows shown
      out += fmt::format("- … {} more notable metrics are left out here (see compare.json or the JUnit file)\n",
                         left + reasons_left);
    out += "\n";
  }
  out += warnings;
  out += fmt::format("<details><summary>All {} metrics</summary>\n\n", c.rows.size());
  out += table_head;
  std::vector<std::string> rows;
  for (const auto& r : c.rows) rows.push_back(table_row(r));
  if (const size_t left = append_within(out, rows, kMarkdownCommentLimit - only.size() - kSkeletonRoom / 2))
    out += fmt::format(
        "\n*{} more metrics are left out: a comment holds at most {} characters. compare.json and "
        "the JUnit file have them all.*\n",
        left, kMarkdownCommentLimit);
  out += only;
  out += "\n</details>\n";
  return out;
}

std::string render_compare_junit(const Comparison& c) {
  const auto x = [](const std::string& s) { return xml_escape(s); };
  const size_t tests = c.rows.size() + c.unmatched.size();
  const size_t failures = c.count(Verdict::Regressed);
  const size_t skipped = c.count(Verdict::Noisy) + c.unmatched.size();
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"vbench compare\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
                     tests, failures, skipped);
  out += fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"0\" "
      "timestamp=\"{}\">\n",
      x(fmt::format("vbench compare {}: {} vs {}", suite_name(c.current), c.base.run_id, c.current.run_id)), tests,
      failures, skipped, x(c.current.started_at));
  out += "    <properties>\n";
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"base", run_line(c.base, c.base_source)},
                                                        {"current", run_line(c.current, c.current_source)},
                                                        {"host", host_name(c.current)},
                                                        {"alpha", fmt::format("{:g}", c.alpha)},
                                                        {"threshold", fmt::format("{:g}%", c.threshold * 100)},
                                                        {"tested", std::to_string(c.tested)}})
    out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", x(k), x(v));
  out += "    </properties>\n";
  for (const auto& r : c.rows) {
    const std::string classname = fmt::format("vbench.{}.{}", r.env, r.workload);
    const std::string name = r.params.empty() ? r.metric : fmt::format("{} ({})", r.metric, r.params);
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"0\">", x(classname), x(name));
    const std::string detail = fmt::format("{}: base median {} {}, current median {} {}, change {} {}, p (Holm) {}\n{}",
                                           r.where(), value_str(r.base.median), r.unit, value_str(r.current.median),
                                           r.unit, pct_str(r.change), ci_str(r), p_str(r.p_adjusted), r.reason);
    if (r.verdict == Verdict::Regressed && r.gates)
      out += fmt::format("\n      <failure type=\"regression\" message=\"{}\">{}</failure>\n    ",
                         x(fmt::format("regressed {}: {}", pct_str(r.change), r.reason)), x(detail));
    else if (r.verdict == Verdict::Noisy)
      out += fmt::format("\n      <skipped message=\"{}\"/>\n    ", x("noisy: " + r.reason));
    else
      out += fmt::format("\n      <system-out>{}</system-out>\n    ", x(verdict_text(r) + ": " + detail));
    out += "</testcase>\n";
  }
  for (const auto& u : c.unmatched) {
    const std::string name = u.params.empty() ? u.metric : fmt::format("{} ({})", u.metric, u.params);
    out += fmt::format(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">\n      <skipped message=\"{}\"/>\n    "
        "</testcase>\n",
        x(fmt::format("vbench.{}.{}", u.env, u.workload)), x(name),
        x(fmt::format("only in {}: {}", u.only_in, u.note)));
  }
  if (!c.warnings.empty()) {
    std::string all;
    for (const auto& w : c.warnings) all += "warning: " + w + "\n";
    out += fmt::format("    <system-err>{}</system-err>\n", x(all));
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

nlohmann::json render_compare_json(const Comparison& c) {
  auto run = [](const RunMeta& m, const std::string& source) {
    return nlohmann::json{{"run_id", m.run_id},
                          {"source", source},
                          {"vbench_git_commit", m.git_commit},
                          {"started_at", m.started_at},
                          {"host_fingerprint", json_string(m.host, "fingerprint")},
                          {"suite", suite_name(m)}};
  };
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows)
    rows.push_back({{"env", r.env},
                    {"workload", r.workload},
                    {"params", r.params},
                    {"metric", r.metric},
                    {"unit", r.unit},
                    {"better", to_string(r.better)},
                    {"source", r.source},
                    {"threshold", r.threshold},
                    {"base", to_json(r.base)},
                    {"current", to_json(r.current)},
                    {"change", num(r.change)},
                    {"change_ci_low", num(r.change_ci_low)},
                    {"change_ci_high", num(r.change_ci_high)},
                    {"test", to_json(r.test)},
                    {"p_adjusted", num(r.p_adjusted)},
                    {"verdict", to_string(r.verdict)},
                    {"gates", r.gates},
                    {"reason", r.reason}});
  for (size_t i = 0; i < c.rows.size(); ++i)
    if (!c.rows[i].history_noise.is_null()) rows[i]["history_noise"] = c.rows[i].history_noise;
  nlohmann::json unmatched = nlohmann::json::array();
  for (const auto& u : c.unmatched)
    unmatched.push_back({{"env", u.env},
                         {"workload", u.workload},
                         {"params", u.params},
                         {"metric", u.metric},
                         {"only_in", u.only_in},
                         {"note", u.note}});
  nlohmann::json counts;
  for (Verdict v : {Verdict::Regressed, Verdict::Improved, Verdict::Unchanged, Verdict::Noisy})
    counts[to_string(v)] = c.count(v);
  nlohmann::json diagnostic_counts;
  for (Verdict v : {Verdict::Regressed, Verdict::Improved, Verdict::Unchanged, Verdict::Noisy})
    diagnostic_counts[to_string(v)] = c.count_diagnostic(v);
  return {{"base", run(c.base, c.base_source)},
          {"current", run(c.current, c.current_source)},
          {"alpha", c.alpha},
          {"threshold", c.threshold},
          {"tested", c.tested},
          {"regressed", c.regressed()},
          {"counts", counts},
          {"diagnostic_counts", diagnostic_counts},
          {"rows", rows},
          {"unmatched", unmatched},
          {"warnings", c.warnings}};
}

}  // namespace vbench
