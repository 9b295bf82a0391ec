#include "reports/fleet.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "analysis/compare.hpp"
#include "reports/format.hpp"
#include "reports/reports.hpp"

namespace vbench {
namespace {

struct RowKey {
  std::string env, workload, params, metric;
  auto operator<=>(const RowKey&) const = default;
};

std::string jtext(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return dump_json(j);
}
std::string jfield(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) ? jtext(j[key]) : "";
}

bool has_ci(const OverheadRatio& r) {
  return r.ok() && std::isfinite(r.ci_low) && std::isfinite(r.ci_high) && r.n_env >= kMinRepetitionsForCI &&
         r.n_base >= kMinRepetitionsForCI;
}

// Rows with a ratio (non-baseline environments), per key, per host, in the
// order the first host that has them lists them.
struct RatioGrid {
  std::vector<RowKey> order;
  std::map<RowKey, std::map<std::string, const SummaryRow*>> cells;  // key -> host -> row
  std::vector<std::string> envs;                                     // non-baseline env labels, first seen
};

RatioGrid ratio_grid(const Fleet& fleet) {
  RatioGrid g;
  for (const auto& m : fleet.members)
    for (const auto& r : m.summary.rows) {
      if (!r.has_ratio || r.source == "counter") continue;
      const RowKey k{r.env, r.workload, r.params, r.metric};
      auto [it, fresh] = g.cells.try_emplace(k);
      if (fresh) g.order.push_back(k);
      it->second[m.host] = &r;
      if (std::find(g.envs.begin(), g.envs.end(), r.env) == g.envs.end()) g.envs.push_back(r.env);
    }
  return g;
}

std::string heat_class(const OverheadRatio& r) {
  switch (verdict(r)) {
    case RatioVerdict::Worse:
      return "w";
    case RatioVerdict::Better:
      return "b";
    case RatioVerdict::Same:
      return "ns";
    default:
      return "na";
  }
}

constexpr std::string_view kStyle = R"CSS(
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; --warn: #7d4e00; --warnbg: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--soft); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 12px 28px 40px; background: #fff; }
h1 { font-size: 24px; margin: 12px 0 4px; }
h2 { font-size: 19px; margin: 30px 0 8px; padding-top: 8px; border-top: 2px solid var(--line); }
p, li { max-width: 78em; }
.sub, .ci, .params { color: var(--muted); }
.params { font-size: 12px; overflow-wrap: anywhere; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); padding: 6px 0; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
.banner { background: var(--warnbg); color: var(--warn); border: 1px solid #d4a72c; border-radius: 6px;
  padding: 8px 12px; margin: 8px 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--line); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.w { background: #ffd8d3; } td.b { background: #d1f0d9; } td.ns, td.na { color: var(--muted); }
td.differs { font-weight: 600; }
tr.diff td { background: var(--warnbg); }
pre.err { white-space: pre-wrap; margin: 0; font-size: 12px; color: #a40e26; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
)CSS";

std::string esc(std::string_view s) { return html_escape(s); }

std::string section_findings(const Fleet& fleet, const FleetAnalysis& a) {
  std::string o = "<section id=\"findings\"><h2>Findings across hosts</h2>";
  o += fmt::format(
      "<p>{} host(s) with results{}. Each host's overhead ratios are against its own baseline environment; a ratio "
      "<b>differs between hosts</b> when the 95% confidence intervals of its lowest and highest value do not "
      "overlap.</p>",
      fleet.members.size(), fleet.failures.empty() ? "" : fmt::format(", {} failed", fleet.failures.size()));
  if (a.differences.empty()) {
    o += fmt::format("<p>No overhead differs between hosts ({} ratio(s) compared{}).</p>", a.compared,
                     a.too_few ? fmt::format("; {} with fewer than {} repetitions on some host, which cannot tell",
                                             a.too_few, kMinRepetitionsForCI)
                               : "");
  } else {
    o += fmt::format("<p>{} of {} ratio(s) compared differ between hosts{}:</p><ul>", a.differences.size(), a.compared,
                     a.too_few ? fmt::format(" ({} more had fewer than {} repetitions on some host)", a.too_few,
                                             kMinRepetitionsForCI)
                               : "");
    for (const auto& d : a.differences) o += "<li>" + esc(difference_text(d)) + "</li>";
    o += "</ul>";
  }
  return o + "</section>";
}

std::string section_ratios(const Fleet& fleet, const FleetAnalysis& a) {
  const RatioGrid g = ratio_grid(fleet);
  if (g.order.empty()) return "";
  std::set<RowKey> differs;
  for (const auto& d : a.differences) differs.insert({d.env, d.workload, d.params, d.metric});
  std::string o =
      "<section id=\"ratios\"><h2>Overhead by host</h2><p>Ratio to each host's baseline, with its 95% CI (above 1 is "
      "worse, whatever the metric). Red: significantly worse; green: significantly better; grey: not significant or "
      "too few repetitions. Highlighted rows differ between hosts.</p><div class=\"scroll\"><table><thead><tr>"
      "<th>Environment</th><th>Workload</th><th>Metric</th>";
  for (const auto& m : fleet.members) o += "<th>" + esc(m.host) + "</th>";
  o += "</tr></thead><tbody>";
  for (const auto& k : g.order) {
    const auto& cells = g.cells.at(k);
    o += fmt::format("<tr{}><td>{}</td><td title=\"{}\">{}<br><span class=\"params\">{}</span></td><td>{}</td>",
                     differs.count(k) ? " class=\"diff\"" : "", esc(k.env), esc(k.params), esc(k.workload),
                     esc(k.params), esc(k.metric));
    for (const auto& m : fleet.members) {
      auto it = cells.find(m.host);
      if (it == cells.end()) {
        o += "<td class=\"num na\">–</td>";
        continue;
      }
      const OverheadRatio& r = it->second->ratio;
      o += fmt::format("<td class=\"num {}\" title=\"{}\">{}</td>", heat_class(r), esc(r.reason), esc(ratio_text(r)));
    }
    o += "</tr>";
  }
  return o + "</tbody></table></div></section>";
}

// Host facts, run facts and environment descriptions, one column per host:
// the differences that explain different numbers.
std::string section_provenance(const Fleet& fleet) {
  std::vector<std::string> labels;
  std::vector<std::map<std::string, std::string>> cols(fleet.members.size());
  auto put = [&](size_t i, const std::string& label, const std::string& value) {
    if (value.empty()) return;
    if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    cols[i][label] = value;
  };
  for (size_t i = 0; i < fleet.members.size(); ++i) {
    const auto& m = fleet.members[i].results.meta;
    put(i, "Run", m.run_id);
    put(i, "vbench", m.vbench_version + (m.git_commit.empty() ? "" : " (" + m.git_commit + ")"));
    put(i, "Started", m.started_at);
    if (m.host.is_object() && m.host.contains("facts") && m.host["facts"].is_array())
      for (const auto& f : m.host["facts"]) put(i, jfield(f, "label"), jfield(f, "value"));
    put(i, "Host fingerprint", jfield(m.host, "fingerprint"));
    for (const auto& e : fleet.members[i].results.envs) {
      put(i, "env " + e.name, e.started ? e.label : "did not start: " + e.error);
      if (e.describe.is_object())
        for (const auto& [k, v] : e.describe.items())
          if (!v.is_object() && !v.is_array()) put(i, "env " + e.name + " " + k, jtext(v));
    }
  }
  std::string o =
      "<section id=\"provenance\"><h2>Provenance</h2><p>What each host is and ran, side by side; rows whose values "
      "differ between hosts are highlighted.</p><div class=\"scroll\"><table><thead><tr><th></th>";
  for (const auto& m : fleet.members) o += "<th>" + esc(m.host) + "</th>";
  o += "</tr></thead><tbody>";
  for (const auto& l : labels) {
    std::set<std::string> values;
    for (const auto& c : cols) values.insert(c.count(l) ? c.at(l) : "");
    o += fmt::format("<tr{}><th>{}</th>", values.size() > 1 ? " class=\"diff\"" : "", esc(l));
    for (const auto& c : cols) o += "<td>" + esc(c.count(l) ? c.at(l) : "") + "</td>";
    o += "</tr>";
  }
  return o + "</tbody></table></div></section>";
}

std::string section_failures(const Fleet& fleet) {
  if (fleet.failures.empty()) return "";
  std::string o =
      "<section id=\"failed-hosts\"><h2>Failed hosts</h2><table><thead><tr><th>Host</th><th>Error</th></tr></thead>"
      "<tbody>";
  for (const auto& f : fleet.failures)
    o += fmt::format("<tr><td>{}</td><td><pre class=\"err\">{}</pre></td></tr>", esc(f.host), esc(f.error));
  return o + "</tbody></table></section>";
}

// Warnings of the fleet and of each host's run, the host named.
std::vector<std::string> all_warnings(const Fleet& fleet) {
  std::vector<std::string> out = fleet.warnings;
  for (const auto& f : fleet.failures) out.push_back(fmt::format("host {} failed: {}", f.host, f.error));
  for (const auto& m : fleet.members)
    for (const auto& w : m.summary.warnings) out.push_back(m.host + ": " + w);
  return out;
}

}  // namespace

Status check_fleet(Fleet& fleet, bool allow_mixed) {
  if (fleet.members.empty()) return make_error("no host has results");
  std::set<std::string> seen;
  for (const auto& m : fleet.members)
    if (!seen.insert(m.host).second) return make_error("host `{}` appears twice ({})", m.host, m.source);
  const auto& first = fleet.members.front();
  for (size_t i = 1; i < fleet.members.size(); ++i) {
    const auto& m = fleet.members[i];
    std::vector<std::string> diffs = suite_differences(first.results.meta, m.results.meta);
    if (m.results.meta.vbench_version != first.results.meta.vbench_version)
      diffs.push_back(fmt::format("vbench version: `{}` vs `{}`", first.results.meta.vbench_version,
                                  m.results.meta.vbench_version));
    for (const auto& d : diffs) {
      const std::string text = fmt::format("host {} ({}) against host {}: {}", m.host, m.source, first.host, d);
      if (!allow_mixed)
        return make_error("{}; hosts must run the same suite with the same vbench (--allow-mixed to report anyway)",
                          text);
      fleet.warnings.push_back("mixed runs: " + text);
    }
  }
  return {};
}

FleetAnalysis analyze_fleet(const Fleet& fleet) {
  FleetAnalysis a;
  const RatioGrid g = ratio_grid(fleet);
  for (const auto& k : g.order) {
    const auto& cells = g.cells.at(k);
    if (cells.size() < 2) continue;
    ++a.compared;
    HostDifference d{k.env, k.workload, k.params, k.metric, "", {}};
    bool all_ci = true;
    for (const auto& m : fleet.members) {
      auto it = cells.find(m.host);
      if (it == cells.end()) continue;
      d.unit = it->second->unit;
      d.ratios.push_back({m.host, it->second->ratio});
      all_ci = all_ci && has_ci(it->second->ratio);
    }
    if (!all_ci) {
      ++a.too_few;
      continue;
    }
    std::stable_sort(d.ratios.begin(), d.ratios.end(),
                     [](const HostRatio& x, const HostRatio& y) { return x.ratio.value < y.ratio.value; });
    double max_low = -INFINITY, min_high = INFINITY;
    for (const auto& r : d.ratios) {
      max_low = std::max(max_low, r.ratio.ci_low);
      min_high = std::min(min_high, r.ratio.ci_high);
    }
    if (max_low > min_high) a.differences.push_back(std::move(d));
  }
  std::stable_sort(a.differences.begin(), a.differences.end(), [](const HostDifference& x, const HostDifference& y) {
    auto spread = [](const HostDifference& d) { return d.ratios.back().ratio.value / d.ratios.front().ratio.value; };
    return spread(x) > spread(y);
  });
  return a;
}

std::string difference_text(const HostDifference& d) {
  std::vector<std::string> parts;
  // Highest first: the host where the environment costs most leads.
  for (auto it = d.ratios.rbegin(); it != d.ratios.rend(); ++it)
    parts.push_back(fmt::format("{} on {}", ratio_text(it->ratio), it->host));
  return fmt::format("{} {} {} overhead {}", d.env, d.workload, d.metric, fmt::join(parts, ", "));
}

std::string render_fleet_csv(const Fleet& fleet) {
  std::string out = "host," + summary_csv_header();
  for (const auto& m : fleet.members)
    for (const auto& r : m.summary.rows) out += csv_field(m.host) + "," + summary_csv_row(r);
  return out;
}

std::string render_fleet_html(const Fleet& fleet) {
  const FleetAnalysis a = analyze_fleet(fleet);
  const std::string style(kStyle);
  const std::string suite = fleet.members.empty() ? "" : jfield(fleet.members.front().results.meta.suite, "name");
  std::string o = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  // No script at all: nothing in this page needs one.
  o += fmt::format(
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; script-src 'none'; "
      "base-uri 'none'; form-action 'none'\">",
      csp_hash(style));
  o += fmt::format("<title>vbench fleet report{}</title><style>{}</style></head><body><main>",
                   suite.empty() ? "" : ": " + esc(suite), style);
  o += fmt::format("<h1>vbench fleet report{}</h1><p class=\"sub\">{}{} host(s): {}</p>",
                   suite.empty() ? "" : ": suite " + esc(suite),
                   fleet.id.empty() ? "" : "fleet " + esc(fleet.id) + " · ",
                   fleet.members.size() + fleet.failures.size(), [&] {
                     std::vector<std::string> names;
                     for (const auto& m : fleet.members) names.push_back(esc(m.host));
                     for (const auto& f : fleet.failures) names.push_back(esc(f.host) + " (failed)");
                     return fmt::format("{}", fmt::join(names, ", "));
                   }());
  for (const auto& m : fleet.members)
    for (const auto& e : m.results.envs)
      if (e.label != e.name && e.label.find("tcg") != std::string::npos)
        o += fmt::format(
            "<p class=\"banner\">{}: environment {} ran under QEMU's TCG emulator: its numbers are an emulator's, not "
            "KVM's.</p>",
            esc(m.host), esc(e.label));
  for (const auto& w : fleet.warnings) o += "<p class=\"banner\">" + esc(w) + "</p>";
  const std::string ratios = section_ratios(fleet, a);
  o += "<nav><a href=\"#findings\">Findings</a>";
  if (!ratios.empty()) o += "<a href=\"#ratios\">Overhead by host</a>";
  o += "<a href=\"#provenance\">Provenance</a>";
  if (!fleet.failures.empty()) o += "<a href=\"#failed-hosts\">Failed hosts</a>";
  o += "<a href=\"#warnings\">Warnings</a></nav>";
  o += section_findings(fleet, a);
  o += ratios;
  o += section_provenance(fleet);
  o += section_failures(fleet);
  const auto warnings = all_warnings(fleet);
  o += "<section id=\"warnings\"><h2>Warnings</h2>";
  if (warnings.empty())
    o += "<p>None.</p>";
  else {
    o += "<ul>";
    for (const auto& w : warnings) o += "<li>" + esc(w) + "</li>";
    o += "</ul>";
  }
  o += "</section>";
  o += "<footer>Written by vbench from the results of each host. This file is self-contained: it loads nothing and "
       "runs no script.</footer></main></body></html>\n";
  return o;
}

std::string render_fleet_markdown(const Fleet& fleet) {
  const FleetAnalysis a = analyze_fleet(fleet);
  std::string out = fmt::format("## vbench fleet report: {} host(s)", fleet.members.size());
  if (!fleet.failures.empty()) out += fmt::format(", {} failed", fleet.failures.size());
  out += "\n\n";
  std::vector<std::string> lines;
  if (a.differences.empty())
    lines.push_back(fmt::format("No overhead differs between hosts ({} ratio(s) compared).\n", a.compared));
  else
    lines.push_back(
        fmt::format("**{} overhead(s) differ between hosts** (95% CIs do not overlap):\n\n", a.differences.size()));
  for (const auto& d : a.differences) lines.push_back("- " + markdown_escape(difference_text(d)) + "\n");
  lines.push_back("\n");
  for (const auto& w : all_warnings(fleet)) lines.push_back("- ⚠ " + markdown_escape(clip_text(w, 400)) + "\n");
  // Leave room for the note on what was left out.
  const size_t budget = kMarkdownCommentLimit - 200;
  const size_t left = append_within(out, lines, budget);
  if (left) out += fmt::format("\n_{} more line(s) left out; the HTML fleet report has them all._\n", left);
  return out;
}

std::string render_fleet_table(const Fleet& fleet, bool color, bool with_hosts) {
  const FleetAnalysis a = analyze_fleet(fleet);
  std::string out;
  if (with_hosts) {
    for (const auto& m : fleet.members)
      out += fmt::format("  {:<20} ok      run {} ({})\n", terminal_safe(m.host), terminal_safe(m.results.meta.run_id),
                         terminal_safe(m.source));
    for (const auto& f : fleet.failures)
      out += fmt::format("  {:<20} {} {}\n", terminal_safe(f.host), color ? "\033[31mFAILED\033[0m" : "FAILED",
                         terminal_safe(f.error));
  }
  if (a.differences.empty())
    out += fmt::format("\nNo overhead differs between hosts ({} ratio(s) compared{}).\n", a.compared,
                       a.too_few ? fmt::format(", {} with too few repetitions to tell", a.too_few) : "");
  else {
    out += fmt::format("\n{} overhead(s) differ between hosts (95% CIs do not overlap):\n", a.differences.size());
    for (const auto& d : a.differences) out += "  " + terminal_safe(difference_text(d)) + "\n";
  }
  for (const auto& w : fleet.warnings) out += "WARNING: " + terminal_safe(w) + "\n";
  return out;
}

Result<std::string> render_fleet_for_path(const std::string& path, const Fleet& fleet) {
  if (path.ends_with(".html")) return render_fleet_html(fleet);
  if (path.ends_with(".md")) return render_fleet_markdown(fleet);
  if (path.ends_with(".csv")) return render_fleet_csv(fleet);
  if (path.ends_with(".json")) {
    nlohmann::json j = {{"format", "vbench-fleet/1"}, {"fleet", fleet.id}};
    j["hosts"] = nlohmann::json::array();
    for (const auto& m : fleet.members)
      j["hosts"].push_back({{"host", m.host}, {"source", m.source}, {"results", render_json(m.results, m.summary)}});
    j["failed"] = nlohmann::json::array();
    for (const auto& f : fleet.failures) j["failed"].push_back({{"host", f.host}, {"error", f.error}});
    const FleetAnalysis a = analyze_fleet(fleet);
    j["differences"] = nlohmann::json::array();
    for (const auto& d : a.differences) {
      nlohmann::json x = {{"env", d.env}, {"workload", d.workload}, {"params", d.params}, {"metric", d.metric}};
      for (const auto& r : d.ratios)
        x["ratios"].push_back(
            {{"host", r.host}, {"ratio", r.ratio.value}, {"ci_low", r.ratio.ci_low}, {"ci_high", r.ratio.ci_high}});
      j["differences"].push_back(std::move(x));
    }
    j["warnings"] = fleet.warnings;
    return dump_json(j, 1) + "\n";
  }
  return make_error("{}: unknown report format (use .html, .md, .csv or .json)", path);
}

}  // namespace vbench
