#pragma once
// What a container instance created, recorded before it creates anything, so
// that the resources of a vbench that died (SIGKILL, power loss of the
// process) can be found and removed by the next run or `vbench cleanup` —
// and those of a live vbench never are. The record lives in the instance's
// environment state (core/runstate.hpp), whose owner file says whether its
// vbench is alive:
//
//   /run/vbench/<run_id>/container-<env>/record.json  the resources (oci-<env>/ for the oci kind)
//   /run/vbench/<run_id>/container-<env>/root         empty directory the container's root is mounted on
//                                                     (in the container's own mount namespace only)
//
// vbench before this layout kept /run/vbench/containers/<instance>.json (with
// the owner inside) and <instance>.root; cleanup still reads those. And an
// older vbench's cleanup, on the same host, knows only that directory: it
// takes cgroups and links without a record there for orphans, and removes
// them under a live run. So each record is also linked there
// (<instance>.json -> record.json) and keeps owner_pid and owner_start:
// an older cleanup sees it and tests the same owner.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/runstate.hpp"

namespace vbench {

inline constexpr const char* kContainerRecord = "record.json";
inline constexpr const char* kContainerRoot = "root";

struct ContainerRecord {
  std::string instance;  // "<run_id>-<env>": the name in every resource
  std::string run_id;
  std::string env;
  std::vector<std::string> cgroup_dirs;
  std::vector<std::string> host_links;  // deleting the host end of a veth removes the pair
  std::string overlay_dir;              // on the scratch filesystem ("" = none)
  std::string rootfs_dir;               // rootfs = overlay: its layers ("" = a tmpfs root)
  // owner_pid and owner_start, for older vbench versions (see above); in
  // the old layout, the only owner.
  std::optional<ProcessIdentity> legacy_owner;
};

// /run/vbench/containers: the records of vbench before the EnvState layout.
std::string legacy_container_state_dir();

// Writes <state>/record.json, with the state's owner, and links it from
// /run/vbench/containers/<instance>.json.
Status write_record(const EnvState& state, const ContainerRecord& rec);
// Removes that link and the state directory.
Status remove_record(const EnvState& state, const std::string& instance);
// Reads a record (either layout); at most 1 MiB, every field checked.
Result<ContainerRecord> read_record(const std::string& path);

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
