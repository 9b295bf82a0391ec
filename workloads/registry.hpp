#pragma once
// The explicit table of every workload. Each family file adds its own entries
// (name, parameters with defaults and help, run function); `vbench list`, the
// suite parser, the CLI's --set and the agent all read this one table.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/workload.hpp"

namespace vbench {

const std::vector<WorkloadDef>& all_workloads();
const WorkloadDef* find_workload(std::string_view name);

// One per family file (workloads/<family>.cpp).
void add_cpu_workloads(std::vector<WorkloadDef>& out);
void add_mem_workloads(std::vector<WorkloadDef>& out);
void add_disk_workloads(std::vector<WorkloadDef>& out);
void add_net_workloads(std::vector<WorkloadDef>& out);
void add_os_workloads(std::vector<WorkloadDef>& out);

// A parameter without choices or "auto", for the families' tables.
inline ParamSpec param(std::string name, ParamType type, std::string default_value, std::string help) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = type;
  p.default_value = std::move(default_value);
  p.help = std::move(help);
  return p;
}

}  // namespace vbench
