#include "cli/cli_history.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>

#include "analysis/compare.hpp"
#include "analysis/summary.hpp"
#include "core/escape.hpp"
#include "core/fs.hpp"
#include "core/units.hpp"
#include "drivers/kvm/host_command.hpp"
#include "reports/compare_formats.hpp"
#include "reports/reports.hpp"
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
  std::string base, current, markdown, junit, json, alpha, threshold;
  bool force = false;
  // history
  std::string add_path, show_run, baseline_name, baseline_run, list_suite;
  size_t list_limit = 20;
  bool json_out = false;

  CLI::App *compare = nullptr, *history = nullptr, *add = nullptr, *list = nullptr, *show = nullptr,
           *baseline = nullptr, *baseline_set = nullptr, *baseline_list = nullptr;

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
  auto run = store->add(rs, text, record_info(a, rs, source));
  if (!run) return fail(run.error().context(fmt::format("history store `{}`", store->path())).message);
  fmt::print("recorded run {} as #{} in {} (commit {}{})\n", terminal_safe(run->run_id), run->id,
             terminal_safe(store->path()),
             terminal_safe(run->git_commit.empty() ? "unknown" : run->git_commit.substr(0, 12)),
             run->git_branch.empty() ? "" : ", branch " + terminal_safe(run->git_branch));
  return kExitOk;
}

struct Loaded {
  ResultSet rs;
  std::string source;
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
    return Loaded{std::move(*rs), file};
  }
  const bool looks_like_file =
      what.find('/') != std::string::npos || what.ends_with(".json") || what.ends_with(".jsonl");
  if (looks_like_file) return make_error("`{}`: no such file", what);
  auto path = a.db_path();
  if (!path) return path.error();
  if (!path_exists(*path))
    return Error{fmt::format("`{}`: no such file, and no history store at `{}` to look it up in", what, *path), ENOENT};
  auto store = HistoryStore::open(*path, HistoryStore::Mode::ReadOnly);
  if (!store) return store.error();
  auto run = store->find(what);
  if (!run) return Error{fmt::format("`{}`: no such file, and {}", what, run.error().message), run.error().err};
  auto rs = store->load(*run);
  if (!rs) return rs.error();
  return Loaded{std::move(*rs), fmt::format("history #{} {}", run->id, run->run_id)};
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
  auto base = load_input(a, a.base);
  if (!base) return fail(base.error().context("BASE"));
  auto current = load_input(a, a.current);
  if (!current) return fail(current.error().context("CURRENT"));
  auto cmp = compare_runs(base->rs, current->rs, opts);
  if (!cmp) return fail(cmp.error().message);
  cmp->base_source = base->source;
  cmp->current_source = current->source;

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

}  // namespace

HistoryCli::HistoryCli(CLI::App& app, CLI::App* run) : a_(std::make_unique<Args>()) {
  Args& a = *a_;
  const std::string db_help = "history store (default ~/.local/share/vbench/history.db)";
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
  a.compare->add_option("CURRENT", a.current, "the same kinds as BASE")->required();
  a.compare->add_option("--markdown", a.markdown, "also write a Markdown summary (for a PR comment)");
  a.compare->add_option("--junit", a.junit, "also write JUnit XML: one test case per metric, regressions fail");
  a.compare->add_option("--json", a.json, "also write the comparison as JSON");
  a.compare->add_option("--alpha", a.alpha, "family-wise significance level, Holm-corrected (default 0.05)");
  a.compare->add_option("--threshold", a.threshold,
                        "smallest change of a median that counts, in percent: 5 or 5% (default 5%; per-metric "
                        "values in the suite's [compare.thresholds] win)");
  a.compare->add_flag("--force", a.force, "compare runs from different hosts or suites");
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
