#pragma once
// A run-vs-run comparison (analysis/compare.hpp) rendered: a terminal table,
// GitHub-flavoured Markdown, JUnit XML (one testcase per metric: regressed =
// <failure>, noisy = <skipped>) and JSON.
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/compare.hpp"

namespace vbench {

std::string render_compare_table(const Comparison& c, bool color);
std::string render_compare_markdown(const Comparison& c);
std::string render_compare_junit(const Comparison& c);
nlohmann::json render_compare_json(const Comparison& c);

}  // namespace vbench
