#pragma once
// The guest's initramfs: the static agent as /init, the modules the virtio
// devices need (and a list of them in load order), the mount points and
// /dev/console. Cached by the SHA-256 of its inputs, so a second boot with
// the same agent and modules reuses the file.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "drivers/kvm/guest_kernel.hpp"

namespace vbench {

inline constexpr const char* kInitramfsCacheDir = "/var/cache/vbench/initramfs";
// Older entries beyond this many are removed when a new one is written.
inline constexpr size_t kInitramfsCacheKeep = 8;

struct Initramfs {
  std::string path;     // <cache_dir>/<hash>.cpio
  std::string hash;     // SHA-256 of the inputs (hex)
  bool reused = false;  // found in the cache
  size_t bytes = 0;
};

// The archive itself (uncompressed newc: the guest unpacks it without a
// decompressor, which under TCG would cost seconds).
std::string build_initramfs(const std::string& agent, const std::vector<GuestModule>& modules);

Result<Initramfs> ensure_initramfs(const std::string& agent_path, const std::vector<GuestModule>& modules,
                                   const std::string& cache_dir = kInitramfsCacheDir);

}  // namespace vbench
