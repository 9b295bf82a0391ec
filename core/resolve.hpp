#pragma once
// The one resolver of named settings against their ParamSpecs: workload
// parameters (resolve_params in core/workload.cpp) and environment knobs
// (every driver, and the CLI before anything starts). A name that is not
// declared is refused with the declared ones listed, each value is checked
// and normalised by its spec (type, choices, range), and every setting not
// given takes its default. Resolving twice changes nothing, so a driver
// receives, and re-checks, exactly what the suite was validated with.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/workload.hpp"

namespace vbench {

using KnobValues = std::map<std::string, nlohmann::json>;
// Says where a setting was written ("suite.toml:12:1: environment `c`"), or "".
using WhereFn = std::function<std::string(const std::string& name)>;

// `owner` and `noun` make the unknown-name error: "{owner} has no {noun}
// `x` (it has: a, b)". Value errors carry where(name) as context.
Result<KnobValues> resolve_specs(const std::string& owner, const char* noun, const std::vector<ParamSpec>& specs,
                                 const KnobValues& given, const WhereFn& where = {});

// An environment kind's knobs ("container has no knob `x` ...").
inline Result<KnobValues> resolve_knobs(const std::string& kind, const std::vector<ParamSpec>& specs,
                                        const KnobValues& given, const WhereFn& where = {}) {
  return resolve_specs(kind, "knob", specs, given, where);
}

}  // namespace vbench
