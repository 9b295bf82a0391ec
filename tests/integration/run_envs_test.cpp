// Runs the real `vbench` binary across environments: bare, a container it
// creates and a guest it boots (under TCG where the host has no hardware
// KVM), and checks one result set, failures of one environment, and that a
// SIGKILLed run leaves nothing once `vbench cleanup` has run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "analysis/summary.hpp"
#include "core/fs.hpp"
#include "killed_run.hpp"
#include "model/results.hpp"
#include "support.hpp"

using namespace vbtest;

namespace {

// Skips unless `vbench list` says every named environment is available here.
void require_envs(std::initializer_list<const char*> envs) {
  auto r = run_command(vbench_bin() + " list --json 2>/dev/null");
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  for (const char* want : envs) {
    bool found = false;
    for (const auto& e : j["environments"])
      if (e["name"] == want) {
        found = true;
        if (!e["available"].get<bool>())
          VB_SKIP(std::string(want) + " environment unavailable: " + e["reason"].get<std::string>());
      }
    REQUIRE(found);
  }
}

// Everything a run could have left on the host, named by its run id, one
// line each ("" = nothing).
std::string leftovers(const std::string& run_id) {
  std::vector<std::string> found;
  auto add = [&](const std::string& what, const std::string& out) {
    if (out.find_first_not_of(" \n") != std::string::npos) found.push_back(what + ": " + out);
  };
  add("cgroup", run_command("find /sys/fs/cgroup -name '*" + run_id + "*' 2>/dev/null; true").out);
  add("link", run_command("ip -o link show | grep -F '" + run_id + "'").out);
  add("mount", run_command("grep -F '" + run_id + "' /proc/self/mountinfo").out);
  add("process", run_command("pgrep -af -- '" + run_id + "' | grep -v pgrep").out);
  add("state or scratch", run_command("for p in /run/vbench/" + run_id + " /run/vbench/containers/" + run_id +
                                      "* /var/tmp/vbench-" + run_id + "; do [ -e \"$p\" ] && echo \"$p\"; done; true")
                              .out);
  std::string all;
  for (const auto& f : found) all += f + "\n";
  return all;
}

}  // namespace

TEST_CASE("smoke in bare, container and kvm: one result set with ratios for both non-bare environments",
          "[run][container][kvm]") {
  require_envs({"container", "kvm"});
  TempDir out;
  const std::string dir = out.path + "/r";
  auto r = run_command(vbench_bin() + " run --suite smoke --env bare,container,kvm --out " + dir);
  INFO(r.out);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  auto rs = vbench::load_results(dir + "/results.json");
  REQUIRE(rs.ok());
  CHECK(r.exit_code == 0);

  std::set<std::string> labels;
  for (const auto& e : rs->envs) {
    INFO(e.label << ": " << e.error);
    CHECK(e.started);
    labels.insert(e.label);
  }
  const std::string kvm = labels.count("kvm[tcg]") ? "kvm[tcg]" : "kvm";
  CHECK(labels == std::set<std::string>{"bare", "container", kvm});

  // Every workload ran in every environment, with its lifecycle recorded.
  std::map<std::string, std::set<std::string>> ran;  // env -> workloads
  std::set<std::string> families;
  for (const auto& s : rs->samples) {
    INFO(s.env << " " << s.workload << ": " << s.error);
    CHECK(s.ok);
    ran[s.env].insert(s.workload);
    families.insert(s.workload.substr(0, s.workload.find('.')));
  }
  CHECK(families == std::set<std::string>{"cpu", "mem", "disk", "net", "os"});
  CHECK(ran["container"] == ran["bare"]);
  CHECK(ran[kvm] == ran["bare"]);
  auto lifecycle = [&](const std::string& label, const std::string& metric) {
    for (const auto& e : rs->envs)
      if (e.label == label)
        for (const auto& m : e.lifecycle)
          if (m.name == metric) return m.value;
    return -1.0;
  };
  CHECK(lifecycle("container", "start_s") > 0);
  CHECK(lifecycle(kvm, "boot_s") > 0);

  // Overhead ratios against bare for every workload in both other environments.
  auto summary = vbench::summarize_run(*rs, "bare", 1);
  std::map<std::string, std::set<std::string>> with_ratio;
  for (const auto& row : summary.rows)
    if (row.source == "workload" && row.has_ratio && row.ratio.ok()) with_ratio[row.env].insert(row.workload);
  CHECK(with_ratio["container"] == ran["bare"]);
  CHECK(with_ratio[kvm] == ran["bare"]);

  // Counters from inside every environment and, for container and guest,
  // from the host side too.
  std::map<std::string, std::set<std::string>> scopes;
  for (const auto& s : rs->samples)
    for (const auto& c : s.counters) scopes[s.env].insert(c.scope);
  CHECK(scopes["bare"] == std::set<std::string>{"agent"});
  CHECK(scopes["container"] == std::set<std::string>{"agent", "host-cgroup"});
  CHECK(scopes[kvm] == std::set<std::string>{"agent", "host-vcpu"});

  // Host CPU per operation in every environment; for the guest split into
  // QEMU's vCPU threads and the rest, the vCPU side doing the work.
  for (const auto& s : rs->samples) {
    if (!s.ok) continue;
    std::map<std::string, double> m;
    for (const auto& e : s.env_metrics) m[e.name] = e.value;
    INFO(s.env << " " << s.workload);
    CHECK(m["cpu_ns_per_op"] > 0);
    CHECK(m.count("cpu_ns_per_op.softirq") == 1);
    if (s.env == kvm) {
      CHECK(m["cpu_ns_per_op.vcpu"] > 0);
      CHECK(m.count("cpu_ns_per_op.io") == 1);
      CHECK(m.count("cpu_ns_per_op.guest") == (kvm == "kvm" ? 1 : 0));  // none under TCG
    }
  }

  // An emulated guest is said so, in the results and on the terminal.
  if (kvm == "kvm[tcg]") {
    auto json = vbench::read_file(dir + "/results.json");
    REQUIRE(json);
    CHECK(json->find("emulator") != std::string::npos);
    CHECK(r.out.find("TCG emulator") != std::string::npos);
  }
  CHECK(leftovers(rs->meta.run_id) == "");
}

TEST_CASE("a guest that never becomes ready fails its environment with the console tail while bare still runs",
          "[run][kvm]") {
  require_envs({"kvm"});
  TempDir out;
  const std::string dir = out.path + "/r";
  // No init in the initramfs at that path: the kernel panics, and with
  // panic=-1 asks to reboot, which vbench's QEMU turns into an exit.
  auto r = run_command(vbench_bin() + " run --suite smoke --env bare,kvm --workloads 'cpu.int,os.syscall' " +
                       "--env-set 'kvm.kernel_cmdline=rdinit=/no/such/init panic=-1' --out " + dir);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  auto rs = vbench::load_results(dir + "/results.json");
  REQUIRE(rs.ok());
  size_t bare_ok = 0;
  for (const auto& s : rs->samples) bare_ok += s.env == "bare" && s.ok;
  CHECK(bare_ok == 2);
  bool kvm_failed = false;
  for (const auto& e : rs->envs)
    if (e.name == "kvm") {
      kvm_failed = !e.started;
      INFO(e.error);
      CHECK_THAT(e.error, Catch::Contains("console"));
    }
  CHECK(kvm_failed);
  auto console = vbench::read_file(dir + "/kvm-console.log");
  REQUIRE(console);
  CHECK_THAT(*console, Catch::Contains("Kernel panic"));
  CHECK(r.out.find("did not start") != std::string::npos);
  CHECK(leftovers(rs->meta.run_id) == "");
}

TEST_CASE("after a SIGKILL of vbench mid-run, `vbench cleanup` removes every container and guest resource",
          "[run][container][kvm][signal]") {
  require_envs({"container", "kvm"});
  // Every environment up and measuring, then kill -9.
  const auto k = kill_mid_run_then_cleanup("bare,container,kvm", std::chrono::seconds(2), leftovers);
  INFO(k.log);
  REQUIRE(k.up);
  REQUIRE_FALSE(k.run_id.empty());
  // The test can fail: a killed run does leave its environments behind.
  INFO("left by the killed run:\n" << k.before);
  CHECK_FALSE(k.before.empty());
  INFO(k.cleanup.out);
  CHECK(k.cleanup.exit_code == 0);
  CHECK_THAT(k.cleanup.out, Catch::Contains(k.run_id));
  CHECK(k.after == "");
  // Helpers without the run id in their command line (network peers) died
  // with their vbench: none is left orphaned.
  // (Zombies are left out: reaping them is init's business, not ours.)
  // (An agent by its program name: other builders' commands may name it too.)
  CHECK(run_command("ps -eo ppid=,stat=,args= | awk '$1 == 1 && $2 !~ /^Z/ && $3 ~ /(^|\\/)vbench-agent$/'").out == "");
  CHECK(run_command("ls /tmp | grep '^vbench-peer-'; true").out == "");
}
