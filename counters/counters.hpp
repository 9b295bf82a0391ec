#pragma once
// perf_event counters: around a workload's measured region inside the agent
// (RegionCounters), and from the host around a container's cgroup or a
// guest's vCPU threads (HostCounters).
//
// Names are perf's spelling (`task-clock`, `page-faults`, `cycles`,
// `dTLB-load-misses`, ...) or any PMU event of this CPU libpfm4 knows
// (`MEM_LOAD_RETIRED.L3_MISS`); "default" stands for the default set. An
// unknown name is a configuration error naming it (create/for_* fail); an
// event this machine does not provide is a reading with status
// "unsupported" and the reason, never a zero and never a failed run.
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sample.hpp"
#include "core/workload.hpp"

namespace vbench {

// task-clock, context-switches, cpu-migrations, page-faults, cycles,
// instructions, branches, branch-misses, cache-references, cache-misses,
// dTLB-load-misses.
const std::vector<std::string>& default_counter_names();
// "default" expanded, blanks and duplicates dropped, order kept.
std::vector<std::string> expand_counter_names(const std::vector<std::string>& names);
// Resolves every name without opening anything: for checking a suite early.
Status validate_counter_names(const std::vector<std::string>& names);

// Counts the measured region of a workload, per thread, summed. Every thread
// that does measured work calls thread_begin() right before its measured
// loop and thread_end() right after (WorkloadContext::region_begin/end).
// The groups of the thread that calls create() are opened there, so its
// thread_begin() is two ioctls; any other thread opens its groups in its
// first thread_begin() and enables them last. A thread may enter the region
// more than once; its counts accumulate. Children a region thread forks or
// spawns are not counted (each measured thread enters the region itself).
class RegionCounters : public RegionObserver {
 public:
  // names: perf-spelled event names; empty = no counting.
  static Result<std::unique_ptr<RegionCounters>> create(const std::vector<std::string>& names);
  ~RegionCounters() override;
  void thread_begin() override;
  void thread_end() override;
  // One reading per event, in the order asked, scope "agent". Call after
  // every measuring thread has ended its region.
  std::vector<CounterReading> readings() const;

  struct Impl;

 private:
  RegionCounters();
  std::unique_ptr<Impl> impl_;
};

// Host-side counting for the drivers. Counts accumulate between start() and
// stop(); each start() begins a new window and readings() reports the last
// complete one (so a session can open once and count every sample).
class HostCounters {
 public:
  // Counts everything the tasks of a cgroup do on every online CPU
  // (PERF_FLAG_PID_CGROUP). cgroup_dir must be in the hierarchy perf_event is
  // attached to: a cgroup v1 perf_event hierarchy, or cgroup v2 where
  // perf_event is not bound to v1 (see perf_event_cgroup_root()). Scope
  // "host-cgroup".
  static Result<std::unique_ptr<HostCounters>> for_cgroup(const std::string& cgroup_dir,
                                                          const std::vector<std::string>& names);

  struct VcpuOptions {
    // Also count each hardware event split by CPU mode, as perf's `NAME:G`
    // (guest only: exclude_host) and `NAME:H` (host only: exclude_guest).
    // Meaningful with hardware-assisted KVM only: under TCG the CPU is never
    // in guest mode. Unsupported splits are readings with the reason.
    bool split_guest_host = false;
  };
  // Counts the given threads (QEMU's vCPU threads), summed. Guest and host
  // mode are both counted in the plain readings. Scope "host-vcpu".
  static Result<std::unique_ptr<HostCounters>> for_threads(const std::vector<pid_t>& tids,
                                                           const std::vector<std::string>& names, VcpuOptions options);
  static Result<std::unique_ptr<HostCounters>> for_threads(const std::vector<pid_t>& tids,
                                                           const std::vector<std::string>& names) {
    return for_threads(tids, names, VcpuOptions{});
  }

  ~HostCounters();
  Status start();
  Status stop();
  std::vector<CounterReading> readings() const;

  struct Impl;

 private:
  HostCounters();
  std::unique_ptr<Impl> impl_;
};

// One "unsupported" reading per event (the "default" set expanded), for a
// scope that cannot count at all here, so that the absence shows with its
// reason instead of as missing or zero counts.
std::vector<CounterReading> unsupported_readings(const std::vector<std::string>& names, const std::string& scope,
                                                 const std::string& reason);

// Whether this host can count each event, for `vbench doctor` and `vbench
// list --counters`. Opens each event alone on the calling thread.
struct CounterSupport {
  std::string name;
  std::string status;    // "ok" | "unsupported" | "unknown" (no such name) | "error"
  std::string reason;    // why, when not ok
  std::string encoding;  // what libpfm4 made of the name, e.g. "perf::PERF_COUNT_HW_CPU_CYCLES:..."
};
std::vector<CounterSupport> counter_support(const std::vector<std::string>& names);

// Ratios from counter readings, per scope, only where every input is "ok"
// and the denominator is not zero:
//   ipc             instructions / cycles                 "insn/cycle"  higher
//   branch_miss_pct 100 * branch-misses / branches        "%"           lower
//   cache_miss_pct  100 * cache-misses / cache-references "%"           lower
//   mpki            cache-misses per 1000 instructions    "MPKI"        lower
//   dtlb_mpki       dTLB-load-misses per 1000 instructions "MPKI"       lower
// Readings of scope "agent" give these names; other scopes prefix them with
// the scope ("host-vcpu:ipc").
std::vector<Metric> derived_counter_metrics(const std::vector<CounterReading>& readings);
// Whether a sample's metric is one of the above (with or without a scope
// prefix): they travel with the workload's metrics, reports show them with
// the counters.
bool is_derived_counter_metric(const std::string& name);

// Where cgroups must be created for for_cgroup(): the mount point of a
// cgroup v1 hierarchy with perf_event, or else the cgroup v2 mount when
// perf_event is not bound to any v1 hierarchy (it is then implicitly active
// on v2). proc_dir is injectable for tests.
Result<std::string> perf_event_cgroup_root(const std::string& proc_dir = "/proc");

}  // namespace vbench
