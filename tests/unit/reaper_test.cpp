// The container init's reaper (agent/reaper.cpp), exercised in a forked
// child made a child subreaper, so that orphans come to it as they would to
// PID 1 of a container: the agent's own workload children must keep their
// exit status for waitpid(), orphans must not stay zombies.
#include "agent/reaper.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "agent/init.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"

namespace {

// Zombie children of `parent`, found through /proc.
int zombies_of(pid_t parent) {
  int n = 0;
  DIR* d = ::opendir("/proc");
  if (!d) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto stat = vbench::read_file(std::string("/proc/") + e->d_name + "/stat", 4096);
    if (!stat) continue;
    auto close = stat->rfind(')');
    if (close == std::string::npos || close + 4 >= stat->size()) continue;
    char state = (*stat)[close + 2];
    long ppid = std::strtol(stat->c_str() + close + 4, nullptr, 10);
    if (state == 'Z' && ppid == parent) ++n;
  }
  ::closedir(d);
  return n;
}

// Runs in the forked child; returns its exit code (0 = all good).
int reaper_scenario() {
  // Orphans of our descendants now come to us, as they would to PID 1.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return 10;
  vbench::start_reaper();
  for (int i = 0; i < 200; ++i) {
    const int code = i % 50 + 1;
    pid_t child = vbench::fork_workload_child();
    if (child < 0) return 11;
    if (child == 0) {
      // A workload that leaves an orphan behind, and sometimes exits at
      // once (before the parent may even have returned from fork).
      if (i % 2 == 0 && ::fork() == 0) {
        usleep(200);
        _exit(0);
      }
      _exit(code);
    }
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(child, &status, 0)) < 0 && errno == EINTR) {
    }
    vbench::workload_child_reaped(child);
    if (r != child) return 12;  // the reaper stole it (ECHILD)
    if (!WIFEXITED(status) || WEXITSTATUS(status) != code) return 13;
  }
  // Every orphan is collected within a bounded time.
  const uint64_t deadline = vbench::now_ns() + 5'000'000'000ull;
  while (zombies_of(::getpid()) > 0) {
    if (vbench::now_ns() > deadline) return 14;
    usleep(10000);
  }
  return 0;
}

}  // namespace

TEST_CASE("container init reaper: own workload children keep their status, orphans are reaped", "[reaper]") {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(reaper_scenario());
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  // 12: a workload child's status was stolen; 13: wrong status; 14: zombies left.
  CHECK(WEXITSTATUS(status) == 0);
}
