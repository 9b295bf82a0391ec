#pragma once
// Where the agent and the network peer run: one policy for every
// environment, so that a difference between environments is the isolation's
// and not the scheduler's. On a small VM a loopback round trip costs ~9 µs
// when client and peer share a CPU and ~105 µs when they do not, so an
// unpinned net.tcp_rr moves 10× between runs.
//
//   spread (default): for network workloads the agent (all its threads: in a
//     guest, QEMU's vCPU and I/O threads) runs on every CPU but the last and
//     the peer on the last; other workloads run on every CPU. The same CPUs in
//     every environment. Needs 2 CPUs; on 1 it is `same` (doctor says so).
//   same: the agent and the peer both on CPU 0.
//   none: the scheduler's choice (nothing pinned).
//
// Pinning is applied before each request to every thread of the process
// (/proc/PID/task), so threads the workload starts inherit it.
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/choice.hpp"
#include "core/error.hpp"

namespace vbench {

enum class Placement { Spread, Same, None };
inline constexpr Choices<Placement, 3> kPlacements{
    {{"spread", Placement::Spread}, {"same", Placement::Same}, {"none", Placement::None}}};
inline std::string_view to_string(Placement p) { return name_of(kPlacements, p); }

struct PlacementPlan {
  std::vector<int> agent;  // CPUs; empty = not pinned
  std::vector<int> peer;
};

// The CPUs for a request; `cpus` is the host's online CPU count.
PlacementPlan plan_placement(Placement p, bool network, int cpus);

// Online CPUs of the host (sysconf).
int host_cpu_count();

// Thread ids of process `pid` (/proc/PID/task); empty when it is gone.
std::vector<pid_t> process_threads(pid_t pid);

// Sets the affinity of every thread of process `pid` (empty `cpus`: every
// online CPU, i.e. undoes pinning). Threads that exit meanwhile are skipped.
Status pin_process(pid_t pid, const std::vector<int>& cpus);

// describe.placement of an environment: the policy and, for network and
// other workloads, the CPUs of the agent and the peer.
nlohmann::json describe_placement(Placement p, int cpus);

// One sentence for `doctor` when the host cannot spread (fewer than 2 CPUs);
// empty when it can.
std::string placement_limitation(int cpus);

// Applies the plan of one request to an environment's agent process(es) and
// its peer, and remembers what it applied so that a run of same-kind requests
// does not repin.
class PlacementApplier {
 public:
  explicit PlacementApplier(Placement p) : policy_(p) {}
  Placement policy() const { return policy_; }
  Status apply(bool network, const std::vector<pid_t>& agent_pids, pid_t peer_pid);

 private:
  Placement policy_;
  int last_ = -1;  // -1 nothing applied yet, 0 other, 1 network
  pid_t last_peer_ = -1;
};

}  // namespace vbench
