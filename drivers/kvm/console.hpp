#pragma once
// The guest's serial console, as QEMU writes it to a file (`-chardev
// file,append=on`). A guest is untrusted: one that prints without end must
// not fill the host's disk, and reading its console back must not read
// gigabytes. ConsoleCap keeps the file under a cap while the guest runs;
// read_console_tail reads only the end of it.
#include <atomic>
#include <cstddef>
#include <string>
#include <thread>

#include "core/error.hpp"

namespace vbench {

// Checks the file every `period_s`; when it is larger than `cap` bytes, keeps
// its last `keep` bytes after a line saying how much was dropped. The writer
// must have opened it with O_APPEND (QEMU's append=on), so that it goes on
// writing at the new end. Output written between the check and the
// truncation may be lost: the cap is for a runaway guest, not a log rotator.
class ConsoleCap {
 public:
  ConsoleCap(std::string path, size_t cap, size_t keep, double period_s = 0.25);
  ~ConsoleCap();
  ConsoleCap(const ConsoleCap&) = delete;
  ConsoleCap& operator=(const ConsoleCap&) = delete;

  // One check, as the thread does it; returns the bytes dropped (0: none).
  static Result<size_t> enforce(const std::string& path, size_t cap, size_t keep);

 private:
  std::string path_;
  size_t cap_, keep_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The last `max` bytes of the file (all of it when smaller).
Result<std::string> read_console_tail(const std::string& path, size_t max);

}  // namespace vbench
