#pragma once
// Where the CPU time of a request goes, measured from the host: the time
// charged to the environment (its processes, its cgroup, its QEMU threads)
// and to the host on its behalf (softirq), per operation of the workload
// (workloads/operations.hpp). Every driver reads the same kind of snapshot
// before and after a request and hands the difference to
// add_cpu_attribution(), which appends the per-operation metrics to the
// sample's environment metrics — never taken from the agent's reply (the
// rate of operations is the workload's own metric, as throughput is).
//
//   cpu_ns_per_op          total: the environment's CPU + softirq of the CPUs involved
//   cpu_ns_per_op.user     the environment's user time (guest time excluded)
//   cpu_ns_per_op.sys      the environment's system time
//   cpu_ns_per_op.softirq  softirq time of the CPUs the placement uses (all when unpinned)
//   cpu_ns_per_op.guest    kvm: vCPU time in guest mode (absent elsewhere)
//   cpu_ns_per_op.vcpu     kvm: QEMU's vCPU threads (user + sys + guest)
//   cpu_ns_per_op.io       kvm: QEMU's other threads: I/O, vhost, main loop
//   cycles_per_op, instructions_per_op   where those counters were counted
//
// Per operation means "service demand" (as netperf reports it): the CPU
// time charged during the whole request divided by the operations the
// workload's rate implies over the same window, ops = rate × window. Set-up
// and tear-down inside the request count at their own CPU rate.
//
// Sources, per environment:
//   bare      the agent process: utime/stime plus cutime/cstime (its reaped
//             workload children) from /proc/PID/stat, in clock ticks
//   container the cgroup: cpuacct.usage (v1, ns) or cpu.stat usage_usec (v2)
//             for the total; cpuacct.stat user/system (ticks) or
//             user_usec/system_usec for the split
//   kvm       QEMU: /proc/PID/stat for the process (threads that exited
//             included), guest_time for guest mode, /proc/PID/task/TID/stat
//             of the vCPU threads for the vCPU/IO split
//   all       /proc/stat softirq of the CPUs involved
// Without CONFIG_IRQ_TIME_ACCOUNTING the kernel samples softirq by tick and
// also charges the part that interrupted the environment's own tasks to their
// system time; describe_cpu_accounting() says which this host does.
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sample.hpp"
#include "drivers/placement.hpp"

namespace vbench {

// Cumulative CPU time at one moment, in nanoseconds; also used for the
// difference of two snapshots.
struct CpuTimes {
  double user = 0;                // the environment's user time, guest time excluded
  double sys = 0;                 // the environment's system time
  std::optional<double> guest;    // vCPU time in guest mode (kvm)
  std::optional<double> usage;    // the environment's total where the kernel keeps it in ns (cgroups)
  std::optional<double> vcpu;     // kvm: vCPU threads, all modes
  std::optional<double> softirq;  // the involved CPUs' softirq time (absent: /proc/stat unreadable)
  bool split = true;              // false: user and sys unknown (only `usage` is)
  // For foreign_cpus (core/host_load.hpp): the whole host's busy time, and
  // vbench's process tree without the environment's own processes.
  std::optional<double> host_busy;
  std::optional<double> ours_elsewhere;

  // The environment's own CPU time: `usage` when known, else user + sys + guest.
  double environment() const { return usage ? *usage : user + sys + guest.value_or(0); }
};
CpuTimes operator-(const CpuTimes& after, const CpuTimes& before);

// The per-operation metrics of one request (see the top of this file): `d`
// is the difference of the snapshots around it, `window_s` its wall time.
// Empty when the sample failed or its workload's rate is unknown.
std::vector<Metric> cpu_attribution_metrics(const Sample& s, const CpuTimes& d, double window_s);
// Other work on the host during the request, in CPUs (core/host_load.hpp):
// (host busy - environment - softirq charged - vbench's other processes) /
// window, at least 0. Empty without the host's busy time or vbench's tree.
std::optional<Metric> foreign_cpus_metric(const CpuTimes& d, double window_s);
// Appends both to s.env_metrics; nothing when either snapshot is missing.
void add_cpu_attribution(Sample& s, const std::optional<CpuTimes>& before, const std::optional<CpuTimes>& after,
                         double window_s);
// A snapshot: the environment's times (absent when they could not be read)
// with the softirq time of `softirq_cpus`, the host's busy time and the CPU
// time of vbench's process tree added. `env_root`: the process whose
// subtree is the environment, left out of that tree because the
// environment's times count it already (-1: the environment is not in
// vbench's tree, e.g. a container a daemon started).
std::optional<CpuTimes> cpu_snapshot(Result<CpuTimes> environment, const std::vector<int>& softirq_cpus,
                                     pid_t env_root = -1);

// Snapshots. `proc` is the procfs root (tests build their own tree).
// A process and, with `children`, its reaped children (cutime/cstime).
Result<CpuTimes> process_cpu_times(pid_t pid, bool children, const std::string& proc = "/proc");
// QEMU: the process, its guest time, and the listed vCPU threads.
Result<CpuTimes> qemu_cpu_times(pid_t pid, const std::vector<pid_t>& vcpu_tids, const std::string& proc = "/proc");
// A cgroup's CPU time from its directories (one per v1 hierarchy, or the v2
// one): the first with cpuacct.usage (v1; split from cpuacct.stat) or with
// usage_usec in cpu.stat (v2; split from user_usec/system_usec). For cgroups
// a runtime made (oci, docker); vbench's own container reads its Cgroup.
Result<CpuTimes> cgroup_dir_cpu_times(const std::vector<std::string>& dirs);
// From one read of <proc>/stat: the softirq nanoseconds of `cpus` (empty =
// the whole host) and the whole host's busy nanoseconds (see
// parse_busy_ticks); each absent when its line does not parse.
struct ProcStatNs {
  std::optional<double> softirq, busy;
};
Result<ProcStatNs> proc_stat_ns(const std::vector<int>& cpus, const std::string& proc = "/proc");
// CPU nanoseconds of `root` and its descendants, each with its reaped
// children (utime + stime + cutime + cstime), leaving out the subtree of
// `exclude` (-1: none). Summed over the tree, a child that is reaped moves
// its time into its parent's cutime/cstime, so the sum only grows.
Result<double> process_tree_cpu_ns(pid_t root, pid_t exclude, const std::string& proc = "/proc");

// The CPUs whose softirq time a request is charged: those the placement
// gives the agent and the peer; empty (the whole host) when nothing is
// pinned or the agent's CPUs are set by a knob.
std::vector<int> softirq_cpus(Placement p, bool network, int host_cpus, bool agent_pinned_by_knob = false);

// describe.cpu_accounting of an environment: the sources above in words, the
// softirq CPUs per kind of workload, and whether the kernel accounts IRQ time
// precisely.
nlohmann::json describe_cpu_accounting(const std::string& env_source, Placement p, int host_cpus,
                                       bool agent_pinned_by_knob = false);

}  // namespace vbench
