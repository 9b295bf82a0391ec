#pragma once
// The container's cgroup: one interface, a v1 and a v2 implementation, and
// the v1/v2 file-name mapping in one place (cgroup.cpp: cgroup_files()).
//
// vbench detects what the host has (it never mounts or rebinds controllers)
// and creates `vbench/<instance>` under a vbench-owned parent: in every v1
// hierarchy that carries a controller it uses, or once under the v2 root.
// Every path starts at a root that tests can replace with a tree they build.
#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sample.hpp"

namespace vbench {

enum class CgroupVersion { V1, V2 };
const char* to_string(CgroupVersion v);  // "v1" | "v2"

// What the host offers, found from its mount table.
struct CgroupHost {
  CgroupVersion version = CgroupVersion::V2;
  std::string v2_mount;                          // the cgroup2 mount point ("" = none)
  std::map<std::string, std::string> v1_mounts;  // controller -> mount point of its hierarchy
  std::vector<std::string> controllers;          // usable controllers, in the chosen version
  bool has(const std::string& controller) const;
};

// Reads a mountinfo file (normally /proc/self/mountinfo) and picks the
// version: v2 when the cgroup2 mount offers cpu, memory and pids; else v1
// when hierarchies carry them; else an error naming what is missing.
// `root_prefix` is prepended to every mount point (tests point it at a tree
// they build).
Result<CgroupHost> detect_cgroups(const std::string& mountinfo_path = "/proc/self/mountinfo",
                                  const std::string& root_prefix = "");

// Block device limits apply to one device (the scratch directory's disk).
struct IoLimits {
  unsigned major = 0, minor = 0;                                        // the whole disk, not a partition
  uint32_t weight = 0;                                                  // 0 = leave the default
  uint64_t read_bps = 0, write_bps = 0, read_iops = 0, write_iops = 0;  // 0 = no cap
  bool any_cap() const { return read_bps || write_bps || read_iops || write_iops; }
};

struct CgroupLimits {
  double cpus = 0;  // CPU bandwidth in CPUs (quota/period); 0 = none
  uint64_t cpu_period_us = 100000;
  std::string cpuset;   // CPU list; "" = all the parent has
  uint64_t memory = 0;  // bytes; 0 = none. Swap is off whenever set.
  int64_t pids = 0;     // 0 = none
  IoLimits io;
};

// Cumulative counters of the cgroup at one moment (absent = this host does
// not provide them).
struct CgroupUsage {
  std::optional<double> cpu_usage_s;
  std::optional<double> cpu_user_s, cpu_system_s;  // the kernel's split of cpu_usage_s
  std::optional<uint64_t> nr_periods, nr_throttled;
  std::optional<double> throttled_s;
  std::optional<uint64_t> memory_peak;  // since the last reset_peak()
  std::optional<uint64_t> oom_kills;
  std::optional<uint64_t> io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
};

// Per-sample environment metrics: counter deltas between two readings, and
// the peak since the reset before the sample.
std::vector<Metric> cgroup_sample_metrics(const CgroupUsage& before, const CgroupUsage& after);

class Cgroup {
 public:
  virtual ~Cgroup() = default;
  virtual CgroupVersion version() const = 0;
  // Every directory this cgroup is made of (one per v1 hierarchy, one on v2).
  virtual std::vector<std::string> dirs() const = 0;
  // Writes the limits; errors name the file and the value.
  virtual Status apply(const CgroupLimits& limits) = 0;
  // Moves a process (all its threads) into the cgroup.
  virtual Status add_process(pid_t pid) = 0;
  // Resets the memory high-water mark so that the next usage() reports the
  // peak of what happens from now on.
  virtual Status reset_peak() = 0;
  virtual CgroupUsage usage() = 0;
  // Kills what is left inside and removes the directories. Idempotent.
  virtual Status destroy() = 0;
  // Notes for reports, e.g. how swap was turned off.
  virtual std::vector<std::string> notes() const { return {}; }
};

// The parent every vbench cgroup lives under, in each hierarchy.
constexpr const char* kCgroupParent = "vbench";

// Creates <mount>/vbench/<instance> (with the parent set up as the version
// needs: cpuset values copied on v1, controllers enabled on v2).
Result<std::unique_ptr<Cgroup>> create_cgroup(const CgroupHost& host, const std::string& instance);

// Every vbench/<name> directory on the host, as instance names with their
// directories (used to find what dead runs left).
std::map<std::string, std::vector<std::string>> list_vbench_cgroups(const CgroupHost& host);
// Kills whatever runs in the directories (v2: cgroup.kill) and removes them,
// children first. Missing directories are not an error.
Status remove_cgroup_dirs(const std::vector<std::string>& dirs);

// The v1/v2 file names for one concept, in one place.
struct CgroupFiles {
  const char* procs;       // attach a process
  const char* cpu_limit;   // v1 quota (period separate); v2 "max period"
  const char* cpu_period;  // v1 only
  const char* cpu_stat;    // nr_periods, nr_throttled, throttled_{time,usec}
  const char* cpu_usage;   // v1 cpuacct.usage (ns); v2 usage_usec in cpu.stat
  const char* cpu_split;   // v1 cpuacct.stat user/system (clock ticks); v2 user_usec/system_usec in cpu.stat
  const char* cpuset_cpus;
  const char* cpuset_mems;
  const char* memory_limit;
  const char* memory_swap;  // v1 memsw limit (memory+swap); v2 swap alone
  const char* memory_peak;
  const char* memory_events;  // where the oom_kill counter lives
  const char* pids_limit;
  const char* io_weight;
  const char* io_stat_bytes;
  const char* io_stat_ops;  // v2: the same io.stat
};
const CgroupFiles& cgroup_files(CgroupVersion v);

// Internal: the two implementations (cgroup_v1.cpp, cgroup_v2.cpp).
Result<std::unique_ptr<Cgroup>> create_cgroup_v1(const CgroupHost& host, const std::string& instance);
Result<std::unique_ptr<Cgroup>> create_cgroup_v2(const CgroupHost& host, const std::string& instance);

}  // namespace vbench
