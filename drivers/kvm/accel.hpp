#pragma once
// Which accelerator QEMU gets. Hardware-assisted KVM means /dev/kvm answers
// and kvm_intel or kvm_amd is loaded; a /dev/kvm backed by anything else
// (here: kvm_pvm, a paravirtual KVM without VT-x that cannot boot a stock
// kernel in useful time) does not count, and the guest runs under TCG.
#include <string>

#include "core/choice.hpp"
#include "core/error.hpp"

namespace vbench {

struct HostKvm {
  bool device_usable = false;  // /dev/kvm opened and reported API version 12
  std::string device_error;    // why not, when not
  std::string hw_module;       // "kvm_intel" | "kvm_amd" | ""
  std::string other_module;    // e.g. "kvm_pvm": a KVM provider that is not hardware-assisted
  bool hardware() const { return device_usable && !hw_module.empty(); }
  std::string describe() const;  // one line for doctor and describe()
};

// sys_module/dev are injectable for tests ("/sys/module", "/dev/kvm").
HostKvm detect_host_kvm(const std::string& sys_module = "/sys/module", const std::string& dev = "/dev/kvm");

// The `accel` knob; what QEMU gets is Kvm or Tcg, never Auto.
enum class Accel { Auto, Kvm, Tcg };
inline constexpr Choices<Accel, 3> kAccels{{{"auto", Accel::Auto}, {"kvm", Accel::Kvm}, {"tcg", Accel::Tcg}}};
inline std::string_view to_string(Accel a) { return name_of(kAccels, a); }

struct AccelChoice {
  Accel accel = Accel::Auto;  // Kvm or Tcg once choose_accel has decided; Auto before
  std::string reason;         // why this one
  bool emulated() const { return accel == Accel::Tcg; }
};

// Kvm on a host without hardware KVM is an error that says why.
Result<AccelChoice> choose_accel(Accel knob, const HostKvm& host);

}  // namespace vbench
