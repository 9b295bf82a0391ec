// Catch2 2 has no skip. A unit test that cannot check what it is about (the
// host lacks something) calls VBENCH_SKIP (tests/unit/skip.hpp) instead of
// passing silently: the reason is printed, and the run exits 77, which ctest
// reports as a skip (SKIP_RETURN_CODE), when something skipped and nothing
// failed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>

#include "skip.hpp"

namespace vbtest {

std::vector<std::string>& skipped() {
  static std::vector<std::string> s;
  return s;
}

}  // namespace vbtest

int main(int argc, char* argv[]) {
  const int rc = Catch::Session().run(argc, argv);
  if (rc != 0 || vbtest::skipped().empty()) return rc;
  for (const auto& s : vbtest::skipped()) std::fprintf(stderr, "SKIPPED: %s\n", s.c_str());
  return 77;
}
