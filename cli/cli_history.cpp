#include "cli/cli_history.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

#include "analysis/compare.hpp"
#include "analysis/compare_envs.hpp"
#include "analysis/summary.hpp"
#include "core/escape.hpp"
#include "core/fs.hpp"
#include "core/units.hpp"
#include "drivers/kvm/host_command.hpp"
#include "reports/changes.hpp"
#include "reports/compare_formats.hpp"
#include "reports/reports.hpp"
#include "store/changes.hpp"
#include "store/compare_noise.hpp"
#include "store/history.hpp"

namespace vbench {
namespace {

// kExitNotRecorded: `history show` or `compare` asked for a run or baseline
// the store does not hold (or there is no store): "no baseline yet" to a CI
// job, which must not be confused with a store it cannot read (exit 2).
constexpr int kExitOk = 0, kExitRegression = 1, kExitUsage = 2, kExitNotRecorded = 3;

int fail(const std::string& msg) {
  fmt::print(stderr, "vbench: {}\n", terminal_safe(msg, true));
  return kExitUsage;
}

int fail(const Error& e) {
  fmt::print(stderr, "vbench: {}\n", e.message);
  return e.err == ENOENT ? kExitNotRecorded : kExitUsage;
}

}  // namespace

struct HistoryCli::Args {
  // Shared by run, compare and history.
  std::string db;
  // run --record / history add
  bool record = false;
  std::string commit, branch;
  // compare
  std::string base, current, markdown, junit, json, alpha, threshold, envs;
  size_t noise_runs = 0;
  std::string noise_branch, noise_z;
  bool force = false;
  // history
  std::string add_path, show_run, baseline_name, baseline_run, list_suite;
  size_t list_limit = 20;
  bool json_out = false;
  // history changes
  std::string changes_env, changes_workloads, changes_alpha, changes_min_change;
  size_t changes_since = 0;
  int changes_permutations = ChangePointOptions{}.permutations;
  bool changes_all_sources = false;
  // history export
  bool export_csv = false, export_wide = false;
  std::string export_out;

  CLI::App *compare = nullptr, *history = nullptr, *add = nullptr, *list = nullptr, *show = nullptr,
           *baseline = nullptr, *baseline_set = nullptr, *baseline_list = nullptr, *changes = nullptr,
           *export_ = nullptr;

  Result<std::string> db_path() const {
    if (!db.empty()) return db;
    return HistoryStore::default_path();
  }
};

namespace {

using Args = HistoryCli::Args;

// "git -C . rev-parse ..." in the current directory; empty when this is not
// a checkout (or git is missing, or refuses the directory's owner).
std::string git(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git", "-C", "."};
  argv.insert(argv.end(), args.begin(), args.end());
  auto out = run_capture(argv, 10, 1 << 16);
  if (!out) return {};
  std::string s = *out;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string env_first(std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (const char* v = getenv(n); v && *v) return v;
  return {};
}

// The code a run measured: --commit/--branch, else the checkout in the
// current directory, else what CI says (a detached checkout has no branch),
// else the commit vbench itself was built from.
HistoryRecord record_info(const Args& a, const ResultSet& rs, const std::string& source) {
  HistoryRecord r;
  r.source = source;
  r.git_commit = a.commit;
  r.git_branch = a.branch;
  if (r.git_commit.empty()) r.git_commit = git({"rev-parse", "HEAD"});
  if (r.git_commit.empty()) r.git_commit = env_first({"GITHUB_SHA", "CI_COMMIT_SHA"});
  if (r.git_commit.empty()) r.git_commit = rs.meta.git_commit;
  if (r.git_branch.empty()) {
    const std::string b = git({"rev-parse", "--abbrev-ref", "HEAD"});
    if (b != "HEAD") r.git_branch = b;
  }
  if (r.git_branch.empty())
    r.git_branch = env_first({"GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME"});
  return r;
}

Result<HistoryStore> open_store(const Args& a, HistoryStore::Mode mode) {
  auto path = a.db_path();
  if (!path) return path.error();
  return HistoryStore::open(*path, mode);
}

int store_run(const Args& a, const ResultSet& rs, const std::string& source) {
  auto store = open_store(a, HistoryStore::Mode::ReadWrite);
  if (!store) return fail(store.error().message);
  const RunSummary summary = summarize_run(rs, rs.meta.baseline_env, rs.meta.seed);
  const std::string text = dump_json(render_json(rs, summary), 1) + "\n";
  bool already = false;
  auto run = store->add(rs, text, record_info(a, rs, source), &already);
  if (!run) return fail(run.error().context(fmt::format("history store `{}`", store->path())).message);
  if (already) {
    fmt::print("run {} is already recorded as #{} in {} (commit {}): not added again\n", terminal_safe(run->run_id),
               run->id, terminal_safe(store->path()),
               terminal_safe(run->git_commit.empty() ? "unknown" : run->git_commit.substr(0, 12)));
    return kExitOk;
  }
  fmt::print("recorded run {} as #{} in {} (commit {}{})\n", terminal_safe(run->run_id), run->id,
             terminal_safe(store->path()),
             terminal_safe(run->git_commit.empty() ? "unknown" : run->git_commit.substr(0, 12)),
             run->git_branch.empty() ? "" : ", branch " + terminal_safe(run->git_branch));
  return kExitOk;
}

struct Loaded {
  ResultSet rs;
  std::string source;
  std::string branch;  // the git branch it was recorded with, when from the history store
};

// A results file (or a run directory holding one), else a name in the
// history store.
Result<Loaded> load_input(const Args& a, const std::string& what) {
  if (path_exists(what)) {
    std::string file = what;
    if (std::filesystem::is_directory(what)) {
      file = what + "/results.json";
      if (!path_exists(file)) file = what + "/results.jsonl";
      if (!path_exists(file)) return make_error("`{}`: a directory without results.json or results.jsonl", what);
    }
    auto rs = load_results(file);
    if (!rs) return rs.error();
    return Loaded{std::move(*rs), file, {}};
  }
  const bool looks_like_file =
      what.find('/') != std::string::npos || what.ends_with(".json") || what.ends_with(".jsonl");
  if (looks_like_file) return make_error("`{}`: no such file", what);
  auto path = a.db_path();
  if (!path) return path.error();
  if (!is_postgres_uri(*path) && !path_exists(*path))
    return Error{fmt::format("`{}`: no such file, and no history store at `{}` to look it up in", what, *path), ENOENT};
  auto store = HistoryStore::open(*path, HistoryStore::Mode::ReadOnly);
  if (!store) return store.error();
  auto run = store->find(what);
  if (!run) return Error{fmt::format("`{}`: no such file, and {}", what, run.error().message), run.error().err};
  auto rs = store->load(*run);
  if (!rs) return rs.error();
  return Loaded{std::move(*rs), fmt::format("history #{} {}", run->id, run->run_id), run->git_branch};
}

int cmd_compare(const Args& a) {
  CompareOptions opts;
  opts.force = a.force;
  if (!a.alpha.empty()) {
    auto v = parse_double(a.alpha);
    if (!v || !(*v > 0 && *v < 1)) return fail(fmt::format("--alpha {}: must be a number between 0 and 1", a.alpha));
    opts.alpha = *v;
  }
  if (!a.threshold.empty()) {
    auto v = parse_percent(a.threshold);
    if (!v) return fail(fmt::format("--threshold: {}", v.error().message));
    opts.threshold = *v;
  }
  Result<Comparison> cmp = make_error("nothing compared");
  if (a.noise_runs > 0 && !a.envs.empty()) return fail("--noise-from-history judges run against run, not --envs");
  if (!a.envs.empty()) {
    // A/B in one run: RUN --envs BASE_ENV,HEAD_ENV.
    const size_t comma = a.envs.find(',');
    if (comma == std::string::npos || a.envs.find(',', comma + 1) != std::string::npos)
      return fail(fmt::format("--envs {}: expected BASE_ENV,HEAD_ENV", a.envs));
    if (!a.current.empty()) return fail("with --envs, give one run (both environments are in it), not two");
    const std::string base_env = a.envs.substr(0, comma), head_env = a.envs.substr(comma + 1);
    auto run = load_input(a, a.base);
    if (!run) return fail(run.error().context("RUN"));
    auto pair = split_env_pair(run->rs, base_env, head_env);
    if (!pair) return fail(pair.error().context(run->source).message);
    cmp = compare_runs(pair->first, pair->second, opts);
    if (!cmp) return fail(cmp.error().message);
    cmp->base_source = fmt::format("{} env {}", run->source, base_env);
    cmp->current_source = fmt::format("{} env {}", run->source, head_env);
    cmp->warnings.insert(cmp->warnings.begin(), env_pair_note(run->rs, base_env, head_env));
  } else {
    if (a.current.empty()) return fail("compare: give BASE and CURRENT (or one run and --envs BASE_ENV,HEAD_ENV)");
    auto base = load_input(a, a.base);
    if (!base) return fail(base.error().context("BASE"));
    auto current = load_input(a, a.current);
    if (!current) return fail(current.error().context("CURRENT"));
    cmp = compare_runs(base->rs, current->rs, opts);
    if (!cmp) return fail(cmp.error().message);
    cmp->base_source = base->source;
    cmp->current_source = current->source;
    if (a.noise_runs > 0) {
      HistoryNoiseQuery q;
      q.runs = a.noise_runs;
      q.branch = a.noise_branch.empty() ? base->branch : a.noise_branch;
      if (q.branch.empty())
        return fail("--noise-from-history: BASE is not from the history store: say whose runs with --noise-branch");
      if (!a.noise_z.empty()) {
        auto z = parse_double(a.noise_z);
        if (!z || !(*z > 0)) return fail(fmt::format("--noise-z {}: must be a positive number", a.noise_z));
        q.z_min = *z;
      }
      // Not ENOENT's exit 3: a window asked for and no store to take it
      // from is a usage error, not "no baseline yet".
      auto store = open_store(a, HistoryStore::Mode::ReadOnly);
      if (!store) return fail(store.error().context("--noise-from-history").message);
      if (auto s = apply_history_noise(*cmp, *store, q); !s) return fail(s.error().message);
    }
  }

  std::cout << render_compare_table(*cmp, isatty(1) != 0) << std::flush;
  for (const auto& [path, text] : std::vector<std::pair<std::string, std::function<std::string()>>>{
           {a.markdown, [&] { return render_compare_markdown(*cmp); }},
           {a.junit, [&] { return render_compare_junit(*cmp); }},
           {a.json, [&] { return dump_json(render_compare_json(*cmp), 1) + "\n"; }}}) {
    if (path.empty()) continue;
    if (auto s = write_file_atomic(path, text()); !s) return fail(s.error().message);
    fmt::print("wrote {}\n", path);
  }
  return cmp->regressed() ? kExitRegression : kExitOk;
}

int cmd_history_add(const Args& a) {
  auto rs = load_results(a.add_path);
  if (!rs) return fail(rs.error().message);
  if (rs->meta.interrupted) fmt::print(stderr, "vbench: note: {} is an interrupted run\n", a.add_path);
  return store_run(a, *rs, a.add_path);
}

std::string short_commit(const std::string& c) { return c.substr(0, 12); }

int cmd_history_list(const Args& a) {
  auto store = open_store(a, HistoryStore::Mode::ReadOnly);
  if (!store) return fail(store.error().message);
  auto runs = store->list(a.list_suite, a.list_limit);
  if (!runs) return fail(runs.error().message);
  if (a.json_out) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : *runs)
      j.push_back({{"id", r.id},
                   {"run_id", r.run_id},
                   {"recorded_at", r.recorded_at},
                   {"started_at", r.started_at},
                   {"suite", r.suite},
                   {"host_fingerprint", r.host_fingerprint},
                   {"hostname", r.hostname},
                   {"git_commit", r.git_commit},
                   {"git_branch", r.git_branch},
                   {"samples", r.samples},
                   {"failed_samples", r.failed_samples},
                   {"interrupted", r.interrupted},
                   {"baselines", r.baselines}});
    std::cout << dump_json(j, 2) << "\n";
    return kExitOk;
  }
  fmt::print("{:>5}  {:<22}  {:<20}  {:<10}  {:<16}  {:<12}  {:<16}  {:>9}  {}\n", "#", "run", "started", "suite",
             "host", "commit", "branch", "samples", "baselines");
  for (const auto& r : *runs)
    fmt::print("{:>5}  {:<22}  {:<20}  {:<10}  {:<16}  {:<12}  {:<16}  {:>9}  {}\n", r.id, terminal_safe(r.run_id),
               terminal_safe(r.started_at), terminal_safe(r.suite), terminal_safe(r.hostname),
               terminal_safe(short_commit(r.git_commit)), terminal_safe(r.git_branch),
               r.failed_samples ? fmt::format("{} ({}!)", r.samples, r.failed_samples) : std::to_string(r.samples),
               fmt::join(r.baselines, ","));
  if (runs->empty()) fmt::print("(no runs recorded in {})\n", store->path());
  return kExitOk;
}

int cmd_history_show(const Args& a) {
  auto store = open_store(a, HistoryStore::Mode::ReadOnly);
  if (!store) return fail(store.error());
  auto run = store->find(a.show_run);
  if (!run) return fail(run.error());
  if (a.json_out) {
    auto text = store->results_json(*run);
    if (!text) return fail(text.error().message);
    std::cout << *text << std::flush;
    return kExitOk;
  }
  auto rs = store->load(*run);
  if (!rs) return fail(rs.error().message);
  fmt::print("run {} (#{})\n", terminal_safe(run->run_id), run->id);
  fmt::print("  suite {} on {} (fingerprint {})\n", terminal_safe(run->suite), terminal_safe(run->hostname),
             terminal_safe(run->host_fingerprint));
  fmt::print("  commit {} branch {}\n", terminal_safe(run->git_commit.empty() ? "unknown" : run->git_commit),
             terminal_safe(run->git_branch.empty() ? "unknown" : run->git_branch));
  fmt::print("  started {}, finished {}{}, recorded {} from {}\n", terminal_safe(run->started_at),
             terminal_safe(run->finished_at), run->interrupted ? " (interrupted)" : "", run->recorded_at,
             terminal_safe(run->source));
  fmt::print("  vbench {} ({}); {} samples, {} failed{}\n\n", terminal_safe(run->vbench_version),
             terminal_safe(run->vbench_commit), run->samples, run->failed_samples,
             run->baselines.empty() ? "" : fmt::format("; baseline {}", fmt::join(run->baselines, ", ")));
  const RunSummary summary = summarize_run(*rs, rs->meta.baseline_env, rs->meta.seed);
  std::cout << render_table(*rs, summary, isatty(1) != 0) << std::flush;
  return kExitOk;
}

int cmd_baseline_set(const Args& a) {
  if (auto s = check_baseline_name(a.baseline_name); !s) return fail(s.error().message);
  auto store = open_store(a, HistoryStore::Mode::ReadWrite);
  if (!store) return fail(store.error().message);
  auto run = store->find(a.baseline_run);
  if (!run) return fail(run.error().message);
  if (auto s = store->set_baseline(a.baseline_name, *run); !s) return fail(s.error().message);
  fmt::print("baseline {} -> run {} (#{}, commit {})\n", terminal_safe(a.baseline_name), terminal_safe(run->run_id),
             run->id, terminal_safe(run->git_commit.empty() ? "unknown" : short_commit(run->git_commit)));
  return kExitOk;
}

int cmd_baseline_list(const Args& a) {
  auto store = open_store(a, HistoryStore::Mode::ReadOnly);
  if (!store) return fail(store.error().message);
  auto bl = store->baselines();
  if (!bl) return fail(bl.error().message);
  for (const auto& [name, r] : *bl)
    fmt::print("{:<20}  #{:<5} {}  {}  {}\n", name, r.id, terminal_safe(r.run_id), terminal_safe(r.suite),
               terminal_safe(short_commit(r.git_commit)));
  if (bl->empty()) fmt::print("(no baselines in {})\n", store->path());
  return kExitOk;
}

int cmd_history_changes(const Args& a) {
  ChangeQuery q;
  q.branch = a.branch;
  q.env = a.changes_env;
  q.since = a.changes_since;
  q.all_sources = a.changes_all_sources;
  for (size_t pos = 0; !a.changes_workloads.empty() && pos <= a.changes_workloads.size();) {
    const size_t c = a.changes_workloads.find(',', pos);
    const std::string g = a.changes_workloads.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
    if (!g.empty()) q.globs.push_back(g);
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  if (!a.changes_alpha.empty()) {
    auto v = parse_double(a.changes_alpha);
    if (!v || !(*v > 0 && *v < 1))
      return fail(fmt::format("--alpha {}: must be a number between 0 and 1", a.changes_alpha));
    q.options.alpha = *v;
  }
  if (a.changes_permutations < 19 || a.changes_permutations > 100000)
    return fail(fmt::format("--permutations {}: must be between 19 and 100000", a.changes_permutations));
  q.options.permutations = a.changes_permutations;
  if (1.0 / (q.options.permutations + 1) > q.options.alpha)
    return fail(fmt::format("--permutations {} cannot reach p <= {}: use at least {}", q.options.permutations,
                            q.options.alpha, static_cast<int>(std::ceil(1 / q.options.alpha)) - 1));
  if (!a.changes_min_change.empty()) {
    auto v = parse_percent(a.changes_min_change);
    if (!v) return fail(fmt::format("--min-change: {}", v.error().message));
    q.options.min_change = *v;
  }
  // No store yet: exit 3, as `history show` (a CI job's first run).
  auto store = open_store(a, HistoryStore::Mode::ReadOnly);
  if (!store) return fail(store.error());
  auto series = history_changes(*store, q);
  if (!series) return fail(series.error().context(fmt::format("history store `{}`", store->path())).message);
  if (a.json_out)
    std::cout << dump_json(changes_to_json(*series, q), 2) << "\n";
  else
    std::cout << render_changes_text(*series, q);
  std::cout << std::flush;
  return kExitOk;
}

// `history export --csv`: one row per run x series (tidy: what pandas'
// read_csv, R's read.csv and a GROUP BY want), or with --wide one row per
// run and one column per series (what Otava's CSV importer reads: a time
// column, attribute columns, a column per metric).
int cmd_history_export(const Args& a) {
  if (!a.export_csv) return fail("history export: give --csv (the only format so far)");
  auto store = open_store(a, HistoryStore::Mode::ReadOnly);
  if (!store) return fail(store.error().message);
  auto runs = store->list("", 0);
  if (!runs) return fail(runs.error().message);
  std::reverse(runs->begin(), runs->end());
  struct Row {
    HistoryRun run;
    std::vector<HistoryMetric> metrics;
  };
  std::vector<Row> rows;
  for (const auto& r : *runs) {
    if (!a.branch.empty() && r.git_branch != a.branch) continue;
    auto m = store->metrics(r);
    if (!m) return fail(m.error().message);
    rows.push_back(Row{r, std::move(*m)});
  }
  std::string out;
  if (!a.export_wide) {
    out =
        "history_id,run_id,started_at,recorded_at,git_commit,git_branch,suite,host_fingerprint,hostname,env,workload,"
        "params,metric,unit,better,source,n,median,ci_low,ci_high\n";
    for (const auto& row : rows)
      for (const auto& m : row.metrics)
        out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", row.run.id,
                           csv_field(row.run.run_id), csv_field(row.run.started_at), csv_field(row.run.recorded_at),
                           csv_field(row.run.git_commit), csv_field(row.run.git_branch), csv_field(row.run.suite),
                           csv_field(row.run.host_fingerprint), csv_field(row.run.hostname), csv_field(m.env),
                           csv_field(m.workload), csv_field(m.params), csv_field(m.metric), csv_field(m.unit),
                           csv_field(m.better), csv_field(m.source), m.n, csv_number(m.median), csv_number(m.ci_low),
                           csv_number(m.ci_high));
  } else {
    // Columns: every series seen, named "env workload (params) metric", in
    // first-seen order; a run without a value leaves its cell empty.
    std::vector<std::string> columns;
    std::map<std::string, size_t> index;
    for (const auto& row : rows)
      for (const auto& m : row.metrics) {
        const std::string name =
            fmt::format("{} {}{} {}", m.env, m.workload, m.params.empty() ? "" : " (" + m.params + ")", m.metric);
        if (index.try_emplace(name, columns.size()).second) columns.push_back(name);
      }
    out = "time,history_id,run_id,git_commit,git_branch,hostname";
    for (const auto& c : columns) out += "," + csv_field(c);
    out += "\n";
    for (const auto& row : rows) {
      std::vector<std::string> cells(columns.size());
      for (const auto& m : row.metrics)
        cells[index.at(fmt::format("{} {}{} {}", m.env, m.workload, m.params.empty() ? "" : " (" + m.params + ")",
                                   m.metric))] = csv_number(m.median);
      out += fmt::format("{},{},{},{},{},{}", csv_field(row.run.started_at), row.run.id, csv_field(row.run.run_id),
                         csv_field(row.run.git_commit), csv_field(row.run.git_branch), csv_field(row.run.hostname));
      for (const auto& c : cells) out += "," + c;
      out += "\n";
    }
  }
  if (a.export_out.empty() || a.export_out == "-") {
    std::cout << out << std::flush;
    return kExitOk;
  }
  if (auto s = write_file_atomic(a.export_out, out); !s) return fail(s.error().message);
  fmt::print("wrote {} ({} runs)\n", a.export_out, rows.size());
  return kExitOk;
}

}  // namespace

HistoryCli::HistoryCli(CLI::App& app, CLI::App* run) : a_(std::make_unique<Args>()) {
  Args& a = *a_;
  const std::string db_help =
      "history store: an SQLite file (default ~/.local/share/vbench/history.db) or a postgresql:// URI";
  run->add_flag("--record", a.record, "store the finished run in the history store");
  run->add_option("--db", a.db, db_help);
  run->add_option("--commit", a.commit, "with --record: git commit measured (default: the checkout here)");
  run->add_option("--branch", a.branch, "with --record: git branch measured (default: the checkout here)");

  a.compare = app.add_subcommand(
      "compare",
      "judge CURRENT against BASE: regressed / improved / unchanged / noisy per metric; exit 1 on a regression");
  a.compare
      ->add_option("BASE", a.base,
                   "results file or run directory, or a baseline name, run id or `latest` in "
                   "the history store")
      ->required();
  a.compare->add_option("CURRENT", a.current, "the same kinds as BASE (not with --envs)");
  a.compare->add_option("--envs", a.envs,
                        "BASE_ENV,HEAD_ENV: judge one environment of the run BASE against another of the same run "
                        "(A/B in one interleaved run, e.g. two builds' agents)");
  a.compare->add_option("--markdown", a.markdown, "also write a Markdown summary (for a PR comment)");
  a.compare->add_option("--junit", a.junit, "also write JUnit XML: one test case per metric, regressions fail");
  a.compare->add_option("--json", a.json, "also write the comparison as JSON");
  a.compare->add_option("--alpha", a.alpha, "family-wise significance level, Holm-corrected (default 0.05)");
  a.compare->add_option("--threshold", a.threshold,
                        "smallest change of a median that counts, in percent: 5 or 5% (default 5%; per-metric "
                        "values in the suite's [compare.thresholds] win)");
  a.compare->add_flag("--force", a.force, "compare runs from different hosts or suites");
  a.compare->add_option("--noise-from-history", a.noise_runs,
                        "N: a change counts only when also beyond the run-to-run spread of the last N recorded "
                        "runs of the baseline's branch (|z| >= 3 against their run medians)");
  a.compare->add_option("--noise-branch", a.noise_branch,
                        "with --noise-from-history: whose runs (default: the branch BASE was recorded on)");
  a.compare->add_option("--noise-z", a.noise_z, "with --noise-from-history: the |z| a change must reach (default 3)");
  a.compare->add_option("--db", a.db, db_help);

  a.history = app.add_subcommand("history", "the history store of recorded runs");
  a.history->require_subcommand(1);
  a.history->add_option("--db", a.db, db_help);
  a.add = a.history->add_subcommand("add", "store a results file (json or jsonl) as a run");
  a.add->add_option("RESULTS", a.add_path, "results.json or results.jsonl")->required();
  a.add->add_option("--commit", a.commit, "git commit measured (default: the checkout here)");
  a.add->add_option("--branch", a.branch, "git branch measured (default: the checkout here)");
  a.add->add_option("--db", a.db, db_help);
  a.list = a.history->add_subcommand("list", "recorded runs, newest first");
  a.list->add_option("--suite", a.list_suite, "only runs of this suite");
  a.list->add_option("--limit", a.list_limit, "at most this many (0: all)")->capture_default_str();
  a.list->add_flag("--json", a.json_out, "machine-readable");
  a.list->add_option("--db", a.db, db_help);
  a.show = a.history->add_subcommand("show", "one recorded run: its metadata and results table");
  a.show->add_option("RUN", a.show_run, "a baseline name, run id (or prefix), #id or `latest`")->required();
  a.show->add_flag("--json", a.json_out, "print the stored results.json instead");
  a.show->add_option("--db", a.db, db_help);
  a.baseline = a.history->add_subcommand("baseline", "named baselines (e.g. main) pointing at runs");
  a.baseline->require_subcommand(1);
  a.baseline_set = a.baseline->add_subcommand("set", "point NAME at RUN");
  a.baseline_set->add_option("NAME", a.baseline_name, "e.g. main, release/1.2")->required();
  a.baseline_set->add_option("RUN", a.baseline_run, "a run id (or prefix), #id, `latest` or another baseline")
      ->required();
  a.baseline_set->add_option("--db", a.db, db_help);
  a.baseline_list = a.baseline->add_subcommand("list", "the baselines and their runs");
  a.baseline_list->add_option("--db", a.db, db_help);
  a.changes = a.history->add_subcommand(
      "changes",
      "change points over the recorded runs of every series (host x env x workload x params x metric): "
      "E-divisive means with a seeded permutation test");
  a.changes->add_option("--branch", a.branch, "only runs recorded on this git branch");
  a.changes->add_option("--env", a.changes_env, "only this environment");
  a.changes->add_option("--workloads", a.changes_workloads, "only workloads matching these globs (comma-separated)");
  a.changes->add_option("--since", a.changes_since,
                        "report only change points among each series' newest N runs (the whole series is "
                        "still analysed)");
  a.changes->add_option("--alpha", a.changes_alpha, "significance level of the permutation test (default 0.01)");
  a.changes->add_option("--permutations", a.changes_permutations, "permutations per test")->capture_default_str();
  a.changes->add_option("--min-change", a.changes_min_change,
                        "report only changes of the median at least this large, in percent (default 0)");
  a.changes->add_flag("--all-sources", a.changes_all_sources, "also counters and environment statistics");
  a.changes->add_flag("--json", a.json_out, "machine-readable");
  a.changes->add_option("--db", a.db, db_help);
  a.export_ = a.history->add_subcommand("export", "the recorded series as CSV, oldest run first");
  a.export_->add_flag("--csv", a.export_csv, "CSV, one row per run x series (tidy)");
  a.export_->add_flag("--wide", a.export_wide, "one row per run, one column per series (Otava's CSV layout)");
  a.export_->add_option("--branch", a.branch, "only runs recorded on this git branch");
  a.export_->add_option("-o,--output", a.export_out, "write here (default: standard output)");
  a.export_->add_option("--db", a.db, db_help);
}

HistoryCli::~HistoryCli() = default;

std::optional<int> HistoryCli::dispatch() const {
  const Args& a = *a_;
  if (*a.compare) return cmd_compare(a);
  if (!*a.history) return std::nullopt;
  if (*a.add) return cmd_history_add(a);
  if (*a.list) return cmd_history_list(a);
  if (*a.show) return cmd_history_show(a);
  if (*a.baseline_set) return cmd_baseline_set(a);
  if (*a.baseline_list) return cmd_baseline_list(a);
  if (*a.changes) return cmd_history_changes(a);
  if (*a.export_) return cmd_history_export(a);
  return kExitUsage;
}

bool HistoryCli::recording() const { return a_->record; }

int HistoryCli::record(const ResultSet& rs) const {
  if (rs.meta.interrupted) {
    fmt::print(stderr, "vbench: the run was interrupted: not recorded in the history store\n");
    return kExitOk;
  }
  return store_run(*a_, rs, "vbench run " + rs.meta.run_id);
}

}  // namespace vbench
