#pragma once
// Many hosts: `vbench fleet run --inventory FILE [run options]` runs one suite
// on every host of an Ansible inventory through deploy/ansible/fleet.yml and
// merges the results into one fleet report; `vbench report DIR1 DIR2 ...`
// (or a fleet directory) rebuilds that report.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "reports/fleet.hpp"

namespace CLI {
class App;
}

namespace vbench {

// Reads a fleet from `inputs`: one fleet directory (written by `vbench fleet
// run`: hosts/HOST/results.json, hosts/HOST/status.json), or several
// results files or run directories, one per host. Checks it with
// check_fleet().
Result<Fleet> load_fleet(const std::vector<std::string>& inputs, bool allow_mixed);
// True when `inputs` name a fleet rather than one run: several inputs, or a
// fleet directory.
bool is_fleet_input(const std::vector<std::string>& inputs);

// The host names of an Ansible inventory, as `ansible-inventory --list` reads
// it (JSON on stdin of this function), in the order it lists them.
Result<std::vector<std::string>> inventory_hosts(const std::string& ansible_inventory_json);

class FleetCli {
 public:
  // Adds the `fleet` subcommand (with `fleet run`) to app.
  explicit FleetCli(CLI::App& app);
  ~FleetCli();
  // The exit code of `fleet run` when it was chosen: 0 every host ran, 1 a
  // host failed (listed with its error), 2 usage error.
  std::optional<int> dispatch() const;

  struct Args;  // defined in cli_fleet.cpp

 private:
  std::unique_ptr<Args> a_;  // CLI11 keeps pointers into it
};

}  // namespace vbench
