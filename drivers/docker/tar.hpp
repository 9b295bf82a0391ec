#pragma once
// A ustar archive written in memory: the image `docker import` makes from
// the static agent (a few directories and one file, owned by root).
#include <string>

namespace vbench {

class TarWriter {
 public:
  void add_directory(const std::string& name, unsigned mode = 0755);
  void add_file(const std::string& name, const std::string& data, unsigned mode = 0644);
  // The archive with its two terminating zero blocks.
  std::string finish() const;

 private:
  void header(const std::string& name, char type, unsigned mode, size_t size);
  std::string out_;
};

}  // namespace vbench
