// Fault injection with real processes: the agent killed or talking garbage
// mid-run, the scratch or output filesystem full, SIGTERM and SIGHUP in each
// phase of a run. Each: the documented exit code, every sample measured
// before the fault kept, nothing of the run left behind (checked by run id).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/fs.hpp"
#include "model/results.hpp"
#include "support.hpp"

extern char** environ;

using vbtest::run_command;
using vbtest::TempDir;
using vbtest::vbench_bin;

namespace {

// vbench in the background, its stdout and stderr in `log`.
pid_t start_vbench(const std::vector<std::string>& args, const std::string& log,
                   const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> argv = {vbench_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> a, e;
  for (auto& s : argv) a.push_back(s.data());
  a.push_back(nullptr);
  std::vector<std::string> env(extra_env);
  for (char** p = environ; *p; ++p) env.emplace_back(*p);
  for (auto& s : env) e.push_back(s.data());
  e.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, a[0], &fa, nullptr, a.data(), e.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string file_text(const std::string& path) {
  auto t = vbench::read_file(path);
  return t ? *t : std::string();
}

// Waits (bounded) until `ready` holds; false on timeout.
template <typename F>
bool wait_for(F ready, int seconds = 120) {
  for (int i = 0; i < seconds * 50; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

size_t samples_in(const std::string& jsonl) {
  size_t n = 0;
  std::istringstream in(file_text(jsonl));
  std::string line;
  while (std::getline(in, line)) n += line.find("\"type\":\"sample\"") != std::string::npos;
  return n;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::istringstream in(file_text(fmt::format("/proc/{}/task/{}/children", parent, parent)));
  pid_t p;
  while (in >> p) out.push_back(p);
  return out;
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0 && file_text(fmt::format("/proc/{}/stat", pid)).find(") Z") == std::string::npos;
}

// What a run leaves when it does not clean up: its state directory, its
// scratch directory, any file under `out` still named *.tmp.*.
std::string leftovers(const std::string& run_id, const std::string& scratch_parent, const std::string& out) {
  std::string found;
  if (vbench::path_exists("/run/vbench/" + run_id)) found += "/run/vbench/" + run_id + "\n";
  if (vbench::path_exists(scratch_parent + "/vbench-" + run_id)) found += scratch_parent + "/vbench-" + run_id + "\n";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(out, ec))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) found += e.path().string() + "\n";
  return found;
}

// The run's record and samples as the run left them (the .jsonl survives
// any fault the .json does not).
vbench::ResultSet load_run(const std::string& dir) {
  auto rs = vbench::load_results(dir + "/results.jsonl");
  REQUIRE(rs.ok());
  return *rs;
}

size_t ok_samples(const vbench::ResultSet& rs) {
  size_t n = 0;
  for (const auto& s : rs.samples) n += s.ok;
  return n;
}

struct Tmpfs {
  std::string path;
  bool mounted = false;
  Tmpfs(const std::string& p, const std::string& size) : path(p) {
    std::filesystem::create_directories(p);
    const std::string opts = "size=" + size + ",mode=0755";
    mounted = ::mount("vbench-fault", p.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
    if (!mounted) VB_SKIP("cannot mount a tmpfs here (needs root): " + std::string(strerror(errno)));
  }
  ~Tmpfs() {
    if (mounted) ::umount2(path.c_str(), MNT_DETACH);
  }
};

}  // namespace

TEST_CASE("fault: the agent killed mid-sample fails that sample, keeps the others, leaves nothing",
          "[fault][run][bare]") {
  TempDir t;
  const std::string dir = t.path + "/r", log = t.path + "/log";
  const pid_t pid = start_vbench({"run", "--suite", "smoke", "--env", "bare", "--workloads", "cpu.int", "--set",
                                  "cpu.int.duration=1500ms", "--repetitions", "4", "--out", dir},
                                 log);
  // After the first sample, kill the agent while it measures the next.
  REQUIRE(wait_for([&] { return samples_in(dir + "/results.jsonl") >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<pid_t> agents = children_of(pid);
  INFO(file_text(log));
  REQUIRE_FALSE(agents.empty());
  for (pid_t a : agents) ::kill(a, SIGKILL);
  const int rc = wait_exit(pid);
  INFO(file_text(log));
  CHECK(rc == 1);  // the run finished; some samples failed
  const auto rs = load_run(dir);
  CHECK(ok_samples(rs) >= 1);
  bool killed_sample = false;
  for (const auto& s : rs.samples) killed_sample |= !s.ok && !s.error.empty();
  CHECK(killed_sample);
  // results.json holds the same samples as the log.
  auto json = vbench::load_results(dir + "/results.json");
  REQUIRE(json.ok());
  CHECK(json->samples.size() == rs.samples.size());
  CHECK(leftovers(rs.meta.run_id, "/var/tmp", dir) == "");
  for (pid_t a : agents) CHECK_FALSE(alive(a));
}

TEST_CASE("fault: an agent that answers garbage mid-run fails samples, not vbench", "[fault][run][bare]") {
  TempDir t;
  const std::string dir = t.path + "/r", log = t.path + "/log", wrapper = t.path + "/garbage-agent";
  // The real agent, with one line of garbage put before its third reply
  // (hello and the first sample pass). Every process of it carries a marker
  // in its environment, to find any that outlive the run.
  const std::string marker = "VBENCH_FAULT_MARK=" + std::to_string(::getpid()) + "-garbage";
  std::ofstream(wrapper) << "#!/bin/sh\nexport " << marker << "\n"
                         << vbtest::agent_bin()
                         // A shell loop, not awk: Debian's mawk buffers its input, so the
                         // wrapper would never pass hello on.
                         << " \"$@\" | { n=0; while IFS= read -r l; do n=$((n+1)); "
                            "[ \"$n\" -eq 3 ] && printf '%s\\n' '{\"id\": garbage'; printf '%s\\n' \"$l\"; done; }\n";
  std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
  const pid_t pid = start_vbench({"run", "--suite", "smoke", "--env", "bare", "--workloads", "cpu.int", "--set",
                                  "cpu.int.duration=200ms", "--repetitions", "4", "--agent", wrapper, "--out", dir},
                                 log);
  const int rc = wait_exit(pid);
  INFO(file_text(log));
  CHECK(rc == 1);
  const auto rs = load_run(dir);
  CHECK(ok_samples(rs) >= 1);
  bool garbage_failed = false;
  for (const auto& s : rs.samples) garbage_failed |= !s.ok && s.error.find("malformed") != std::string::npos;
  for (const auto& e : rs.envs) garbage_failed |= e.error.find("malformed") != std::string::npos;
  CHECK(garbage_failed);
  CHECK(leftovers(rs.meta.run_id, "/var/tmp", dir) == "");
  // No process of the wrapper (shell, agent) is left.
  const auto left = run_command("grep -l '" + marker + "' /proc/[0-9]*/environ 2>/dev/null | wc -l");
  CHECK(left.out.find('0') == 0);
}

TEST_CASE("fault: a full scratch filesystem fails the disk samples with the reason", "[fault][run][bare]") {
  TempDir t;
  Tmpfs scratch(t.path + "/scratch", "1m");
  const std::string dir = t.path + "/r", log = t.path + "/log";
  const pid_t pid = start_vbench(
      {"run", "--suite", "smoke", "--env", "bare", "--workloads", "os.syscall,disk.seqwrite", "--set",
       "disk.seqwrite.file_size=8MiB", "--set", "disk.seqwrite.direct=false", "--scratch", scratch.path, "--out", dir},
      log);
  const int rc = wait_exit(pid);
  INFO(file_text(log));
  CHECK(rc == 1);
  const auto rs = load_run(dir);
  bool syscall_ok = false, disk_full = false;
  for (const auto& s : rs.samples) {
    INFO(s.workload << ": " << s.error);
    if (s.workload == "os.syscall") syscall_ok = s.ok;
    if (s.workload == "disk.seqwrite") disk_full = !s.ok && s.error.find("No space left") != std::string::npos;
  }
  CHECK(syscall_ok);
  CHECK(disk_full);
  CHECK(leftovers(rs.meta.run_id, scratch.path, dir) == "");
  CHECK(std::filesystem::is_empty(scratch.path));
}

TEST_CASE("fault: the output filesystem filling up mid-run: exit 1, what was written stays, no temporaries",
          "[fault][run][bare]") {
  TempDir t;
  Tmpfs out(t.path + "/out", "256k");
  const std::string dir = out.path + "/r", log = t.path + "/log";
  const pid_t pid = start_vbench({"run", "--suite", "smoke", "--env", "bare", "--workloads", "cpu.int", "--set",
                                  "cpu.int.duration=400ms", "--repetitions", "5", "--out", dir},
                                 log);
  REQUIRE(wait_for([&] { return samples_in(dir + "/results.jsonl") >= 1; }));
  // Fill the filesystem: every later write fails with ENOSPC.
  run_command("dd if=/dev/zero of=" + out.path + "/filler bs=4k 2>/dev/null");
  const size_t before = samples_in(dir + "/results.jsonl");
  const int rc = wait_exit(pid);
  INFO(file_text(log));
  CHECK(rc == 1);
  CHECK(file_text(log).find("could not be written") != std::string::npos);
  const auto rs = load_run(dir);
  CHECK(rs.samples.size() >= before);  // nothing already written is lost
  CHECK(ok_samples(rs) >= 1);
  CHECK(leftovers(rs.meta.run_id, "/var/tmp", dir) == "");
}

TEST_CASE("fault: SIGTERM and SIGHUP in each phase: exit 128+signal, results kept, nothing left", "[fault][signal]") {
  struct Phase {
    const char* name;
    int sig;
  };
  for (const Phase ph : {Phase{"start", SIGTERM}, Phase{"start", SIGHUP}, Phase{"run", SIGTERM}, Phase{"run", SIGHUP},
                         Phase{"report", SIGTERM}, Phase{"report", SIGHUP}}) {
    DYNAMIC_SECTION(ph.name << " " << strsignal(ph.sig)) {
      TempDir t;
      const std::string dir = t.path + "/r", log = t.path + "/log";
      std::vector<std::string> env;
      if (std::string(ph.name) == "report") env.push_back("VBENCH_TEST_REPORT_PAUSE_MS=30000");
      const pid_t pid = start_vbench({"run", "--suite", "smoke", "--env", "bare", "--workloads", "cpu.int,os.syscall",
                                      "--set", "cpu.int.duration=300ms", "--repetitions", "3", "--out", dir},
                                     log, env);
      bool reached = false;
      const std::string jsonl = dir + "/results.jsonl";
      if (std::string(ph.name) == "start")
        reached = wait_for([&] { return file_text(log).find("starting environment") != std::string::npos; });
      else if (std::string(ph.name) == "run")
        reached = wait_for([&] { return samples_in(jsonl) >= 1; });
      else  // the end record is written just before the reports
        reached = wait_for([&] { return file_text(jsonl).find("\"type\":\"end\"") != std::string::npos; });
      REQUIRE(reached);
      const size_t before = samples_in(jsonl);
      const std::vector<pid_t> agents = children_of(pid);
      ::kill(pid, ph.sig);
      const int rc = wait_exit(pid);
      INFO(file_text(log));
      CHECK(rc == 128 + ph.sig);
      const auto rs = load_run(dir);
      CHECK(rs.samples.size() >= before);
      auto json = vbench::load_results(dir + "/results.json");
      REQUIRE(json.ok());
      CHECK(json->samples.size() == rs.samples.size());
      if (std::string(ph.name) == "report") CHECK(json->samples.size() == 6);  // the run itself was whole
      CHECK(leftovers(rs.meta.run_id, "/var/tmp", dir) == "");
      for (pid_t a : agents) CHECK_FALSE(alive(a));
    }
  }
}
