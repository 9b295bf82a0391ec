#include "harness/cli.hpp"

#include <CLI/CLI.hpp>

namespace vbench {

int cli_main(int argc, char** argv) {
  CLI::App app{"vbench: what does isolation cost?"};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return 0;
}

}  // namespace vbench
