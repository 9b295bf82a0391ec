#pragma once
// The guest kernel and the modules its virtio devices need.
//
// Where the kernel comes from, in order:
//   1. the environment's `kernel` knob (with `kernel_modules` for its modules
//      when they are not under /lib/modules/<version> or next to the image);
//   2. the host's own /boot/vmlinuz-$(uname -r), if readable and its drivers
//      resolve;
//   3. the Debian cloud kernel ci/bootstrap extracts under
//      kGuestKernelCacheDir (boot/vmlinuz-<version>, lib/modules/<version>/).
//
// Debian ships no modules.dep in the package (depmod writes it at install
// time), so dependencies are read from each module's own ELF `.modinfo`
// section ("depends=a,b"). Compressed modules (.ko.xz/.ko.zst/.ko.gz) are
// decompressed on the host with the xz/zstd/gzip tools: finit_module of a
// plain .ko works on every kernel, whereas MODULE_INIT_COMPRESSED_FILE needs
// a kernel built with the matching in-kernel decompressor.
#include <map>
#include <string>
#include <vector>

#include "core/choice.hpp"
#include "core/error.hpp"

namespace vbench {

inline constexpr const char* kGuestKernelCacheDir = "/var/cache/vbench/guest-kernel";

struct GuestModule {
  std::string name;  // "virtio_pci"
  std::string path;  // the file it came from
  std::string data;  // the plain ELF object, decompressed
};

struct GuestKernel {
  std::string image;                 // bzImage path
  std::string version;               // "6.1.0-56-cloud-amd64", from the image header
  std::string origin;                // "suite knob `kernel`" | "host /boot" | "ci/bootstrap"
  std::string modules_dir;           // "" when the kernel has no module tree here
  std::vector<std::string> builtin;  // needed drivers that are built into the image
  std::vector<GuestModule> modules;  // to load, dependencies first
  std::string note;                  // e.g. why the host kernel was not used
};

// The `machine` knob: QEMU's machine type. microvm has no PCI bus (virtio-mmio).
enum class Machine { Q35, Microvm };
inline constexpr Choices<Machine, 2> kMachines{{{"q35", Machine::Q35}, {"microvm", Machine::Microvm}}};

// Drivers the guest needs: the virtio transport of the machine type, disk,
// network and the control port.
std::vector<std::string> guest_drivers(Machine machine);

// Finds the kernel (see above) and resolves `drivers` with their dependencies.
// kernel/modules_dir: the knobs ("" = not set).
Result<GuestKernel> find_guest_kernel(const std::string& kernel, const std::string& modules_dir,
                                      const std::vector<std::string>& drivers);

// The version string in a bzImage's setup header ("6.1.0-56-cloud-amd64").
Result<std::string> bzimage_version(const std::string& path);

// The key=value fields of an ELF kernel module's `.modinfo` section. A key
// can repeat (alias=), so values are kept in order.
Result<std::multimap<std::string, std::string>> read_modinfo(const std::string& elf);

// "virtio-rng.ko.xz" -> "virtio_rng": the name modules are known by.
std::string module_name_of_file(const std::string& filename);

}  // namespace vbench
