#pragma once
#include "drivers/driver.hpp"

namespace vbench {

// Bare metal: the agent is a plain child process of vbench on the host,
// optionally pinned to a CPU set; the network peer listens on loopback.
class BareDriver : public Driver {
 public:
  std::string name() const override { return "bare"; }
  std::string description() const override { return "the host itself: agent as a child process"; }
  Availability probe() const override;
  std::vector<ParamSpec> knobs() const override;
  Result<std::unique_ptr<Session>> start(const EnvSpec& spec) override;
};

}  // namespace vbench
