// cgroup v2: one directory under the unified hierarchy, controllers enabled
// down the path through cgroup.subtree_control.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "core/fs.hpp"
#include "drivers/container/cgroup.hpp"
#include "drivers/container/cgroup_io.hpp"

namespace vbench {
namespace {

const CgroupFiles& F = cgroup_files(CgroupVersion::V2);

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Enables the wanted controllers for the children of `dir` (one write, so
// that the kernel takes all or none).
Status enable_controllers(const std::string& dir, const std::vector<std::string>& wanted) {
  std::vector<std::string> on;
  if (auto t = cg_read(dir, "cgroup.subtree_control")) {
    std::istringstream in(*t);
    for (std::string w; in >> w;) on.push_back(w);
  }
  std::string add;
  for (const auto& c : wanted)
    if (std::find(on.begin(), on.end(), c) == on.end()) add += (add.empty() ? "+" : " +") + c;
  if (add.empty()) return {};
  return cg_write(dir, "cgroup.subtree_control", add);
}

class CgroupV2 : public Cgroup {
 public:
  CgroupV2(std::string dir, std::vector<std::string> controllers)
      : dir_(std::move(dir)), controllers_(std::move(controllers)) {}

  CgroupVersion version() const override { return CgroupVersion::V2; }
  std::vector<std::string> dirs() const override { return {dir_}; }

  Status apply(const CgroupLimits& l) override {
    if (l.cpus > 0) {
      if (auto s = need("cpu", "cpus"); !s) return s;
      const auto quota = static_cast<int64_t>(l.cpus * static_cast<double>(l.cpu_period_us) + 0.5);
      if (quota < 1000) return make_error("cpus = {} gives a quota under 1 ms per period; raise it", l.cpus);
      if (auto s = cg_write(dir_, F.cpu_limit, fmt::format("{} {}", quota, l.cpu_period_us)); !s) return s;
    }
    if (!l.cpuset.empty()) {
      if (auto s = need("cpuset", "cpuset"); !s) return s;
      if (auto s = cg_write(dir_, F.cpuset_cpus, l.cpuset); !s) {
        auto parent = cg_read(dir_ + "/..", "cpuset.cpus.effective");
        return s.error().context(fmt::format("cpuset `{}` is not within the CPUs vbench may use ({})", l.cpuset,
                                             parent ? trim(*parent) : "unknown"));
      }
    }
    if (l.memory > 0) {
      if (auto s = need("memory", "memory"); !s) return s;
      if (auto s = cg_write(dir_, F.memory_limit, std::to_string(l.memory)); !s) return s;
      if (cg_exists(dir_, F.memory_swap)) {
        if (auto s = cg_write(dir_, F.memory_swap, "0"); !s) return s;
        notes_.push_back("swap off: memory.swap.max = 0");
      } else {
        notes_.push_back("no memory.swap.max (no swap accounting): swap not limited");
      }
      // memory.oom.group stays 0: an OOM kill takes the one workload
      // process, not the agent with it.
    }
    if (l.pids > 0) {
      if (auto s = need("pids", "pids"); !s) return s;
      if (auto s = cg_write(dir_, F.pids_limit, std::to_string(l.pids)); !s) return s;
    }
    if (l.io.weight > 0 || l.io.any_cap()) {
      if (auto s = need("io", "io_*"); !s) return s;
      if (l.io.weight > 0) {
        if (l.io.weight > 10000) return make_error("io_weight {} outside 1..10000 (cgroup v2)", l.io.weight);
        if (auto s = cg_write(dir_, F.io_weight, fmt::format("default {}", l.io.weight)); !s) return s;
      }
      if (l.io.any_cap()) {
        std::string v = fmt::format("{}:{}", l.io.major, l.io.minor);
        if (l.io.read_bps) v += fmt::format(" rbps={}", l.io.read_bps);
        if (l.io.write_bps) v += fmt::format(" wbps={}", l.io.write_bps);
        if (l.io.read_iops) v += fmt::format(" riops={}", l.io.read_iops);
        if (l.io.write_iops) v += fmt::format(" wiops={}", l.io.write_iops);
        if (auto s = cg_write(dir_, "io.max", v); !s) return s;
      }
    }
    return {};
  }

  Status add_process(pid_t pid) override { return cg_write(dir_, F.procs, std::to_string(pid)); }

  Status reset_peak() override {
    if (std::find(controllers_.begin(), controllers_.end(), "memory") == controllers_.end()) return {};
    // Since 6.12 a write to memory.peak resets the peak as seen through that
    // open file; keep it open and read the sample's peak through it.
    UniqueFd fd(::open((dir_ + "/" + F.memory_peak).c_str(), O_RDWR | O_CLOEXEC));
    if (fd && ::write(fd.get(), "reset\n", 6) == 6) {
      peak_fd_ = std::move(fd);
      return {};
    }
    peak_fd_.reset();
    if (std::find(notes_.begin(), notes_.end(), kPeakNote) == notes_.end()) notes_.push_back(kPeakNote);
    return {};
  }

  CgroupUsage usage() override {
    CgroupUsage u;
    if (auto t = cg_read(dir_, F.cpu_stat)) {
      auto kv = parse_flat_keyed(*t);
      if (kv.count("usage_usec")) u.cpu_usage_s = static_cast<double>(kv["usage_usec"]) / 1e6;
      if (kv.count("user_usec") && kv.count("system_usec")) {
        u.cpu_user_s = static_cast<double>(kv["user_usec"]) / 1e6;
        u.cpu_system_s = static_cast<double>(kv["system_usec"]) / 1e6;
      }
      if (kv.count("nr_periods")) u.nr_periods = kv["nr_periods"];
      if (kv.count("nr_throttled")) u.nr_throttled = kv["nr_throttled"];
      if (kv.count("throttled_usec")) u.throttled_s = static_cast<double>(kv["throttled_usec"]) / 1e6;
    }
    if (peak_fd_) {
      char buf[64];
      ssize_t n = ::pread(peak_fd_.get(), buf, sizeof buf - 1, 0);
      if (n > 0) u.memory_peak = parse_u64(std::string(buf, static_cast<size_t>(n)));
    } else if (auto t = cg_read(dir_, F.memory_peak)) {
      u.memory_peak = parse_u64(*t);
    }
    if (auto t = cg_read(dir_, F.memory_events)) {
      auto kv = parse_flat_keyed(*t);
      if (kv.count("oom_kill")) u.oom_kills = kv["oom_kill"];
    }
    if (auto t = cg_read(dir_, F.io_stat_bytes)) {
      uint64_t rb = 0, wb = 0, ro = 0, wo = 0;
      std::istringstream in(*t);
      for (std::string w; in >> w;) {
        auto eq = w.find('=');
        if (eq == std::string::npos) continue;
        auto v = parse_u64(w.substr(eq + 1));
        if (!v) continue;
        const std::string k = w.substr(0, eq);
        if (k == "rbytes")
          rb += *v;
        else if (k == "wbytes")
          wb += *v;
        else if (k == "rios")
          ro += *v;
        else if (k == "wios")
          wo += *v;
      }
      u.io_read_bytes = rb;
      u.io_write_bytes = wb;
      u.io_read_ops = ro;
      u.io_write_ops = wo;
    }
    return u;
  }

  Status destroy() override {
    peak_fd_.reset();
    if (destroyed_) return {};
    auto s = remove_cgroup_dirs({dir_});
    if (s) destroyed_ = true;
    return s;
  }

  std::vector<std::string> notes() const override { return notes_; }

 private:
  static constexpr const char* kPeakNote = "memory.peak cannot be reset here (kernel < 6.12): peak since start";

  Status need(const std::string& controller, const std::string& knob) const {
    if (std::find(controllers_.begin(), controllers_.end(), controller) != controllers_.end()) return {};
    return make_error("knob `{}` needs the cgroup v2 `{}` controller, which the cgroup2 root does not offer", knob,
                      controller);
  }

  std::string dir_;
  std::vector<std::string> controllers_;
  std::vector<std::string> notes_;
  UniqueFd peak_fd_;
  bool destroyed_ = false;
};

}  // namespace

Result<std::unique_ptr<Cgroup>> create_cgroup_v2(const CgroupHost& host, const std::string& instance) {
  if (host.v2_mount.empty()) return make_error("cgroup v2: no cgroup2 mount");
  const std::string parent = host.v2_mount + "/" + kCgroupParent;
  const std::string dir = parent + "/" + instance;
  // The root is exempt from the no-internal-processes rule, so controllers
  // can be enabled there and in our parent (which holds no processes).
  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = enable_controllers(host.v2_mount, host.controllers);
    if (s) s = cg_mkdir(parent, true);
    if (s) s = enable_controllers(parent, host.controllers);
    if (s) s = cg_mkdir(dir, false);
    // Another run removing the empty shared parent can race with us: retry.
    if (s || s.error().err != ENOENT) break;
  }
  if (!s) {
    if (s.error().err != EEXIST) (void)remove_cgroup_dirs({dir});
    return s.error().context(
        s.error().err == EEXIST ? "a cgroup of that name exists (a stale run? try `vbench cleanup`)" : "cgroup v2");
  }
  return std::unique_ptr<Cgroup>(std::make_unique<CgroupV2>(dir, host.controllers));
}

}  // namespace vbench
