#pragma once
// What vbench runs are alive, and what each of their environments made: the
// one record `vbench cleanup` (and the start of every run) reads to remove
// what dead runs left behind, and never a live run's resources.
//
//   /run/vbench/<run_id>/owner              "<pid> <start time>" of the run's vbench
//   /run/vbench/<run_id>/scratch            the scratch directory vbench made
//   /run/vbench/<run_id>/<kind>-<env>/owner "<pid> <start time>" of the session's process
//   /run/vbench/<run_id>/<kind>-<env>/...   what the driver recorded (EnvState::record)
//
// One ownership test for all of them (process_alive): a pid alone could have
// been reused, the pair of pid and start time cannot. Everything read back is
// untrusted (another process, or an older vbench, wrote it): bounded sizes,
// strict parsing, an unreadable owner counts as no owner.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace vbench {

inline constexpr const char* kRunStateRoot = "/run/vbench";

// "/run/vbench/<run_id>"
std::string run_state_dir(const std::string& run_id);

struct ProcessIdentity {
  pid_t pid = -1;
  uint64_t start_time = 0;  // <proc>/<pid>/stat field 22, clock ticks since boot
};

// The identity of a running process; none when it does not exist or has
// already exited (a zombie).
std::optional<ProcessIdentity> process_identity(pid_t pid, const std::string& proc = "/proc");
// Is this exact process (pid and start time) still there?
bool process_alive(const ProcessIdentity& p, const std::string& proc = "/proc");
// "<pid> <start time>", the text of an owner file.
std::string to_string(const ProcessIdentity& p);
Result<ProcessIdentity> parse_process_identity(std::string_view text);
// Start time of a process; 0 if it does not exist or is a zombie.
uint64_t process_start_time(pid_t pid);

// Turns an environment name into something safe in file names.
std::string file_safe(const std::string& name);

// Creates /run/vbench/<run_id>/ with the owner file for this process.
Status register_run(const std::string& run_id);
// Removes the run's own files (owner, scratch) and its directory when that
// is then empty: the state of an environment whose teardown failed stays for
// its driver's cleanup_stale.
void unregister_run(const std::string& run_id);

// True when the run's owner is still this same process. A run with no owner
// file is treated as dead.
bool run_is_alive(const std::string& run_id);
// Run ids under `root` whose owner is gone. A run directory without a
// readable owner is dead only once it is older than a grace period: a vbench
// starting at the same moment has made it and not yet written its owner.
std::vector<std::string> dead_runs(const std::string& root = kRunStateRoot, const std::string& proc = "/proc");

// The run id a resource name carries: the first "vb<12 digits>-<6 hex>" in it.
std::string run_id_in(const std::string& name);

// The state directory of one environment of one run,
// <root>/<run_id>/<kind>-<env>, owned by the process that created it.
class EnvState {
 public:
  EnvState() = default;
  // An existing directory, as a cleanup finds it.
  explicit EnvState(std::string dir) : dir_(std::move(dir)) {}
  static std::string dir_for(const std::string& run_id, const std::string& kind, const std::string& env,
                             const std::string& root = kRunStateRoot);
  // Creates the directory (mode `mode`) and records this process as its owner.
  static Result<EnvState> create(const std::string& run_id, const std::string& kind, const std::string& env,
                                 int mode = 0700, const std::string& root = kRunStateRoot);

  const std::string& dir() const { return dir_; }
  bool empty() const { return dir_.empty(); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  // Writes <dir>/<key> (atomically) holding `value` and a newline.
  Status record(const std::string& key, const std::string& value) const;
  // The first line of <dir>/<key>, at most 4 KiB: what record() wrote.
  Result<std::string> read(const std::string& key) const;
  // The owner, or why there is none (missing, malformed, oversized file).
  Result<ProcessIdentity> owner() const;
  // Removes the directory, and the run's directory when nothing else is in it.
  Status remove() const;

 private:
  std::string dir_;
};

struct FoundEnvState {
  enum class Owner {
    Alive,  // the owner is this same process: hands off
    Young,  // no readable owner yet, made under a minute ago: a session between mkdir and owner
    Dead,   // the owner is gone, or there has been no readable owner for a minute
  };
  EnvState state;
  std::string run_id;
  std::string kind;
  Owner owner = Owner::Dead;
  std::string why;  // for Dead: "owner 123 45 is gone", or the owner file's error
};

// Every <kind>-<env> directory under <root>/*/ (every kind when `kind` is
// empty), each with the verdict on its owner. `proc` is where processes are
// looked up (tests).
std::vector<FoundEnvState> env_states(const std::string& kind, const std::string& root = kRunStateRoot,
                                      const std::string& proc = "/proc");
// Those of env_states(kind) whose owner is dead.
std::vector<EnvState> dead_env_states(const std::string& kind, const std::string& root = kRunStateRoot,
                                      const std::string& proc = "/proc");

}  // namespace vbench
