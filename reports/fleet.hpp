#pragma once
// One report across hosts: runs of the same suite from several machines, with
// the host as a dimension next to the environment. Each host's overhead ratios
// are against its own baseline environment (a ratio never mixes two
// machines); what the fleet report adds is where those ratios differ between
// hosts, and each host's provenance side by side.
#include <string>
#include <vector>

#include "analysis/summary.hpp"
#include "core/error.hpp"
#include "model/results.hpp"

namespace vbench {

struct FleetMember {
  std::string host;    // label: the inventory name, else the host name
  std::string source;  // where its results were read from
  ResultSet results;
  RunSummary summary;
};

// A host that was asked to run and has no results.
struct FleetFailure {
  std::string host;
  std::string error;
};

struct Fleet {
  std::string id;  // fleet run id, when the runs come from `vbench fleet run`
  std::vector<FleetMember> members;
  std::vector<FleetFailure> failures;
  std::vector<std::string> warnings;  // e.g. mixed vbench versions, allowed by the user
};

// Refuses members that are not runs of the same suite (name, parameters of
// common workloads, knobs of common environments) with the same vbench
// version, naming the host and the difference; with allow_mixed, the
// differences become warnings of the fleet instead. Host labels must be
// unique.
Status check_fleet(Fleet& fleet, bool allow_mixed);

// One env × workload × params × metric whose overhead ratio differs between
// hosts: the 95% CIs of the lowest and the highest ratio do not overlap.
struct HostRatio {
  std::string host;
  OverheadRatio ratio;
};
struct HostDifference {
  std::string env, workload, params, metric, unit;
  std::vector<HostRatio> ratios;  // every host with a ratio, lowest first
};
struct FleetAnalysis {
  std::vector<HostDifference> differences;  // largest spread (max/min) first
  size_t compared = 0;                      // rows with a ratio on two hosts or more
  size_t too_few = 0;                       // of those, rows where some host had < kMinRepetitionsForCI
};
FleetAnalysis analyze_fleet(const Fleet& fleet);

// "container net.tcp_rr lat_p50 overhead 1.80× [1.70, 1.90] on a, 1.20× [1.10, 1.30] on b"
std::string difference_text(const HostDifference& d);

// fleet CSV: results.csv's columns with `host` first.
std::string render_fleet_csv(const Fleet& fleet);
// One self-contained HTML page: findings across hosts, the overhead ratios
// per host, provenance side by side, failed hosts.
std::string render_fleet_html(const Fleet& fleet);
// The findings and the ratio table, for a pull-request comment (bounded like
// report.md).
std::string render_fleet_markdown(const Fleet& fleet);
// For the terminal: per host, its status (unless with_hosts is false); then
// the differences.
std::string render_fleet_table(const Fleet& fleet, bool color, bool with_hosts = true);
// .html, .md, .csv or .json by the path's extension.
Result<std::string> render_fleet_for_path(const std::string& path, const Fleet& fleet);

}  // namespace vbench
