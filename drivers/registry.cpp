#include "drivers/bare/bare.hpp"
#include "drivers/container/container.hpp"
#include "drivers/docker/docker.hpp"
#include "drivers/driver.hpp"
#include "drivers/kvm/kvm.hpp"
#include "drivers/oci/oci.hpp"

namespace vbench {

const std::vector<std::unique_ptr<Driver>>& all_drivers() {
  static const std::vector<std::unique_ptr<Driver>> drivers = [] {
    std::vector<std::unique_ptr<Driver>> d;
    d.push_back(std::make_unique<BareDriver>());
    d.push_back(std::make_unique<ContainerDriver>());
    d.push_back(std::make_unique<KvmDriver>());
    d.push_back(std::make_unique<OciDriver>());
    d.push_back(std::make_unique<DockerDriver>());
    d.push_back(std::make_unique<DockerDriver>(Engine::Podman));
    return d;
  }();
  return drivers;
}

Driver* find_driver(const std::string& name) {
  for (const auto& d : all_drivers())
    if (d->name() == name) return d.get();
  return nullptr;
}

}  // namespace vbench
