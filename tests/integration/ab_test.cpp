// A/B in one run: two builds' agents as two environments of one interleaved
// run, judged with `vbench compare RUN --envs base,head`. The head's
// slowdown is injected with a cgroup CPU quota 10% below the base's (both
// environments are containers with a quota small enough to bind even on a
// machine busy with other work); an identical head must not be flagged.
//
// The quota: 0.3 CPU per 100 ms period (30 ms), the head 0.27 (27 ms).
// Both well above the kernel's 5 ms bandwidth slice
// (sched_cfs_bandwidth_slice_us): quotas of 2 ms and 1.8 ms per 20 ms (the
// first version) are handed out in slices larger than themselves, and on a
// quiet machine the "10% slower" head came out 14% faster. 100 ms periods
// over 1 s samples: 10 periods a sample.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "support.hpp"

using namespace vbtest;

namespace {

void require_container() {
  auto r = run_command(vbench_bin() + " list --json 2>/dev/null");
  REQUIRE(r.exit_code == 0);
  for (const auto& e : nlohmann::json::parse(r.out)["environments"])
    if (e["name"] == "container" && !e["available"].get<bool>())
      VB_SKIP("container environment unavailable: " + e["reason"].get<std::string>());
}

// Two copies of the agent, as a CI job has after building base and head.
std::pair<std::string, std::string> two_agents(const std::string& dir) {
  for (const char* side : {"base", "head"}) {
    REQUIRE(vbench::mkdir_p(dir + "/" + side).ok());
    REQUIRE(run_command(fmt::format("cp {} {}/{}/vbench-agent", agent_bin(), dir, side)).exit_code == 0);
  }
  return {dir + "/base/vbench-agent", dir + "/head/vbench-agent"};
}

// Runs base and head interleaved (head limited to head_cpus, base to 0.3
// CPUs) and returns `compare RUN --envs base,head`'s exit code and JSON.
std::pair<int, nlohmann::json> ab_run(const std::string& dir, const std::string& name, double head_cpus) {
  const auto [base, head] = two_agents(dir + "/" + name);
  const std::string suite = dir + "/" + name + ".toml";
  // 30% of a CPU: below what a task in a cgroup of its own gets on this
  // 2-CPU machine even with a few builds beside it (cgroup v1 gives the
  // group a share of its own), so the quota, not the neighbours, sets the pace.
  // No cpuset: cpu.int is not a network workload, so placement `spread`
  // leaves it on every CPU and the scheduler can take the less busy one,
  // which keeps the quota the bound under load.
  REQUIRE(vbench::write_file(suite, fmt::format(R"(
[suite]
name = "ab"
repetitions = 20
max_repetitions = 20
warmup = 1
baseline = "base"
seed = 7

[env.base]
kind = "container"
agent = "{}"
cpus = 0.3
cpu_period = "100ms"
network = "none"

[env.head]
kind = "container"
agent = "{}"
cpus = {}
cpu_period = "100ms"
network = "none"

[[workload]]
name = "cpu.int"
duration = "1s"
)",
                                                base, head, head_cpus))
              .ok());
  const std::string out = dir + "/" + name + "-out";
  auto r = run_command(vbench_bin() + " run --suite " + suite + " --out " + out);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  // The agents each environment ran are recorded with the run.
  const auto results = nlohmann::json::parse(*vbench::read_file(out + "/results.json"));
  bool saw_head_agent = false;
  for (const auto& e : results["run"]["suite"]["envs"])
    if (e["name"] == "head") saw_head_agent = e["knobs"]["agent"] == head;
  CHECK(saw_head_agent);
  auto c = run_command(vbench_bin() + " compare " + out + " --envs base,head --json " + dir + "/" + name + ".json");
  INFO(c.out);
  CHECK(c.out.find("A/B in one run") != std::string::npos);
  return {c.exit_code, nlohmann::json::parse(*vbench::read_file(dir + "/" + name + ".json"))};
}

// The rows a failure is about: every one not `unchanged`, one line each.
std::string moved_rows(const nlohmann::json& cmp) {
  std::string out;
  for (const auto& r : cmp["rows"])
    if (r["verdict"] != "unchanged")
      out += fmt::format("{} {} {}{}: {}\n", r["verdict"].get<std::string>(), r["workload"].get<std::string>(),
                         r["metric"].get<std::string>(), r["gates"].get<bool>() ? "" : " (diagnostic)",
                         r["reason"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("A/B in one run: a 10% slower head is found, an identical head is not", "[ab][container][compare]") {
  require_container();
  TempDir t;
  SECTION("head limited to 90% of the base's CPU quota: regressed") {
    const auto [rc, j] = ab_run(t.path, "slow", 0.27);
    INFO(moved_rows(j));
    CHECK(rc == 1);
    bool found = false;
    for (const auto& row : j["rows"])
      // Throughput; cpu.int's CPU-per-op rows (attribution) may move too.
      if (row["workload"] == "cpu.int" && row["metric"] == "ops" && row["verdict"] == "regressed") {
        found = true;
        CHECK(row["env"] == "head-vs-base");
        CHECK(row["change"].get<double>() == Approx(-0.10).margin(0.04));
      }
    CHECK(found);
  }
  SECTION("identical head: no regression") {
    const auto [rc, j] = ab_run(t.path, "same", 0.3);
    INFO(moved_rows(j));
    CHECK(rc == 0);
    // Diagnostics (counters, cgroup statistics) may move between two
    // identical containers (compare.hpp says why); they do not gate.
    for (const auto& row : j["rows"])
      if (row["gates"].get<bool>()) CHECK(row["verdict"] != "regressed");
    // Bad --envs are refused with the reason.
    auto c = run_command(vbench_bin() + " compare " + t.path + "/same-out --envs base,nosuch");
    CHECK(c.exit_code == 2);
    CHECK(c.out.find("no environment `nosuch`") != std::string::npos);
    c = run_command(vbench_bin() + " compare " + t.path + "/same-out " + t.path + "/same-out --envs base,head");
    CHECK(c.exit_code == 2);
    c = run_command(vbench_bin() + " compare " + t.path + "/same-out --envs base");
    CHECK(c.exit_code == 2);
  }
}
