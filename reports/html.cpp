// The HTML report: one self-contained file that answers "which environment
// costs what, for which kind of work, and how sure are we" at a glance, and
// lets an expert drill into distributions, counters and the environments.
//
// Charts are inline SVG drawn in C++ (reports/svg.cpp) rather than a chart
// library inlined from npm: no script is needed to see them, the file stays
// small, a print is the page, and a Content-Security-Policy can forbid every
// script but the one below (which only sorts the tables) and every fetch.
// Even if an escaping bug let markup from a results file through, it could
// neither run a script nor load anything.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "core/histogram.hpp"
#include "core/sha256.hpp"
#include "core/units.hpp"
#include "counters/counters.hpp"
#include "reports/findings.hpp"
#include "reports/format.hpp"
#include "reports/reports.hpp"
#include "reports/svg.hpp"

namespace vbench {
namespace {

// Sorts a table.sortable by the column whose header button was clicked:
// numerically by data-v where the cell has one (cells without a number go
// last), else by text; a second click reverses.
constexpr std::string_view kSortScript = R"JS(
(function () {
  function key(cell) {
    var v = cell.getAttribute('data-v');
    if (v !== null) { var n = parseFloat(v); return isNaN(n) ? null : n; }
    return cell.textContent.trim().toLowerCase();
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector('button');
      if (!button) return;
      button.addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.map.call(body.rows, function (r, i) { return { r: r, k: key(r.cells[col]), i: i }; });
        rows.sort(function (a, b) {
          if (a.k === null || b.k === null) return (a.k === null) - (b.k === null) || a.i - b.i;
          var c = a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
          return (asc ? c : -c) || a.i - b.i;
        });
        rows.forEach(function (x) { body.appendChild(x.r); });
      });
    });
  });
})();
)JS";

constexpr std::string_view kStyle = R"CSS(
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; --warn: #7d4e00; --warnbg: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--soft); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 12px 28px 40px; background: #fff; }
h1 { font-size: 24px; margin: 12px 0 4px; }
h2 { font-size: 19px; margin: 30px 0 8px; padding-top: 8px; border-top: 2px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
h4 { font-size: 14px; margin: 14px 0 4px; }
p { margin: 6px 0; max-width: 78em; }
.sub, .note, .params, .ci { color: var(--muted); }
.note { font-size: 13px; }
.params { font-size: 12px; overflow-wrap: anywhere; }
nav { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 1px solid var(--line); padding: 6px 0; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; white-space: nowrap; }
ul.envs { list-style: none; padding: 0; margin: 8px 0; display: flex; flex-wrap: wrap; gap: 8px 14px; }
ul.envs li { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.badge { display: inline-block; font-size: 12px; border-radius: 10px; padding: 0 7px; margin-left: 6px;
  background: var(--warnbg); color: var(--warn); border: 1px solid #d4a72c; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #fff; border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; }
th button::after { content: " \2195"; color: var(--muted); font-weight: 400; }
th[aria-sort=ascending] button::after { content: " \25B2"; }
th[aria-sort=descending] button::after { content: " \25BC"; }
.dir { color: var(--muted); }
.failed { color: #a40e26; font-weight: 600; }
td.na { color: var(--muted); font-style: italic; }
td.ns { color: var(--muted); }
.w1 { background: #fee5d9; } .w2 { background: #fcbba1; } .w3 { background: #fc9272; }
.w4 { background: #ef3b2c; color: #fff; } .w5 { background: #a50f15; color: #fff; }
.b1 { background: #eff3ff; } .b2 { background: #c6dbef; } .b3 { background: #9ecae1; }
.b4 { background: #4292c6; color: #fff; } .b5 { background: #08519c; color: #fff; }
.w4 .ci, .w5 .ci, .b4 .ci, .b5 .ci { color: #f0f0f0; }
.fw1 { background: #fff3ee; } .fw2 { background: #fee4d9; } .fw3 { background: #fdd3c3; }
.fw4 { background: #fbbba6; } .fw5 { background: #f89f86; }
.fb1 { background: #f6f9fe; } .fb2 { background: #e6eff9; } .fb3 { background: #d3e4f2; }
.fb4 { background: #b9d4ea; } .fb5 { background: #9cc2e2; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; font-size: 12px; margin: 6px 0; }
.legend span.key { display: inline-block; min-width: 54px; padding: 1px 6px; border: 1px solid var(--line); text-align: center; }
.panels { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 6px 0; break-inside: avoid; }
figure.panel { border: 1px solid var(--line); border-radius: 6px; padding: 4px; }
figure.wide, figure.half { max-width: 100%; }
figure.half { width: 600px; }
figcaption { font-size: 12px; color: var(--muted); }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #1b1f24; }
svg.chart .ct { font-size: 13px; font-weight: 600; }
svg.chart .cs, svg.chart .na, svg.chart .ml { font-size: 11px; fill: #57606a; }
svg.chart .tl, svg.chart .bv { font-size: 10.5px; }
svg.chart .at, svg.chart .lg { font-size: 12px; }
svg.chart .grid { stroke: #e4e8ec; stroke-width: 1; }
svg.chart .axis, svg.chart .frame { stroke: #8c959f; stroke-width: 1; }
svg.chart .wh { stroke-width: 1.4; fill: none; }
svg.chart .mark { stroke: #8c959f; stroke-dasharray: 4 3; }
ul.warnings { padding-left: 20px; }
ul.findings li.worse::marker { content: "\25B2  "; color: #b3261e; }
ul.findings li.better::marker { content: "\25BC  "; color: #1b6e3a; }
figure.forest { margin: 12px 0; overflow-x: auto; }
ul.warnings li { margin: 3px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.callout { background: var(--warnbg); border: 1px solid #d4a72c; border-radius: 6px; padding: 6px 12px; margin: 10px 0; }
table.kv th { font-weight: 600; white-space: nowrap; }
table.kv td { overflow-wrap: anywhere; max-width: 70em; }
tr.warn td { background: var(--warnbg); }
pre.err { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-size: 12px; max-width: 70em; }
.desc { display: inline-block; vertical-align: top; margin-right: 24px; max-width: 100%; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  nav, th button::after { display: none; }
  .scroll { overflow: visible; }
  h2 { break-after: avoid; }
  tr, figure, .desc { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)CSS";

std::string esc(std::string_view s) { return html_escape(s); }

// Values of JSON from a results file, whatever its types turn out to be.
std::string jtext(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return dump_json(j);
}
std::string jfield(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) ? jtext(j[key]) : "";
}

std::string host_fact(const nlohmann::json& host, const std::string& key) {
  if (!host.is_object() || !host.contains("facts") || !host["facts"].is_array()) return "";
  for (const auto& f : host["facts"])
    if (jfield(f, "key") == key) return jfield(f, "value");
  return "";
}

// A duration in seconds, in the unit that reads best.
std::string seconds_text(double s) { return ns_text(s * 1e9); }

// A value in its unit, for cells without a unit column.
std::string quantity_text(double v, const std::string& unit) {
  if (!std::isfinite(v)) return "-";
  if (unit == "s") return seconds_text(v);
  if (unit == "ns") return ns_text(v);
  if (unit == "B") return bytes_text(v);
  if (unit.empty() || unit == "count") return value_text(v);
  return value_text(v) + " " + unit_text(unit);
}

// Heat colour bucket of a ratio, by how far it is from 1 either way.
int heat_bucket(double ratio) {
  const double r = ratio >= 1 ? ratio : 1 / ratio;
  if (r < 1.05) return 1;
  if (r < 1.15) return 2;
  if (r < 1.4) return 3;
  if (r < 2) return 4;
  return 5;
}

struct Report {
  const ResultSet& rs;
  const RunSummary& summary;
  EnvGrid cmp;
  std::map<std::string, size_t> color;                      // env label -> palette index
  std::map<std::string, std::set<std::string>> param_sets;  // workload -> its params keys

  Report(const ResultSet& r, const RunSummary& s) : rs(r), summary(s), cmp(compare_envs(r, s)) {
    for (const auto& e : cmp.envs) color.emplace(e, color.size());
    for (const auto& e : rs.envs) color.emplace(e.label, color.size());
    for (const auto& l : cmp.lines) param_sets[l.workload].insert(l.params);
  }
  bool several_params(const std::string& workload) const {
    auto it = param_sets.find(workload);
    return it != param_sets.end() && it->second.size() > 1;
  }
  size_t color_of(const std::string& env) const {
    auto it = color.find(env);
    return it == color.end() ? 0 : it->second;
  }
  std::string swatch(const std::string& env) const {
    return fmt::format("<span class=\"sw c{}\"></span>", color_of(env) % svg::palette().size());
  }
};

// Classes .c0 … .cN for the environment swatches, from the chart palette.
std::string swatch_css() {
  std::string css;
  for (size_t i = 0; i < svg::palette().size(); ++i)
    css += fmt::format(".sw.c{} {{ background: {}; }}\n", i, svg::palette()[i]);
  return css;
}

// The parameters show under the name only where the workload ran with
// several parameter sets; otherwise they are in the tooltip (and under "Host
// and suite"), which keeps the tables at one line per row.
// Lets a long snake_case header wrap after its underscores.
std::string wrappable(const std::string& html) {
  std::string o;
  for (char c : html) o += c == '_' ? std::string("_<wbr>") : std::string(1, c);
  return o;
}

std::string workload_cell(const std::string& workload, const std::string& params, bool show_params) {
  return fmt::format("<td title=\"{}\"><span class=\"wl\">{}</span>{}</td>", esc(params), esc(workload),
                     show_params && !params.empty() ? "<br><span class=\"params\">" + esc(params) + "</span>" : "");
}

std::string value_cell(const SummaryRow* r, bool with_ci) {
  if (!r) return "<td class=\"num na\" data-v=\"\">–</td>";
  if (r->status == "failed")
    return fmt::format("<td class=\"num failed\" data-v=\"\" title=\"{}\">failed</td>", esc(r->note));
  if (r->status == "unsupported")
    return fmt::format("<td class=\"num na\" data-v=\"\" title=\"{}\">unsupported</td>", esc(r->note));
  if (r->stats.n == 0) return "<td class=\"num na\" data-v=\"\">–</td>";
  std::string text = esc(value_text(r->stats.median));
  if (with_ci)
    if (const std::string ci = ci_text(r->stats); !ci.empty()) text += " <span class=\"ci\">" + esc(ci) + "</span>";
  if (r->status == "partial") text += " <span class=\"failed\" title=\"" + esc(r->note) + "\">(!)</span>";
  const std::string title = fmt::format(
      "median {} {}, n = {}{}{}", value_text(r->stats.median), unit_text(r->unit), r->stats.n,
      r->stats.n >= 2 ? fmt::format(", 95% CI [{}, {}]", value_text(r->stats.ci_low), value_text(r->stats.ci_high))
                      : "",
      std::isfinite(r->stats.cv) ? fmt::format(", CV {:.1f}%", r->stats.cv * 100) : "");
  return fmt::format("<td class=\"num\" data-v=\"{}\" title=\"{}\">{}</td>", csv_number(r->stats.median), esc(title),
                     text);
}

std::string ratio_cell(const SummaryRow* r, const std::string& baseline) {
  if (!r || !r->has_ratio) return "<td class=\"num na\" data-v=\"\"></td>";
  const OverheadRatio& q = r->ratio;
  const RatioVerdict v = verdict(q);
  if (v == RatioVerdict::Undefined)
    return fmt::format("<td class=\"num na\" data-v=\"\" title=\"{}\">n/a</td>", esc(q.reason));
  std::string cls;
  std::string meaning;
  const int b = heat_bucket(q.value);
  const char side = q.value >= 1 ? 'w' : 'b';
  switch (v) {
    case RatioVerdict::Worse:
      cls = fmt::format("w{}", b), meaning = "significantly worse";
      break;
    case RatioVerdict::Better:
      cls = fmt::format("b{}", b), meaning = "significantly better";
      break;
    case RatioVerdict::TooFew:
      cls = fmt::format("f{}{}", side, b);
      meaning = fmt::format("fewer than {} repetitions: the colour shows the size only", kMinRepetitionsForCI);
      break;
    default:
      cls = "ns", meaning = "not significant: the 95% CI includes 1";
      break;
  }
  const std::string title = fmt::format("{} / {} = {} ({}; n = {} vs {}){}", r->env, baseline, ratio_text(q), meaning,
                                        q.n_env, q.n_base, q.reason.empty() ? "" : "; " + q.reason);
  std::string text = fmt::format("{:.2f}×", q.value);
  if (std::isfinite(q.ci_low) && std::isfinite(q.ci_high) && q.n_env > 1 && q.n_base > 1)
    text += fmt::format(" <span class=\"ci\">[{:.2f}, {:.2f}]</span>", q.ci_low, q.ci_high);
  if (v == RatioVerdict::TooFew) text += "&#8201;†";
  return fmt::format("<td class=\"num {}\" data-v=\"{}\" title=\"{}\">{}</td>", cls, csv_number(q.value), esc(title),
                     text);
}

// The sortable comparison table: one row per line, the baseline's median
// ± CI, then each other environment's median and its ratio to the baseline.
std::string comparison_table(const Report& rep, const std::vector<const EnvGridLine*>& lines, const std::string& id) {
  const auto& cmp = rep.cmp;
  std::string o = fmt::format("<div class=\"scroll\"><table class=\"sortable heat\" id=\"{}\"><thead><tr>", id);
  o += "<th scope=\"col\"><button type=\"button\">Workload</button></th>"
       "<th scope=\"col\"><button type=\"button\">Metric</button></th>"
       "<th scope=\"col\"><button type=\"button\">Unit</button></th>";
  for (const auto& e : cmp.envs) {
    o += fmt::format("<th scope=\"col\" class=\"num\"><button type=\"button\">{}{}</button></th>", rep.swatch(e),
                     esc(e == cmp.baseline ? e + " (baseline)" : e));
    if (!cmp.baseline.empty() && e != cmp.baseline)
      o += fmt::format("<th scope=\"col\" class=\"num\"><button type=\"button\">{} / {}</button></th>", esc(e),
                       esc(cmp.baseline));
  }
  o += "</tr></thead><tbody>";
  for (const EnvGridLine* l : lines) {
    o += "<tr>" + workload_cell(l->workload, l->params, rep.several_params(l->workload));
    if (l->metric.empty()) {
      o += "<td class=\"failed\">(no result)</td><td></td>";
    } else {
      o += fmt::format("<td>{} <span class=\"dir\" title=\"{} is better\">{}</span></td><td>{}</td>", esc(l->metric),
                       to_string(l->better), l->better == Better::Higher ? "↑" : "↓", esc(unit_text(l->unit)));
    }
    for (const auto& e : cmp.envs) {
      const SummaryRow* r = l->cell(e);
      o += value_cell(r, e == cmp.baseline || cmp.baseline.empty());
      if (!cmp.baseline.empty() && e != cmp.baseline) o += ratio_cell(r, cmp.baseline);
    }
    o += "</tr>";
  }
  return o + "</tbody></table></div>";
}

std::string heat_legend(const std::string& baseline) {
  std::string o =
      "<div class=\"legend\"><b>Ratio to " + esc(baseline) + "</b> (above 1 is worse, whatever the metric):";
  static const char* sizes[] = {"< 5%", "5–15%", "15–40%", "40%–2×", "≥ 2×"};
  o += " significantly worse";
  for (int b = 1; b <= 5; ++b) o += fmt::format("<span class=\"key w{}\">{}</span>", b, sizes[b - 1]);
  o += " significantly better";
  for (int b = 1; b <= 5; ++b) o += fmt::format("<span class=\"key b{}\">{}</span>", b, sizes[b - 1]);
  o += fmt::format(
      " pale with †: fewer than {} repetitions, the colour shows the size only, no significance is "
      "claimed",
      kMinRepetitionsForCI);
  for (int b = 1; b <= 5; ++b) o += fmt::format("<span class=\"key fw{}\">{}</span>", b, sizes[b - 1]);
  o += " <span class=\"key ns\">grey text</span> 95% CI includes 1</div>";
  return o;
}

bool is_latency_percentile(const std::string& metric) { return metric.rfind("lat_", 0) == 0; }

// mem.latency reports one metric per working set: ns_16KiB, ns_1MiB, ...
std::optional<uint64_t> sweep_size(const EnvGridLine& l) {
  if (l.workload != "mem.latency" || l.metric.rfind("ns_", 0) != 0) return std::nullopt;
  auto s = parse_size(l.metric.substr(3));
  if (!s || *s == 0) return std::nullopt;
  return *s;
}

std::string section_header(const Report& rep) {
  const auto& m = rep.rs.meta;
  const std::string suite = jfield(m.suite, "name");
  std::string o = "<header><h1>vbench: what isolation costs</h1><p class=\"sub\">";
  std::vector<std::string> parts;
  if (!suite.empty()) parts.push_back("suite <b>" + esc(suite) + "</b>");
  parts.push_back("run " + esc(m.run_id));
  parts.push_back(esc(m.started_at) + " → " + esc(m.finished_at.empty() ? "?" : m.finished_at));
  const std::string host = host_fact(m.host, "hostname"), cpu = host_fact(m.host, "cpu_model"),
                    cpus = host_fact(m.host, "cpus");
  if (!host.empty())
    parts.push_back("host <b>" + esc(host) + "</b>" +
                    (cpu.empty() ? "" : " (" + esc(cpu) + (cpus.empty() ? "" : ", " + esc(cpus) + " CPUs") + ")"));
  if (!rep.cmp.baseline.empty()) parts.push_back("baseline <b>" + esc(rep.cmp.baseline) + "</b>");
  o += fmt::format("{}</p>", fmt::join(parts, " · "));
  if (m.interrupted) o += "<p class=\"callout\">This run was interrupted: the results are incomplete.</p>";
  o += "<ul class=\"envs\">";
  for (const auto& e : rep.rs.envs) {
    o += "<li>" + rep.swatch(e.label) + "<b>" + esc(e.label) + "</b> <span class=\"sub\">(" + esc(e.kind) + ")</span>";
    if (e.label == rep.cmp.baseline) o += " <span class=\"sub\">baseline</span>";
    if (jfield(e.describe, "accel") == "tcg")
      o += "<span class=\"badge\" title=\"QEMU's TCG emulator, no hardware-assisted KVM\">emulated, not KVM</span>";
    if (!e.started) o += "<span class=\"badge\">did not start</span>";
    o += "</li>";
  }
  return o + "</ul></header>";
}

std::string section_summary(const Report& rep) {
  const std::vector<const EnvGridLine*> lines = summary_lines(rep.cmp);
  std::string o = "<section id=\"summary\"><h2>Summary</h2>";
  if (lines.empty()) return o + "<p>No workload results in this run.</p></section>";
  if (rep.cmp.baseline.empty()) {
    o += "<p>No baseline environment in this run";
    if (!rep.rs.meta.baseline_env.empty()) o += " (" + esc(rep.rs.meta.baseline_env) + " has no results)";
    o += ": medians only, no overhead ratios.</p>";
  } else {
    o += fmt::format(
        "<p>Median of each metric per environment (the baseline with the 95% confidence interval of its median as "
        "±%), and the overhead ratio of each environment to <b>{0}</b> with its 95% bootstrap confidence interval. "
        "The ratio is oriented so that above 1 always means worse than {0}: for throughput it is {0} / env, for "
        "latency env / {0}. Click a column header to sort.</p>",
        esc(rep.cmp.baseline));
    o += heat_legend(rep.cmp.baseline);
  }
  o += comparison_table(rep, lines, "summary-table");
  return o + "</section>";
}

// The answer first: per environment the significant overheads, largest
// first, the workloads that did not move, and one forest plot of every ratio.
std::string section_findings(const Report& rep) {
  std::string o = "<section id=\"findings\"><h2>Findings</h2>";
  const Findings f = find_overheads(rep.cmp);
  if (f.baseline.empty() || f.envs.empty())
    return o +
           "<p>Only one environment has results: nothing to compare. Run with several (<code>--env "
           "bare,container</code>, the default where they are available).</p></section>";
  const std::string bound = fmt::format("{:.0f}%", f.bound * 100);
  for (const auto& e : f.envs) {
    o += fmt::format("<h3>{}{} against {}</h3>", rep.swatch(e.env), esc(e.env), esc(f.baseline));
    if (!e.significant.empty()) {
      o += "<p>Significant differences (95% CI of the change excludes 0), largest first:</p><ul class=\"findings\">";
      for (const auto& l : e.significant)
        o += fmt::format("<li class=\"{}\">{}</li>", l.row->ratio.value >= 1 ? "worse" : "better", esc(l.text));
      o += "</ul>";
    } else if (e.unconfirmed.empty()) {
      o += "<p>No significant difference.</p>";
    }
    if (!e.unconfirmed.empty()) {
      o += fmt::format(
          "<p>With fewer than {} repetitions no difference is called significant; the largest seen:</p><ul "
          "class=\"findings\">",
          kMinRepetitionsForCI);
      for (const auto& l : e.unconfirmed) o += "<li>" + esc(l.text) + "</li>";
      o += "</ul>";
    }
    if (!e.no_overhead.empty())
      o += fmt::format(
          "<p>No measurable overhead (every metric's 95% CI within ±{}; in brackets the smallest "
          "overhead the run could have detected, 95% confidence, 80% power): {}.</p>",
          bound, esc(fmt::format("{}", fmt::join(e.no_overhead, ", "))));
    if (!e.inconclusive.empty())
      o += fmt::format(
          "<p>Inconclusive (CI includes no change but reaches beyond ±{}; more repetitions would "
          "tell): {}.</p>",
          bound, esc(fmt::format("{}", fmt::join(e.inconclusive, ", "))));
  }
  // The forest plot: one row per workload · metric, one marker per environment.
  std::vector<svg::ForestRow> rows;
  for (const EnvGridLine* l : finding_lines(rep.cmp)) {
    svg::ForestRow fr;
    fr.label = l->workload + " " + l->metric;
    for (const auto& env : rep.cmp.envs) {
      if (env == rep.cmp.baseline) continue;
      const SummaryRow* r = l->cell(env);
      if (!r || !r->has_ratio || !r->ratio.ok()) continue;
      fr.marks.push_back({rep.color_of(env), r->ratio.value, r->ratio.ci_low, r->ratio.ci_high,
                          fmt::format("{} {} {}: {}", env, l->workload, l->metric, ratio_text(r->ratio))});
    }
    if (!fr.marks.empty()) rows.push_back(std::move(fr));
  }
  std::vector<svg::ForestLegend> legend;
  for (const auto& env : rep.cmp.envs)
    if (env != rep.cmp.baseline) legend.push_back({env, rep.color_of(env)});
  if (!rows.empty())
    o += "<figure class=\"forest\">" +
         svg::forest_plot(fmt::format("Overhead ratio to {} with 95% CI, every metric", rep.cmp.baseline), rows,
                          legend) +
         fmt::format(
             "<figcaption>Each marker is an environment's overhead ratio to {0} (above 1 is worse, for "
             "throughput {0} / env, for latency and times env / {0}); the whiskers span its 95% bootstrap "
             "CI (none with a single repetition).</figcaption></figure>",
             esc(rep.cmp.baseline));
  return o + "</section>";
}

std::string section_warnings(const Report& rep) {
  std::string o = "<section id=\"warnings\"><h2>Warnings</h2>";
  if (rep.summary.warnings.empty()) return o + "<p>None.</p></section>";
  o += "<ul class=\"warnings\">";
  // One line per cause; the cells it concerns in a collapsed list.
  std::vector<WarningGroup> groups = rep.summary.warning_groups;
  if (groups.empty())  // a summary built by hand: lines only
    for (const auto& w : rep.summary.warnings) groups.push_back({"", w, {}});
  for (const auto& g : groups) {
    o += "<li>" + esc(g.line);
    if (g.details.size() > 1) {
      o += fmt::format("<details><summary>all {}</summary><ul>", g.details.size());
      for (const auto& d : g.details) o += "<li>" + esc(d) + "</li>";
      o += "</ul></details>";
    }
    o += "</li>";
  }
  return o + "</ul></section>";
}

std::string section_families(const Report& rep) {
  std::string o =
      "<section id=\"families\"><h2>By workload family</h2><p>Median per environment; the whiskers span the 95% "
      "confidence interval of the median (shown from 2 repetitions). Latency percentiles and the memory-latency sweep "
      "have their own charts below.</p>";
  std::vector<std::string> families;
  for (const auto& l : rep.cmp.lines)
    if (std::find(families.begin(), families.end(), workload_family(l.workload)) == families.end())
      families.push_back(workload_family(l.workload));
  bool any = false;
  for (const auto& fam : families) {
    std::string panels;
    for (const auto& l : rep.cmp.lines) {
      if (workload_family(l.workload) != fam || l.source != "workload" || l.metric.empty()) continue;
      if (is_latency_percentile(l.metric) || is_derived_counter_metric(l.metric) || sweep_size(l)) continue;
      std::vector<svg::Bar> bars;
      for (const auto& e : rep.cmp.envs) {
        const SummaryRow* r = l.cell(e);
        svg::Bar b;
        b.label = e;
        b.color = rep.color_of(e);
        if (r && r->stats.n > 0) {
          b.value = r->stats.median;
          if (r->stats.n >= 2) b.lo = r->stats.ci_low, b.hi = r->stats.ci_high;
          b.note = fmt::format("{}: median {} {}{}, n = {}", e, value_text(r->stats.median), unit_text(l.unit),
                               r->stats.n >= 2 ? fmt::format(" (95% CI {} – {})", value_text(r->stats.ci_low),
                                                             value_text(r->stats.ci_high))
                                               : "",
                               r->stats.n);
        } else {
          b.missing = r && r->status == "failed" ? "failed" : "n/a";
          b.note = r ? r->note : "no result";
        }
        bars.push_back(b);
      }
      const std::string title = l.workload + " · " + l.metric;
      std::string subtitle = unit_text(l.unit) + ", " + to_string(l.better) + " is better";
      if (rep.several_params(l.workload)) subtitle += " · " + l.params;
      panels += "<figure class=\"panel\">" + svg::bar_panel(title, subtitle, l.unit, bars) + "</figure>";
    }
    if (panels.empty()) continue;
    any = true;
    o += "<h3>" + esc(fam) + "</h3><div class=\"panels\">" + panels + "</div>";
  }
  if (!any) o += "<p>No workload results to chart.</p>";
  return o + "</section>";
}

std::string section_latency(const Report& rep) {
  // (workload, params, histogram) -> env -> merged histogram, in order of appearance.
  using Key = std::tuple<std::string, std::string, std::string>;
  std::vector<Key> order;
  std::map<Key, std::map<std::string, Histogram>> merged;
  for (const auto& s : rep.rs.samples) {
    if (s.warmup || !s.ok) continue;
    for (const auto& [name, h] : s.histograms) {
      if (h.count() == 0) continue;
      Key k{s.workload, params_key(s.params), name};
      if (!merged.count(k)) order.push_back(k);
      auto& per_env = merged[k];
      auto it = per_env.find(s.env);
      if (it == per_env.end())
        per_env.emplace(s.env, h);
      else
        it->second.merge(h);
    }
  }
  std::string o =
      "<section id=\"latency\"><h2>Latency distributions</h2><p>Percentiles of every measured operation of all "
      "repetitions together (the histograms the workloads record), per environment. The x axis stretches the tail "
      "(each step is ten times rarer), the y axis is logarithmic.</p>";
  if (order.empty()) return o + "<p>No workload in this run recorded a latency histogram.</p></section>";
  static const double kPercentiles[] = {50, 75, 90, 95, 99, 99.5, 99.9};
  auto nines = [](double p) { return -std::log10(1 - p / 100); };
  std::vector<std::string> envs = rep.cmp.envs;
  for (const auto& k : order)
    for (const auto& [env, h] : merged[k])
      if (std::find(envs.begin(), envs.end(), env) == envs.end()) envs.push_back(env);
  // Workloads in the order of the summary (the suite's).
  std::map<std::string, size_t> rank;
  for (const auto& l : rep.cmp.lines) rank.emplace(l.workload, rank.size());
  std::stable_sort(order.begin(), order.end(), [&](const Key& a, const Key& b) {
    auto ra = rank.find(std::get<0>(a)), rb = rank.find(std::get<0>(b));
    return (ra == rank.end() ? rank.size() : ra->second) < (rb == rank.end() ? rank.size() : rb->second);
  });
  std::string charts;
  for (const auto& k : order) {
    const auto& [workload, params, name] = k;
    const auto& per_env = merged[k];
    svg::LineChart c;
    c.title = workload + (name == "latency" ? "" : " · " + name);
    c.subtitle = params;
    c.width = 600;
    c.height = 360;
    c.x.title = "percentile";
    for (double p : {50.0, 90.0, 99.0, 99.9}) c.x.ticks.push_back({nines(p), fmt::format("p{:g}", p)});
    c.y.title = name + " (log scale)";
    c.y.kind = svg::AxisKind::Log10;
    c.y.format = [](double v) { return ns_text(v); };
    std::string table =
        "<div class=\"scroll\"><table><thead><tr><th>Environment</th><th class=\"num\">values</th><th "
        "class=\"num\">p50</th><th class=\"num\">p90</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th><th "
        "class=\"num\">max</th></tr></thead><tbody>";
    for (const auto& env : envs) {
      auto it = per_env.find(env);
      if (it == per_env.end()) continue;
      const Histogram& h = it->second;
      svg::Series s;
      s.name = fmt::format("{} ({} values)", env, h.count());
      s.color = rep.color_of(env);
      for (double p : kPercentiles) {
        const double v = h.quantile(p / 100);
        s.points.push_back({nines(p), v, svg::kNaN, svg::kNaN, fmt::format("{} p{:g}: {}", env, p, ns_text(v))});
      }
      c.series.push_back(std::move(s));
      table += fmt::format("<tr><td>{}{}</td><td class=\"num\">{}</td>", rep.swatch(env), esc(env), h.count());
      for (double p : {50.0, 90.0, 99.0, 99.9})
        table += "<td class=\"num\">" + esc(ns_text(h.quantile(p / 100))) + "</td>";
      table += "<td class=\"num\">" + esc(ns_text(static_cast<double>(h.max()))) + "</td></tr>";
    }
    charts += "<figure class=\"half\">" + svg::line_chart(c) + table + "</tbody></table></div></figure>";
  }
  return o + "<div class=\"panels\">" + charts + "</div></section>";
}

std::string section_sweep(const Report& rep) {
  std::vector<std::string> params;
  for (const auto& l : rep.cmp.lines)
    if (sweep_size(l) && std::find(params.begin(), params.end(), l.params) == params.end()) params.push_back(l.params);
  if (params.empty()) return "";
  std::string o =
      "<section id=\"memlat\"><h2>Memory latency by working set</h2><p><code>mem.latency</code>: nanoseconds per "
      "dependent load of a random pointer chase, median per environment (whiskers: 95% CI from 2 repetitions). Both "
      "axes are logarithmic; the steps are the caches and the TLB reach.</p>";
  std::vector<svg::Marker> markers;
  if (auto llc = parse_size(host_fact(rep.rs.meta.host, "llc")); llc && *llc > 0)
    markers.push_back({static_cast<double>(*llc), "host last-level cache " + format_size(*llc)});
  for (const auto& p : params) {
    svg::LineChart c;
    c.title = "mem.latency";
    c.subtitle = p;
    c.width = 1000;
    c.height = 440;
    c.x.title = "working set (log scale)";
    c.x.kind = svg::AxisKind::Log2;
    c.x.format = [](double v) { return v >= 1 ? format_size(static_cast<uint64_t>(v)) : si_text(v); };
    c.y.title = "ns per load (log scale)";
    c.y.kind = svg::AxisKind::Log10;
    c.y.format = [](double v) { return ns_text(v); };
    c.markers = markers;
    for (const auto& env : rep.cmp.envs) {
      svg::Series s;
      s.name = env;
      s.color = rep.color_of(env);
      for (const auto& l : rep.cmp.lines) {
        const auto size = sweep_size(l);
        const SummaryRow* r = l.cell(env);
        if (!size || l.params != p || !r || r->stats.n == 0) continue;
        svg::Point pt{static_cast<double>(*size), r->stats.median, svg::kNaN, svg::kNaN,
                      fmt::format("{} {}: {}", env, format_size(*size), ns_text(r->stats.median))};
        if (r->stats.n >= 2) pt.lo = r->stats.ci_low, pt.hi = r->stats.ci_high;
        s.points.push_back(pt);
      }
      std::sort(s.points.begin(), s.points.end(), [](const auto& a, const auto& b) { return a.x < b.x; });
      if (!s.points.empty()) c.series.push_back(std::move(s));
    }
    o += "<figure class=\"wide\">" + svg::line_chart(c) + "</figure>";
  }
  return o + "</section>";
}

// Supported counters per operation of their workload (cycles per MiB, page
// faults per transaction): counter per CPU ns × CPU ns per operation.
std::string counters_per_op_table(const Report& rep, const std::vector<const EnvGridLine*>& lines) {
  std::string rows;
  for (const EnvGridLine* l : lines) {
    if (l->source != "counter" || l->metric.ends_with("task-clock")) continue;
    std::string cells, op;
    bool any = false;
    for (const auto& e : rep.cmp.envs) {
      std::string this_op;
      const auto v = counter_per_op_median(rep.cmp, *l, e, &this_op);
      if (v) any = true, op = this_op;
      cells += v ? fmt::format("<td class=\"num\" data-v=\"{}\">{}</td>", csv_number(*v), esc(si_text(*v)))
                 : "<td class=\"num na\" data-v=\"\">–</td>";
    }
    if (!any) continue;
    rows += "<tr>" + workload_cell(l->workload, l->params, rep.several_params(l->workload)) + "<td>" + esc(l->metric) +
            "</td><td>" + esc("per " + op) + "</td>" + cells + "</tr>";
  }
  if (rows.empty()) return "";
  std::string o =
      "<h3>Counters per operation</h3><p>Each supported event per operation of its workload (the operation is "
      "the one of <code>cpu_ns_per_op</code>): the event's count per nanosecond of its own CPU time "
      "(<code>task-clock</code> of the same scope) × the environment's host CPU time per operation (softirq "
      "left out; for a guest, its vCPU threads'). Medians.</p><div class=\"scroll\"><table class=\"sortable\" "
      "id=\"counters-per-op\"><thead><tr><th scope=\"col\"><button type=\"button\">Workload</button></th><th "
      "scope=\"col\"><button type=\"button\">Event</button></th><th scope=\"col\">Unit</th>";
  for (const auto& e : rep.cmp.envs)
    o += fmt::format("<th scope=\"col\" class=\"num\"><button type=\"button\">{}{}</button></th>", rep.swatch(e),
                     esc(e));
  return o + "</tr></thead><tbody>" + rows + "</tbody></table></div>";
}

// Where the time goes: the host's CPU time per operation of every workload,
// charged to the environment (user, sys, guest) and to the host on its
// behalf (softirq), against the baseline.
std::string section_attribution(const Report& rep) {
  std::vector<const EnvGridLine*> lines;
  for (const auto& l : rep.cmp.lines)
    if (l.source == "env" && is_cpu_attribution_metric(l.metric)) lines.push_back(&l);
  if (lines.empty()) return "";
  return "<section id=\"attribution\"><h2>Where the CPU time goes</h2><p>Host CPU time per operation of each "
         "workload, measured by the host around every request (never reported by the agent): "
         "<code>cpu_ns_per_op</code> is the environment's own CPU time (its process, cgroup or QEMU threads) plus "
         "the softirq time of the CPUs it runs on; <code>.user</code>, <code>.sys</code>, <code>.softirq</code> and, "
         "for guests, <code>.guest</code> (vCPU in guest mode), <code>.vcpu</code> and <code>.io</code> (QEMU's "
         "other threads) are its parts. Per operation = CPU time during the request ÷ (the workload's rate × the "
         "request's wall time); the unit names the operation. How each environment measures it: "
         "<code>describe.cpu_accounting</code> under Environments.</p>" +
         comparison_table(rep, lines, "attribution-table") + "</section>";
}

std::string section_counters(const Report& rep) {
  // Events no environment could count are one line, not rows of "unsupported".
  std::vector<const EnvGridLine*> lines;
  std::set<std::string> unsupported;
  for (const auto& l : rep.cmp.lines) {
    if (!(l.source == "counter" || (l.source == "workload" && is_derived_counter_metric(l.metric)))) continue;
    bool counted = false;
    for (const auto& [env, r] : l.cells) counted |= r && r->status != "unsupported";
    if (counted)
      lines.push_back(&l);
    else
      unsupported.insert(l.metric);
  }
  std::string o =
      "<section id=\"counters\"><h2>Counters and environment statistics</h2><h3>Counters and derived metrics</h3>";
  if (!unsupported.empty())
    o += fmt::format(
        "<p class=\"unsupported\">Not counted on this host (unsupported by the host or hypervisor, which "
        "is not zero; the reasons are under Warnings): {}.</p>",
        esc(fmt::format("{}", fmt::join(unsupported, ", "))));
  if (lines.empty() && !unsupported.empty()) {
    o += "<p>No counter this host supports was recorded.</p>";
  } else if (lines.empty()) {
    o += "<p>No perf counters were recorded in this run (<code>vbench run --counters "
         "instructions,cycles,page-faults,…</code>).</p>";
  } else {
    o += "<p>perf_event counts of the measured region (scaled for multiplexing), and the metrics derived from them "
         "(IPC, miss rates, MPKI). “unsupported” means the host or hypervisor does not provide the event, which "
         "is not the same as zero. Counters prefixed with a scope (<code>host-cgroup:</code>, "
         "<code>host-vcpu:</code>) were counted from the host side.</p>";
    o += comparison_table(rep, lines, "counters-table");
    o += counters_per_op_table(rep, lines);
  }
  // Environment-side statistics differ per environment (cgroup for
  // containers, QEMU for guests): one table each, workloads down, statistics across.
  for (const auto& env : rep.cmp.envs) {
    std::vector<std::pair<std::string, std::string>> metrics;  // name, unit
    std::vector<std::pair<std::string, std::string>> rows;     // workload, params
    std::map<std::tuple<std::string, std::string, std::string>, const SummaryRow*> cells;
    for (const auto& l : rep.cmp.lines) {  // in the suite's order
      const SummaryRow* r = l.cell(env);
      if (l.source != "env" || !r || is_cpu_attribution_metric(l.metric)) continue;
      if (std::find_if(metrics.begin(), metrics.end(), [&](const auto& m) { return m.first == l.metric; }) ==
          metrics.end())
        metrics.push_back({l.metric, l.unit});
      if (std::find(rows.begin(), rows.end(), std::make_pair(l.workload, l.params)) == rows.end())
        rows.push_back({l.workload, l.params});
      cells[{l.workload, l.params, l.metric}] = r;
    }
    if (metrics.empty()) continue;
    // "cgroup.cpu_usage", "cgroup.nr_throttled", ...: the common prefix goes
    // into the heading, so that the table fits a laptop screen.
    std::string prefix = metrics[0].first.substr(0, metrics[0].first.find('.') + 1);
    for (const auto& m : metrics)
      if (prefix.empty() || m.first.rfind(prefix, 0) != 0 || m.first.size() == prefix.size()) prefix.clear();
    o += "<h3>" + rep.swatch(env) + esc(env) + ": environment statistics per sample" +
         (prefix.empty() ? "" : " (" + esc(prefix) + "*)") + "</h3>";
    o += "<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th scope=\"col\"><button "
         "type=\"button\">Workload</button></th>";
    for (const auto& [name, unit] : metrics)
      o += fmt::format("<th scope=\"col\" class=\"num\" title=\"{}\"><button type=\"button\">{}</button></th>",
                       esc(name), wrappable(esc(name.substr(prefix.size()))));
    o += "</tr></thead><tbody>";
    for (const auto& [workload, params] : rows) {
      const SummaryRow* throttled = nullptr;
      for (const auto& [name, unit] : metrics)
        if (name.ends_with("nr_throttled")) throttled = cells[{workload, params, name}];
      const bool warn = throttled && throttled->stats.n > 0 && throttled->stats.max > 0;
      o += std::string(warn ? "<tr class=\"warn\">" : "<tr>") +
           workload_cell(workload, params, rep.several_params(workload));
      for (const auto& [name, unit] : metrics) {
        const SummaryRow* r = cells[{workload, params, name}];
        if (!r || r->stats.n == 0) {
          o += "<td class=\"num na\" data-v=\"\">–</td>";
          continue;
        }
        o += fmt::format("<td class=\"num\" data-v=\"{}\">{}</td>", csv_number(r->stats.median),
                         esc(quantity_text(r->stats.median, unit)));
      }
      o += "</tr>";
    }
    o += "</tbody></table></div>";
  }
  return o + "</section>";
}

// Flattens an environment's description to key/value pairs ("net.tap").
void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (out.size() >= 200) return;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    return;
  }
  std::string text;
  if (j.is_array() && std::all_of(j.begin(), j.end(), [](const auto& x) { return x.is_primitive(); })) {
    std::vector<std::string> parts;
    for (const auto& x : j) parts.push_back(jtext(x));
    text = fmt::format("{}", fmt::join(parts, " "));
  } else {
    text = jtext(j);
  }
  if (text.size() > 600) text = text.substr(0, 600) + "…";
  out.push_back({prefix, text});
}

std::string section_lifecycle(const Report& rep) {
  std::string o =
      "<section id=\"lifecycle\"><h2>Environments</h2><p>What it cost to bring each environment up and down, once "
      "per run (a container's start, a guest's boot to a ready agent, the teardown).</p>";
  std::vector<std::string> names;
  for (const auto& e : rep.rs.envs)
    for (const auto& m : e.lifecycle)
      if (std::find(names.begin(), names.end(), m.name) == names.end()) names.push_back(m.name);
  o += "<div class=\"scroll\"><table><thead><tr><th>Environment</th><th>kind</th><th>state</th>";
  for (const auto& n : names) o += "<th class=\"num\">" + esc(n) + "</th>";
  o += "</tr></thead><tbody>";
  for (const auto& e : rep.rs.envs) {
    o += fmt::format("<tr><td>{}{}</td><td>{}</td><td>{}</td>", rep.swatch(e.label), esc(e.label), esc(e.kind),
                     e.started ? "started" : "<span class=\"failed\">did not start</span>: " + esc(e.error));
    for (const auto& n : names) {
      auto it = std::find_if(e.lifecycle.begin(), e.lifecycle.end(), [&](const Metric& m) { return m.name == n; });
      o += it == e.lifecycle.end() ? "<td class=\"num na\">–</td>"
                                   : "<td class=\"num\">" + esc(quantity_text(it->value, it->unit)) + "</td>";
    }
    o += "</tr>";
  }
  o += "</tbody></table></div>";
  std::string panels;
  for (const auto& n : names) {
    std::vector<svg::Bar> bars;
    std::string unit;
    for (const auto& e : rep.rs.envs) {
      auto it = std::find_if(e.lifecycle.begin(), e.lifecycle.end(), [&](const Metric& m) { return m.name == n; });
      if (it == e.lifecycle.end()) continue;
      unit = it->unit;
      bars.push_back({e.label, it->value, svg::kNaN, svg::kNaN, rep.color_of(e.label), "n/a",
                      fmt::format("{}: {}", e.label, quantity_text(it->value, it->unit))});
    }
    panels += "<figure class=\"panel\">" + svg::bar_panel(n, "once per run, lower is better", unit, bars) + "</figure>";
  }
  if (!panels.empty()) o += "<div class=\"panels\">" + panels + "</div>";
  for (const auto& e : rep.rs.envs) {
    std::vector<std::pair<std::string, std::string>> kv;
    flatten(e.describe, "", kv);
    if (kv.empty() && e.warnings.empty()) continue;
    o += "<div class=\"desc\"><h4>" + rep.swatch(e.label) + esc(e.label) + "</h4><table class=\"kv\"><tbody>";
    for (const auto& w : e.warnings) o += "<tr class=\"warn\"><th>warning</th><td>" + esc(w) + "</td></tr>";
    for (const auto& [k, v] : kv) o += "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>";
    o += "</tbody></table></div>";
  }
  return o + "</section>";
}

std::string section_host(const Report& rep) {
  const auto& m = rep.rs.meta;
  std::string o =
      "<section id=\"host\"><h2>Host and suite</h2><div class=\"desc\"><h3>Host</h3><table class=\"kv\"><tbody>";
  if (m.host.is_object() && m.host.contains("facts") && m.host["facts"].is_array()) {
    for (const auto& f : m.host["facts"]) {
      const bool warn = jfield(f, "level") == "warn";
      const std::string hint = jfield(f, "hint");
      o +=
          fmt::format("<tr{}><th>{}</th><td>{}{}</td></tr>", warn ? " class=\"warn\"" : "", esc(jfield(f, "label")),
                      esc(jfield(f, "value")), hint.empty() ? "" : "<br><span class=\"note\">" + esc(hint) + "</span>");
    }
  }
  if (const std::string fp = jfield(m.host, "fingerprint"); !fp.empty())
    o += "<tr><th>Host fingerprint</th><td>" + esc(fp) + "</td></tr>";
  o += "</tbody></table></div><div class=\"desc\"><h3>Run</h3><table class=\"kv\"><tbody>";
  auto row = [&](const char* k, const std::string& v) {
    if (!v.empty()) o += fmt::format("<tr><th>{}</th><td>{}</td></tr>", k, esc(v));
  };
  row("Run", m.run_id);
  row("vbench", m.vbench_version + (m.git_commit.empty() ? "" : " (" + m.git_commit + ")"));
  row("Command line", m.command_line);
  row("Started", m.started_at);
  row("Finished", m.finished_at);
  row("Seed", fmt::format("{}", m.seed));
  row("Baseline", m.baseline_env);
  if (m.interrupted) row("Interrupted", "yes: the results are incomplete");
  const auto& s = m.suite;
  row("Suite", jfield(s, "name"));
  row("Description", jfield(s, "description"));
  row("Suite source", jfield(s, "source"));
  row("Repetitions", jfield(s, "repetitions") + " (adaptive up to " + jfield(s, "max_repetitions") + ")");
  row("Warm-up runs", jfield(s, "warmup"));
  row("CI target", jfield(s, "ci_target"));
  row("Timeout per sample", jfield(s, "timeout_s") + " s");
  o += "</tbody></table></div>";
  if (s.is_object() && s.contains("workloads") && s["workloads"].is_array()) {
    o += "<h3>Workloads and parameters</h3><div class=\"scroll\"><table><thead><tr><th>Workload</th><th>Parameter "
         "sets</th></tr></thead><tbody>";
    for (const auto& w : s["workloads"]) {
      std::vector<std::string> sets;
      if (w.is_object() && w.contains("param_sets") && w["param_sets"].is_array())
        for (const auto& p : w["param_sets"]) sets.push_back(esc(params_key(p)));
      o += fmt::format("<tr><td>{}</td><td class=\"params\">{}</td></tr>", esc(jfield(w, "name")),
                       fmt::join(sets, "<br>"));
    }
    o += "</tbody></table></div>";
  }
  return o + "</section>";
}

std::string section_failures(const Report& rep) {
  std::string rows;
  for (const auto& e : rep.rs.envs)
    if (!e.started)
      rows += fmt::format(
          "<tr><td>{}</td><td colspan=\"3\">environment did not start</td><td><pre "
          "class=\"err\">{}</pre></td></tr>",
          esc(e.label), esc(e.error));
  for (const auto& s : rep.rs.samples)
    if (!s.ok)
      rows += fmt::format(
          "<tr><td>{}</td><td>{}</td><td class=\"params\">{}</td><td class=\"num\">{}{}</td><td><pre "
          "class=\"err\">{}</pre></td></tr>",
          esc(s.env), esc(s.workload), esc(params_key(s.params)), s.round, s.warmup ? " (warm-up)" : "", esc(s.error));
  if (rows.empty()) return "";
  return "<section id=\"failures\"><h2>Failures</h2><div class=\"scroll\"><table><thead><tr><th>Environment</th><th>"
         "Workload</th><th>Parameters</th><th class=\"num\">Round</th><th>Error</th></tr></thead><tbody>" +
         rows + "</tbody></table></div></section>";
}

// Section ids are ours, but extra sections come from other code: keep them to
// characters that need no escaping anywhere.
std::string safe_id(const std::string& id, size_t i) {
  std::string o;
  for (char c : id)
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') o += c;
  return o.empty() ? fmt::format("extra-{}", i) : o;
}

}  // namespace

std::string render_html(const ResultSet& rs, const RunSummary& summary, const HtmlOptions& options) {
  const Report rep(rs, summary);
  const std::string style = std::string(kStyle) + swatch_css();
  const std::string suite = jfield(rs.meta.suite, "name");

  struct Part {
    std::string id, title, html;
  };
  std::vector<Part> parts = {
      {"findings", "Findings", section_findings(rep)},
      {"summary", "Summary", section_summary(rep)},
      {"warnings", "Warnings", section_warnings(rep)},
      {"families", "By family", section_families(rep)},
      {"latency", "Latency", section_latency(rep)},
      {"memlat", "Memory latency", section_sweep(rep)},
      {"attribution", "CPU per operation", section_attribution(rep)},
      {"counters", "Counters", section_counters(rep)},
      {"lifecycle", "Environments", section_lifecycle(rep)},
      {"failures", "Failures", section_failures(rep)},
  };
  for (size_t i = 0; i < options.extra_sections.size(); ++i) {
    const auto& x = options.extra_sections[i];
    const std::string id = safe_id(x.id, i);
    parts.push_back(
        {id, x.title, "<section id=\"" + id + "\"><h2>" + esc(x.title) + "</h2>" + x.body_html + "</section>"});
  }
  parts.push_back({"host", "Host and suite", section_host(rep)});

  std::string o = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  o += fmt::format(
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src {}; "
      "script-src {}; base-uri 'none'; form-action 'none'\">",
      csp_hash(style), csp_hash(kSortScript));
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"color-scheme\" "
       "content=\"light\">";
  o += fmt::format("<title>vbench report{}{}</title>", suite.empty() ? "" : ": " + esc(suite),
                   rs.meta.run_id.empty() ? "" : " · " + esc(rs.meta.run_id));
  o += "<style>" + style + "</style></head><body><main>";
  o += section_header(rep);
  o += "<nav>";
  for (const auto& p : parts)
    if (!p.html.empty()) o += fmt::format("<a href=\"#{}\">{}</a>", p.id, esc(p.title));
  o += "</nav>";
  for (const auto& p : parts) o += p.html + "\n";
  o += fmt::format(
      "<footer>Written by vbench {} from the results of run {}. This file is self-contained: it loads nothing and "
      "runs no script but the one that sorts its tables.</footer>",
      esc(rs.meta.vbench_version), esc(rs.meta.run_id));
  o += "</main><script>" + std::string(kSortScript) + "</script></body></html>\n";
  return o;
}

}  // namespace vbench
