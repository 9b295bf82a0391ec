#pragma once
// `vbench history changes`: every series of the history store (host
// fingerprint x env x workload x params x metric, in recording order) with
// its change points (analysis/changepoint.hpp).
#include <string>
#include <vector>

#include "analysis/changepoint.hpp"
#include "core/error.hpp"
#include "store/history.hpp"

namespace vbench {

struct ChangeQuery {
  std::string branch;              // empty: every branch
  std::string env;                 // empty: every env
  std::vector<std::string> globs;  // workload globs (fnmatch, as `run --workloads`); empty: all
  bool all_sources = false;        // also counters and env statistics
  size_t since = 0;                // report only changes among each series' newest N runs; 0: all
  ChangePointOptions options;
};

// Every series in the store, one per host fingerprint × env × workload ×
// params × metric, in recording order, with its change points.
Result<std::vector<ChangeSeries>> history_changes(const HistoryStore& store, const ChangeQuery& q);

}  // namespace vbench
