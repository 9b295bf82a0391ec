#include "counters/counters.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "core/fs.hpp"
#include "counters/event_groups.hpp"
#include "counters/events.hpp"

namespace vbench {
namespace {

pid_t current_tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// Each RegionCounters gets a generation number; a thread caches which of
// them it last opened groups for, so that thread_begin's common case is one
// compare and two ioctls. Generations never repeat, so a stale cache entry
// (from a destroyed RegionCounters) can never match.
std::atomic<uint64_t> g_generation{0};
struct ThreadCache {
  uint64_t generation = 0;
  void* slot = nullptr;
};
thread_local ThreadCache t_cache;

// Online CPUs from /sys ("0-3,6"), for per-CPU cgroup events.
std::vector<int> online_cpus() {
  std::vector<int> cpus;
  auto line = read_line("/sys/devices/system/cpu/online");
  if (line) {
    std::stringstream ss(*line);
    std::string part;
    while (std::getline(ss, part, ',')) {
      auto dash = part.find('-');
      try {
        int lo = std::stoi(part.substr(0, dash));
        int hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
        for (int c = lo; c <= hi; ++c) cpus.push_back(c);
      } catch (const std::exception&) {
        cpus.clear();
        break;
      }
    }
  }
  if (cpus.empty())
    for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); ++c) cpus.push_back(static_cast<int>(c));
  return cpus;
}

// Merges one event's open outcome over several targets: ok when it opened on
// every target; the shared outcome when it failed the same way everywhere.
OpenOutcome merged_outcome(const std::vector<std::unique_ptr<EventGroups>>& targets,
                           const std::vector<std::string>& target_names, size_t event) {
  size_t failed = 0;
  const OpenOutcome* first_failure = nullptr;
  std::string where;
  for (size_t t = 0; t < targets.size(); ++t) {
    const auto& o = targets[t]->outcomes()[event];
    if (o.ok()) continue;
    if (!first_failure) {
      first_failure = &o;
      where = target_names[t];
    }
    ++failed;
  }
  if (failed == 0) return {};
  if (failed == targets.size()) return *first_failure;
  return OpenOutcome{"error", fmt::format("could not be opened on {} of {} targets ({}: {})", failed, targets.size(),
                                          where, first_failure->reason)};
}

// Whether this PMU tells guest from host mode. A thread that never enters
// guest mode must count nothing with exclude_host set; a PMU that ignores the
// bit (seen in a VM's virtual PMU) counts everything, and then `NAME:G` and
// `NAME:H` would both be the plain count, silently. Asked once per process.
OpenOutcome guest_host_split_support() {
  static const OpenOutcome answer = [] {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_HARDWARE;
    attr.config = PERF_COUNT_HW_INSTRUCTIONS;
    attr.disabled = 1;
    attr.exclude_host = 1;
    attr.exclude_hv = 1;
    int fd = perf_event_open_fd(&attr, 0, -1, -1, 0);
    if (fd < 0) return classify_open_error(errno, false);
    UniqueFd event(fd);
    // Plain ioctls on a lone event: enable, a few million instructions, disable.
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    uint64_t x = 0;
    for (int i = 0; i < 1000000; ++i) asm volatile("" : "+r"(x));
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    uint64_t guest_mode = 0;
    if (::read(fd, &guest_mode, sizeof guest_mode) != sizeof guest_mode)
      return OpenOutcome{"error", sys_error("read exclude_host probe").message};
    if (guest_mode > 10000)
      return OpenOutcome{"unsupported",
                         fmt::format("this PMU ignores exclude_host (a host thread counted {} instructions as guest "
                                     "mode), so guest and host mode cannot be told apart here",
                                     guest_mode)};
    return OpenOutcome{};
  }();
  return answer;
}

CounterReading reading_for_outcome(const std::string& name, const OpenOutcome& o, const std::string& scope) {
  CounterReading r;
  r.name = name;
  r.status = o.status;
  r.reason = o.reason;
  r.scope = scope;
  r.running_fraction = 0;
  return r;
}

}  // namespace

// ---- RegionCounters ---------------------------------------------------------

namespace {

struct ThreadSlot {
  pid_t tid = 0;
  EventGroups groups;
  std::vector<EventCount> counts;   // cumulative, as of the thread's last thread_end
  std::vector<EventCount> scratch;  // read buffer, so thread_end does not allocate
  bool entered = false;
  std::string read_error;
};

}  // namespace

struct RegionCounters::Impl {
  std::vector<EventSpec> events;
  std::vector<OpenOutcome> outcomes;  // as opened for the creating thread
  uint64_t generation = 0;
  mutable std::mutex mu;
  std::vector<std::unique_ptr<ThreadSlot>> slots;

  std::unique_ptr<ThreadSlot> open_slot(pid_t tid) const {
    auto s = std::make_unique<ThreadSlot>();
    s->tid = tid;
    s->groups.open(events, CountTarget{0, -1, 0});  // pid 0: the calling thread, on any CPU
    s->counts.assign(events.size(), EventCount{});
    s->scratch.assign(events.size(), EventCount{});
    return s;
  }

  ThreadSlot* slot_for_this_thread() {
    if (t_cache.generation == generation) return static_cast<ThreadSlot*>(t_cache.slot);
    const pid_t tid = current_tid();
    ThreadSlot* slot = nullptr;
    {
      std::lock_guard lock(mu);
      for (auto& s : slots)
        if (s->tid == tid) slot = s.get();
    }
    if (!slot) {
      auto fresh = open_slot(tid);  // outside the lock: opening takes a few syscalls per event
      std::lock_guard lock(mu);
      slot = fresh.get();
      slots.push_back(std::move(fresh));
    }
    t_cache = ThreadCache{generation, slot};
    return slot;
  }
};

RegionCounters::RegionCounters() : impl_(std::make_unique<Impl>()) {}
RegionCounters::~RegionCounters() = default;

Result<std::unique_ptr<RegionCounters>> RegionCounters::create(const std::vector<std::string>& names) {
  auto events = resolve_events(names);
  if (!events) return events.error();
  std::unique_ptr<RegionCounters> rc(new RegionCounters());
  Impl& impl = *rc->impl_;
  impl.events = std::move(*events);
  impl.generation = ++g_generation;
  if (impl.events.empty()) return rc;
  // The creating thread is usually the one that measures: open its groups
  // now, before the region, so that its thread_begin is only the enable.
  auto slot = impl.open_slot(current_tid());
  impl.outcomes = slot->groups.outcomes();
  t_cache = ThreadCache{impl.generation, slot.get()};
  impl.slots.push_back(std::move(slot));
  return rc;
}

void RegionCounters::thread_begin() {
  if (impl_->events.empty()) return;
  impl_->slot_for_this_thread()->groups.enable();
}

void RegionCounters::thread_end() {
  if (impl_->events.empty() || t_cache.generation != impl_->generation) return;  // no begin on this thread
  auto* slot = static_cast<ThreadSlot*>(t_cache.slot);
  slot->groups.disable();
  Status st = slot->groups.read(slot->scratch);
  std::lock_guard lock(impl_->mu);
  slot->entered = true;
  if (st)
    slot->counts = slot->scratch;  // same size: no allocation
  else
    slot->read_error = st.error().message;
}

std::vector<CounterReading> RegionCounters::readings() const {
  std::vector<CounterReading> out;
  std::lock_guard lock(impl_->mu);
  for (size_t i = 0; i < impl_->events.size(); ++i) {
    const std::string& name = impl_->events[i].name;
    if (!impl_->outcomes[i].ok()) {
      out.push_back(reading_for_outcome(name, impl_->outcomes[i], "agent"));
      continue;
    }
    std::vector<EventCount> parts;
    std::string failure;
    for (const auto& s : impl_->slots) {
      if (!s->entered) continue;
      const OpenOutcome& o = s->groups.outcomes()[i];
      if (!s->read_error.empty())
        failure = fmt::format("thread {}: {}", s->tid, s->read_error);
      else if (!o.ok())
        failure = fmt::format("could not be opened in thread {}: {}", s->tid, o.reason);
      else
        parts.push_back(s->counts[i]);
    }
    if (!failure.empty()) {
      out.push_back(reading_for_outcome(name, OpenOutcome{"error", failure}, "agent"));
      continue;
    }
    if (parts.empty()) {
      out.push_back(reading_for_outcome(
          name, OpenOutcome{"not-counted", "the workload never entered its measured region"}, "agent"));
      continue;
    }
    out.push_back(combine_counts(name, parts, "agent"));
  }
  return out;
}

Status validate_counter_names(const std::vector<std::string>& names) {
  auto events = resolve_events(names);
  if (!events) return events.error();
  return {};
}

// ---- HostCounters -----------------------------------------------------------

struct HostCounters::Impl {
  std::vector<EventSpec> events;
  std::string scope;
  UniqueFd cgroup_fd;
  std::vector<std::unique_ptr<EventGroups>> targets;  // one per CPU (cgroup) or per thread
  std::vector<std::string> target_names;
  std::vector<OpenOutcome> outcomes;  // merged over targets
  std::vector<std::vector<EventCount>> at_start, at_stop;
  bool running = false, measured = false;

  void open_all(const std::vector<CountTarget>& where, const std::vector<OpenOutcome>* preset = nullptr) {
    for (const auto& t : where) {
      auto g = std::make_unique<EventGroups>();
      g->open(events, t, preset);
      targets.push_back(std::move(g));
    }
    for (size_t i = 0; i < events.size(); ++i) outcomes.push_back(merged_outcome(targets, target_names, i));
    at_start.assign(targets.size(), std::vector<EventCount>(events.size()));
    at_stop = at_start;
  }

  Status read_all(std::vector<std::vector<EventCount>>& into) {
    for (size_t t = 0; t < targets.size(); ++t)
      if (Status st = targets[t]->read(into[t]); !st) return st.error().context(target_names[t]);
    return {};
  }
};

HostCounters::HostCounters() : impl_(std::make_unique<Impl>()) {}
HostCounters::~HostCounters() = default;

Result<std::unique_ptr<HostCounters>> HostCounters::for_cgroup(const std::string& cgroup_dir,
                                                               const std::vector<std::string>& names) {
  auto events = resolve_events(names);
  if (!events) return events.error().context("host counters for cgroup " + cgroup_dir);
  std::unique_ptr<HostCounters> hc(new HostCounters());
  Impl& impl = *hc->impl_;
  impl.events = std::move(*events);
  impl.scope = "host-cgroup";
  impl.cgroup_fd.reset(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!impl.cgroup_fd) return sys_error(fmt::format("host counters: open cgroup `{}`", cgroup_dir));
  std::vector<CountTarget> where;
  for (int cpu : online_cpus()) {
    // Cgroup events count on one CPU each: pid is the cgroup directory's fd.
    where.push_back(CountTarget{impl.cgroup_fd.get(), cpu, PERF_FLAG_PID_CGROUP});
    impl.target_names.push_back(fmt::format("CPU {}", cpu));
  }
  impl.open_all(where);
  return hc;
}

Result<std::unique_ptr<HostCounters>> HostCounters::for_threads(const std::vector<pid_t>& tids,
                                                                const std::vector<std::string>& names,
                                                                VcpuOptions options) {
  if (tids.empty()) return make_error("host counters for threads: no thread ids given");
  auto events = resolve_events(names);
  if (!events) return events.error().context("host counters for vCPU threads");
  std::unique_ptr<HostCounters> hc(new HostCounters());
  Impl& impl = *hc->impl_;
  impl.scope = "host-vcpu";
  std::vector<OpenOutcome> preset;
  const OpenOutcome split = options.split_guest_host ? guest_host_split_support() : OpenOutcome{};
  for (auto& e : *events) {
    // A vCPU thread spends its time in guest mode: count both modes, which
    // libpfm4's default (exclude_guest, like perf's) would not.
    e.attr.exclude_guest = 0;
    e.attr.exclude_host = 0;
    const bool hardware = !e.software();
    impl.events.push_back(e);
    preset.push_back(OpenOutcome{});
    if (options.split_guest_host && hardware) {
      EventSpec guest = e, host = e;
      guest.name += ":G";
      guest.attr.exclude_host = 1;
      host.name += ":H";
      host.attr.exclude_guest = 1;
      impl.events.push_back(std::move(guest));
      impl.events.push_back(std::move(host));
      preset.push_back(split);
      preset.push_back(split);
    }
  }
  std::vector<CountTarget> where;
  for (pid_t tid : tids) {
    where.push_back(CountTarget{tid, -1, 0});
    impl.target_names.push_back(fmt::format("thread {}", tid));
  }
  impl.open_all(where, &preset);
  return hc;
}

Status HostCounters::start() {
  Impl& impl = *impl_;
  if (impl.running) return make_error("host counters: start() while already counting");
  // The baseline is read first: counts are cumulative over the events' life.
  if (Status st = impl.read_all(impl.at_start); !st) return st.error().context("host counters: start");
  for (const auto& t : impl.targets) t->enable();
  impl.running = true;
  return {};
}

Status HostCounters::stop() {
  Impl& impl = *impl_;
  if (!impl.running) return make_error("host counters: stop() without start()");
  for (const auto& t : impl.targets) t->disable();
  impl.running = false;
  if (Status st = impl.read_all(impl.at_stop); !st) return st.error().context("host counters: stop");
  impl.measured = true;
  return {};
}

std::vector<CounterReading> HostCounters::readings() const {
  const Impl& impl = *impl_;
  std::vector<CounterReading> out;
  for (size_t i = 0; i < impl.events.size(); ++i) {
    const std::string& name = impl.events[i].name;
    if (!impl.outcomes[i].ok()) {
      out.push_back(reading_for_outcome(name, impl.outcomes[i], impl.scope));
      continue;
    }
    if (!impl.measured) {
      out.push_back(reading_for_outcome(name, OpenOutcome{"not-counted", "never started and stopped"}, impl.scope));
      continue;
    }
    std::vector<EventCount> parts;
    bool ran = false;
    for (size_t t = 0; t < impl.targets.size(); ++t) {
      parts.push_back(count_delta(impl.at_stop[t][i], impl.at_start[t][i]));
      ran = ran || parts.back().enabled > 0;
    }
    CounterReading r = combine_counts(name, parts, impl.scope);
    // Enabled time only passes while the target runs: a thread while it is
    // scheduled, a cgroup while one of its tasks is on that CPU. None at all
    // in the window means the target did not run, and so caused nothing.
    if (!ran) {
      r.status = "ok";
      r.reason.clear();
      r.value = 0.0;
      r.running_fraction = 1;
    }
    out.push_back(std::move(r));
  }
  return out;
}

// ---- support, derived metrics, cgroup root ----------------------------------

std::vector<CounterSupport> counter_support(const std::vector<std::string>& names) {
  std::vector<CounterSupport> out;
  for (const auto& name : expand_counter_names(names)) {
    CounterSupport s;
    s.name = name;
    auto e = resolve_event(name);
    if (!e) {
      s.status = "unknown";
      s.reason = e.error().message;
      out.push_back(std::move(s));
      continue;
    }
    s.encoding = e->encoding;
    EventGroups g;
    g.open({*e}, CountTarget{0, -1, 0});
    s.status = g.outcomes()[0].status;
    s.reason = g.outcomes()[0].reason;
    out.push_back(std::move(s));
  }
  return out;
}

bool is_derived_counter_metric(const std::string& name) {
  static const std::set<std::string> names = {"ipc", "branch_miss_pct", "cache_miss_pct", "mpki", "dtlb_mpki"};
  const size_t colon = name.rfind(':');
  return names.count(colon == std::string::npos ? name : name.substr(colon + 1)) > 0;
}

std::vector<Metric> derived_counter_metrics(const std::vector<CounterReading>& readings) {
  // scope -> name -> value, "ok" readings only.
  std::map<std::string, std::map<std::string, double>> ok;
  std::vector<std::string> scopes;
  for (const auto& r : readings) {
    if (r.status != "ok" || !r.value) continue;
    if (!ok.count(r.scope)) scopes.push_back(r.scope);
    ok[r.scope][r.name] = *r.value;
  }
  std::vector<Metric> out;
  for (const auto& scope : scopes) {
    const auto& v = ok[scope];
    auto get = [&](std::initializer_list<const char*> aliases, double* x) {
      for (const char* a : aliases) {
        auto it = v.find(a);
        if (it != v.end()) {
          *x = it->second;
          return true;
        }
      }
      return false;
    };
    const std::string prefix = scope == "agent" ? "" : scope + ":";
    auto add = [&](const char* name, double value, const char* unit, Better b) {
      out.push_back(Metric{prefix + name, value, unit, b});
    };
    double ins = 0, cyc = 0, br = 0, brm = 0, cref = 0, cmiss = 0, dtlb = 0;
    const bool have_ins = get({"instructions"}, &ins);
    if (have_ins && get({"cycles", "cpu-cycles"}, &cyc) && cyc > 0) add("ipc", ins / cyc, "insn/cycle", Better::Higher);
    if (get({"branches", "branch-instructions"}, &br) && get({"branch-misses"}, &brm) && br > 0)
      add("branch_miss_pct", 100.0 * brm / br, "%", Better::Lower);
    const bool have_cmiss = get({"cache-misses"}, &cmiss);
    if (have_cmiss && get({"cache-references"}, &cref) && cref > 0)
      add("cache_miss_pct", 100.0 * cmiss / cref, "%", Better::Lower);
    if (have_cmiss && have_ins && ins > 0) add("mpki", 1000.0 * cmiss / ins, "MPKI", Better::Lower);
    if (get({"dTLB-load-misses"}, &dtlb) && have_ins && ins > 0)
      add("dtlb_mpki", 1000.0 * dtlb / ins, "MPKI", Better::Lower);
  }
  return out;
}

namespace {

// mountinfo escapes blanks and backslashes in paths as octal (\040).
std::string unescape_mount_path(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(oct, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

Result<std::string> perf_event_cgroup_root(const std::string& proc_dir) {
  auto mountinfo = read_file(proc_dir + "/self/mountinfo");
  if (!mountinfo) return mountinfo.error().context("perf_event cgroup");
  std::string v2_mount;
  std::istringstream lines(*mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    // "36 25 0:31 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu"
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream head(line.substr(0, sep)), tail(line.substr(sep + 3));
    std::string id, parent, devno, root, mount_point, fstype, source, super_opts;
    head >> id >> parent >> devno >> root >> mount_point;
    tail >> fstype >> source >> super_opts;
    if (fstype == "cgroup") {
      std::istringstream opts(super_opts);
      std::string opt;
      while (std::getline(opts, opt, ','))
        if (opt == "perf_event") return unescape_mount_path(mount_point);
    } else if (fstype == "cgroup2" && v2_mount.empty()) {
      v2_mount = unescape_mount_path(mount_point);
    }
  }
  // Not on v1: perf_event is implicitly active on v2 when it is enabled and
  // bound to no v1 hierarchy ("perf_event 0 ... 1" in /proc/cgroups).
  bool on_v2 = false;
  if (auto cgroups = read_file(proc_dir + "/cgroups")) {
    std::istringstream in(*cgroups);
    std::string name;
    int hierarchy = -1, num = 0, enabled = 0;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      if (f >> name >> hierarchy >> num >> enabled && name == "perf_event") on_v2 = hierarchy == 0 && enabled == 1;
    }
  }
  if (on_v2 && !v2_mount.empty()) return v2_mount;
  return make_error(
      "no cgroup hierarchy with perf_event: mount one (mount -t cgroup -o perf_event none "
      "/sys/fs/cgroup/perf_event) or use cgroup v2");
}

std::vector<CounterReading> unsupported_readings(const std::vector<std::string>& names, const std::string& scope,
                                                 const std::string& reason) {
  std::vector<CounterReading> out;
  for (const auto& n : expand_counter_names(names)) {
    CounterReading r;
    r.name = n;
    r.scope = scope;
    r.status = "unsupported";
    r.reason = reason;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace vbench
