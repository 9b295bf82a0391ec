#pragma once
// `vbench history changes` as JSON and as text (store/changes.hpp finds them).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/changes.hpp"

namespace vbench {

nlohmann::json changes_to_json(const std::vector<ChangeSeries>& series, const ChangeQuery& q);
std::string render_changes_text(const std::vector<ChangeSeries>& series, const ChangeQuery& q);

}  // namespace vbench
