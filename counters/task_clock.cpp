#include "counters/task_clock.hpp"

#include <linux/perf_event.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "counters/event_groups.hpp"

namespace vbench {

Result<TaskClock> TaskClock::for_process_tree(pid_t pid) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  // inherit: children made after this point get a copy of the event whose
  // count is added to ours while they live and for good when they exit.
  // Not a group, no sampling: inherit allows neither PERF_FORMAT_GROUP reads
  // nor needs them. Enabled from the start; kernel and user time both count.
  attr.inherit = 1;
  attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  // pid > 0, cpu -1: that task on whichever CPU it runs (needs ptrace access
  // to it, which a parent running as root or the same user has).
  const int fd = perf_event_open_fd(&attr, pid, -1, -1, 0);
  if (fd < 0) {
    const int err = errno;
    return make_error("perf_event_open task-clock on pid {}: {}", pid, std::strerror(err));
  }
  return TaskClock(UniqueFd(fd));
}

Result<uint64_t> TaskClock::read_ns() const {
  // { u64 value; u64 time_enabled; u64 time_running; }: the value summed
  // over the inherited copies. A software clock is never multiplexed, so
  // running == enabled and the value needs no scaling.
  uint64_t v[3] = {0, 0, 0};
  const ssize_t n = ::read(fd_.get(), v, sizeof v);
  if (n != static_cast<ssize_t>(sizeof v))
    return n < 0 ? sys_error("read task-clock") : make_error("read task-clock: {} bytes, expected {}", n, sizeof v);
  return v[0];
}

}  // namespace vbench
