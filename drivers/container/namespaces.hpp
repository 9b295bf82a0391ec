#pragma once
// Starting the container's init (the agent) in new namespaces.
//
// vbench forks a first child, which waits until the parent has put it in the
// container's cgroup, then unshares the mount, UTS, IPC, network, cgroup and
// PID namespaces (and the user namespace when asked), and clones the init
// with CLONE_PARENT: the init is PID 1 of the new PID namespace, yet a child
// of vbench itself, which can wait for it. The first child then exits. The
// init sets its hostname, assembles its root filesystem, waits for the
// parent to finish wiring (network, OOM protection), and execs the agent.
//
// Parent and children talk over a SOCK_SEQPACKET pair that the init holds
// close-on-exec: an error message, or end-of-file once the agent runs.
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "drivers/container/rootfs.hpp"
#include "drivers/container/security.hpp"

namespace vbench {

struct InitSpec {
  std::string hostname;
  bool userns = false;
  RootfsPlan rootfs;
  std::vector<std::string> argv;  // in the new root; argv[0] is the path
  int agent_fd = -1;              // becomes the agent's stdin and stdout
  int log_fd = -1;                // the agent's stderr (-1: /dev/null)
  double timeout_s = 60;          // bound on every wait for a child
  SecurityPlan security;          // applied by the init right before exec
};

struct InitHooks {
  // Called with the first child's pid before it unshares: place it in the
  // cgroup (the cgroup namespace is rooted where it stands at unshare time).
  std::function<Status(pid_t first)> place;
  // Called with the init's pid (in our PID namespace) before it execs:
  // network, oom_score_adj.
  std::function<Status(pid_t init)> wire;
};

// Returns the pid of the running init (the agent); on failure nothing it
// started is left running.
Result<pid_t> spawn_container_init(const InitSpec& spec, const InitHooks& hooks);

}  // namespace vbench
