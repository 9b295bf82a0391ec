#pragma once
// Work on the host that is not the run's, measured around every sample
// (drivers/cpu_accounting.hpp): the host's busy CPU time in the sample's
// window minus what the environment, vbench's own processes (harness,
// network peer, agents) and the softirq charged to the request used,
// divided by the window. An environment metric of every sample, and the
// "busy-host" run warning when a cell's mean is above the threshold: on
// cgroup v1 an agent in the root cgroup (bare) competes with that work as
// one task among many while a container's cgroup gets its own share, so
// ratios against bare measure the neighbours as much as the isolation.
#include <string_view>

namespace vbench {

inline constexpr std::string_view kForeignCpusMetric = "foreign_cpus";
inline constexpr std::string_view kForeignCpusUnit = "CPUs";

// Half a CPU of other work on average over a cell's samples. The estimate's
// own error is the quantization of its inputs: /proc/stat is sampled by the
// tick (250 Hz here) and vbench's own processes are read in 10 ms clock
// ticks, a few ticks per 0.3 s sample, so about ±0.1 CPU per sample; two
// spinning processes beside a run on this 2-CPU host read 1.75-1.82 CPUs,
// a compiler ~1. Half a CPU is clear of the error, and an average of that
// much other work is enough to starve a root-cgroup agent on a small host.
inline constexpr double kBusyHostCpus = 0.5;

}  // namespace vbench
