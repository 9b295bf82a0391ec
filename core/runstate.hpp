#pragma once
// Which vbench runs are alive. Every run records its owner under
// /run/vbench/<run_id>/owner ("<pid> <start time in clock ticks>"), so that
// `vbench cleanup` (and the start of every run) removes what dead runs left
// behind, and never touches a live run's resources: a pid alone could have
// been reused, the pair cannot.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace vbench {

inline constexpr const char* kRunStateRoot = "/run/vbench";

// "/run/vbench/<run_id>"
std::string run_state_dir(const std::string& run_id);

// Start time of a process (field 22 of /proc/PID/stat, clock ticks since
// boot); 0 if it does not exist or has already exited (a zombie).
uint64_t process_start_time(pid_t pid);

// Creates /run/vbench/<run_id>/ with the owner file for this process.
Status register_run(const std::string& run_id);
// Removes the run's state directory (at the end of a run).
void unregister_run(const std::string& run_id);

// True when the run's owner is still this same process. A run with no owner
// file is treated as dead.
bool run_is_alive(const std::string& run_id);
// Run ids under /run/vbench whose owner is gone.
std::vector<std::string> dead_runs();

// The run id a resource name carries: the first "vb<12 digits>-<6 hex>" in it.
std::string run_id_in(const std::string& name);

}  // namespace vbench
