#pragma once
// perf_event groups for one target (a thread, or a cgroup on one CPU), their
// group reads, and the arithmetic that turns raw reads into CounterReadings:
// scaling for multiplexing and summing over threads or CPUs.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/sample.hpp"
#include "counters/events.hpp"

namespace vbench {

// One event's cumulative raw count on one target, as the kernel reports it.
struct EventCount {
  uint64_t value = 0;
  uint64_t enabled = 0;  // ns the event was enabled
  uint64_t running = 0;  // ns it was actually on a counter (< enabled when multiplexed)
};

// The window between two cumulative reads of the same event.
EventCount count_delta(const EventCount& later, const EventCount& earlier);

// Sums one event over the targets it was counted on, each scaled for
// multiplexing (value * enabled / running), with running_fraction =
// sum(running) / sum(enabled). A target that was enabled but never got a
// counter (running == 0) makes the total unknown: "not-counted", never 0.
// No enabled time at all is "not-counted" too (the region never ran).
CounterReading combine_counts(const std::string& name, const std::vector<EventCount>& parts, const std::string& scope);

// A read(2) of a group leader opened with PERF_FORMAT_GROUP |
// TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING | ID:
//   { u64 nr; u64 time_enabled; u64 time_running; { u64 value; u64 id; } cnt[nr]; }
struct GroupRead {
  uint64_t enabled = 0;
  uint64_t running = 0;
  std::vector<std::pair<uint64_t, uint64_t>> id_values;  // (id, value)
};
Result<GroupRead> parse_group_read(const uint64_t* words, size_t n_words);

// Why an event could not be opened: "unsupported" (the CPU, hypervisor or
// kernel does not provide it, or perf_event_paranoid forbids it) or "error".
struct OpenOutcome {
  std::string status = "ok";
  std::string reason;
  bool ok() const { return status == "ok"; }
};
OpenOutcome classify_open_error(int err, bool cgroup_target);

// Where a set of groups counts: pid/tid with cpu -1 (that thread on any CPU),
// or a cgroup directory fd with PERF_FLAG_PID_CGROUP and one CPU.
struct CountTarget {
  pid_t pid = 0;  // 0 = the calling thread
  int cpu = -1;
  unsigned long flags = 0;
};

// The events of one target, in groups: task-clock and cpu-clock each alone,
// the other software events in one group, hardware events in groups of at
// most kMaxHardwareGroup (kept in the order
// asked, so that ratio pairs such as cycles+instructions listed next to each
// other share a group and therefore the same time windows). An event that
// fails to join a group is retried as a group of its own, so that one
// missing hardware event never takes its neighbours down with it.
class EventGroups {
 public:
  // A PMU has 4-8 general counters (fewer in some VMs, one may be taken by the
  // NMI watchdog); a group larger than what is free is never scheduled at all.
  static constexpr size_t kMaxHardwareGroup = 4;

  // preset: outcomes decided before opening (not ok = not opened), or null.
  void open(const std::vector<EventSpec>& events, const CountTarget& target,
            const std::vector<OpenOutcome>* preset = nullptr);
  bool any_open() const { return !groups_.empty(); }
  const std::vector<OpenOutcome>& outcomes() const { return outcomes_; }

  // ioctl on each group leader; cheap, meant for the edges of a region.
  void enable() const;
  void disable() const;
  // Cumulative counts into out[event index] (events not open are left alone).
  Status read(std::vector<EventCount>& out);

 private:
  struct Group {
    std::vector<UniqueFd> fds;  // leader first
    std::vector<uint64_t> ids;
    std::vector<size_t> event_index;
    bool software = false;
  };
  std::vector<Group> groups_;
  std::vector<OpenOutcome> outcomes_;
  std::vector<uint64_t> buf_;  // read buffer, sized for the largest group
};

// perf_event_open(2), close-on-exec.
int perf_event_open_fd(perf_event_attr* attr, pid_t pid, int cpu, int group_fd, unsigned long flags);

}  // namespace vbench
