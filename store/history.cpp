#include "store/history.hpp"

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "analysis/summary.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"
#include "model/hostinfo.hpp"

namespace vbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kBusyTimeoutMs = 10000;

Error db_error(sqlite3* db, const std::string& what) { return make_error("{}: {}", what, sqlite3_errmsg(db)); }

// A prepared statement, finalized at scope exit. Parameters are bound by
// position (1-based); NaN binds as NULL and NULL reads as NaN.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& bind(int i, double v) {
    if (std::isfinite(v))
      sqlite3_bind_double(st_, i, v);
    else
      sqlite3_bind_null(st_, i);
    return *this;
  }
  int step() { return sqlite3_step(st_); }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
  }
  int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  double real(int col) const {
    return sqlite3_column_type(st_, col) == SQLITE_NULL ? kNaN : sqlite3_column_double(st_, col);
  }

 private:
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

Status exec(sqlite3* db, const char* sql, const char* what) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    Error e = make_error("{}: {}", what, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return e;
  }
  return {};
}

// BEGIN IMMEDIATE takes the write lock up front, so two writers wait for
// each other (busy timeout) instead of one failing at its first write. An
// uncommitted transaction rolls back at scope exit.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  Status begin() {
    auto s = exec(db_, "BEGIN IMMEDIATE", "begin transaction");
    open_ = s.ok();
    return s;
  }
  Status commit() {
    auto s = exec(db_, "COMMIT", "commit");
    if (s) open_ = false;
    return s;
  }
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

// Schema steps: kMigrations[v] takes a store from version v to v + 1.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL UNIQUE,
  recorded_at TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  suite TEXT NOT NULL,
  host_fingerprint TEXT NOT NULL,
  hostname TEXT NOT NULL,
  git_commit TEXT NOT NULL,
  git_branch TEXT NOT NULL,
  vbench_version TEXT NOT NULL,
  vbench_commit TEXT NOT NULL,
  interrupted INTEGER NOT NULL,
  samples INTEGER NOT NULL,
  failed_samples INTEGER NOT NULL,
  source TEXT NOT NULL,
  results_json TEXT NOT NULL
);
CREATE INDEX runs_by_suite_host ON runs (suite, host_fingerprint, id);
CREATE TABLE metrics (
  run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  env TEXT NOT NULL,
  workload TEXT NOT NULL,
  params TEXT NOT NULL,
  metric TEXT NOT NULL,
  unit TEXT NOT NULL,
  better TEXT NOT NULL,
  source TEXT NOT NULL,
  n INTEGER NOT NULL,
  median REAL,
  ci_low REAL,
  ci_high REAL,
  PRIMARY KEY (run, env, workload, params, metric)
) WITHOUT ROWID;
CREATE TABLE baselines (
  name TEXT PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs (id),
  set_at TEXT NOT NULL
);
)sql",
};
static_assert(std::size(kMigrations) == kHistorySchemaVersion);

Result<int> user_version(sqlite3* db) {
  Stmt st(db, "PRAGMA user_version");
  if (!st.prepared() || st.step() != SQLITE_ROW) return db_error(db, "read schema version");
  return static_cast<int>(st.i64(0));
}

const char* const kRunColumns =
    "id, run_id, recorded_at, started_at, finished_at, suite, host_fingerprint, hostname, git_commit, git_branch, "
    "vbench_version, vbench_commit, interrupted, samples, failed_samples, source, "
    "(SELECT group_concat(name, ',') FROM (SELECT name FROM baselines b WHERE b.run = runs.id ORDER BY name))";

HistoryRun read_run(const Stmt& st) {
  HistoryRun r;
  r.id = st.i64(0);
  r.run_id = st.text(1);
  r.recorded_at = st.text(2);
  r.started_at = st.text(3);
  r.finished_at = st.text(4);
  r.suite = st.text(5);
  r.host_fingerprint = st.text(6);
  r.hostname = st.text(7);
  r.git_commit = st.text(8);
  r.git_branch = st.text(9);
  r.vbench_version = st.text(10);
  r.vbench_commit = st.text(11);
  r.interrupted = st.i64(12) != 0;
  r.samples = st.i64(13);
  r.failed_samples = st.i64(14);
  r.source = st.text(15);
  const std::string names = st.text(16);
  for (size_t pos = 0; !names.empty() && pos <= names.size();) {
    const size_t c = names.find(',', pos);
    r.baselines.push_back(names.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  return r;
}

// Milliseconds to sleep inside the add transaction, half-way through its
// writes: lets the SIGKILL test stop a writer at a known point. Unset in
// normal use.
unsigned test_pause_ms() {
  const char* v = getenv("VBENCH_TEST_HISTORY_PAUSE_MS");
  return v && *v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : 0;
}

}  // namespace

// The SQLite store: one file, one connection.
class SqliteHistory final : public HistoryBackend {
 public:
  static Result<std::unique_ptr<HistoryBackend>> open(const std::string& path, HistoryStore::Mode mode);
  ~SqliteHistory() override { sqlite3_close(db_); }
  SqliteHistory(const SqliteHistory&) = delete;
  SqliteHistory& operator=(const SqliteHistory&) = delete;

  Result<HistoryRun> add(const ResultSet& rs, const std::string& results_json, const HistoryRecord& rec,
                         bool* already_recorded) override;
  Result<std::vector<HistoryRun>> list(const std::string& suite, size_t limit) const override;
  Result<std::vector<HistoryRun>> series(const std::string& suite, const std::string& host_fingerprint, size_t limit,
                                         const std::string& branch) const override;
  Result<HistoryRun> find(const std::string& name) const override;
  Result<std::string> results_json(const HistoryRun& run) const override;
  Result<std::vector<HistoryMetric>> metrics(const HistoryRun& run) const override;
  Status set_baseline(const std::string& name, const HistoryRun& run) override;
  Result<std::vector<std::pair<std::string, HistoryRun>>> baselines() const override;

 private:
  SqliteHistory(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status migrate();
  Result<std::vector<HistoryRun>> query_runs(const std::string& where, const std::vector<std::string>& args,
                                             const std::string& tail) const;

  sqlite3* db_ = nullptr;
  std::string path_;
};

Status check_baseline_name(const std::string& name) {
  if (name.empty() || name.size() > 200) return make_error("baseline name must have 1 to 200 characters");
  if (name == "latest") return make_error("`latest` is reserved (it names the newest run)");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '/' || c == '-'))
      return make_error("baseline name `{}` may hold only letters, digits and . _ / -", name);
  if (name.find_first_not_of("0123456789") == std::string::npos)
    return make_error("baseline name `{}` is a number: numbers name runs by their history id", name);
  return {};
}

Result<std::string> HistoryStore::default_path() {
  if (const char* x = getenv("XDG_DATA_HOME"); x && *x == '/') return std::string(x) + "/vbench/history.db";
  const char* home = getenv("HOME");
  if (!home || !*home) return make_error("no HOME to put the history store in: pass --db PATH");
  return std::string(home) + "/.local/share/vbench/history.db";
}

bool is_postgres_uri(const std::string& db) {
  return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0;
}

Result<HistoryStore> HistoryStore::open(const std::string& path, Mode mode) {
  auto impl = is_postgres_uri(path) ? open_postgres_history(path, mode) : SqliteHistory::open(path, mode);
  if (!impl) return impl.error();
  return HistoryStore(std::move(*impl), is_postgres_uri(path) ? redact_uri(path) : path);
}

Result<ResultSet> HistoryStore::load(const HistoryRun& run) const {
  auto text = results_json(run);
  if (!text) return text.error();
  return parse_results(*text, fmt::format("{}:{}", path_, run.run_id));
}

Result<std::unique_ptr<HistoryBackend>> SqliteHistory::open(const std::string& path, HistoryStore::Mode mode) {
  using Mode = HistoryStore::Mode;
  if (mode == Mode::ReadOnly && !path_exists(path)) {
    Error e = make_error(
        "history store `{}` does not exist (record runs with `vbench run --record` or `vbench history "
        "add`)",
        path);
    e.err = ENOENT;  // nothing recorded: not the same as a store that cannot be read
    return e;
  }
  if (mode == Mode::ReadWrite) {
    const std::string dir = std::filesystem::path(path).parent_path().string();
    if (!dir.empty())
      if (auto s = mkdir_p(dir); !s) return s.error().context("history store");
  }
  sqlite3* db = nullptr;
  // A writer killed inside its transaction leaves a hot rollback journal;
  // the next reader must roll it back before it may read, and a read-only
  // connection cannot ("attempt to write a readonly database"). So a reader
  // that finds a journal opens the file read-write, and `query_only` below
  // keeps it from writing anything else.
  const bool journal = mode == Mode::ReadOnly && path_exists(path + "-journal");
  const int flags = (mode == Mode::ReadOnly && !journal ? SQLITE_OPEN_READONLY
                     : mode == Mode::ReadOnly           ? SQLITE_OPEN_READWRITE
                                                        : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Error e = make_error("history store `{}`: {}", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<SqliteHistory> store(new SqliteHistory(db, path));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);
  // Defaults spelled out: they are what makes an interrupted write safe.
  for (const char* pragma : {"PRAGMA foreign_keys = ON", "PRAGMA synchronous = FULL"})
    if (auto s = exec(db, pragma, pragma); !s) return s.error().context(fmt::format("history store `{}`", path));
  if (mode == Mode::ReadWrite)
    if (auto s = exec(db, "PRAGMA journal_mode = DELETE", "set rollback journal"); !s)
      return s.error().context(fmt::format("history store `{}`", path));
  if (journal)
    if (auto s = exec(db, "PRAGMA query_only = ON", "read-only queries"); !s)
      return s.error().context(fmt::format("history store `{}`", path));
  auto v = user_version(db);
  if (!v) return v.error().context(fmt::format("history store `{}`", path));
  if (*v > kHistorySchemaVersion)
    return make_error("history store `{}` has schema version {}, newer than this vbench knows ({}): use a newer vbench",
                      path, *v, kHistorySchemaVersion);
  if (*v < kHistorySchemaVersion) {
    if (mode == Mode::ReadOnly)
      return make_error("history store `{}` has schema version {}; open it once for writing to upgrade it", path, *v);
    if (auto s = store->migrate(); !s) return s.error().context(fmt::format("history store `{}`", path));
  }
  return std::unique_ptr<HistoryBackend>(std::move(store));
}

Status SqliteHistory::migrate() {
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) return s;
  // Read again under the write lock: another process may have done it.
  auto v = user_version(db_);
  if (!v) return v.error();
  if (*v == 0) {
    Stmt st(db_, "SELECT count(*) FROM sqlite_master");
    if (!st.prepared() || st.step() != SQLITE_ROW) return db_error(db_, "read schema");
    if (st.i64(0) != 0) return make_error("not a vbench history store (it has tables but no vbench schema version)");
  }
  for (int step = *v; step < kHistorySchemaVersion; ++step)
    if (auto s = exec(db_, kMigrations[step], "create schema"); !s) return s;
  const std::string set_version = fmt::format("PRAGMA user_version = {}", kHistorySchemaVersion);
  if (auto s = exec(db_, set_version.c_str(), "set schema version"); !s) return s;
  return tx.commit();
}

RunColumns run_columns(const ResultSet& rs) {
  RunColumns c;
  const nlohmann::json& host = rs.meta.host;
  if (host.is_object() && host.contains("fingerprint") && host["fingerprint"].is_string())
    c.host_fingerprint = host["fingerprint"].get<std::string>();
  c.hostname = HostInfo::from_json(host).value("hostname");
  const nlohmann::json& suite = rs.meta.suite;
  if (suite.is_object() && suite.contains("name") && suite["name"].is_string())
    c.suite = suite["name"].get<std::string>();
  for (const auto& s : rs.samples)
    if (!s.warmup) {
      ++c.samples;
      c.failed_samples += !s.ok;
    }
  return c;
}

Result<HistoryRun> SqliteHistory::add(const ResultSet& rs, const std::string& results_json, const HistoryRecord& rec,
                                      bool* already_recorded) {
  const RunSummary summary = summarize_run(rs, rs.meta.baseline_env, rs.meta.seed);
  const RunColumns cols = run_columns(rs);

  Transaction tx(db_);
  if (auto s = tx.begin(); !s) return s.error();
  {
    // Under the write lock (BEGIN IMMEDIATE): no other writer can add the
    // same run between this look-up and the insert.
    Stmt dup(db_, "SELECT id, results_json = ?2 FROM runs WHERE run_id = ?1");
    if (!dup.prepared()) return db_error(db_, "look up run");
    dup.bind(1, rs.meta.run_id).bind(2, results_json);
    if (dup.step() == SQLITE_ROW) {
      const int64_t id = dup.i64(0);
      if (dup.i64(1) == 0)
        return make_error("run {} is already in the history (as #{}) with other results", rs.meta.run_id, id);
      if (already_recorded) *already_recorded = true;
      return find(std::to_string(id));
    }
  }
  Stmt ins(db_,
           "INSERT INTO runs (run_id, recorded_at, started_at, finished_at, suite, host_fingerprint, hostname, "
           "git_commit, git_branch, vbench_version, vbench_commit, interrupted, samples, failed_samples, source, "
           "results_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  if (!ins.prepared()) return db_error(db_, "prepare insert");
  ins.bind(1, rs.meta.run_id)
      .bind(2, utc_timestamp())
      .bind(3, rs.meta.started_at)
      .bind(4, rs.meta.finished_at)
      .bind(5, cols.suite)
      .bind(6, cols.host_fingerprint)
      .bind(7, cols.hostname)
      .bind(8, rec.git_commit)
      .bind(9, rec.git_branch)
      .bind(10, rs.meta.vbench_version)
      .bind(11, rs.meta.git_commit)
      .bind(12, int64_t{rs.meta.interrupted})
      .bind(13, cols.samples)
      .bind(14, cols.failed_samples)
      .bind(15, rec.source)
      .bind(16, results_json);
  if (ins.step() != SQLITE_DONE) return db_error(db_, fmt::format("store run {}", rs.meta.run_id));
  const int64_t id = sqlite3_last_insert_rowid(db_);

  Stmt row(db_,
           "INSERT INTO metrics (run, env, workload, params, metric, unit, better, source, n, median, ci_low, "
           "ci_high) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  if (!row.prepared()) return db_error(db_, "prepare metric insert");
  const unsigned pause_ms = test_pause_ms();
  const size_t pause_at = summary.rows.size() / 2;
  bool paused = false;
  size_t index = 0;
  for (const auto& r : summary.rows) {
    if (pause_ms && !paused && index++ >= pause_at) {
      usleep(pause_ms * 1000);
      paused = true;
    }
    if (r.metric.empty()) continue;  // a failed group's placeholder row
    row.reset();
    row.bind(1, id)
        .bind(2, r.env)
        .bind(3, r.workload)
        .bind(4, r.params)
        .bind(5, r.metric)
        .bind(6, r.unit)
        .bind(7, std::string(to_string(r.better)))
        .bind(8, r.source)
        .bind(9, static_cast<int64_t>(r.stats.n))
        .bind(10, r.stats.median)
        .bind(11, r.stats.ci_low)
        .bind(12, r.stats.ci_high);
    if (row.step() != SQLITE_DONE) return db_error(db_, fmt::format("store metric {} {}", r.workload, r.metric));
  }
  if (pause_ms && !paused) usleep(pause_ms * 1000);
  if (auto s = tx.commit(); !s) return s.error();
  auto stored = find(std::to_string(id));
  if (!stored) return stored.error();
  return stored;
}

Result<std::vector<HistoryRun>> SqliteHistory::query_runs(const std::string& where,
                                                          const std::vector<std::string>& args,
                                                          const std::string& tail) const {
  const std::string sql = fmt::format("SELECT {} FROM runs {} {}", kRunColumns, where, tail);
  Stmt st(db_, sql.c_str());
  if (!st.prepared()) return db_error(db_, "query runs");
  for (size_t i = 0; i < args.size(); ++i) st.bind(static_cast<int>(i + 1), args[i]);
  std::vector<HistoryRun> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(read_run(st));
  if (rc != SQLITE_DONE) return db_error(db_, "query runs");
  return out;
}

Result<std::vector<HistoryRun>> SqliteHistory::list(const std::string& suite, size_t limit) const {
  const std::string tail = "ORDER BY id DESC" + (limit ? fmt::format(" LIMIT {}", limit) : std::string());
  if (suite.empty()) return query_runs("", {}, tail);
  return query_runs("WHERE suite = ?1", {suite}, tail);
}

Result<std::vector<HistoryRun>> SqliteHistory::series(const std::string& suite, const std::string& host, size_t limit,
                                                      const std::string& branch) const {
  const std::string tail = "ORDER BY id DESC" + (limit ? fmt::format(" LIMIT {}", limit) : std::string());
  auto r = branch.empty() ? query_runs("WHERE suite = ?1 AND host_fingerprint = ?2", {suite, host}, tail)
                          : query_runs("WHERE suite = ?1 AND host_fingerprint = ?2 AND git_branch = ?3",
                                       {suite, host, branch}, tail);
  if (r) std::reverse(r->begin(), r->end());
  return r;
}

Result<HistoryRun> SqliteHistory::find(const std::string& name) const {
  if (name.empty()) return make_error("an empty run name");
  const bool number = name.find_first_not_of("0123456789") == std::string::npos && name.size() < 19;
  // In order: a baseline, the newest run, a history id, a run id, a prefix.
  const std::vector<std::pair<std::string, std::string>> lookups = {
      {"WHERE id = (SELECT run FROM baselines WHERE name = ?1)", ""},
      {name == "latest" ? "" : "WHERE 0", "ORDER BY id DESC LIMIT 1"},
      {number ? "WHERE id = CAST(?1 AS INTEGER)" : "WHERE 0", ""},
      {"WHERE run_id = ?1", ""},
      {"WHERE substr(run_id, 1, length(?1)) = ?1", "ORDER BY id LIMIT 6"}};
  for (const auto& [where, tail] : lookups) {
    const bool uses_name = where.find("?1") != std::string::npos;
    auto r = query_runs(where, uses_name ? std::vector<std::string>{name} : std::vector<std::string>{}, tail);
    if (!r) return r.error();
    if (r->size() == 1) return r->front();
    if (r->size() > 1) {
      std::vector<std::string> ids;
      for (const auto& x : *r) ids.push_back(x.run_id);
      return make_error("`{}` is ambiguous in `{}`: it begins {}{}", name, path_, fmt::join(ids, ", "),
                        ids.size() > 5 ? ", ..." : "");
    }
  }
  Error e = make_error("no baseline or run `{}` in history store `{}`", name, path_);
  e.err = ENOENT;  // see HistoryStore::find
  return e;
}

Result<std::string> SqliteHistory::results_json(const HistoryRun& run) const {
  Stmt st(db_, "SELECT results_json FROM runs WHERE id = ?1");
  if (!st.prepared()) return db_error(db_, "read results");
  st.bind(1, run.id);
  if (st.step() != SQLITE_ROW) return make_error("run #{} is not in history store `{}`", run.id, path_);
  return st.text(0);
}

Result<std::vector<HistoryMetric>> SqliteHistory::metrics(const HistoryRun& run) const {
  Stmt st(db_,
          "SELECT env, workload, params, metric, unit, better, source, n, median, ci_low, ci_high FROM metrics "
          "WHERE run = ?1 ORDER BY env, workload, params, metric");
  if (!st.prepared()) return db_error(db_, "read metrics");
  st.bind(1, run.id);
  std::vector<HistoryMetric> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back(HistoryMetric{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5), st.text(6),
                                st.i64(7), st.real(8), st.real(9), st.real(10)});
  if (rc != SQLITE_DONE) return db_error(db_, "read metrics");
  return out;
}

Status SqliteHistory::set_baseline(const std::string& name, const HistoryRun& run) {
  if (auto s = check_baseline_name(name); !s) return s;
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) return s;
  Stmt st(db_, "INSERT OR REPLACE INTO baselines (name, run, set_at) VALUES (?1, ?2, ?3)");
  if (!st.prepared()) return db_error(db_, "prepare baseline");
  st.bind(1, name).bind(2, run.id).bind(3, utc_timestamp());
  if (st.step() != SQLITE_DONE) return db_error(db_, fmt::format("set baseline `{}`", name));
  return tx.commit();
}

Result<std::vector<std::pair<std::string, HistoryRun>>> SqliteHistory::baselines() const {
  Stmt st(db_, "SELECT name, run FROM baselines ORDER BY name");
  if (!st.prepared()) return db_error(db_, "read baselines");
  std::vector<std::pair<std::string, int64_t>> names;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) names.emplace_back(st.text(0), st.i64(1));
  if (rc != SQLITE_DONE) return db_error(db_, "read baselines");
  std::vector<std::pair<std::string, HistoryRun>> out;
  for (const auto& [name, id] : names) {
    auto r = query_runs("WHERE id = CAST(?1 AS INTEGER)", {std::to_string(id)}, "");
    if (!r) return r.error();
    if (!r->empty()) out.emplace_back(name, r->front());
  }
  return out;
}

}  // namespace vbench
