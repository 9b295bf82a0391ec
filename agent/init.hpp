#pragma once
// The agent's duties as an init process: as /init of a guest (mount /proc,
// /sys, /dev; load modules; bring up the network; serve the control port) and
// as PID 1 of a container (reap orphans).
namespace vbench {

// What the host side (drivers/kvm) and the guest init agree on.
// Modules in the initramfs, and the file listing them in load order.
inline constexpr const char* kGuestModulesDir = "/lib/modules/vbench";
inline constexpr const char* kGuestModulesOrder = "/lib/modules/vbench/order";
// The virtio-serial port the agent protocol runs over.
inline constexpr const char* kGuestControlPort = "org.vbench.ctl";
// The virtio-blk disk (an ext4 image made on the host) and where it is mounted.
inline constexpr const char* kGuestDisk = "/dev/vda";
inline constexpr const char* kGuestScratch = "/scratch";
// Kernel command line: vbench.ip=ADDR/PREFIX is the address of eth0.
inline constexpr const char* kGuestIpParam = "vbench.ip=";

// Runs as the guest's /init. Never returns on success (powers off).
int run_as_guest_init();

// As PID 1 of a container: reaps orphaned processes that are not the agent's
// own workload children.
void start_reaper();

}  // namespace vbench
