// os.*: the cost of what the kernel does for a process -- a system call, a
// context switch, fork, thread creation, exec -- which is where namespaces,
// seccomp, and a hypervisor's page tables and exits show up.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "workloads/net_peer.hpp"  // self_exe()
#include "workloads/registry.hpp"

namespace vbench {
namespace {

constexpr uint64_t kMaxSyscalls = 10'000'000'000ull;
constexpr uint64_t kSyscallBatch = 1000;  // one clock read per 1000 calls: the clock costs as much as a call
constexpr uint64_t kMaxRoundTrips = 50'000'000;
constexpr uint64_t kMaxForks = 2'000'000;
constexpr uint64_t kMaxThreads = 10'000'000;
constexpr uint64_t kMaxExecs = 1'000'000;

Result<double> duration_of(const WorkloadContext& ctx) {
  const double d = ctx.params.get_seconds("duration");
  if (!(d > 0) || d > 24 * 3600) return make_error("parameter `duration`: {} s is outside (0 s, 24 h]", d);
  return d;
}

Status wait_for_child(pid_t pid, const std::string& what) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return sys_error(fmt::format("waitpid for {}", what));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFSIGNALED(status)) return make_error("{} was killed by signal {}", what, WTERMSIG(status));
  return make_error("{} exited with status {}", what, WEXITSTATUS(status));
}

// The shared shape of os.ctxswitch, fork, thread, exec: one operation timed
// per call, a warm-up call outside the region (it also proves the operation
// works before we measure), then a loop bounded by time and count.
struct TimedOps {
  Histogram latency;
  uint64_t count = 0;
  uint64_t elapsed_ns = 0;
};

template <typename Op>
Result<TimedOps> time_ops(WorkloadContext& ctx, double duration, uint64_t max_ops, Op op) {
  if (auto s = op(); !s) return s.error();
  TimedOps r;
  Status status;
  ctx.region_begin();
  const uint64_t t_start = now_ns(), deadline = t_start + static_cast<uint64_t>(duration * 1e9);
  uint64_t t_prev = t_start;
  while (r.count < max_ops && !ctx.stopping()) {
    if (!(status = op())) break;
    const uint64_t t = now_ns();
    r.latency.record(t - t_prev);
    t_prev = t;
    ++r.count;
    if (t >= deadline) break;
  }
  ctx.region_end();
  if (!status) return status.error();
  if (r.count == 0) return make_error("stopped before the first operation");
  r.elapsed_ns = t_prev - t_start;
  return r;
}

WorkloadOutput rate_output(TimedOps r) {
  WorkloadOutput out;
  out.add("rate", static_cast<double>(r.count) / (static_cast<double>(r.elapsed_ns) / 1e9), "ops/s", Better::Higher);
  out.add_latency("", std::move(r.latency));
  return out;
}

// ---------------------------------------------------------------------------
// os.syscall: getppid through syscall(2), so that no libc caches the answer
// (glibc once cached getpid) and every call enters the kernel.
Result<WorkloadOutput> run_syscall(WorkloadContext& ctx) {
  auto duration = duration_of(ctx);
  if (!duration) return duration.error();
  for (int i = 0; i < 1000; ++i) syscall(SYS_getppid);  // warm-up
  uint64_t calls = 0;
  ctx.region_begin();
  const uint64_t t_start = now_ns(), deadline = t_start + static_cast<uint64_t>(*duration * 1e9);
  uint64_t t_end = t_start;
  while (calls < kMaxSyscalls && !ctx.stopping()) {
    for (uint64_t i = 0; i < kSyscallBatch; ++i) syscall(SYS_getppid);
    calls += kSyscallBatch;
    t_end = now_ns();
    if (t_end >= deadline) break;
  }
  ctx.region_end();
  if (calls == 0) return make_error("stopped before the first batch");
  WorkloadOutput out;
  out.add("ns_per_call", static_cast<double>(t_end - t_start) / static_cast<double>(calls), "ns", Better::Lower);
  return out;
}

// ---------------------------------------------------------------------------
// os.ctxswitch: a byte bounced between two processes over two pipes (as
// lmbench lat_ctx and `perf bench sched pipe` do). With same_cpu (the
// default) both are pinned to one CPU, so each round trip is exactly two
// context switches: `ns_per_switch` = round-trip time / 2. Unpinned, the
// scheduler may put them on two CPUs and a round trip becomes two cross-CPU
// wake-ups (IPIs, idle exits) instead -- a different, also interesting cost.
class CpuPin {
 public:
  Status pin_here() {
    if (sched_getaffinity(0, sizeof saved_, &saved_) != 0) return sys_error("sched_getaffinity");
    const int cpu = sched_getcpu();
    if (cpu < 0) return sys_error("sched_getcpu");
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    // Affects the calling thread only; a child forked after this inherits it.
    if (sched_setaffinity(0, sizeof one, &one) != 0) return sys_error(fmt::format("pin to CPU {}", cpu));
    pinned_ = true;
    return {};
  }
  ~CpuPin() {
    if (pinned_) sched_setaffinity(0, sizeof saved_, &saved_);
  }

 private:
  cpu_set_t saved_{};
  bool pinned_ = false;
};

Result<WorkloadOutput> run_ctxswitch(WorkloadContext& ctx) {
  auto duration = duration_of(ctx);
  if (!duration) return duration.error();
  CpuPin pin;
  if (ctx.params.get_bool("same_cpu"))
    if (auto s = pin.pin_here(); !s) return s.error();

  int to_child[2], to_parent[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd child_in(to_child[0]), parent_out(to_child[1]);
  if (pipe2(to_parent, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd parent_in(to_parent[0]), child_out(to_parent[1]);

  pid_t pid = fork();
  if (pid < 0) return sys_error("fork the ctxswitch partner");
  if (pid == 0) {
    // Only async-signal-safe calls here: the parent may have threads.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(parent_out.get());
    ::close(parent_in.get());
    char b;
    while (::read(child_in.get(), &b, 1) == 1)
      if (::write(child_out.get(), &b, 1) != 1) break;
    _exit(0);  // EOF: the parent is done
  }
  child_in.reset();
  child_out.reset();
  auto round_trip = [&]() -> Status {
    char b = 'x';
    if (::write(parent_out.get(), &b, 1) != 1) return sys_error("write to the ctxswitch partner");
    ssize_t n = ::read(parent_in.get(), &b, 1);
    if (n == 1) return {};
    if (n == 0) return make_error("the ctxswitch partner exited");
    return sys_error("read from the ctxswitch partner");
  };
  Status warm;
  for (int i = 0; i < 100 && warm; ++i) warm = round_trip();
  Result<TimedOps> r = warm ? time_ops(ctx, *duration, kMaxRoundTrips, round_trip) : Result<TimedOps>(warm.error());
  parent_out.reset();  // the partner reads EOF and exits
  Status reaped = wait_for_child(pid, "the ctxswitch partner");
  if (!r) return r.error();
  if (!reaped) return reaped.error();
  const double per_switch = static_cast<double>(r->elapsed_ns) / (2.0 * static_cast<double>(r->count));
  WorkloadOutput out = rate_output(std::move(*r));
  out.add("ns_per_switch", per_switch, "ns", Better::Lower);
  return out;
}

// ---------------------------------------------------------------------------
// os.fork: fork, the child _exits at once, the parent waits for it.
Result<WorkloadOutput> run_fork(WorkloadContext& ctx) {
  auto duration = duration_of(ctx);
  if (!duration) return duration.error();
  auto r = time_ops(ctx, *duration, kMaxForks, [&]() -> Status {
    pid_t pid = fork();
    if (pid < 0) return sys_error("fork");
    if (pid == 0) _exit(0);
    return wait_for_child(pid, "forked child");
  });
  if (!r) return r.error();
  return rate_output(std::move(*r));
}

// ---------------------------------------------------------------------------
// os.thread: pthread_create of a thread that returns at once, then join.
void* return_at_once(void*) { return nullptr; }

Result<WorkloadOutput> run_thread(WorkloadContext& ctx) {
  auto duration = duration_of(ctx);
  if (!duration) return duration.error();
  auto r = time_ops(ctx, *duration, kMaxThreads, [&]() -> Status {
    pthread_t t;
    if (int e = pthread_create(&t, nullptr, return_at_once, nullptr); e != 0) return sys_error("pthread_create", e);
    if (int e = pthread_join(t, nullptr); e != 0) return sys_error("pthread_join", e);
    return {};
  });
  if (!r) return r.error();
  return rate_output(std::move(*r));
}

// ---------------------------------------------------------------------------
// os.exec: fork, exec a program that exits at once, wait. By default the
// program is the agent itself (`vbench-agent noop`): static, present in every
// environment, so the number does not depend on what a guest's or a
// container's root file system happens to hold.
Result<WorkloadOutput> run_exec(WorkloadContext& ctx) {
  auto duration = duration_of(ctx);
  if (!duration) return duration.error();
  std::string program = ctx.params.get_string("program");
  std::vector<std::string> args;
  if (program.empty()) {
    program = self_exe();
    if (program.empty()) return make_error("cannot resolve /proc/self/exe (is /proc mounted?)");
    args = {program, "noop"};
  } else {
    args = {program};
  }
  // argv is built before fork: the child only calls execv and _exit.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string what = fmt::format("`{}`", fmt::join(args, " "));
  auto r = time_ops(ctx, *duration, kMaxExecs, [&]() -> Status {
    pid_t pid = fork();
    if (pid < 0) return sys_error("fork");
    if (pid == 0) {
      execv(argv[0], argv.data());
      _exit(127);
    }
    return wait_for_child(pid, what);
  });
  if (!r) return r.error();
  return rate_output(std::move(*r));
}

ParamSpec duration_param() {
  return param("duration", ParamType::Duration, "2s", "how long to measure (also bounded in count)")
      .range(1e-3, ParamSpec::kMaxDurationS);
}

}  // namespace

void add_os_workloads(std::vector<WorkloadDef>& out) {
  out.push_back(
      WorkloadDef{.name = "os.syscall",
                  .description = "a cheap system call (getppid via syscall(2)) in batches of 1000: `ns_per_call`",
                  .params = {duration_param()},
                  .run = run_syscall});
  out.push_back(WorkloadDef{
      .name = "os.ctxswitch",
      .description = "pipe ping-pong between two processes; one round trip = 2 context switches (when on one CPU): "
                     "`rate` = round trips/s, `ns_per_switch` = round trip / 2, latency per round trip",
      .params = {duration_param(),
                 param("same_cpu", ParamType::Bool, "true",
                       "pin both processes to one CPU, so each round trip is two context switches and not two "
                       "cross-CPU wake-ups")},
      .run = run_ctxswitch});
  out.push_back(WorkloadDef{.name = "os.fork",
                            .description = "fork + _exit in the child + waitpid: `rate` in ops/s and latency per op",
                            .params = {duration_param()},
                            .run = run_fork});
  out.push_back(WorkloadDef{.name = "os.thread",
                            .description = "pthread_create of an empty thread + pthread_join: `rate` and latency",
                            .params = {duration_param()},
                            .run = run_thread});
  out.push_back(WorkloadDef{
      .name = "os.exec",
      .description = "fork + exec + waitpid of a program that exits at once (default: the agent's own `noop`): "
                     "`rate` and latency",
      .params = {duration_param(),
                 param("program", ParamType::String, "",
                       "path of the program to exec, without arguments; empty = `vbench-agent noop`")},
      .run = run_exec});
}

}  // namespace vbench
