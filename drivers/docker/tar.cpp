#include "drivers/docker/tar.hpp"

#include <cstring>

#include "core/error.hpp"

namespace vbench {

// POSIX ustar: a 512-byte header per entry (names up to 100 bytes are all
// this archive needs), then the data padded to 512 bytes.
void TarWriter::header(const std::string& name, char type, unsigned mode, size_t size) {
  char h[512];
  std::memset(h, 0, sizeof h);
  // Fixed-width fields: the name's is NUL-padded (h was zeroed, at most 99
  // bytes go in), the version's is two digits with no NUL, as ustar says.
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 99));  // NOLINT(bugprone-not-null-terminated-result)
  std::snprintf(h + 100, 8, "%07o", mode);
  std::snprintf(h + 108, 8, "%07o", 0u);  // uid
  std::snprintf(h + 116, 8, "%07o", 0u);  // gid
  std::snprintf(h + 124, 12, "%011zo", size);
  std::snprintf(h + 136, 12, "%011o", 0u);  // mtime: fixed, so the same agent gives the same archive
  std::memset(h + 148, ' ', 8);             // checksum field counts as spaces
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);  // NOLINT(bugprone-not-null-terminated-result)
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  out_.append(h, sizeof h);
}

void TarWriter::add_directory(const std::string& name, unsigned mode) {
  header(name.back() == '/' ? name : name + "/", '5', mode, 0);
}

void TarWriter::add_file(const std::string& name, const std::string& data, unsigned mode) {
  header(name, '0', mode, data.size());
  out_ += data;
  out_.append((512 - data.size() % 512) % 512, '\0');
}

std::string TarWriter::finish() const { return out_ + std::string(1024, '\0'); }

}  // namespace vbench
