#include "drivers/kvm/cpio.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

namespace vbench {
namespace {

void pad4(std::string& s) {
  while (s.size() % 4 != 0) s.push_back('\0');
}

}  // namespace

void CpioWriter::add_entry(const std::string& path, uint32_t mode, uint32_t nlink, const std::string& data,
                           uint32_t rdev_major, uint32_t rdev_minor) {
  // newc header: magic + 13 fields of 8 hex digits; namesize counts the NUL.
  // The header plus name, and the data, are each padded to 4 bytes.
  out_ += fmt::format("070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
                      next_ino_++, mode, 0u, 0u, nlink, 0u, static_cast<uint32_t>(data.size()), 0u, 0u, rdev_major,
                      rdev_minor, static_cast<uint32_t>(path.size() + 1), 0u);
  out_ += path;
  out_.push_back('\0');
  pad4(out_);
  out_ += data;
  pad4(out_);
}

void CpioWriter::add_directory(const std::string& path, uint32_t mode) { add_entry(path, S_IFDIR | mode, 2, {}, 0, 0); }

void CpioWriter::add_file(const std::string& path, const std::string& data, uint32_t mode) {
  add_entry(path, S_IFREG | mode, 1, data, 0, 0);
}

void CpioWriter::add_char_device(const std::string& path, uint32_t major, uint32_t minor, uint32_t mode) {
  add_entry(path, S_IFCHR | mode, 1, {}, major, minor);
}

void CpioWriter::add_symlink(const std::string& path, const std::string& target) {
  add_entry(path, S_IFLNK | 0777, 1, target, 0, 0);
}

std::string CpioWriter::finish() {
  // The trailer has ino 0 so that it never collides with an entry.
  next_ino_ = 0;
  add_entry("TRAILER!!!", 0, 1, {}, 0, 0);
  std::string done = std::move(out_);
  out_.clear();
  next_ino_ = 1;
  return done;
}

}  // namespace vbench
