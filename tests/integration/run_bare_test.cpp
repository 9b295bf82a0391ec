// Runs the real `vbench` binary on bare metal and checks what it writes.
#include <csignal>
#include <nlohmann/json.hpp>
#include <set>

#include "core/fs.hpp"
#include "model/results.hpp"
#include "support.hpp"
#include "workloads/registry.hpp"

using namespace vbtest;

TEST_CASE("vbench run --suite smoke --env bare writes jsonl, json and csv with every workload", "[run][bare]") {
  TempDir out;
  const std::string dir = out.path + "/r";
  auto r = run_command(vbench_bin() + " run --suite smoke --env bare --out " + dir);
  INFO(r.out);
  // 0, or 1 when a sample failed: either way all three files must exist.
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  for (const char* f : {"/results.jsonl", "/results.json", "/results.csv"}) REQUIRE(vbench::path_exists(dir + f));

  auto rs = vbench::load_results(dir + "/results.json");
  REQUIRE(rs.ok());
  std::set<std::string> seen, failed;
  for (const auto& s : rs->samples) {
    seen.insert(s.workload);
    if (!s.ok) failed.insert(s.workload + ": " + s.error);
    CHECK(s.env == "bare");
  }
  for (const auto& w : vbench::all_workloads()) {
    INFO(w.name);
    CHECK(seen.count(w.name) == 1);
  }
  for (const auto& f : failed) WARN("failed sample: " << f);
  CHECK(failed.empty());
  CHECK(r.exit_code == 0);

  // The same run rebuilt from the line log holds the same samples.
  auto from_lines = vbench::load_results(dir + "/results.jsonl");
  REQUIRE(from_lines.ok());
  CHECK(from_lines->samples.size() == rs->samples.size());

  auto csv = vbench::read_file(dir + "/results.csv");
  REQUIRE(csv.ok());
  CHECK(csv->rfind("env,workload,params,metric,unit,better,n,median,", 0) == 0);
  for (const char* metric : {",mem.bandwidth,", ",triad,", ",disk.randread,", ",iops,", ",net.tcp_stream,",
                             ",throughput,", ",net.tcp_rr,", ",tps,"})
    CHECK(csv->find(metric) != std::string::npos);
  // The run names the commit the binary was built from (stamped at build
  // time, not when CMake was configured).
  auto head = run_command("git -C " + source_dir() + " rev-parse --short=12 HEAD");
  if (head.exit_code == 0) {
    const std::string commit = head.out.substr(0, head.out.find_first_of("\r\n"));
    INFO("results: " << rs->meta.git_commit << ", source tree: " << commit);
    CHECK(rs->meta.git_commit.rfind(commit, 0) == 0);
  }
  // Nothing of the run is left behind.
  CHECK(run_command("ls /var/tmp | grep -c '^vbench-" + rs->meta.run_id + "'").out.find('0') == 0);
  CHECK_FALSE(vbench::path_exists("/run/vbench/" + rs->meta.run_id));
}

TEST_CASE("bad command lines and suites exit 2 with a clear message", "[run][cli]") {
  TempDir out;
  auto r = run_command(vbench_bin() + " run --suite no-such-suite --out " + out.path + "/a");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("no-such-suite") != std::string::npos);

  r = run_command(vbench_bin() + " run --suite smoke --env bare --set mem.bandwidth.size=12parsecs --out " + out.path +
                  "/b");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("parsecs") != std::string::npos);

  const std::string suite = out.path + "/bad.toml";
  REQUIRE(vbench::write_file(suite, "[suite]\nname = \"x\"\nrepetitions = 2\nbogus = 1\n").ok());
  r = run_command(vbench_bin() + " run --suite " + suite + " --out " + out.path + "/c");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(suite + ":4:") != std::string::npos);

  r = run_command(vbench_bin() + " run --suite smoke --workloads 'nothing.*' --out " + out.path + "/d");
  CHECK(r.exit_code == 2);
  r = run_command(vbench_bin() + " frobnicate");
  CHECK(r.exit_code == 2);
}

TEST_CASE("a failing workload is a recorded failure and exit code 1", "[run][bare]") {
  TempDir out;
  // A scratch directory on a read-only mount: disk workloads must fail, and say why.
  const std::string dir = out.path + "/r";
  auto r = run_command(
      vbench_bin() + " run --suite smoke --env bare --workloads 'disk.fsync,os.syscall' --scratch /proc --out " + dir);
  INFO(r.out);
  CHECK(r.exit_code != 0);
  if (r.exit_code == 1) {
    auto rs = vbench::load_results(dir + "/results.json");
    REQUIRE(rs.ok());
    bool disk_failed = false, os_ok = false;
    for (const auto& s : rs->samples) {
      if (s.workload == "disk.fsync") disk_failed = !s.ok && !s.error.empty();
      if (s.workload == "os.syscall") os_ok = s.ok;
    }
    CHECK(disk_failed);
    CHECK(os_ok);
  } else {
    // Refused up front (exit 2) is also a clear answer: the message names the directory.
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("/proc") != std::string::npos);
  }
}

TEST_CASE("SIGINT stops the run, keeps what exists and leaves nothing behind", "[run][bare][signal]") {
  TempDir out;
  const std::string dir = out.path + "/r";
  // Start a long run, interrupt it after a few seconds.
  const std::string cmd = vbench_bin() + " run --suite quick --env bare --out " + dir + " > " + out.path +
                          "/log 2>&1 & pid=$!; sleep 4; kill -INT $pid; wait $pid; echo rc=$?";
  auto r = run_command(cmd);
  INFO(r.out);
  CHECK(r.out.find("rc=130") != std::string::npos);
  auto rs = vbench::load_results(dir + "/results.jsonl");
  REQUIRE(rs.ok());
  CHECK(rs->meta.interrupted);
  CHECK(vbench::path_exists(dir + "/results.json"));
  CHECK_FALSE(vbench::path_exists("/run/vbench/" + rs->meta.run_id));
  CHECK(run_command("pgrep -f 'vbench-agent (agent|serve)' | wc -l").out.find('0') == 0);
}

TEST_CASE("run refuses system directories and foreign non-empty directories as --out and --scratch",
          "[run][cli][trust]") {
  TempDir t;
  // A missing agent would stop each of these runs anyway: nothing runs even
  // where the check is missing, and the message says which check refused.
  const std::string run = vbench_bin() + " run --suite smoke --env bare --agent /no/such/agent";
  for (const std::string out : {"/etc", "/", "/usr/lib/vbench-out", "/var", "/proc/self"}) {
    auto r = run_command(run + " --out " + out);
    INFO(out << ": " << r.out);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.out, Catch::Contains("--out") && Catch::Contains("system directory"));
  }
  CHECK_FALSE(vbench::path_exists("/usr/lib/vbench-out"));
  // A directory with someone's files in it.
  REQUIRE(vbench::write_file(t.path + "/thesis.tex", "\\documentclass{article}\n"));
  auto r = run_command(run + " --out " + t.path);
  INFO(r.out);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.out, Catch::Contains("not empty") && Catch::Contains("thesis.tex"));
  r = run_command(run + " --out " + t.path + "/new --scratch /etc");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.out, Catch::Contains("--scratch") && Catch::Contains("system directory"));
  CHECK_FALSE(vbench::path_exists(t.path + "/new"));
}

TEST_CASE("a link planted at results.jsonl is refused, not followed", "[run][bare][trust]") {
  TempDir t;
  const std::string dir = t.path + "/r", target = t.path + "/planted-target";
  REQUIRE(vbench::mkdir_p(dir));
  REQUIRE(::symlink(target.c_str(), (dir + "/results.jsonl").c_str()) == 0);
  auto r = run_command(vbench_bin() + " run --suite smoke --env bare --workloads os.syscall --out " + dir);
  INFO(r.out);
  CHECK(r.exit_code == 2);
  CHECK_FALSE(vbench::path_exists(target));
}
