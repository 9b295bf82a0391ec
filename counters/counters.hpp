#pragma once
// perf_event counters around a workload's measured region.
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sample.hpp"
#include "core/workload.hpp"

namespace vbench {

class RegionCounters : public RegionObserver {
 public:
  // names: perf-spelled event names; empty = no counting.
  static Result<std::unique_ptr<RegionCounters>> create(const std::vector<std::string>& names);
  void thread_begin() override {}
  void thread_end() override {}
  std::vector<CounterReading> readings() const { return {}; }
};

}  // namespace vbench
