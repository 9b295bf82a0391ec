#include "cli/cli_fleet.hpp"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <set>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "drivers/kvm/host_command.hpp"
#include "model/hostinfo.hpp"
#include "reports/format.hpp"
#include "workloads/net_peer.hpp"

extern char** environ;

namespace vbench {

struct FleetCli::Args {
  CLI::App* fleet = nullptr;
  CLI::App* run = nullptr;
  std::string inventory, out, playbook, db, suite;
  std::vector<std::string> envs, workloads, sets, env_sets, counters;
  int repetitions = 0, max_repetitions = 0, warmup = -1, forks = 0;
  uint64_t seed = 0;
  bool has_seed = false, serial = false, record = false, allow_mixed = false;
  double host_timeout_s = 6 * 3600;
};

namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0, kExitFailures = 1, kExitUsage = 2;
// Status files and inventories are small; anything larger is not one.
constexpr size_t kMaxStatusBytes = 1 << 20;
constexpr size_t kMaxInventoryBytes = 16 << 20;

int usage_error(const std::string& msg) {
  fmt::print(stderr, "vbench: {}\n", terminal_safe(msg));
  return kExitUsage;
}

Result<nlohmann::json> read_json_file(const std::string& path, size_t max_bytes) {
  auto text = read_file(path, max_bytes);
  if (!text) return text.error();
  auto j = parse_json(*text, JsonLimits{max_bytes, 16});
  if (!j) return j.error().context(path);
  if (!j->is_object()) return make_error("{}: not a JSON object", path);
  return *j;
}

std::string str_field(const nlohmann::json& j, const char* key) { return json_string(j, key); }

// A label for a run read on its own: its host name, else its directory.
std::string host_label(const ResultSet& rs, const std::string& source) {
  std::string h = HostInfo::from_json(rs.meta.host).value("hostname");
  if (!h.empty()) return h;
  const fs::path p(source);
  return (fs::is_directory(p) ? p : p.parent_path()).filename().string();
}

bool is_fleet_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(fs::path(path) / "hosts", ec) || fs::is_regular_file(fs::path(path) / "fleet.json", ec);
}

// results.json of a run directory, else its results.jsonl (an interrupted run).
std::string results_path(const std::string& input) {
  std::error_code ec;
  if (!fs::is_directory(input, ec)) return input;
  for (const char* name : {"results.json", "results.jsonl"})
    if (fs::exists(fs::path(input) / name, ec)) return (fs::path(input) / name).string();
  return (fs::path(input) / "results.json").string();
}

Status add_member(Fleet& fleet, const std::string& host, const std::string& path) {
  auto rs = load_results(path);
  if (!rs) return rs.error();
  FleetMember m;
  m.host = host.empty() ? host_label(*rs, path) : host;
  m.source = path;
  m.summary = summarize_run(*rs, rs->meta.baseline_env, rs->meta.seed);
  m.results = std::move(*rs);
  fleet.members.push_back(std::move(m));
  return {};
}

Status load_fleet_dir(Fleet& fleet, const std::string& dir) {
  if (auto meta = read_json_file((fs::path(dir) / "fleet.json").string(), kMaxStatusBytes))
    fleet.id = str_field(*meta, "id");
  std::vector<std::string> hosts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "hosts", ec))
    if (e.is_directory()) hosts.push_back(e.path().filename().string());
  if (ec) return make_error("{}/hosts: {}", dir, ec.message());
  std::sort(hosts.begin(), hosts.end());
  for (const auto& h : hosts) {
    const fs::path hd = fs::path(dir) / "hosts" / h;
    if (fs::exists(hd / "results.json", ec)) {
      if (auto s = add_member(fleet, h, (hd / "results.json").string()); !s) return s.error().context("host " + h);
      continue;
    }
    std::string error = "no results";
    if (auto st = read_json_file((hd / "status.json").string(), kMaxStatusBytes)) {
      const std::string e = str_field(*st, "error"), task = str_field(*st, "task");
      if (!e.empty()) error = task.empty() ? e : task + ": " + e;
    }
    fleet.failures.push_back({h, error});
  }
  return {};
}

// Reads an argument of `vbench run` that names a suite: a file is copied to
// every host, a built-in suite name is passed as it is.
bool is_suite_file(const std::string& suite) {
  std::error_code ec;
  return suite.find('/') != std::string::npos || suite.ends_with(".toml") || fs::is_regular_file(suite, ec);
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_+=:,./-") ==
                        std::string::npos)
    return s;
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

// The playbook: --playbook, $VBENCH_ANSIBLE_DIR, or deploy/ansible next to
// the binary (a build directory) or one level up (the source tree), or where
// a package would put it.
Result<std::string> find_playbook(const std::string& given) {
  std::vector<std::string> candidates;
  if (!given.empty()) candidates.push_back(given);
  if (const char* d = getenv("VBENCH_ANSIBLE_DIR"); d && *d) candidates.push_back(std::string(d) + "/fleet.yml");
  const fs::path exe_dir = fs::path(self_exe()).parent_path();
  candidates.push_back((exe_dir / "deploy/ansible/fleet.yml").string());
  candidates.push_back((exe_dir.parent_path() / "deploy/ansible/fleet.yml").string());
  candidates.push_back("/usr/share/vbench/ansible/fleet.yml");
  std::error_code ec;
  for (const auto& c : candidates)
    if (fs::is_regular_file(c, ec)) return fs::absolute(c).string();
  if (!given.empty()) return make_error("--playbook {}: no such file", given);
  return make_error("cannot find deploy/ansible/fleet.yml (looked in: {}); give --playbook",
                    fmt::join(candidates, ", "));
}

// Runs argv with this process's stdin, stdout and stderr (the user watches
// Ansible work) and the extra environment; returns its exit status.
Result<int> run_visible(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  for (const auto& x : extra_env) env_store.push_back(x);
  std::vector<char*> envp, args;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_store = argv;
  for (auto& a : argv_store) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  // posix_spawnp: the child inherits our descriptors and process group, so a
  // ^C reaches Ansible as it would from a shell.
  if (int rc = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), envp.data()); rc != 0)
    return make_error("cannot run {}: {}", argv[0], strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return make_error("waitpid {}: {}", argv[0], strerror(errno));
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

// The last thing Ansible's log says went wrong for host, for a host that left
// no status file (unreachable, or the controller was interrupted).
std::string ansible_error_for(const std::string& log_path, const std::string& host) {
  auto text = read_file(log_path, 64 << 20);
  if (!text) return "";
  std::string found;
  size_t pos = 0;
  const std::string tag = "[" + host + "]";
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    const std::string_view line(text->data() + pos, end - pos);
    if (line.find(tag) != std::string_view::npos &&
        (line.find("UNREACHABLE") != std::string_view::npos || line.find("fatal:") != std::string_view::npos))
      found = std::string(line.substr(line.find(tag)));
    pos = end + 1;
  }
  return clip_text(found, 2000);
}

// The arguments of `vbench run` that every host gets (without --out and,
// for a suite file, without --suite).
std::vector<std::string> run_arguments(const FleetCli::Args& a) {
  std::vector<std::string> out;
  if (!is_suite_file(a.suite)) out.insert(out.end(), {"--suite", a.suite});
  auto add_list = [&](const char* flag, const std::vector<std::string>& v) {
    for (const auto& x : v) out.insert(out.end(), {flag, x});
  };
  add_list("--env", a.envs);
  add_list("--workloads", a.workloads);
  add_list("--set", a.sets);
  add_list("--env-set", a.env_sets);
  add_list("--counters", a.counters);
  if (a.repetitions > 0) out.insert(out.end(), {"--repetitions", std::to_string(a.repetitions)});
  if (a.max_repetitions > 0) out.insert(out.end(), {"--max-repetitions", std::to_string(a.max_repetitions)});
  if (a.warmup >= 0) out.insert(out.end(), {"--warmup", std::to_string(a.warmup)});
  if (a.has_seed) out.insert(out.end(), {"--seed", std::to_string(a.seed)});
  return out;
}

std::vector<std::string> requested_envs(const std::vector<std::string>& envs) {
  std::vector<std::string> out;
  for (const auto& e : envs) {
    size_t pos = 0;
    while (pos <= e.size()) {
      size_t c = e.find(',', pos);
      std::string part = e.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
      if (!part.empty()) out.push_back(part);
      if (c == std::string::npos) break;
      pos = c + 1;
    }
  }
  return out;
}

Status write_fleet_report(const std::string& dir, bool allow_mixed, std::string* summary_text) {
  auto fleet = load_fleet({dir}, allow_mixed);
  if (!fleet) return fleet.error();
  for (const auto& [name, text] :
       std::vector<std::pair<std::string, std::string>>{{"report.html", render_fleet_html(*fleet)},
                                                        {"report.md", render_fleet_markdown(*fleet)},
                                                        {"results.csv", render_fleet_csv(*fleet)}})
    if (auto s = write_file_atomic(dir + "/" + name, text); !s) return s.error();
  *summary_text = render_fleet_table(*fleet, isatty(1) != 0, false);
  return {};
}

int cmd_fleet_run(const FleetCli::Args& a) {
  std::error_code ec;
  if (a.inventory.empty() || !fs::is_regular_file(a.inventory, ec))
    return usage_error(fmt::format("--inventory {}: no such file", a.inventory));
  const std::string ansible_playbook = find_program("ansible-playbook");
  const std::string ansible_inventory = find_program("ansible-inventory");
  if (ansible_playbook.empty() || ansible_inventory.empty())
    return usage_error("fleet run needs Ansible (ansible-playbook, ansible-inventory): apt-get install ansible");
  auto playbook = find_playbook(a.playbook);
  if (!playbook) return usage_error(playbook.error().message);

  const std::string inventory = fs::absolute(a.inventory).string();
  auto inv_json = run_capture({ansible_inventory, "-i", inventory, "--list"}, 120, kMaxInventoryBytes);
  if (!inv_json) return usage_error(inv_json.error().context("--inventory " + a.inventory).message);
  auto hosts = inventory_hosts(*inv_json);
  if (!hosts) return usage_error(hosts.error().context("--inventory " + a.inventory).message);
  if (hosts->empty()) return usage_error(fmt::format("--inventory {}: no hosts", a.inventory));

  const std::string out = fs::absolute(a.out.empty() ? fmt::format("results/fleet-{}", utc_compact_timestamp()) : a.out)
                              .lexically_normal()
                              .string();
  const std::vector<std::string> args = run_arguments(a);
  const std::string fleet_json_path = out + "/fleet.json";
  nlohmann::json meta = nlohmann::json::object();
  int attempt = 1;
  if (fs::exists(fleet_json_path, ec)) {
    // A second `fleet run` into the same directory resumes: hosts whose
    // results are complete are skipped, the others run again.
    auto prev = read_json_file(fleet_json_path, kMaxStatusBytes);
    if (!prev) return usage_error(prev.error().context("--out " + out).message);
    meta = *prev;
    if (meta.value("run_args", nlohmann::json()) != nlohmann::json(args) || str_field(meta, "suite") != a.suite)
      return usage_error(fmt::format(
          "--out {} holds fleet {} run with other options ({}); resume with the same options or use another --out", out,
          str_field(meta, "id"), dump_json(meta.value("run_args", nlohmann::json()))));
    const auto& n = meta.contains("attempts") ? meta["attempts"] : nlohmann::json();
    attempt = (n.is_number_unsigned() && n.get<uint64_t>() < 100000 ? static_cast<int>(n.get<uint64_t>()) : 0) + 1;
  } else if (fs::exists(out, ec) && !fs::is_empty(out, ec)) {
    return usage_error(fmt::format("--out {}: exists and is not a fleet directory", out));
  } else {
    meta = {{"format", "vbench-fleet/1"},
            {"id", fmt::format("fleet-{}-{:08x}", utc_compact_timestamp(), static_cast<uint32_t>(getpid()))},
            {"suite", a.suite},
            {"run_args", args}};
  }
  if (auto s = mkdir_p(out + "/hosts"); !s) return usage_error(s.error().message);
  meta["inventory"] = inventory;
  meta["attempts"] = attempt;

  std::set<std::string> complete;
  for (const auto& h : *hosts) {
    const std::string hd = out + "/hosts/" + h;
    if (fs::exists(hd + "/results.json", ec))
      complete.insert(h);
    else
      fs::remove(hd + "/status.json", ec);  // a failure of an earlier attempt is not this one's
  }

  nlohmann::json vars = {{"vbench_fleet_dir", out},
                         {"vbench_fleet_id", str_field(meta, "id")},
                         {"vbench_attempt", attempt},
                         {"vbench_bin", self_exe()},
                         {"vbench_agent_bin", fs::path(self_exe()).parent_path() / "vbench-agent"},
                         {"vbench_run_args", args},
                         {"vbench_envs", requested_envs(a.envs)},
                         {"vbench_serial", a.serial},
                         {"vbench_run_timeout", static_cast<long>(a.host_timeout_s)}};
  if (is_suite_file(a.suite)) vars["vbench_suite_file"] = fs::absolute(a.suite).string();
  if (a.record) {
    if (a.db.empty()) {
      const char* home = getenv("HOME");
      const char* xdg = getenv("XDG_DATA_HOME");
      vars["vbench_history_db"] = xdg && *xdg ? std::string(xdg) + "/vbench/history.db"
                                              : std::string(home ? home : "/root") + "/.local/share/vbench/history.db";
    } else {
      vars["vbench_history_db"] = a.db;
    }
  }
  bool kvm = false;
  for (const auto& e : requested_envs(a.envs)) kvm = kvm || e.rfind("kvm", 0) == 0;
  if (kvm && fs::is_directory("/var/cache/vbench/guest-kernel", ec))
    vars["vbench_guest_kernel_dir"] = "/var/cache/vbench/guest-kernel";
  if (auto s = write_file_atomic(out + "/fleet-vars.json", dump_json(vars, 1) + "\n"); !s)
    return usage_error(s.error().message);
  if (auto s = write_file_atomic(fleet_json_path, dump_json(meta, 1) + "\n"); !s) return usage_error(s.error().message);

  std::vector<std::string> argv = {ansible_playbook, "-i", inventory, *playbook, "-e", "@" + out + "/fleet-vars.json"};
  const int forks = a.forks > 0 ? a.forks : static_cast<int>(std::min<size_t>(hosts->size(), 50));
  argv.insert(argv.end(), {"--forks", std::to_string(forks)});
  std::string shown;
  for (const auto& x : argv) shown += (shown.empty() ? "" : " ") + shell_quote(x);
  fmt::print("vbench fleet {}: {} host(s){}, attempt {}\n", str_field(meta, "id"), hosts->size(),
             complete.empty() ? "" : fmt::format(" ({} complete, skipped)", complete.size()), attempt);
  fmt::print("running: {}\n", shown);
  std::fflush(stdout);
  auto rc = run_visible(argv, {"ANSIBLE_LOG_PATH=" + out + "/ansible.log", "ANSIBLE_RETRY_FILES_ENABLED=False"});
  if (!rc) return usage_error(rc.error().message);

  // Every host of the inventory is accounted for: complete, run now, or failed
  // with the reason the playbook or Ansible's log gives.
  nlohmann::json status = nlohmann::json::object();
  size_t failed = 0;
  fmt::print("\nhosts:\n");
  for (const auto& h : *hosts) {
    const std::string hd = out + "/hosts/" + h;
    nlohmann::json s = {{"host", h}};
    if (fs::exists(hd + "/results.json", ec)) {
      s["status"] = complete.count(h) ? "complete" : "ok";
      if (auto rs = load_results(hd + "/results.json")) s["run_id"] = rs->meta.run_id;
    } else {
      ++failed;
      s["status"] = "failed";
      std::string error;
      if (auto st = read_json_file(hd + "/status.json", kMaxStatusBytes)) {
        const std::string task = str_field(*st, "task");
        error = str_field(*st, "error");
        if (!task.empty()) error = task + ": " + error;
      }
      if (error.empty()) error = ansible_error_for(out + "/ansible.log", h);
      if (error.empty()) error = fmt::format("no results (Ansible exited {}; see {}/ansible.log)", *rc, out);
      s["error"] = error;
      if (auto w = mkdir_p(hd); w) (void)write_file_atomic(hd + "/status.json", dump_json(s, 1) + "\n");
    }
    fmt::print("  {:<20} {:<9} {}\n", terminal_safe(h), s["status"].get<std::string>(),
               terminal_safe(s.contains("error") ? s["error"].get<std::string>()
                                                 : "run " + s.value("run_id", std::string("?"))));
    status[h] = s;
  }
  meta["hosts"] = status;
  if (auto s = write_file_atomic(fleet_json_path, dump_json(meta, 1) + "\n"); !s) return usage_error(s.error().message);

  if (failed == hosts->size()) {
    fmt::print(stderr, "vbench: no host has results; nothing to report\n");
    return kExitFailures;
  }
  std::string table;
  if (auto s = write_fleet_report(out, a.allow_mixed, &table); !s) {
    fmt::print(stderr, "vbench: fleet report: {}\n", terminal_safe(s.error().message));
    return kExitUsage;
  }
  fmt::print("{}\nfleet report: {}/report.html, {}/report.md, {}/results.csv\n", table, out, out, out);
  if (failed) {
    fmt::print("{} host(s) failed; run the same command again to retry only them\n", failed);
    return kExitFailures;
  }
  return *rc == 0 ? kExitOk : kExitFailures;
}

}  // namespace

Result<std::vector<std::string>> inventory_hosts(const std::string& text) {
  auto parsed = parse_json(text, JsonLimits{kMaxInventoryBytes, 64});
  if (!parsed || !parsed->is_object()) return make_error("ansible-inventory --list did not print a JSON object");
  const nlohmann::json& j = *parsed;
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const nlohmann::json& list) {
    if (!list.is_array()) return;
    for (const auto& h : list)
      if (h.is_string() && seen.insert(h.get<std::string>()).second) out.push_back(h.get<std::string>());
  };
  // Groups in the order Ansible lists them, hosts in each group's order;
  // hostvars last, for hosts in no group.
  std::vector<std::string> groups = {"all"};
  for (size_t i = 0; i < groups.size() && i < 10000; ++i) {
    const std::string g = groups[i];
    if (!j.contains(g) || !j[g].is_object()) continue;
    add(j[g].value("hosts", nlohmann::json::array()));
    if (j[g].contains("children") && j[g]["children"].is_array())
      for (const auto& c : j[g]["children"])
        if (c.is_string() && std::find(groups.begin(), groups.end(), c.get<std::string>()) == groups.end())
          groups.push_back(c.get<std::string>());
  }
  if (j.contains("_meta") && j["_meta"].is_object() && j["_meta"].contains("hostvars") &&
      j["_meta"]["hostvars"].is_object())
    for (const auto& [h, v] : j["_meta"]["hostvars"].items())
      if (seen.insert(h).second) out.push_back(h);
  for (const auto& h : out)
    if (h.empty() || h.find('/') != std::string::npos || h == "." || h == "..")
      return make_error("host name `{}` cannot name a results directory", h);
  return out;
}

bool is_fleet_input(const std::vector<std::string>& inputs) {
  return inputs.size() > 1 || (inputs.size() == 1 && is_fleet_dir(inputs[0]));
}

Result<Fleet> load_fleet(const std::vector<std::string>& inputs, bool allow_mixed) {
  Fleet fleet;
  for (const auto& in : inputs) {
    if (is_fleet_dir(in)) {
      if (auto s = load_fleet_dir(fleet, in); !s) return s.error();
      continue;
    }
    if (auto s = add_member(fleet, "", results_path(in)); !s) return s.error();
  }
  // Runs read on their own are labelled by host name; two from one machine
  // (or from hosts with the same name) keep their paths apart instead.
  std::map<std::string, size_t> count;
  for (const auto& m : fleet.members) ++count[m.host];
  for (auto& m : fleet.members)
    if (count[m.host] > 1 && !m.source.empty()) m.host = m.host + " (" + m.source + ")";
  if (auto s = check_fleet(fleet, allow_mixed); !s) return s.error();
  return fleet;
}

FleetCli::FleetCli(CLI::App& app) : a_(std::make_unique<Args>()) {
  Args& a = *a_;
  a.fleet = app.add_subcommand("fleet", "run one suite on many hosts (Ansible) and report them together");
  a.fleet->require_subcommand(1);
  a.run = a.fleet->add_subcommand("run", "run a suite on every host of an Ansible inventory");
  a.run->add_option("--inventory,-i", a.inventory, "Ansible inventory (INI or YAML)")->required();
  a.run->add_option("--out", a.out, "fleet directory on this machine (default results/fleet-<UTC timestamp>)");
  a.run->add_option("--suite", a.suite, "built-in suite name or TOML file (copied to every host)")
      ->default_val("quick")
      ->capture_default_str();
  a.run->add_option("--env", a.envs, "environments, comma-separated (each host must offer them)");
  a.run->add_option("--workloads", a.workloads, "only workloads matching these globs");
  a.run->add_option("--set", a.sets, "WORKLOAD.PARAM=VALUE (repeatable)");
  a.run->add_option("--env-set", a.env_sets, "ENV.KNOB=VALUE (repeatable)");
  a.run->add_option("--counters", a.counters, "perf events, comma-separated");
  a.run->add_option("--repetitions", a.repetitions, "measured repetitions per cell");
  a.run->add_option("--max-repetitions", a.max_repetitions, "adaptive cap on repetitions");
  a.run->add_option("--warmup", a.warmup, "warm-up runs per cell");
  a.run->add_option("--seed", a.seed, "seed for every host's order and bootstrap")->each([&](const std::string&) {
    a_->has_seed = true;
  });
  a.run->add_flag("--serial", a.serial, "one host at a time (hosts that share hardware)");
  a.run->add_option("--forks", a.forks, "hosts at once (default: all, up to 50)");
  a.run->add_option("--host-timeout", a.host_timeout_s, "longest run on one host, in seconds")->capture_default_str();
  a.run->add_flag("--record", a.record, "record every host's run in the history store (written here only)");
  a.run->add_option("--db", a.db, "history store for --record (default ~/.local/share/vbench/history.db)");
  a.run->add_option("--playbook", a.playbook, "fleet playbook (default deploy/ansible/fleet.yml)");
  a.run->add_flag("--allow-mixed", a.allow_mixed, "report hosts that ran another suite or vbench version (flagged)");
}

FleetCli::~FleetCli() = default;

std::optional<int> FleetCli::dispatch() const {
  if (a_->run && *a_->run) return cmd_fleet_run(*a_);
  return std::nullopt;
}

}  // namespace vbench
