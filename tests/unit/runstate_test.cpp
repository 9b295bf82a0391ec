// The run-state API every driver records through, and its one ownership
// test: pid and start time, read from a /proc the test can build.
#include "core/runstate.hpp"

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "core/procfs.hpp"
#include "skip.hpp"

using namespace vbench;

namespace {

struct TempTree {
  std::string path;
  TempTree() {
    char t[] = "/tmp/vbench-unit-runstate-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempTree() { (void)remove_tree(path); }
};

// <proc>/<pid>/stat of a sleeping process that started at `start`.
void fake_process(const std::string& proc, pid_t pid, uint64_t start, char state = 'S') {
  REQUIRE(mkdir_p(fmt::format("{}/{}", proc, pid)));
  std::string stat = fmt::format("{} (a (b) c) {}", pid, state);
  for (int field = 4; field <= 21; ++field) stat += " 0";
  stat += fmt::format(" {} 0 0\n", start);
  REQUIRE(write_file(fmt::format("{}/{}/stat", proc, pid), stat));
}

// Makes `dir` look `seconds` old.
void age(const std::string& dir, int seconds) {
  struct timeval tv[2];
  ::gettimeofday(&tv[0], nullptr);
  tv[0].tv_sec -= seconds;
  tv[1] = tv[0];
  REQUIRE(::utimes(dir.c_str(), tv) == 0);
}

const FoundEnvState* find(const std::vector<FoundEnvState>& v, const std::string& dir) {
  for (const auto& f : v)
    if (f.state.dir() == dir) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("run state: this process is alive, another start time or a reaped pid is not", "[runstate]") {
  auto self = process_identity(::getpid());
  REQUIRE(self);
  CHECK(self->start_time > 0);
  CHECK(process_alive(*self));
  CHECK(process_start_time(::getpid()) == self->start_time);
  // Same pid, another start time: another process that got the pid.
  CHECK_FALSE(process_alive(ProcessIdentity{self->pid, self->start_time + 1}));
  CHECK_FALSE(process_alive(ProcessIdentity{0, self->start_time}));
  CHECK_FALSE(process_alive(ProcessIdentity{-1, self->start_time}));

  pid_t child = fork();
  if (child == 0) _exit(0);
  // Exited but not waited for: a zombie has finished.
  for (int i = 0; i < 200 && process_identity(child); ++i) usleep(5000);
  CHECK_FALSE(process_identity(child));
  int status;
  waitpid(child, &status, 0);
  CHECK_FALSE(process_identity(child));
  CHECK(process_start_time(child) == 0);
}

TEST_CASE("run state: a recycled pid in a built /proc is not the owner", "[runstate]") {
  TempTree t;
  const std::string proc = t.path + "/proc";
  fake_process(proc, 4242, 1000);
  CHECK(process_alive(ProcessIdentity{4242, 1000}, proc));
  fake_process(proc, 4242, 2000);  // the pid now belongs to a later process
  CHECK_FALSE(process_alive(ProcessIdentity{4242, 1000}, proc));
  fake_process(proc, 4242, 1000, 'Z');
  CHECK_FALSE(process_alive(ProcessIdentity{4242, 1000}, proc));
  CHECK_FALSE(process_alive(ProcessIdentity{4243, 1000}, proc));
  // A stat file that is not one is no process, and no crash.
  REQUIRE(write_file(proc + "/4242/stat", "4242 (x) S 1 2\n"));
  CHECK_FALSE(process_alive(ProcessIdentity{4242, 1000}, proc));
}

TEST_CASE("read_proc_stat reads one file and names it in errors", "[runstate][procfs]") {
  TempTree t;
  fake_process(t.path, 77, 555);
  auto st = read_proc_stat(77, t.path);
  REQUIRE(st);
  CHECK(st->start_time == 555);
  CHECK(st->state == 'S');
  auto missing = read_proc_stat(78, t.path);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains(t.path + "/78/stat"));
  REQUIRE(write_file(t.path + "/77/stat", "77 no parenthesis\n"));
  auto bad = read_proc_stat(77, t.path);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains(t.path + "/77/stat"));
  // A thread's stat, through the same call.
  auto self_task = read_proc_stat(::getpid(), fmt::format("/proc/{}/task", ::getpid()));
  REQUIRE(self_task);
  CHECK(self_task->start_time == process_start_time(::getpid()));
}

TEST_CASE("run state: owner text is parsed strictly", "[runstate]") {
  auto ok = parse_process_identity("123 456\n");
  REQUIRE(ok);
  CHECK(ok->pid == 123);
  CHECK(ok->start_time == 456);
  CHECK(to_string(*ok) == "123 456");
  for (const char* bad : {"", "garbage", "123", "123 ", " 123 456", "123 abc", "-5 10", "0 10", "123 0",
                          "99999999999 1", "123 456 789", "123\t456", "123 18446744073709551616"}) {
    INFO(bad);
    auto r = parse_process_identity(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::StartsWith("owner:"));
  }
  auto huge = parse_process_identity(std::string(10000, '1'));
  REQUIRE_FALSE(huge);
  CHECK_THAT(huge.error().message, Catch::Contains("10000 bytes"));
}

TEST_CASE("run state: an environment's directory, records and removal", "[runstate]") {
  TempTree t;
  auto a = EnvState::create("vb-run-1", "kvm", "k v/m", 0700, t.path);
  REQUIRE(a);
  CHECK(a->dir() == t.path + "/vb-run-1/kvm-k_v_m");
  CHECK(a->dir() == EnvState::dir_for("vb-run-1", "kvm", "k v/m", t.path));
  auto owner = a->owner();
  REQUIRE(owner);
  CHECK(owner->pid == ::getpid());
  CHECK(process_alive(*owner));
  REQUIRE(a->record("tap", "vbk123"));
  auto tap = a->read("tap");
  REQUIRE(tap);
  CHECK(*tap == "vbk123");
  CHECK_FALSE(a->read("missing"));

  auto b = EnvState::create("vb-run-1", "oci", "o", 0700, t.path);
  REQUIRE(b);
  REQUIRE(a->remove());
  CHECK_FALSE(path_exists(a->dir()));
  CHECK(path_exists(t.path + "/vb-run-1"));  // b is still there
  REQUIRE(b->remove());
  CHECK_FALSE(path_exists(t.path + "/vb-run-1"));
  CHECK(EnvState().remove());  // nothing to remove
  CHECK(file_safe("") == "_");
}

TEST_CASE("run state: env_states says whose owner is alive, and bad owner files are no owners", "[runstate]") {
  TempTree t;
  const std::string root = t.path + "/run", proc = t.path + "/proc";
  fake_process(proc, 100, 5000);  // a live owner
  fake_process(proc, 200, 7000);  // pid 200 now belongs to a process that started later
  auto dir = [&](const std::string& run, const std::string& name, const std::string& owner) {
    std::string d = root + "/" + run + "/" + name;
    REQUIRE(mkdir_p(d));
    if (!owner.empty()) REQUIRE(write_file(d + "/owner", owner));
    return d;
  };
  const auto alive = dir("vb-a", "kvm-one", "100 5000\n");
  const auto recycled = dir("vb-a", "kvm-two", "200 6000\n");
  const auto gone = dir("vb-b", "oci-x", "300 1\n");
  const auto young = dir("vb-b", "kvm-new", "");
  const auto old_empty = dir("vb-b", "kvm-old", "");
  const auto malformed = dir("vb-c", "docker-m", "not an owner\n");
  const auto oversized = dir("vb-c", "podman-o", std::string(1 << 20, '7'));
  const auto binary = dir("vb-c", "container-b", std::string("\0\xff\n", 3));
  dir("vb-c", "bundle", "1 1\n");                              // no "<kind>-": not an environment
  REQUIRE(write_file(root + "/vb-c/kvm-file", "100 5000\n"));  // not a directory
  for (const auto& d : {old_empty, malformed, oversized, binary}) age(d, 120);

  const auto all = env_states("", root, proc);
  CHECK(all.size() == 8);
  auto verdict = [&](const std::string& d) {
    auto f = find(all, d);
    REQUIRE(f);
    return f->owner;
  };
  using O = FoundEnvState::Owner;
  CHECK(verdict(alive) == O::Alive);
  CHECK(verdict(recycled) == O::Dead);
  CHECK_THAT(find(all, recycled)->why, Catch::Contains("200 6000 is gone"));
  CHECK(verdict(gone) == O::Dead);
  CHECK(verdict(young) == O::Young);
  CHECK(verdict(old_empty) == O::Dead);
  CHECK(verdict(malformed) == O::Dead);
  CHECK_THAT(find(all, malformed)->why, Catch::Contains("not \"<pid> <start time>\""));
  CHECK(verdict(oversized) == O::Dead);
  CHECK_THAT(find(all, oversized)->why, Catch::Contains("larger than"));
  CHECK(verdict(binary) == O::Dead);
  CHECK(find(all, alive)->kind == "kvm");
  CHECK(find(all, alive)->run_id == "vb-a");

  std::vector<std::string> dead_kvm;
  for (const auto& s : dead_env_states("kvm", root, proc)) dead_kvm.push_back(s.dir());
  std::sort(dead_kvm.begin(), dead_kvm.end());
  CHECK(dead_kvm == std::vector<std::string>{recycled, old_empty});  // vb-a/ sorts before vb-b/
  CHECK(dead_env_states("bare", root, proc).empty());
  CHECK(env_states("", t.path + "/nonexistent", proc).empty());
}

TEST_CASE("run state: dead_runs spares a run directory whose owner is not written yet", "[runstate]") {
  // Three vbench started at one moment on one host (the fleet test's hosts
  // share /run): one's start-up cleanup took another's run directory, made a
  // moment before, for a dead run and removed it between the owner's
  // temporary file and its rename.
  TempTree t;
  const std::string root = t.path + "/run", proc = t.path + "/proc";
  fake_process(proc, 100, 5000);
  auto run = [&](const std::string& id, const std::string& owner) {
    REQUIRE(mkdir_p(root + "/" + id));
    if (!owner.empty()) REQUIRE(write_file(root + "/" + id + "/owner", owner));
    return id;
  };
  run("vb261201181436-aaaaaa", "100 5000\n");  // alive
  const auto gone = run("vb261201181436-bbbbbb", "300 1\n");
  run("vb261201181436-cccccc", "");  // just made: its owner is being written
  const auto abandoned = run("vb261201181436-dddddd", "");
  run("not-a-run", "");  // not run-id shaped: never ours to judge
  age(root + "/" + abandoned, 120);
  age(root + "/not-a-run", 120);
  auto dead = dead_runs(root, proc);
  std::sort(dead.begin(), dead.end());
  CHECK(dead == std::vector<std::string>{gone, abandoned});
}

TEST_CASE("run state: unregister_run leaves an environment's state for its cleanup", "[runstate]") {
  if (::geteuid() != 0) VBENCH_SKIP("needs root to write /run/vbench");
  // Not run-id shaped: no dead_runs() of a concurrent vbench picks it up.
  const std::string run = fmt::format("vbench-unit-{}", ::getpid());
  REQUIRE(register_run(run));
  CHECK(run_is_alive(run));
  auto env = EnvState::create(run, "kvm", "left");
  REQUIRE(env);
  REQUIRE(write_file(run_state_dir(run) + "/scratch", "/var/tmp/x\n"));
  unregister_run(run);
  // The run's own files go; the environment whose teardown failed stays.
  CHECK_FALSE(path_exists(run_state_dir(run) + "/owner"));
  CHECK_FALSE(path_exists(run_state_dir(run) + "/scratch"));
  CHECK(path_exists(env->path("owner")));
  CHECK_FALSE(run_is_alive(run));
  REQUIRE(env->remove());
  CHECK_FALSE(path_exists(run_state_dir(run)));
  // A run with nothing left goes entirely.
  REQUIRE(register_run(run));
  unregister_run(run);
  CHECK_FALSE(path_exists(run_state_dir(run)));
}
