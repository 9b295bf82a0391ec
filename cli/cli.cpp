#include "cli/cli.hpp"

#include <fmt/format.h>
#include <fnmatch.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>

#include "analysis/summary.hpp"
#include "cli/cli_fleet.hpp"
#include "cli/cli_history.hpp"
#include "core/clock.hpp"
#include "core/escape.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/resolve.hpp"
#include "core/runstate.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "counters/counters.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/driver.hpp"
#include "drivers/placement.hpp"
#include "harness/scheduler.hpp"
#include "harness/suite.hpp"
#include "model/hostinfo.hpp"
#include "reports/format.hpp"
#include "reports/reports.hpp"
#include "reports/trend_svg.hpp"
#include "store/history.hpp"
#include "store/trend.hpp"
#include "workloads/net_peer.hpp"
#include "workloads/registry.hpp"

namespace vbench {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

void on_signal(int sig) {
  g_signal.store(sig);
  g_stop.store(true);
}

constexpr int kExitOk = 0, kExitFailures = 1, kExitUsage = 2;

int usage_error(const std::string& msg) {
  // Messages quote results files, suite files, agents and guests.
  fmt::print(stderr, "vbench: {}\n", terminal_safe(msg, true));
  return kExitUsage;
}

std::string default_agent_path() {
  if (const char* env = getenv("VBENCH_AGENT"); env && *env) return env;
  std::string self = self_exe();
  return self.substr(0, self.rfind('/') + 1) + "vbench-agent";
}

std::vector<std::string> split_list(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in) {
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t c = s.find(',', pos);
      std::string part = s.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
      if (!part.empty()) out.push_back(part);
      if (c == std::string::npos) break;
      pos = c + 1;
    }
  }
  return out;
}

// Normalizes an environment's knobs with its driver's ParamSpecs: errors
// name where the knob was written (file:line:col or the --env-set argument).
Result<std::map<std::string, nlohmann::json>> normalize_knobs(const SuiteEnv& env, const Driver& d) {
  KnobValues given = env.knobs;
  given.erase("kind");
  // `agent`: every kind of environment runs a vbench-agent, so every kind
  // may name its own (an A/B run of two builds: base and head as two
  // environments of one interleaved run). The scheduler hands it to the
  // driver as EnvSpec.agent_path; the driver never sees the knob.
  std::optional<std::string> agent;
  if (auto it = given.find(kAgentKnob); it != given.end()) {
    if (!it->second.is_string() || it->second.get<std::string>().empty())
      return make_error("environment `{}`: knob `agent` must be the path of a vbench-agent binary", env.name);
    agent = it->second.get<std::string>();
    if (access(agent->c_str(), X_OK) != 0)
      return make_error("environment `{}`: agent `{}` not found or not executable", env.name, *agent);
    given.erase(it);
  }
  auto out = resolve_knobs(env.kind, d.knobs(), given, [&](const std::string& knob) {
    auto w = env.knob_where.find(knob);
    return fmt::format("{}environment `{}`", w != env.knob_where.end() ? w->second + ": " : std::string(), env.name);
  });
  if (out && agent) (*out)[kAgentKnob] = *agent;
  return out;
}

// The environments `vbench run` compares when neither --env nor the suite
// names any: bare, and every other driver of vbench's own isolation layers
// available here that is not an emulation (kvm only with hardware KVM).
std::vector<std::string> default_env_kinds() {
  std::vector<std::string> kinds = {"bare"};
  for (const auto& d : all_drivers()) {
    if (d->name() == "bare" || !d->compared_by_default()) continue;
    const Availability a = d->probe();
    if (a.available && !a.emulated) kinds.push_back(d->name());
  }
  return kinds;
}

// With --budget and no --max-repetitions: the cap on a cell's repetitions.
constexpr int kBudgetMaxRepetitions = 1000;

struct RunArgs {
  std::string suite = "quick";
  std::vector<std::string> envs, workloads, sets, env_sets, counters;
  int repetitions = 0, max_repetitions = 0, warmup = -1;
  std::string out, scratch, agent, placement, budget;
  uint64_t seed = 0;
  bool has_seed = false;
  bool no_cleanup = false;
};

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed terminal or a CI runner's cancel: stop in order like SIGTERM.
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void cleanup_dead_runs(bool verbose) {
  const auto dead = dead_runs();
  for (const auto& d : all_drivers())
    if (auto s = d->cleanup_stale(); !s)
      fmt::print(stderr, "vbench: cleanup ({}): {}\n", d->name(), terminal_safe(s.error().message, true));
  for (const auto& id : dead) {
    // Scratch directories that vbench made itself are recorded by path.
    auto scratch = read_line(run_state_dir(id) + "/scratch");
    if (scratch && !scratch->empty()) (void)remove_tree(*scratch);
    unregister_run(id);
    if (verbose) fmt::print("removed leftovers of dead run {}\n", terminal_safe(id));
  }
}

int cmd_run(const RunArgs& a, const std::string& command_line, const HistoryCli& history) {
  // Where the run will write, checked before anything else is looked at.
  if (!a.out.empty())
    if (auto s = check_output_dir(a.out); !s) return usage_error(s.error().context("--out").message);
  if (!a.scratch.empty())
    if (auto s = refuse_system_dir(a.scratch); !s) return usage_error(s.error().context("--scratch").message);
  auto suite_r = load_suite(a.suite);
  if (!suite_r) return usage_error(suite_r.error().message);
  Suite suite = std::move(*suite_r);
  for (const auto& s : a.sets)
    if (auto st = apply_set(suite, s); !st) return usage_error(fmt::format("--set {}: {}", s, st.error().message));
  // --env picks environments: those the suite defines by that name, else one
  // of that kind with default knobs.
  const auto env_names = split_list(a.envs);
  if (!env_names.empty()) {
    std::vector<SuiteEnv> chosen;
    for (const auto& n : env_names) {
      if (!suite.env(n))
        if (auto st = add_env(suite, n); !st) return usage_error(fmt::format("--env {}: {}", n, st.error().message));
      chosen.push_back(*suite.env(n));
    }
    suite.envs = chosen;
  } else if (suite.envs_by_default) {
    // The suite names no environment: compare every one that measures
    // something real here (an emulated guest only when asked for by name).
    for (const auto& kind : default_env_kinds())
      if (auto st = add_env(suite, kind); !st) return usage_error(st.error().message);
  }
  for (const auto& s : a.env_sets)
    if (auto st = apply_env_set(suite, s); !st)
      return usage_error(fmt::format("--env-set {}: {}", s, st.error().message));
  if (suite.envs.empty()) return usage_error("no environments to run (suite has none; use --env)");
  const auto globs = split_list(a.workloads);
  if (!globs.empty()) {
    std::vector<SuiteWorkload> kept;
    for (const auto& w : suite.workloads)
      for (const auto& g : globs)
        if (fnmatch(g.c_str(), w.name.c_str(), 0) == 0) {
          kept.push_back(w);
          break;
        }
    if (kept.empty())
      return usage_error(
          fmt::format("--workloads {}: matches no workload of suite `{}`", fmt::join(globs, ","), suite.name));
    suite.workloads = kept;
  }
  if (a.repetitions > 0) suite.repetitions = suite.max_repetitions = a.repetitions;
  if (a.max_repetitions > 0) suite.max_repetitions = std::max(a.max_repetitions, suite.repetitions);
  if (a.warmup >= 0) suite.warmup = a.warmup;
  if (a.has_seed) suite.seed = a.seed;
  if (!a.placement.empty()) {
    auto p = choose(kPlacements, "--placement", std::string_view(a.placement));
    if (!p) return usage_error(p.error().message);
    suite.placement = *p;
  }
  if (!a.counters.empty()) {
    suite.counters.clear();
    for (const auto& n : split_list(a.counters))
      if (n != "none") suite.counters.push_back(n);
    if (auto st = validate_counter_names(suite.counters); !st)
      return usage_error(fmt::format("--counters: {}", st.error().message));
  }

  RunConfig cfg;
  for (const auto& e : suite.envs) {
    Driver* d = find_driver(e.kind);
    if (!d) return usage_error(fmt::format("environment `{}`: no driver for kind `{}`", e.name, e.kind));
    auto knobs = normalize_knobs(e, *d);
    if (!knobs) return usage_error(knobs.error().message);
    cfg.envs.push_back(PlannedEnv{e.name, e.kind, *knobs});
  }
  for (const auto& w : suite.workloads)
    for (const auto& p : w.param_sets) cfg.workloads.push_back(PlannedWorkload{w.name, p.json()});
  cfg.repetitions = std::max(1, suite.repetitions);
  cfg.max_repetitions = std::max(cfg.repetitions, suite.max_repetitions);
  cfg.warmup = std::max(0, suite.warmup);
  cfg.ci_target = suite.ci_target;
  if (!a.budget.empty()) {
    auto b = parse_duration_s(a.budget);
    if (!b || !(*b > 0))
      return usage_error(fmt::format("--budget {}: expected a duration such as 10m or 90s", a.budget));
    cfg.budget_s = *b;
    // Repetitions past the minimum are the budget's to give, up to
    // --max-repetitions when given.
    if (a.max_repetitions <= 0) cfg.max_repetitions = std::max(cfg.repetitions, kBudgetMaxRepetitions);
  }
  cfg.timeout_s = suite.timeout_s;
  cfg.seed =
      suite.seed ? *suite.seed : std::random_device{}() * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(now_ns());
  cfg.counters = expand_counter_names(suite.counters);
  cfg.placement = suite.placement;
  cfg.agent_path = a.agent.empty() ? default_agent_path() : a.agent;
  if (access(cfg.agent_path.c_str(), X_OK) != 0)
    return usage_error(fmt::format("agent `{}` not found or not executable (build it, or set --agent / VBENCH_AGENT)",
                                   cfg.agent_path));
  cfg.run_id = make_run_id();
  cfg.out_dir = a.out.empty() ? fmt::format("results/{}", utc_compact_timestamp()) : a.out;
  struct stat log_st;
  if (::lstat((cfg.out_dir + "/results.jsonl").c_str(), &log_st) == 0)
    return usage_error(fmt::format("--out {}: already holds results.jsonl; choose a new directory", cfg.out_dir));
  if (auto s = mkdir_p(cfg.out_dir); !s) return usage_error(s.error().context("--out").message);

  if (!a.no_cleanup) cleanup_dead_runs(false);
  install_signal_handlers();
  AgentChannel::set_interrupt_flag(&g_stop);
  if (auto s = register_run(cfg.run_id); !s)
    return usage_error(s.error().context("record run state (vbench needs root for environments)").message);

  // Scratch: a fresh directory, removed at the end; under --scratch DIR when given.
  const std::string scratch_parent = a.scratch.empty() ? "/var/tmp" : a.scratch;
  struct stat st;
  if (stat(scratch_parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    unregister_run(cfg.run_id);
    return usage_error(fmt::format("--scratch {}: not a directory", scratch_parent));
  }
  cfg.scratch_dir = fmt::format("{}/vbench-{}", scratch_parent, cfg.run_id);
  if (auto s = mkdir_p(cfg.scratch_dir, 0755); !s) {
    unregister_run(cfg.run_id);
    return usage_error(s.error().context("scratch").message);
  }
  (void)write_file(run_state_dir(cfg.run_id) + "/scratch", cfg.scratch_dir + "\n");

  RunMeta meta;
  meta.run_id = cfg.run_id;
  meta.vbench_version = kVersion;
  meta.git_commit = kGitCommit;
  meta.started_at = utc_timestamp();
  meta.seed = cfg.seed;
  meta.baseline_env = suite.baseline;
  meta.host = collect_host_info().to_json();
  meta.suite = to_json(suite);
  meta.command_line = command_line;

  int rc = kExitOk;
  {
    auto log = ResultsLog::open(cfg.out_dir + "/results.jsonl");
    if (!log) {
      (void)remove_tree(cfg.scratch_dir);
      unregister_run(cfg.run_id);
      return usage_error(log.error().message);
    }
    if (auto s = log->write_meta(meta); !s) {
      (void)remove_tree(cfg.scratch_dir);
      unregister_run(cfg.run_id);
      return usage_error(s.error().message);
    }
    Progress progress(stderr);
    progress.message(fmt::format("vbench {}: suite {} ({} workload sets × {} envs), seed {}, results in {}", kVersion,
                                 suite.name, cfg.workloads.size(), cfg.envs.size(), cfg.seed, cfg.out_dir));
    ResultSet rs = execute_run(cfg, meta, *log, progress, g_stop);
    rs.meta.finished_at = utc_timestamp();
    (void)log->write_end(rs.meta);
    RunSummary summary = summarize_run(rs, rs.meta.baseline_env, rs.meta.seed);
    // Tests stop here to signal vbench while it writes its reports.
    if (const char* p = getenv("VBENCH_TEST_REPORT_PAUSE_MS"); p && !g_stop.load())
      for (long ms = std::atol(p); ms > 0 && !g_stop.load(); ms -= 10) usleep(10000);
    bool write_failed = log->write_failed();
    if (auto s = write_result_files(cfg.out_dir, rs, summary); !s) {
      fmt::print(stderr, "vbench: writing results: {}\n", terminal_safe(s.error().message, true));
      write_failed = true;
    }
    std::cout << render_table(rs, summary, isatty(1) != 0) << std::flush;
    fmt::print(
        "results: {0}/results.json, {0}/results.csv, {0}/results.jsonl; report: {0}/report.html, {0}/report.md\n",
        cfg.out_dir);
    bool failures = false;
    for (const auto& s : rs.samples) failures |= !s.ok;
    for (const auto& e : rs.envs) failures |= !e.started;
    // A signal while the reports were written: they are finished (every
    // sample is in them), then the exit code still says it came.
    if (rs.meta.interrupted || g_stop.load())
      rc = 128 + (g_signal.load() ? g_signal.load() : SIGINT);
    else if (failures || write_failed)
      rc = kExitFailures;
    if (write_failed) fmt::print(stderr, "vbench: some results could not be written (see above)\n");
    if (history.recording() && !g_stop.load())
      if (const int hr = history.record(rs); hr != kExitOk && rc == kExitOk) rc = hr;
  }
  (void)remove_tree(cfg.scratch_dir);
  unregister_run(cfg.run_id);
  return rc;
}

// Which perf events this host can count, one per line, with libpfm4's
// encoding: `vbench list --counters [EVENTS]` and a section of `doctor`.
void print_counter_support(const std::vector<std::string>& names, bool color) {
  for (const auto& c : counter_support(expand_counter_names(names))) {
    const bool ok = c.status == "ok";
    const std::string mark = ok ? (color ? "\033[32mok\033[0m" : "ok") : (color ? "\033[33m--\033[0m" : "--");
    fmt::print("  {} {:<24} {}{}\n", mark, c.name, ok ? c.encoding : c.status, c.reason.empty() ? "" : ": " + c.reason);
  }
}

nlohmann::json counter_support_json(const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : counter_support(expand_counter_names(names)))
    out.push_back({{"name", c.name}, {"status", c.status}, {"reason", c.reason}, {"encoding", c.encoding}});
  return out;
}

// `vbench list` shows the range a value must lie in, or the values it may
// take, from the same table that normalize_param checks.
std::string range_suffix(const ParamSpec& p) {
  if (!p.choices.empty()) return fmt::format(" [{}]", fmt::join(p.choices, "|"));
  const std::string r = p.range_text();
  return r.empty() ? std::string() : fmt::format(" [{}]", r);
}

nlohmann::json param_spec_json(const ParamSpec& p) {
  nlohmann::json j = {{"name", p.name}, {"type", to_string(p.type)}, {"default", p.default_value}, {"help", p.help}};
  if (!p.choices.empty()) j["choices"] = p.choices;
  if (const std::string r = p.range_text(); !r.empty()) j["range"] = r;
  return j;
}

int cmd_list(bool json, const std::vector<std::string>* counters) {
  if (counters) {
    // Default set unless events were named; unknown names are reported, not fatal.
    std::vector<std::string> names;
    for (const auto& n : *counters)
      if (!n.empty()) names.push_back(n);  // a bare --counters arrives as one empty value
    if (names.empty()) names = {"default"};
    if (json)
      std::cout << dump_json(nlohmann::json{{"counters", counter_support_json(names)}}, 2) << "\n";
    else
      print_counter_support(names, isatty(1) != 0);
    return kExitOk;
  }
  if (json) {
    nlohmann::json j;
    auto& ws = j["workloads"] = nlohmann::json::array();
    for (const auto& w : all_workloads()) {
      nlohmann::json ps = nlohmann::json::array();
      for (const auto& p : w.params) ps.push_back(param_spec_json(p));
      ws.push_back({{"name", w.name}, {"description", w.description}, {"params", ps}});
    }
    auto& es = j["environments"] = nlohmann::json::array();
    for (const auto& d : all_drivers()) {
      auto a = d->probe();
      nlohmann::json ks = nlohmann::json::array();
      for (const auto& k : d->knobs()) ks.push_back(param_spec_json(k));
      es.push_back({{"name", d->name()}, {"available", a.available}, {"reason", a.reason}, {"knobs", ks}});
    }
    std::cout << dump_json(j, 2) << "\n";
    return kExitOk;
  }
  fmt::print("Workloads\n");
  for (const auto& w : all_workloads()) {
    fmt::print("  {:<16} {}\n", w.name, w.description);
    for (const auto& p : w.params)
      fmt::print("      {:<12} {:<8} default {:<10} {}{}\n", p.name, to_string(p.type), p.default_value, p.help,
                 range_suffix(p));
  }
  fmt::print("\nEnvironments\n");
  for (const auto& d : all_drivers()) {
    auto a = d->probe();
    fmt::print("  {:<10} {:<12} {}\n", d->name(), a.available ? "available" : "UNAVAILABLE", a.reason);
    for (const auto& k : d->knobs())
      fmt::print("      {:<12} {:<8} default {:<10} {}{}\n", k.name, to_string(k.type),
                 k.default_value.empty() ? "\"\"" : k.default_value, k.help, range_suffix(k));
  }
  fmt::print("\nSuites: {}\n", fmt::join(builtin_suite_names(), ", "));
  return kExitOk;
}

int cmd_doctor(bool json) {
  HostInfo h = collect_host_info();
  if (json) {
    nlohmann::json j = h.to_json();
    for (const auto& d : all_drivers()) {
      auto a = d->probe();
      j["environments"].push_back({{"name", d->name()}, {"available", a.available}, {"reason", a.reason}});
    }
    j["counters"] = counter_support_json({"default"});
    j["placement"] = describe_placement(Placement::Spread, host_cpu_count());
    std::cout << dump_json(j, 2) << "\n";
    return kExitOk;
  }
  const bool color = isatty(1) != 0;
  auto mark = [&](const std::string& level) -> std::string {
    if (level == "warn") return color ? "\033[33m!!\033[0m" : "!!";
    if (level == "ok") return color ? "\033[32mok\033[0m" : "ok";
    return "  ";
  };
  fmt::print("Host\n");
  for (const auto& f : h.facts) {
    fmt::print("  {} {:<24} {}\n", mark(f.level), terminal_safe(f.label), terminal_safe(f.value));
    if (!f.hint.empty()) fmt::print("     {:<24} -> {}\n", "", terminal_safe(f.hint));
  }
  {
    const int cpus = host_cpu_count();
    const std::string lim = placement_limitation(cpus);
    const auto plan = plan_placement(Placement::Spread, true, cpus);
    fmt::print("  {} {:<24} {}\n", mark(lim.empty() ? "ok" : "warn"), "placement (spread)",
               lim.empty() ? fmt::format("network workloads: agent on CPUs {}, peer on CPU {}; others on every CPU",
                                         fmt::join(plan.agent, ","), fmt::join(plan.peer, ","))
                           : "agent and peer share CPU 0");
    if (!lim.empty()) fmt::print("     {:<24} -> {}\n", "", lim);
  }
  fmt::print("\nEnvironments\n");
  for (const auto& d : all_drivers()) {
    auto a = d->probe();
    fmt::print("  {} {:<24} {}\n", mark(a.available ? "ok" : "warn"), d->name(),
               (a.available ? "available" : "UNAVAILABLE") + (a.reason.empty() ? "" : ": " + a.reason));
  }
  fmt::print("\nCounters (the default set; `vbench list --counters EVENT,...` checks others)\n");
  print_counter_support({"default"}, color);
  return kExitOk;
}

// `vbench report --history`: one chart per metric of this suite on this
// host, over the runs in the history store (oldest first), as an extra
// section of the HTML report.
Result<HtmlSection> history_section(const ResultSet& rs, const std::string& db_path) {
  auto db = db_path.empty() ? HistoryStore::default_path() : Result<std::string>(db_path);
  if (!db) return db.error();
  auto store = HistoryStore::open(*db, HistoryStore::Mode::ReadOnly);
  if (!store) return store.error().context("--history");
  TrendQuery q;
  q.suite = json_string(rs.meta.suite, "name");
  q.host_fingerprint = json_string(rs.meta.host, "fingerprint");
  auto series = history_trends(*store, q);
  if (!series) return series.error().context("--history");
  HtmlSection sec{"trends", "Trends", ""};
  if (series->empty())
    sec.body_html =
        fmt::format("<p>No runs of suite {} on this host in {}.</p>", html_escape(q.suite), html_escape(*db));
  for (const auto& t : *series)
    sec.body_html += fmt::format("<figure class=\"trend\"><figcaption>{}</figcaption>{}</figure>\n",
                                 html_escape(t.title()), render_trend_svg(t));
  return sec;
}

// Several runs, or a fleet directory: one report across hosts.
int cmd_report_fleet(const std::vector<std::string>& inputs, const std::string& output, bool allow_mixed) {
  auto fleet = load_fleet(inputs, allow_mixed);
  if (!fleet) return usage_error(fleet.error().message);
  if (output.empty()) {
    std::cout << render_fleet_table(*fleet, isatty(1) != 0);
    return kExitOk;
  }
  auto text = render_fleet_for_path(output, *fleet);
  if (!text) return usage_error("-o " + text.error().message);
  if (auto s = write_file_atomic(output, *text); !s) return usage_error(s.error().message);
  fmt::print("wrote {}\n", output);
  return kExitOk;
}

int cmd_report(const std::vector<std::string>& inputs, const std::string& output, bool history, const std::string& db,
               bool allow_mixed) {
  if (is_fleet_input(inputs)) {
    if (history) return usage_error("--history reports one run; a fleet report has no trend charts");
    return cmd_report_fleet(inputs, output, allow_mixed);
  }
  const std::string& input = inputs.front();
  auto rs = load_results(input);
  if (!rs) return usage_error(rs.error().message);
  RunSummary summary = summarize_run(*rs, rs->meta.baseline_env, rs->meta.seed);
  if (output.empty()) {
    if (history) return usage_error("--history adds trend charts to an HTML report: give -o FILE.html");
    std::cout << render_table(*rs, summary, isatty(1) != 0);
    return kExitOk;
  }
  Result<std::string> text = std::string();
  if (history) {
    if (!output.ends_with(".html"))
      return usage_error("--history adds trend charts to an HTML report: give -o FILE.html");
    auto sec = history_section(*rs, db);
    if (!sec) return usage_error(sec.error().message);
    text = render_html(*rs, summary, HtmlOptions{{*sec}});
  } else {
    text = render_for_path(output, *rs, summary);
  }
  if (!text) return usage_error("-o " + text.error().message);
  if (auto s = write_file_atomic(output, *text); !s) return usage_error(s.error().message);
  fmt::print("wrote {}\n", output);
  return kExitOk;
}

}  // namespace

int cli_main(int argc, char** argv) {
  CLI::App app{
      "vbench: what does isolation cost? Runs the same workloads on bare metal, in containers and in\n"
      "KVM guests it creates itself, and reports the overhead with confidence intervals."};
  app.require_subcommand(1);
  app.set_version_flag("--version", fmt::format("vbench {} ({})", kVersion, kGitCommit));

  RunArgs ra;
  auto* run = app.add_subcommand("run", "run a suite");
  run->add_option("--suite", ra.suite, "built-in suite name (smoke, quick, standard) or TOML file")
      ->capture_default_str();
  run->add_option("--env", ra.envs,
                  "environments, comma-separated: bare,container,kvm (default: the suite's, else every one available "
                  "here that is not emulated)");
  run->add_option("--workloads", ra.workloads, "only workloads matching these globs, e.g. 'cpu.*,mem.bandwidth'");
  run->add_option("--repetitions", ra.repetitions, "measured repetitions per cell (overrides the suite)");
  run->add_option("--max-repetitions", ra.max_repetitions, "adaptive cap on repetitions");
  run->add_option("--budget", ra.budget,
                  "time for measuring (e.g. 10m): after the minimum repetitions, repetitions go to the cells whose CI "
                  "is widest relative to ci_target until it is spent (environment start/stop not counted)");
  run->add_option("--warmup", ra.warmup, "warm-up runs per cell (discarded)");
  run->add_option("--seed", ra.seed, "seed for the shuffled order and the bootstrap")->each([&](const std::string&) {
    ra.has_seed = true;
  });
  run->add_option("--out", ra.out, "output directory (default results/<UTC timestamp>)");
  run->add_option("--set", ra.sets, "WORKLOAD.PARAM=VALUE, e.g. mem.bandwidth.size=1GiB (repeatable)");
  run->add_option("--env-set", ra.env_sets, "ENV.KNOB=VALUE, e.g. container.cpus=0.5 (repeatable)");
  run->add_option("--scratch", ra.scratch, "directory for disk workloads' files (default /var/tmp)");
  run->add_option("--counters", ra.counters,
                  "perf events counted around each measured region, comma-separated (default: the suite's, normally "
                  "`default`; `none` = off)");
  run->add_option("--placement", ra.placement,
                  "where the agent and the network peer run in every environment: spread (default: apart, on "
                  "fixed CPUs), same (one CPU), none (the scheduler's choice)");
  run->add_option("--agent", ra.agent, "path of vbench-agent (default: next to vbench)");
  run->add_flag("--no-cleanup", ra.no_cleanup, "do not remove leftovers of dead runs first");

  bool list_json = false;
  auto* list = app.add_subcommand("list", "workloads with their parameters, environments with availability");
  list->add_flag("--json", list_json, "machine-readable");
  std::vector<std::string> list_counters;
  auto* list_counters_opt =
      list->add_option("--counters", list_counters,
                       "only perf events: which this host can count (default set, or the events named)")
          ->expected(0, -1)
          ->delimiter(',');

  bool doctor_json = false;
  auto* doctor = app.add_subcommand("doctor", "what this host offers and what will limit the numbers");
  doctor->add_flag("--json", doctor_json, "machine-readable");

  auto* cleanup = app.add_subcommand("cleanup", "remove what dead vbench runs left behind");

  std::vector<std::string> report_in;
  std::string report_out;
  bool report_allow_mixed = false;
  auto* report = app.add_subcommand("report", "rebuild reports from results.json or results.jsonl");
  report
      ->add_option("results", report_in,
                   "results.json or results.jsonl; several runs (files or run directories) or a fleet directory make "
                   "one report across hosts")
      ->required();
  report->add_flag("--allow-mixed", report_allow_mixed,
                   "across hosts: report runs of other suites or vbench versions (flagged) instead of refusing");
  report->add_option("-o,--output", report_out, "output file; format by extension (.html, .md, .csv, .json)");
  bool report_history = false;
  std::string report_db;
  report->add_flag("--history", report_history,
                   "add trend charts of this suite on this host from the history store (HTML only)");
  report->add_option("--db", report_db, "history store (default ~/.local/share/vbench/history.db)");

  HistoryCli history(app, run);
  FleetCli fleet(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

  if (*run) return cmd_run(ra, command_line, history);
  if (auto rc = history.dispatch()) return *rc;
  if (auto rc = fleet.dispatch()) return *rc;
  if (*list) return cmd_list(list_json, list_counters_opt->count() > 0 ? &list_counters : nullptr);
  if (*doctor) return cmd_doctor(doctor_json);
  if (*cleanup) {
    if (geteuid() != 0) return usage_error("cleanup needs root");
    cleanup_dead_runs(true);
    return kExitOk;
  }
  if (*report) return cmd_report(report_in, report_out, report_history, report_db, report_allow_mixed);
  return kExitUsage;
}

}  // namespace vbench
