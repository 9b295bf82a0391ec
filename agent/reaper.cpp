// The container init's reaper.
//
// Scheme: a thread blocks in waitid(P_ALL, WEXITED | WNOWAIT), which reports
// a zombie child without collecting it. If the zombie is one of the agent's
// own workload children, the reaper leaves it alone and sleeps until the
// protocol thread has waited for it (peeking again at once would only find
// the same zombie); any other zombie is an orphan and the reaper collects it.
// The fork of a workload child and the registration of its pid happen under
// the same mutex the reaper takes before deciding, so a child that exits
// before fork() has even returned in the parent is still known as our own.
// A pid cannot be reused while its zombie is uncollected, so the decision
// cannot be fooled by pid reuse.
#include "agent/reaper.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "agent/init.hpp"

namespace vbench {
namespace {

// Never destroyed: the reaper thread may still wait on them while the agent
// exits, and glibc's pthread_cond_destroy would block until that wait times
// out (seen as a 1 s container teardown).
std::mutex& g_mu = *new std::mutex;
std::condition_variable& g_changed = *new std::condition_variable;
std::set<pid_t> g_own;  // workload children the protocol thread will wait for
uint64_t g_forks = 0;   // bumped on every fork, wakes a reaper with no children
bool g_container_init = false;

void reap_forever() {
  for (;;) {
    siginfo_t si{};
    if (::waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      // ECHILD: no children yet. Sleep until a fork; the timeout covers
      // processes that entered the namespace from outside (setns) and left
      // orphans here without us forking anything.
      std::unique_lock lk(g_mu);
      const uint64_t forks = g_forks;
      g_changed.wait_for(lk, std::chrono::seconds(1), [&] { return g_forks != forks; });
      continue;
    }
    const pid_t pid = si.si_pid;
    if (pid <= 0) continue;
    std::unique_lock lk(g_mu);
    if (g_own.count(pid)) {
      g_changed.wait(lk, [&] { return g_own.count(pid) == 0; });
      continue;
    }
    int status;
    ::waitpid(pid, &status, WNOHANG);
  }
}

}  // namespace

pid_t fork_workload_child() {
  std::lock_guard lk(g_mu);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child owns a copy of the locked mutex; it returns (unlocking that
    // copy) and never touches the reaper's state again.
    if (g_container_init) {
      // The workload is the OOM killer's first choice in the container's
      // cgroup, whatever the agent's own setting (-1000 where the host may
      // set it). Raising oom_score_adj needs no privilege.
      int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        (void)!::write(fd, "1000", 4);
        ::close(fd);
      }
    }
    return 0;
  }
  if (pid > 0) {
    g_own.insert(pid);
    ++g_forks;
    g_changed.notify_all();
  }
  return pid;
}

void workload_child_reaped(pid_t pid) {
  std::lock_guard lk(g_mu);
  g_own.erase(pid);
  g_changed.notify_all();
}

void start_reaper() {
  {
    std::lock_guard lk(g_mu);
    if (g_container_init) return;
    g_container_init = true;
  }
  std::thread(reap_forever).detach();
}

}  // namespace vbench
