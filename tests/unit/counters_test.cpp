// Counters: the arithmetic (multiplexing scaling, summing, group reads),
// name resolution through libpfm4, derived metrics and the perf_event cgroup
// lookup against proc trees built here. Counting for real is in
// tests/integration/counters_test.cpp.
#include "counters/counters.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/fs.hpp"
#include "counters/event_groups.hpp"
#include "counters/events.hpp"

using namespace vbench;

TEST_CASE("combine_counts scales each part for multiplexing and sums", "[counters]") {
  struct Row {
    const char* what;
    std::vector<EventCount> parts;
    double value;
    double running_fraction;
  };
  const std::vector<Row> rows = {
      {"never multiplexed", {{1000, 500, 500}}, 1000, 1.0},
      {"on a counter half the time", {{100, 200, 100}}, 200, 0.5},
      {"two threads, one multiplexed", {{100, 200, 100}, {50, 100, 100}}, 250, 200.0 / 300.0},
      {"a quarter of the time", {{7, 4000, 1000}}, 28, 0.25},
      {"a thread that never entered adds nothing", {{10, 10, 10}, {0, 0, 0}}, 10, 1.0},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    auto r = combine_counts("cycles", row.parts, "agent");
    CHECK(r.status == "ok");
    CHECK(r.name == "cycles");
    CHECK(r.scope == "agent");
    REQUIRE(r.value);
    CHECK(*r.value == Approx(row.value));
    CHECK(r.running_fraction == Approx(row.running_fraction));
  }
}

TEST_CASE("combine_counts: never on a counter or never enabled is not-counted, not zero", "[counters]") {
  auto starved = combine_counts("instructions", {{0, 5000, 0}, {100, 100, 100}}, "agent");
  CHECK(starved.status == "not-counted");
  CHECK_FALSE(starved.value);
  CHECK_THAT(starved.reason, Catch::Contains("1 of 2"));

  auto idle = combine_counts("instructions", {{0, 0, 0}}, "agent");
  CHECK(idle.status == "not-counted");
  CHECK_FALSE(idle.value);
  CHECK(idle.running_fraction == 0);
}

TEST_CASE("count_delta is the window between two cumulative reads", "[counters]") {
  auto d = count_delta({150, 3000, 1500}, {50, 1000, 500});
  CHECK(d.value == 100);
  CHECK(d.enabled == 2000);
  CHECK(d.running == 1000);
  auto clamped = count_delta({1, 1, 1}, {5, 5, 5});  // never negative
  CHECK(clamped.value == 0);
}

TEST_CASE("parse_group_read reads nr, times and (value, id) pairs", "[counters]") {
  const uint64_t words[] = {2, 1000, 500, 11, 7, 22, 8};
  auto g = parse_group_read(words, 7);
  REQUIRE(g);
  CHECK(g->enabled == 1000);
  CHECK(g->running == 500);
  REQUIRE(g->id_values.size() == 2);
  CHECK(g->id_values[0] == std::pair<uint64_t, uint64_t>{7, 11});
  CHECK(g->id_values[1] == std::pair<uint64_t, uint64_t>{8, 22});

  CHECK_FALSE(parse_group_read(words, 2));
  CHECK_FALSE(parse_group_read(words, 6));  // announces 2 events, holds 1.5
}

TEST_CASE("expand_counter_names expands default, trims and drops duplicates", "[counters]") {
  auto names = expand_counter_names({" page-faults", "default", "", "cycles", "MEM_LOAD_RETIRED.L3_MISS"});
  REQUIRE(names.size() == 12);
  CHECK(names[0] == "page-faults");
  CHECK(names[1] == "task-clock");
  CHECK(names[10] == "dTLB-load-misses");
  CHECK(names[11] == "MEM_LOAD_RETIRED.L3_MISS");
  CHECK(default_counter_names().size() == 11);
}

TEST_CASE("perf names resolve through libpfm4 to the attr perf stat uses", "[counters]") {
  struct Row {
    const char* name;
    uint32_t type;
    uint64_t config;
  };
  const std::vector<Row> rows = {
      {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
      {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
      {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
      {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
      {"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
      {"alignment-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS},  // not in libpfm4: our table
      {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
      {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
      {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
      {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
      {"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
      {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
      {"dTLB-load-misses", PERF_TYPE_HW_CACHE,
       PERF_COUNT_HW_CACHE_DTLB | (PERF_COUNT_HW_CACHE_OP_READ << 8) | (PERF_COUNT_HW_CACHE_RESULT_MISS << 16)},
      {"L1-dcache-load-misses", PERF_TYPE_HW_CACHE,
       PERF_COUNT_HW_CACHE_L1D | (PERF_COUNT_HW_CACHE_OP_READ << 8) | (PERF_COUNT_HW_CACHE_RESULT_MISS << 16)},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    auto e = resolve_event(row.name);
    REQUIRE(e);
    CHECK(e->name == row.name);  // results keep perf's spelling
    CHECK(e->attr.type == row.type);
    CHECK(e->attr.config == row.config);
    CHECK_FALSE(e->attr.exclude_user);
    CHECK_FALSE(e->attr.exclude_kernel);
    CHECK(e->attr.size == sizeof(perf_event_attr));
  }
}

TEST_CASE("perf modifier suffixes set the exclude bits", "[counters]") {
  auto u = resolve_event("cycles:u");
  REQUIRE(u);
  CHECK(u->attr.exclude_kernel);
  CHECK_FALSE(u->attr.exclude_user);
  auto g = resolve_event("cycles:G");  // libpfm4 does not know :G; perf does
  REQUIRE(g);
  CHECK(g->attr.exclude_host);
  CHECK_FALSE(g->attr.exclude_guest);
  auto kh = resolve_event("instructions:kH");
  REQUIRE(kh);
  CHECK(kh->attr.exclude_user);
  CHECK_FALSE(kh->attr.exclude_kernel);
  CHECK(kh->attr.exclude_guest);
  CHECK_FALSE(kh->attr.exclude_host);
}

TEST_CASE("an unknown event name is an error naming it", "[counters]") {
  auto e = resolve_event("no-such-event");
  REQUIRE_FALSE(e);
  CHECK_THAT(e.error().message, Catch::Contains("`no-such-event`"));

  auto rc = RegionCounters::create({"page-faults", "cycels"});
  REQUIRE_FALSE(rc);
  CHECK_THAT(rc.error().message, Catch::Contains("`cycels`"));

  CHECK_FALSE(validate_counter_names({"default", "bogus-thing"}));
  CHECK(validate_counter_names({"default"}));

  auto host = HostCounters::for_threads({1}, {"nope"});
  REQUIRE_FALSE(host);
  CHECK_THAT(host.error().message, Catch::Contains("`nope`"));
}

TEST_CASE("open errors: the machine's refusals are unsupported, with a reason", "[counters]") {
  auto denied = classify_open_error(EACCES, false);
  CHECK(denied.status == "unsupported");
  CHECK_THAT(denied.reason, Catch::Contains("perf_event_paranoid="));
  CHECK(classify_open_error(ENOENT, false).status == "unsupported");
  CHECK(classify_open_error(EOPNOTSUPP, false).status == "unsupported");
  CHECK(classify_open_error(ENODEV, false).status == "unsupported");
  CHECK(classify_open_error(EMFILE, false).status == "error");
  CHECK_THAT(classify_open_error(EBADF, true).reason, Catch::Contains("perf_event hierarchy"));
}

namespace {

CounterReading ok(const std::string& name, double v, const std::string& scope = "agent") {
  CounterReading r;
  r.name = name;
  r.value = v;
  r.scope = scope;
  return r;
}

CounterReading unsupported(const std::string& name) {
  CounterReading r;
  r.name = name;
  r.status = "unsupported";
  r.reason = "no PMU";
  return r;
}

const Metric* find(const std::vector<Metric>& ms, const std::string& name) {
  for (const auto& m : ms)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace

TEST_CASE("derived metrics come only from ok inputs", "[counters]") {
  std::vector<CounterReading> rs = {ok("cycles", 2000),
                                    ok("instructions", 3000),
                                    ok("branches", 400),
                                    ok("branch-misses", 20),
                                    ok("cache-references", 50),
                                    ok("cache-misses", 15),
                                    ok("dTLB-load-misses", 6),
                                    ok("instructions", 100, "host-vcpu"),
                                    ok("cycles", 400, "host-vcpu")};
  auto ms = derived_counter_metrics(rs);
  REQUIRE(find(ms, "ipc"));
  CHECK(find(ms, "ipc")->value == Approx(1.5));
  CHECK(find(ms, "ipc")->better == Better::Higher);
  CHECK(find(ms, "branch_miss_pct")->value == Approx(5.0));
  CHECK(find(ms, "cache_miss_pct")->value == Approx(30.0));
  CHECK(find(ms, "mpki")->value == Approx(5.0));
  CHECK(find(ms, "dtlb_mpki")->value == Approx(2.0));
  CHECK(find(ms, "mpki")->better == Better::Lower);
  REQUIRE(find(ms, "host-vcpu:ipc"));
  CHECK(find(ms, "host-vcpu:ipc")->value == Approx(0.25));

  // No PMU: software counters only, so no ratios at all.
  auto none = derived_counter_metrics({ok("task-clock", 1e6), unsupported("cycles"), unsupported("instructions"),
                                       ok("branches", 10), unsupported("branch-misses")});
  CHECK(none.empty());
  // A zero denominator gives no ratio rather than inf.
  CHECK(derived_counter_metrics({ok("cycles", 0), ok("instructions", 5)}).empty());
}

namespace {

std::string make_proc(const std::string& mountinfo, const std::string& cgroups) {
  char t[] = "/tmp/vbench-proc-XXXXXX";
  std::string root = mkdtemp(t);
  REQUIRE(mkdir_p(root + "/self"));
  REQUIRE(write_file(root + "/self/mountinfo", mountinfo));
  REQUIRE(write_file(root + "/cgroups", cgroups));
  return root;
}

const char* kCgroupsHybrid =
    "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\nmemory\t4\t40\t1\nperf_event\t0\t1\t1\n";
const char* kCgroupsV1Perf = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\nperf_event\t9\t3\t1\n";

}  // namespace

TEST_CASE("perf_event_cgroup_root finds the v1 perf_event mount, else v2", "[counters]") {
  const std::string base =
      "30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
      "33 30 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:10 - cgroup cgroup rw,cpu\n"
      "34 30 0:30 / /sys/fs/cgroup/unified rw,relatime shared:11 - cgroup2 cgroup2 rw\n";
  SECTION("v1 hierarchy with perf_event") {
    auto proc = make_proc(base + "40 30 0:35 / /sys/fs/cgroup/perf\\040event rw - cgroup cgroup rw,perf_event\n",
                          kCgroupsV1Perf);
    auto root = perf_event_cgroup_root(proc);
    REQUIRE(root);
    CHECK(*root == "/sys/fs/cgroup/perf event");
    REQUIRE(remove_tree(proc));
  }
  SECTION("hybrid host with perf_event bound to no v1 hierarchy: v2") {
    auto proc = make_proc(base, kCgroupsHybrid);
    auto root = perf_event_cgroup_root(proc);
    REQUIRE(root);
    CHECK(*root == "/sys/fs/cgroup/unified");
    REQUIRE(remove_tree(proc));
  }
  SECTION("nowhere") {
    auto proc = make_proc("30 24 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", kCgroupsHybrid);
    auto root = perf_event_cgroup_root(proc);
    REQUIRE_FALSE(root);
    CHECK_THAT(root.error().message, Catch::Contains("perf_event"));
    REQUIRE(remove_tree(proc));
  }
}
