// Docker's layers for vbench's own container, applied for real in a forked
// child: what the seccomp filter denies (and how), what it lets through, and
// the capability bounding set it leaves.
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "drivers/container/security.hpp"

using namespace vbench;

namespace {

// Runs fn in a child after applying the plan; returns fn's exit code (or
// 100 + errno of apply_security's failure, 200 + signal).
template <typename F>
int in_child(const SecurityPlan& plan, F fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (auto s = apply_security(plan); !s) _exit(100 + (errno & 63));
    _exit(fn());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

}  // namespace

TEST_CASE("seccomp docker-default: denies namespaces, perf and mount with EPERM, clone3 with ENOSYS", "[seccomp]") {
  auto prog = docker_default_seccomp_program();
  REQUIRE(prog.ok());
  CHECK(prog->size() > 300);  // an allow rule per syscall, like Docker's list
  SecurityPlan plan;
  plan.seccomp = *prog;
  auto expect_errno = [](long rc, int want) { return rc == -1 && errno == want ? 0 : 1; };
  CHECK(in_child(plan, [&] { return expect_errno(::unshare(CLONE_NEWNS), EPERM); }) == 0);
  CHECK(in_child(plan, [&] { return expect_errno(::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0), EPERM); }) ==
        0);
  CHECK(in_child(plan, [&] { return expect_errno(::syscall(SYS_mount, "x", "/", "tmpfs", 0, nullptr), EPERM); }) == 0);
  CHECK(in_child(plan, [&] { return expect_errno(::syscall(SYS_clone3, nullptr, 0), ENOSYS); }) == 0);
  CHECK(in_child(plan, [&] { return expect_errno(::syscall(SYS_personality, 0x0400000ul), EPERM); }) == 0);
}

TEST_CASE("seccomp docker-default: ordinary work goes through (fork, threads' clone, exec, personality query)",
          "[seccomp]") {
  auto prog = docker_default_seccomp_program();
  REQUIRE(prog.ok());
  SecurityPlan plan;
  plan.seccomp = *prog;
  CHECK(in_child(plan, [] {
          pid_t p = fork();
          if (p < 0) return 1;
          if (p == 0) _exit(7);
          int st;
          waitpid(p, &st, 0);
          return WEXITSTATUS(st) == 7 ? 0 : 2;
        }) == 0);
  CHECK(in_child(plan, [] { return ::syscall(SYS_personality, 0xffffffffUL) >= 0 ? 0 : 1; }) == 0);
  CHECK(in_child(plan, [] {
          execl("/bin/true", "true", static_cast<char*>(nullptr));
          return 3;
        }) == 0);
}

TEST_CASE("capabilities docker-default: the bounding set is Docker's 14, no_new_privs is set", "[seccomp]") {
  // Cutting the bounding set needs CAP_SETPCAP: run the unit tests as root.
  if (geteuid() != 0) FAIL("needs root (PR_CAPBSET_DROP needs CAP_SETPCAP)");
  SecurityPlan plan;
  plan.drop_capabilities = true;
  plan.keep_caps = docker_default_capability_numbers();
  plan.no_new_privs = true;
  CHECK(docker_default_capability_numbers().size() == 14);
  CHECK(in_child(plan, [] {
          if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) != 0) return 1;
          if (prctl(PR_CAPBSET_READ, CAP_NET_ADMIN) != 0) return 2;
          if (prctl(PR_CAPBSET_READ, CAP_NET_RAW) != 1) return 3;
          if (prctl(PR_CAPBSET_READ, CAP_CHOWN) != 1) return 4;
          if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 5;
          // Without CAP_SYS_ADMIN a mount namespace is refused.
          return ::unshare(CLONE_NEWNS) == -1 && errno == EPERM ? 0 : 6;
        }) == 0);
}

TEST_CASE("container security knob values are checked", "[seccomp]") {
  CHECK(*choose(kSeccompModes, "seccomp", std::string_view("none")) == SeccompMode::None);
  CHECK(*choose(kSeccompModes, "seccomp", std::string_view("docker-default")) == SeccompMode::DockerDefault);
  CHECK_THAT(choose(kSeccompModes, "seccomp", std::string_view("strict")).error().message,
             Catch::Equals("seccomp = \"strict\": expected none or docker-default"));
  CHECK(*choose(kCapabilitySets, "capabilities", std::string_view("all")) == CapabilitySet::All);
  CHECK_FALSE(choose(kCapabilitySets, "capabilities", std::string_view("none")).ok());
}
