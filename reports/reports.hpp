#pragma once
// Reporters: each renders the same result model (ResultSet + RunSummary) in
// one format. JSON is canonical; everything else is derived from it.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/summary.hpp"
#include "core/error.hpp"
#include "model/results.hpp"

namespace vbench {

// results.csv: tidy, one row per env × workload × params × metric.
std::string render_summary_csv(const RunSummary& summary);
// Its header line and one row, for tables that add columns (the fleet CSV).
std::string summary_csv_header();
std::string summary_csv_row(const SummaryRow& row);
// samples.csv: one row per sample × metric (raw values, warm-ups flagged).
std::string render_samples_csv(const ResultSet& rs);
// results.json: run, envs, samples, summary, warnings.
nlohmann::json render_json(const ResultSet& rs, const RunSummary& summary);
// The terminal table: one line per workload × params × metric, one column per env.
std::string render_table(const ResultSet& rs, const RunSummary& summary, bool color);

// A section another part of vbench adds to the HTML report (e.g. history
// trends). body_html is trusted markup: build it with html_escape and the
// reports/svg.hpp charts; the report's Content-Security-Policy blocks any
// script and style attribute in it.
struct HtmlSection {
  std::string id;  // anchor: [a-z0-9-]
  std::string title;
  std::string body_html;
};
struct HtmlOptions {
  std::vector<HtmlSection> extra_sections;  // placed before "Host and suite"
};
// report.html: one self-contained file (inline SVG charts, no network).
std::string render_html(const ResultSet& rs, const RunSummary& summary, const HtmlOptions& options = {});
// report.md: the findings, the summary table and the warnings, for a
// pull-request comment.
std::string render_markdown(const ResultSet& rs, const RunSummary& summary);

// One CSV text field: control characters replaced (sanitize_text), a
// leading formula character defused (csv_defuse), quoted when needed (RFC
// 4180). Numbers go through csv_number and are never altered.
std::string csv_field(const std::string& s);
std::string csv_number(double v);  // shortest round-trip form; empty for NaN

// The report a file name asks for, by its extension: .json, .csv (the tidy
// summary), .html, .md. An unknown extension is an error naming the file.
Result<std::string> render_for_path(const std::string& path, const ResultSet& rs, const RunSummary& summary);

// Writes results.json, results.csv, samples.csv, report.html and report.md
// into dir, each atomically.
Status write_result_files(const std::string& dir, const ResultSet& rs, const RunSummary& summary);
// Whether dir may receive a run's output: refuses system directories (see
// refuse_system_dir) and an existing non-empty directory unless every entry
// in it is a file a vbench run writes (a previous run's output).
Status check_output_dir(const std::string& dir);

}  // namespace vbench
