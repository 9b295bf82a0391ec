#pragma once
// Counter event names: what a suite may ask for, and how each becomes a
// perf_event_attr. Names are perf's own spelling (`page-faults`, `cycles`,
// `dTLB-load-misses`) or any PMU event of this CPU that libpfm4 knows
// (`MEM_LOAD_RETIRED.L3_MISS`, `ls_dispatch.ld_dispatch`); results keep the
// name exactly as it was asked for, so it matches `perf stat -e NAME`.
#include <linux/perf_event.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "counters/counters.hpp"  // default_counter_names, expand_counter_names

namespace vbench {

struct EventSpec {
  std::string name;        // as asked for: the name results carry
  perf_event_attr attr{};  // type, config and exclude_* bits; open-time fields are set by the opener
  std::string encoding;    // how it was understood: libpfm4's canonical string, or ours
  bool software() const { return attr.type == PERF_TYPE_SOFTWARE; }
};

// Resolves one name through libpfm4 (with perf's modifier suffixes `:u`,
// `:k`, `:h`, `:G`, `:H` and a few perf software events libpfm4 lacks
// handled here). An unknown name or a bad attribute is an error naming it.
Result<EventSpec> resolve_event(const std::string& name);
// Expands and resolves a list; the first bad name is the error.
Result<std::vector<EventSpec>> resolve_events(const std::vector<std::string>& names);

}  // namespace vbench
