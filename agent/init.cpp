#include "agent/init.hpp"

#include <fmt/format.h>

namespace vbench {

int run_as_guest_init() {
  fmt::print(stderr, "vbench-agent: guest init is not built yet\n");
  return 1;
}

}  // namespace vbench
