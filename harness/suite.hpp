#pragma once
// A suite: which workloads, with which parameters, in which environments, how
// many times. Written in TOML; the built-in suites (suites/*.toml) are
// compiled into the binary. Every error names FILE:LINE:COLUMN.
//
//   [suite]
//   name = "mine"
//   include = "quick"      # a built-in name, or a path relative to this file
//   exclude = ["net.*"]    # drop included workloads (a name or FAMILY.*)
//   repetitions = 5        # measured repetitions per (env, workload, params), at least
//   max_repetitions = 15   # adaptive cap (default: repetitions, i.e. not adaptive)
//   ci_target = 0.02       # stop once the 95% CI half-width of the median is < 2%
//   warmup = 1             # runs discarded before measuring
//   seed = 12345           # shuffling/bootstrap seed (default: random, always recorded)
//   baseline = "bare"      # environment the others are compared with
//   timeout = "10m"        # per sample
//   counters = ["default", "MEM_LOAD_RETIRED.L3_MISS"]  # perf events per sample ("none": off)
//   placement = "spread"   # where the agent and the network peer run, in every env
//                          # (spread | same | none; drivers/placement.hpp)
//
//   [env.bare]
//   [env.container-half]   # the name is the kind, or `kind` says it
//   kind = "container"
//   cpus = 0.5             # knobs: validated later by the driver
//
//   [[workload]]
//   name = "disk.randread"
//   qd = [1, 32]           # an array is a sweep (cartesian product across arrays)
//   file_size = "256MiB"
//
//   [compare]              # how `vbench compare` judges two runs of this suite
//   alpha = 0.05           # family-wise significance (Holm over every metric compared)
//   threshold = "5%"       # smallest change of a median that counts
//   [compare.thresholds]   # per workload, metric or family; the most specific wins
//   "mem.bandwidth" = "3%"          # every metric of a workload
//   "mem.bandwidth.triad" = "2%"    # one metric (also unquoted: mem.bandwidth.triad = "2%")
//   "disk.*" = "10%"                # a family
//   (in [compare]) gate = ["cgroup.memory_peak"]   # diagnostics that gate too
//
// Including: the included suite is the starting point and this file
// overrides it. [compare] alpha, threshold and gate replace the included ones and
// [compare.thresholds] merge key by key. [suite] keys replace the included values; an [env.X] of the
// same name merges its knobs (and kind) into the included one; a [[workload]]
// whose name the included suite already has overrides that entry's parameters
// key by key, others are appended. If the result has max_repetitions below
// repetitions (the includer raised repetitions only), the cap is raised.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/compare.hpp"
#include "core/error.hpp"
#include "core/workload.hpp"
#include "drivers/placement.hpp"
#include "workloads/registry.hpp"

namespace vbench {

using WorkloadTable = std::vector<WorkloadDef>;

// The kinds of environment a driver exists for.
const std::vector<std::string>& env_kinds();  // every driver's name (drivers/registry.cpp)

struct SuiteEnv {
  std::string name;                             // "bare", "container-half"; no dots
  std::string kind;                             // one of env_kinds()
  std::map<std::string, nlohmann::json> knobs;  // as written; checked against the driver's ParamSpecs later
  // Where each knob was set ("suite.toml:4:7", "--env-set kvm.vcpus=0"), so
  // that the later check names it.
  std::map<std::string, std::string> knob_where;
};

struct SuiteWorkload {
  std::string name;                              // "disk.randread"
  std::map<std::string, nlohmann::json> params;  // as written; an array is a sweep
  std::vector<Params> param_sets;                // expanded and normalized, defaults filled in
};

struct Suite {
  std::string name;
  std::string description;
  std::string source;                 // the file's path, or "builtin:NAME"
  std::vector<std::string> includes;  // sources this one included, nearest first
  int repetitions = 3;
  int max_repetitions = 3;
  double ci_target = 0.02;
  int warmup = 1;
  std::optional<uint64_t> seed;  // unset: the scheduler draws one and records it
  std::string baseline = "bare";
  double timeout_s = 600;
  std::vector<std::string> counters = {"default"};  // perf event names; empty = no counting
  Placement placement = Placement::Spread;
  std::vector<SuiteEnv> envs;
  // No [env.*] anywhere (this file or what it includes): `envs` holds only
  // bare, and `vbench run` without --env adds every other environment that
  // measures something real on this host (default_env_kinds in cli.cpp).
  bool envs_by_default = false;
  std::vector<SuiteWorkload> workloads;
  SuiteCompare compare;

  const SuiteEnv* env(const std::string& name) const;
  const SuiteWorkload* workload(const std::string& name) const;
};

std::vector<std::string> builtin_suite_names();

// A built-in suite's name, else a TOML file's path.
Result<Suite> load_suite(const std::string& name_or_path, const WorkloadTable& table = all_workloads());

// Parses suite text. `source` names it in messages ("builtin:NAME" or a path)
// and, for a path, is where relative includes are resolved from.
Result<Suite> parse_suite(std::string_view text, const std::string& source,
                          const WorkloadTable& table = all_workloads());

// --set WORKLOAD.PARAM=VALUE: replaces the parameter (or its sweep) of a
// workload in the suite. Workload names contain a dot; the split is at the
// last one. The value is normalized by the parameter's ParamSpec right away.
Status apply_set(Suite& suite, const std::string& assignment, const WorkloadTable& table = all_workloads());

// --env-set ENV.KNOB=VALUE: sets a knob of an environment of the suite (env
// names have no dots; the split is at the first). The value stays a string:
// the driver's ParamSpecs normalize knobs.
Status apply_env_set(Suite& suite, const std::string& assignment);

// --env NAME: adds an environment named after its kind ("container") unless
// the suite already defines NAME.
Status add_env(Suite& suite, const std::string& name);

// The suite as run, for results.json.
nlohmann::json to_json(const Suite& suite);

}  // namespace vbench
