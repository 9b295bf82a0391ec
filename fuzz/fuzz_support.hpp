#pragma once
// Shared by the libFuzzer targets in this folder (built with -DVBENCH_FUZZ=ON,
// run by ci/fuzz).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace vbfuzz {

inline std::string text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// A path that reads back `content`: an anonymous in-memory file, for the
// parsers that take a path (mountinfo). Closed by the caller.
struct MemFile {
  int fd = -1;
  std::string path;
  explicit MemFile(std::string_view content) {
    fd = ::memfd_create("vbench-fuzz", MFD_CLOEXEC);
    if (fd < 0) std::abort();
    size_t off = 0;
    while (off < content.size()) {
      ssize_t n = ::write(fd, content.data() + off, content.size() - off);
      if (n <= 0) std::abort();
      off += static_cast<size_t>(n);
    }
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  ~MemFile() { ::close(fd); }
};

}  // namespace vbfuzz
