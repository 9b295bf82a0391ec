// What vbench reads from /proc and /sys: /proc/<pid>/stat, mountinfo (which
// cgroup version and controllers), cgroup "key value" files, run-state owner
// records. A process chooses its own command name, and a container or guest
// can shape what its cgroup files say.
#include "core/procfs.hpp"

#include "core/runstate.hpp"
#include "drivers/container/cgroup.hpp"
#include "drivers/container/cgroup_io.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = vbfuzz::text(data, size);
  (void)vbench::parse_proc_stat(text);
  (void)vbench::parse_process_identity(text);
  (void)vbench::parse_flat_keyed(text);
  (void)vbench::parse_u64(text);
  vbfuzz::MemFile mountinfo(text);
  // A root prefix that does not exist: only the mount table is parsed.
  (void)vbench::detect_cgroups(mountinfo.path, "/nonexistent-vbench-fuzz");
  return 0;
}
