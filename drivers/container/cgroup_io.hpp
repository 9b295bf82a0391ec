#pragma once
// File helpers shared by the v1 and v2 cgroup implementations.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace vbench {

// Writes `value` in one write(2) (cgroup files take one value per write);
// the error names the file, the value and the directory.
Status cg_write(const std::string& dir, const std::string& file, const std::string& value);
Result<std::string> cg_read(const std::string& dir, const std::string& file);
bool cg_exists(const std::string& dir, const std::string& file);
// "key value" lines (cpu.stat, memory.events, oom_control) -> map.
std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text);
std::optional<uint64_t> parse_u64(const std::string& text);
// Immediate subdirectories of a cgroup directory (names only; none if absent).
std::vector<std::string> cgroup_subdirs(const std::string& dir);
// Kills every process in dir and its children (v2: cgroup.kill), waits for
// them to leave (bounded) and removes the directories, children first. A
// directory that does not exist is not an error.
Status remove_cgroup_tree(const std::string& dir);
// Creates a directory; an existing one is fine when `may_exist`.
Status cg_mkdir(const std::string& dir, bool may_exist);

}  // namespace vbench
