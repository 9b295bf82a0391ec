// Every workload parameter and environment knob has a range, checked before
// anything runs: a bad value exits 2 naming where it was written (the
// `--set`/`--env-set` argument, or file:line:col), and no environment starts.
#include "core/fs.hpp"
#include "support.hpp"

using namespace vbtest;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("out-of-range parameters and knobs exit 2 before anything runs", "[validation][cli]") {
  TempDir t;
  const std::string run = vbench_bin() + " run --suite smoke --repetitions 1 --warmup 0 --out " + t.path + "/out";
  struct Case {
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"--workloads cpu.int --set cpu.int.threads=-5",
       "--set cpu.int.threads=-5: `cpu.int.threads=-5`: cpu.int: parameter `threads` (int): -5 is out of range "
       "(1..4096)"},
      {"--workloads cpu.int --set cpu.int.threads=0", "parameter `threads` (int): 0 is out of range"},
      {"--workloads cpu.int --set cpu.int.duration=300000000h",
       "parameter `duration` (duration): 1.08e+12 is out of range (1ms..86400s)"},
      {"--workloads cpu.int --env bare,kvm --env-set kvm.vcpus=0",
       "--env-set kvm.vcpus=0: environment `kvm`: parameter `vcpus` (int): 0 is out of range (1..1024)"},
      {"--workloads cpu.int --env container --env-set container.pids=-5",
       "--env-set container.pids=-5: environment `container`: parameter `pids` (int): -5 is out of range "
       "(0..4194304)"},
      {"--workloads cpu.int --env container --env-set container.cpus=-1", "parameter `cpus` (number): -1"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.args) {
      auto r = run_command(run + " " + c.args);
      INFO(r.out);
      CHECK(r.exit_code == 2);
      CHECK(has(r.out, c.message));
      // Refused before any environment started or any result was written.
      CHECK_FALSE(vbench::path_exists(t.path + "/out/results.jsonl"));
    }
  }
}

TEST_CASE("a suite file's out-of-range values name file:line:col", "[validation][cli]") {
  TempDir t;
  const std::string run = vbench_bin() + " run --repetitions 1 --warmup 0 --out " + t.path + "/out --suite ";
  struct Case {
    std::string toml;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"[suite]\nname = \"t\"\ntimeout = 1e12\n[[workload]]\nname = \"cpu.int\"\n",
       "t.toml:3:11: `timeout` must be above 0 and at most 7 days (604800 s), not 1e+12 s"},
      {"[suite]\nname = \"t\"\ntimeout = \"100000000h\"\n[[workload]]\nname = \"cpu.int\"\n",
       "t.toml:3:11: `timeout` must be above 0"},
      {"[suite]\nname = \"t\"\n[[workload]]\nname = \"disk.randread\"\nqd = -1\n",
       "t.toml:5:6: disk.randread: parameter `qd` (int): -1 is out of range (1..4096)"},
      {"[suite]\nname = \"t\"\n[env.kvm]\nvcpus = 0\n[[workload]]\nname = \"cpu.int\"\n",
       "t.toml:4:9: environment `kvm`: parameter `vcpus` (int): 0 is out of range"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.toml) {
      REQUIRE(vbench::write_file(t.path + "/t.toml", c.toml).ok());
      auto r = run_command(run + t.path + "/t.toml");
      INFO(r.out);
      CHECK(r.exit_code == 2);
      CHECK(has(r.out, c.message));
      CHECK_FALSE(vbench::path_exists(t.path + "/out/results.jsonl"));
    }
  }
}

TEST_CASE("vbench list shows each parameter's range", "[validation][cli]") {
  auto r = run_command(vbench_bin() + " list");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(has(r.out, "[1..4096]"));      // threads, qd
  CHECK(has(r.out, "[1..1024]"));      // kvm vcpus
  CHECK(has(r.out, "[1ms..86400s]"));  // workload durations
  auto j = run_command(vbench_bin() + " list --json");
  REQUIRE(j.exit_code == 0);
  CHECK(has(j.out, "\"range\": \"1..4096\""));
}
