#include <fmt/format.h>

#include <cmath>

#include "core/escape.hpp"
#include "reports/reports.hpp"

namespace vbench {

std::string csv_field(const std::string& raw) {
  // Text from a results file: no control characters (a CSV is read in
  // terminals and CI logs too), and no formula a spreadsheet would run.
  std::string s = csv_defuse(sanitize_text(raw));
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

std::string csv_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string(); }

std::string summary_csv_header() {
  return "env,workload,params,metric,unit,better,n,median,mean,stddev,cv,min,max,ci_low,ci_high,"
         "baseline_env,ratio,ratio_ci_low,ratio_ci_high,status,mde\n";
}

std::string summary_csv_row(const SummaryRow& r) {
  const auto& s = r.stats;
  // mde: minimum_detectable_effect (analysis/summary.hpp), a fraction.
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(r.env),
                     csv_field(r.workload), csv_field(r.params), csv_field(r.metric), csv_field(r.unit),
                     to_string(r.better), s.n, csv_number(s.median), csv_number(s.mean), csv_number(s.stddev),
                     csv_number(s.cv), csv_number(s.min), csv_number(s.max), csv_number(s.ci_low),
                     csv_number(s.ci_high), csv_field(r.baseline_env), r.has_ratio ? csv_number(r.ratio.value) : "",
                     r.has_ratio ? csv_number(r.ratio.ci_low) : "", r.has_ratio ? csv_number(r.ratio.ci_high) : "",
                     r.status, csv_number(r.mde));
}

std::string render_summary_csv(const RunSummary& summary) {
  std::string out = summary_csv_header();
  for (const auto& r : summary.rows) out += summary_csv_row(r);
  return out;
}

std::string render_samples_csv(const ResultSet& rs) {
  std::string out = "env,workload,params,round,warmup,ok,source,metric,unit,better,value,error\n";
  for (const auto& s : rs.samples) {
    const std::string head = fmt::format("{},{},{},{},{},{}", csv_field(s.env), csv_field(s.workload),
                                         csv_field(params_key(s.params)), s.round, s.warmup ? 1 : 0, s.ok ? 1 : 0);
    if (!s.ok) {
      out += fmt::format("{},,,,,,{}\n", head, csv_field(s.error));
      continue;
    }
    for (const auto& m : s.metrics)
      out += fmt::format("{},workload,{},{},{},{},\n", head, csv_field(m.name), csv_field(m.unit), to_string(m.better),
                         csv_number(m.value));
    for (const auto& m : s.env_metrics)
      out += fmt::format("{},env,{},{},{},{},\n", head, csv_field(m.name), csv_field(m.unit), to_string(m.better),
                         csv_number(m.value));
    for (const auto& c : s.counters) {
      const std::string name = c.scope == "agent" ? c.name : c.scope + ":" + c.name;
      out += fmt::format("{},counter,{},count,lower,{},{}\n", head, csv_field(name),
                         c.value ? csv_number(*c.value) : "", c.value ? "" : csv_field(c.status + ": " + c.reason));
    }
  }
  return out;
}

}  // namespace vbench
