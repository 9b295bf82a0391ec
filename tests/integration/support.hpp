#pragma once
// Helpers for integration tests: run the real binaries, skip with a reason
// (exit code 77, CTest's SKIP_RETURN_CODE) when the host lacks something.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

// Ends this test case as "skipped" with the reason on stderr. Each test case
// runs in its own process under ctest (catch_discover_tests), so exiting here
// only ends this one.
#define VB_SKIP(reason)                                                 \
  do {                                                                  \
    std::fprintf(stderr, "SKIPPED: %s\n", std::string(reason).c_str()); \
    std::fflush(stderr);                                                \
    std::_Exit(77);                                                     \
  } while (0)

namespace vbtest {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr, interleaved
};

// Runs a shell command, capturing its output.
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// Where this build put the programs, and the source tree: defined in
// paths.cpp alone, the one file compiled with these paths (ccache then
// serves every other test file to a checkout in another directory).
std::string vbench_bin();
std::string agent_bin();
std::string source_dir();

// A fresh temp directory, removed at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/vbench-test-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace vbtest
