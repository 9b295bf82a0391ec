#pragma once
// The exact CPU time of a process tree from the host: a perf_event
// task-clock counter opened on one process with inherit, so that the
// threads and processes it creates after the opening are counted too, and
// those that exited are folded into the count when they exit (before their
// parent reaps them). Nanoseconds of the scheduler's clock while a counted
// task was on a CPU: the time cgroup v1 cpuacct.usage and v2 usage_usec
// count for a cgroup (both also include interrupt time spent in the task's
// context unless the kernel has CONFIG_IRQ_TIME_ACCOUNTING, which then
// leaves it out of the cgroup's usage but not out of task-clock).
//
// Open it while the process has a single thread and no children (e.g.
// between fork and exec): threads and children that exist at the opening
// are not counted.
#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace vbench {

class TaskClock {
 public:
  // Counts `pid` (a process or thread) and everything it creates from now on.
  static Result<TaskClock> for_process_tree(pid_t pid);
  // Cumulative nanoseconds since the opening.
  Result<uint64_t> read_ns() const;

 private:
  explicit TaskClock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vbench
