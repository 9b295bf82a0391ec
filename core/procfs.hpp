#pragma once
// /proc/<pid>/stat, read in one place. The command name (field 2) is chosen
// by the process and may hold spaces and parentheses, so fields are counted
// after the last ')'.
#include <cstdint>
#include <string_view>

#include "core/error.hpp"

namespace vbench {

struct ProcStat {
  char state = '?';         // field 3: R, S, D, Z, X, ...
  uint64_t utime = 0;       // field 14, clock ticks
  uint64_t stime = 0;       // field 15, clock ticks
  uint64_t start_time = 0;  // field 22, clock ticks since boot
};

// Parses the text of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat file.
Result<ProcStat> parse_proc_stat(std::string_view text);

}  // namespace vbench
