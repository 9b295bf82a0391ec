#include "workloads/registry.hpp"

namespace vbench {

void add_disk_workloads(std::vector<WorkloadDef>&) {}

}  // namespace vbench
