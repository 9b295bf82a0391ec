// cpu.* and mem.* workloads: their kernels against known answers, the
// thread team and cache-info helpers, and each workload run for real with
// small parameters through the agent's run_workload_here.
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/protocol.hpp"
#include "core/fs.hpp"
#include "workloads/cache_info.hpp"
#include "workloads/cpu_kernels.hpp"
#include "workloads/mem_kernels.hpp"
#include "workloads/registry.hpp"
#include "workloads/threads.hpp"

using namespace vbench;

namespace {

Sample run(const std::string& workload, nlohmann::json params, const std::atomic<bool>* stop = nullptr) {
  RunRequest req;
  req.workload = workload;
  req.params = std::move(params);
  return run_workload_here(req, stop);
}

const Metric& metric_of(const Sample& s, const std::string& name) {
  INFO(s.workload << " " << (s.ok ? std::string("ok") : s.error) << ": metric " << name);
  const Metric* m = s.metric(name);
  REQUIRE(m != nullptr);
  return *m;
}

void require_metric(const Sample& s, const std::string& name, const std::string& unit, Better better) {
  const Metric& m = metric_of(s, name);
  CHECK(m.unit == unit);
  CHECK(m.better == better);
  CHECK(std::isfinite(m.value));
  CHECK(m.value > 0);
}

// A sysfs-like cpu tree under a temporary directory, removed afterwards.
struct FakeSysCpu {
  std::string root;
  FakeSysCpu() {
    char tmpl[] = "/tmp/vbench-syscpu-XXXXXX";
    root = ::mkdtemp(tmpl);
  }
  ~FakeSysCpu() { (void)remove_tree(root); }
  void cache(int cpu, int index, int level, const std::string& type, const std::string& size,
             const std::string& shared) {
    const std::string dir = root + "/cpu" + std::to_string(cpu) + "/cache/index" + std::to_string(index);
    REQUIRE(mkdir_p(dir));
    REQUIRE(write_file(dir + "/level", std::to_string(level) + "\n"));
    REQUIRE(write_file(dir + "/type", type + "\n"));
    REQUIRE(write_file(dir + "/size", size + "\n"));
    REQUIRE(write_file(dir + "/shared_cpu_list", shared + "\n"));
  }
};

}  // namespace

TEST_CASE("xxh64 matches the reference test vectors", "[workloads][cpu]") {
  auto h = [](const char* s, uint64_t seed = 0) { return xxh64(s, std::strlen(s), seed); };
  CHECK(h("") == 0xEF46DB3751D8E999ull);
  CHECK(h("a") == 15154266338359012955ull);
  CHECK(h("abc") == 4952883123889572249ull);
  CHECK(h("a", 1) == 16051599287423682246ull);
  // >= 32 bytes: the four-lane stripe loop, then the 8-, 4- and 1-byte tails.
  CHECK(h("The quick brown fox jumps over the lazy dog") == 0x0B242D361FDA71BCull);
}

TEST_CASE("xxh64_block_chain seeds each hash with the previous digest", "[workloads][cpu]") {
  std::vector<unsigned char> buf(3 * 256);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(i * 31 + 7);
  uint64_t want = 42;
  for (int i = 0; i < 7; ++i) want = xxh64(buf.data() + (i % 3) * 256, 256, want);
  CHECK(xxh64_block_chain(buf.data(), 256, 3, 7, 42) == want);
}

TEST_CASE("dgemm_tiled computes C += A*B, also for orders that are not multiples of its tiles", "[workloads][cpu]") {
  for (int n : {5, 70, 131}) {
    const size_t e = static_cast<size_t>(n) * n;
    std::vector<double> a(e), b(e), c(e, 1.0);
    for (size_t i = 0; i < e; ++i) {
      a[i] = static_cast<double>(i % 13) - 6;
      b[i] = static_cast<double>(i % 7) * 0.5;
    }
    dgemm_tiled(a.data(), b.data(), c.data(), n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        double want = 1.0;
        for (int k = 0; k < n; ++k) want += a[static_cast<size_t>(i) * n + k] * b[static_cast<size_t>(k) * n + j];
        REQUIRE(c[static_cast<size_t>(i) * n + j] == Approx(want).epsilon(1e-12));
      }
  }
}

TEST_CASE("link_random_cycle makes one cycle through every slot", "[workloads][mem]") {
  constexpr size_t kSlots = 1000, kSlot = 64;
  std::vector<unsigned char> mem(kSlots * kSlot);
  std::vector<uint32_t> order(kSlots);
  link_random_cycle(mem.data(), kSlots, kSlot, order.data(), 7);
  std::vector<int> seen(kSlots, 0);
  const void* p = mem.data();
  size_t sequential = 0;
  for (size_t i = 0; i < kSlots; ++i) {
    const auto off = static_cast<size_t>(static_cast<const unsigned char*>(p) - mem.data());
    REQUIRE(off % kSlot == 0);
    REQUIRE(off < mem.size());
    ++seen[off / kSlot];
    const void* next = pointer_chase(p, 1);
    if (static_cast<const unsigned char*>(next) == static_cast<const unsigned char*>(p) + kSlot) ++sequential;
    p = next;
  }
  CHECK(p == mem.data());  // back at the start after exactly kSlots loads
  for (int s : seen) REQUIRE(s == 1);
  CHECK(sequential < 10);  // random, not a stride a prefetcher could follow
  CHECK(pointer_chase(mem.data(), 3 * kSlots + 17) == pointer_chase(mem.data(), 17));
}

TEST_CASE("touch_pages writes one byte per stride", "[workloads][mem]") {
  std::vector<unsigned char> mem(10 * 4096, 0);
  touch_pages(mem.data(), mem.size(), 4096);
  size_t ones = 0;
  for (unsigned char c : mem) ones += c;
  CHECK(ones == 10);
  CHECK(mem[4096] == 1);
  CHECK(mem[4097] == 0);
}

TEST_CASE("parse_sysfs_cache_size reads sysfs spellings", "[workloads][cache]") {
  CHECK(*parse_sysfs_cache_size("32K") == 32 * 1024);
  CHECK(*parse_sysfs_cache_size("32768K") == 32ull * 1024 * 1024);
  CHECK(*parse_sysfs_cache_size("2M") == 2ull * 1024 * 1024);
  CHECK(*parse_sysfs_cache_size("512") == 512);
  CHECK_FALSE(parse_sysfs_cache_size("big").ok());
  CHECK_FALSE(parse_sysfs_cache_size("4X").ok());
}

TEST_CASE("last_level_cache_total counts each LLC instance once", "[workloads][cache]") {
  SECTION("one L3 shared by two CPUs") {
    FakeSysCpu fs;
    for (int cpu = 0; cpu < 2; ++cpu) {
      fs.cache(cpu, 0, 1, "Data", "32K", std::to_string(cpu));
      fs.cache(cpu, 1, 1, "Instruction", "32K", std::to_string(cpu));
      fs.cache(cpu, 2, 2, "Unified", "512K", std::to_string(cpu));
      fs.cache(cpu, 3, 3, "Unified", "32768K", "0-1");
    }
    REQUIRE(mkdir_p(fs.root + "/cpufreq"));  // not a CPU
    CHECK(last_level_cache_total(fs.root) == std::optional<uint64_t>(32ull << 20));
  }
  SECTION("two L3 instances (two CCXs or sockets)") {
    FakeSysCpu fs;
    for (int cpu = 0; cpu < 4; ++cpu) {
      fs.cache(cpu, 0, 2, "Unified", "1M", std::to_string(cpu));
      fs.cache(cpu, 1, 3, "Unified", "16M", cpu < 2 ? "0-1" : "2-3");
    }
    CHECK(last_level_cache_total(fs.root) == std::optional<uint64_t>(32ull << 20));
  }
  SECTION("no cache information") {
    FakeSysCpu fs;
    REQUIRE(mkdir_p(fs.root + "/cpu0"));
    CHECK_FALSE(last_level_cache_total(fs.root).has_value());
  }
}

TEST_CASE("run_thread_team: a thread that fails does not strand the others", "[workloads][threads]") {
  std::atomic<int> passed{0};
  auto st = run_thread_team({3, false}, [&](int index, TeamBarrier& barrier) -> Status {
    if (index == 1) return make_error("set-up of thread 1 failed");
    barrier.arrive_and_wait();
    barrier.arrive_and_wait();
    ++passed;
    return {};
  });
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message == "set-up of thread 1 failed");
  CHECK(passed == 2);
}

TEST_CASE("run_thread_team: pinned threads run on the CPUs they were given", "[workloads][threads]") {
  const auto cpus = allowed_cpus();
  REQUIRE_FALSE(cpus.empty());
  const int n = static_cast<int>(cpus.size());
  std::vector<int> ran_on(static_cast<size_t>(n), -1);
  auto st = run_thread_team({n, true}, [&](int index, TeamBarrier& barrier) -> Status {
    barrier.arrive_and_wait();
    ran_on[static_cast<size_t>(index)] = sched_getcpu();
    return {};
  });
  REQUIRE(st.ok());
  for (int i = 0; i < n; ++i) CHECK(ran_on[static_cast<size_t>(i)] == cpus[static_cast<size_t>(i)]);
}

TEST_CASE("cpu.int reports ops/s", "[workloads][cpu]") {
  for (int threads : {1, 2}) {
    Sample s = run("cpu.int", {{"duration", "200ms"}, {"threads", threads}});
    INFO(s.error);
    REQUIRE(s.ok);
    require_metric(s, "ops", "ops/s", Better::Higher);
  }
}

TEST_CASE("cpu.fp reports GFLOP/s", "[workloads][cpu]") {
  Sample s = run("cpu.fp", {{"duration", "200ms"}, {"n", 96}, {"threads", 2}, {"pin", true}});
  INFO(s.error);
  REQUIRE(s.ok);
  require_metric(s, "ops", "GFLOP/s", Better::Higher);
  // A plausible number: more than 10 MFLOP/s, less than 1 TFLOP/s.
  CHECK(metric_of(s, "ops").value > 0.01);
  CHECK(metric_of(s, "ops").value < 1000);
}

TEST_CASE("cpu workloads stop when asked", "[workloads][cpu]") {
  std::atomic<bool> stop{true};
  Sample s = run("cpu.int", {{"duration", "10s"}}, &stop);
  CHECK_FALSE(s.ok);
  CHECK(s.error == "interrupted");
  CHECK(s.wall_s < 5);
}

TEST_CASE("mem.bandwidth reports STREAM's four kernels in MB/s", "[workloads][mem]") {
  Sample s = run("mem.bandwidth", {{"size", "4MiB"}, {"threads", 2}, {"ntimes", 3}});
  INFO(s.error);
  REQUIRE(s.ok);
  for (const char* k : {"copy", "scale", "add", "triad"}) require_metric(s, k, "MB/s", Better::Higher);
  CHECK(s.metrics.size() == 4);
}

TEST_CASE("mem.bandwidth rejects ntimes below STREAM's minimum", "[workloads][mem]") {
  Sample s = run("mem.bandwidth", {{"size", "1MiB"}, {"ntimes", 1}});
  CHECK_FALSE(s.ok);
  CHECK_THAT(s.error, Catch::Contains("ntimes"));
}

TEST_CASE("mem.latency reports one ns metric per working set", "[workloads][mem]") {
  Sample s = run("mem.latency", {{"min_size", "16KiB"}, {"max_size", "64MiB"}, {"max_time", "40ms"}});
  INFO(s.error);
  REQUIRE(s.ok);
  const std::vector<std::string> names = {"ns_16KiB",  "ns_32KiB", "ns_64KiB", "ns_128KiB", "ns_256KiB",
                                          "ns_512KiB", "ns_1MiB",  "ns_2MiB",  "ns_4MiB",   "ns_8MiB",
                                          "ns_16MiB",  "ns_32MiB", "ns_64MiB"};
  REQUIRE(s.metrics.size() == names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(s.metrics[i].name == names[i]);
    require_metric(s, names[i], "ns", Better::Lower);
  }
  // A working set 4096x larger is not faster than one that fits in L1 by
  // a wide margin (on a quiet machine it is many times slower).
  CHECK(metric_of(s, "ns_64MiB").value > 0.7 * metric_of(s, "ns_16KiB").value);
}

TEST_CASE("mem.pagefault counts one fault per 4 KiB page", "[workloads][mem]") {
  const long page = sysconf(_SC_PAGESIZE);
  const double pages = static_cast<double>(16 << 20) / static_cast<double>(page);
  Sample s = run("mem.pagefault", {{"size", "16MiB"}});
  INFO(s.error);
  REQUIRE(s.ok);
  require_metric(s, "faults_per_s", "faults/s", Better::Higher);
  require_metric(s, "ns_per_fault", "ns", Better::Lower);
  const double faults = metric_of(s, "faults").value;
  CHECK(faults >= pages);
  CHECK(faults <= pages * 1.01 + 16);
  CHECK(metric_of(s, "faults_per_s").value * metric_of(s, "ns_per_fault").value == Approx(1e9).epsilon(1e-9));
  CHECK(s.metric("thp_coverage") == nullptr);
}

TEST_CASE("mem.pagefault with thp reports what the kernel did", "[workloads][mem]") {
  const long page = sysconf(_SC_PAGESIZE);
  const double pages = static_cast<double>(16 << 20) / static_cast<double>(page);
  Sample s = run("mem.pagefault", {{"size", "16MiB"}, {"thp", true}});
  INFO(s.error);
  REQUIRE(s.ok);
  const double faults = metric_of(s, "faults").value;
  const double coverage = metric_of(s, "thp_coverage").value;
  CHECK(coverage >= 0);
  CHECK(coverage <= 100);
  // Every huge page saves 511 faults; whatever the kernel managed, the count
  // must add up.
  const double huge_pages = coverage / 100 * 8;  // 16 MiB = 8 x 2 MiB
  CHECK(faults >= huge_pages + (pages - huge_pages * 512) - 1);
  CHECK(faults <= pages * 1.01 + 16);
}
