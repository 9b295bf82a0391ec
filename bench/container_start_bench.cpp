// Container start and teardown time of vbench's own container, to set next
// to `runc run` of an equivalent bundle (bench/runc_start.sh). Needs root;
// the agent is the vbench-agent next to this executable (or $VBENCH_AGENT).
//
//   build/vbench_microbench --benchmark_filter=Container
//       --benchmark_repetitions=20 --benchmark_report_aggregates_only=true
//
// Times are measured by hand around Driver::start (create -> agent answered
// hello) and Session::stop (shutdown -> nothing left), and reported as
// manual time per iteration.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/clock.hpp"
#include "drivers/driver.hpp"
#include "workloads/net_peer.hpp"

namespace {

std::string agent_path() {
  if (const char* a = std::getenv("VBENCH_AGENT")) return a;
  std::string self = vbench::self_exe();
  return self.substr(0, self.rfind('/') + 1) + "vbench-agent";
}

// Arg 0: network = none; arg 1: network = veth. What is timed: start only
// (teardown = false) or start + stop (teardown = true).
void run_container_bench(benchmark::State& state, bool with_teardown) {
  vbench::Driver* d = vbench::find_driver("container");
  if (!d || !d->probe().available || ::geteuid() != 0) {
    state.SkipWithError("container environment unavailable (needs root)");
    return;
  }
  vbench::EnvSpec spec;
  spec.name = "container";
  spec.kind = "container";
  spec.agent_path = agent_path();
  spec.knobs["network"] = state.range(0) == 0 ? "none" : "veth";
  int n = 0;
  for (auto _ : state) {
    spec.run_id = "vbbench-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    const uint64_t t0 = vbench::now_ns();
    auto s = d->start(spec);
    if (!s) {
      state.SkipWithError(s.error().message.c_str());
      return;
    }
    uint64_t t1 = vbench::now_ns();
    auto stopped = (*s)->stop();
    if (with_teardown) t1 = vbench::now_ns();
    if (!stopped) {
      state.SkipWithError(stopped.error().message.c_str());
      return;
    }
    state.SetIterationTime(static_cast<double>(t1 - t0) / 1e9);
  }
}

void BM_ContainerStart(benchmark::State& state) { run_container_bench(state, false); }
void BM_ContainerStartStop(benchmark::State& state) { run_container_bench(state, true); }

BENCHMARK(BM_ContainerStart)
    ->ArgName("veth")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
BENCHMARK(BM_ContainerStartStop)
    ->ArgName("veth")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

}  // namespace
