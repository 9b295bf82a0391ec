// What counting costs a workload: one region_begin + region_end pair on a
// thread whose groups are open (the creating thread, or any thread after its
// first pair): the enable and disable ioctls per group plus the group reads.
// A region pays it once per thread, not per iteration. Then what counting
// costs a workload that context-switches a lot (the pipe round trips).
#include <benchmark/benchmark.h>
#include <sched.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "counters/counters.hpp"

namespace {

void region_pair(benchmark::State& state, const std::vector<std::string>& names) {
  auto rc = vbench::RegionCounters::create(names);
  if (!rc) {
    state.SkipWithError(rc.error().message.c_str());
    return;
  }
  for (auto _ : state) {
    (*rc)->thread_begin();
    (*rc)->thread_end();
  }
  size_t ok = 0;
  for (const auto& r : (*rc)->readings()) ok += r.status == "ok";
  state.counters["events_ok"] = static_cast<double>(ok);
}

void BM_RegionBeginEnd_None(benchmark::State& s) { region_pair(s, {}); }
void BM_RegionBeginEnd_Software(benchmark::State& s) {
  region_pair(s, {"task-clock", "context-switches", "cpu-migrations", "page-faults"});
}
void BM_RegionBeginEnd_Default(benchmark::State& s) { region_pair(s, {"default"}); }

// Creating the counters: name resolution through libpfm4 and opening the
// creating thread's groups; paid once per sample, outside the region.
void BM_RegionCountersCreate_Default(benchmark::State& state) {
  for (auto _ : state) {
    auto rc = vbench::RegionCounters::create({"default"});
    benchmark::DoNotOptimize(rc);
  }
}

// Two threads on one CPU bouncing a byte through two pipes, both inside a
// counted region: what counting costs a context-switch-heavy workload. Every
// switch saves and restores the thread's counters; on a VM whose virtual PMU
// traps each counter MSR access, hardware events make each switch dearer.
void pipe_round_trips(benchmark::State& state, const std::vector<std::string>& names) {
  auto rc = vbench::RegionCounters::create(names);
  if (!rc) {
    state.SkipWithError(rc.error().message.c_str());
    return;
  }
  int ping[2], pong[2];
  if (pipe(ping) != 0 || pipe(pong) != 0) {
    state.SkipWithError("pipe failed");
    return;
  }
  cpu_set_t old_set, one;
  sched_getaffinity(0, sizeof old_set, &old_set);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  sched_setaffinity(0, sizeof one, &one);
  std::thread server([&] {
    sched_setaffinity(0, sizeof one, &one);
    (*rc)->thread_begin();
    char b;
    while (read(ping[0], &b, 1) == 1 && b != 'q')
      if (write(pong[1], &b, 1) != 1) break;
    (*rc)->thread_end();
  });
  char b = 'x';
  (*rc)->thread_begin();
  for (auto _ : state) {
    if (write(ping[1], &b, 1) != 1 || read(pong[0], &b, 1) != 1) break;
  }
  (*rc)->thread_end();
  b = 'q';
  if (write(ping[1], &b, 1) != 1) state.SkipWithError("pipe write failed");
  server.join();
  sched_setaffinity(0, sizeof old_set, &old_set);
  for (int fd : {ping[0], ping[1], pong[0], pong[1]}) close(fd);
  for (const auto& r : (*rc)->readings())
    if (r.name == "context-switches" && r.value) state.counters["switches_per_trip"] = *r.value / state.iterations();
}

// A cpu.int-like loop (pure register work) inside one long counted region:
// what counting costs while it runs, beyond the region's edges. Counters are
// saved and restored on every switch, and rotated every multiplexing
// interval when there are more hardware events than counters.
void cpu_loop(benchmark::State& state, const std::vector<std::string>& names) {
  auto rc = vbench::RegionCounters::create(names);
  if (!rc) {
    state.SkipWithError(rc.error().message.c_str());
    return;
  }
  (*rc)->thread_begin();
  for (auto _ : state) {
    uint64_t x = 0;
    for (int i = 0; i < 100000; ++i) asm volatile("add $1, %0" : "+r"(x));
    benchmark::DoNotOptimize(x);
  }
  (*rc)->thread_end();
  for (const auto& r : (*rc)->readings())
    if (r.name == "cycles" && r.status == "ok") state.counters["cycles_running"] = r.running_fraction;
}

void BM_CpuLoop_None(benchmark::State& s) { cpu_loop(s, {}); }
void BM_CpuLoop_Software(benchmark::State& s) {
  cpu_loop(s, {"task-clock", "context-switches", "cpu-migrations", "page-faults"});
}
void BM_CpuLoop_FourHardware(benchmark::State& s) {
  cpu_loop(s, {"cycles", "instructions", "branches", "branch-misses"});
}
void BM_CpuLoop_Default(benchmark::State& s) { cpu_loop(s, {"default"}); }

void BM_PipeRoundTrip_None(benchmark::State& s) { pipe_round_trips(s, {}); }
void BM_PipeRoundTrip_Software(benchmark::State& s) {
  pipe_round_trips(s, {"task-clock", "context-switches", "cpu-migrations", "page-faults"});
}
void BM_PipeRoundTrip_Default(benchmark::State& s) { pipe_round_trips(s, {"default"}); }

}  // namespace

BENCHMARK(BM_CpuLoop_None)->MinTime(2.0);
BENCHMARK(BM_CpuLoop_Software)->MinTime(2.0);
BENCHMARK(BM_CpuLoop_FourHardware)->MinTime(2.0);
BENCHMARK(BM_CpuLoop_Default)->MinTime(2.0);
BENCHMARK(BM_PipeRoundTrip_None)->UseRealTime();
BENCHMARK(BM_PipeRoundTrip_Software)->UseRealTime();
BENCHMARK(BM_PipeRoundTrip_Default)->UseRealTime();
BENCHMARK(BM_RegionBeginEnd_None);
BENCHMARK(BM_RegionBeginEnd_Software);
BENCHMARK(BM_RegionBeginEnd_Default);
BENCHMARK(BM_RegionCountersCreate_Default)->Unit(benchmark::kMicrosecond);
