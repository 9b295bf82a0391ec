// `vbench compare` and `vbench history` as a CI job uses them: the real
// binary on results files, exit codes, output files, and a history store
// that a SIGKILL during `history add` cannot break.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "../unit/compare_fixtures.hpp"
#include "analysis/summary.hpp"
#include "core/fs.hpp"
#include "history_stores.hpp"
#include "reports/reports.hpp"
#include "support.hpp"

extern char** environ;

using namespace vbtest;
using vbench::Better;
using vbench::ResultSet;

namespace {

std::string write_results(const std::string& path, const ResultSet& rs) {
  const auto summary = vbench::summarize_run(rs, rs.meta.baseline_env, rs.meta.seed);
  REQUIRE(vbench::write_file(path, vbench::dump_json(vbench::render_json(rs, summary), 1)).ok());
  return path;
}

ResultSet synthetic(const std::string& run_id, double ops_center) {
  ResultSet rs = fixture_run(run_id);
  add_values(rs, "cpu.int", "ops", around(ops_center, 0.01, 8));
  add_values(rs, "mem.latency", "ns_4KiB", around(2, 0.01, 8), Better::Lower, "ns");
  return rs;
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  std::vector<char*> args, env;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("compare CLI: exit codes, output files, refusals", "[compare][cli]") {
  TempDir t;
  const std::string base = write_results(t.path + "/base.json", synthetic("vb240501100000-aaaaaa", 100));
  const std::string same = write_results(t.path + "/same.json", synthetic("vb240501110000-bbbbbb", 100.2));
  const std::string slow = write_results(t.path + "/slow.json", synthetic("vb240501120000-cccccc", 70));
  const std::string bin = vbench_bin();

  auto r = run_command(bin + " compare " + base + " " + same);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("no regression: 0 regressed") != std::string::npos);

  const std::string md = t.path + "/c.md", junit = t.path + "/c.xml", json = t.path + "/c.json";
  r = run_command(bin + " compare " + base + " " + slow + " --markdown " + md + " --junit " + junit + " --json " +
                  json);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("REGRESSION: 1 regressed") != std::string::npos);
  auto j = nlohmann::json::parse(*vbench::read_file(json));
  CHECK(j["regressed"] == true);
  CHECK(j["rows"][0]["verdict"] == "regressed");
  CHECK(j["rows"][0]["change"].get<double>() == Approx(-0.3).margin(1e-6));
  CHECK(vbench::read_file(junit)->find("<failure type=\"regression\"") != std::string::npos);
  CHECK(vbench::read_file(md)->find("### vbench compare: 1 regressed") != std::string::npos);

  // A threshold above the change makes it pass; the suite could say so too.
  r = run_command(bin + " compare " + base + " " + slow + " --threshold 40%");
  CHECK(r.exit_code == 0);

  SECTION("usage and input errors exit 2 and say what is wrong") {
    r = run_command(bin + " compare " + base + " " + t.path + "/missing.json");
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("missing.json") != std::string::npos);
    // Nothing recorded under that name (here: no store at all) has its own exit code, 3.
    r = run_command(bin + " compare " + base + " nosuchrun --db " + t.path + "/none.db");
    CHECK(r.exit_code == 3);
    CHECK(r.out.find("no history store") != std::string::npos);
    r = run_command(bin + " compare " + base + " " + same + " --alpha 2");
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("--alpha") != std::string::npos);
    r = run_command(bin + " compare " + base + " " + same + " --threshold lots");
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("invalid percentage `lots`") != std::string::npos);
    REQUIRE(vbench::write_file(t.path + "/broken.json", "{\"run\": {").ok());
    r = run_command(bin + " compare " + base + " " + t.path + "/broken.json");
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("broken.json") != std::string::npos);
    r = run_command(bin + " compare " + base);
    CHECK(r.exit_code == 2);
  }

  SECTION("another host is refused unless --force") {
    ResultSet other = synthetic("vb240501130000-dddddd", 100);
    other.meta.host = fixture_host("elsewhere");
    const std::string path = write_results(t.path + "/other.json", other);
    r = run_command(bin + " compare " + base + " " + path);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("host hostname: `box` vs `elsewhere`") != std::string::npos);
    r = run_command(bin + " compare " + base + " " + path + " --force");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("warning: compared despite a difference (--force)") != std::string::npos);
  }
}

namespace {

// The history commands as CI uses them, against the store `db_uri` names.
void check_history_cli(const TempDir& t, const std::string& db_uri) {
  const std::string db = " --db '" + db_uri + "'";
  const std::string bin = vbench_bin();
  const std::string a = write_results(t.path + "/a.json", synthetic("vb240501100000-aaaaaa", 100));
  const std::string b = write_results(t.path + "/b.json", synthetic("vb240501110000-bbbbbb", 70));

  auto r = run_command(bin + " history add " + a + " --commit 1111aaaa2222 --branch main" + db);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("recorded run vb240501100000-aaaaaa as #1") != std::string::npos);
  // Recording is idempotent by run id: the same run again is not stored
  // twice; the same run id with other results is refused.
  r = run_command(bin + " history add " + a + db);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("run vb240501100000-aaaaaa is already recorded as #1") != std::string::npos);
  const std::string a2 = write_results(t.path + "/a2.json", synthetic("vb240501100000-aaaaaa", 90));
  r = run_command(bin + " history add " + a2 + db);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("already in the history (as #1) with other results") != std::string::npos);
  // Without --commit the checkout here says (the test runs in the source tree).
  r = run_command("cd " + source_dir() + " && " + bin + " history add " + b + db);
  REQUIRE(r.exit_code == 0);
  const std::string head = run_command("git -C " + source_dir() + " rev-parse HEAD").out.substr(0, 12);
  CHECK(r.out.find("commit " + head) != std::string::npos);

  r = run_command(bin + " history baseline set main vb240501100000" + db);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  r = run_command(bin + " history baseline set 'no good' 1" + db);
  CHECK(r.exit_code == 2);
  r = run_command(bin + " history list" + db);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("vb240501110000-bbbbbb") < r.out.find("vb240501100000-aaaaaa"));  // newest first
  CHECK(r.out.find("main") != std::string::npos);
  r = run_command(bin + " history list --json" + db);
  auto list = nlohmann::json::parse(r.out);
  REQUIRE(list.size() == 2);
  CHECK(list[1]["git_commit"] == "1111aaaa2222");
  CHECK(list[1]["baselines"][0] == "main");
  r = run_command(bin + " history show main" + db);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("commit 1111aaaa2222 branch main") != std::string::npos);
  CHECK(r.out.find("cpu.int") != std::string::npos);
  r = run_command(bin + " history show latest --json" + db + " > " + t.path + "/exported.json");
  CHECK(r.exit_code == 0);

  // By name, by file, and the exported copy: the same verdicts.
  r = run_command(bin + " compare main latest --json " + t.path + "/by-name.json" + db);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  r = run_command(bin + " compare " + a + " " + t.path + "/exported.json --json " + t.path + "/by-file.json" + db);
  CHECK(r.exit_code == 1);
  auto by_name = nlohmann::json::parse(*vbench::read_file(t.path + "/by-name.json"));
  auto by_file = nlohmann::json::parse(*vbench::read_file(t.path + "/by-file.json"));
  CHECK(by_name["rows"] == by_file["rows"]);
  CHECK(by_name["base"]["source"].get<std::string>().find("history #1") != std::string::npos);

  // "No such baseline" (3) is not "the store is unreadable" (2): CI tells them apart.
  r = run_command(bin + " history show nosuch" + db);
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("no baseline or run `nosuch`") != std::string::npos);

  // Export: tidy (a row per run x series) and wide (a row per run).
  r = run_command(bin + " history export --csv" + db);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("history_id,run_id,started_at,recorded_at,git_commit,git_branch,suite,host_fingerprint,", 0) == 0);
  CHECK(r.out.find("\n1,vb240501100000-aaaaaa,") != std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1 + 2 * 2);  // two runs, two metrics each
  CHECK(r.out.find(",ops,ops/s,higher,workload,8,") != std::string::npos);
  CHECK(r.out.find(",ns_4KiB,ns,lower,workload,8,") != std::string::npos);
  r = run_command(bin + " history export --csv --wide --branch main -o " + t.path + "/wide.csv" + db);
  CHECK(r.exit_code == 0);
  const std::string wide = *vbench::read_file(t.path + "/wide.csv");
  INFO(wide);
  CHECK(wide.rfind("time,history_id,run_id,git_commit,git_branch,hostname,", 0) == 0);
  CHECK(wide.find("bare cpu.int (threads=1) ops") != std::string::npos);
  // Header and a row per run on main: run a, and run b when this checkout
  // (which named b's branch) is on main too, as a CI clone of main is.
  size_t on_main = 0;
  for (const auto& e : list) on_main += e["git_branch"] == "main";
  CHECK(on_main >= 1);
  CHECK(std::count(wide.begin(), wide.end(), '\n') == static_cast<std::ptrdiff_t>(1 + on_main));
  r = run_command(bin + " history export" + db);
  CHECK(r.exit_code == 2);
}

}  // namespace

TEST_CASE("history CLI: add, list, show, baselines, compare by name (SQLite)", "[compare][history][cli]") {
  TempDir t;
  check_history_cli(t, t.path + "/h.db");
  auto r = run_command(vbench_bin() + " history list --db " + t.path + "/absent.db");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("does not exist") != std::string::npos);
}

TEST_CASE("history CLI: add, list, show, baselines, compare by name (PostgreSQL)",
          "[compare][history][cli][postgres]") {
  TempDir t;
  ThrowawayPostgres pg;
  check_history_cli(t, pg.new_database("cli"));
  // A database without the schema is not a history to read; a server that
  // is not there is an error naming it, with no password in it.
  auto r = run_command(vbench_bin() + " history list --db '" + pg.new_database("empty") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("holds no vbench history yet") != std::string::npos);
  r = run_command(vbench_bin() + " history list --db 'postgresql://u:secret@/nosuch?host=/nonexistent'");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("postgresql://u:***@/nosuch") != std::string::npos);
  CHECK(r.out.find("secret") == std::string::npos);
}

namespace {

// Runners racing: twelve `history add` at once, four of them the same run
// and eight different runs. Each run must be stored exactly once, whole.
void check_concurrent_adds(const TempDir& t, const std::string& db_uri) {
  const std::string bin = vbench_bin();
  // Created first so that the racers meet on the runs, not the schema.
  const std::string first = write_results(t.path + "/first.json", synthetic("vb240601000000-000000", 100));
  REQUIRE(run_command(bin + " history add " + first + " --db '" + db_uri + "'").exit_code == 0);
  std::vector<std::string> files;
  const std::string same = write_results(t.path + "/same.json", synthetic("vb240601000000-5a5a5a", 100));
  for (int i = 0; i < 4; ++i) files.push_back(same);
  for (int i = 0; i < 8; ++i)
    files.push_back(write_results(fmt::format("{}/d{}.json", t.path, i),
                                  synthetic(fmt::format("vb2406010000{:02}-d0d0d0", i), 100 + i)));
  std::vector<pid_t> pids;
  for (const auto& f : files) pids.push_back(spawn({bin, "history", "add", f, "--db", db_uri}, {}));
  for (pid_t pid : pids) CHECK(wait_exit(pid) == 0);
  auto r = run_command(bin + " history list --limit 0 --json --db '" + db_uri + "'");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const auto list = nlohmann::json::parse(r.out);
  CHECK(list.size() == 10);  // first + same + 8
  std::set<std::string> ids;
  for (const auto& run : list) ids.insert(run["run_id"].get<std::string>());
  CHECK(ids.size() == 10);
  CHECK(ids.count("vb240601000000-5a5a5a") == 1);
  // Whole: every run has all its summary rows (two metrics each).
  r = run_command(bin + " history export --csv --db '" + db_uri + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1 + 2 * 10);
}

}  // namespace

TEST_CASE("history: concurrent adds of the same and of different runs (SQLite)", "[history][concurrency]") {
  TempDir t;
  check_concurrent_adds(t, t.path + "/h.db");
}

TEST_CASE("history: concurrent adds of the same and of different runs (PostgreSQL)",
          "[history][concurrency][postgres]") {
  TempDir t;
  ThrowawayPostgres pg;
  check_concurrent_adds(t, pg.new_database("race"));
}

TEST_CASE("history store survives SIGKILL during history add", "[compare][history][kill]") {
  TempDir t;
  const std::string db = t.path + "/h.db";
  const std::string bin = vbench_bin();
  // Big runs make the transaction take a while: 400 metrics x 10 samples.
  auto big = [&](int i) {
    ResultSet rs = fixture_run(fmt::format("vb2405011{:05}-{:06x}", i, i));
    for (int m = 0; m < 400; ++m)
      add_values(rs, "mem.latency", fmt::format("ns_{}", m), around(2 + m, 0.02, 10), Better::Lower, "ns");
    return write_results(fmt::format("{}/run{}.json", t.path, i), rs);
  };
  const size_t metrics_per_run = 400;
  REQUIRE(run_command(bin + " history add " + big(0) + " --db " + db).exit_code == 0);
  auto intact = [&](const std::string& when) {
    INFO(when);
    CHECK(sql(db, "PRAGMA integrity_check") == "ok\n");
    // Every run is whole: all of its metrics and its full results.
    const std::string partial = sql(db,
                                    "SELECT r.run_id FROM runs r WHERE (SELECT count(*) FROM metrics m WHERE m.run = "
                                    "r.id) != " +
                                        std::to_string(metrics_per_run) + " OR length(r.results_json) < 100000");
    CHECK(partial.empty());
    CHECK(sql(db, "SELECT count(*) FROM metrics WHERE run NOT IN (SELECT id FROM runs)") == "0\n");
  };

  SECTION("killed at a known point inside the transaction: nothing of the run stays") {
    const std::string file = big(1);
    const pid_t pid = spawn({bin, "history", "add", file, "--db", db}, {"VBENCH_TEST_HISTORY_PAUSE_MS=20000"});
    // The rollback journal exists while the write transaction is open.
    bool in_transaction = false;
    for (int i = 0; i < 1000 && !in_transaction; ++i) {
      in_transaction = vbench::path_exists(db + "-journal");
      if (!in_transaction) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(in_transaction);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // well inside the pause
    kill(pid, SIGKILL);
    CHECK(wait_exit(pid) == 128 + SIGKILL);
    CHECK(vbench::path_exists(db + "-journal"));  // hot: the next open rolls it back
    // Read-only commands work on the store as the kill left it (a read-only
    // SQLite connection cannot roll the hot journal back). Each starts from
    // the same copy of the store and its journal.
    REQUIRE(
        run_command("cp " + db + " " + db + ".killed && cp " + db + "-journal " + db + ".killed-journal").exit_code ==
        0);
    const std::string readers[] = {
        bin + " history list --db " + db,
        bin + " history show latest --db " + db,
        bin + " compare latest " + file + " --db " + db,
        bin + " report " + file + " -o " + t.path + "/trend.html --history --db " + db,
    };
    for (const auto& cmd : readers) {
      REQUIRE(
          run_command("cp " + db + ".killed " + db + " && cp " + db + ".killed-journal " + db + "-journal").exit_code ==
          0);
      auto r = run_command(cmd);
      INFO(cmd << "\n" << r.out);
      CHECK(r.exit_code <= 1);  // compare may find a regression; 2 would be the failure
      CHECK(r.out.find("readonly") == std::string::npos);
      CHECK_FALSE(vbench::path_exists(db + "-journal"));  // rolled back by the reader
      intact("after " + cmd);
    }
    intact("after the kill");
    CHECK(sql(db, "SELECT count(*) FROM runs") == "1\n");
    CHECK_FALSE(vbench::path_exists(db + "-journal"));
    // And the same run can be added afterwards.
    auto r = run_command(bin + " history add " + file + " --db " + db);
    INFO(r.out);
    CHECK(r.exit_code == 0);
    CHECK(sql(db, "SELECT count(*) FROM runs") == "2\n");
  }

  SECTION("killed at random moments: each run is there whole or not at all") {
    // How long one add takes here, to spread the kills over it.
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(run_command(bin + " history add " + big(2) + " --db " + db).exit_code == 0);
    const auto full_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    std::mt19937 rng(12345);
    int present = 0, absent = 0;
    for (int i = 0; i < 16; ++i) {
      const std::string file = big(100 + i);
      const pid_t pid = spawn({bin, "history", "add", file, "--db", db}, {});
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<long>(0, full_ms)(rng)));
      kill(pid, SIGKILL);
      wait_exit(pid);
      intact(fmt::format("kill {}", i));
      const std::string id = fmt::format("vb2405011{:05}-{:06x}", 100 + i, 100 + i);
      (sql(db, "SELECT count(*) FROM runs WHERE run_id = '" + id + "'") == "1\n" ? present : absent) += 1;
    }
    WARN(fmt::format("one add takes {} ms here; after 16 random kills: {} runs stored whole, {} not at all", full_ms,
                     present, absent));
    CHECK(present + absent == 16);
    auto r = run_command(bin + " history list --db " + db);
    CHECK(r.exit_code == 0);
  }
}

namespace {

// `compare --noise-from-history`: a 7% drop, significant by compare's own
// test, is a regression against a quiet main and not against a main whose
// run medians wander by +-8%.
void check_noise_from_history(const TempDir& t, const std::string& quiet_db, const std::string& noisy_db) {
  const std::string bin = vbench_bin();
  const double noisy_centers[] = {100, 108, 93, 104, 95, 101};
  for (int i = 0; i < 6; ++i) {
    const std::string q = write_results(fmt::format("{}/q{}.json", t.path, i),
                                        synthetic(fmt::format("vb2407010000{:02}-9a9a9a", i), 100 + 0.2 * (i % 3)));
    REQUIRE(run_command(bin + " history add " + q + " --branch main --db '" + quiet_db + "'").exit_code == 0);
    const std::string n = write_results(fmt::format("{}/n{}.json", t.path, i),
                                        synthetic(fmt::format("vb2407020000{:02}-9b9b9b", i), noisy_centers[i]));
    REQUIRE(run_command(bin + " history add " + n + " --branch main --db '" + noisy_db + "'").exit_code == 0);
  }
  const std::string cur = write_results(t.path + "/cur.json", synthetic("vb240703000000-cccccc", 93));
  // Against the quiet history: still a regression, with the numbers.
  auto r = run_command(bin + " compare latest " + cur + " --noise-from-history 5 --json " + t.path + "/q.json --db '" +
                       quiet_db + "'");
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("noise from history: 5 runs of suite t on this host, branch main") != std::string::npos);
  auto j = nlohmann::json::parse(*vbench::read_file(t.path + "/q.json"));
  bool seen = false;
  for (const auto& row : j["rows"])
    if (row["metric"] == "ops") {
      seen = true;
      CHECK(row["verdict"] == "regressed");
      CHECK(row["history_noise"]["runs"] == 5);
      CHECK(row["history_noise"]["z"].get<double>() < -3);
      CHECK(row["reason"].get<std::string>().find("beyond the spread of the last 5 runs of main") != std::string::npos);
    }
  CHECK(seen);
  // Against the noisy one: significant, but within the spread.
  r = run_command(bin + " compare latest " + cur + " --noise-from-history 5 --json " + t.path + "/n.json --db '" +
                  noisy_db + "'");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  j = nlohmann::json::parse(*vbench::read_file(t.path + "/n.json"));
  for (const auto& row : j["rows"])
    if (row["metric"] == "ops") {
      CHECK(row["verdict"] == "unchanged");
      CHECK(row["reason"].get<std::string>().find("(was regressed:") != std::string::npos);
      CHECK(std::fabs(row["history_noise"]["z"].get<double>()) < 3);
      CHECK(row["history_noise"]["stddev"].get<double>() > 3);
    }
  // Without the option, the same pair is a regression.
  CHECK(run_command(bin + " compare latest " + cur + " --db '" + noisy_db + "'").exit_code == 1);
  // Bad uses say why.
  r = run_command(bin + " compare " + cur + " " + cur + " --noise-from-history 5 --db '" + noisy_db + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("--noise-branch") != std::string::npos);
  r = run_command(bin + " compare latest " + cur + " --noise-from-history 2 --db '" + noisy_db + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("at least 3 runs") != std::string::npos);
}

}  // namespace

TEST_CASE("compare --noise-from-history: significant and beyond the history's spread (SQLite)",
          "[compare][history][noise]") {
  TempDir t;
  check_noise_from_history(t, t.path + "/quiet.db", t.path + "/noisy.db");
}

TEST_CASE("compare --noise-from-history: significant and beyond the history's spread (PostgreSQL)",
          "[compare][history][noise][postgres]") {
  TempDir t;
  ThrowawayPostgres pg;
  check_noise_from_history(t, pg.new_database("quiet"), pg.new_database("noisy"));
}
