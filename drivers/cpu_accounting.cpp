#include "drivers/cpu_accounting.hpp"

#include <dirent.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>

#include "core/fs.hpp"
#include "core/host_load.hpp"
#include "core/procfs.hpp"
#include "counters/per_op.hpp"
#include "workloads/operations.hpp"

namespace vbench {

namespace {

double tick_ns() {
  const long hz = sysconf(_SC_CLK_TCK);
  return 1e9 / static_cast<double>(hz > 0 ? hz : 100);
}

std::optional<double> minus(const std::optional<double>& a, const std::optional<double>& b) {
  if (!a || !b) return std::nullopt;
  return *a - *b;
}

// A reading that was really counted: status ok, a finite value.
const CounterReading* counted(const std::vector<CounterReading>& rs, const std::string& name,
                              const std::string& scope) {
  for (const auto& r : rs)
    if (r.name == name && r.scope == scope && r.status == "ok" && r.value && std::isfinite(*r.value)) return &r;
  return nullptr;
}

// "0-1", "0,2", "1": the CPU list as people write it.
std::string cpu_list_text(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += j == i ? std::to_string(cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace

CpuTimes operator-(const CpuTimes& a, const CpuTimes& b) {
  CpuTimes d;
  d.user = a.user - b.user;
  d.sys = a.sys - b.sys;
  d.guest = minus(a.guest, b.guest);
  d.usage = minus(a.usage, b.usage);
  d.vcpu = minus(a.vcpu, b.vcpu);
  d.softirq = minus(a.softirq, b.softirq);
  d.split = a.split && b.split;
  d.host_busy = minus(a.host_busy, b.host_busy);
  d.ours_elsewhere = minus(a.ours_elsewhere, b.ours_elsewhere);
  return d;
}

std::vector<Metric> cpu_attribution_metrics(const Sample& s, const CpuTimes& d, double window_s) {
  std::vector<Metric> out;
  if (!s.ok || !std::isfinite(window_s) || !(window_s > 0)) return out;
  auto rate = operation_rate(s.workload, s.metrics);
  if (!rate) return out;
  const double ops = rate->per_s * window_s;
  const std::string unit = "ns/" + rate->op;
  // Clock-tick counters can step back by a tick between two reads of the
  // kernel's adjusted split (cputime_adjust keeps each monotonic, not their
  // parts exact): a negative part is noise, reported as 0.
  auto per_op = [&](double ns) { return std::max(0.0, ns) / ops; };
  const double env = d.environment();
  const double softirq = d.softirq.value_or(0);
  auto add = [&](std::string name, double ns) {
    out.push_back(Metric{std::move(name), per_op(ns), unit, Better::Lower});
  };
  add("cpu_ns_per_op", env + softirq);
  if (d.split && !d.usage) {
    add("cpu_ns_per_op.user", d.user);
    add("cpu_ns_per_op.sys", d.sys);
  } else if (d.split) {
    // An exact total (ns) beside a clock-tick split (cpuacct.stat, or bare's
    // /proc/PID/stat beside its task-clock): the ticks give the proportion,
    // the total the amount, so the parts add up to the total. A window in
    // which neither part moved by a tick has no split to tell.
    const double u = std::max(0.0, d.user), sy = std::max(0.0, d.sys);
    if (u + sy > 0) {
      add("cpu_ns_per_op.user", *d.usage * u / (u + sy));
      add("cpu_ns_per_op.sys", *d.usage * sy / (u + sy));
    }
  }
  if (d.softirq) add("cpu_ns_per_op.softirq", softirq);
  if (d.guest) add("cpu_ns_per_op.guest", *d.guest);
  if (d.vcpu) {
    add("cpu_ns_per_op.vcpu", *d.vcpu);
    add("cpu_ns_per_op.io", env - *d.vcpu);
  }
  // Cycles and instructions per operation: counted from the host over the
  // same window where it did (host-cgroup, host-vcpu), else the agent's
  // region, through their CPU time (counters/per_op.hpp). vCPU threads'
  // counts go with the vCPU threads' time.
  const double env_cpu_per_op = per_op(d.vcpu ? *d.vcpu : env);
  for (const char* event : {"cycles", "instructions"}) {
    for (const char* scope : {"host-cgroup", "host-vcpu", "agent"}) {
      const CounterReading* c = counted(s.counters, event, scope);
      const CounterReading* clock = counted(s.counters, "task-clock", scope);
      if (!c || !clock) continue;
      if (auto v = counter_per_op(*c->value, *clock->value, env_cpu_per_op)) {
        out.push_back(Metric{std::string(event) + "_per_op", *v, std::string(event) + "/" + rate->op, Better::Lower});
        break;
      }
    }
  }
  return out;
}

std::optional<Metric> foreign_cpus_metric(const CpuTimes& d, double window_s) {
  if (!d.host_busy || !d.ours_elsewhere || !std::isfinite(window_s) || !(window_s > 0)) return std::nullopt;
  const double foreign = *d.host_busy - d.environment() - d.softirq.value_or(0) - *d.ours_elsewhere;
  return Metric{std::string(kForeignCpusMetric), std::max(0.0, foreign) / (window_s * 1e9),
                std::string(kForeignCpusUnit), Better::Lower};
}

void add_cpu_attribution(Sample& s, const std::optional<CpuTimes>& before, const std::optional<CpuTimes>& after,
                         double window_s) {
  if (!before || !after) return;
  const CpuTimes d = *after - *before;
  for (auto& m : cpu_attribution_metrics(s, d, window_s)) s.env_metrics.push_back(std::move(m));
  if (!s.ok) return;
  if (auto m = foreign_cpus_metric(d, window_s)) s.env_metrics.push_back(std::move(*m));
}

std::optional<CpuTimes> cpu_snapshot(Result<CpuTimes> environment, const std::vector<int>& cpus, pid_t env_root) {
  if (!environment) return std::nullopt;
  CpuTimes c = *environment;
  if (auto st = proc_stat_ns(cpus)) {
    c.softirq = st->softirq;
    c.host_busy = st->busy;
  }
  if (auto ours = process_tree_cpu_ns(getpid(), env_root)) c.ours_elsewhere = *ours;
  return c;
}

Result<CpuTimes> process_cpu_times(pid_t pid, bool children, const std::string& proc) {
  auto st = read_proc_stat(pid, proc);
  if (!st) return st.error();
  const double t = tick_ns();
  CpuTimes c;
  c.user = static_cast<double>(st->utime + (children ? st->cutime : 0)) * t;
  c.sys = static_cast<double>(st->stime + (children ? st->cstime : 0)) * t;
  return c;
}

Result<CpuTimes> qemu_cpu_times(pid_t pid, const std::vector<pid_t>& vcpu_tids, const std::string& proc) {
  auto st = read_proc_stat(pid, proc);
  if (!st) return st.error();
  const double t = tick_ns();
  CpuTimes c;
  // utime includes guest time (account_guest_time adds to both).
  const uint64_t guest = std::min(st->guest_time, st->utime);
  c.user = static_cast<double>(st->utime - guest) * t;
  c.sys = static_cast<double>(st->stime) * t;
  c.guest = static_cast<double>(guest) * t;
  double vcpu = 0;
  for (pid_t tid : vcpu_tids) {
    auto ts = read_proc_stat(tid, fmt::format("{}/{}/task", proc, pid));
    if (!ts) return ts.error();
    vcpu += static_cast<double>(ts->utime + ts->stime) * t;
  }
  c.vcpu = vcpu;
  return c;
}

namespace {

// "key value" lines (cpu.stat, cpuacct.stat); non-numeric values skipped.
std::map<std::string, uint64_t> flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  size_t p = 0;
  while (p < text.size()) {
    size_t nl = text.find('\n', p);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(p, nl - p);
    p = nl + 1;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    uint64_t v = 0;
    const char* b = line.data() + sp + 1;
    const char* e = line.data() + line.size();
    auto [q, ec] = std::from_chars(b, e, v);
    if (ec == std::errc() && q == e) out[line.substr(0, sp)] = v;
  }
  return out;
}

}  // namespace

Result<CpuTimes> cgroup_dir_cpu_times(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    if (auto usage = read_line(d + "/cpuacct.usage")) {
      uint64_t ns = 0;
      auto [q, ec] = std::from_chars(usage->data(), usage->data() + usage->size(), ns);
      if (ec != std::errc()) return make_error("{}/cpuacct.usage: `{}` is not a count", d, *usage);
      CpuTimes c;
      c.usage = static_cast<double>(ns);
      auto stat = read_file(d + "/cpuacct.stat", 1 << 16);
      auto kv = stat ? flat_keyed(*stat) : std::map<std::string, uint64_t>{};
      c.split = kv.count("user") && kv.count("system");
      c.user = static_cast<double>(kv["user"]) * tick_ns();
      c.sys = static_cast<double>(kv["system"]) * tick_ns();
      return c;
    }
    if (auto stat = read_file(d + "/cpu.stat", 1 << 16)) {
      auto kv = flat_keyed(*stat);
      if (!kv.count("usage_usec")) continue;  // a v1 cpu.stat (throttling only)
      CpuTimes c;
      c.usage = static_cast<double>(kv["usage_usec"]) * 1e3;
      c.split = kv.count("user_usec") && kv.count("system_usec");
      c.user = static_cast<double>(kv["user_usec"]) * 1e3;
      c.sys = static_cast<double>(kv["system_usec"]) * 1e3;
      return c;
    }
  }
  return make_error("no CPU accounting (cpuacct.usage or cpu.stat usage_usec) in the cgroup's directories");
}

Result<ProcStatNs> proc_stat_ns(const std::vector<int>& cpus, const std::string& proc) {
  auto text = read_file(proc + "/stat", 1 << 20);
  if (!text) return text.error();
  ProcStatNs out;
  if (auto ticks = parse_softirq_ticks(*text, cpus)) out.softirq = static_cast<double>(*ticks) * tick_ns();
  if (auto ticks = parse_busy_ticks(*text)) out.busy = static_cast<double>(*ticks) * tick_ns();
  return out;
}

Result<double> process_tree_cpu_ns(pid_t root, pid_t exclude, const std::string& proc) {
  // One pass over /proc: every process's parent and times. Processes that
  // exit while we read are simply gone (their time is in their parent's
  // cutime once reaped).
  DIR* dir = opendir(proc.c_str());
  if (!dir) return sys_error("opendir " + proc);
  std::multimap<pid_t, pid_t> children;
  std::map<pid_t, uint64_t> ticks;
  while (dirent* e = readdir(dir)) {
    pid_t pid = 0;
    const char* name = e->d_name;
    const char* end = name + strlen(name);
    auto [q, ec] = std::from_chars(name, end, pid);
    if (ec != std::errc() || q != end || pid <= 0) continue;
    auto st = read_proc_stat(pid, proc);
    if (!st) continue;
    children.emplace(static_cast<pid_t>(st->ppid), pid);
    ticks[pid] = st->utime + st->stime + st->cutime + st->cstime;
  }
  closedir(dir);
  if (!ticks.count(root)) return make_error("{}/{}/stat: no such process", proc, root);
  uint64_t total = 0;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    if (p == exclude) continue;
    total += ticks[p];
    auto [b, e] = children.equal_range(p);
    for (auto it = b; it != e; ++it) todo.push_back(it->second);
  }
  return static_cast<double>(total) * tick_ns();
}

std::vector<int> softirq_cpus(Placement p, bool network, int host_cpus, bool agent_pinned_by_knob) {
  if (agent_pinned_by_knob) return {};
  const PlacementPlan plan = plan_placement(p, network, host_cpus);
  if (plan.agent.empty()) return {};
  std::vector<int> cpus = plan.agent;
  cpus.insert(cpus.end(), plan.peer.begin(), plan.peer.end());
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

nlohmann::json describe_cpu_accounting(const std::string& env_source, Placement p, int host_cpus,
                                       bool agent_pinned_by_knob) {
  auto where = [&](bool network) {
    auto cpus = softirq_cpus(p, network, host_cpus, agent_pinned_by_knob);
    return cpus.empty() ? std::string("the whole host") : "CPUs " + cpu_list_text(cpus);
  };
  // The kernel's build options say whether IRQ time is accounted apart
  // (CONFIG_IRQ_TIME_ACCOUNTING) or sampled by tick and charged to the
  // interrupted task as well.
  std::string irq = "unknown (no /boot/config-RELEASE to read)";
  utsname u{};
  if (uname(&u) == 0)
    if (auto cfg = read_file(fmt::format("/boot/config-{}", u.release), 16 << 20)) {
      irq = cfg->find("CONFIG_IRQ_TIME_ACCOUNTING=y") != std::string::npos
                ? "precise (CONFIG_IRQ_TIME_ACCOUNTING): softirq is not in the tasks' time"
                : "tick-sampled (no CONFIG_IRQ_TIME_ACCOUNTING): softirq that interrupted the environment's tasks is "
                  "in their sys time too";
    }
  return {{"environment", env_source},
          {"softirq_network", where(true)},
          {"softirq_other", where(false)},
          {"irq_time", irq},
          {"per_op", "CPU time charged during the request / (the workload's rate × the request's wall time)"}};
}

}  // namespace vbench
