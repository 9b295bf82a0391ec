// The exact CPU time of a process tree (counters/task_clock.hpp), checked
// against the kernel's own total for it: wait4's rusage of the reaped child,
// which includes its threads and its reaped children, in microseconds of the
// same scheduler clock.
#include "counters/task_clock.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <thread>

#include "skip.hpp"
#include "tests/sanitizer.hpp"

using namespace vbench;

namespace {

// Spins until this thread has used `ns` of CPU.
void burn_cpu(uint64_t ns) {
  timespec t0{}, t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  volatile uint64_t x = 0;
  do {
    for (int i = 0; i < 10000; ++i) x = x + static_cast<uint64_t>(i);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  } while (static_cast<uint64_t>(t.tv_sec - t0.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(t.tv_nsec) -
               static_cast<uint64_t>(t0.tv_nsec) <
           ns);
}

}  // namespace

TEST_CASE("task-clock of a process tree: threads and reaped children, to the microsecond", "[task_clock][counters]") {
  int go[2];
  REQUIRE(pipe(go) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(go[1]);
    char b;
    while (::read(go[0], &b, 1) < 0 && errno == EINTR) {
    }
    // Work of three kinds: the process itself, two threads it starts, and a
    // child process it forks and reaps. 60 ms of CPU each.
    burn_cpu(60'000'000);
    std::thread a([] { burn_cpu(60'000'000); }), b2([] { burn_cpu(60'000'000); });
    a.join();
    b2.join();
    const pid_t g = fork();
    if (g == 0) {
      burn_cpu(60'000'000);
      _exit(0);
    }
    int st = 0;
    waitpid(g, &st, 0);
    _exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 3);
  }
  ::close(go[0]);
  auto clock = TaskClock::for_process_tree(child);
  ::close(go[1]);
  int status = 0;
  rusage ru{};
  REQUIRE(wait4(child, &status, 0, &ru) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  if (!clock) VBENCH_SKIP("perf_event_open task-clock not allowed here: " << clock.error().message);
  auto ns = clock->read_ns();
  REQUIRE(ns);
  const double rusage_ns = (static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)) *
                           1e3;
  INFO("task-clock " << *ns << " ns, rusage " << rusage_ns << " ns");
  CHECK(static_cast<double>(*ns) >= 240e6);  // all four parts, not the main thread's 60 ms alone
  // Nearly the same clock: rusage is the scheduler's sum_exec_runtime (what
  // cpuacct.usage sums), which also counts a little of the creation and exit
  // of each task; measured 0.5-0.8% above task-clock here, 2.3% once on a
  // saturated host. A missed thread or child would be 25% or more.
  // Not under AddressSanitizer (ci/sanitize): there rusage came out 20%
  // above task-clock (316 vs 264 ms), the sanitizer's own work in the
  // forked tasks outside what the counter saw.
  if (!vbtest::kUnderAsan) CHECK(std::abs(static_cast<double>(*ns) - rusage_ns) <= 0.03 * rusage_ns);
  // The count stays (the tasks are gone, their time is not).
  CHECK(*clock->read_ns() == *ns);
  // A pid that does not exist: an error, not a counter.
  CHECK_FALSE(TaskClock::for_process_tree(child).ok());
}
