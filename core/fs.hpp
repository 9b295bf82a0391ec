#pragma once
// Small file and descriptor helpers with errors that name the path.
#include <unistd.h>

#include <string>
#include <utility>

#include "core/error.hpp"

namespace vbench {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

Result<std::string> read_file(const std::string& path, size_t max_bytes = 64 * 1024 * 1024);
// First line of a file, without the newline; empty Result on error.
Result<std::string> read_line(const std::string& path);
Status write_file(const std::string& path, const std::string& data);
// The one way vbench writes an output file: a new temporary file beside path
// (created with O_CREAT|O_EXCL|O_NOFOLLOW, so a planted link is never
// followed), written, fsynced, renamed over path, then the directory fsynced.
// Readers see the old file or the new one, never half of it.
Status write_file_atomic(const std::string& path, const std::string& data);
Status fsync_dir(const std::string& dir);
Status append_line_synced(int fd, const std::string& line);
Status mkdir_p(const std::string& path, int mode = 0755);
Status remove_tree(const std::string& path);
bool path_exists(const std::string& path);
// The absolute path a write to path would reach: symlinks in the part that
// exists resolved, the part that does not yet exist appended.
Result<std::string> resolve_path(const std::string& path);
// Refuses `/`, the system's trees (/etc, /usr, /bin, /sbin, /boot, /dev,
// /proc, /sys, /lib*, and anything under them) and shared top-level
// directories as a whole (/var, /home, /root, /tmp, /opt, /srv, /mnt, /media,
// /run) as a place to write output or scratch files; resolved through symlinks.
Status refuse_system_dir(const std::string& path);
// Writes all of buf to fd, retrying on EINTR and short writes.
Status write_all(int fd, const void* buf, size_t len);

}  // namespace vbench
