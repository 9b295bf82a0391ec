#include "workloads/threads.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <system_error>
#include <thread>

#include "core/clock.hpp"

namespace vbench {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// How long a team's barrier waiters spin before they sleep.
constexpr uint64_t kTeamSpinNs = 200'000;
constexpr uint64_t kOversubscribedSpinNs = 2'000;

}  // namespace

void TeamBarrier::complete_phase_locked() {
  arrived_ = 0;
  phase_.fetch_add(1, std::memory_order_release);
  changed_.notify_all();
}

void TeamBarrier::arrive_and_wait() {
  uint64_t my_phase;
  {
    std::lock_guard lock(mutex_);
    my_phase = phase_.load(std::memory_order_relaxed);
    if (++arrived_ >= parties_) {
      complete_phase_locked();
      return;
    }
  }
  const uint64_t spin_until = now_ns() + spin_ns_;
  for (int i = 0;; ++i) {
    if (phase_.load(std::memory_order_acquire) != my_phase) return;
    if ((i & 63) == 63 && now_ns() > spin_until) break;
    cpu_relax();
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return phase_.load(std::memory_order_relaxed) != my_phase; });
}

void TeamBarrier::arrive_and_drop() {
  std::lock_guard lock(mutex_);
  --parties_;
  if (arrived_ > 0 && arrived_ >= parties_) complete_phase_locked();
}

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (cpus.empty()) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < std::max(1L, online); ++c) cpus.push_back(static_cast<int>(c));
  }
  return cpus;
}

int auto_thread_count(const WorkloadContext& ctx) {
  const int allowed = static_cast<int>(allowed_cpus().size());
  return std::max(1, ctx.online_cpus > 0 ? std::min(allowed, ctx.online_cpus) : allowed);
}

Result<int> thread_count_param(const WorkloadContext& ctx, const std::string& name) {
  if (ctx.params.is_auto(name)) return auto_thread_count(ctx);
  const int64_t n = ctx.params.get_int(name);
  if (n < 1 || n > kMaxTeamThreads)
    return make_error("parameter `{}`: {} threads is out of range (1..{} or auto)", name, n, kMaxTeamThreads);
  return static_cast<int>(n);
}

Status run_thread_team(const ThreadTeamOptions& opt,
                       const std::function<Status(int index, TeamBarrier& barrier)>& body) {
  if (opt.threads < 1) return make_error("thread team: {} threads requested", opt.threads);
  const std::vector<int> cpus = allowed_cpus();
  const bool cpu_each = static_cast<size_t>(opt.threads) <= cpus.size();
  TeamBarrier barrier(opt.threads, cpu_each ? kTeamSpinNs : kOversubscribedSpinNs);
  std::vector<std::optional<Error>> errors(static_cast<size_t>(opt.threads));
  std::vector<std::thread> team;
  team.reserve(static_cast<size_t>(opt.threads));
  std::optional<Error> start_error;

  auto member = [&](int index) {
    Status st;
    if (opt.pin) {
      const int cpu = cpus[static_cast<size_t>(index) % cpus.size()];
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      // pid 0 = the calling thread: Linux affinity is per thread.
      if (sched_setaffinity(0, sizeof set, &set) != 0)
        st = sys_error(fmt::format("thread {}: pin to CPU {} (sched_setaffinity)", index, cpu));
    }
    if (st) st = body(index, barrier);
    if (!st) errors[static_cast<size_t>(index)] = st.error();
    barrier.arrive_and_drop();
  };

  for (int i = 0; i < opt.threads; ++i) {
    try {
      team.emplace_back(member, i);
    } catch (const std::system_error& e) {
      start_error =
          Error{fmt::format("thread team: start thread {} of {}: {}", i, opt.threads, e.what()), e.code().value()};
      // The threads that never started leave the barrier here, so the started
      // ones are not kept waiting for them.
      for (int j = i; j < opt.threads; ++j) barrier.arrive_and_drop();
      break;
    }
  }
  for (auto& t : team) t.join();
  if (start_error) return *start_error;
  for (auto& e : errors)
    if (e) return *e;
  return {};
}

}  // namespace vbench
