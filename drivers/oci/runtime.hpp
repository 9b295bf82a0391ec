#pragma once
// Calling an OCI runtime binary (runc, crun, runsc, youki, ...) through its
// command line, which they all share: create / start / kill / delete / state.
#include <string>
#include <vector>

#include "core/error.hpp"

namespace vbench {

struct OciRuntime {
  std::string name;     // as given: "runc" or a path
  std::string path;     // resolved absolute path ("" = not found)
  std::string version;  // first line of `<runtime> --version`

  // Finds the binary and reads its version.
  static Result<OciRuntime> find(const std::string& name);

  // Runs `<runtime> args...` with stdin and stdout on `stdio_fd` (-1:
  // /dev/null) and stderr appended to `log_path`. For `create`, the
  // container's process inherits the same stdio (detached pass-through), so
  // nothing waits for end-of-file on them. On a non-zero exit the error
  // carries what the runtime wrote to stderr during this call.
  Status exec(const std::vector<std::string>& args, int stdio_fd, const std::string& log_path, double timeout_s) const;
};

// The last `max_lines` non-empty lines of text, joined with "; " (a
// runtime's error, shown in one line by list/doctor and reports).
std::string last_lines(const std::string& text, size_t max_lines = 3);

}  // namespace vbench
