#pragma once
// CPU cache geometry as the kernel reports it in sysfs
// (<root>/cpuN/cache/indexM/{level,type,size,shared_cpu_list}). The root is a
// parameter so that tests can point it at a tree they build.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace vbench {

constexpr const char* kSysCpuRoot = "/sys/devices/system/cpu";

struct CacheInstance {
  int level = 0;
  std::string type;  // "Data", "Instruction", "Unified"
  uint64_t size_bytes = 0;
  std::string shared_cpu_list;  // "0-1": the CPUs sharing this instance
};

// "32K", "32768K", "1M", "512" (bytes) -> bytes.
Result<uint64_t> parse_sysfs_cache_size(const std::string& text);

// The caches of one CPU (cpuN/cache/index*); empty when sysfs has none.
Result<std::vector<CacheInstance>> read_cpu_caches(int cpu, const std::string& root = kSysCpuRoot);

// Total bytes of last-level cache on the machine: the data or unified caches
// of the highest level any CPU reports, each distinct instance (told apart by
// its shared_cpu_list) counted once. This is STREAM's "available cache
// memory". Empty when sysfs reports no caches (some guests and ARM boards).
std::optional<uint64_t> last_level_cache_total(const std::string& root = kSysCpuRoot);

}  // namespace vbench
