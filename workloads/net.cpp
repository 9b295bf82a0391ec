#include "workloads/registry.hpp"

namespace vbench {

void add_net_workloads(std::vector<WorkloadDef>&) {}

}  // namespace vbench
