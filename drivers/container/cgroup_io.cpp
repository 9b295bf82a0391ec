#include "drivers/container/cgroup_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "core/clock.hpp"
#include "core/fs.hpp"

namespace vbench {

Status cg_write(const std::string& dir, const std::string& file, const std::string& value) {
  const std::string path = dir + "/" + file;
  // O_CREAT only matters for trees tests build; on cgroupfs the file exists
  // or the open fails, which the error reports.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return sys_error(fmt::format("open `{}`", path));
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return sys_error(fmt::format("write `{}` to `{}`", value, path));
  if (static_cast<size_t>(n) != value.size()) return make_error("write `{}` to `{}`: short write", value, path);
  return {};
}

Result<std::string> cg_read(const std::string& dir, const std::string& file) {
  return read_file(dir + "/" + file, 1 << 20);
}

bool cg_exists(const std::string& dir, const std::string& file) { return path_exists(dir + "/" + file); }

std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string k, v;
    if (!(ls >> k >> v)) continue;
    if (auto n = parse_u64(v)) out[k] = *n;
  }
  return out;
}

std::optional<uint64_t> parse_u64(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (i >= text.size() || text[i] < '0' || text[i] > '9') return std::nullopt;
  uint64_t v = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (v > (UINT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  return v;
}

std::vector<std::string> cgroup_subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR || std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    out.push_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

namespace {

std::vector<pid_t> procs_of(const std::string& dir) {
  std::vector<pid_t> out;
  auto text = cg_read(dir, "cgroup.procs");
  if (!text) return out;
  std::istringstream in(*text);
  for (long p; in >> p;)
    if (p > 0) out.push_back(static_cast<pid_t>(p));
  return out;
}

}  // namespace

Status remove_cgroup_tree(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return errno == ENOENT ? Status{} : sys_error(fmt::format("stat `{}`", dir));
  for (const auto& child : cgroup_subdirs(dir))
    if (auto s = remove_cgroup_tree(dir + "/" + child); !s) return s;
  // v2 (5.14+) kills the whole subtree at once; elsewhere kill what is listed
  // until nothing is (a fork racing with the kill shows up in the next round).
  if (cg_exists(dir, "cgroup.kill")) (void)cg_write(dir, "cgroup.kill", "1");
  const uint64_t deadline = now_ns() + 10'000'000'000ull;
  for (;;) {
    auto procs = procs_of(dir);
    for (pid_t p : procs) ::kill(p, SIGKILL);
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    const int e = errno;
    // EBUSY: killed processes have not left yet (they leave once reaped or,
    // for ours, once the kernel tears their pid namespace down).
    if ((e != EBUSY && e != ENOTEMPTY) || now_ns() > deadline)
      return sys_error(fmt::format("remove cgroup `{}`{}", dir,
                                   procs.empty() ? "" : fmt::format(" ({} processes still inside)", procs.size())),
                       e);
    usleep(5000);
  }
}

Status cg_mkdir(const std::string& dir, bool may_exist) {
  if (::mkdir(dir.c_str(), 0755) == 0) return {};
  if (errno == EEXIST && may_exist) return {};
  return sys_error(fmt::format("create cgroup `{}`", dir));
}

}  // namespace vbench
