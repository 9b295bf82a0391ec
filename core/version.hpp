#pragma once

namespace vbench {

// vbench's version (CMake's PROJECT_VERSION) and the git commit it was built
// from ("<12 hex digits>", with "-dirty" when tracked files had changes, or
// "unknown" outside a git tree). Defined in a file generated at build time.
extern const char* const kVersion;
extern const char* const kGitCommit;

}  // namespace vbench
