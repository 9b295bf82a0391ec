#pragma once
// The history store: every recorded run in one SQLite file (default
// ~/.local/share/vbench/history.db) or one PostgreSQL database shared by
// several runners (--db postgresql://...), with the git commit and branch it
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
// PostgreSQL keeps the same tables (and its version in vbench_schema), with
// its own isolation: see history_pg.cpp.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "model/results.hpp"

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

// The columns of the runs table that every store derives from a results
// file (beside the file itself and the HistoryRecord).
struct RunColumns {
  std::string suite, host_fingerprint, hostname;  // "" when the file lacks them
  int64_t samples = 0, failed_samples = 0;        // warm-ups left out
};
RunColumns run_columns(const ResultSet& rs);

// What every history store does, whatever holds it: SQLite (history.cpp)
// or PostgreSQL (history_pg.cpp). Same schema, same commands; HistoryStore
// below picks one by the --db argument.
class HistoryBackend {
 public:
  virtual ~HistoryBackend() = default;
  // See HistoryStore.
  virtual Result<HistoryRun> add(const ResultSet& rs, const std::string& results_json, const HistoryRecord& rec,
                                 bool* already_recorded) = 0;
  virtual Result<std::vector<HistoryRun>> list(const std::string& suite, size_t limit) const = 0;
  virtual Result<std::vector<HistoryRun>> series(const std::string& suite, const std::string& host_fingerprint,
                                                 size_t limit, const std::string& branch) const = 0;
  virtual Result<HistoryRun> find(const std::string& name) const = 0;
  virtual Result<std::string> results_json(const HistoryRun& run) const = 0;
  virtual Result<std::vector<HistoryMetric>> metrics(const HistoryRun& run) const = 0;
  virtual Status set_baseline(const std::string& name, const HistoryRun& run) = 0;
  virtual Result<std::vector<std::pair<std::string, HistoryRun>>> baselines() const = 0;
};

// `postgresql://...` or `postgres://...`: a libpq connection URI.
bool is_postgres_uri(const std::string& db);

class HistoryStore {
 public:
  enum class Mode { ReadWrite, ReadOnly };  // ReadWrite creates the file (or the schema)

  // $XDG_DATA_HOME/vbench/history.db, else ~/.local/share/vbench/history.db.
  static Result<std::string> default_path();
  // An SQLite file, or a PostgreSQL database when `path` is a libpq URI
  // (is_postgres_uri). ReadOnly opens an SQLite store left with a hot journal
  // (its writer was killed) read-write to roll it back, then allows queries
  // only; a ReadOnly PostgreSQL session is a read-only transaction. A
  // ReadOnly open of a path (or database) with no store fails with
  // Error::err == ENOENT.
  static Result<HistoryStore> open(const std::string& path, Mode mode = Mode::ReadWrite);

  // The file, or the URI without its password.
  const std::string& path() const { return path_; }

  // Stores a run in one transaction: its metadata, results_json (the
  // canonical results.json text) and summary rows. Recording is idempotent
  // by run id, so that runners racing to record the same run store it once:
  // a run id already stored with the same results_json returns the stored
  // run (and sets *already_recorded); with other results it is an error.
  Result<HistoryRun> add(const ResultSet& rs, const std::string& results_json, const HistoryRecord& rec,
                         bool* already_recorded = nullptr) {
    if (already_recorded) *already_recorded = false;
    return impl_->add(rs, results_json, rec, already_recorded);
  }

  // Newest first. Empty suite = all suites; limit 0 = no limit.
  Result<std::vector<HistoryRun>> list(const std::string& suite = "", size_t limit = 0) const {
    return impl_->list(suite, limit);
  }
  // Runs of one suite on one host (and one branch, unless empty), oldest
  // first, the newest `limit`.
  Result<std::vector<HistoryRun>> series(const std::string& suite, const std::string& host_fingerprint, size_t limit,
                                         const std::string& branch = "") const {
    return impl_->series(suite, host_fingerprint, limit, branch);
  }

  // A baseline name, "latest", a run id, or an unambiguous prefix of one.
  // Nothing by that name: Error::err == ENOENT (as opposed to a store that
  // cannot be read, or an ambiguous name).
  Result<HistoryRun> find(const std::string& name) const { return impl_->find(name); }
  Result<std::string> results_json(const HistoryRun& run) const { return impl_->results_json(run); }
  Result<ResultSet> load(const HistoryRun& run) const;  // parsed results_json
  Result<std::vector<HistoryMetric>> metrics(const HistoryRun& run) const { return impl_->metrics(run); }

  // Points NAME at a run (replacing what it pointed at).
  Status set_baseline(const std::string& name, const HistoryRun& run) { return impl_->set_baseline(name, run); }
  Result<std::vector<std::pair<std::string, HistoryRun>>> baselines() const { return impl_->baselines(); }

  HistoryStore(std::unique_ptr<HistoryBackend> impl, std::string path)
      : impl_(std::move(impl)), path_(std::move(path)) {}

 private:
  std::unique_ptr<HistoryBackend> impl_;
  std::string path_;
};

// The PostgreSQL store (history_pg.cpp).
Result<std::unique_ptr<HistoryBackend>> open_postgres_history(const std::string& uri, HistoryStore::Mode mode);
// The URI with any password replaced by ***, for messages.
std::string redact_uri(const std::string& uri);

// Baseline names: letters, digits and . _ / - (branch names fit); not
// "latest".
Status check_baseline_name(const std::string& name);

}  // namespace vbench
