#pragma once
// The result model: one Sample per (environment, workload, parameter set,
// repetition). Everything that comes back from an agent is parsed into these
// types by from_json, which treats its input as untrusted: types are checked,
// sizes bounded, unknown fields ignored.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/histogram.hpp"

namespace vbench {

enum class Better { Higher, Lower };
const char* to_string(Better b);  // "higher" | "lower"
Result<Better> better_from_string(const std::string& s);

struct Metric {
  std::string name;  // public: e.g. "triad", "iops", "lat_p99"
  double value = 0;
  std::string unit;  // "MB/s", "ns", "ops/s", ...
  Better better = Better::Higher;
};

// One perf counter reading of the measured region. "unsupported" is kept
// distinct from zero: value is empty and status says why.
struct CounterReading {
  std::string name;             // perf's spelling: "page-faults", "instructions"
  std::optional<double> value;  // scaled for multiplexing
  double running_fraction = 1;  // time_running / time_enabled (1 = never multiplexed)
  std::string status = "ok";    // "ok" | "unsupported" | "not-counted" | "error"
  std::string reason;           // why, when status != ok
  std::string scope = "agent";  // "agent" (inside the env) | "host-cgroup" | "host-vcpu" ...
};

struct Sample {
  // Identity, set by the harness.
  std::string env;                                   // "bare", "container", "kvm[tcg]"
  std::string workload;                              // "mem.bandwidth"
  nlohmann::json params = nlohmann::json::object();  // normalized parameter values
  int round = -1;
  bool warmup = false;
  std::string started_at;  // UTC ISO-8601

  // Outcome.
  bool ok = true;
  std::string error;  // set when !ok
  std::vector<Metric> metrics;
  std::map<std::string, Histogram> histograms;  // e.g. "latency" (values in ns)
  std::vector<CounterReading> counters;
  std::vector<Metric> env_metrics;  // cgroup / QEMU / lifecycle statistics
  double wall_s = 0;                // wall time of the whole request

  const Metric* metric(const std::string& name) const;
};

// Serializes JSON, replacing invalid UTF-8 (which an agent or a guest may
// send) instead of throwing.
std::string dump_json(const nlohmann::json& j, int indent = -1);

// Canonical one-line rendering of parameters: "qd=32,size=1GiB" (sorted keys).
std::string params_key(const nlohmann::json& params);

nlohmann::json to_json(const Metric& m);
nlohmann::json to_json(const CounterReading& c);
nlohmann::json to_json(const Sample& s);
Result<Metric> metric_from_json(const nlohmann::json& j);
Result<CounterReading> counter_from_json(const nlohmann::json& j);
Result<Sample> sample_from_json(const nlohmann::json& j);

}  // namespace vbench
