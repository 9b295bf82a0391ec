#pragma once
// What a container instance created, recorded before it creates anything, so
// that the resources of a vbench that died (SIGKILL, power loss of the
// process) can be found and removed by the next run or `vbench cleanup` —
// and those of a live vbench never are.
//
//   /run/vbench/containers/<instance>.json   the record (owner pid + start time, resources)
//   /run/vbench/containers/<instance>.root   empty directory the container's root is mounted on
//                                            (in the container's own mount namespace only)
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/runstate.hpp"

namespace vbench {

struct ContainerRecord {
  std::string instance;  // "<run_id>-<env>": the name in every resource
  std::string run_id;
  std::string env;
  pid_t owner_pid = 0;
  uint64_t owner_start = 0;  // /proc/<pid>/stat start time: a reused pid is not the owner
  std::vector<std::string> cgroup_dirs;
  std::vector<std::string> host_links;  // deleting the host end of a veth removes the pair
  std::string overlay_dir;              // on the scratch filesystem ("" = none)
  std::string rootfs_dir;               // rootfs = overlay: its layers ("" = a tmpfs root)
};

std::string container_state_dir();  // /run/vbench/containers
std::string record_path(const std::string& instance);
std::string root_mount_dir(const std::string& instance);

Status write_record(const ContainerRecord& rec);
Result<ContainerRecord> read_record(const std::string& path);
Status remove_record(const std::string& instance);

// Whether the recorded owner is still the same running process.
bool owner_alive(const ContainerRecord& rec);

// "vb" + 7 hex digits of a hash of the instance + a role letter: fits
// IFNAMSIZ (15) with room to spare, and the same instance always gets the
// same names.
std::string link_name(const std::string& instance, char role);
// The alias (IFLA_IFALIAS) every host link of an instance carries.
std::string link_alias(const std::string& instance);
// The instance named by an alias, or "" when the link is not vbench's.
std::string instance_of_alias(const std::string& alias);

// Turns an environment name into something safe in paths and cgroup names.
std::string sanitize_name(const std::string& s);

}  // namespace vbench
