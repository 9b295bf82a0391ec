#include "core/fs.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>

namespace vbench {

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error(fmt::format("open `{}`", path));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("read `{}`", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) return make_error("read `{}`: larger than {} bytes", path, max_bytes);
  }
  return out;
}

Result<std::string> read_line(const std::string& path) {
  auto r = read_file(path, 1 << 20);
  if (!r) return r.error();
  // A plain loop: GCC 12 warns falsely (-Wstringop-overread) on find() here.
  const std::string& s = *r;
  size_t nl = 0;
  while (nl < s.size() && s[nl] != '\n') ++nl;
  return s.substr(0, nl);
}

Status write_all(int fd, const void* buf, size_t len) {
  auto p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write");
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return {};
}

Status write_file(const std::string& path, const std::string& data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return sys_error(fmt::format("open `{}`", path));
  if (auto s = write_all(fd.get(), data.data(), data.size()); !s) return s.error().context(fmt::format("`{}`", path));
  return {};
}

Status write_file_atomic(const std::string& path, const std::string& data) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return sys_error(fmt::format("open `{}`", tmp));
    if (auto s = write_all(fd.get(), data.data(), data.size()); !s) {
      ::unlink(tmp.c_str());
      return s.error().context(fmt::format("`{}`", tmp));
    }
    if (::fsync(fd.get()) != 0) {
      ::unlink(tmp.c_str());
      return sys_error(fmt::format("fsync `{}`", tmp));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = sys_error(fmt::format("rename `{}` to `{}`", tmp, path));
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

Status append_line_synced(int fd, const std::string& line) {
  std::string l = line;
  l += '\n';
  if (auto s = write_all(fd, l.data(), l.size()); !s) return s;
  if (::fdatasync(fd) != 0) return sys_error("fdatasync");
  return {};
}

Status mkdir_p(const std::string& path, int mode) {
  if (path.empty()) return make_error("mkdir: empty path");
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
      return sys_error(fmt::format("mkdir `{}`", cur));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return make_error("mkdir `{}`: not a directory", path);
  return {};
}

Status remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Status{} : sys_error(fmt::format("stat `{}`", path));
  // FTW_PHYS: never follow symlinks out of the tree; FTW_DEPTH: children first.
  int rc = ::nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, FTW*) -> int { return ::remove(p) == 0 || errno == ENOENT ? 0 : -1; },
      64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc != 0) return sys_error(fmt::format("remove `{}`", path));
  return {};
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace vbench
