// cgroup v1: one directory per hierarchy (cpu, cpuacct, memory, pids, blkio,
// cpuset; co-mounted controllers share one).
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "core/fs.hpp"
#include "drivers/container/cgroup.hpp"
#include "drivers/container/cgroup_io.hpp"

namespace vbench {
namespace {

const CgroupFiles& F = cgroup_files(CgroupVersion::V1);

// Sums "MAJ:MIN Read N" / "MAJ:MIN Write N" lines of a blkio rwstat file.
void sum_rwstat(const std::string& text, std::optional<uint64_t>& read, std::optional<uint64_t>& write) {
  std::istringstream in(text);
  std::string dev, op;
  uint64_t v;
  uint64_t r = 0, w = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    if (!(ls >> dev >> op >> v)) continue;
    if (op == "Read")
      r += v;
    else if (op == "Write")
      w += v;
  }
  // An empty file means no I/O yet: zero, not unknown.
  read = r;
  write = w;
}

class CgroupV1 : public Cgroup {
 public:
  explicit CgroupV1(std::map<std::string, std::string> dirs) : dir_(std::move(dirs)) {}

  CgroupVersion version() const override { return CgroupVersion::V1; }

  std::vector<std::string> dirs() const override {
    std::vector<std::string> out;
    for (const auto& [c, d] : dir_)
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
    return out;
  }

  Status apply(const CgroupLimits& l) override {
    if (l.cpus > 0) {
      auto d = need("cpu", "cpus");
      if (!d) return d.error();
      const auto quota = static_cast<int64_t>(l.cpus * static_cast<double>(l.cpu_period_us) + 0.5);
      if (quota < 1000) return make_error("cpus = {} gives a quota under 1 ms per period; raise it", l.cpus);
      if (auto s = cg_write(*d, F.cpu_period, std::to_string(l.cpu_period_us)); !s) return s;
      if (auto s = cg_write(*d, F.cpu_limit, std::to_string(quota)); !s) return s;
    }
    if (!l.cpuset.empty()) {
      auto d = need("cpuset", "cpuset");
      if (!d) return d.error();
      if (auto s = cg_write(*d, F.cpuset_cpus, l.cpuset); !s) {
        auto parent = cg_read(*d + "/..", F.cpuset_cpus);
        return s.error().context(fmt::format("cpuset `{}` is not within the CPUs vbench may use ({})", l.cpuset,
                                             parent ? trim(*parent) : "unknown"));
      }
    }
    if (l.memory > 0) {
      auto d = need("memory", "memory");
      if (!d) return d.error();
      if (auto s = cg_write(*d, F.memory_limit, std::to_string(l.memory)); !s) return s;
      // Swap off: memory+swap capped at the memory limit. Without swap
      // accounting the next best is swappiness 0.
      if (cg_exists(*d, F.memory_swap)) {
        if (auto s = cg_write(*d, F.memory_swap, std::to_string(l.memory)); !s) return s;
        notes_.push_back("swap off: memory.memsw.limit_in_bytes = memory.limit_in_bytes");
      } else {
        if (auto s = cg_write(*d, "memory.swappiness", "0"); !s) return s;
        notes_.push_back("no swap accounting (memsw): swap discouraged with memory.swappiness = 0 only");
      }
    }
    if (l.pids > 0) {
      auto d = need("pids", "pids");
      if (!d) return d.error();
      if (auto s = cg_write(*d, F.pids_limit, std::to_string(l.pids)); !s) return s;
    }
    if (l.io.weight > 0 || l.io.any_cap()) {
      auto d = need("blkio", "io_*");
      if (!d) return d.error();
      if (l.io.weight > 0) {
        // v1 weights exist only with BFQ (blkio.bfq.weight) or the old CFQ.
        const char* file = cg_exists(*d, F.io_weight) ? F.io_weight : "blkio.weight";
        if (!cg_exists(*d, file))
          return make_error("io_weight needs a proportional I/O scheduler (BFQ) on cgroup v1; {} has none", *d);
        if (l.io.weight < 1 || l.io.weight > 1000)
          return make_error("io_weight {} outside 1..1000 (cgroup v1)", l.io.weight);
        if (auto s = cg_write(*d, file, std::to_string(l.io.weight)); !s) return s;
      }
      const std::string dev = fmt::format("{}:{} ", l.io.major, l.io.minor);
      const std::pair<const char*, uint64_t> caps[] = {{"blkio.throttle.read_bps_device", l.io.read_bps},
                                                       {"blkio.throttle.write_bps_device", l.io.write_bps},
                                                       {"blkio.throttle.read_iops_device", l.io.read_iops},
                                                       {"blkio.throttle.write_iops_device", l.io.write_iops}};
      for (const auto& [file, v] : caps)
        if (v > 0)
          if (auto s = cg_write(*d, file, dev + std::to_string(v)); !s) return s;
    }
    return {};
  }

  Status add_process(pid_t pid) override {
    for (const auto& d : dirs())
      if (auto s = cg_write(d, F.procs, std::to_string(pid)); !s) return s;
    return {};
  }

  Status reset_peak() override {
    if (!dir_.count("memory")) return {};
    return cg_write(dir_["memory"], F.memory_peak, "0");
  }

  CgroupUsage usage() override {
    CgroupUsage u;
    if (dir_.count("cpuacct"))
      if (auto t = cg_read(dir_["cpuacct"], F.cpu_usage))
        if (auto ns = parse_u64(*t)) u.cpu_usage_s = static_cast<double>(*ns) / 1e9;
    if (dir_.count("cpuacct"))
      if (auto t = cg_read(dir_["cpuacct"], F.cpu_split)) {
        // "user N\nsystem M" in USER_HZ clock ticks (the kernel scales its
        // split to cpuacct.usage: cputime_adjust).
        auto kv = parse_flat_keyed(*t);
        const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
        if (kv.count("user") && kv.count("system") && tick > 0) {
          u.cpu_user_s = static_cast<double>(kv["user"]) / tick;
          u.cpu_system_s = static_cast<double>(kv["system"]) / tick;
        }
      }
    if (dir_.count("cpu"))
      if (auto t = cg_read(dir_["cpu"], F.cpu_stat)) {
        auto kv = parse_flat_keyed(*t);
        if (kv.count("nr_periods")) u.nr_periods = kv["nr_periods"];
        if (kv.count("nr_throttled")) u.nr_throttled = kv["nr_throttled"];
        if (kv.count("throttled_time")) u.throttled_s = static_cast<double>(kv["throttled_time"]) / 1e9;
      }
    if (dir_.count("memory")) {
      if (auto t = cg_read(dir_["memory"], F.memory_peak)) u.memory_peak = parse_u64(*t);
      if (auto t = cg_read(dir_["memory"], F.memory_events)) {
        auto kv = parse_flat_keyed(*t);
        if (kv.count("oom_kill")) u.oom_kills = kv["oom_kill"];
      }
    }
    if (dir_.count("blkio")) {
      if (auto t = cg_read(dir_["blkio"], F.io_stat_bytes)) sum_rwstat(*t, u.io_read_bytes, u.io_write_bytes);
      if (auto t = cg_read(dir_["blkio"], F.io_stat_ops)) sum_rwstat(*t, u.io_read_ops, u.io_write_ops);
    }
    return u;
  }

  Status destroy() override {
    if (destroyed_) return {};
    auto s = remove_cgroup_dirs(dirs());
    if (s) destroyed_ = true;
    return s;
  }

  std::vector<std::string> notes() const override { return notes_; }

 private:
  Result<std::string> need(const std::string& controller, const std::string& knob) {
    auto it = dir_.find(controller);
    if (it == dir_.end())
      return make_error("knob `{}` needs the cgroup v1 `{}` controller, which this host does not mount", knob,
                        controller);
    return it->second;
  }
  static std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  std::map<std::string, std::string> dir_;  // controller -> directory
  std::vector<std::string> notes_;
  bool destroyed_ = false;
};

// A fresh v1 cpuset cgroup has empty cpus/mems and refuses tasks until they
// are set: copy them from the parent where empty.
Status inherit_cpuset(const std::string& dir) {
  for (const char* f : {F.cpuset_cpus, F.cpuset_mems}) {
    auto mine = cg_read(dir, f);
    if (mine && !mine->empty() && *mine != "\n") continue;
    auto parent = cg_read(dir + "/..", f);
    if (!parent) return parent.error().context("cpuset parent");
    std::string v = *parent;
    while (!v.empty() && v.back() == '\n') v.pop_back();
    if (auto s = cg_write(dir, f, v); !s) return s;
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Cgroup>> create_cgroup_v1(const CgroupHost& host, const std::string& instance) {
  std::map<std::string, std::string> dirs;
  std::vector<std::string> made;  // to undo on failure
  auto undo = [&] { (void)remove_cgroup_dirs(made); };
  for (const auto& c : host.controllers) {
    auto it = host.v1_mounts.find(c);
    if (it == host.v1_mounts.end()) continue;
    const std::string parent = it->second + "/" + kCgroupParent;
    const std::string dir = parent + "/" + instance;
    if (std::find(made.begin(), made.end(), dir) == made.end()) {
      // Another run removing an empty shared parent can race with us: retry.
      Status s;
      for (int attempt = 0; attempt < 3; ++attempt) {
        s = cg_mkdir(parent, true);
        if (s) s = cg_mkdir(dir, false);
        if (s || s.error().err != ENOENT) break;
      }
      if (!s) {
        undo();
        return s.error().context(
            s.error().err == EEXIST ? "a cgroup of that name exists (a stale run? try `vbench cleanup`)" : "cgroup v1");
      }
      made.push_back(dir);
    }
    if (c == "cpuset") {
      Status s = inherit_cpuset(parent);
      if (s) s = inherit_cpuset(dir);
      if (!s) {
        undo();
        return s.error().context("cgroup v1 cpuset");
      }
    }
    dirs[c] = dir;
  }
  return std::unique_ptr<Cgroup>(std::make_unique<CgroupV1>(std::move(dirs)));
}

}  // namespace vbench
