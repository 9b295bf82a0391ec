#include "drivers/oci/bundle.hpp"

#include <sys/stat.h>

#include "core/fs.hpp"
#include "drivers/container/rootfs.hpp"

namespace vbench {

const std::vector<std::string>& docker_default_capabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return caps;
}

nlohmann::json oci_config(const BundlePlan& plan) {
  using nlohmann::json;
  const auto& caps = docker_default_capabilities();
  json process = {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", plan.args},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
      {"cwd", "/"},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      // No rlimits: the agent inherits vbench's. Raising RLIMIT_NOFILE past
      // the host's limit is refused here (runc: "error setting rlimit type 7").
      {"noNewPrivileges", true},
  };
  json mounts = json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/shm"},
       {"type", "tmpfs"},
       {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev", "mode=1777"}}},
      {{"destination", kAgentInContainer},
       {"type", "bind"},
       {"source", plan.agent_binary},
       {"options", {"rbind", "ro"}}},
  });
  if (!plan.scratch.empty())
    mounts.push_back({{"destination", kScratchInContainer},
                      {"type", "bind"},
                      {"source", plan.scratch},
                      {"options", {"rbind", "rw"}}});

  json ns = json::array();
  for (const char* t : {"pid", "ipc", "uts", "mount", "cgroup"}) ns.push_back({{"type", t}});
  json net = {{"type", "network"}};
  if (!plan.netns_path.empty()) net["path"] = plan.netns_path;
  ns.push_back(net);

  json resources = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  const auto& l = plan.limits;
  json cpu = json::object();
  if (l.cpus > 0) {
    cpu["period"] = l.cpu_period_us;
    cpu["quota"] = static_cast<int64_t>(l.cpus * static_cast<double>(l.cpu_period_us) + 0.5);
  }
  if (!l.cpuset.empty()) cpu["cpus"] = l.cpuset;
  if (!cpu.empty()) resources["cpu"] = cpu;
  if (l.memory > 0) {
    resources["memory"] = {{"limit", l.memory}};
    if (plan.memory_swap) resources["memory"]["swap"] = l.memory;  // memory+swap = memory: no swap
  }
  if (l.pids > 0) resources["pids"] = {{"limit", l.pids}};

  return {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", plan.hostname},
      {"mounts", mounts},
      {"linux",
       {{"cgroupsPath", plan.cgroups_path},
        {"resources", resources},
        {"namespaces", ns},
        {"maskedPaths",
         {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
          "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}},
        {"readonlyPaths", {"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}},
  };
}

Status write_bundle(const BundlePlan& plan) {
  const std::string root = plan.dir + "/rootfs";
  if (auto s = mkdir_p(root); !s) return s.error().context("bundle");
  // The root is read-only, so every mount point exists beforehand.
  for (const char* d : {"proc", "dev", "sys", "tmp", "scratch"})
    if (::mkdir((root + "/" + d).c_str(), 0755) != 0 && errno != EEXIST)
      return sys_error(fmt::format("bundle: mkdir `{}/{}`", root, d));
  if (auto s = write_file(root + kAgentInContainer, ""); !s) return s.error().context("bundle: agent mount point");
  if (auto s = write_file(plan.dir + "/config.json", oci_config(plan).dump(2) + "\n"); !s)
    return s.error().context("bundle");
  return {};
}

}  // namespace vbench
