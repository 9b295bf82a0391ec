// `vbench history changes` on a history made from a real run: the results of
// one short bare run, copied 20 times with seeded noise on every sample and a
// 10% drop of one metric from the 11th copy on, each recorded with
// `history add`. Exactly that step must be reported, and nothing else.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <random>

#include "core/fs.hpp"
#include "history_stores.hpp"
#include "support.hpp"

using namespace vbtest;

namespace {

struct Target {
  std::string workload, metric;
};

// The noisy copies: run `i` (1-based) of `total`, every metric value times
// (1 + N(0, 1%)), the target's times 0.9 from run `step_at` on.
std::string make_copy(const nlohmann::json& real, int i, const Target& target, int step_at, const std::string& dir,
                      const std::string& tag) {
  nlohmann::json j = real;
  j["run"]["run_id"] = fmt::format("vb2412{:02}100000-{}{:04x}", i, tag, i);
  j["run"]["started_at"] = fmt::format("2026-12-{:02}T10:00:00Z", i);
  std::mt19937_64 rng(1000 + i);
  std::normal_distribution<double> noise(0, 0.01);
  for (auto& s : j["samples"])
    for (auto& m : s["metrics"]) {
      if (!m["value"].is_number()) continue;
      double v = m["value"].get<double>() * (1 + noise(rng));
      if (i >= step_at && s["workload"] == target.workload && m["name"] == target.metric) v *= 0.9;
      m["value"] = v;
    }
  std::string path = fmt::format("{}/{}{:02}.json", dir, tag, i);
  REQUIRE(vbench::write_file(path, j.dump(1)).ok());
  return path;
}

// One short real bare run: its results.json and the metric to step.
nlohmann::json real_run(const std::string& dir, Target& target) {
  auto r = run_command(
      vbench_bin() + " run --suite smoke --env bare --workloads cpu.int,cpu.fp --repetitions 3 --out " + dir + "/real");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  auto text = vbench::read_file(dir + "/real/results.json");
  REQUIRE(text.ok());
  nlohmann::json real = nlohmann::json::parse(*text);
  for (const auto& s : real["samples"])
    if (s["workload"] == "cpu.int" && !s["warmup"].get<bool>() && !s["metrics"].empty()) {
      target = {"cpu.int", s["metrics"][0]["name"].get<std::string>()};
      break;
    }
  REQUIRE(!target.metric.empty());
  return real;
}

void check_step_found(const std::string& dir, const std::string& db_uri) {
  Target target;
  const nlohmann::json real = real_run(dir, target);
  const std::string bin = vbench_bin();
  const std::string db = " --db '" + db_uri + "'";
  const TempDir scratch;
  const std::string tpath = scratch.path;
  {
    for (int i = 1; i <= 20; ++i) {
      const std::string file = make_copy(real, i, target, 11, tpath, "a");
      auto add = run_command(bin + " history add " + file + fmt::format(" --commit {:040x} --branch main", i) + db);
      INFO(add.out);
      REQUIRE(add.exit_code == 0);
    }
    // Four runs on another branch: too short to judge.
    for (int i = 1; i <= 4; ++i)
      REQUIRE(run_command(bin + " history add " + make_copy(real, i, target, 99, tpath, "b") +
                          " --commit feed --branch short" + db)
                  .exit_code == 0);

    auto c = run_command(bin + " history changes --branch main --json" + db);
    INFO(c.out);
    REQUIRE(c.exit_code == 0);
    const auto j = nlohmann::json::parse(c.out);
    size_t untouched = 0;
    bool found = false;
    for (const auto& s : j["series"]) {
      INFO(s.dump());
      CHECK(s["runs"] == 20);
      CHECK(s["judged"] == true);
      if (s["env"] == "bare" && s["workload"] == target.workload && s["metric"] == target.metric) {
        found = true;
        REQUIRE(s["change_points"].size() == 1);
        const auto& cp = s["change_points"][0];
        CHECK(cp["position"] == 11);
        CHECK(cp["history_id"] == 11);  // the 11th run recorded
        CHECK(cp["git_commit"] == fmt::format("{:040x}", 11));
        CHECK(cp["run_id"].get<std::string>().rfind("vb24121110", 0) == 0);
        CHECK(cp["change"].get<double>() == Approx(-0.10).margin(0.02));
        CHECK(cp["change_ci_low"].get<double>() < -0.05);
        CHECK(cp["change_ci_high"].get<double>() < 0);
        CHECK(cp["p_value"].get<double>() <= 0.01);
        CHECK(cp["runs_before"] == 10);
        CHECK(cp["runs_after"] == 10);
        CHECK(cp["kind"] == (s["better"] == "higher" ? "regression" : "improvement"));
      } else {
        ++untouched;
        CHECK(s["change_points"].empty());
      }
    }
    CHECK(found);
    CHECK(untouched >= 1);  // cpu.fp at least: the "none elsewhere" is a real check
    CHECK(j["change_points"] == 1);

    // The text form says the same for people.
    c = run_command(bin + " history changes --branch main" + db);
    INFO(c.out);
    CHECK(c.out.find("at run 11/20") != std::string::npos);
    CHECK(c.out.find("1 change point (") != std::string::npos);

    // --since: only changes among the newest N runs.
    CHECK(nlohmann::json::parse(
              run_command(bin + " history changes --branch main --json --since 9" + db).out)["change_points"] == 0);
    CHECK(nlohmann::json::parse(
              run_command(bin + " history changes --branch main --json --since 10" + db).out)["change_points"] == 1);
    // --workloads and --env filter the series.
    auto fp =
        nlohmann::json::parse(run_command(bin + " history changes --branch main --json --workloads 'cpu.f*'" + db).out);
    CHECK(fp["change_points"] == 0);
    for (const auto& s : fp["series"]) CHECK(s["workload"] == "cpu.fp");
    CHECK(nlohmann::json::parse(run_command(bin + " history changes --json --env nosuch" + db).out)["series"].empty());

    // A short branch is said to be too short.
    c = run_command(bin + " history changes --branch short" + db);
    INFO(c.out);
    CHECK(c.exit_code == 0);
    CHECK(c.out.find("too short to judge: 4 runs") != std::string::npos);

    // Bad options exit 2 and say what.
    c = run_command(bin + " history changes --alpha 3" + db);
    CHECK(c.exit_code == 2);
    CHECK(c.out.find("--alpha") != std::string::npos);
    c = run_command(bin + " history changes --permutations 19 --alpha 0.01" + db);
    CHECK(c.exit_code == 2);
    CHECK(c.out.find("cannot reach") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("history changes: a 10% step at run 11 of 20, and nothing else (SQLite)", "[history][changepoint][cli]") {
  TempDir t;
  check_step_found(t.path, t.path + "/history.db");
  // No history yet is exit 3, as for `history show` (a CI job's first run),
  // not 2 (a history that cannot be read).
  auto r = run_command(vbench_bin() + " history changes --db " + t.path + "/absent.db");
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("does not exist") != std::string::npos);
}

TEST_CASE("history changes: a 10% step at run 11 of 20, and nothing else (PostgreSQL)",
          "[history][changepoint][cli][postgres]") {
  TempDir t;
  ThrowawayPostgres pg;
  check_step_found(t.path, pg.new_database("changes"));
}
