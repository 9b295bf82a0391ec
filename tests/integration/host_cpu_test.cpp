// Host-side CPU accounting of real runs: bare's exact total (a task-clock
// counter on the agent's process tree) and the busy-host warning when other
// work runs beside the run.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>
#include <vector>

#include "analysis/summary.hpp"
#include "core/fs.hpp"
#include "core/procfs.hpp"
#include "model/results.hpp"
#include "support.hpp"

using namespace vbtest;

namespace {

// Processes that spin on a CPU each until destroyed, and at most `seconds`
// (SIGALRM ends them) even if this test dies without destroying them.
struct CpuHog {
  std::vector<pid_t> pids;
  CpuHog(int n, unsigned seconds) {
    for (int i = 0; i < n; ++i) {
      const pid_t p = fork();
      if (p == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(seconds);
        volatile uint64_t x = 0;
        for (;;) x = x + 1;
      }
      if (p > 0) pids.push_back(p);
    }
  }
  ~CpuHog() {
    for (pid_t p : pids) ::kill(p, SIGKILL);
    for (pid_t p : pids) waitpid(p, nullptr, 0);
  }
};

// The host's busy CPUs over `seconds`, from /proc/stat.
double host_busy_cpus(double seconds) {
  auto busy = [] {
    auto t = vbench::read_file("/proc/stat", 1 << 20);
    REQUIRE(t);
    auto b = vbench::parse_busy_ticks(*t);
    REQUIRE(b);
    return static_cast<double>(*b) / static_cast<double>(sysconf(_SC_CLK_TCK));
  };
  const double b0 = busy();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return (busy() - b0) / seconds;
}

double env_metric(const vbench::Sample& s, const std::string& name) {
  for (const auto& m : s.env_metrics)
    if (m.name == name) return m.value;
  return NAN;
}

// A short bare run of cpu.int (0.3 s samples, single-threaded).
vbench::ResultSet run_cpu_int(const std::string& dir, int reps, const std::string& counters,
                              std::string* output = nullptr) {
  auto r =
      run_command(vbench_bin() + " run --suite smoke --env bare --workloads cpu.int --set cpu.int.duration=0.3s" +
                  " --warmup 1 --repetitions " + std::to_string(reps) + " --counters " + counters + " --out " + dir);
  INFO(r.out);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  if (output) *output = r.out;
  auto rs = vbench::load_results(dir + "/results.json");
  REQUIRE(rs.ok());
  return *rs;
}

const vbench::WarningGroup* busy_group(const vbench::RunSummary& s) {
  for (const auto& g : s.warning_groups)
    if (g.cause == "busy-host") return &g;
  return nullptr;
}

}  // namespace

TEST_CASE("bare cpu.int: host CPU per operation is the agent's exact CPU time", "[run][cpu_accounting]") {
  TempDir out;
  auto rs = run_cpu_int(out.path + "/r", 8, "task-clock");
  REQUIRE(rs.envs.size() == 1);
  const std::string how = rs.envs[0].describe["cpu_accounting"]["environment"].get<std::string>();
  INFO(how);
  CHECK(how.find("task-clock") != std::string::npos);
  CHECK(how.find("no task-clock") == std::string::npos);
  int measured = 0, quiet = 0;
  std::vector<double> vs_region;
  for (const auto& s : rs.samples) {
    if (s.warmup) continue;
    INFO(s.error);
    REQUIRE(s.ok);
    ++measured;
    const vbench::Metric* rate = s.metric("ops");
    REQUIRE(rate);
    const double total = env_metric(s, "cpu_ns_per_op");
    // cpu.int is one thread on a CPU for the whole request: on a host
    // without other work the agent's CPU time over the window is 1 CPU, so
    // CPU per op is the wall time per op, 1 / rate. Beside other work it
    // gets less of the window, never more.
    const double cpus = total * rate->value / 1e9;
    const double foreign = env_metric(s, "foreign_cpus");
    // Busy or not, it is the CPU per op the agent's own task-clock counted
    // in its measured region (0.3 s of wall time at that rate), up to the
    // request's set-up and reply outside the region.
    double region_ns = NAN;
    for (const auto& c : s.counters)
      if (c.name == "task-clock" && c.scope == "agent" && c.value) region_ns = *c.value;
    REQUIRE(std::isfinite(region_ns));
    const double region_per_op = region_ns / (rate->value * 0.3);
    vs_region.push_back(total / region_per_op);
    INFO("round " << s.round << ": " << cpus << " CPUs of agent over the window, " << foreign
                  << " foreign; host/region CPU per op " << vs_region.back());
    // Up to 1 CPU, plus what the agent does beside the measuring thread or
    // after its reply, before the driver's second reading (1.031 seen on
    // the quiet CI host): at most 6%.
    CHECK(cpus <= 1.06);
    CHECK(vs_region.back() == Approx(1).margin(0.1));
    if (foreign < 0.25) {
      ++quiet;
      CHECK(cpus >= 0.95);
    }
    // The tick split adds up to the exact total (softirq apart).
    const double parts = env_metric(s, "cpu_ns_per_op.user") + env_metric(s, "cpu_ns_per_op.sys") +
                         env_metric(s, "cpu_ns_per_op.softirq");
    CHECK(parts == Approx(total).epsilon(1e-9));
  }
  CHECK(measured == 8);
  std::sort(vs_region.begin(), vs_region.end());
  // 5%: the region's operations are estimated as rate x 0.3 s, and on a
  // saturated host the region overruns 0.3 s by a little (0.969 seen with
  // 2 CPUs of other work beside the run).
  CHECK(vs_region[vs_region.size() / 2] == Approx(1).margin(0.05));
  if (quiet == 0) WARN("the host was busy in every sample: the 1-CPU bound was not checked");
}

TEST_CASE("busy host: other work beside a bare run is a grouped warning, none without it", "[run][busy_host]") {
  TempDir out;
  {
    // Two spinning processes on this 2-CPU host beside one busy agent:
    // about 1.3 CPUs of other work.
    CpuHog hog(2, 60);
    REQUIRE(hog.pids.size() == 2);
    std::string terminal;
    auto rs = run_cpu_int(out.path + "/busy", 3, "none", &terminal);
    auto summary = vbench::summarize_run(rs, "bare", 1);
    const vbench::WarningGroup* g = busy_group(summary);
    INFO(terminal);
    REQUIRE(g);
    INFO(g->line);
    CHECK(g->line.rfind("busy host: ", 0) == 0);
    CHECK(g->line.find("worst bare cpu.int") != std::string::npos);
    CHECK(g->details.size() == 1);
    // Recorded per sample and in the run's files and terminal output.
    for (const auto& s : rs.samples)
      if (!s.warmup) CHECK(env_metric(s, "foreign_cpus") > 0.5);
    CHECK(terminal.find("busy host:") != std::string::npos);
    auto json = vbench::read_file(out.path + "/busy/results.json", 64 << 20);
    REQUIRE(json);
    CHECK(json->find("busy host:") != std::string::npos);
    auto md = vbench::read_file(out.path + "/busy/report.md", 8 << 20);
    REQUIRE(md);
    CHECK(md->find("- busy host:") != std::string::npos);
  }
  // Without the hog. This machine may be shared with other work, which the
  // warning is right to name: check only when the host looks quiet.
  const double before = host_busy_cpus(1.0);
  auto rs = run_cpu_int(out.path + "/quiet", 3, "none");
  const double after = host_busy_cpus(1.0);
  if (before > 0.3 || after > 0.3)
    VB_SKIP("the host is busy with other work (" + std::to_string(before) + " / " + std::to_string(after) +
            " CPUs around the run): cannot check the quiet case");
  auto summary = vbench::summarize_run(rs, "bare", 1);
  for (const auto& s : rs.samples)
    if (!s.warmup) CHECK(env_metric(s, "foreign_cpus") < 0.5);
  CHECK_FALSE(busy_group(summary));
}
