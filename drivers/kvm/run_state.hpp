#pragma once
// What a running kvm session made, written down so that `vbench cleanup` can
// find it after vbench died: /run/vbench/<run_id>/kvm-<env>/ holds
//   owner   "<pid> <start time>" of the vbench process that made it
//   qemu    "<pid> <start time>" of the QEMU process
//   tap     the tap's name
//   image   the disk image's path
// plus the sockets and logs of the session. A run is dead when its owner's
// pid is gone or now belongs to a process with another start time.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/runstate.hpp"

namespace vbench {

struct ProcessIdentity {
  pid_t pid = -1;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22, clock ticks since boot
};

std::optional<ProcessIdentity> process_identity(pid_t pid);
// Is this exact process (pid and start time) still there?
bool process_alive(const ProcessIdentity& p);
std::string to_string(const ProcessIdentity& p);
std::optional<ProcessIdentity> parse_process_identity(const std::string& text);

// Turns an environment name into something safe in file names.
std::string file_safe(const std::string& name);

class RunState {
 public:
  // Creates the directory and records this process as its owner.
  static Result<RunState> create(const std::string& run_id, const std::string& env);
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  Status record(const std::string& key, const std::string& value) const;
  // Removes the directory, and the run's directory when nothing else is in it.
  void remove() const;

 private:
  std::string dir_;
};

}  // namespace vbench
