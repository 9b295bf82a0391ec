#include "drivers/container/cgroup.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "drivers/container/cgroup_io.hpp"

namespace vbench {

const char* to_string(CgroupVersion v) { return v == CgroupVersion::V1 ? "v1" : "v2"; }

bool CgroupHost::has(const std::string& c) const {
  return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
}

const CgroupFiles& cgroup_files(CgroupVersion v) {
  static const CgroupFiles v1{
      .procs = "cgroup.procs",
      .cpu_limit = "cpu.cfs_quota_us",
      .cpu_period = "cpu.cfs_period_us",
      .cpu_stat = "cpu.stat",
      .cpu_usage = "cpuacct.usage",
      .cpu_split = "cpuacct.stat",
      .cpuset_cpus = "cpuset.cpus",
      .cpuset_mems = "cpuset.mems",
      .memory_limit = "memory.limit_in_bytes",
      .memory_swap = "memory.memsw.limit_in_bytes",
      .memory_peak = "memory.max_usage_in_bytes",
      .memory_events = "memory.oom_control",
      .pids_limit = "pids.max",
      .io_weight = "blkio.bfq.weight",
      .io_stat_bytes = "blkio.throttle.io_service_bytes_recursive",
      .io_stat_ops = "blkio.throttle.io_serviced_recursive",
  };
  static const CgroupFiles v2{
      .procs = "cgroup.procs",
      .cpu_limit = "cpu.max",
      .cpu_period = "",
      .cpu_stat = "cpu.stat",
      .cpu_usage = "cpu.stat",
      .cpu_split = "cpu.stat",
      .cpuset_cpus = "cpuset.cpus",
      .cpuset_mems = "cpuset.mems",
      .memory_limit = "memory.max",
      .memory_swap = "memory.swap.max",
      .memory_peak = "memory.peak",
      .memory_events = "memory.events",
      .pids_limit = "pids.max",
      .io_weight = "io.weight",
      .io_stat_bytes = "io.stat",
      .io_stat_ops = "io.stat",
  };
  return v == CgroupVersion::V1 ? v1 : v2;
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount_path(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

const std::vector<std::string> kRequired = {"cpu", "memory", "pids"};
const std::vector<std::string> kV1Wanted = {"cpu", "cpuacct", "memory", "pids", "blkio", "cpuset"};
const std::vector<std::string> kV2Wanted = {"cpu", "memory", "pids", "io", "cpuset"};

}  // namespace

Result<CgroupHost> detect_cgroups(const std::string& mountinfo_path, const std::string& root_prefix) {
  auto text = read_file(mountinfo_path);
  if (!text) return text.error().context("detect cgroups");
  CgroupHost host;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;) f.push_back(w);
    // The separator comes after the six fixed fields; after it, three more.
    // A line that lacks any of them (a mountinfo is input) is skipped.
    if (f.size() < 10) continue;
    auto dash = std::find(f.begin() + 6, f.end(), "-");
    if (f.end() - dash < 4) continue;
    const std::string mount = root_prefix + unescape_mount_path(f[4]);
    const std::string fstype = *(dash + 1);
    const std::string super = *(dash + 3);
    if (fstype == "cgroup2" && host.v2_mount.empty()) {
      host.v2_mount = mount;
    } else if (fstype == "cgroup") {
      std::istringstream os(super);
      for (std::string opt; std::getline(os, opt, ',');)
        if (std::find(kV1Wanted.begin(), kV1Wanted.end(), opt) != kV1Wanted.end() && !host.v1_mounts.count(opt))
          host.v1_mounts[opt] = mount;
    }
  }
  std::vector<std::string> v2_controllers;
  if (!host.v2_mount.empty()) {
    auto c = read_line(host.v2_mount + "/cgroup.controllers");
    if (c) {
      std::istringstream cs(*c);
      for (std::string w; cs >> w;) v2_controllers.push_back(w);
    }
  }
  auto v2_has = [&](const std::string& c) {
    return std::find(v2_controllers.begin(), v2_controllers.end(), c) != v2_controllers.end();
  };
  if (std::all_of(kRequired.begin(), kRequired.end(), v2_has)) {
    host.version = CgroupVersion::V2;
    for (const auto& c : kV2Wanted)
      if (v2_has(c)) host.controllers.push_back(c);
    host.v1_mounts.clear();
    return host;
  }
  std::vector<std::string> missing;
  for (const auto& c : kRequired)
    if (!host.v1_mounts.count(c)) missing.push_back(c);
  if (!missing.empty())
    return make_error("no cgroup controller {} (neither a cgroup v1 hierarchy nor the cgroup2 root{} offers it)",
                      fmt::join(missing, ", "), host.v2_mount.empty() ? "" : fmt::format(" at {}", host.v2_mount));
  host.version = CgroupVersion::V1;
  for (const auto& c : kV1Wanted)
    if (host.v1_mounts.count(c)) host.controllers.push_back(c);
  return host;
}

Result<std::unique_ptr<Cgroup>> create_cgroup(const CgroupHost& host, const std::string& instance) {
  if (instance.empty() || instance.find('/') != std::string::npos || instance[0] == '.')
    return make_error("invalid cgroup name `{}`", instance);
  return host.version == CgroupVersion::V1 ? create_cgroup_v1(host, instance) : create_cgroup_v2(host, instance);
}

std::map<std::string, std::vector<std::string>> list_vbench_cgroups(const CgroupHost& host) {
  std::vector<std::string> parents;
  if (!host.v2_mount.empty()) parents.push_back(host.v2_mount + "/" + kCgroupParent);
  for (const auto& [ctl, mount] : host.v1_mounts) {
    std::string p = mount + "/" + kCgroupParent;
    if (std::find(parents.begin(), parents.end(), p) == parents.end()) parents.push_back(p);
  }
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& p : parents)
    for (const auto& name : cgroup_subdirs(p)) out[name].push_back(p + "/" + name);
  return out;
}

Status remove_cgroup_dirs(const std::vector<std::string>& dirs) {
  Status first;
  for (const auto& d : dirs) {
    auto s = remove_cgroup_tree(d);
    if (!s && first) first = s;
  }
  // The shared parent goes too once the last instance is gone; a parent that
  // still holds another run's cgroup stays (rmdir fails with EBUSY/ENOTEMPTY).
  for (const auto& d : dirs) {
    auto slash = d.rfind('/');
    if (slash == std::string::npos) continue;
    std::string parent = d.substr(0, slash);
    if (parent.size() > std::string(kCgroupParent).size() &&
        parent.compare(parent.size() - std::string(kCgroupParent).size() - 1, std::string::npos,
                       std::string("/") + kCgroupParent) == 0)
      (void)::rmdir(parent.c_str());
  }
  return first;
}

std::vector<Metric> cgroup_sample_metrics(const CgroupUsage& b, const CgroupUsage& a) {
  std::vector<Metric> out;
  auto delta_u = [&](const char* name, const std::optional<uint64_t>& x, const std::optional<uint64_t>& y,
                     const char* unit) {
    if (x && y) out.push_back(Metric{name, static_cast<double>(*y >= *x ? *y - *x : 0), unit, Better::Lower});
  };
  if (b.cpu_usage_s && a.cpu_usage_s)
    out.push_back(Metric{"cgroup.cpu_usage", std::max(0.0, *a.cpu_usage_s - *b.cpu_usage_s), "s", Better::Lower});
  delta_u("cgroup.nr_periods", b.nr_periods, a.nr_periods, "count");
  delta_u("cgroup.nr_throttled", b.nr_throttled, a.nr_throttled, "count");
  if (b.throttled_s && a.throttled_s)
    out.push_back(Metric{"cgroup.throttled_time", std::max(0.0, *a.throttled_s - *b.throttled_s), "s", Better::Lower});
  if (a.memory_peak)
    out.push_back(Metric{"cgroup.memory_peak", static_cast<double>(*a.memory_peak), "B", Better::Lower});
  delta_u("cgroup.oom_kills", b.oom_kills, a.oom_kills, "count");
  delta_u("cgroup.io_read_bytes", b.io_read_bytes, a.io_read_bytes, "B");
  delta_u("cgroup.io_write_bytes", b.io_write_bytes, a.io_write_bytes, "B");
  delta_u("cgroup.io_read_ops", b.io_read_ops, a.io_read_ops, "count");
  delta_u("cgroup.io_write_ops", b.io_write_ops, a.io_write_ops, "count");
  return out;
}

}  // namespace vbench
