#pragma once
// The agent's duties as an init process: as /init of a guest (mount /proc,
// /sys, /dev; load modules; bring up the network; serve the control port) and
// as PID 1 of a container (reap orphans).
namespace vbench {

// Runs as the guest's /init. Never returns on success (powers off).
int run_as_guest_init();

// As PID 1 of a container: reaps orphaned processes that are not the agent's
// own workload children.
void start_reaper();

}  // namespace vbench
