// The unit parsers every suite value and command-line option goes through:
// sizes, durations, numbers, booleans, percents and CPU lists; also the
// small parsers of what the agent reads in a guest: the peer address of a
// run request and sysfs cache sizes.
#include "core/units.hpp"

#include "drivers/cpuset.hpp"
#include "fuzz_support.hpp"
#include "workloads/cache_info.hpp"
#include "workloads/net_peer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = vbfuzz::text(data, size);
  if (auto v = vbench::parse_size(text)) (void)vbench::format_size(*v);
  if (auto v = vbench::parse_duration_s(text)) (void)vbench::format_duration(*v);
  (void)vbench::parse_int(text);
  (void)vbench::parse_double(text);
  (void)vbench::parse_bool(text);
  (void)vbench::parse_percent(text);
  (void)vbench::parse_cpu_list(text);
  if (auto a = vbench::parse_socket_address(text)) (void)a->to_string();
  (void)vbench::parse_sysfs_cache_size(text);
  return 0;
}
