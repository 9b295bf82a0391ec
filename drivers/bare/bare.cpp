#include "drivers/bare/bare.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "core/clock.hpp"
#include "core/resolve.hpp"
#include "counters/task_clock.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/cpu_accounting.hpp"
#include "drivers/cpuset.hpp"
#include "drivers/placement.hpp"
#include "workloads/net_peer.hpp"

namespace vbench {
namespace {

class BareSession : public Session {
 public:
  BareSession(pid_t pid, AgentChannel ch, std::string scratch, Placement placement, bool cpuset_given,
              Result<TaskClock> clock)
      : pid_(pid),
        ch_(std::move(ch)),
        scratch_(std::move(scratch)),
        placement_(placement),
        cpuset_given_(cpuset_given) {
    if (clock)
      clock_.emplace(std::move(*clock));
    else
      clock_error_ = clock.error().message;
  }
  ~BareSession() override { (void)stop(); }

  std::string label() const override { return "bare"; }
  std::vector<Metric> lifecycle() const override { return lifecycle_; }
  nlohmann::json describe() const override {
    nlohmann::json p = describe_placement(placement_.policy(), host_cpu_count());
    if (cpuset_given_) p["agent_note"] = "the cpuset knob pins the agent";
    return {{"placement", p},
            {"cpu_accounting",
             describe_cpu_accounting(
                 clock_ ? "the agent process and every thread and process it starts: a perf_event task-clock "
                          "counter the driver opened on the agent before it ran (inherit=1, nanoseconds) for the "
                          "total; utime, stime, cutime, cstime of /proc/PID/stat (clock ticks) for the user/sys split, "
                          "scaled to that total"
                        : "the agent process and its reaped workload children: utime, stime, cutime, cstime of "
                          "/proc/PID/stat (clock ticks: +-10 ms per read; no task-clock counter: " +
                              clock_error_ + ")",
                 placement_.policy(), host_cpu_count(), cpuset_given_)}};
  }

  Result<Sample> run(const WorkloadRequest& req) override {
    std::string peer;
    if (req.needs_peer) {
      if (peer_.pid() < 0) {
        auto addr = peer_.start(agent_path_, "127.0.0.1:0");
        if (!addr) return addr.error().context("bare");
        peer_addr_ = *addr;
      }
      peer = peer_addr_;
    }
    // An explicit cpuset knob pins the agent itself; placement then only places the peer.
    if (auto p = placement_.apply(req.needs_peer, cpuset_given_ ? std::vector<pid_t>{} : std::vector<pid_t>{pid_},
                                  req.needs_peer ? peer_.pid() : -1);
        !p)
      return p.error().context("bare");
    // The agent reaps each workload child before it replies, so the child's
    // CPU time is in the agent's cutime/cstime by then.
    const auto irq_cpus = softirq_cpus(placement_.policy(), req.needs_peer, host_cpu_count(), cpuset_given_);
    const auto cpu0 = cpu_snapshot(agent_cpu_times(), irq_cpus, pid_);
    const uint64_t t0 = now_ns();
    auto s = ch_.run(req, scratch_, peer);
    const double window_s = static_cast<double>(now_ns() - t0) / 1e9;
    if (!s) return s.error().context("bare");
    add_cpu_attribution(*s, cpu0, cpu_snapshot(agent_cpu_times(), irq_cpus, pid_), window_s);
    return s;
  }

  Status stop() override {
    peer_.stop();
    if (pid_ <= 0) return {};
    (void)ch_.shutdown(5);
    int status = 0;
    const uint64_t deadline = now_ns() + 5'000'000'000ull;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (now_ns() > deadline) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      usleep(2000);
    }
    pid_ = -1;
    return {};
  }

  Status handshake(double timeout_s, uint64_t t0) {
    auto h = ch_.hello(timeout_s);
    if (!h) return h.error();
    lifecycle_.push_back(Metric{"start_s", static_cast<double>(now_ns() - t0) / 1e9, "s", Better::Lower});
    return {};
  }

  std::string agent_path_;
  std::vector<Metric> lifecycle_;

 private:
  // The agent's tick-based times with, where the task-clock counter is open,
  // its exact total as `usage` (the ticks then only split it).
  Result<CpuTimes> agent_cpu_times() const {
    auto c = process_cpu_times(pid_, true);
    if (!c || !clock_) return c;
    auto ns = clock_->read_ns();
    if (!ns) return ns.error();
    c->usage = static_cast<double>(*ns);
    return c;
  }

  pid_t pid_;
  AgentChannel ch_;
  std::string scratch_;
  PeerProcess peer_;
  std::string peer_addr_;
  PlacementApplier placement_;
  bool cpuset_given_ = false;
  std::optional<TaskClock> clock_;
  std::string clock_error_;
};

}  // namespace

Availability BareDriver::probe() const { return {true, "always available"}; }

std::vector<ParamSpec> BareDriver::knobs() const {
  return {{"cpuset",
           ParamType::String,
           "",
           "CPUs to pin the agent to, e.g. \"0-1\" or \"1\" (empty: no pinning)",
           false,
           {}}};
}

Result<std::unique_ptr<Session>> BareDriver::start(const EnvSpec& spec) {
  auto resolved = resolve_knobs("bare", knobs(), spec.knobs);
  if (!resolved) return resolved.error().context("bare");
  cpu_set_t set;
  CPU_ZERO(&set);
  const std::string cpuset = (*resolved)["cpuset"].get<std::string>();
  if (!cpuset.empty()) {
    auto cpus = parse_cpu_list(cpuset);
    if (!cpus) return cpus.error().context("bare: cpuset");
    for (int c : *cpus) CPU_SET(c, &set);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return sys_error("bare: socketpair");
  // The child waits on `go` until the task-clock counter is open on it, so
  // that it has no thread or child yet that the counter would miss.
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return sys_error("bare: pipe");
  }
  const uint64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {sv[0], sv[1], go[0], go[1]}) ::close(fd);
    return sys_error("bare: fork");
  }
  if (pid == 0) {
    // The agent dies with vbench, whatever way vbench dies.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(go[1]);
    char b;
    while (::read(go[0], &b, 1) < 0 && errno == EINTR) {
    }
    if (!cpuset.empty() && sched_setaffinity(0, sizeof set, &set) != 0) _exit(121);
    dup2(sv[1], 0);
    dup2(sv[1], 1);
    execl(spec.agent_path.c_str(), spec.agent_path.c_str(), "agent", static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(sv[1]);
  ::close(go[0]);
  auto clock = TaskClock::for_process_tree(pid);
  ::close(go[1]);  // EOF: the child goes on to exec the agent
  auto session = std::make_unique<BareSession>(pid, AgentChannel(UniqueFd(sv[0])), spec.scratch_dir, spec.placement,
                                               !cpuset.empty(), std::move(clock));
  session->agent_path_ = spec.agent_path;
  if (auto h = session->handshake(spec.start_timeout_s, t0); !h) return h.error().context("bare: agent start");
  return std::unique_ptr<Session>(std::move(session));
}

}  // namespace vbench
