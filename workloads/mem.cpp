// mem.* workloads: STREAM bandwidth, dependent-load latency over working
// sets from L1 to DRAM, and first-touch page-fault cost.
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/units.hpp"
#include "workloads/cache_info.hpp"
#include "workloads/mem_kernels.hpp"
#include "workloads/registry.hpp"
#include "workloads/threads.hpp"

namespace vbench {

// ---------------------------------------------------------------------------
// Kernels

// gcc -O2/-O3 compiles this loop, here as in STREAM's own stream.c, into a
// call to memcpy (whose large-copy path may use non-temporal stores). That
// is left as it is, so that `copy` compares with the STREAM people build.
VBENCH_NOIPA void stream_copy(double* __restrict c, const double* __restrict a, size_t n) {
  for (size_t j = 0; j < n; ++j) c[j] = a[j];
}

VBENCH_NOIPA void stream_scale(double* __restrict b, const double* __restrict c, double scalar, size_t n) {
  for (size_t j = 0; j < n; ++j) b[j] = scalar * c[j];
}

VBENCH_NOIPA void stream_add(double* __restrict c, const double* __restrict a, const double* __restrict b, size_t n) {
  for (size_t j = 0; j < n; ++j) c[j] = a[j] + b[j];
}

VBENCH_NOIPA void stream_triad(double* __restrict a, const double* __restrict b, const double* __restrict c,
                               double scalar, size_t n) {
  for (size_t j = 0; j < n; ++j) a[j] = b[j] + scalar * c[j];
}

void link_random_cycle(void* base, size_t slots, size_t slot_bytes, uint32_t* order, uint64_t seed) {
  if (slots == 0) return;
  for (size_t i = 0; i < slots; ++i) order[i] = static_cast<uint32_t>(i);
  // Sattolo's algorithm: swapping each i only with some j < i yields a
  // uniformly random permutation that is a single cycle, so a chase from any
  // slot visits every slot before it repeats.
  uint64_t x = seed | 1;
  auto draw = [&x](size_t i) {                 // uniform in [0, i)
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;  // xorshift64*
    const uint64_t r = x * 0x2545F4914F6CDD1Dull;
    return static_cast<size_t>((static_cast<unsigned __int128>(r) * i) >> 64);
  };
  // Each swap touches a random entry of `order` (a cache miss once it
  // outgrows the caches, i.e. for working sets of many MiB). The random
  // indices do not depend on the data, so they are drawn kAhead steps early
  // and their entries prefetched: misses overlap instead of queueing, which
  // makes a 1 GiB set's shuffle several times faster. js[i % kAhead] holds
  // the j of step i.
  constexpr size_t kAhead = 16;
  size_t js[kAhead];
  for (size_t i = slots - 1, n = 0; i > 0 && n < kAhead; --i, ++n) {
    js[i % kAhead] = draw(i);
    __builtin_prefetch(&order[js[i % kAhead]], 1);
  }
  for (size_t i = slots - 1; i > 0; --i) {
    const size_t j = js[i % kAhead];
    if (i > kAhead) {
      const size_t later = i - kAhead;  // later % kAhead == i % kAhead
      js[later % kAhead] = draw(later);
      __builtin_prefetch(&order[js[later % kAhead]], 1);
    }
    std::swap(order[i], order[j]);
  }
  auto* bytes = static_cast<unsigned char*>(base);
  for (size_t i = 0; i < slots; ++i) {
    void* next = bytes + static_cast<size_t>(order[i]) * slot_bytes;
    std::memcpy(bytes + i * slot_bytes, &next, sizeof next);
  }
}

VBENCH_NOIPA const void* pointer_chase(const void* p, uint64_t loads) {
  auto q = static_cast<const void* const*>(p);
#define VB_HOP q = static_cast<const void* const*>(*q)
  // clang-format off
  for (; loads >= 16; loads -= 16) {
    VB_HOP; VB_HOP; VB_HOP; VB_HOP; VB_HOP; VB_HOP; VB_HOP; VB_HOP;
    VB_HOP; VB_HOP; VB_HOP; VB_HOP; VB_HOP; VB_HOP; VB_HOP; VB_HOP;
  }
  // clang-format on
  for (; loads > 0; --loads) VB_HOP;
#undef VB_HOP
  return q;
}

VBENCH_NOIPA void touch_pages(unsigned char* p, size_t len, size_t stride) {
  for (size_t off = 0; off < len; off += stride) p[off] = 1;
}

// ---------------------------------------------------------------------------
// Workloads

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kHugePage = 2 * kMiB;  // x86-64 and arm64 (4 KiB granule) PMD size

// A private anonymous mapping, unmapped when it goes out of scope. With
// `align`, data() is aligned to it (the mapping is over-allocated; the slack
// is never touched, so it costs address space only).
class AnonymousMapping {
 public:
  static Result<AnonymousMapping> create(size_t len, size_t align = 0) {
    const size_t raw_len = len + align;
    void* raw = ::mmap(nullptr, raw_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return sys_error(fmt::format("mmap {} bytes", raw_len));
    AnonymousMapping m;
    m.raw_ = raw;
    m.raw_len_ = raw_len;
    auto addr = reinterpret_cast<uintptr_t>(raw);
    if (align) addr = (addr + align - 1) & ~(static_cast<uintptr_t>(align) - 1);
    m.data_ = reinterpret_cast<unsigned char*>(addr);
    m.len_ = len;
    return m;
  }
  AnonymousMapping() = default;
  AnonymousMapping(AnonymousMapping&& o) noexcept
      : raw_(std::exchange(o.raw_, nullptr)), raw_len_(o.raw_len_), data_(o.data_), len_(o.len_) {}
  AnonymousMapping& operator=(AnonymousMapping&& o) noexcept {
    if (this != &o) {
      unmap();
      raw_ = std::exchange(o.raw_, nullptr);
      raw_len_ = o.raw_len_;
      data_ = o.data_;
      len_ = o.len_;
    }
    return *this;
  }
  ~AnonymousMapping() { unmap(); }
  void unmap() {
    if (raw_) ::munmap(raw_, raw_len_);
    raw_ = nullptr;
  }
  unsigned char* data() const { return data_; }
  size_t size() const { return len_; }
  // Sets the transparent-huge-page policy of the region explicitly, so that
  // the result does not silently depend on the system's THP default.
  Status advise_huge_pages(bool huge) {
    if (::madvise(data_, len_, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
      return sys_error(huge ? "madvise MADV_HUGEPAGE" : "madvise MADV_NOHUGEPAGE");
    return {};
  }

 private:
  void* raw_ = nullptr;
  size_t raw_len_ = 0;
  unsigned char* data_ = nullptr;
  size_t len_ = 0;
};

// MemAvailable from /proc/meminfo (the kernel's estimate of what can be
// allocated without swapping); empty when it cannot be read.
std::optional<uint64_t> mem_available_bytes() {
  auto text = read_file("/proc/meminfo", 1 << 20);
  if (!text) return std::nullopt;
  const auto pos = text->find("MemAvailable:");
  if (pos == std::string::npos) return std::nullopt;
  unsigned long long kib = 0;
  if (std::sscanf(text->c_str() + pos, "MemAvailable: %llu kB", &kib) != 1) return std::nullopt;
  return static_cast<uint64_t>(kib) * 1024;
}

// Fails early, with numbers, when a run would not fit: an OOM kill in the
// middle of a sweep says much less.
Status check_memory_fits(const std::string& what, uint64_t need) {
  const auto avail = mem_available_bytes();
  if (avail && static_cast<double>(need) > 0.9 * static_cast<double>(*avail))
    return make_error(
        "{} needs {:.0f} MiB but the environment has {:.0f} MiB available (MemAvailable); "
        "lower the size parameters",
        what, static_cast<double>(need) / kMiB, static_cast<double>(*avail) / kMiB);
  return {};
}

// --- mem.bandwidth ---------------------------------------------------------

// STREAM's rule: each array at least 4x the total last-level cache. Never
// below 256 MiB, so that every environment on a machine with up to 64 MiB of
// LLC uses the same arrays even when a guest's CPUID reports a different
// cache (and that is also the size used when sysfs reports no caches).
constexpr uint64_t kStreamMinAutoBytes = 256 * kMiB;

uint64_t stream_auto_array_bytes() {
  uint64_t bytes = kStreamMinAutoBytes;
  if (auto llc = last_level_cache_total()) bytes = std::max(bytes, (4 * *llc + kMiB - 1) / kMiB * kMiB);
  return bytes;
}

enum StreamKernel { kCopy, kScale, kAdd, kTriad, kStreamKernels };
constexpr std::array<const char*, kStreamKernels> kStreamNames = {"copy", "scale", "add", "triad"};
// Arrays each kernel moves (STREAM's byte counting: reads + writes, no
// write-allocate traffic).
constexpr std::array<int, kStreamKernels> kStreamArrays = {2, 2, 3, 3};
constexpr double kStreamScalar = 3.0;

// The values every element of a, b and c holds after `iterations` passes
// of the four kernels, replayed on scalars as STREAM's checkSTREAMresults
// does (including the a = 2a pass made once before the timed loop).
struct StreamValues {
  double a = 0, b = 0, c = 0;
};

StreamValues stream_expected(int64_t iterations) {
  StreamValues v{1.0, 2.0, 0.0};
  v.a = 2.0 * v.a;
  for (int64_t k = 0; k < iterations; ++k) {
    v.c = v.a;
    v.b = kStreamScalar * v.c;
    v.c = v.a + v.b;
    v.a = v.b + kStreamScalar * v.c;
  }
  return v;
}

// STREAM's acceptance test: for each array, the average absolute error
// relative to the expected value must be <= 1e-13.
Status check_stream_results(const StreamValues& error_sums, size_t n, const StreamValues& expected) {
  constexpr double kEpsilon = 1e-13;
  const double dn = static_cast<double>(n);
  const std::array<std::tuple<char, double, double>, 3> arrays = {{{'a', error_sums.a / dn, expected.a},
                                                                   {'b', error_sums.b / dn, expected.b},
                                                                   {'c', error_sums.c / dn, expected.c}}};
  for (const auto& [name, avg_err, want] : arrays) {
    if (!(std::fabs(avg_err / want) <= kEpsilon))
      return make_error("validation failed: array {} average relative error {:.3g} > {:g} (expected value {:.6g})",
                        name, std::fabs(avg_err / want), kEpsilon, want);
  }
  return {};
}

Result<WorkloadOutput> run_mem_bandwidth(WorkloadContext& ctx) {
  auto threads = thread_count_param(ctx);
  if (!threads) return threads.error();
  const uint64_t array_bytes = ctx.params.is_auto("size") ? stream_auto_array_bytes() : ctx.params.get_size("size");
  const size_t n = array_bytes / sizeof(double);
  if (n < 1024 || n < 8 * static_cast<size_t>(*threads))
    return make_error("parameter `size`: {} bytes per array is too small for {} threads", array_bytes, *threads);
  const int64_t ntimes = ctx.params.get_int("ntimes");
  // >= 2: the first iteration is not counted (STREAM's rule). <= 100: a grows
  // by 15x per iteration and must stay a finite double for validation.
  if (ntimes < 2 || ntimes > 100) return make_error("parameter `ntimes`: {} is out of range (2..100)", ntimes);
  const size_t bytes = n * sizeof(double);
  if (auto fits = check_memory_fits("mem.bandwidth (3 arrays)", 3 * bytes); !fits) return fits.error();

  auto a_map = AnonymousMapping::create(bytes);
  if (!a_map) return a_map.error().context("array a");
  auto b_map = AnonymousMapping::create(bytes);
  if (!b_map) return b_map.error().context("array b");
  auto c_map = AnonymousMapping::create(bytes);
  if (!c_map) return c_map.error().context("array c");
  double* const a = reinterpret_cast<double*>(a_map->data());
  double* const b = reinterpret_cast<double*>(b_map->data());
  double* const c = reinterpret_cast<double*>(c_map->data());

  // Thread t owns the contiguous slice [bounds[t], bounds[t+1]), starting on
  // a cache line, like OpenMP's static schedule in STREAM.
  const int nt = *threads;
  std::vector<size_t> bounds(static_cast<size_t>(nt) + 1);
  for (int t = 0; t < nt; ++t)
    bounds[static_cast<size_t>(t)] = (n * static_cast<size_t>(t) / static_cast<size_t>(nt)) & ~size_t{7};
  bounds[static_cast<size_t>(nt)] = n;

  std::vector<std::array<uint64_t, kStreamKernels>> times(static_cast<size_t>(ntimes));
  const StreamValues expected = stream_expected(ntimes);
  std::vector<StreamValues> error_sums(static_cast<size_t>(nt));
  std::atomic<bool> abort{false};
  int iterations_run = 0;

  auto st = run_thread_team({nt, ctx.params.get_bool("pin")}, [&](int index, TeamBarrier& barrier) -> Status {
    const size_t lo = bounds[static_cast<size_t>(index)], len = bounds[static_cast<size_t>(index) + 1] - lo;
    double *ta = a + lo, *tb = b + lo, *tc = c + lo;
    // First touch by the owning thread places its pages on its NUMA node.
    // The order of first touches decides which physical pages back which
    // array, and that moves triad by 10-20% on some machines (DRAM bank
    // conflicts between the three streams). gcc compiles STREAM's
    // interleaved init loop into one pass per array (a, then b, then c),
    // so we touch in that order too.
    std::fill_n(ta, len, 1.0);
    std::fill_n(tb, len, 2.0);
    std::fill_n(tc, len, 0.0);
    for (size_t j = 0; j < len; ++j) ta[j] = 2.0 * ta[j];
    // Thread 0 times each kernel for the team, as STREAM's master thread
    // does: from before the threads start (the start barrier stands for
    // OpenMP's fork) until the last one has finished (the join).
    const bool timer = index == 0;
    barrier.arrive_and_wait();
    ctx.region_begin();
    bool stopped = false;
    for (int64_t k = 0; k < ntimes && !stopped; ++k) {
      for (int kernel = 0; kernel < kStreamKernels; ++kernel) {
        // Every thread leaves at the same iteration: thread 0 decides before
        // the start barrier, the others read it after.
        if (timer && kernel == 0) abort.store(ctx.stopping(), std::memory_order_relaxed);
        const uint64_t t0 = timer ? now_ns() : 0;
        barrier.arrive_and_wait();
        if (kernel == 0 && abort.load(std::memory_order_relaxed)) {
          stopped = true;
          break;
        }
        switch (kernel) {
          case kCopy:
            stream_copy(tc, ta, len);
            break;
          case kScale:
            stream_scale(tb, tc, kStreamScalar, len);
            break;
          case kAdd:
            stream_add(tc, ta, tb, len);
            break;
          case kTriad:
            stream_triad(ta, tb, tc, kStreamScalar, len);
            break;
        }
        barrier.arrive_and_wait();
        if (timer) times[static_cast<size_t>(k)][static_cast<size_t>(kernel)] = now_ns() - t0;
      }
      if (timer && !stopped) iterations_run = static_cast<int>(k) + 1;
    }
    ctx.region_end();
    StreamValues& e = error_sums[static_cast<size_t>(index)];
    for (size_t j = 0; j < len; ++j) {
      e.a += std::fabs(ta[j] - expected.a);
      e.b += std::fabs(tb[j] - expected.b);
      e.c += std::fabs(tc[j] - expected.c);
    }
    return {};
  });
  if (!st) return st.error();
  if (iterations_run < ntimes) return make_error("interrupted");

  StreamValues total;
  for (const auto& e : error_sums) {
    total.a += e.a;
    total.b += e.b;
    total.c += e.c;
  }
  if (auto ok = check_stream_results(total, n, expected); !ok) return ok.error();

  WorkloadOutput out;
  for (int kernel = 0; kernel < kStreamKernels; ++kernel) {
    uint64_t best = std::numeric_limits<uint64_t>::max();
    for (int64_t k = 1; k < ntimes; ++k)
      best = std::min(best, times[static_cast<size_t>(k)][static_cast<size_t>(kernel)]);
    const double moved = static_cast<double>(kStreamArrays[static_cast<size_t>(kernel)]) * static_cast<double>(bytes);
    out.add(kStreamNames[static_cast<size_t>(kernel)],
            1e-6 * moved / (static_cast<double>(std::max<uint64_t>(best, 1)) / 1e9), "MB/s", Better::Higher);
  }
  return out;
}

// --- mem.latency -------------------------------------------------------------

// One slot per cache line: each load of the chase touches a new line.
constexpr size_t kLatencySlot = 64;
// Loads between two clock reads.
constexpr uint64_t kChaseBatch = 1 << 16;
// Untimed loads before each working set's timing: the whole cycle when it
// fits in a cache of up to 16 MiB (the linking pass has just written every
// slot, so larger caches are warm already), else enough to settle the TLB
// and caches into their steady state.
constexpr uint64_t kChaseWarmupMax = 1 << 18;

Result<WorkloadOutput> run_mem_latency(WorkloadContext& ctx) {
  const uint64_t min_size = ctx.params.get_size("min_size"), max_size = ctx.params.get_size("max_size");
  const int64_t max_loads = ctx.params.get_int("max_loads");
  const double max_time = ctx.params.get_seconds("max_time");
  const bool huge = ctx.params.get_bool("hugepages");
  if (min_size < 16 * kLatencySlot)
    return make_error("parameter `min_size`: {} bytes is below the minimum of {}", min_size, 16 * kLatencySlot);
  if (max_size < min_size) return make_error("parameter `max_size` ({}) is below `min_size` ({})", max_size, min_size);
  if (max_size / kLatencySlot > std::numeric_limits<uint32_t>::max())
    return make_error("parameter `max_size`: {} bytes is above the maximum of 256GiB", max_size);
  if (max_loads < 1) return make_error("parameter `max_loads`: {} must be at least 1", max_loads);
  if (!(max_time > 0)) return make_error("parameter `max_time`: {} s must be positive", max_time);

  std::vector<uint64_t> sizes;
  for (uint64_t s = min_size; s <= max_size; s *= 2) sizes.push_back(s);
  const size_t max_slots = static_cast<size_t>(sizes.back() / kLatencySlot);
  const uint64_t order_bytes = max_slots * sizeof(uint32_t);
  if (auto fits = check_memory_fits("mem.latency", sizes.back() + order_bytes); !fits) return fits.error();

  auto chain = AnonymousMapping::create(static_cast<size_t>(sizes.back()), kHugePage);
  if (!chain) return chain.error().context("working set");
  if (auto adv = chain->advise_huge_pages(huge); !adv) return adv.error().context("working set");
  auto order = AnonymousMapping::create(static_cast<size_t>(order_bytes));
  if (!order) return order.error().context("permutation");

  const uint64_t max_time_ns = static_cast<uint64_t>(max_time * 1e9);
  const void* position = nullptr;
  WorkloadOutput out;
  for (const uint64_t size : sizes) {
    const size_t slots = static_cast<size_t>(size / kLatencySlot);
    link_random_cycle(chain->data(), slots, kLatencySlot, reinterpret_cast<uint32_t*>(order->data()), size);
    position = pointer_chase(chain->data(), std::min<uint64_t>(slots, kChaseWarmupMax));

    ctx.region_begin();
    const uint64_t t0 = now_ns();
    uint64_t loads = 0, t1 = t0;
    while (loads < static_cast<uint64_t>(max_loads)) {
      const uint64_t batch = std::min<uint64_t>(kChaseBatch, static_cast<uint64_t>(max_loads) - loads);
      position = pointer_chase(position, batch);
      loads += batch;
      t1 = now_ns();
      if (t1 - t0 >= max_time_ns || ctx.stopping()) break;
    }
    ctx.region_end();
    if (ctx.stopping()) return make_error("interrupted");
    // Where the chase stopped is always a slot of the set: a check that the
    // loads really ran (and a use of their result).
    const auto at = static_cast<const unsigned char*>(position);
    if (at < chain->data() || at >= chain->data() + size)
      return make_error("pointer chase over {} left the working set", format_size(size));
    out.add("ns_" + format_size(size), static_cast<double>(t1 - t0) / static_cast<double>(loads), "ns", Better::Lower);
  }
  return out;
}

// --- mem.pagefault -------------------------------------------------------------

// AnonHugePages of the mapping that holds addr, from /proc/self/smaps: what
// the kernel actually backed with huge pages.
std::optional<uint64_t> anon_huge_bytes_at(const void* addr) {
  auto text = read_file("/proc/self/smaps", 256 << 20);
  if (!text) return std::nullopt;
  const auto target = reinterpret_cast<uintptr_t>(addr);
  bool inside = false;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t eol = text->find('\n', pos);
    if (eol == std::string::npos) eol = text->size();
    const std::string line = text->substr(pos, eol - pos);
    pos = eol + 1;
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = lo <= target && target < hi;
      continue;
    }
    unsigned long long kib = 0;
    if (inside && std::sscanf(line.c_str(), "AnonHugePages: %llu kB", &kib) == 1) return kib * 1024;
  }
  return std::nullopt;
}

Result<WorkloadOutput> run_mem_pagefault(WorkloadContext& ctx) {
  const uint64_t size = ctx.params.get_size("size");
  const bool thp = ctx.params.get_bool("thp");
  const long page = ::sysconf(_SC_PAGESIZE);
  const uint64_t page_bytes = page > 0 ? static_cast<uint64_t>(page) : 4096;
  if (size < page_bytes || size % page_bytes != 0)
    return make_error("parameter `size`: {} is not a positive multiple of the page size ({})", size, page_bytes);
  if (auto fits = check_memory_fits("mem.pagefault", size); !fits) return fits.error();

  auto region = AnonymousMapping::create(static_cast<size_t>(size), kHugePage);
  if (!region) return region.error().context("mem.pagefault region");
  if (auto adv = region->advise_huge_pages(thp); !adv) return adv.error().context("mem.pagefault region");

  // The kernel's own count of the faults this thread took, not pages assumed.
  rusage before{}, after{};
  if (::getrusage(RUSAGE_THREAD, &before) != 0) return sys_error("getrusage RUSAGE_THREAD");
  ctx.region_begin();
  const uint64_t t0 = now_ns();
  touch_pages(region->data(), region->size(), static_cast<size_t>(page_bytes));
  const uint64_t t1 = now_ns();
  ctx.region_end();
  if (::getrusage(RUSAGE_THREAD, &after) != 0) return sys_error("getrusage RUSAGE_THREAD");
  const std::optional<uint64_t> huge_bytes = thp ? anon_huge_bytes_at(region->data()) : std::nullopt;
  region->unmap();

  const double faults =
      static_cast<double>((after.ru_minflt - before.ru_minflt) + (after.ru_majflt - before.ru_majflt));
  if (faults < 1) return make_error("touching {} of fresh memory took no page faults", format_size(size));
  const double seconds = static_cast<double>(t1 - t0) / 1e9;
  WorkloadOutput out;
  out.add("faults_per_s", faults / seconds, "faults/s", Better::Higher);
  out.add("ns_per_fault", seconds * 1e9 / faults, "ns", Better::Lower);
  out.add("faults", faults, "faults", Better::Lower);
  if (thp && huge_bytes)
    out.add("thp_coverage", 100.0 * static_cast<double>(*huge_bytes) / static_cast<double>(size), "%", Better::Higher);
  return out;
}

}  // namespace

void add_mem_workloads(std::vector<WorkloadDef>& out) {
  {
    WorkloadDef w;
    w.name = "mem.bandwidth";
    w.description =
        "STREAM copy/scale/add/triad in MB/s (1e6 B/s): STREAM's byte counting (copy, scale: 2 arrays x 8 B "
        "per element; add, triad: 3), best time of iterations 2..ntimes, results validated like STREAM; "
        "each thread first-touches and works on its own slice";
    w.params = {
        ParamSpec{"threads", ParamType::Int, "auto", "worker threads (auto = CPUs this process may run on)", true, {}}
            .range(1, kMaxTeamThreads),
        {"size",
         ParamType::Size,
         "auto",
         "bytes per array (3 arrays); auto = max(256MiB, 4 x total last-level cache from sysfs)",
         true,
         {}},
        ParamSpec{"ntimes", ParamType::Int, "10", "iterations of the four kernels; the first is not counted", false, {}}
            .range(2, 100),
        {"pin", ParamType::Bool, "false", "pin thread i to the i-th CPU of the affinity mask", false, {}},
    };
    w.run = run_mem_bandwidth;
    out.push_back(std::move(w));
  }
  {
    WorkloadDef w;
    w.name = "mem.latency";
    w.description =
        "load-to-use latency: a dependent pointer chase over a random cyclic permutation of 64-byte slots "
        "(no prefetcher can help), for working sets doubling from min_size to max_size; ns_<size> = "
        "timed time / timed loads";
    w.params = {
        {"min_size", ParamType::Size, "16KiB", "smallest working set", false, {}},
        {"max_size", ParamType::Size, "1GiB", "largest working set (sizes double from min_size)", false, {}},
        ParamSpec{"max_loads", ParamType::Int, "16777216", "at most this many timed loads per working set", false, {}}
            .range(1, ParamSpec::kUnbounded),
        ParamSpec{"max_time", ParamType::Duration, "250ms", "at most this long timing each working set", false, {}}
            .range(1e-3, ParamSpec::kMaxDurationS),
        {"hugepages",
         ParamType::Bool,
         "false",
         "back the working set with transparent huge pages (MADV_HUGEPAGE; false = MADV_NOHUGEPAGE)",
         false,
         {}},
    };
    w.run = run_mem_latency;
    out.push_back(std::move(w));
  }
  {
    WorkloadDef w;
    w.name = "mem.pagefault";
    w.description =
        "first-touch page faults: write one byte per page of a fresh anonymous mapping; faults are the "
        "kernel's count (getrusage minor+major faults of the thread), time is the touch loop only";
    w.params = {
        {"size", ParamType::Size, "256MiB", "bytes of fresh anonymous memory to touch", false, {}},
        {"thp",
         ParamType::Bool,
         "false",
         "allow transparent huge pages (MADV_HUGEPAGE; false = MADV_NOHUGEPAGE, base pages only); "
         "adds thp_coverage = % of the region the kernel backed with huge pages",
         false,
         {}},
    };
    w.run = run_mem_pagefault;
    out.push_back(std::move(w));
  }
}

}  // namespace vbench
