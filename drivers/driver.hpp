#pragma once
// The driver contract: one driver per kind of environment. A driver knows how
// to create and destroy its environment and nothing about workloads.
//
//   probe()          -> available or not, and why (shown by list/doctor)
//   start(EnvSpec)   -> a Session: the environment is up and its agent ready
//   Session::run()   -> one Sample (a failed sample is data, not an error)
//   Session::stop()  -> the environment and everything it made are gone
//   cleanup_stale()  -> removes what dead runs of vbench left behind
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sample.hpp"
#include "core/workload.hpp"
#include "drivers/placement.hpp"

namespace vbench {

struct Availability {
  bool available = false;
  std::string reason;  // why not, or a note on how (e.g. "TCG emulation: no hardware KVM")
  // Available, but what it would measure is an emulator's, not the isolation
  // layer's (kvm without hardware KVM runs under TCG): never chosen by
  // default, only when named.
  bool emulated = false;
};

// A knob every kind of environment takes besides its driver's own: the
// vbench-agent binary that environment runs (default: vbench's --agent).
// Handled before the driver (cli/cli.cpp validates it, the scheduler
// puts it in EnvSpec.agent_path), so drivers never see it among their knobs.
inline constexpr const char* kAgentKnob = "agent";

struct EnvSpec {
  std::string name;                             // as in the suite: "bare", "container", "kvm", or a user name
  std::string kind;                             // driver name: "bare", "container", "kvm", "oci", "docker", "podman"
  std::map<std::string, nlohmann::json> knobs;  // validated against Driver::knobs()
  std::string run_id;                           // e.g. "vb-20261121T212723Z-4f2a": goes into every resource name
  std::string agent_path;                       // the static vbench-agent on the host (knob `agent`, else --agent)
  std::string scratch_dir;                      // host directory for disk workloads
  std::string out_dir;                          // where artifacts (console logs) go
  double start_timeout_s = 120;
  Placement placement = Placement::Spread;  // where agent and peer run (drivers/placement.hpp)
};

struct WorkloadRequest {
  std::string workload;
  nlohmann::json params = nlohmann::json::object();
  std::vector<std::string> counters;
  bool needs_peer = false;
  double timeout_s = 600;
};

class Session {
 public:
  virtual ~Session() = default;
  // Name used in every output: "bare", "container", "kvm[tcg]".
  virtual std::string label() const = 0;
  virtual Result<Sample> run(const WorkloadRequest& req) = 0;
  virtual Status stop() = 0;
  // Lifecycle metrics measured while starting (e.g. boot_s), reported once.
  virtual std::vector<Metric> lifecycle() const { return {}; }
  // Facts about the environment for reports (accel, cgroup version, ...).
  virtual nlohmann::json describe() const { return nlohmann::json::object(); }
  // Warnings every report must carry (e.g. emulated guest).
  virtual std::vector<std::string> warnings() const { return {}; }
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  virtual Availability probe() const = 0;
  // Whether `vbench run` without --env compares this environment with bare
  // metal when it is available: vbench's own isolation layers do; third-party
  // runtimes (oci, docker) run when named.
  virtual bool compared_by_default() const { return true; }
  // The environment's knobs (cpus, memory, ...) with types, defaults and help.
  virtual std::vector<ParamSpec> knobs() const { return {}; }
  virtual Result<std::unique_ptr<Session>> start(const EnvSpec& spec) = 0;
  // Removes resources of dead runs (never those of a live vbench).
  virtual Status cleanup_stale() { return {}; }
};

// Every driver, by name.
const std::vector<std::unique_ptr<Driver>>& all_drivers();
Driver* find_driver(const std::string& name);

}  // namespace vbench
