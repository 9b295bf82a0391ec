// The build's paths, given by CMake to this file alone (see support.hpp).
#include "support.hpp"

namespace vbtest {

std::string vbench_bin() { return VBENCH_BIN; }
std::string agent_bin() { return VBENCH_AGENT_BIN; }
std::string source_dir() { return VBENCH_SOURCE_DIR; }

}  // namespace vbtest
