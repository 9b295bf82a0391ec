#include "reports/reports.hpp"

namespace vbench {

nlohmann::json render_json(const ResultSet& rs, const RunSummary& summary) {
  nlohmann::json j;
  j["format"] = "vbench-results/1";
  j["run"] = to_json(rs.meta);
  auto& envs = j["envs"] = nlohmann::json::array();
  for (const auto& e : rs.envs) envs.push_back(to_json(e));
  auto& samples = j["samples"] = nlohmann::json::array();
  for (const auto& s : rs.samples) samples.push_back(to_json(s));
  auto& rows = j["summary"] = nlohmann::json::array();
  for (const auto& r : summary.rows) rows.push_back(to_json(r));
  j["warnings"] = summary.warnings;
  return j;
}

}  // namespace vbench
