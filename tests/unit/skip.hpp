#pragma once
// VBENCH_SKIP(reason): ends the current test as skipped (see main.cpp): the
// run exits 77 instead of 0, so a missing capability never counts as a pass.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace vbtest {
std::vector<std::string>& skipped();
}  // namespace vbtest

#define VBENCH_SKIP(reason)                                                              \
  do {                                                                                   \
    std::ostringstream vbench_skip_os_;                                                  \
    vbench_skip_os_ << Catch::getResultCapture().getCurrentTestName() << ": " << reason; \
    vbtest::skipped().push_back(vbench_skip_os_.str());                                  \
    WARN("skipped: " << reason);                                                         \
    return;                                                                              \
  } while (0)
