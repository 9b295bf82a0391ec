#pragma once
// PID 1 of a container inherits every orphan in its PID namespace and must
// reap them, without ever collecting the exit status of its own workload
// child, which run_workload_isolated() waits for to tell a clean exit from an
// OOM kill. The agent forks workload children only through these two calls,
// which let the reaper (start_reaper() in agent/init.hpp) tell them apart.
#include <sys/types.h>

namespace vbench {

// fork() for a workload child: the child is registered as the agent's own
// before the reaper can look at it. In the child (return 0) of a container
// init, sets oom_score_adj to 1000, so that the OOM killer picks the
// workload and not the agent (which the host also gives -1000 where it may).
pid_t fork_workload_child();
// Tells the reaper that the agent has waited for this child (or given up).
void workload_child_reaped(pid_t pid);

}  // namespace vbench
