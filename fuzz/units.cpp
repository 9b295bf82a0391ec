// The unit parsers every suite value and command-line option goes through:
// sizes, durations, numbers, booleans, percents and CPU lists.
#include "core/units.hpp"

#include "drivers/cpuset.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = vbfuzz::text(data, size);
  if (auto v = vbench::parse_size(text)) (void)vbench::format_size(*v);
  if (auto v = vbench::parse_duration_s(text)) (void)vbench::format_duration(*v);
  (void)vbench::parse_int(text);
  (void)vbench::parse_double(text);
  (void)vbench::parse_bool(text);
  (void)vbench::parse_percent(text);
  (void)vbench::parse_cpu_list(text);
  return 0;
}
