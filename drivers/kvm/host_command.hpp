#pragma once
// Running host tools (mkfs.ext4, xz, qemu --version) with bounded output
// and time, and finding them on PATH or in the sbin directories that a
// non-login root shell may lack.
#include <string>
#include <vector>

#include "core/error.hpp"

namespace vbench {

// Absolute path of an executable: `name` itself when it contains '/', else
// the first match on $PATH, /usr/sbin, /sbin. Empty when not found.
std::string find_program(const std::string& name);

// Runs argv[0] (resolved with find_program) with stdin from /dev/null and
// returns its stdout; stderr is kept for the error message. Fails on a
// non-zero exit, a signal, more than max_bytes of output or timeout_s.
Result<std::string> run_capture(const std::vector<std::string>& argv, double timeout_s = 60,
                                size_t max_bytes = 256 << 20);

}  // namespace vbench
