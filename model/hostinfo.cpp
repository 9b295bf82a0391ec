#include "model/hostinfo.hpp"

#include <fmt/format.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "core/fs.hpp"
#include "core/units.hpp"

namespace vbench {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::string first_line(const std::string& path) {
  auto r = read_line(path);
  return r ? trim(*r) : std::string();
}

std::string cpuinfo_field(const std::string& field) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) == field) return trim(line.substr(colon + 1));
  }
  return {};
}

std::string command_output(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return trim(out.substr(0, out.find('\n')));
}

// Opens a hardware cycles counter on ourselves: the plain question "is there
// a PMU this process may use". Assumes perf_event_open(2) semantics of 5.x+.
std::string pmu_probe() {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  if (fd >= 0) {
    close(fd);
    return "available";
  }
  if (errno == ENOENT || errno == EOPNOTSUPP || errno == ENODEV) return "unsupported";
  if (errno == EACCES || errno == EPERM) return "denied";
  return fmt::format("error ({})", std::strerror(errno));
}

}  // namespace

std::string kvm_kind(std::string* detail) {
  const bool dev = access("/dev/kvm", R_OK | W_OK) == 0;
  if (path_exists("/sys/module/kvm_intel") || path_exists("/sys/module/kvm_amd")) {
    if (detail) *detail = path_exists("/sys/module/kvm_intel") ? "kvm_intel" : "kvm_amd";
    return dev ? "hardware" : "none";
  }
  if (path_exists("/sys/module/kvm_pvm")) {
    if (detail) *detail = "kvm_pvm";
    return "paravirtual";
  }
  if (detail) *detail = dev ? "/dev/kvm without a known vendor module" : "no /dev/kvm";
  return "none";
}

const HostFact* HostInfo::find(const std::string& key) const {
  for (const auto& f : facts)
    if (f.key == key) return &f;
  return nullptr;
}

std::string HostInfo::value(const std::string& key) const {
  const HostFact* f = find(key);
  return f ? f->value : std::string();
}

std::string HostInfo::fingerprint() const {
  const std::string s = fmt::format("{}|{}|{}|{}|{}", value("hostname"), value("cpu_model"), value("cpus"),
                                    value("memory"), value("kernel"));
  return fmt::format("{:016x}", std::hash<std::string>{}(s));
}

nlohmann::json HostInfo::to_json() const {
  nlohmann::json facts_j = nlohmann::json::array();
  for (const auto& f : facts)
    facts_j.push_back({{"key", f.key}, {"label", f.label}, {"value", f.value}, {"level", f.level}, {"hint", f.hint}});
  return {{"fingerprint", fingerprint()}, {"facts", facts_j}};
}

HostInfo HostInfo::from_json(const nlohmann::json& j) {
  HostInfo h;
  if (!j.is_object() || !j.contains("facts") || !j["facts"].is_array()) return h;
  for (const auto& f : j["facts"]) {
    if (!f.is_object()) continue;
    auto s = [&](const char* k) { return f.contains(k) && f[k].is_string() ? f[k].get<std::string>() : std::string(); };
    h.facts.push_back(HostFact{s("key"), s("label"), s("value"), s("level"), s("hint")});
  }
  return h;
}

HostInfo collect_host_info() {
  HostInfo h;
  auto add = [&](std::string key, std::string label, std::string value, std::string level, std::string hint) {
    h.facts.push_back(HostFact{std::move(key), std::move(label), std::move(value), std::move(level), std::move(hint)});
  };
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  add("hostname", "Hostname", host, "info", "");
  add("kernel", "Kernel", fmt::format("{} {}", u.sysname, u.release), "info", "");

  std::string model = cpuinfo_field("model name");
  add("cpu_model", "CPU model", model.empty() ? "unknown" : model, "info", "");
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  // Count distinct (package, core) pairs to tell cores from SMT siblings.
  std::set<std::string> cores;
  for (long c = 0; c < cpus; ++c) {
    std::string base = fmt::format("/sys/devices/system/cpu/cpu{}/topology/", c);
    cores.insert(first_line(base + "physical_package_id") + ":" + first_line(base + "core_id"));
  }
  const size_t ncores = cores.empty() ? static_cast<size_t>(cpus) : cores.size();
  const bool smt = static_cast<long>(ncores) < cpus;
  add("cpus", "Online CPUs", std::to_string(cpus), cpus < 2 ? "warn" : "info",
      cpus < 2 ? "one CPU: the harness and the workload compete for it" : "");
  add("cores", "Physical cores / SMT", fmt::format("{} cores, SMT {}", ncores, smt ? "on" : "off"), smt ? "warn" : "ok",
      smt ? "SMT siblings share a core: pin environments to distinct cores (cpuset) for stable numbers" : "");
  std::string llc = first_line("/sys/devices/system/cpu/cpu0/cache/index3/size");
  if (llc.empty()) llc = first_line("/sys/devices/system/cpu/cpu0/cache/index2/size");
  add("llc", "Last-level cache", llc.empty() ? "unknown" : llc, "info", "");
  std::string mem = "unknown";
  {
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("MemTotal:", 0) == 0) mem = trim(line.substr(9));
  }
  add("memory", "Memory", mem, "info", "");

  std::string gov = first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (gov.empty())
    add("governor", "Frequency governor", "none exposed", "info",
        "no cpufreq interface (a VM, or frequency controlled by firmware): frequency drift cannot be ruled out");
  else
    add("governor", "Frequency governor", gov, gov == "performance" ? "ok" : "warn",
        gov == "performance" ? "" : "set `performance` (cpupower frequency-set -g performance) for steadier numbers");
  std::string no_turbo = first_line("/sys/devices/system/cpu/intel_pstate/no_turbo");
  std::string boost = first_line("/sys/devices/system/cpu/cpufreq/boost");
  if (!no_turbo.empty())
    add("turbo", "Turbo", no_turbo == "1" ? "off" : "on", no_turbo == "1" ? "ok" : "warn",
        no_turbo == "1"
            ? ""
            : "turbo varies clock with temperature and load: echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo");
  else if (!boost.empty())
    add("turbo", "Turbo (boost)", boost == "1" ? "on" : "off", boost == "1" ? "warn" : "ok",
        boost == "1" ? "boost varies clock with temperature and load: echo 0 > /sys/devices/system/cpu/cpufreq/boost"
                     : "");
  else
    add("turbo", "Turbo", "not exposed", "info", "no turbo control visible (common in VMs)");

  std::string thp = first_line("/sys/kernel/mm/transparent_hugepage/enabled");
  add("thp", "Transparent huge pages", thp.empty() ? "unknown" : thp, "info",
      "affects mem.* workloads; mem.pagefault thp=true needs [always] or [madvise]");

  // cgroups: v2 when /sys/fs/cgroup is cgroup2; hybrid/v1 otherwise.
  std::string cg_version, controllers;
  if (path_exists("/sys/fs/cgroup/cgroup.controllers")) {
    cg_version = "v2";
    controllers = first_line("/sys/fs/cgroup/cgroup.controllers");
  } else {
    std::vector<std::string> v1;
    for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "blkio", "pids", "perf_event", "freezer"})
      if (path_exists(fmt::format("/sys/fs/cgroup/{}/tasks", c))) v1.push_back(c);
    cg_version =
        path_exists("/sys/fs/cgroup/unified/cgroup.controllers") ? "v1 (hybrid: v2 at /sys/fs/cgroup/unified)" : "v1";
    controllers = fmt::format("{}", fmt::join(v1, " "));
  }
  add("cgroup", "cgroup version", cg_version, "info", "");
  add("cgroup_controllers", "cgroup controllers", controllers.empty() ? "none" : controllers,
      controllers.empty() ? "warn" : "ok",
      controllers.empty() ? "no cgroup controllers: container limits unavailable" : "");

  std::string kdetail;
  std::string kk = kvm_kind(&kdetail);
  if (kk == "hardware")
    add("kvm", "KVM", fmt::format("hardware-assisted ({})", kdetail), "ok", "");
  else if (kk == "paravirtual")
    add("kvm", "KVM", fmt::format("paravirtual ({}), no VT-x/SVM", kdetail), "warn",
        "a stock guest kernel cannot boot usefully under it: guests run under QEMU TCG emulation, "
        "and their numbers are an emulator's, not KVM's");
  else
    add("kvm", "KVM", fmt::format("none ({})", kdetail), "warn",
        "guests run under QEMU TCG emulation: their numbers are an emulator's, not KVM's");
  std::string qemu = command_output("qemu-system-x86_64 --version");
  add("qemu", "QEMU", qemu.empty() ? "not found" : qemu, qemu.empty() ? "warn" : "ok",
      qemu.empty() ? "install qemu-system-x86 (ci/bootstrap) for the kvm environment" : "");

  std::string pmu = pmu_probe();
  add("pmu", "Hardware PMU", pmu, pmu == "available" ? "ok" : "warn",
      pmu == "available" ? ""
      : pmu == "unsupported"
          ? "no hardware counters here (common in VMs): cycles/instructions/cache events are reported as unsupported"
          : "hardware counters not usable by this process: see perf_event_paranoid");
  std::string paranoid = first_line("/proc/sys/kernel/perf_event_paranoid");
  const bool restrictive =
      !paranoid.empty() && paranoid != "-1" && paranoid != "0" && paranoid != "1" && geteuid() != 0;
  add("perf_event_paranoid", "perf_event_paranoid", paranoid.empty() ? "unknown" : paranoid,
      restrictive ? "warn" : "ok",
      restrictive ? "as non-root, kernel and cgroup counting need perf_event_paranoid <= 1 (sysctl "
                    "kernel.perf_event_paranoid=1)"
                  : "");
  add("user", "Running as", geteuid() == 0 ? "root" : fmt::format("uid {}", geteuid()), geteuid() == 0 ? "ok" : "warn",
      geteuid() == 0 ? "" : "containers and guests with taps need root");
  return h;
}

}  // namespace vbench
