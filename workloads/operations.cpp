#include "workloads/operations.hpp"

#include <cmath>

#include "core/units.hpp"

namespace vbench {

namespace {
constexpr double kMiB = 1024.0 * 1024.0;
}

const std::vector<OperationDef>& all_operations() {
  static const std::vector<OperationDef> table = {
      {"cpu.int", "block", "ops", 1, false, "one 4 KiB block hashed"},
      {"cpu.fp", "MFLOP", "ops", 1e3, false, "10^6 floating-point operations (the metric is in GFLOP/s)"},
      {"mem.bandwidth", "MiB", "triad", 1e6 / kMiB, false, "one MiB moved by the triad kernel (its best pass)"},
      {"mem.latency", "load", "ns_*", 1e9, true, "one dependent load at the largest working set"},
      {"mem.pagefault", "fault", "faults_per_s", 1, false, "one page fault"},
      {"disk.seqread", "MiB", "bandwidth", 1e6 / kMiB, false, "one MiB read"},
      {"disk.seqwrite", "MiB", "bandwidth", 1e6 / kMiB, false, "one MiB written"},
      {"disk.randread", "I/O", "iops", 1, false, "one random read"},
      {"disk.randwrite", "I/O", "iops", 1, false, "one random write"},
      {"disk.fsync", "fsync", "ops", 1, false, "one write + fsync"},
      {"net.tcp_stream", "MiB", "throughput", 1e6 / 8 / kMiB, false, "one MiB sent (the metric is in Mbit/s)"},
      {"net.tcp_rr", "transaction", "tps", 1, false, "one request/response round trip"},
      {"net.udp_rr", "transaction", "tps", 1, false, "one request/response round trip"},
      {"net.tcp_crr", "transaction", "tps", 1, false, "connect, request/response, close"},
      {"os.syscall", "call", "ns_per_call", 1e9, true, "one system call"},
      {"os.ctxswitch", "switch", "ns_per_switch", 1e9, true, "one context switch"},
      {"os.fork", "fork", "rate", 1, false, "one fork + exit + wait"},
      {"os.thread", "thread", "rate", 1, false, "one thread create + join"},
      {"os.exec", "exec", "rate", 1, false, "one fork + exec + wait"},
  };
  return table;
}

const OperationDef* find_operation(std::string_view workload) {
  for (const auto& d : all_operations())
    if (d.workload == workload) return &d;
  return nullptr;
}

std::optional<OperationRate> operation_rate(const std::string& workload, const std::vector<Metric>& metrics) {
  const OperationDef* d = find_operation(workload);
  if (!d) return std::nullopt;
  const Metric* m = nullptr;
  if (d->metric.ends_with("*")) {
    // A sweep ("ns_4KiB", ..., "ns_16MiB"): the largest size.
    const std::string prefix = d->metric.substr(0, d->metric.size() - 1);
    uint64_t best = 0;
    for (const auto& x : metrics) {
      if (!x.name.starts_with(prefix)) continue;
      auto size = parse_size(x.name.substr(prefix.size()));
      if (size && *size >= best) best = *size, m = &x;
    }
  } else {
    for (const auto& x : metrics)
      if (x.name == d->metric) m = &x;
  }
  if (!m || !std::isfinite(m->value) || !(m->value > 0)) return std::nullopt;
  const double per_s = d->per_op ? d->scale / m->value : m->value * d->scale;
  if (!std::isfinite(per_s) || !(per_s > 0)) return std::nullopt;
  return OperationRate{d->op, per_s};
}

}  // namespace vbench
