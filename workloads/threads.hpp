#pragma once
// Worker threads for multithreaded workloads: a team of N threads, each
// optionally pinned to one CPU this process may run on, that do their own
// set-up (so memory is first touched by the thread that will use it), meet on
// a barrier and start their measured parts together.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/workload.hpp"

namespace vbench {

// A reusable barrier for a team that threads may leave. A thread that fails
// leaves with arrive_and_drop(), so it never strands the others in a later
// phase. Waiters spin for up to spin_ns (so that a measured phase does not
// pay a futex wake-up, which in a guest is an IPI and a VM exit, when every
// thread has a CPU of its own) and then sleep (so that threads do not burn
// CPUs their team-mates need).
class TeamBarrier {
 public:
  explicit TeamBarrier(int parties, uint64_t spin_ns = 20'000) : parties_(parties), spin_ns_(spin_ns) {}
  TeamBarrier(const TeamBarrier&) = delete;
  TeamBarrier& operator=(const TeamBarrier&) = delete;

  // Arrives at the current phase and returns once every party has arrived.
  void arrive_and_wait();
  // Arrives at the current phase and leaves the team for all later phases.
  void arrive_and_drop();

 private:
  void complete_phase_locked();

  std::mutex mutex_;
  std::condition_variable changed_;
  int parties_;
  const uint64_t spin_ns_;
  int arrived_ = 0;
  std::atomic<uint64_t> phase_{0};
};

// The CPUs this process may run on (its affinity mask), ascending. Falls back
// to 0..online-1 when the mask cannot be read.
std::vector<int> allowed_cpus();

// What `threads=auto` means: the number of CPUs this process may run on
// (its affinity mask, e.g. a container's cpuset), at most the online CPUs.
int auto_thread_count(const WorkloadContext& ctx);

// Largest team a workload accepts; far above any machine this runs on, it
// only keeps a typo from starting a million threads.
constexpr int kMaxTeamThreads = 4096;

// The integer parameter `name` ("auto" allowed) as a thread count in
// 1..kMaxTeamThreads.
Result<int> thread_count_param(const WorkloadContext& ctx, const std::string& name = "threads");

struct ThreadTeamOptions {
  int threads = 1;
  bool pin = false;  // thread i runs only on allowed_cpus()[i % count]
};

// Starts opt.threads threads running body(index, barrier) and waits for all
// of them. The barrier has one party per thread; bodies use it to start
// their measured parts together. Its waiters spin for up to 200 us when the
// team has a CPU per thread (like an OpenMP runtime's spin-wait), for 2 us
// when it has not. When a body returns (with success or an
// error) its thread is dropped from the barrier, so a body that fails during
// set-up simply returns its error. Returns the error of the lowest-indexed
// thread that failed, or the error of starting a thread.
Status run_thread_team(const ThreadTeamOptions& opt,
                       const std::function<Status(int index, TeamBarrier& barrier)>& body);

}  // namespace vbench
