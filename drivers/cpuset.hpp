#pragma once
#include <string>
#include <vector>

#include "core/error.hpp"

namespace vbench {

// Parses a kernel CPU list ("0-3,6,8-9") into CPU numbers.
Result<std::vector<int>> parse_cpu_list(const std::string& text);

}  // namespace vbench
