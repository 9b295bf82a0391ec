#pragma once
// /proc/<pid>/stat, read in one place. The command name (field 2) is chosen
// by the process and may hold spaces and parentheses, so fields are counted
// after the last ')'.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace vbench {

struct ProcStat {
  char state = '?';         // field 3: R, S, D, Z, X, ...
  int64_t ppid = 0;         // field 4
  uint64_t utime = 0;       // field 14, clock ticks
  uint64_t stime = 0;       // field 15, clock ticks
  uint64_t cutime = 0;      // field 16: waited-for children's (and their waited-for children's) utime
  uint64_t cstime = 0;      // field 17: the same for stime
  uint64_t start_time = 0;  // field 22, clock ticks since boot
  uint64_t guest_time = 0;  // field 43 (0 when absent): time running a vCPU in guest mode, also in utime
};

// Parses the text of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat file.
Result<ProcStat> parse_proc_stat(std::string_view text);
// Reads and parses <proc>/<pid>/stat; errors name the file. A thread's:
// read_proc_stat(tid, "/proc/<pid>/task").
Result<ProcStat> read_proc_stat(pid_t pid, const std::string& proc = "/proc");

// Softirq time in clock ticks from the text of /proc/stat: of the CPUs
// listed (`cpuN` lines), or of the whole host (`cpu` line) when `cpus` is
// empty. A listed CPU without a line is an error.
Result<uint64_t> parse_softirq_ticks(std::string_view proc_stat, const std::vector<int>& cpus);

// Busy time of the whole host in clock ticks from the text of /proc/stat
// (its `cpu` line): user + nice + system + irq + softirq. Guest time is in
// user already; idle, iowait and steal (time the hypervisor gave to others)
// are not busy.
Result<uint64_t> parse_busy_ticks(std::string_view proc_stat);

}  // namespace vbench
