#pragma once
// Runs a plan interleaved: round r runs every (env, workload, parameter set)
// cell once, in an order shuffled per round from the recorded seed, so that
// drift of a noisy machine falls on all environments alike. Warm-up rounds
// come first and are flagged (kept in results.jsonl, left out of statistics).
// After the minimum number of repetitions a cell stops once every metric's
// 95% CI half-width of the median is below the target, or at the cap.
#include <atomic>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drivers/driver.hpp"
#include "harness/progress.hpp"
#include "model/results.hpp"

namespace vbench {

struct PlannedEnv {
  std::string name;  // suite name
  std::string kind;  // driver
  std::map<std::string, nlohmann::json> knobs;
};

struct PlannedWorkload {
  std::string workload;
  nlohmann::json params = nlohmann::json::object();  // as given (normalized by the agent)
};

struct RunConfig {
  std::vector<PlannedEnv> envs;
  std::vector<PlannedWorkload> workloads;
  int repetitions = 3;
  int max_repetitions = 3;
  int warmup = 1;
  double ci_target = 0.02;
  double budget_s = 0;  // --budget: time for warm-ups and measured rounds (0 = none); see execute_run
  double timeout_s = 600;
  double env_start_timeout_s = 180;
  uint64_t seed = 0;
  std::vector<std::string> counters;
  Placement placement = Placement::Spread;  // passed to every environment (EnvSpec::placement)
  std::string run_id;
  std::string out_dir;
  std::string scratch_dir;
  std::string agent_path;
};

// The driver for an environment kind, or nullptr when there is none.
using DriverLookup = std::function<Driver*(const std::string& kind)>;

// Runs everything, appending to `log` as it goes, and returns what it
// recorded. Returns early (meta.interrupted) once `stop` is set: `stop` is
// how the scheduler learns of SIGINT/SIGTERM (the CLI's handler sets it), and
// it is read before each environment start, each sample and each restart.
// A session whose run() fails is stopped and started again (twice at most);
// each restart is recorded in its EnvRecord. `drivers` finds the driver of
// each environment (the registry by default; tests pass fakes).
ResultSet execute_run(const RunConfig& cfg, RunMeta meta, ResultsLog& log, Progress& progress,
                      const std::atomic<bool>& stop, const DriverLookup& drivers = find_driver);

// A run id unique on this host: "vb<yymmddHHMMSS>-<6 hex>".
std::string make_run_id();

}  // namespace vbench
