#include "core/fs.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <random>

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

namespace {

// The directory part of path ("." when it has none), for creating the
// temporary file beside the target and fsyncing the directory after rename.
std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_error(fmt::format("open directory `{}`", dir));
  if (::fsync(fd.get()) != 0) return sys_error(fmt::format("fsync directory `{}`", dir));
  return {};
}

Status write_file_atomic(const std::string& path, const std::string& data) {
  // O_CREAT|O_EXCL never opens an existing name, a symlink included (and
  // O_NOFOLLOW says so twice): a link planted at the temporary name cannot
  // redirect the write. The first name is predictable, so a name already
  // taken is retried with random ones rather than failing the write.
  std::string tmp;
  UniqueFd fd;
  std::random_device rd;
  for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
    tmp = attempt == 0 ? fmt::format("{}.tmp.{}", path, ::getpid())
                       : fmt::format("{}.tmp.{}.{:08x}", path, ::getpid(), rd());
    fd.reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd && errno != EEXIST && errno != ELOOP) return sys_error(fmt::format("create `{}`", tmp));
  }
  if (!fd) return make_error("create a temporary file beside `{}`: every name tried is taken", path);
  auto fail = [&](Error e) {
    ::unlink(tmp.c_str());
    return e;
  };
  if (auto s = write_all(fd.get(), data.data(), data.size()); !s)
    return fail(s.error().context(fmt::format("`{}`", tmp)));
  if (::fsync(fd.get()) != 0) return fail(sys_error(fmt::format("fsync `{}`", tmp)));
  fd.reset();
  // rename() replaces the name itself: a symlink at path is replaced, its target untouched.
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(sys_error(fmt::format("rename `{}` to `{}`", tmp, path)));
  // The rename is durable only once the directory is.
  if (auto s = fsync_dir(dir_of(path)); !s) return s.error().context(fmt::format("`{}`", path));
  return {};
}

Status append_line_synced(int fd, const std::string& line) {
  std::string l = line;
  l += '\n';
  // A full disk can take part of a line; cut it off again, or the next
  // append (which may fit where this one did not) would glue onto it and
  // leave a broken line in the middle of the file.
  const off_t before = ::lseek(fd, 0, SEEK_END);
  auto undo = [&](Error e) {
    if (before >= 0) (void)::ftruncate(fd, before);
    return e;
  };
  if (auto s = write_all(fd, l.data(), l.size()); !s) return undo(s.error());
  if (::fdatasync(fd) != 0) return undo(sys_error("fdatasync"));
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

Result<std::string> resolve_path(const std::string& path) {
  if (path.empty()) return make_error("empty path");
  std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  // realpath() of the longest part that exists, the rest appended: the
  // answer names what a write would reach, through any symlink on the way.
  std::filesystem::path rest;
  for (std::filesystem::path head = p;; head = head.parent_path()) {
    std::error_code ec;
    auto real = std::filesystem::canonical(head, ec);
    if (!ec) return (real / rest).lexically_normal().string();
    if (head == head.root_path()) return sys_error(fmt::format("resolve `{}`", path), ec.value());
    rest = rest.empty() ? head.filename() : head.filename() / rest;
  }
}

Status refuse_system_dir(const std::string& path) {
  auto real = resolve_path(path);
  if (!real) return real.error();
  std::string r = *real;
  while (r.size() > 1 && r.ends_with('/')) r.pop_back();
  // The system's own trees: nothing vbench writes belongs anywhere in them.
  static const char* const kTrees[] = {"/etc",  "/usr", "/bin", "/sbin",  "/boot",  "/dev",
                                       "/proc", "/sys", "/lib", "/lib32", "/lib64", "/libx32"};
  for (const char* t : kTrees) {
    const std::string tree(t);
    if (r == tree || r.starts_with(tree + "/"))
      return make_error("`{}` is inside the system directory {}: refusing to write there", path, tree);
  }
  // Directories that hold other things as a whole: a subdirectory is fine.
  static const char* const kWhole[] = {"/", "/var", "/home", "/root", "/tmp", "/opt", "/srv", "/mnt", "/media", "/run"};
  for (const char* w : kWhole)
    if (r == w) return make_error("`{}` is the system directory {}: give a directory of its own", path, w);
  return {};
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace vbench
