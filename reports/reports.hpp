#pragma once
// Reporters: each renders the same result model (ResultSet + RunSummary) in
// one format. JSON is canonical; everything else is derived from it.
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "harness/results.hpp"
#include "harness/summary.hpp"

namespace vbench {

// results.csv: tidy, one row per env × workload × params × metric.
std::string render_summary_csv(const RunSummary& summary);
// samples.csv: one row per sample × metric (raw values, warm-ups flagged).
std::string render_samples_csv(const ResultSet& rs);
// results.json: run, envs, samples, summary, warnings.
nlohmann::json render_json(const ResultSet& rs, const RunSummary& summary);
// The terminal table: one line per workload × params × metric, one column per env.
std::string render_table(const ResultSet& rs, const RunSummary& summary, bool color);

// One CSV field, quoted when needed (RFC 4180).
std::string csv_field(const std::string& s);
std::string csv_number(double v);  // shortest round-trip form; empty for NaN

// Writes results.json, results.csv and samples.csv into dir, each atomically.
Status write_result_files(const std::string& dir, const ResultSet& rs, const RunSummary& summary);

}  // namespace vbench
