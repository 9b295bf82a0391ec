#pragma once
// A/B in one run: judge one environment of a run against another of the same
// run (the head build's agent against the base build's, each an environment
// of one interleaved run), with the run-vs-run machinery of compare.hpp.
// A baseline from another day carries another day's noise; two environments
// of one interleaved run share every round's (Chromium's Pinpoint and
// Firecracker's A/B tests do the same).
#include <string>
#include <utility>

#include "core/error.hpp"
#include "model/results.hpp"

namespace vbench {

// Two runs made from one: the samples of env `base_env` and those of
// `head_env`, both renamed "HEAD-vs-BASE" so that compare_runs pairs them
// metric by metric. Their knobs are expected to differ (that is the point):
// they are left out of the suite check and listed by env_pair_note().
// An error when either env is missing from the run or they are the same.
Result<std::pair<ResultSet, ResultSet>> split_env_pair(const ResultSet& rs, const std::string& base_env,
                                                       const std::string& head_env);

// "one run, env head (knobs ...) against env base (knobs ...)".
std::string env_pair_note(const ResultSet& rs, const std::string& base_env, const std::string& head_env);

}  // namespace vbench
