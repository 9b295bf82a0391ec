#include "counters/counters.hpp"

namespace vbench {

Result<std::unique_ptr<RegionCounters>> RegionCounters::create(const std::vector<std::string>&) {
  return std::make_unique<RegionCounters>();
}

}  // namespace vbench
