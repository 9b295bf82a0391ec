// cpu.* workloads: integer (XXH64 hashing) and floating-point (tiled DGEMM)
// throughput, on one or more threads that start together.
//
// Both are built for the baseline x86-64 (or aarch64) instruction set, like
// the rest of the agent, so the same binary runs in every environment; they
// measure what the isolation layer costs a compute-bound thread, not the
// machine's peak (no AVX, no FMA, no BLAS).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "core/clock.hpp"
#include "workloads/cpu_kernels.hpp"
#include "workloads/registry.hpp"
#include "workloads/threads.hpp"

namespace vbench {

// ---------------------------------------------------------------------------
// Kernels

namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ull;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ull;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ull;

inline uint64_t load_le64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline uint32_t load_le32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

inline uint64_t xxh_round(uint64_t acc, uint64_t input) {
  acc += input * kPrime2;
  acc = std::rotl(acc, 31);
  return acc * kPrime1;
}

inline uint64_t xxh_merge_round(uint64_t acc, uint64_t v) {
  acc ^= xxh_round(0, v);
  return acc * kPrime1 + kPrime4;
}

inline uint64_t xxh64_inline(const unsigned char* p, size_t len, uint64_t seed) {
  const unsigned char* const end = p + len;
  uint64_t h;
  if (len >= 32) {
    // Four independent lanes over 32-byte stripes: the part that dominates
    // for cpu.int's 4 KiB blocks (multiply, add, rotate; 4-wide ILP).
    uint64_t v1 = seed + kPrime1 + kPrime2, v2 = seed + kPrime2, v3 = seed, v4 = seed - kPrime1;
    const unsigned char* const limit = end - 32;
    do {
      v1 = xxh_round(v1, load_le64(p));
      v2 = xxh_round(v2, load_le64(p + 8));
      v3 = xxh_round(v3, load_le64(p + 16));
      v4 = xxh_round(v4, load_le64(p + 24));
      p += 32;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = xxh_merge_round(h, v1);
    h = xxh_merge_round(h, v2);
    h = xxh_merge_round(h, v3);
    h = xxh_merge_round(h, v4);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<uint64_t>(len);
  while (p + 8 <= end) {
    h ^= xxh_round(0, load_le64(p));
    h = std::rotl(h, 27) * kPrime1 + kPrime4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= static_cast<uint64_t>(load_le32(p)) * kPrime1;
    h = std::rotl(h, 23) * kPrime2 + kPrime3;
    p += 4;
  }
  while (p < end) {
    h ^= (*p) * kPrime5;
    h = std::rotl(h, 11) * kPrime1;
    ++p;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

}  // namespace

uint64_t xxh64(const void* data, size_t len, uint64_t seed) {
  return xxh64_inline(static_cast<const unsigned char*>(data), len, seed);
}

VBENCH_NOIPA uint64_t xxh64_block_chain(const unsigned char* buf, size_t block_size, size_t nblocks, uint64_t count,
                                        uint64_t seed) {
  size_t b = 0;
  for (uint64_t i = 0; i < count; ++i) {
    seed = xxh64_inline(buf + b * block_size, block_size, seed);
    if (++b == nblocks) b = 0;
  }
  return seed;
}

VBENCH_NOIPA void dgemm_tiled(const double* __restrict a, const double* __restrict b, double* __restrict c, int n) {
  // 64 x 64 tiles: a tile of B (32 KiB) stays in L1/L2 while four rows of C
  // and A stream past it; four rows at a time load each element of B once
  // for four multiply-adds.
  constexpr int kTile = 64;
  const size_t ld = static_cast<size_t>(n);
  for (int ii = 0; ii < n; ii += kTile)
    for (int kk = 0; kk < n; kk += kTile)
      for (int jj = 0; jj < n; jj += kTile) {
        const int ie = std::min(ii + kTile, n), ke = std::min(kk + kTile, n), je = std::min(jj + kTile, n);
        int i = ii;
        for (; i + 4 <= ie; i += 4) {
          double* c0 = c + static_cast<size_t>(i) * ld;
          double* c1 = c0 + ld;
          double* c2 = c1 + ld;
          double* c3 = c2 + ld;
          const double* a0 = a + static_cast<size_t>(i) * ld;
          for (int k = kk; k < ke; ++k) {
            const double x0 = a0[k], x1 = a0[ld + k], x2 = a0[2 * ld + k], x3 = a0[3 * ld + k];
            const double* bk = b + static_cast<size_t>(k) * ld;
            for (int j = jj; j < je; ++j) {
              const double y = bk[j];
              c0[j] += x0 * y;
              c1[j] += x1 * y;
              c2[j] += x2 * y;
              c3[j] += x3 * y;
            }
          }
        }
        for (; i < ie; ++i) {
          double* ci = c + static_cast<size_t>(i) * ld;
          const double* ai = a + static_cast<size_t>(i) * ld;
          for (int k = kk; k < ke; ++k) {
            const double x = ai[k];
            const double* bk = b + static_cast<size_t>(k) * ld;
            for (int j = jj; j < je; ++j) ci[j] += x * bk[j];
          }
        }
      }
}

// ---------------------------------------------------------------------------
// Workloads

namespace {

// Bytes per cpu.int op, and how many distinct blocks a thread cycles through
// (16 KiB: inside every L1 data cache this runs on, so the kernel measures
// the core, not the memory system).
constexpr size_t kHashBlock = 4096;
constexpr size_t kHashBlocks = 4;
// Hashes between two clock reads: ~0.25 ms on a current core, so even a
// clock that costs a system call (some guests) adds < 0.5%.
constexpr uint64_t kHashBatch = 1024;
// A count bound under the time bound: no batch of either kernel takes less
// than 10 us on any real CPU (cpu.int's batch hashes 4 MiB; cpu.fp's batch
// is >= 16 MFLOP), so a run never needs more than duration * 1e5 batches.
constexpr double kMaxBatchesPerSecond = 1e5;
// cpu.fp: multiplies per batch are chosen so that a batch is >= this many FLOP.
constexpr double kFlopPerBatch = 16e6;

// What one thread did inside its measured region.
struct ThreadRun {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  double ops = 0;
  uint64_t checksum = 0;
  bool interrupted = false;
};

struct TeamRun {
  double ops = 0;
  double seconds = 0;
};

// Total work over the span from the first thread's start to the last
// thread's end: the rate of the team as a whole, not the sum of per-thread
// rates (a thread that was descheduled for a while counts against it).
Result<TeamRun> combine(const std::vector<ThreadRun>& runs) {
  TeamRun t;
  uint64_t first = std::numeric_limits<uint64_t>::max(), last = 0;
  for (const auto& r : runs) {
    if (r.interrupted) return make_error("interrupted");
    first = std::min(first, r.start_ns);
    last = std::max(last, r.end_ns);
    t.ops += r.ops;
  }
  if (last <= first) return make_error("measured region took no time");
  t.seconds = static_cast<double>(last - first) / 1e9;
  return t;
}

Result<double> duration_param(const WorkloadContext& ctx) {
  const double d = ctx.params.get_seconds("duration");
  if (!(d > 0) || d > 86400) return make_error("parameter `duration`: {} s is out of range (0, 1 day]", d);
  return d;
}

uint64_t max_batches(double duration_s) {
  return static_cast<uint64_t>(std::ceil(duration_s * kMaxBatchesPerSecond)) + 1;
}

Result<WorkloadOutput> run_cpu_int(WorkloadContext& ctx) {
  auto threads = thread_count_param(ctx);
  if (!threads) return threads.error();
  auto duration = duration_param(ctx);
  if (!duration) return duration.error();
  const uint64_t duration_ns = static_cast<uint64_t>(*duration * 1e9);
  const uint64_t batch_cap = max_batches(*duration);
  std::vector<ThreadRun> runs(static_cast<size_t>(*threads));

  auto st = run_thread_team({*threads, ctx.params.get_bool("pin")}, [&](int index, TeamBarrier& barrier) -> Status {
    // Each thread fills its own buffer: it lives in that thread's cache (and
    // NUMA node), and the content differs per thread.
    std::vector<unsigned char> buf(kHashBlock * kHashBlocks);
    uint64_t x = 0x243F6A8885A308D3ull + static_cast<uint64_t>(index);
    for (auto& byte : buf) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
      byte = static_cast<unsigned char>(x);
    }
    ThreadRun& run = runs[static_cast<size_t>(index)];
    uint64_t digest = static_cast<uint64_t>(index);
    barrier.arrive_and_wait();
    ctx.region_begin();
    run.start_ns = now_ns();
    uint64_t hashed = 0, now = run.start_ns;
    for (uint64_t batch = 0; batch < batch_cap; ++batch) {
      digest = xxh64_block_chain(buf.data(), kHashBlock, kHashBlocks, kHashBatch, digest);
      hashed += kHashBatch;
      now = now_ns();
      if (now - run.start_ns >= duration_ns) break;
      if (ctx.stopping()) {
        run.interrupted = true;
        break;
      }
    }
    run.end_ns = now;
    ctx.region_end();
    run.ops = static_cast<double>(hashed);
    run.checksum = digest;
    return {};
  });
  if (!st) return st.error();
  auto team = combine(runs);
  if (!team) return team.error();
  WorkloadOutput out;
  out.add("ops", team->ops / team->seconds, "ops/s", Better::Higher);
  return out;
}

// Matrices of one cpu.fp thread, filled with values in [0.5, 1.5) so that
// sums neither overflow nor reach denormals however long the run.
struct MatrixSet {
  int n = 0;
  std::vector<double> a, b, c;

  explicit MatrixSet(int size, uint64_t seed) : n(size) {
    const size_t elems = static_cast<size_t>(n) * static_cast<size_t>(n);
    a.resize(elems);
    b.resize(elems);
    c.assign(elems, 0.0);
    uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
    auto next = [&] {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      return 0.5 + static_cast<double>(x >> 11) * 0x1.0p-53;
    };
    for (auto& v : a) v = next();
    for (auto& v : b) v = next();
  }

  // After `reps` multiplies C must equal reps * (A * B). Checks a sample of
  // elements against a plain dot product, so a kernel that skipped work (or
  // a compiler that dropped it) fails the sample instead of inflating it.
  Status check(uint64_t reps) const {
    const size_t ld = static_cast<size_t>(n);
    for (int s = 0; s < 16; ++s) {
      const size_t i = (static_cast<size_t>(s) * 7919) % ld, j = (static_cast<size_t>(s) * 104729 + 3) % ld;
      double dot = 0;
      for (size_t k = 0; k < ld; ++k) dot += a[i * ld + k] * b[k * ld + j];
      const double want = dot * static_cast<double>(reps), got = c[i * ld + j];
      if (!(std::fabs(got - want) <= 1e-8 * std::fabs(want)))
        return make_error("result check failed: C[{}][{}] = {:.17g}, expected {:.17g}", i, j, got, want);
    }
    return {};
  }
};

Result<WorkloadOutput> run_cpu_fp(WorkloadContext& ctx) {
  auto threads = thread_count_param(ctx);
  if (!threads) return threads.error();
  auto duration = duration_param(ctx);
  if (!duration) return duration.error();
  const int64_t n64 = ctx.params.get_int("n");
  if (n64 < 4 || n64 > 4096) return make_error("parameter `n`: {} is out of range (4..4096)", n64);
  const int n = static_cast<int>(n64);
  const double flop_per_multiply = 2.0 * static_cast<double>(n) * n * n;
  const uint64_t per_batch = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(kFlopPerBatch / flop_per_multiply)));
  const uint64_t duration_ns = static_cast<uint64_t>(*duration * 1e9);
  const uint64_t batch_cap = max_batches(*duration);
  std::vector<ThreadRun> runs(static_cast<size_t>(*threads));

  auto st = run_thread_team({*threads, ctx.params.get_bool("pin")}, [&](int index, TeamBarrier& barrier) -> Status {
    MatrixSet m(n, static_cast<uint64_t>(index));
    ThreadRun& run = runs[static_cast<size_t>(index)];
    barrier.arrive_and_wait();
    ctx.region_begin();
    run.start_ns = now_ns();
    uint64_t multiplies = 0, now = run.start_ns;
    for (uint64_t batch = 0; batch < batch_cap; ++batch) {
      for (uint64_t r = 0; r < per_batch; ++r) dgemm_tiled(m.a.data(), m.b.data(), m.c.data(), n);
      multiplies += per_batch;
      now = now_ns();
      if (now - run.start_ns >= duration_ns) break;
      if (ctx.stopping()) {
        run.interrupted = true;
        break;
      }
    }
    run.end_ns = now;
    ctx.region_end();
    run.ops = static_cast<double>(multiplies) * flop_per_multiply;
    if (auto ok = m.check(multiplies); !ok) return ok.error().context(fmt::format("thread {}", index));
    return {};
  });
  if (!st) return st.error();
  auto team = combine(runs);
  if (!team) return team.error();
  WorkloadOutput out;
  out.add("ops", team->ops / team->seconds / 1e9, "GFLOP/s", Better::Higher);
  return out;
}

std::vector<ParamSpec> team_params(const std::string& duration) {
  return {
      ParamSpec{"threads", ParamType::Int, "1", "worker threads (auto = CPUs this process may run on)", true, {}}.range(
          1, kMaxTeamThreads),
      ParamSpec{"duration", ParamType::Duration, duration, "measured time per thread", false, {}}.range(
          1e-3, ParamSpec::kMaxDurationS),
      {"pin", ParamType::Bool, "false", "pin thread i to the i-th CPU of the affinity mask", false, {}},
  };
}

}  // namespace

void add_cpu_workloads(std::vector<WorkloadDef>& out) {
  {
    WorkloadDef w;
    w.name = "cpu.int";
    w.description =
        "integer throughput: XXH64 of 4 KiB blocks held in L1 (each digest seeds the next hash); "
        "one op = one 4 KiB block hashed; ops = all threads' ops / span from first start to last end";
    w.params = team_params("2s");
    w.run = run_cpu_int;
    out.push_back(std::move(w));
  }
  {
    WorkloadDef w;
    w.name = "cpu.fp";
    w.description =
        "floating-point throughput: tiled double-precision C += A*B on n x n matrices per thread "
        "(2*n^3 FLOP per multiply, baseline SIMD, no FMA); ops in GFLOP/s (1e9 FLOP/s), "
        "results checked against dot products";
    w.params = team_params("2s");
    w.params.push_back(
        ParamSpec{"n", ParamType::Int, "256", "matrix order (3 matrices of n*n doubles per thread)", false, {}}.range(
            4, 4096));
    w.run = run_cpu_fp;
    out.push_back(std::move(w));
  }
}

}  // namespace vbench
