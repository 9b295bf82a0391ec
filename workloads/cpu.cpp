#include "workloads/registry.hpp"

namespace vbench {

void add_cpu_workloads(std::vector<WorkloadDef>&) {}

}  // namespace vbench
