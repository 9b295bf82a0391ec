// Results files are untrusted input to `report`, `compare` and `history`:
// a type error in them is a clear error and exit 2, never an uncaught
// exception (abort, exit 134) or a signal.
#include <nlohmann/json.hpp>

#include "../unit/compare_fixtures.hpp"
#include "analysis/summary.hpp"
#include "core/fs.hpp"
#include "reports/reports.hpp"
#include "support.hpp"

using namespace vbtest;

namespace {

nlohmann::json results_json(const std::string& run_id, double center) {
  vbench::ResultSet rs = fixture_run(run_id);
  add_values(rs, "cpu.int", "ops", around(center, 0.01, 6));
  const auto summary = vbench::summarize_run(rs, rs.meta.baseline_env, rs.meta.seed);
  return vbench::render_json(rs, summary);
}

std::string write(const std::string& path, const nlohmann::json& j) {
  REQUIRE(vbench::write_file(path, vbench::dump_json(j, 1)).ok());
  return path;
}

}  // namespace

TEST_CASE("type errors in results files exit 2 naming the field", "[hostile][results][cli]") {
  TempDir t;
  const std::string bin = vbench_bin();
  const std::string good = write(t.path + "/good.json", results_json("vb240501100000-aaaaaa", 100));
  const std::string db = " --db " + t.path + "/h.db";

  struct Case {
    const char* what;
    const char* pointer;  // JSON pointer into results.json
    nlohmann::json value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"a number as a host fact key", "/run/host/facts/0/key", 5, "`host.facts[0].key` is number, not a string"},
      {"a number as a host fact value", "/run/host/facts/1/value", 6.5,
       "`host.facts[1].value` is number, not a string"},
      {"a number as the host fingerprint", "/run/host/fingerprint", 7, "`host.fingerprint` is number"},
      {"a number as the suite name", "/run/suite/name", 8, "`suite.name` is number, not a string"},
      {"an object as a workload name", "/run/suite/workloads/0/name", nlohmann::json::object(),
       "`suite.workloads[0].name` is object"},
      {"an array as host", "/run/host", nlohmann::json::array(), "`host` is array, not an object"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.what) {
      auto j = results_json("vb240501110000-bbbbbb", 100);
      j[nlohmann::json::json_pointer(c.pointer)] = c.value;
      const std::string bad = write(t.path + "/bad.json", j);
      for (const std::string& cmd : {bin + " compare " + good + " " + bad,
                                     bin + " compare " + bad + " " + good + " --json " + t.path + "/c.json",
                                     bin + " report " + bad + " -o " + t.path + "/r.html --history" + db,
                                     bin + " report " + bad, bin + " history add " + bad + db}) {
        auto r = run_command(cmd);
        INFO(cmd);
        INFO(r.out);
        CHECK(r.exit_code == 2);
        CHECK(r.out.find(c.message) != std::string::npos);
        CHECK(r.out.find("bad.json") != std::string::npos);
        CHECK(r.out.find("terminate") == std::string::npos);
      }
    }
  }
}

TEST_CASE("results from a newer format version are refused by version", "[hostile][results][cli]") {
  TempDir t;
  auto j = results_json("vb240501110000-bbbbbb", 100);
  CHECK(j["run"]["format_version"] == 1);  // what this vbench writes
  j["run"]["format_version"] = 99;
  const std::string newer = write(t.path + "/newer.json", j);
  auto r = run_command(vbench_bin() + " report " + newer);
  INFO(r.out);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("results format version 99 is newer than this vbench reads (1)") != std::string::npos);
  j["run"]["format_version"] = "2";
  write(newer, j);
  r = run_command(vbench_bin() + " report " + newer);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("`format_version` is not an integer") != std::string::npos);
}
