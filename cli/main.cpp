#include <fmt/format.h>

#include <exception>

#include "cli/cli.hpp"
#include "core/escape.hpp"

// The last resort: every known bad input is a Result with a message, but an
// exception that still escapes (a library throwing on input nobody foresaw)
// must end as a clear message and exit 2, never as std::terminate's abort.
int main(int argc, char** argv) {
  try {
    return vbench::cli_main(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "vbench: error: {}\n", vbench::terminal_safe(e.what(), true));
  } catch (...) {
    fmt::print(stderr, "vbench: error: unexpected exception\n");
  }
  return 2;
}
