#include "workloads/registry.hpp"

namespace vbench {

void add_mem_workloads(std::vector<WorkloadDef>&) {}

}  // namespace vbench
