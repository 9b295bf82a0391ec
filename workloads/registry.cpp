#include "workloads/registry.hpp"

namespace vbench {

const std::vector<WorkloadDef>& all_workloads() {
  static const std::vector<WorkloadDef> table = [] {
    std::vector<WorkloadDef> t;
    add_cpu_workloads(t);
    add_mem_workloads(t);
    add_disk_workloads(t);
    add_net_workloads(t);
    add_os_workloads(t);
    return t;
  }();
  return table;
}

const WorkloadDef* find_workload(std::string_view name) {
  for (const auto& w : all_workloads())
    if (w.name == name) return &w;
  return nullptr;
}

}  // namespace vbench
