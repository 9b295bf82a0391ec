#include "analysis/compare_envs.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/sample.hpp"

namespace vbench {
namespace {

nlohmann::json env_entry(const nlohmann::json& suite, const std::string& name) {
  if (suite.is_object() && suite.contains("envs") && suite["envs"].is_array())
    for (const auto& e : suite["envs"])
      if (e.is_object() && e.contains("name") && e["name"] == name) return e;
  return nlohmann::json();
}

ResultSet only_env(const ResultSet& rs, const std::string& env, const std::string& as) {
  ResultSet out;
  out.meta = rs.meta;
  out.meta.baseline_env = as;
  // The suite as run, with this env alone under the pair's name and without
  // knobs: the two sides' knobs differ on purpose (env_pair_note says how).
  nlohmann::json e = env_entry(rs.meta.suite, env);
  if (e.is_object()) {
    e["name"] = as;
    e.erase("knobs");
  }
  if (out.meta.suite.is_object())
    out.meta.suite["envs"] = e.is_object() ? nlohmann::json::array({e}) : nlohmann::json::array();
  for (const auto& r : rs.envs)
    if (r.name == env) {
      out.envs.push_back(r);
      out.envs.back().name = as;
    }
  for (const auto& s : rs.samples)
    if (s.env == env) {
      out.samples.push_back(s);
      out.samples.back().env = as;
    }
  return out;
}

}  // namespace

Result<std::pair<ResultSet, ResultSet>> split_env_pair(const ResultSet& rs, const std::string& base_env,
                                                       const std::string& head_env) {
  if (base_env == head_env) return make_error("--envs {0},{0}: two different environments are needed", base_env);
  std::vector<std::string> names;
  for (const auto& e : rs.envs) names.push_back(e.name);
  for (const auto& want : {base_env, head_env})
    if (std::find(names.begin(), names.end(), want) == names.end())
      return make_error("run {} has no environment `{}` (it has: {})", rs.meta.run_id, want, fmt::join(names, ", "));
  const std::string as = fmt::format("{}-vs-{}", head_env, base_env);
  return std::make_pair(only_env(rs, base_env, as), only_env(rs, head_env, as));
}

std::string env_pair_note(const ResultSet& rs, const std::string& base_env, const std::string& head_env) {
  auto knobs = [&](const std::string& env) {
    const nlohmann::json e = env_entry(rs.meta.suite, env);
    return e.is_object() && e.contains("knobs") ? dump_json(e["knobs"]) : std::string("{}");
  };
  return fmt::format("A/B in one run ({}): env {} (knobs {}) against env {} (knobs {}), interleaved", rs.meta.run_id,
                     head_env, knobs(head_env), base_env, knobs(base_env));
}

}  // namespace vbench
