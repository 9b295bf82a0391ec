#include "drivers/container/namespaces.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/clock.hpp"
#include "core/fs.hpp"

namespace vbench {
namespace {

// One message on the sync socket.
struct SyncMsg {
  enum Kind : int32_t { Go = 1, Unshared = 2, InitPid = 3, Failed = 4 };
  int32_t kind = 0;
  int32_t err = 0;
  int32_t pid = 0;
  char what[244] = {};
};

bool send_msg(int fd, SyncMsg::Kind kind, int pid = 0) {
  SyncMsg m;
  m.kind = kind;
  m.pid = pid;
  return ::send(fd, &m, sizeof m, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof m);
}

// In a child: report the failure to the parent and exit.
[[noreturn]] void child_fail(int fd, const Error& e) {
  SyncMsg m;
  m.kind = SyncMsg::Failed;
  m.err = e.err;
  std::snprintf(m.what, sizeof m.what, "%s", e.message.c_str());
  (void)::send(fd, &m, sizeof m, MSG_NOSIGNAL);
  _exit(1);
}

// In a child: blocks until the parent says go; exits when the parent is gone.
void child_wait_go(int fd) {
  SyncMsg m;
  for (;;) {
    ssize_t n = ::recv(fd, &m, sizeof m, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof m) || m.kind != SyncMsg::Go) _exit(1);
    return;
  }
}

// In the parent: the next message, or EOF (kind 0), within the deadline.
Result<SyncMsg> parent_recv(int fd, uint64_t deadline, const char* waiting_for) {
  for (;;) {
    const uint64_t now = now_ns();
    if (now >= deadline) return make_error("container start: timed out waiting for {}", waiting_for);
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<uint64_t>((deadline - now) / 1000000 + 1, 1000)));
    if (rc < 0 && errno != EINTR) return sys_error("container start: poll");
    if (rc <= 0) continue;
    SyncMsg m;
    ssize_t n = ::recv(fd, &m, sizeof m, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("container start: receive");
    }
    if (n == 0) return SyncMsg{};
    if (n != static_cast<ssize_t>(sizeof m)) return make_error("container start: short message from a child");
    m.what[sizeof m.what - 1] = '\0';
    return m;
  }
}

Error child_error(const SyncMsg& m, const char* stage) {
  return Error{fmt::format("container {}: {}", stage, m.what), m.err};
}

void reset_signals() {
  // The agent must not inherit vbench's signal mask or ignored signals (an
  // ignored SIGCHLD would make its waitpid() fail).
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
}

// The container's init, before exec: PID 1 of the new PID namespace.
[[noreturn]] void run_init(const InitSpec& spec, int sync_fd) {
  // Dies with the vbench thread that forked the first child (CLONE_PARENT
  // made that thread our parent too).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  reset_signals();
  // Its own session: a Ctrl-C at vbench's terminal is for vbench, which
  // then stops the container in order.
  setsid();
  if (::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    child_fail(sync_fd, sys_error("sethostname").context("container init"));
  if (auto s = assemble_rootfs(spec.rootfs); !s) child_fail(sync_fd, s.error().context("container rootfs"));
  child_wait_go(sync_fd);

  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (::dup2(spec.agent_fd, 0) < 0 || ::dup2(spec.agent_fd, 1) < 0 ||
      ::dup2(spec.log_fd >= 0 ? spec.log_fd : null_fd, 2) < 0)
    child_fail(sync_fd, sys_error("dup2 the agent's descriptors").context("container init"));
  // Nothing else of vbench's may leak into the container; the sync socket
  // stays open until exec so that an exec failure can still be reported.
  ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);

  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  char path_env[] = "PATH=/";
  char home_env[] = "HOME=/tmp";
  char* envp[] = {path_env, home_env, nullptr};
  // Docker's layers the environment asked for, last: the seccomp filter
  // must allow every call from here to the agent's first instruction.
  if (auto s = apply_security(spec.security); !s) child_fail(sync_fd, s.error().context("container security"));
  ::execve(argv[0], argv.data(), envp);
  child_fail(sync_fd, sys_error(fmt::format("exec `{}`", spec.argv[0])).context("container init"));
}

// The first child: unshares, clones the init, reports its pid, exits.
[[noreturn]] void run_first(const InitSpec& spec, int sync_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  child_wait_go(sync_fd);  // the parent has put us in the cgroup
  int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWPID;
  if (spec.userns) flags |= CLONE_NEWUSER;
  // unshare(2) with CLONE_NEWUSER creates the user namespace first and the
  // others owned by it; CLONE_NEWPID applies to our children only.
  if (::unshare(flags) != 0) child_fail(sync_fd, sys_error("unshare namespaces").context("container"));
  if (!send_msg(sync_fd, SyncMsg::Unshared)) _exit(1);
  child_wait_go(sync_fd);  // uid/gid maps written (user namespace)
  // A raw clone with a null stack behaves like fork (this process has a
  // single thread, so no lock can be held); CLONE_PARENT makes vbench the
  // init's parent, so the init is not orphaned when we exit.
  long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) child_fail(sync_fd, sys_error("clone the container init").context("container"));
  if (pid == 0) run_init(spec, sync_fd);
  if (!send_msg(sync_fd, SyncMsg::InitPid, static_cast<int>(pid))) _exit(1);
  _exit(0);
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int st;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

Status write_id_maps(pid_t pid) {
  // The container's root is the user who runs vbench: the rootless
  // convention, which also keeps the scratch directory writable.
  const std::string dir = fmt::format("/proc/{}", pid);
  if (auto s = write_file(dir + "/uid_map", fmt::format("0 {} 1\n", ::geteuid())); !s) return s;
  if (::getegid() != 0 || ::geteuid() != 0)
    if (auto s = write_file(dir + "/setgroups", "deny"); !s) return s;
  return write_file(dir + "/gid_map", fmt::format("0 {} 1\n", ::getegid()));
}

}  // namespace

Result<pid_t> spawn_container_init(const InitSpec& spec, const InitHooks& hooks) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return sys_error("container: socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(spec.timeout_s * 1e9);

  pid_t first = ::fork();
  if (first < 0) return sys_error("container: fork");
  if (first == 0) {
    parent_end.reset();
    run_first(spec, child_end.get());
  }
  child_end.reset();
  pid_t init = -1;
  auto fail = [&](const Error& e) -> Error {
    kill_and_reap(first);
    kill_and_reap(init);
    return e;
  };

  if (hooks.place)
    if (auto s = hooks.place(first); !s) return fail(s.error());
  if (!send_msg(parent_end.get(), SyncMsg::Go)) return fail(sys_error("container: signal the first child"));
  auto m = parent_recv(parent_end.get(), deadline, "the namespaces");
  if (!m) return fail(m.error());
  if (m->kind == SyncMsg::Failed) return fail(child_error(*m, "start"));
  if (m->kind != SyncMsg::Unshared) return fail(make_error("container start: the first child died"));
  if (spec.userns)
    if (auto s = write_id_maps(first); !s) return fail(s.error().context("container user namespace"));
  if (!send_msg(parent_end.get(), SyncMsg::Go)) return fail(sys_error("container: signal the first child"));
  m = parent_recv(parent_end.get(), deadline, "the container init");
  if (!m) return fail(m.error());
  if (m->kind == SyncMsg::Failed) return fail(child_error(*m, "start"));
  if (m->kind != SyncMsg::InitPid || m->pid <= 0) return fail(make_error("container start: the first child died"));
  init = m->pid;
  {
    int st;
    while (::waitpid(first, &st, 0) < 0 && errno == EINTR) {
    }
    first = -1;
  }
  if (hooks.wire)
    if (auto s = hooks.wire(init); !s) return fail(s.error());
  if (!send_msg(parent_end.get(), SyncMsg::Go)) {
    // The init died while we wired; its message (if any) says why.
    auto why = parent_recv(parent_end.get(), deadline, "the container init");
    if (why && why->kind == SyncMsg::Failed) return fail(child_error(*why, "init"));
    return fail(make_error("container init exited before the agent started"));
  }
  m = parent_recv(parent_end.get(), deadline, "the agent to start");
  if (!m) return fail(m.error());
  if (m->kind == SyncMsg::Failed) return fail(child_error(*m, "init"));
  if (m->kind != 0) return fail(make_error("container start: unexpected message {}", m->kind));
  // End of file: the init's end was closed by exec.
  return init;
}

}  // namespace vbench
