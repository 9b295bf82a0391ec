#include "counters/event_groups.hpp"

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vbench {

EventCount count_delta(const EventCount& later, const EventCount& earlier) {
  auto sub = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
  return {sub(later.value, earlier.value), sub(later.enabled, earlier.enabled), sub(later.running, earlier.running)};
}

CounterReading combine_counts(const std::string& name, const std::vector<EventCount>& parts, const std::string& scope) {
  CounterReading r;
  r.name = name;
  r.scope = scope;
  double total = 0;
  uint64_t enabled = 0, running = 0;
  size_t active = 0, starved = 0;
  for (const auto& p : parts) {
    if (p.enabled == 0) continue;  // never enabled on this target: nothing to add
    ++active;
    enabled += p.enabled;
    running += p.running;
    if (p.running == 0) {
      ++starved;
      continue;
    }
    // Scaled as perf stat does: the count extrapolated over the enabled time.
    total += static_cast<double>(p.value) * (static_cast<double>(p.enabled) / static_cast<double>(p.running));
  }
  if (active == 0) {
    r.status = "not-counted";
    r.reason = "never enabled: the measured region did not run";
    r.running_fraction = 0;
    return r;
  }
  r.running_fraction = static_cast<double>(running) / static_cast<double>(enabled);
  if (starved > 0) {
    r.status = "not-counted";
    r.reason = fmt::format(
        "never got a hardware counter on {} of {} threads/CPUs (its group has more events than the PMU had "
        "free counters)",
        starved, active);
    return r;
  }
  r.value = total;
  return r;
}

Result<GroupRead> parse_group_read(const uint64_t* words, size_t n_words) {
  if (n_words < 3) return make_error("perf group read: {} words, need at least 3", n_words);
  const uint64_t nr = words[0];
  if (nr > (n_words - 3) / 2) return make_error("perf group read: {} events announced, {} words read", nr, n_words);
  GroupRead g;
  g.enabled = words[1];
  g.running = words[2];
  g.id_values.reserve(nr);
  for (uint64_t i = 0; i < nr; ++i) g.id_values.emplace_back(words[3 + 2 * i + 1], words[3 + 2 * i]);
  return g;
}

namespace {

std::string paranoid_level() {
  auto p = read_line("/proc/sys/kernel/perf_event_paranoid");
  return p ? *p : std::string("unknown");
}

}  // namespace

OpenOutcome classify_open_error(int err, bool cgroup_target) {
  OpenOutcome o;
  const std::string what = fmt::format("perf_event_open: {}", std::strerror(err));
  switch (err) {
    case EACCES:
    case EPERM:
      o.status = "unsupported";
      o.reason = fmt::format(
          "{}: perf_event_paranoid={} forbids it for this user (run as root, or sysctl "
          "kernel.perf_event_paranoid={}; `NAME:u` counts user level only)",
          what, paranoid_level(), cgroup_target ? "0" : "1");
      return o;
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
      o.status = "unsupported";
      o.reason = fmt::format("{}: this CPU, hypervisor or kernel does not provide the event", what);
      return o;
    case EINVAL:
      // For a known event the usual cause is an encoding or an exclude_*
      // combination this PMU cannot do; it is the machine's answer, not a
      // failed run.
      o.status = "unsupported";
      o.reason = fmt::format("{}: the kernel rejected this event's encoding on this CPU", what);
      return o;
    case EMFILE:
    case ENFILE:
      o.status = "error";
      o.reason = fmt::format("{} (raise the open-file limit, ulimit -n)", what);
      return o;
    case ESRCH:
      o.status = "error";
      o.reason = fmt::format("{}: the thread to count has exited", what);
      return o;
    case EBADF:
      if (cgroup_target) {
        o.status = "error";
        o.reason = fmt::format("{}: not a cgroup of the perf_event hierarchy", what);
        return o;
      }
      break;
    default:
      break;
  }
  o.status = "error";
  o.reason = what;
  return o;
}

int perf_event_open_fd(perf_event_attr* attr, pid_t pid, int cpu, int group_fd, unsigned long flags) {
  // Assumes the 5.x+ ABI: attr->size set by the caller, FD_CLOEXEC honoured.
  return static_cast<int>(syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags | PERF_FLAG_FD_CLOEXEC));
}

namespace {

// task-clock and cpu-clock are PMUs of their own (hrtimer based), unlike the
// other software events. Measured on 6.18: a group led by task-clock lost up
// to a third of its page-faults member's counts when the thread was
// preempted, so a clock never leads (or joins) a group.
bool clock_event(const EventSpec& e) {
  return e.software() && (e.attr.config == PERF_COUNT_SW_TASK_CLOCK || e.attr.config == PERF_COUNT_SW_CPU_CLOCK);
}

}  // namespace

void EventGroups::open(const std::vector<EventSpec>& events, const CountTarget& target,
                       const std::vector<OpenOutcome>* preset) {
  groups_.clear();
  outcomes_.assign(events.size(), OpenOutcome{});
  const bool cgroup = (target.flags & PERF_FLAG_PID_CGROUP) != 0;
  int open_sw = -1, open_hw = -1;  // index of the group still taking members
  size_t largest = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (preset && !(*preset)[i].ok()) {
      outcomes_[i] = (*preset)[i];
      continue;
    }
    perf_event_attr attr = events[i].attr;
    attr.size = sizeof attr;
    attr.disabled = 1;  // enabled by enable(), at the edge of the region
    attr.inherit = 0;   // the threads that enter the region are the ones counted
    attr.read_format =
        PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING | PERF_FORMAT_ID;
    const bool software = events[i].software();
    const bool alone = clock_event(events[i]);
    int& current = software ? open_sw : open_hw;
    int fd = -1;
    if (!alone && current >= 0 && (software || groups_[current].fds.size() < kMaxHardwareGroup)) {
      // A member that cannot join (group full, or an event this PMU cannot
      // schedule with the others) is tried alone below.
      fd = perf_event_open_fd(&attr, target.pid, target.cpu, groups_[current].fds[0].get(), target.flags);
    }
    const bool joined = fd >= 0;
    int group = current;
    if (!joined) {
      fd = perf_event_open_fd(&attr, target.pid, target.cpu, -1, target.flags);
      if (fd < 0) {
        outcomes_[i] = classify_open_error(errno, cgroup);
        continue;
      }
      groups_.push_back(Group{});
      groups_.back().software = software;
      group = static_cast<int>(groups_.size() - 1);
      if (!alone) current = group;
    }
    Group& g = groups_[group];
    uint64_t id = 0;
    // PERF_EVENT_IOC_ID: the kernel's id of this event, as reported in group reads.
    if (ioctl(fd, PERF_EVENT_IOC_ID, &id) != 0) {
      outcomes_[i] = classify_open_error(errno, cgroup);
      ::close(fd);
      if (!joined) {
        groups_.pop_back();
        if (current == group) current = -1;
      }
      continue;
    }
    g.fds.emplace_back(fd);
    g.ids.push_back(id);
    g.event_index.push_back(i);
    largest = std::max(largest, g.fds.size());
  }
  buf_.assign(3 + 2 * largest, 0);
  // Software groups are enabled last and disabled first: then task-clock and
  // friends see the least of our own ioctls.
  std::stable_partition(groups_.begin(), groups_.end(), [](const Group& g) { return !g.software; });
}

void EventGroups::enable() const {
  // PERF_EVENT_IOC_ENABLE with PERF_IOC_FLAG_GROUP: the leader and all its members at once.
  for (const auto& g : groups_) ioctl(g.fds[0].get(), PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
}

void EventGroups::disable() const {
  for (auto it = groups_.rbegin(); it != groups_.rend(); ++it)
    ioctl(it->fds[0].get(), PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
}

Status EventGroups::read(std::vector<EventCount>& out) {
  for (const auto& g : groups_) {
    const size_t words = 3 + 2 * g.fds.size();
    ssize_t n;
    do n = ::read(g.fds[0].get(), buf_.data(), words * sizeof(uint64_t));
    while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("read perf event group");
    auto parsed = parse_group_read(buf_.data(), static_cast<size_t>(n) / sizeof(uint64_t));
    if (!parsed) return parsed.error();
    for (const auto& [id, value] : parsed->id_values)
      for (size_t k = 0; k < g.ids.size(); ++k)
        if (g.ids[k] == id) out[g.event_index[k]] = EventCount{value, parsed->enabled, parsed->running};
  }
  return {};
}

}  // namespace vbench
