#pragma once
// The disk.* workloads' measuring core, exposed so that tests can check the
// tallies behind the public metrics (e.g. that the latency histogram counts
// exactly the I/Os that completed). The registry entries in disk.cpp turn a
// DiskTally into metrics.
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/histogram.hpp"
#include "core/workload.hpp"

namespace vbench::disk {

enum class Pattern { SeqRead, SeqWrite, RandRead, RandWrite, Fsync };

// "seqread", "randwrite", ... (the part after "disk.").
const char* to_string(Pattern p);

// What the measured region did.
struct DiskTally {
  uint64_t ios = 0;         // I/Os (or write+fdatasync ops) that completed
  uint64_t bytes = 0;       // bytes they transferred
  uint64_t elapsed_ns = 0;  // first submission to last completion
  bool has_latency = false;
  Histogram latency;  // ns per I/O (random) or per op (fsync); empty for sequential
};

// Creates the test file in ctx.scratch_dir, prepares it, measures `pattern`
// with ctx.params (see the workload table in disk.cpp for their meaning) and
// removes the file, also on failure. Errors name the file, the filesystem and
// what to change.
Result<DiskTally> measure(Pattern pattern, const WorkloadContext& ctx);

}  // namespace vbench::disk
