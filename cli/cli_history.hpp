#pragma once
// The regression-tracking part of the command line: `vbench compare`,
// `vbench history add|list|show|baseline`, and `vbench run --record`. Kept
// apart from cli.cpp, which only constructs a HistoryCli, dispatches to it
// and calls record() at the end of a run.
#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace vbench {

struct ResultSet;

class HistoryCli {
 public:
  // Adds the `compare` and `history` subcommands to app, and --record, --db,
  // --commit and --branch to `run`.
  HistoryCli(CLI::App& app, CLI::App* run);
  ~HistoryCli();

  // The exit code of the compare or history subcommand that was chosen
  // (0 ok, 1 regression, 2 usage or input error); nullopt when neither was.
  std::optional<int> dispatch() const;

  // `run --record` was given.
  bool recording() const;
  // Stores a finished run in the history store; prints what it did. Returns
  // 0, or 2 when the store could not be written.
  int record(const ResultSet& rs) const;

  struct Args;  // defined in cli_history.cpp

 private:
  std::unique_ptr<Args> a_;  // CLI11 keeps pointers into it
};

}  // namespace vbench
