#pragma once
// Counter values per operation of the workload (cycles per transaction,
// instructions per MiB, ...). A count covers some window of CPU time: the
// measured region inside the agent, or the whole request from the host. Per
// operation it is the count per CPU nanosecond of its own window times the
// environment's CPU nanoseconds per operation (the host's accounting,
// drivers/cpu_accounting.hpp):
//
//   count_per_op = count / task_clock_ns × cpu_ns_per_op
//
// For a host-side count of the request window this is exactly count / ops;
// for the agent's region it assumes the region runs at the request's rate
// of events per CPU time (set-up and tear-down included).
#include <cmath>
#include <optional>

namespace vbench {

inline std::optional<double> counter_per_op(double count, double task_clock_ns, double cpu_ns_per_op) {
  if (!std::isfinite(count) || !std::isfinite(task_clock_ns) || !std::isfinite(cpu_ns_per_op)) return std::nullopt;
  if (!(task_clock_ns > 0) || !(cpu_ns_per_op > 0) || count < 0) return std::nullopt;
  return count / task_clock_ns * cpu_ns_per_op;
}

}  // namespace vbench
