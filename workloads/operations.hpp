#pragma once
// What one operation of each workload is, for costs per operation (host CPU
// time, cycles, instructions): the unit of work a reader thinks in — a
// transaction, an I/O, a MiB of a stream, a call — and how many of them the
// workload did per second, read from the metric it reports anyway.
//
// The table lives next to the registry (one entry per workload; a unit test
// checks that every registered workload has one) and is read by the host
// side only: the drivers turn host CPU time into time per operation.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sample.hpp"

namespace vbench {

struct OperationDef {
  std::string workload;  // "net.tcp_stream"
  std::string op;        // "MiB": goes into units, "ns/MiB"
  std::string metric;    // the metric that gives the rate: "throughput"; "ns_*" = the largest working set
  // operations per second = value × scale, or scale / value when `per_op`
  // (the metric is a time per operation, e.g. ns_per_call).
  double scale = 1;
  bool per_op = false;
  std::string help;  // "one MiB sent (1 MiB = 2^20 bytes)"
};

const std::vector<OperationDef>& all_operations();
const OperationDef* find_operation(std::string_view workload);

// Operations per second of a sample by its workload's definition; empty when
// the workload has none or the sample lacks the metric or it is not a
// positive finite number.
struct OperationRate {
  std::string op;
  double per_s = 0;
};
std::optional<OperationRate> operation_rate(const std::string& workload, const std::vector<Metric>& metrics);

}  // namespace vbench
