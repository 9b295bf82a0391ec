#pragma once
#include <string>
#include <vector>

namespace vbench {

struct BuiltinSuite {
  const char* name;  // "smoke", "quick", "standard"
  const char* text;  // TOML
};

// Generated at build time from suites/*.toml.
const std::vector<BuiltinSuite>& builtin_suites();

}  // namespace vbench
