#include "drivers/oci/oci.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/resolve.hpp"
#include "core/runstate.hpp"
#include "core/units.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/container/cgroup.hpp"
#include "drivers/container/network.hpp"
#include "drivers/container/rootfs.hpp"
#include "drivers/container/state.hpp"
#include "drivers/cpu_accounting.hpp"
#include "drivers/oci/bundle.hpp"
#include "drivers/oci/runtime.hpp"
#include "workloads/net_peer.hpp"

namespace vbench {
namespace {

constexpr uint64_t kMinMemory = 16ull << 20;  // below this the agent itself cannot run

struct OciConfig {
  std::string runtime = "runc";
  CgroupLimits limits;
  NetworkMode network = NetworkMode::Veth;
};

Result<OciConfig> resolve_config(const std::vector<ParamSpec>& specs, const EnvSpec& env) {
  auto knobs = resolve_knobs("oci", specs, env.knobs);
  if (!knobs) return knobs.error();
  auto& j = *knobs;
  OciConfig c;
  c.runtime = j["runtime"].get<std::string>();
  if (c.runtime.empty()) return make_error("runtime must name a runtime binary (runc, crun, runsc, ...) or a path");
  c.limits.cpus = j["cpus"].get<double>();
  if (c.limits.cpus < 0) return make_error("cpus must be >= 0 (0 = no limit), not {}", c.limits.cpus);
  c.limits.cpuset = j["cpuset"].get<std::string>();
  c.limits.memory = j["memory"].get<uint64_t>();
  if (c.limits.memory > 0 && c.limits.memory < kMinMemory)
    return make_error("memory = {} is below what the agent itself needs ({})", format_size(c.limits.memory),
                      format_size(kMinMemory));
  c.limits.pids = j["pids"].get<int64_t>();
  if (c.limits.pids < 0) return make_error("pids must be >= 0 (0 = no limit)");
  if (auto s = choose_into(c.network, kNetworkModes, "network", j["network"]); !s) return s.error();
  return c;
}

// Every cgroup mount point of the host (v1 hierarchies, named ones and the
// v2 mount): the runtime creates the container's cgroup in each it uses.
std::vector<std::string> cgroup_mounts() {
  std::vector<std::string> out;
  auto text = read_file("/proc/self/mountinfo");
  if (!text) return out;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) nl = text->size();
    const std::string line = text->substr(pos, nl - pos);
    pos = nl + 1;
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    const std::string fstype = line.substr(dash + 3, line.find(' ', dash + 3) - dash - 3);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    // Field 5 is the mount point.
    size_t f = 0;
    for (int i = 0; i < 4 && f != std::string::npos; ++i) f = line.find(' ', f + 1);
    if (f == std::string::npos) continue;
    out.push_back(line.substr(f + 1, line.find(' ', f + 1) - f - 1));
  }
  return out;
}

std::vector<std::string> planned_cgroup_dirs(const std::string& instance) {
  std::vector<std::string> out;
  for (const auto& m : cgroup_mounts()) out.push_back(m + "/" + kCgroupParent + "/" + instance);
  return out;
}

bool host_has_memsw() {
  for (const auto& m : cgroup_mounts())
    if (path_exists(m + "/memory.memsw.limit_in_bytes")) return true;
  return false;
}

// `delete --force` kills what is left and removes the runtime's state and
// cgroup; a container the runtime does not know is not an error.
Status force_delete(const OciRuntime& rt, const std::string& id, const std::string& log) {
  auto s = rt.exec({"delete", "--force", id}, -1, log, 30);
  if (!s && s.error().message.find("does not exist") == std::string::npos &&
      s.error().message.find("not exist") == std::string::npos)
    return s;
  return {};
}

class OciSession : public Session {
 public:
  OciSession(EnvSpec spec, OciConfig cfg, OciRuntime rt)
      : spec_(std::move(spec)), cfg_(std::move(cfg)), rt_(std::move(rt)) {}
  ~OciSession() override { (void)stop(); }

  std::string label() const override { return spec_.name.empty() ? "oci" : spec_.name; }
  std::vector<Metric> lifecycle() const override { return lifecycle_; }

  Status start() {
    const std::string run_id =
        spec_.run_id.empty() ? fmt::format("vb-{}-{:x}", utc_compact_timestamp(), ::getpid()) : spec_.run_id;
    rec_.run_id = run_id;
    rec_.env = spec_.name.empty() ? "oci" : spec_.name;
    rec_.instance = sanitize_name(run_id + "-" + rec_.env);
    rec_.cgroup_dirs = planned_cgroup_dirs(rec_.instance);
    rec_.host_links = planned_host_links(rec_.instance, cfg_.network);
    // The container record (links, cgroups) first: the `container` kind's
    // cleanup spares them while this process lives, and this kind's cleanup
    // removes them after the runtime's container.
    if (path_exists(EnvState::dir_for(run_id, "oci", rec_.env) + "/" + kContainerRecord))
      return make_error("instance `{}` exists already (a stale run? try `vbench cleanup`)", rec_.instance);
    auto state = EnvState::create(run_id, "oci", rec_.env);
    if (!state) return state.error();
    state_ = std::move(*state);
    for (const auto& [k, v] : std::map<std::string, std::string>{{"runtime", rt_.path}, {"id", rec_.instance}})
      if (auto s = state_.record(k, v); !s) return s;
    if (auto s = write_record(state_, rec_); !s) return s;
    recorded_ = true;

    log_path_ = spec_.out_dir.empty() ? state_.path("agent.log")
                                      : fmt::format("{}/{}-agent.log", spec_.out_dir, sanitize_name(rec_.env));

    // The network namespace, wired from the host side before the runtime
    // sees it; the runtime joins it by path.
    auto ns = new_network_namespace();
    if (!ns) return ns.error();
    netns_ = std::move(*ns);
    auto net = setup_network(cfg_.network, rec_.instance, netns_.get());
    if (!net) return net.error();
    net_ = std::move(*net);

    BundlePlan plan;
    plan.dir = state_.path("bundle");
    plan.agent_binary = spec_.agent_path;
    plan.scratch = spec_.scratch_dir;
    plan.args = {kAgentInContainer, "agent", "--container-init"};
    plan.hostname = rec_.instance.substr(0, 63);
    plan.netns_path = fmt::format("/proc/{}/fd/{}", ::getpid(), netns_.get());
    plan.cgroups_path = fmt::format("/{}/{}", kCgroupParent, rec_.instance);
    plan.limits = cfg_.limits;
    plan.memory_swap = host_has_memsw();
    if (auto s = write_bundle(plan); !s) return s;
    bundle_dir_ = plan.dir;
    // The configuration the runtime got, kept with the results (provenance,
    // and bench/oci_start.sh times `runc run` of the same bundle from it).
    if (!spec_.out_dir.empty())
      if (auto s = write_file(fmt::format("{}/{}-oci-config.json", spec_.out_dir, sanitize_name(rec_.env)),
                              oci_config(plan).dump(2) + "\n");
          !s)
        return s.error().context("save config.json");

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return sys_error("socketpair");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    const uint64_t t0 = now_ns();
    created_ = true;  // from here on, the runtime may hold state for the id
    if (auto s = rt_.exec({"create", "--bundle", plan.dir, "--pid-file", state_.path("pid"), rec_.instance},
                          theirs.get(), log_path_, spec_.start_timeout_s);
        !s)
      return s.error();
    const uint64_t t1 = now_ns();
    theirs.reset();
    ch_ = AgentChannel(std::move(ours));
    if (auto s = rt_.exec({"start", rec_.instance}, -1, log_path_, spec_.start_timeout_s); !s) return s.error();
    auto hello = ch_.hello(spec_.start_timeout_s);
    if (!hello) return hello.error().context("agent start");
    agent_ = *hello;
    const uint64_t t2 = now_ns();
    lifecycle_.push_back(Metric{"create_s", static_cast<double>(t1 - t0) / 1e9, "s", Better::Lower});
    lifecycle_.push_back(Metric{"start_s", static_cast<double>(t2 - t1) / 1e9, "s", Better::Lower});
    return {};
  }

  Result<Sample> run(const WorkloadRequest& req) override {
    if (stopped_) return make_error("{}: the container has been stopped", label());
    std::string peer;
    if (req.needs_peer) {
      if (cfg_.network == NetworkMode::None) {
        Sample s;
        s.workload = req.workload;
        s.params = req.params;
        s.ok = false;
        s.error = "network = none: the container has no link to a peer";
        return s;
      }
      if (peer_.pid() < 0) {
        auto addr = peer_.start(spec_.agent_path, net_.peer_addr.str() + ":0");
        if (!addr) return addr.error().context(label());
        peer_addr_ = *addr;
      }
      peer = peer_addr_;
    }
    // The runtime's cgroup (cgroupsPath /vbench/<instance> in every
    // hierarchy); nothing is pinned, so softirq is the whole host's.
    const auto cpu0 = cpu_snapshot(cgroup_dir_cpu_times(rec_.cgroup_dirs), {});
    const uint64_t t0 = now_ns();
    auto s = ch_.run(req, spec_.scratch_dir.empty() ? "" : kScratchInContainer, peer);
    const double window_s = static_cast<double>(now_ns() - t0) / 1e9;
    if (!s) return s.error().context(label());
    add_cpu_attribution(*s, cpu0, cpu_snapshot(cgroup_dir_cpu_times(rec_.cgroup_dirs), {}), window_s);
    return s;
  }

  Status stop() override {
    if (stopped_) return {};
    stopped_ = true;
    peer_.stop();
    Status first;
    auto keep = [&](Status s) {
      if (!s && first) first = s;
    };
    const uint64_t t0 = now_ns();
    if (created_) {
      // Ask the agent to exit first (a clean end of PID 1); then the
      // runtime's own kill + delete, timed as the teardown.
      (void)ch_.shutdown(3);
      (void)rt_.exec({"kill", rec_.instance, "KILL"}, -1, log_path_, 30);
      keep(force_delete(rt_, rec_.instance, log_path_));
      lifecycle_.push_back(Metric{"teardown_s", static_cast<double>(now_ns() - t0) / 1e9, "s", Better::Lower});
    }
    keep(teardown_network(net_));
    netns_.reset();
    if (recorded_) {
      keep(delete_host_links(rec_.host_links));
      keep(remove_cgroup_dirs(rec_.cgroup_dirs));
    }
    // A record whose resources could not all be removed stays, so that
    // `vbench cleanup` retries once this process is gone.
    if (first) (void)remove_record(state_, recorded_ ? rec_.instance : "");
    if (!first) return first.error().context(fmt::format("{}: teardown", label()));
    return {};
  }

  nlohmann::json describe() const override {
    nlohmann::json limits = nlohmann::json::object();
    const auto& l = cfg_.limits;
    if (l.cpus > 0) limits["cpus"] = l.cpus;
    if (!l.cpuset.empty()) limits["cpuset"] = l.cpuset;
    if (l.memory > 0) limits["memory"] = l.memory;
    if (l.pids > 0) limits["pids"] = l.pids;
    nlohmann::json j = {
        {"instance", rec_.instance},
        {"runtime", {{"name", rt_.name}, {"path", rt_.path}, {"version", rt_.version}}},
        {"cgroups_path", fmt::format("/{}/{}", kCgroupParent, rec_.instance)},
        {"limits", limits},
        {"network", net_.describe()},
        {"capabilities", "docker-default"},
        {"no_new_privileges", true},
        {"seccomp", "none (no profile in config.json)"},
        {"rootfs", "read-only bundle rootfs; agent bind-mounted read-only"},
        {"scratch", spec_.scratch_dir.empty() ? "none" : "bind"},
        {"namespaces", {"pid", "ipc", "uts", "mount", "cgroup", "network (prepared by vbench)"}},
        {"cpu_accounting", describe_cpu_accounting("the runtime's cgroup /vbench/<instance>: cpuacct.usage and "
                                                   "cpuacct.stat (v1) or cpu.stat (v2)",
                                                   Placement::None, host_cpu_count())}};
    if (!agent_.is_null()) j["agent"] = agent_;
    return j;
  }

 private:
  EnvSpec spec_;
  OciConfig cfg_;
  OciRuntime rt_;
  ContainerRecord rec_;
  bool recorded_ = false;
  bool created_ = false;
  bool stopped_ = false;
  EnvState state_;
  std::string bundle_dir_, log_path_;
  UniqueFd netns_;
  ContainerNetwork net_;
  AgentChannel ch_;
  nlohmann::json agent_;
  PeerProcess peer_;
  std::string peer_addr_;
  std::vector<Metric> lifecycle_;
};

// One real container of the runtime (the agent's `noop`): the runtime's own
// words when it refuses this host. Leaves nothing behind.
Status trial_run(const OciRuntime& rt, const std::string& agent) {
  const std::string id = fmt::format("vbench-probe-{}", ::getpid());
  const std::string dir = fmt::format("{}/{}", kRunStateRoot, id);
  (void)remove_tree(dir);
  BundlePlan plan;
  plan.dir = dir + "/bundle";
  plan.agent_binary = agent;
  plan.args = {kAgentInContainer, "noop"};
  plan.hostname = id;
  plan.cgroups_path = fmt::format("/{}/{}", kCgroupParent, id);
  Status s = write_bundle(plan);
  if (s) s = rt.exec({"run", "--bundle", plan.dir, id}, -1, dir + "/log", 30);
  (void)force_delete(rt, id, dir + "/log");
  (void)remove_cgroup_dirs(planned_cgroup_dirs(id));
  (void)remove_tree(dir);
  return s;
}

}  // namespace

Availability OciDriver::probe() const {
  static std::once_flag once;
  static Availability result;
  std::call_once(once, [] {
    if (::geteuid() != 0) {
      result = {false, "needs root: it prepares network namespaces and links, and runs the runtime as root"};
      return;
    }
    auto rt = OciRuntime::find("runc");
    if (!rt) {
      result = {false, rt.error().message};
      return;
    }
    const std::string agent = agent_next_to_self();
    std::string others;
    for (const char* name : {"crun", "runsc", "youki", "kata-runtime"}) {
      auto o = OciRuntime::find(name);
      if (!o) continue;
      std::string verdict = "works here";
      if (!agent.empty() && path_exists(agent))
        if (auto s = trial_run(*o, agent); !s) verdict = "refuses this host: " + s.error().message;
      others += fmt::format("; runtime {} ({}): {}", name, o->version, verdict);
    }
    if (agent.empty() || !path_exists(agent)) {
      result = {true,
                fmt::format("runtime runc ({}); not tried: no vbench-agent next to vbench{}", rt->version, others)};
      return;
    }
    if (auto s = trial_run(*rt, agent); !s) {
      result = {false, fmt::format("runc ({}) refuses this host: {}{}", rt->version, s.error().message, others)};
      return;
    }
    result = {true, fmt::format("runtime runc ({}) works here{}", rt->version, others)};
  });
  return result;
}

std::vector<ParamSpec> OciDriver::knobs() const {
  return {
      {"runtime",
       ParamType::String,
       "runc",
       "OCI runtime binary: runc, crun, runsc, kata-runtime, youki, or a path",
       false,
       {}},
      {"cpus", ParamType::Double, "0", "CPU bandwidth limit in CPUs (cgroup quota/period); 0 = none", false, {}},
      {"cpuset", ParamType::String, "", "CPUs the container may run on, e.g. \"1\" (empty: all)", false, {}},
      {"memory", ParamType::Size, "0", "memory limit, swap off where the host can (e.g. 512MiB); 0 = none", false, {}},
      {"pids", ParamType::Int, "0", "maximum number of tasks; 0 = none", false, {}},
      {"network", ParamType::String, "veth",
       "link to the host peer, made by vbench as for `container`: none, veth, bridge, or nat", false,
       choice_names(kNetworkModes)},
  };
}

Result<std::unique_ptr<Session>> OciDriver::start(const EnvSpec& spec) {
  if (::geteuid() != 0) return make_error("oci: needs root");
  auto cfg = resolve_config(knobs(), spec);
  if (!cfg) return cfg.error().context("oci");
  auto rt = OciRuntime::find(cfg->runtime);
  if (!rt) return rt.error().context("oci: unavailable");
  if (spec.agent_path.empty() || !path_exists(spec.agent_path))
    return make_error("oci: agent binary `{}` not found", spec.agent_path);
  auto session = std::make_unique<OciSession>(spec, std::move(*cfg), std::move(*rt));
  if (auto s = session->start(); !s) {
    (void)session->stop();  // nothing half-built stays behind
    return s.error().context(fmt::format("oci `{}`", session->label()));
  }
  return std::unique_ptr<Session>(std::move(session));
}

Status OciDriver::cleanup_stale() {
  namespace fs = std::filesystem;
  std::vector<std::string> problems;
  std::error_code ec;
  for (fs::directory_iterator run(kRunStateRoot, ec), end; !ec && run != end; run.increment(ec)) {
    const std::string name = run->path().filename().string();
    if (name.rfind("vbench-probe-", 0) == 0) {
      // A probe of a vbench that died mid-trial.
      const pid_t pid = std::atoi(name.c_str() + 13);
      if (pid > 0 && !process_identity(pid)) {
        if (auto rt = OciRuntime::find("runc")) (void)force_delete(*rt, name, "/dev/null");
        (void)remove_cgroup_dirs(planned_cgroup_dirs(name));
        (void)remove_tree(run->path().string());
      }
      continue;
    }
  }
  for (const auto& state : dead_env_states("oci")) {
    const size_t before = problems.size();
    auto id = state.read("id");
    auto runtime = state.read("runtime");
    if (id && runtime && !id->empty()) {
      if (auto rt = OciRuntime::find(*runtime)) {
        if (auto s = force_delete(*rt, *id, state.path("cleanup.log")); !s) problems.push_back(s.error().message);
      }
    }
    auto rec = read_record(state.path(kContainerRecord));
    if (rec) {
      if (auto s = delete_host_links(rec->host_links); !s) problems.push_back(s.error().message);
      if (auto s = remove_cgroup_dirs(rec->cgroup_dirs); !s) problems.push_back(s.error().message);
    }
    // A record whose resources could not all be removed stays for the next try.
    if (problems.size() == before)
      if (auto s = remove_record(state, rec ? rec->instance : ""); !s) problems.push_back(s.error().message);
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return make_error("oci cleanup: {}", all);
  }
  return {};
}

}  // namespace vbench
