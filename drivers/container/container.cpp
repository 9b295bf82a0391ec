#include "drivers/container/container.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "core/choice.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/resolve.hpp"
#include "core/units.hpp"
#include "counters/counters.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/container/cgroup.hpp"
#include "drivers/container/cgroup_io.hpp"
#include "drivers/container/namespaces.hpp"
#include "drivers/container/network.hpp"
#include "drivers/container/security.hpp"
#include "drivers/container/state.hpp"
#include "drivers/cpu_accounting.hpp"
#include "drivers/placement.hpp"
#include "workloads/net_peer.hpp"

namespace vbench {
namespace {

// The cgroup's CPU time as the attribution reads it: the precise total and
// the kernel's user/system split of it.
Result<CpuTimes> cgroup_cpu_times(const CgroupUsage& u) {
  if (!u.cpu_usage_s) return make_error("the cgroup reports no CPU usage (no cpuacct controller)");
  CpuTimes c;
  c.usage = *u.cpu_usage_s * 1e9;
  c.user = u.cpu_user_s.value_or(0) * 1e9;
  c.sys = u.cpu_system_s.value_or(0) * 1e9;
  c.split = u.cpu_user_s && u.cpu_system_s;
  return c;
}

constexpr uint64_t kMinMemory = 16ull << 20;  // below this the agent itself cannot run
// rootfs = overlay: the layers of each instance's root, on the host's disk
// as Docker keeps them under /var/lib/docker.
constexpr const char* kRootfsLayers = "/var/lib/vbench/containers";

// The `rootfs` knob: a read-only tmpfs with the agent bound in, or Docker's
// overlay2 layout.
enum class RootfsKind { Tmpfs, Overlay };
constexpr Choices<RootfsKind, 2> kRootfsKinds{{{"tmpfs", RootfsKind::Tmpfs}, {"overlay", RootfsKind::Overlay}}};

struct ContainerConfig {
  CgroupLimits limits;
  NetworkMode network = NetworkMode::Veth;
  bool userns = false;
  bool scratch_overlay = false;
  RootfsKind rootfs = RootfsKind::Tmpfs;
  SeccompMode seccomp = SeccompMode::None;
  CapabilitySet capabilities = CapabilitySet::All;
  bool no_new_privs = false;
};

bool user_namespaces_available(std::string* why) {
  if (!path_exists("/proc/self/ns/user")) {
    *why = "the kernel has no user namespaces";
    return false;
  }
  auto max = read_line("/proc/sys/user/max_user_namespaces");
  if (max && *max == "0") {
    *why = "user.max_user_namespaces is 0";
    return false;
  }
  return true;
}

// The whole disk under a directory (cgroup I/O limits take a disk, not a
// partition).
Result<std::pair<unsigned, unsigned>> scratch_disk(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return sys_error(fmt::format("stat scratch `{}`", dir));
  unsigned maj = major(st.st_dev), min = minor(st.st_dev);
  const std::string sys = fmt::format("/sys/dev/block/{}:{}", maj, min);
  if (!path_exists(sys))
    return make_error(
        "scratch `{}` is on device {}:{}, which is not a block device (tmpfs, overlay, btrfs "
        "subvolume?): I/O limits need a disk",
        dir, maj, min);
  if (path_exists(sys + "/partition")) {
    auto parent = read_line(sys + "/../dev");
    if (!parent) return parent.error().context("scratch disk");
    if (std::sscanf(parent->c_str(), "%u:%u", &maj, &min) != 2) return make_error("scratch disk: bad `{}`", *parent);
  }
  return std::make_pair(maj, min);
}

Result<ContainerConfig> resolve_config(const std::vector<ParamSpec>& specs, const EnvSpec& env) {
  auto knobs = resolve_knobs("container", specs, env.knobs);
  if (!knobs) return knobs.error();
  auto& j = *knobs;
  ContainerConfig c;
  c.limits.cpus = j["cpus"].get<double>();
  if (c.limits.cpus < 0) return make_error("cpus must be >= 0 (0 = no limit), not {}", c.limits.cpus);
  const double period = j["cpu_period"].get<double>();
  if (period < 0.001 || period > 1.0) return make_error("cpu_period must be within 1ms..1s, not {}", period);
  c.limits.cpu_period_us = static_cast<uint64_t>(period * 1e6 + 0.5);
  c.limits.cpuset = j["cpuset"].get<std::string>();
  c.limits.memory = j["memory"].get<uint64_t>();
  if (c.limits.memory > 0 && c.limits.memory < kMinMemory)
    return make_error(
        "memory = {} is below what the agent itself needs ({}); a limit for a workload's footprint "
        "belongs above that",
        format_size(c.limits.memory), format_size(kMinMemory));
  c.limits.pids = j["pids"].get<int64_t>();
  if (c.limits.pids < 0) return make_error("pids must be >= 0 (0 = no limit)");
  const int64_t weight = j["io_weight"].get<int64_t>();
  if (weight < 0 || weight > 10000) return make_error("io_weight must be within 1..10000 (0 = default)");
  c.limits.io.weight = static_cast<uint32_t>(weight);
  c.limits.io.read_bps = j["io_read_bps"].get<uint64_t>();
  c.limits.io.write_bps = j["io_write_bps"].get<uint64_t>();
  const int64_t riops = j["io_read_iops"].get<int64_t>(), wiops = j["io_write_iops"].get<int64_t>();
  if (riops < 0 || wiops < 0) return make_error("io_*_iops must be >= 0");
  c.limits.io.read_iops = static_cast<uint64_t>(riops);
  c.limits.io.write_iops = static_cast<uint64_t>(wiops);
  if (c.limits.io.weight > 0 || c.limits.io.any_cap()) {
    if (env.scratch_dir.empty())
      return make_error("io_* knobs limit the scratch disk, and there is no scratch directory");
    auto disk = scratch_disk(env.scratch_dir);
    if (!disk) return disk.error();
    c.limits.io.major = disk->first;
    c.limits.io.minor = disk->second;
  }
  for (const Status& s : {choose_into(c.network, kNetworkModes, "network", j["network"]),
                          choose_into(c.rootfs, kRootfsKinds, "rootfs", j["rootfs"]),
                          choose_into(c.seccomp, kSeccompModes, "seccomp", j["seccomp"]),
                          choose_into(c.capabilities, kCapabilitySets, "capabilities", j["capabilities"])})
    if (!s) return s.error();
  c.userns = j["userns"].get<bool>();
  c.scratch_overlay = j["scratch_overlay"].get<bool>();
  if (c.scratch_overlay && env.scratch_dir.empty()) return make_error("scratch_overlay needs a scratch directory");
  c.no_new_privs = j["no_new_privs"].get<bool>();
  return c;
}

std::vector<std::string> planned_cgroup_dirs(const CgroupHost& host, const std::string& instance) {
  std::vector<std::string> out;
  if (host.version == CgroupVersion::V2) return {host.v2_mount + "/" + kCgroupParent + "/" + instance};
  for (const auto& c : host.controllers) {
    auto it = host.v1_mounts.find(c);
    if (it == host.v1_mounts.end()) continue;
    std::string d = it->second + "/" + kCgroupParent + "/" + instance;
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  return out;
}

// Removes everything a record names, and the directory its root was mounted
// on. Returns the first failure; keeps going.
Status remove_recorded(const ContainerRecord& rec, const std::string& root_dir) {
  Status first;
  auto keep = [&](Status s) {
    if (!s && first) first = s;
  };
  keep(delete_host_links(rec.host_links));
  keep(remove_cgroup_dirs(rec.cgroup_dirs));
  if (!rec.overlay_dir.empty()) keep(remove_tree(rec.overlay_dir));
  if (!rec.rootfs_dir.empty()) keep(remove_tree(rec.rootfs_dir));
  if (::rmdir(root_dir.c_str()) != 0 && errno != ENOENT) keep(sys_error(fmt::format("remove `{}`", root_dir)));
  return first;
}

class ContainerSession : public Session {
 public:
  ContainerSession(EnvSpec spec, CgroupHost host, ContainerConfig config)
      : spec_(std::move(spec)), host_(std::move(host)), cfg_(std::move(config)) {}
  ~ContainerSession() override { (void)stop(); }

  std::string label() const override { return spec_.name.empty() ? "container" : spec_.name; }
  std::vector<Metric> lifecycle() const override { return lifecycle_; }

  Status start() {
    const uint64_t t0 = now_ns();
    const std::string run_id =
        spec_.run_id.empty() ? fmt::format("vb-{}-{:x}", utc_compact_timestamp(), ::getpid()) : spec_.run_id;
    rec_.run_id = run_id;
    rec_.env = spec_.name.empty() ? "container" : spec_.name;
    rec_.instance = sanitize_name(run_id + "-" + rec_.env);
    rec_.cgroup_dirs = planned_cgroup_dirs(host_, rec_.instance);
    plan_perf_cgroup();
    rec_.host_links = planned_host_links(rec_.instance, cfg_.network);
    if (cfg_.scratch_overlay) rec_.overlay_dir = spec_.scratch_dir + "/.vbench-" + rec_.instance;
    if (cfg_.rootfs == RootfsKind::Overlay) rec_.rootfs_dir = fmt::format("{}/{}", kRootfsLayers, rec_.instance);
    // The record first: whatever is created after it can be found again.
    if (path_exists(EnvState::dir_for(run_id, "container", rec_.env) + "/" + kContainerRecord))
      return make_error("instance `{}` exists already (a stale run? try `vbench cleanup`)", rec_.instance);
    auto state = EnvState::create(run_id, "container", rec_.env);
    if (!state) return state.error();
    state_ = std::move(*state);
    if (auto s = write_record(state_, rec_); !s) {
      (void)remove_record(state_, rec_.instance);
      return s;
    }
    recorded_ = true;

    auto cg = create_cgroup(host_, rec_.instance);
    if (!cg) return cg.error();
    cgroup_ = std::move(*cg);
    if (auto s = cgroup_->apply(cfg_.limits); !s) return s.error().context("cgroup limits");
    if (perf_dir_own_) {
      const std::string parent = perf_dir_.substr(0, perf_dir_.rfind('/'));
      if (auto s = cg_mkdir(parent, true); !s) return s.error().context("perf_event cgroup");
      if (auto s = cg_mkdir(perf_dir_, false); !s) return s.error().context("perf_event cgroup");
    }

    const std::string root = state_.path(kContainerRoot);
    if (::mkdir(root.c_str(), 0755) != 0) return sys_error(fmt::format("mkdir `{}`", root));
    InitSpec init;
    init.hostname = rec_.instance.substr(0, 63);
    init.userns = cfg_.userns;
    init.rootfs.root = root;
    init.rootfs.agent_binary = spec_.agent_path;
    init.rootfs.scratch = spec_.scratch_dir;
    if (cfg_.scratch_overlay) {
      init.rootfs.scratch_overlay = true;
      init.rootfs.overlay_upper = rec_.overlay_dir + "/upper";
      init.rootfs.overlay_work = rec_.overlay_dir + "/work";
      if (auto s = mkdir_p(init.rootfs.overlay_upper); !s) return s;
      if (auto s = mkdir_p(init.rootfs.overlay_work); !s) return s;
    }
    if (cfg_.rootfs == RootfsKind::Overlay) {
      init.rootfs.root_lower = rec_.rootfs_dir + "/lower";
      init.rootfs.root_upper = rec_.rootfs_dir + "/upper";
      init.rootfs.root_work = rec_.rootfs_dir + "/work";
      if (auto s = mkdir_p(rec_.rootfs_dir, 0700); !s) return s;
      if (auto s = prepare_root_lower(init.rootfs.root_lower, spec_.agent_path); !s) return s;
      if (auto s = mkdir_p(init.rootfs.root_upper); !s) return s;
      if (auto s = mkdir_p(init.rootfs.root_work); !s) return s;
    }
    init.argv = {kAgentInContainer, "agent", "--container-init"};
    if (cfg_.seccomp == SeccompMode::DockerDefault) {
      auto prog = docker_default_seccomp_program();
      if (!prog) return prog.error().context("seccomp");
      init.security.seccomp = std::move(*prog);
    }
    init.security.drop_capabilities = cfg_.capabilities == CapabilitySet::DockerDefault;
    init.security.keep_caps = docker_default_capability_numbers();
    init.security.no_new_privs = cfg_.no_new_privs;
    init.timeout_s = spec_.start_timeout_s;
    UniqueFd log;
    if (!spec_.out_dir.empty()) {
      const std::string path = fmt::format("{}/{}-agent.log", spec_.out_dir, sanitize_name(rec_.env));
      log.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (!log) return sys_error(fmt::format("open `{}`", path));
    }
    init.log_fd = log.get();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return sys_error("socketpair");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    init.agent_fd = theirs.get();

    InitHooks hooks;
    hooks.place = [&](pid_t first) -> Status {
      if (auto s = cgroup_->add_process(first); !s) return s;
      if (perf_dir_own_) return cg_write(perf_dir_, "cgroup.procs", std::to_string(first));
      return {};
    };
    hooks.wire = [&](pid_t pid) -> Status {
      // The agent (PID 1) must survive an OOM in its cgroup. Its workload
      // children raise their oom_score_adj to 1000 right after fork
      // (agent/reaper.cpp), which makes them the victim on their own;
      // -1000 for the agent (never a victim) needs CAP_SYS_RESOURCE, which
      // some hosts withhold even from root, so it is a best effort.
      if (auto s = write_file(fmt::format("/proc/{}/oom_score_adj", pid), "-1000"); !s)
        oom_note_ =
            "agent oom_score_adj -1000 refused (" + s.error().message + "); workloads run with oom_score_adj 1000";
      else
        oom_note_ = "agent oom_score_adj -1000; workloads run with oom_score_adj 1000";
      UniqueFd ns(::open(fmt::format("/proc/{}/ns/net", pid).c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns) return sys_error("open the container's network namespace");
      auto net = setup_network(cfg_.network, rec_.instance, ns.get());
      if (!net) return net.error();
      net_ = std::move(*net);
      return {};
    };
    auto pid = spawn_container_init(init, hooks);
    if (!pid) return pid.error();
    init_pid_ = *pid;
    theirs.reset();
    ch_ = AgentChannel(std::move(ours));
    auto hello = ch_.hello(spec_.start_timeout_s);
    if (!hello) return hello.error().context("agent start");
    agent_ = *hello;
    lifecycle_.push_back(Metric{"start_s", static_cast<double>(now_ns() - t0) / 1e9, "s", Better::Lower});
    return {};
  }

  void set_placement(Placement p) { placement_ = PlacementApplier(p); }

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
    // An explicit cpuset knob confines the agent itself; placement then only places the peer.
    if (auto p = placement_.apply(req.needs_peer,
                                  cfg_.limits.cpuset.empty() ? std::vector<pid_t>{init_pid_} : std::vector<pid_t>{},
                                  req.needs_peer ? peer_.pid() : -1);
        !p)
      return p.error().context(label());
    HostCounters* counters = host_counters(req.counters);
    const auto irq_cpus =
        softirq_cpus(placement_.policy(), req.needs_peer, host_cpu_count(), !cfg_.limits.cpuset.empty());
    const CgroupUsage before = cgroup_->usage();
    if (auto s = cgroup_->reset_peak(); !s) return s.error().context(label());
    const auto cpu0 = cpu_snapshot(cgroup_cpu_times(before), irq_cpus, init_pid_);
    const uint64_t t0 = now_ns();
    if (counters) (void)counters->start();
    auto s = ch_.run(req, spec_.scratch_dir.empty() ? "" : kScratchInContainer, peer);
    if (counters) (void)counters->stop();
    const double window_s = static_cast<double>(now_ns() - t0) / 1e9;
    const CgroupUsage after = cgroup_->usage();
    const auto cpu1 = cpu_snapshot(cgroup_cpu_times(after), irq_cpus, init_pid_);
    if (!s) return agent_failure(s.error());
    add_host_counter_readings(*s, req.counters, counters);
    add_cpu_attribution(*s, cpu0, cpu1, window_s);
    auto metrics = cgroup_sample_metrics(before, after);
    s->env_metrics.insert(s->env_metrics.end(), metrics.begin(), metrics.end());
    if (!s->ok && before.oom_kills && after.oom_kills && *after.oom_kills > *before.oom_kills)
      s->error = fmt::format(
          "out of memory: the kernel's OOM killer ended the workload at the container's memory "
          "limit of {} ({})",
          format_size(cfg_.limits.memory), s->error);
    return s;
  }

  Status stop() override {
    if (stopped_) return {};
    stopped_ = true;
    const uint64_t t0 = now_ns();
    peer_.stop();
    int st;
    if (init_pid_ > 0 && wait_init(0, &st) == init_pid_) init_pid_ = -1;  // crashed
    if (init_pid_ > 0) {
      // Ask the agent to exit; its PID namespace (and everything in it) goes
      // with it. A hung agent is killed.
      (void)ch_.shutdown(3);
      if (wait_init(3, &st) == 0) {
        ::kill(init_pid_, SIGKILL);
        while (::waitpid(init_pid_, &st, 0) < 0 && errno == EINTR) {
        }
      }
      init_pid_ = -1;
    }
    Status first;
    if (recorded_) {
      auto keep = [&](Status s) {
        if (!s && first) first = s;
      };
      keep(teardown_network(net_));
      host_counters_.reset();  // its descriptors pin the perf_event cgroup
      if (cgroup_) keep(cgroup_->destroy());
      if (perf_dir_own_) keep(remove_cgroup_dirs({perf_dir_}));
      keep(remove_recorded(rec_, state_.path(kContainerRoot)));
      // A record whose resources could not all be removed stays, so that
      // `vbench cleanup` retries once this process is gone.
      if (first) keep(remove_record(state_, rec_.instance));
    }
    lifecycle_.push_back(Metric{"teardown_s", static_cast<double>(now_ns() - t0) / 1e9, "s", Better::Lower});
    if (!first) return first.error().context(fmt::format("{}: teardown", label()));
    return {};
  }

  // waitpid(init, WNOHANG) until it reports the init's exit or `seconds`
  // have passed (one try for 0): its last result, 0 when the init still runs.
  pid_t wait_init(double seconds, int* status) {
    const uint64_t deadline = now_ns() + static_cast<uint64_t>(seconds * 1e9);
    pid_t r;
    while ((r = ::waitpid(init_pid_, status, WNOHANG)) == 0 && now_ns() < deadline) usleep(1000);
    return r;
  }

  // A channel failure: say so plainly when the agent (the init) is gone.
  Error agent_failure(const Error& e) {
    // The control channel sees EOF as soon as the dying init closes its
    // descriptors, which is before the kernel has ended the rest of its PID
    // namespace and made it reapable; give it a moment, so that the error can
    // say how the agent died rather than only that the channel broke.
    int st = 0;
    if (init_pid_ > 0 && wait_init(2, &st) == init_pid_) {
      init_pid_ = -1;
      const std::string how = WIFSIGNALED(st)
                                  ? fmt::format("killed by signal {} ({})", WTERMSIG(st), strsignal(WTERMSIG(st)))
                                  : fmt::format("exited with status {}", WEXITSTATUS(st));
      return e.context(fmt::format("{}: the agent (the container's init) died: {}", label(), how));
    }
    return e.context(label());
  }

  nlohmann::json describe() const override {
    nlohmann::json limits = nlohmann::json::object();
    const auto& l = cfg_.limits;
    if (l.cpus > 0) limits["cpus"] = l.cpus, limits["cpu_period_us"] = l.cpu_period_us;
    if (!l.cpuset.empty()) limits["cpuset"] = l.cpuset;
    if (l.memory > 0) limits["memory"] = l.memory;
    if (l.pids > 0) limits["pids"] = l.pids;
    if (l.io.weight > 0) limits["io_weight"] = l.io.weight;
    if (l.io.any_cap())
      limits["io"] = {{"device", fmt::format("{}:{}", l.io.major, l.io.minor)},
                      {"read_bps", l.io.read_bps},
                      {"write_bps", l.io.write_bps},
                      {"read_iops", l.io.read_iops},
                      {"write_iops", l.io.write_iops}};
    nlohmann::json j = {{"instance", rec_.instance},
                        {"cgroup", to_string(host_.version)},
                        {"cgroup_controllers", host_.controllers},
                        {"cgroup_dirs", cgroup_ ? cgroup_->dirs() : std::vector<std::string>{}},
                        {"limits", limits},
                        {"network", net_.describe()},
                        {"userns", cfg_.userns},
                        {"scratch", spec_.scratch_dir.empty() ? "none"
                                    : cfg_.scratch_overlay    ? "overlay"
                                                              : "bind"},
                        {"rootfs", cfg_.rootfs == RootfsKind::Overlay ? "overlay (layers in " + rec_.rootfs_dir + ")"
                                                                      : std::string("tmpfs, read-only")},
                        {"namespaces", {"mnt", "pid", "net", "uts", "ipc", "cgroup"}},
                        {"seccomp", std::string(name_of(kSeccompModes, cfg_.seccomp))},
                        {"capabilities", std::string(name_of(kCapabilitySets, cfg_.capabilities))},
                        {"no_new_privs", cfg_.no_new_privs}};
    if (cfg_.userns) j["namespaces"].push_back("user");
    if (init_pid_ > 0) j["init_pid"] = init_pid_;  // in the host's PID namespace
    j["placement"] = describe_placement(placement_.policy(), host_cpu_count());
    j["cpu_accounting"] = describe_cpu_accounting(
        cgroup_ && cgroup_->version() == CgroupVersion::V1
            ? "the container's cgroup: cpuacct.usage (ns) for its total, cpuacct.stat user/system (clock ticks) "
              "for the split"
            : "the container's cgroup: cpu.stat usage_usec for its total, user_usec/system_usec for the split",
        placement_.policy(), host_cpu_count(), !cfg_.limits.cpuset.empty());
    if (!cfg_.limits.cpuset.empty()) j["placement"]["agent_note"] = "the cpuset knob confines the agent";
    if (cgroup_) j["cgroup_notes"] = cgroup_->notes();
    if (!oom_note_.empty()) j["oom"] = oom_note_;
    j["host_counters"] = perf_dir_.empty() ? perf_note_ : (perf_note_.empty() ? "cgroup " + perf_dir_ : perf_note_);
    if (!agent_.is_null()) j["agent"] = agent_;
    return j;
  }

 private:
  // Host-side counting of everything the container's tasks do needs the
  // container in the hierarchy perf_event is attached to: its own cgroup on
  // v2 or where v1 has a perf_event hierarchy, else (a v1 host whose
  // perf_event lives on the v2 mount, like this project's CI machine) a
  // directory of its own there, recorded like every other cgroup directory.
  void plan_perf_cgroup() {
    auto root = perf_event_cgroup_root();
    if (!root) {
      perf_note_ = "host-cgroup counters unavailable: " + root.error().message;
      return;
    }
    for (const auto& d : rec_.cgroup_dirs)
      if (d.starts_with(*root + "/")) {
        perf_dir_ = d;
        return;
      }
    perf_dir_ = fmt::format("{}/{}/{}", *root, kCgroupParent, rec_.instance);
    perf_dir_own_ = true;
    rec_.cgroup_dirs.push_back(perf_dir_);
  }

  // One HostCounters per event list, opened on first use and kept (opening
  // per sample would cost a perf_event_open per event and CPU every time).
  HostCounters* host_counters(const std::vector<std::string>& names) {
    if (names.empty() || perf_dir_.empty()) return nullptr;
    if (host_counters_ && host_counter_names_ == names) return host_counters_.get();
    host_counters_.reset();
    host_counter_names_ = names;
    auto c = HostCounters::for_cgroup(perf_dir_, names);
    if (!c) {
      perf_note_ = "host-cgroup counters unavailable: " + c.error().message;
      return nullptr;
    }
    host_counters_ = std::move(*c);
    return host_counters_.get();
  }

  // Readings of scope "host-cgroup" with their derived metrics; when the
  // host cannot count the cgroup, one "unsupported" reading per event with
  // the reason, so that the absence is visible and never a zero.
  void add_host_counter_readings(Sample& s, const std::vector<std::string>& names, HostCounters* counters) {
    if (names.empty()) return;
    std::vector<CounterReading> readings =
        counters ? counters->readings()
                 : unsupported_readings(names, "host-cgroup",
                                        perf_note_.empty() ? "host-cgroup counters unavailable" : perf_note_);
    for (auto& m : derived_counter_metrics(readings)) s.metrics.push_back(std::move(m));
    s.counters.insert(s.counters.end(), readings.begin(), readings.end());
  }

  EnvSpec spec_;
  CgroupHost host_;
  ContainerConfig cfg_;
  ContainerRecord rec_;
  EnvState state_;
  bool recorded_ = false;
  bool stopped_ = false;
  std::unique_ptr<Cgroup> cgroup_;
  ContainerNetwork net_;
  pid_t init_pid_ = -1;
  PlacementApplier placement_{Placement::Spread};
  AgentChannel ch_;
  nlohmann::json agent_;
  PeerProcess peer_;
  std::string peer_addr_;
  std::vector<Metric> lifecycle_;
  std::string oom_note_;
  std::string perf_dir_;       // the container's cgroup in the perf_event hierarchy ("" = none)
  bool perf_dir_own_ = false;  // a directory made for counting alone
  std::string perf_note_;
  std::unique_ptr<HostCounters> host_counters_;
  std::vector<std::string> host_counter_names_;
};

}  // namespace

Availability ContainerDriver::probe() const {
  if (::geteuid() != 0) return {false, "needs root: it creates namespaces, cgroups and network links"};
  for (const char* ns : {"mnt", "pid", "net", "uts", "ipc", "cgroup"})
    if (!path_exists(fmt::format("/proc/self/ns/{}", ns)))
      return {false, fmt::format("the kernel has no {} namespaces", ns)};
  auto host = detect_cgroups();
  if (!host) return {false, host.error().message};
  std::string why;
  const bool userns = user_namespaces_available(&why);
  return {true, fmt::format("cgroup {} ({}); user namespaces {}", to_string(host->version),
                            fmt::join(host->controllers, ", "), userns ? "available" : "unavailable: " + why)};
}

std::vector<ParamSpec> ContainerDriver::knobs() const {
  return {
      ParamSpec{"cpus",
                ParamType::Double,
                "0",
                "CPU bandwidth limit in CPUs (cgroup quota/period), e.g. 0.5; 0 = none",
                false,
                {}}
          .range(0, 4096),
      // The kernel takes a CFS period from 1 ms to 1 s.
      ParamSpec{"cpu_period", ParamType::Duration, "100ms", "period of the CPU bandwidth limit", false, {}}.range(1e-3,
                                                                                                                  1),
      {"cpuset", ParamType::String, "", "CPUs the container may run on, e.g. \"1\" or \"0-1\" (empty: all)", false, {}},
      {"memory", ParamType::Size, "0", "memory limit, swap off (e.g. 512MiB); 0 = none", false, {}},
      // pid_max is at most 2^22 (PID_MAX_LIMIT).
      ParamSpec{"pids", ParamType::Int, "0", "maximum number of tasks; 0 = none", false, {}}.range(0, 4194304),
      ParamSpec{"io_weight",
                ParamType::Int,
                "0",
                "proportional I/O weight (v1 BFQ 1..1000, v2 1..10000); 0 = default",
                false,
                {}}
          .range(0, 10000),
      {"io_read_bps", ParamType::Size, "0", "read bandwidth cap on the scratch disk, bytes/s; 0 = none", false, {}},
      {"io_write_bps", ParamType::Size, "0", "write bandwidth cap on the scratch disk, bytes/s; 0 = none", false, {}},
      ParamSpec{"io_read_iops", ParamType::Int, "0", "read IOPS cap on the scratch disk; 0 = none", false, {}}.range(
          0, ParamSpec::kUnbounded),
      ParamSpec{"io_write_iops", ParamType::Int, "0", "write IOPS cap on the scratch disk; 0 = none", false, {}}.range(
          0, ParamSpec::kUnbounded),
      {"network", ParamType::String, "veth",
       "link to the host peer: none, veth, bridge, or nat (Docker-like masquerade)", false,
       choice_names(kNetworkModes)},
      {"userns", ParamType::Bool, "false", "also a user namespace (container root = the invoking user)", false, {}},
      {"scratch_overlay",
       ParamType::Bool,
       "false",
       "scratch through overlayfs (upper layer on the scratch disk)",
       false,
       {}},
      {"rootfs", ParamType::String, "tmpfs",
       "the root: tmpfs (read-only, agent bound in, tmpfs /tmp) or overlay (Docker's overlay2 layout: the agent "
       "copied into a lower layer, a writable upper layer on the host's disk, /tmp in it)",
       false, choice_names(kRootfsKinds)},
      {"seccomp", ParamType::String, "none",
       "none, or docker-default (a filter with Docker's default profile's policy)", false, choice_names(kSeccompModes)},
      {"capabilities", ParamType::String, "all", "all, or docker-default (the bounding set cut to Docker's 14)", false,
       choice_names(kCapabilitySets)},
      {"no_new_privs",
       ParamType::Bool,
       "false",
       "set PR_SET_NO_NEW_PRIVS before the agent starts (as Docker does)",
       false,
       {}},
  };
}

Result<std::unique_ptr<Session>> ContainerDriver::start(const EnvSpec& spec) {
  auto avail = probe();
  if (!avail.available) return make_error("container: unavailable: {}", avail.reason);
  auto cfg = resolve_config(knobs(), spec);
  if (!cfg) return cfg.error().context("container");
  if (cfg->userns) {
    std::string why;
    if (!user_namespaces_available(&why)) return make_error("container: userns = true, but {}", why);
  }
  if (spec.agent_path.empty() || !path_exists(spec.agent_path))
    return make_error("container: agent binary `{}` not found", spec.agent_path);
  auto host = detect_cgroups();
  if (!host) return host.error().context("container");
  auto session = std::make_unique<ContainerSession>(spec, std::move(*host), std::move(*cfg));
  session->set_placement(spec.placement);
  if (auto s = session->start(); !s) {
    (void)session->stop();  // nothing half-built stays behind
    return s.error().context(fmt::format("container `{}`", session->label()));
  }
  return std::unique_ptr<Session>(std::move(session));
}

Status ContainerDriver::cleanup_stale() {
  // Instances whose record stays: a live owner's, one still failing to go,
  // one another kind cleans (oci deletes the runtime's container first).
  // Their pieces are spared below.
  std::set<std::string> kept;
  bool sweep_orphans = true;
  Status first;
  auto keep = [&](Status s) {
    if (!s && first) first = s;
  };
  for (const auto& f : env_states("")) {
    const std::string path = f.state.path(kContainerRecord);
    if (!path_exists(path)) {
      // A container session writes its record right after its owner: a
      // dead one without a record made nothing.
      if (f.kind == "container" && f.owner == FoundEnvState::Owner::Dead) keep(f.state.remove());
      continue;
    }
    auto rec = read_record(path);
    if (!rec) {
      if (f.kind == "container") keep(rec.error().context("cleanup"));
      // Whose pieces are these? Not knowing, spare every one.
      if (f.owner != FoundEnvState::Owner::Dead) sweep_orphans = false;
      continue;
    }
    if (f.kind != "container" || f.owner != FoundEnvState::Owner::Dead) {
      kept.insert(rec->instance);
      continue;
    }
    auto s = remove_recorded(*rec, f.state.path(kContainerRoot));
    if (s) s = remove_record(f.state, rec->instance);
    keep(s);
    if (!s) kept.insert(rec->instance);  // still failing: leave its pieces for the next try
  }
  // Records of vbench before the EnvState layout, with the owner inside.
  std::vector<std::string> stale_roots;
  const std::string legacy = legacy_container_state_dir();
  if (DIR* d = ::opendir(legacy.c_str())) {
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) names.push_back(e->d_name);
    ::closedir(d);
    for (const auto& n : names) {
      struct stat st {};
      if (::lstat((legacy + "/" + n).c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        // A link to a record in the run's state, handled above; one whose
        // record is gone goes.
        if (!path_exists(legacy + "/" + n)) ::unlink((legacy + "/" + n).c_str());
        continue;
      }
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) {
        auto rec = read_record(legacy + "/" + n);
        if (!rec) {
          keep(rec.error().context("cleanup"));
          sweep_orphans = false;
          continue;
        }
        if (rec->legacy_owner && process_alive(*rec->legacy_owner)) {
          kept.insert(rec->instance);
          continue;
        }
        auto s = remove_recorded(*rec, legacy + "/" + rec->instance + ".root");
        if (s && ::unlink((legacy + "/" + n).c_str()) != 0 && errno != ENOENT)
          s = sys_error(fmt::format("remove `{}/{}`", legacy, n));
        keep(s);
        if (!s) kept.insert(rec->instance);
      } else if (n.size() > 5 && n.compare(n.size() - 5, 5, ".root") == 0) {
        stale_roots.push_back(n.substr(0, n.size() - 5));
      }
    }
    // (Not one whose record is there but unreadable: an empty directory that
    // is a mount point in a live container's namespace would go from it too.)
    for (const auto& inst : stale_roots)
      if (!kept.count(inst) && !path_exists(legacy + "/" + inst + ".json"))
        (void)::rmdir((legacy + "/" + inst + ".root").c_str());
    ::rmdir(legacy.c_str());  // only if now empty
  }
  // Pieces without a record. A record is written before anything it names
  // exists, so the records are read again after the pieces are listed: the
  // pieces of a session that started since the pass above have one by then.
  std::map<std::string, std::vector<std::string>> cgroups;
  if (auto host = detect_cgroups()) cgroups = list_vbench_cgroups(*host);
  auto rt = Rtnl::open();
  std::vector<LinkInfo> links;
  if (rt)
    if (auto l = rt->links()) links = std::move(*l);
  if (sweep_orphans) {
    for (const auto& f : env_states(""))
      if (path_exists(f.state.path(kContainerRecord))) {
        auto rec = read_record(f.state.path(kContainerRecord));
        if (rec)
          kept.insert(rec->instance);
        else if (f.owner != FoundEnvState::Owner::Dead)
          sweep_orphans = false;
      }
    for (const auto& [inst, dirs] : cgroups)
      if (path_exists(legacy + "/" + inst + ".json")) kept.insert(inst);
  }
  if (!sweep_orphans) {
    keep(make_error("cgroups and links without a record left alone: a live run's record is unreadable"));
    return first.error().context("container cleanup");
  }
  for (const auto& [inst, dirs] : cgroups)
    if (!kept.count(inst)) keep(remove_cgroup_dirs(dirs));
  for (const auto& l : links) {
    const std::string inst = instance_of_alias(l.alias);
    if (!inst.empty() && !kept.count(inst) && !path_exists(legacy + "/" + inst + ".json"))
      keep(rt->delete_link(l.name));
  }
  if (!first) return first.error().context("container cleanup");
  return {};
}

}  // namespace vbench
