#pragma once
#include "drivers/driver.hpp"

namespace vbench {

// A container that vbench builds from kernel primitives (no Docker, no runc):
// new mount, PID, network, UTS, IPC and cgroup namespaces (and optionally a
// user namespace), a minimal root filesystem entered with pivot_root, its own
// cgroup with the environment's limits, and a veth link to the host. The
// static vbench-agent is its PID 1.
class ContainerDriver : public Driver {
 public:
  std::string name() const override { return "container"; }
  std::string description() const override {
    return "namespaces + cgroup that vbench creates itself; the agent is PID 1";
  }
  Availability probe() const override;
  std::vector<ParamSpec> knobs() const override;
  Result<std::unique_ptr<Session>> start(const EnvSpec& spec) override;
  Status cleanup_stale() override;
};

}  // namespace vbench
