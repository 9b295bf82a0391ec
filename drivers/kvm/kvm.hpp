#pragma once
#include "drivers/driver.hpp"

namespace vbench {

// A QEMU guest that vbench boots itself: direct kernel boot of a guest
// kernel (see guest_kernel.hpp) with an initramfs holding the agent as
// /init; virtio-blk on a raw ext4 image in the scratch directory, virtio-net
// on a tap to the host peer, the agent protocol on a virtio-serial port and
// QMP for control and queries. Hardware KVM where the host has it, else
// QEMU's TCG emulator (the environment is then labelled "<name>[tcg]").
class KvmDriver : public Driver {
 public:
  std::string name() const override { return "kvm"; }
  std::string description() const override {
    return "a QEMU/KVM guest vbench boots itself (agent as /init; virtio disk, net and control port)";
  }
  Availability probe() const override;
  std::vector<ParamSpec> knobs() const override;
  Result<std::unique_ptr<Session>> start(const EnvSpec& spec) override;
  Status cleanup_stale() override;
};

}  // namespace vbench
