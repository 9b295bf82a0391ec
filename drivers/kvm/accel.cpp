#include "drivers/kvm/accel.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/fs.hpp"

namespace vbench {

HostKvm detect_host_kvm(const std::string& sys_module, const std::string& dev) {
  HostKvm h;
  for (const char* m : {"kvm_intel", "kvm_amd"})
    if (path_exists(sys_module + "/" + m)) h.hw_module = m;
  for (const char* m : {"kvm_pvm"})
    if (path_exists(sys_module + "/" + m)) h.other_module = m;
  UniqueFd fd(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    h.device_error = sys_error(fmt::format("open `{}`", dev)).message;
    return h;
  }
  // KVM_GET_API_VERSION on the system fd: 12 for every KVM since 2.6.22.
  int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    h.device_error = fmt::format("`{}` reports KVM API version {} (expected {})", dev, version, KVM_API_VERSION);
    return h;
  }
  h.device_usable = true;
  return h;
}

std::string HostKvm::describe() const {
  if (hardware()) return fmt::format("hardware-assisted KVM ({})", hw_module);
  if (!device_usable && hw_module.empty() && other_module.empty()) return fmt::format("no KVM: {}", device_error);
  if (!hw_module.empty()) return fmt::format("{} is loaded but /dev/kvm is unusable: {}", hw_module, device_error);
  if (!other_module.empty())
    return fmt::format("/dev/kvm is provided by {}, not by kvm_intel/kvm_amd: no hardware-assisted KVM", other_module);
  return "/dev/kvm exists but neither kvm_intel nor kvm_amd is loaded: no hardware-assisted KVM";
}

Result<AccelChoice> choose_accel(Accel knob, const HostKvm& host) {
  switch (knob) {
    case Accel::Tcg:
      return AccelChoice{Accel::Tcg, "accel = \"tcg\" in the suite"};
    case Accel::Kvm:
      if (host.hardware()) return AccelChoice{Accel::Kvm, host.describe()};
      return make_error(
          "accel = \"kvm\" but this host cannot run it: {}; fix: use accel = \"auto\" or \"tcg\" "
          "(emulated guest), or run on a host with VT-x/AMD-V and kvm_intel/kvm_amd loaded",
          host.describe());
    case Accel::Auto:
      break;
  }
  if (host.hardware()) return AccelChoice{Accel::Kvm, host.describe()};
  return AccelChoice{Accel::Tcg, host.describe() + "; using QEMU's TCG emulator"};
}

}  // namespace vbench
