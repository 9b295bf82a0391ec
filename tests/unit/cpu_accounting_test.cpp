// Host-side CPU accounting per operation (drivers/cpu_accounting.hpp): the
// operation of every workload, the /proc readings it starts from, and the
// arithmetic from two snapshots to ns per operation, cycles and instructions
// per operation.
#include "drivers/cpu_accounting.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <tuple>

#include "core/fs.hpp"
#include "core/procfs.hpp"
#include "counters/per_op.hpp"
#include "workloads/operations.hpp"
#include "workloads/registry.hpp"

using namespace vbench;

namespace {

const Metric* find(const std::vector<Metric>& ms, const std::string& name) {
  for (const auto& m : ms)
    if (m.name == name) return &m;
  return nullptr;
}

Sample sample_with(const std::string& workload, std::vector<Metric> metrics) {
  Sample s;
  s.workload = workload;
  s.metrics = std::move(metrics);
  return s;
}

CounterReading reading(const std::string& name, double v, const std::string& scope = "agent") {
  CounterReading r;
  r.name = name;
  r.value = v;
  r.scope = scope;
  return r;
}

}  // namespace

TEST_CASE("every registered workload says what one of its operations is", "[cpu_accounting]") {
  for (const auto& w : all_workloads()) {
    INFO(w.name);
    const OperationDef* d = find_operation(w.name);
    REQUIRE(d);
    CHECK_FALSE(d->op.empty());
    CHECK(d->scale > 0);
  }
  // And nothing in the table that is not a workload (a renamed one).
  for (const auto& d : all_operations()) {
    INFO(d.workload);
    CHECK(find_workload(d.workload));
  }
}

TEST_CASE("operation rates from each kind of metric", "[cpu_accounting]") {
  // A stream in Mbit/s: 8388.608 Mbit/s = 1000 MiB/s.
  auto r = operation_rate("net.tcp_stream", {{"throughput", 8388.608, "Mbit/s", Better::Higher}});
  REQUIRE(r);
  CHECK(r->op == "MiB");
  CHECK(r->per_s == Approx(1000));
  // A time per operation: 250 ns per call = 4e6 calls/s.
  r = operation_rate("os.syscall", {{"ns_per_call", 250, "ns", Better::Lower}});
  REQUIRE(r);
  CHECK(r->op == "call");
  CHECK(r->per_s == Approx(4e6));
  // A sweep: the largest working set's time per load, whatever the order.
  r = operation_rate("mem.latency", {{"ns_16MiB", 100, "ns", Better::Lower},
                                     {"ns_4KiB", 1, "ns", Better::Lower},
                                     {"ns_1MiB", 10, "ns", Better::Lower}});
  REQUIRE(r);
  CHECK(r->per_s == Approx(1e7));
  // GFLOP/s in MFLOP.
  r = operation_rate("cpu.fp", {{"ops", 2.5, "GFLOP/s", Better::Higher}});
  REQUIRE(r);
  CHECK(r->per_s == Approx(2500));
  // No metric, a zero, NaN, an unknown workload: no rate rather than a wrong one.
  CHECK_FALSE(operation_rate("net.tcp_rr", {{"lat_p50", 10, "us", Better::Lower}}));
  CHECK_FALSE(operation_rate("net.tcp_rr", {{"tps", 0, "trans/s", Better::Higher}}));
  CHECK_FALSE(operation_rate("net.tcp_rr", {{"tps", std::nan(""), "trans/s", Better::Higher}}));
  CHECK_FALSE(operation_rate("no.such", {{"tps", 5, "trans/s", Better::Higher}}));
}

TEST_CASE("proc stat: children's times and guest time, softirq of chosen CPUs", "[cpu_accounting][procfs]") {
  // 52 fields as a 6.x kernel writes them: utime 700, stime 300, cutime 50,
  // cstime 20, guest_time (field 43) 400.
  const std::string line =
      "4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 100 0 0 0 700 300 50 20 20 0 5 0 1000 1 1 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 400 0 0 0 0 0 0 0 0\n";
  auto st = parse_proc_stat(line);
  REQUIRE(st);
  CHECK(st->utime == 700);
  CHECK(st->cutime == 50);
  CHECK(st->cstime == 20);
  CHECK(st->guest_time == 400);
  // An old kernel's 22 fields: guest time absent, read as 0.
  auto old = parse_proc_stat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 7 3 1 2 20 0 1 0 5");
  REQUIRE(old);
  CHECK(old->guest_time == 0);
  CHECK(old->cstime == 2);

  const std::string stat =
      "cpu  100 0 50 1000 5 1 30 0 0 0\n"
      "cpu0 60 0 30 500 2 1 10 0 0 0\n"
      "cpu1 40 0 20 500 3 0 20 0 0 0\n"
      "intr 12345 0 1\n"
      "softirq 999 1 2 3\n";
  CHECK(*parse_softirq_ticks(stat, {}) == 30);
  CHECK(*parse_softirq_ticks(stat, {1}) == 20);
  CHECK(*parse_softirq_ticks(stat, {0, 1}) == 30);
  CHECK_FALSE(parse_softirq_ticks(stat, {2}).ok());  // a CPU without a line
  CHECK_FALSE(parse_softirq_ticks("cpu  1 2 3\n", {}).ok());
  CHECK_FALSE(parse_softirq_ticks("cpu0 1 2 3 4 5 6 x\n", {0}).ok());
  CHECK_FALSE(parse_softirq_ticks("", {}).ok());
  // Busy: user + nice + system + irq + softirq of the host's line; idle,
  // iowait and steal are not.
  CHECK(*parse_busy_ticks("cpu  100 7 50 1000 5 1 30 44 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n") == 100 + 7 + 50 + 1 + 30);
  CHECK_FALSE(parse_busy_ticks("cpu0 1 2 3 4 5 6 7\n").ok());
  CHECK_FALSE(parse_busy_ticks("cpu  1 2 3\n").ok());
  CHECK_FALSE(parse_busy_ticks("cpu  1 2 3 4 5 x 7\n").ok());
  CHECK(st->ppid == 1);
  CHECK(parse_proc_stat("9 (a) b) S 42 1 1 0 -1 0 0 0 0 0 7 3 1 2 20 0 1 0 5")->ppid == 42);
  CHECK_FALSE(parse_proc_stat("9 (a) S x 1 1 0 -1 0 0 0 0 0 7 3 1 2 20 0 1 0 5").ok());
}

TEST_CASE("snapshots from a procfs tree the test builds", "[cpu_accounting]") {
  char tmpl[] = "/tmp/vbench-cpuacct-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  const double tick = 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
  REQUIRE(mkdir_p(root + "/77/task/78"));
  REQUIRE(write_file(root + "/77/stat",
                     "77 (qemu) S 1 77 77 0 -1 0 0 0 0 0 700 300 50 20 20 0 5 0 1000 1 1 1 1 1 0 0 0 0 0 0 0 0 0 17 1 "
                     "0 0 0 0 400 0 0\n"));
  REQUIRE(
      write_file(root + "/77/task/78/stat", "78 (CPU 0/TCG) R 1 77 77 0 -1 0 0 0 0 0 600 100 0 0 20 0 5 0 1000 1 1\n"));
  REQUIRE(write_file(root + "/stat", "cpu  1 0 1 1 0 0 9 0 0 0\ncpu0 1 0 1 1 0 0 4 0 0 0\ncpu1 0 0 0 0 0 0 5 0 0 0\n"));
  auto p = process_cpu_times(77, true, root);
  REQUIRE(p);
  CHECK(p->user == Approx(750 * tick));  // utime + cutime
  CHECK(p->sys == Approx(320 * tick));
  auto q = qemu_cpu_times(77, {78}, root);
  REQUIRE(q);
  CHECK(q->user == Approx(300 * tick));  // utime minus the guest time in it
  CHECK(*q->guest == Approx(400 * tick));
  CHECK(*q->vcpu == Approx(700 * tick));
  CHECK(*proc_stat_ns({1}, root)->softirq == Approx(5 * tick));
  CHECK_FALSE(process_cpu_times(99, true, root).ok());
  // A process tree: 10 -> 11 -> 12, 10 -> 13, and 20 outside it. Each
  // process counts utime + stime + cutime + cstime.
  auto proc_line = [](int pid, int ppid, int ticks) {
    return fmt::format("{} (p) S {} 1 1 0 -1 0 0 0 0 0 {} 1 2 3 20 0 1 0 5\n", pid, ppid, ticks);
  };
  const std::initializer_list<std::tuple<int, int, int>> tree = {
      {10, 1, 100}, {11, 10, 200}, {12, 11, 400}, {13, 10, 800}, {20, 1, 1600}};
  for (auto [pid, ppid, t] : tree) {
    REQUIRE(mkdir_p(fmt::format("{}/{}", root, pid)));
    REQUIRE(write_file(fmt::format("{}/{}/stat", root, pid), proc_line(pid, ppid, t)));
  }
  REQUIRE(mkdir_p(root + "/self"));  // not a pid: ignored
  CHECK(*process_tree_cpu_ns(10, -1, root) == Approx((100 + 200 + 400 + 800 + 4 * 6) * tick));
  CHECK(*process_tree_cpu_ns(10, 11, root) == Approx((100 + 800 + 2 * 6) * tick));  // without 11's subtree
  CHECK(*process_tree_cpu_ns(10, 20, root) == Approx((100 + 200 + 400 + 800 + 4 * 6) * tick));
  CHECK_FALSE(process_tree_cpu_ns(30, -1, root).ok());
  // The real tree of this test process: at least its own time.
  auto mine = process_tree_cpu_ns(getpid(), -1);
  REQUIRE(mine);
  CHECK(*mine >= 0);
  CHECK(*proc_stat_ns({})->busy > 0);
  CHECK_FALSE(qemu_cpu_times(77, {79}, root).ok());  // a vCPU thread that is gone
  (void)remove_tree(root);
}

TEST_CASE("CPU per operation: total, parts and the window", "[cpu_accounting]") {
  // A container moved 1000 MiB/s of TCP for 0.5 s: 500 MiB. Its cgroup used
  // 0.2 s (0.15 s user by the split, 0.04 s sys), softirq 0.05 s.
  Sample s = sample_with("net.tcp_stream", {{"throughput", 8388.608, "Mbit/s", Better::Higher}});
  CpuTimes before, after;
  before.usage = 1e9;
  before.user = 0.8e9;
  before.sys = 0.2e9;
  before.softirq = 3e9;
  after = before;
  *after.usage += 0.2e9;
  after.user += 0.15e9;
  after.sys += 0.04e9;
  *after.softirq += 0.05e9;
  auto ms = cpu_attribution_metrics(s, after - before, 0.5);
  const Metric* total = find(ms, "cpu_ns_per_op");
  REQUIRE(total);
  CHECK(total->unit == "ns/MiB");
  CHECK(total->better == Better::Lower);
  CHECK(total->value == Approx((0.2e9 + 0.05e9) / 500));  // the precise usage, not the tick split
  // The tick split's proportion (15:4) of the precise usage: the parts add
  // up to the environment's total.
  CHECK(find(ms, "cpu_ns_per_op.user")->value == Approx(0.2e9 * 15 / 19 / 500));
  CHECK(find(ms, "cpu_ns_per_op.sys")->value == Approx(0.2e9 * 4 / 19 / 500));
  CHECK(find(ms, "cpu_ns_per_op.user")->value + find(ms, "cpu_ns_per_op.sys")->value == Approx(0.2e9 / 500));
  CHECK(find(ms, "cpu_ns_per_op.softirq")->value == Approx(0.05e9 / 500));
  CHECK_FALSE(find(ms, "cpu_ns_per_op.guest"));  // only where there is a guest
  CHECK_FALSE(find(ms, "cpu_ns_per_op.vcpu"));
  CHECK_FALSE(find(ms, "cycles_per_op"));  // no counters, no cycles

  // Twice the window at the same rate is twice the operations: half per op.
  auto twice = cpu_attribution_metrics(s, after - before, 1.0);
  CHECK(find(twice, "cpu_ns_per_op")->value == Approx(total->value / 2));

  // Without a usage (bare: ticks of the process), the total is the sum.
  CpuTimes d;
  d.user = 3e6;
  d.sys = 1e6;
  d.softirq = 0;
  Sample rr = sample_with("net.tcp_rr", {{"tps", 1000, "trans/s", Better::Higher}});
  auto b = cpu_attribution_metrics(rr, d, 2.0);  // 2000 transactions
  CHECK(find(b, "cpu_ns_per_op")->unit == "ns/transaction");
  CHECK(find(b, "cpu_ns_per_op")->value == Approx(2000));
  // A part that stepped back by a tick is 0, not negative.
  d.sys = -1e6;
  CHECK(find(cpu_attribution_metrics(rr, d, 2.0), "cpu_ns_per_op.sys")->value == 0);

  // Failed samples, unknown rates and empty windows give nothing.
  Sample failed = rr;
  failed.ok = false;
  CHECK(cpu_attribution_metrics(failed, d, 2.0).empty());
  CHECK(cpu_attribution_metrics(sample_with("net.tcp_rr", {}), d, 2.0).empty());
  CHECK(cpu_attribution_metrics(rr, d, 0).empty());
  // A missing snapshot adds nothing.
  Sample keep = rr;
  add_cpu_attribution(keep, std::nullopt, d, 1.0);
  CHECK(keep.env_metrics.empty());
  // A cgroup without the user/system split: the total only.
  CpuTimes nosplit;
  nosplit.usage = 1e6;
  nosplit.split = false;
  auto ns = cpu_attribution_metrics(rr, nosplit, 1.0);
  CHECK(find(ns, "cpu_ns_per_op"));
  CHECK_FALSE(find(ns, "cpu_ns_per_op.user"));
  // An exact total over a window in which no tick moved: no split to scale.
  CpuTimes noticks;
  noticks.usage = 3e6;
  auto nt = cpu_attribution_metrics(rr, noticks, 1.0);
  CHECK(find(nt, "cpu_ns_per_op")->value == Approx(3e6 / 1000));
  CHECK_FALSE(find(nt, "cpu_ns_per_op.user"));
  CHECK_FALSE(find(nt, "cpu_ns_per_op.sys"));
  // A part that stepped back by a tick is 0 before the scaling: all is user.
  noticks.user = 2e7;
  noticks.sys = -1e7;
  nt = cpu_attribution_metrics(rr, noticks, 1.0);
  CHECK(find(nt, "cpu_ns_per_op.user")->value == Approx(3e6 / 1000));
  CHECK(find(nt, "cpu_ns_per_op.sys")->value == 0);
}

TEST_CASE("other work on the host: busy time minus the environment, softirq and vbench", "[cpu_accounting]") {
  CpuTimes d;
  d.usage = 0.3e9;  // the agent: one CPU over a 0.3 s window
  d.softirq = 0.01e9;
  CHECK_FALSE(foreign_cpus_metric(d, 0.3));  // no host reading: nothing
  d.host_busy = 0.6e9;
  d.ours_elsewhere = 0.02e9;  // harness and peer
  auto m = foreign_cpus_metric(d, 0.3);
  REQUIRE(m);
  CHECK(m->name == "foreign_cpus");
  CHECK(m->unit == "CPUs");
  CHECK(m->better == Better::Lower);
  CHECK(m->value == Approx((0.6e9 - 0.3e9 - 0.01e9 - 0.02e9) / 0.3e9));
  // Tick sampling can make the host's busy time less than ours: 0, not negative.
  d.host_busy = 0.25e9;
  CHECK(foreign_cpus_metric(d, 0.3)->value == 0);
  CHECK_FALSE(foreign_cpus_metric(d, 0));
  // Only measured samples carry it, next to the attribution.
  Sample s = sample_with("cpu.int", {{"ops", 1000, "op/s", Better::Higher}});
  CpuTimes before, after;
  before.host_busy = 0;
  before.ours_elsewhere = 0;
  before.usage = 0;
  after = before;
  after.usage = 1e9;
  after.host_busy = 2e9;
  add_cpu_attribution(s, before, after, 1.0);
  REQUIRE(find(s.env_metrics, "foreign_cpus"));
  CHECK(find(s.env_metrics, "foreign_cpus")->value == Approx(1.0));
  Sample failed = s;
  failed.ok = false;
  failed.env_metrics.clear();
  add_cpu_attribution(failed, before, after, 1.0);
  CHECK(failed.env_metrics.empty());
}

TEST_CASE("CPU per operation in a guest: vCPU and I/O threads, guest mode", "[cpu_accounting]") {
  Sample s = sample_with("disk.randread", {{"iops", 10000, "IO/s", Better::Higher}});
  CpuTimes d;  // 1 s window: 10000 I/Os
  d.user = 0.1e9;
  d.sys = 0.2e9;
  d.guest = 0.5e9;
  d.vcpu = 0.6e9;
  d.softirq = 0.01e9;
  auto ms = cpu_attribution_metrics(s, d, 1.0);
  CHECK(find(ms, "cpu_ns_per_op")->value == Approx((0.8e9 + 0.01e9) / 1e4));
  CHECK(find(ms, "cpu_ns_per_op.guest")->value == Approx(0.5e9 / 1e4));
  CHECK(find(ms, "cpu_ns_per_op.vcpu")->value == Approx(0.6e9 / 1e4));
  CHECK(find(ms, "cpu_ns_per_op.io")->value == Approx(0.2e9 / 1e4));
  CHECK(find(ms, "cpu_ns_per_op")->unit == "ns/I/O");
}

TEST_CASE("cycles and instructions per operation when the counters exist", "[cpu_accounting][counters]") {
  // The formula: count per CPU ns of its window × CPU ns per op.
  CHECK(*counter_per_op(3e9, 1e9, 500) == Approx(1500));
  CHECK_FALSE(counter_per_op(3e9, 0, 500));
  CHECK_FALSE(counter_per_op(3e9, 1e9, 0));
  CHECK_FALSE(counter_per_op(std::nan(""), 1e9, 500));

  Sample s = sample_with("net.tcp_rr", {{"tps", 1000, "trans/s", Better::Higher}});
  CpuTimes d;
  d.user = 1e9;
  d.sys = 1e9;  // 2 s CPU over 1 s, 1000 transactions: 2e6 ns per transaction
  d.softirq = 0.5e9;
  // The agent's region: 0.5 s of task-clock, 1.5e9 cycles (3 GHz), 1e9 instructions.
  s.counters = {reading("task-clock", 0.5e9), reading("cycles", 1.5e9), reading("instructions", 1e9)};
  auto ms = cpu_attribution_metrics(s, d, 1.0);
  REQUIRE(find(ms, "cycles_per_op"));
  CHECK(find(ms, "cycles_per_op")->value == Approx(3.0 * 2e6));  // softirq is not the environment's
  CHECK(find(ms, "cycles_per_op")->unit == "cycles/transaction");
  CHECK(find(ms, "instructions_per_op")->value == Approx(2.0 * 2e6));
  // Host-side counts of the same window win over the agent's region.
  s.counters.push_back(reading("task-clock", 2e9, "host-cgroup"));
  s.counters.push_back(reading("cycles", 4e9, "host-cgroup"));
  ms = cpu_attribution_metrics(s, d, 1.0);
  CHECK(find(ms, "cycles_per_op")->value == Approx(4e9 / 1000));       // exactly count / operations
  CHECK(find(ms, "instructions_per_op")->value == Approx(2.0 * 2e6));  // only the agent counted these
  // Unsupported is not zero: no per-op value at all (this host's case).
  Sample u = sample_with("net.tcp_rr", {{"tps", 1000, "trans/s", Better::Higher}});
  CounterReading c = reading("cycles", 0);
  c.value.reset();
  c.status = "unsupported";
  u.counters = {reading("task-clock", 0.5e9), c};
  ms = cpu_attribution_metrics(u, d, 1.0);
  CHECK_FALSE(find(ms, "cycles_per_op"));
  CHECK(find(ms, "cpu_ns_per_op"));
}

TEST_CASE("softirq CPUs follow the placement", "[cpu_accounting]") {
  CHECK(softirq_cpus(Placement::Spread, true, 4) == std::vector<int>{0, 1, 2, 3});
  CHECK(softirq_cpus(Placement::Same, true, 4) == std::vector<int>{0});
  CHECK(softirq_cpus(Placement::None, true, 4).empty());          // unpinned: the whole host
  CHECK(softirq_cpus(Placement::Spread, true, 4, true).empty());  // a cpuset knob: the whole host
  const auto j = describe_cpu_accounting("src", Placement::Same, 2);
  CHECK(j["softirq_network"] == "CPUs 0");
  CHECK(describe_cpu_accounting("src", Placement::None, 2)["softirq_other"] == "the whole host");
}

TEST_CASE("a runtime's cgroup: v1 cpuacct and v2 cpu.stat directories", "[cpu_accounting][cgroup]") {
  char tmpl[] = "/tmp/vbench-cgcpu-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  const double tick = 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
  // v1: the cpu hierarchy's cpu.stat has only throttling; cpuacct has the time.
  REQUIRE(mkdir_p(root + "/v1/cpu/vbench/x"));
  REQUIRE(mkdir_p(root + "/v1/cpuacct/vbench/x"));
  REQUIRE(write_file(root + "/v1/cpu/vbench/x/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"));
  REQUIRE(write_file(root + "/v1/cpuacct/vbench/x/cpuacct.usage", "2500000000\n"));
  REQUIRE(write_file(root + "/v1/cpuacct/vbench/x/cpuacct.stat", "user 200\nsystem 50\n"));
  auto v1 = cgroup_dir_cpu_times({root + "/v1/cpu/vbench/x", root + "/v1/cpuacct/vbench/x"});
  REQUIRE(v1);
  CHECK(*v1->usage == Approx(2.5e9));
  CHECK(v1->user == Approx(200 * tick));
  CHECK(v1->sys == Approx(50 * tick));
  CHECK(v1->split);
  // v2: microseconds.
  REQUIRE(mkdir_p(root + "/v2/vbench/x"));
  REQUIRE(write_file(root + "/v2/vbench/x/cpu.stat", "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\n"));
  auto v2 = cgroup_dir_cpu_times({root + "/v2/vbench/x"});
  REQUIRE(v2);
  CHECK(*v2->usage == Approx(3e6));
  CHECK(v2->user == Approx(2e6));
  // Without the split: the total alone.
  REQUIRE(write_file(root + "/v2/vbench/x/cpu.stat", "usage_usec 3000\n"));
  auto total_only = cgroup_dir_cpu_times({root + "/v2/vbench/x"});
  REQUIRE(total_only);
  CHECK_FALSE(total_only->split);
  // Nothing to read: an error, not zeros.
  CHECK_FALSE(cgroup_dir_cpu_times({root + "/v1/cpu/vbench/x"}).ok());
  CHECK_FALSE(cgroup_dir_cpu_times({}).ok());
  (void)remove_tree(root);
}
