#pragma once
// A writer for the "newc" cpio format (SVR4 without CRC), the format the
// Linux kernel unpacks into rootfs from an initramfs (init/initramfs.c).
//
// Every entry gets a distinct inode number and nlink 1 (2 for directories):
// the kernel treats equal (ino, nlink > 1) pairs as hard links. Timestamps
// are 0 so the same contents give the same bytes (the initramfs cache is
// keyed by content).
#include <cstdint>
#include <string>

namespace vbench {

class CpioWriter {
 public:
  // Paths are relative to the archive root, without a leading '/'
  // ("init", "lib/modules"). Parents must be added before children.
  void add_directory(const std::string& path, uint32_t mode = 0755);
  void add_file(const std::string& path, const std::string& data, uint32_t mode = 0644);
  void add_char_device(const std::string& path, uint32_t major, uint32_t minor, uint32_t mode = 0600);
  void add_symlink(const std::string& path, const std::string& target);
  // Appends the trailer and returns the archive; the writer is empty afterwards.
  std::string finish();

 private:
  void add_entry(const std::string& path, uint32_t mode, uint32_t nlink, const std::string& data, uint32_t rdev_major,
                 uint32_t rdev_minor);
  std::string out_;
  uint32_t next_ino_ = 1;
};

}  // namespace vbench
