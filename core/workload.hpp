#pragma once
// The workload contract. A workload is a named unit (`family.name`) with typed
// parameters and a run function. Its measured loop is a plain function over
// memory the caller prepared; around it, in every thread that does measured
// work, the workload calls ctx.region_begin() / ctx.region_end() so that
// counters (and nothing else) see exactly the measured region.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/histogram.hpp"
#include "core/sample.hpp"

namespace vbench {

enum class ParamType { Int, Size, Duration, Double, Bool, String };
const char* to_string(ParamType t);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Int;
  std::string default_value;  // as a user would write it; "auto" where allowed
  std::string help;
  bool allow_auto = false;           // "auto" lets the workload choose (e.g. threads = online CPUs)
  std::vector<std::string> choices;  // for String: allowed values, empty = any
  // For Int, Size, Duration (seconds) and Double: the closed range a value
  // must lie in, checked by normalize_param before anything runs and shown
  // by `vbench list`. Durations default to [0, 1 day]: a longer one is a typo
  // or an overflow waiting to happen, never a benchmark.
  double min = -kUnbounded;
  double max = kUnbounded;

  static constexpr double kUnbounded = 1e300;
  static constexpr double kMaxDurationS = 86400;
  // Sets the range: {"threads", ParamType::Int, ...}.range(1, 4096).
  ParamSpec range(double lo, double hi) && {
    min = lo;
    max = hi;
    return std::move(*this);
  }
  bool has_range() const { return min > -kUnbounded || max < kUnbounded; }
  // "1..4096", ">= 1", "<= 60s"; empty when unbounded.
  std::string range_text() const;
};

// Normalized parameters: JSON object holding every parameter of the workload.
// Int -> integer, Size -> integer bytes, Duration -> double seconds,
// Double -> double, Bool -> bool, String -> string, "auto" -> "auto".
class Params {
 public:
  Params() = default;
  explicit Params(nlohmann::json j) : j_(std::move(j)) {}
  int64_t get_int(const std::string& k) const { return j_.at(k).get<int64_t>(); }
  uint64_t get_size(const std::string& k) const { return j_.at(k).get<uint64_t>(); }
  double get_seconds(const std::string& k) const { return j_.at(k).get<double>(); }
  double get_double(const std::string& k) const { return j_.at(k).get<double>(); }
  bool get_bool(const std::string& k) const { return j_.at(k).get<bool>(); }
  std::string get_string(const std::string& k) const { return j_.at(k).get<std::string>(); }
  bool is_auto(const std::string& k) const { return j_.at(k).is_string() && j_.at(k) == "auto"; }
  const nlohmann::json& json() const { return j_; }

 private:
  nlohmann::json j_ = nlohmann::json::object();
};

// Where counters hook into the measured region; the null object does nothing.
class RegionObserver {
 public:
  virtual ~RegionObserver() = default;
  virtual void thread_begin() {}
  virtual void thread_end() {}
};

struct WorkloadContext {
  Params params;
  std::string scratch_dir;  // where disk workloads put files; empty = none
  std::string peer;         // "host:port" of the network peer; empty = none
  int online_cpus = 1;      // as seen inside the environment
  RegionObserver* region = nullptr;
  const std::atomic<bool>* stop = nullptr;  // set when the run is interrupted

  void region_begin() const {
    if (region) region->thread_begin();
  }
  void region_end() const {
    if (region) region->thread_end();
  }
  bool stopping() const { return stop && stop->load(std::memory_order_relaxed); }
};

struct WorkloadOutput {
  std::vector<Metric> metrics;
  std::map<std::string, Histogram> histograms;

  void add(std::string name, double value, std::string unit, Better better) {
    metrics.push_back(Metric{std::move(name), value, std::move(unit), better});
  }
  // Adds the histogram and its standard latency metrics (p50, p90, p99,
  // p99.9, max) in the histogram's unit divided by `scale` (e.g. 1000 for us).
  void add_latency(const std::string& prefix, Histogram h, const std::string& unit = "us", double scale = 1000.0);
};

using WorkloadFn = std::function<Result<WorkloadOutput>(WorkloadContext&)>;

struct WorkloadDef {
  std::string name;  // "family.name"
  std::string description;
  std::vector<ParamSpec> params;
  WorkloadFn run;
  bool needs_scratch = false;
  bool needs_peer = false;

  std::string family() const { return name.substr(0, name.find('.')); }
  const ParamSpec* param(const std::string& n) const;
};

// Turns user-given values (strings from the CLI, or TOML values already as
// JSON) into normalized Params, filling defaults. Unknown names, bad units
// and wrong types are errors naming the parameter.
Result<Params> resolve_params(const WorkloadDef& def, const std::map<std::string, nlohmann::json>& given);
Result<nlohmann::json> normalize_param(const ParamSpec& spec, const nlohmann::json& value);

}  // namespace vbench
