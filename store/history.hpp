#pragma once
// The history store: every recorded run in one SQLite file (default
// ~/.local/share/vbench/history.db), with the git commit and branch it
// measured, its host fingerprint and suite, the full results.json (so a
// stored run compares exactly like a file) and its summary rows (so trends
// and plain `sqlite3` queries need not parse JSON). Named baselines point at
// runs.
//
// Writes are one transaction each (BEGIN IMMEDIATE ... COMMIT) in SQLite's
// rollback-journal mode with synchronous=FULL: a process killed mid-write
// leaves a hot journal that the next open rolls back, so the store holds the
// whole run or nothing. Rollback journal rather than WAL because the store is
// meant to be one file that CI caches and copies between jobs: in WAL mode
// committed transactions can sit in a -wal file next to it, and a cache that
// saves only history.db would lose them. Concurrent writers wait (busy
// timeout) instead of failing.
//
// The schema version is PRAGMA user_version; opening a newer store than this
// vbench knows is an error, an older one is migrated in one transaction.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "model/results.hpp"

struct sqlite3;

namespace vbench {

inline constexpr int kHistorySchemaVersion = 1;

struct HistoryRun {
  int64_t id = 0;  // local, in recording order
  std::string run_id;
  std::string recorded_at, started_at, finished_at;
  std::string suite, host_fingerprint, hostname;
  std::string git_commit, git_branch;  // of the code measured (see HistoryRecord)
  std::string vbench_version, vbench_commit;
  bool interrupted = false;
  int64_t samples = 0, failed_samples = 0;
  std::string source;                  // the file it was added from
  std::vector<std::string> baselines;  // names pointing at it
};

// What a run is recorded with besides its results.
struct HistoryRecord {
  std::string git_commit, git_branch;
  std::string source;
};

// A summary row of a stored run (the `metrics` table).
struct HistoryMetric {
  std::string env, workload, params, metric, unit, better, source;
  int64_t n = 0;
  double median = 0, ci_low = 0, ci_high = 0;  // NaN when NULL
};

class HistoryStore {
 public:
  enum class Mode { ReadWrite, ReadOnly };  // ReadWrite creates the file

  // $XDG_DATA_HOME/vbench/history.db, else ~/.local/share/vbench/history.db.
  static Result<std::string> default_path();
  // ReadOnly opens a store left with a hot journal (its writer was killed)
  // read-write to roll it back, then allows queries only. A ReadOnly open of
  // a path with no store fails with Error::err == ENOENT.
  static Result<HistoryStore> open(const std::string& path, Mode mode = Mode::ReadWrite);

  HistoryStore(HistoryStore&& o) noexcept;
  HistoryStore& operator=(HistoryStore&& o) noexcept;
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;
  ~HistoryStore();

  const std::string& path() const { return path_; }

  // Stores a run in one transaction: its metadata, results_json (the
  // canonical results.json text) and summary rows. A run id already stored
  // is an error.
  Result<HistoryRun> add(const ResultSet& rs, const std::string& results_json, const HistoryRecord& rec);

  // Newest first. Empty suite = all suites; limit 0 = no limit.
  Result<std::vector<HistoryRun>> list(const std::string& suite = "", size_t limit = 0) const;
  // Runs of one suite on one host (and one branch, unless empty), oldest
  // first, the newest `limit`.
  Result<std::vector<HistoryRun>> series(const std::string& suite, const std::string& host_fingerprint, size_t limit,
                                         const std::string& branch = "") const;

  // A baseline name, "latest", a run id, or an unambiguous prefix of one.
  // Nothing by that name: Error::err == ENOENT (as opposed to a store that
  // cannot be read, or an ambiguous name).
  Result<HistoryRun> find(const std::string& name) const;
  Result<std::string> results_json(const HistoryRun& run) const;
  Result<ResultSet> load(const HistoryRun& run) const;  // parsed results_json
  Result<std::vector<HistoryMetric>> metrics(const HistoryRun& run) const;

  // Points NAME at a run (replacing what it pointed at).
  Status set_baseline(const std::string& name, const HistoryRun& run);
  Result<std::vector<std::pair<std::string, HistoryRun>>> baselines() const;

 private:
  HistoryStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status migrate();
  Result<std::vector<HistoryRun>> query_runs(const std::string& where, const std::vector<std::string>& args,
                                             const std::string& tail) const;

  sqlite3* db_ = nullptr;
  std::string path_;
};

// Baseline names: letters, digits and . _ / - (branch names fit); not
// "latest".
Status check_baseline_name(const std::string& name);

}  // namespace vbench
