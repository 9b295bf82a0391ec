#pragma once
#include "drivers/driver.hpp"

namespace vbench {

// The agent under a real OCI runtime (runc by default; crun, runsc,
// kata-runtime, youki or a path): vbench writes the bundle (drivers/oci/
// bundle.hpp), prepares the network namespace with the `container` kind's
// network code, and drives the runtime's command line: `create` (the agent
// inherits a socket as its stdin/stdout), `start`, and `kill` + `delete` at
// the end. The runtime makes the namespaces and the cgroup itself.
class OciDriver : public Driver {
 public:
  std::string name() const override { return "oci"; }
  std::string description() const override {
    return "the agent under an OCI runtime (runc, crun, runsc, ...) from a bundle vbench writes";
  }
  Availability probe() const override;
  bool compared_by_default() const override { return false; }
  std::vector<ParamSpec> knobs() const override;
  Result<std::unique_ptr<Session>> start(const EnvSpec& spec) override;
  Status cleanup_stale() override;
};

}  // namespace vbench
