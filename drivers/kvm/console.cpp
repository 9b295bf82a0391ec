#include "drivers/kvm/console.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "core/fs.hpp"

namespace vbench {

Result<std::string> read_console_tail(const std::string& path, size_t max) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error(fmt::format("open `{}`", path));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return sys_error(fmt::format("stat `{}`", path));
  const auto size = static_cast<size_t>(st.st_size);
  const size_t from = size > max ? size - max : 0;
  std::string out(size - from, '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd.get(), out.data() + got, out.size() - got, static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(fmt::format("read `{}`", path));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<size_t> ConsoleCap::enforce(const std::string& path, size_t cap, size_t keep) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT ? Result<size_t>(size_t{0}) : sys_error("stat " + path);
  const auto size = static_cast<size_t>(st.st_size);
  if (size <= cap) return size_t{0};
  auto tail = read_console_tail(path, keep);
  if (!tail) return tail.error();
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sys_error(fmt::format("open `{}`", path));
  if (::ftruncate(fd.get(), 0) != 0) return sys_error(fmt::format("truncate `{}`", path));
  const size_t dropped = size - tail->size();
  const std::string text =
      fmt::format("[vbench: console over {} bytes; {} earlier bytes dropped]\n", cap, dropped) + *tail;
  // The writer appends (O_APPEND), so ours goes at the current end too.
  if (::lseek(fd.get(), 0, SEEK_END) < 0) return sys_error(fmt::format("seek `{}`", path));
  if (auto s = write_all(fd.get(), text.data(), text.size()); !s) return s.error();
  return dropped;
}

ConsoleCap::ConsoleCap(std::string path, size_t cap, size_t keep, double period_s)
    : path_(std::move(path)), cap_(cap), keep_(keep) {
  thread_ = std::thread([this, period_s] {
    const auto period = std::chrono::duration<double>(period_s);
    while (!stop_.load()) {
      (void)enforce(path_, cap_, keep_);
      // Sleep in small steps so that the destructor does not wait long.
      for (auto slept = std::chrono::duration<double>(0); slept < period && !stop_.load();
           slept += std::chrono::milliseconds(20))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
}

ConsoleCap::~ConsoleCap() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace vbench
