#pragma once
// The OCI bundle vbench writes for a runtime (runc, crun, runsc, ...):
//
//   <dir>/config.json   runtime-spec 1.0 configuration
//   <dir>/rootfs/       empty mount points and nothing else; the static agent
//                       is bind-mounted read-only at /vbench-agent, the
//                       scratch directory read-write at /scratch
//
// The container joins a network namespace that vbench prepared (the same
// veth/bridge/nat code as the `container` kind), and its cgroup is
// `/vbench/<instance>` in every hierarchy: under vbench's own parent, so that
// `vbench cleanup` finds it like any other.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "drivers/container/cgroup.hpp"

namespace vbench {

struct BundlePlan {
  std::string dir;                // the bundle directory
  std::string agent_binary;       // host path of the static vbench-agent
  std::string scratch;            // host scratch directory ("" = no /scratch)
  std::vector<std::string> args;  // the process, inside the container
  std::string hostname;
  std::string netns_path;    // a namespace to join ("" = the runtime makes a new one)
  std::string cgroups_path;  // e.g. "/vbench/<instance>"
  CgroupLimits limits;       // cpus, cpuset, memory, pids (io is not passed on)
  bool memory_swap = false;  // the host can cap memory+swap (v1 memsw): swap off with the memory limit
};

// The capabilities a Docker container gets by default (moby's
// oci/caps/defaults.go): what a service usually runs with.
const std::vector<std::string>& docker_default_capabilities();

// config.json for the plan (pure: tests read it).
nlohmann::json oci_config(const BundlePlan& plan);

// Creates the directory, the rootfs mount points and config.json.
Status write_bundle(const BundlePlan& plan);

}  // namespace vbench
