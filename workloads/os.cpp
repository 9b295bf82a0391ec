#include "workloads/registry.hpp"

namespace vbench {

void add_os_workloads(std::vector<WorkloadDef>&) {}

}  // namespace vbench
