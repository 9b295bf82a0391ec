#include "analysis/compare.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "compare_fixtures.hpp"
#include "core/escape.hpp"
#include "core/host_load.hpp"
#include "reports/compare_formats.hpp"
#include "reports/format.hpp"

using namespace vbench;
using Catch::Matchers::Contains;
using vbtest::add_values;
using vbtest::around;
using vbtest::fixture_run;
using vbtest::well_formed_xml;

namespace {

const MetricComparison* row(const Comparison& c, const std::string& metric) {
  for (const auto& r : c.rows)
    if (r.metric == metric) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("compare: verdicts", "[compare]") {
  struct Case {
    const char* name;
    Better better;
    std::vector<double> base, current;
    Verdict expected;
    const char* reason;  // a part of the reason
  };
  const std::vector<double> wide_a = {100, 130, 80, 110, 95, 125, 70, 105, 90, 115};
  const std::vector<double> wide_b = {105, 75, 120, 98, 128, 85, 112, 92, 101, 118};
  const std::vector<Case> cases = {
      {"clear regression, higher is better", Better::Higher, around(100, 0.01, 10), around(80, 0.01, 10),
       Verdict::Regressed, "-20.0%"},
      {"clear improvement, higher is better", Better::Higher, around(100, 0.01, 10), around(120, 0.01, 10),
       Verdict::Improved, "+20.0%"},
      {"lower is better: up is a regression", Better::Lower, around(100, 0.01, 10), around(120, 0.01, 10),
       Verdict::Regressed, "lower is better"},
      {"lower is better: down is an improvement", Better::Lower, around(100, 0.01, 10), around(80, 0.01, 10),
       Verdict::Improved, "-20.0%"},
      {"noise", Better::Higher, wide_a, wide_b, Verdict::Noisy, "too wide to tell"},
      {"unchanged", Better::Higher, around(100, 0.01, 10), around(100.3, 0.01, 10), Verdict::Unchanged, "within ±5%"},
      {"significant but below the threshold", Better::Higher, around(100, 0.001, 10), around(102, 0.001, 10),
       Verdict::Unchanged, "significant"},
      {"too few samples", Better::Higher, {100, 101}, around(50, 0.01, 10), Verdict::Noisy, "too few samples"},
      {"too few to ever be significant", Better::Higher, around(100, 0.01, 3), around(50, 0.01, 3), Verdict::Noisy,
       "cannot reach"},
      {"from a zero median", Better::Lower, std::vector<double>(10, 0.0), std::vector<double>(10, 5.0),
       Verdict::Regressed, "change undefined"},
      {"both zero", Better::Lower, std::vector<double>(10, 0.0), std::vector<double>(10, 0.0), Verdict::Unchanged,
       "within"},
  };
  for (const auto& tc : cases) {
    SECTION(tc.name) {
      ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
      add_values(a, "cpu.int", "ops", tc.base, tc.better);
      add_values(b, "cpu.int", "ops", tc.current, tc.better);
      auto c = compare_runs(a, b, {});
      REQUIRE(c.ok());
      REQUIRE(c->rows.size() == 1);
      const auto& r = c->rows[0];
      INFO(r.reason);
      CHECK(r.verdict == tc.expected);
      CHECK_THAT(r.reason, Contains(tc.reason));
      CHECK(c->regressed() == (tc.expected == Verdict::Regressed));
      // Warm-ups (100x off) were left out.
      CHECK(r.base.n == tc.base.size());
      CHECK(r.current.n == tc.current.size());
    }
  }
}

TEST_CASE("compare: counters and cgroup statistics are diagnostics: shown, never the verdict", "[compare]") {
  // Ten samples a side; each sample carries the workload's ops, the
  // environment's cpu_ns_per_op and its parts, a cgroup statistic and a counter.
  auto run = [](const std::string& id, double ops, double ns_per_op, double sys_part, double peak, double faults) {
    ResultSet rs = fixture_run(id);
    for (int i = 0; i < 11; ++i) {
      Sample s;
      s.env = "bare";
      s.workload = "cpu.int";
      s.params = {{"threads", 1}};
      s.warmup = i == 0;
      s.round = i;
      const double wiggle = 1 + 0.001 * (i % 5);
      s.metrics = {Metric{"ops", ops * wiggle, "ops/s", Better::Higher}};
      s.env_metrics = {Metric{"cpu_ns_per_op", ns_per_op * wiggle, "ns/block", Better::Lower},
                       Metric{"cpu_ns_per_op.sys", sys_part * wiggle, "ns/block", Better::Lower},
                       Metric{"cgroup.memory_peak", peak * wiggle, "B", Better::Lower}};
      CounterReading pf;
      pf.name = "page-faults";
      pf.value = faults * wiggle;
      s.counters = {pf};
      rs.samples.push_back(s);
    }
    return rs;
  };
  SECTION("only diagnostics moved: no regression, and they are named as diagnostics") {
    auto c = compare_runs(run("vbA", 100, 500, 10, 1e6, 100), run("vbB", 100, 500, 30, 1.5e6, 300), {});
    REQUIRE(c.ok());
    CHECK_FALSE(c->regressed());
    CHECK(c->count(Verdict::Regressed) == 0);
    CHECK(c->count_diagnostic(Verdict::Regressed) == 3);
    for (const char* m : {"cpu_ns_per_op.sys", "cgroup.memory_peak", "page-faults"}) {
      INFO(m);
      REQUIRE(row(*c, m));
      CHECK(row(*c, m)->verdict == Verdict::Regressed);
      CHECK_FALSE(row(*c, m)->gates);
    }
    const std::string table = render_compare_table(*c, false);
    CHECK_THAT(table, Contains("no regression: 0 regressed"));
    CHECK_THAT(table, Contains("they do not gate): 3 regressed"));
    CHECK_THAT(table, Contains("regressed (diagnostic): bare cpu.int (threads=1) cgroup.memory_peak"));
    const auto j = render_compare_json(*c);
    CHECK(j["regressed"] == false);
    CHECK(j["counts"]["regressed"] == 0);
    CHECK(j["diagnostic_counts"]["regressed"] == 3);
    const std::string junit = render_compare_junit(*c);
    CHECK_THAT(junit, Contains("failures=\"0\""));
    CHECK_THAT(render_compare_markdown(*c), Contains("no regression"));
  }
  SECTION("the workload's metrics and the CPU time per operation gate") {
    auto c = compare_runs(run("vbA", 100, 500, 10, 1e6, 100), run("vbB", 80, 650, 10, 1e6, 100), {});
    REQUIRE(c.ok());
    CHECK(c->regressed());
    CHECK(c->count(Verdict::Regressed) == 2);
    CHECK(row(*c, "ops")->gates);
    CHECK(row(*c, "cpu_ns_per_op")->gates);
    CHECK_THAT(render_compare_junit(*c), Contains("failures=\"2\""));
  }
  SECTION("a suite's [compare] gate makes the diagnostics it names gate") {
    auto with_gate = [](ResultSet rs, nlohmann::json gate) {
      rs.meta.suite["compare"] = {{"gate", std::move(gate)}};
      return rs;
    };
    const nlohmann::json gate = {"cgroup.memory_peak", "cpu_ns_per_op.*", "no-such-counter"};
    auto c = compare_runs(with_gate(run("vbA", 100, 500, 10, 1e6, 100), gate),
                          with_gate(run("vbB", 100, 500, 30, 1.5e6, 300), gate), {});
    REQUIRE(c.ok());
    CHECK(c->regressed());
    CHECK(c->count(Verdict::Regressed) == 2);             // memory_peak and cpu_ns_per_op.sys
    CHECK(c->count_diagnostic(Verdict::Regressed) == 1);  // page-faults still only shown
    CHECK(row(*c, "cgroup.memory_peak")->gates);
    CHECK(row(*c, "cpu_ns_per_op.sys")->gates);
    CHECK_FALSE(row(*c, "page-faults")->gates);
    // An entry that matched nothing is said, not silently ignored.
    REQUIRE(c->warnings.size() == 1);
    CHECK_THAT(c->warnings[0], Contains("gate `no-such-counter` names no metric"));
    CHECK_THAT(render_compare_junit(*c), Contains("failures=\"2\""));
  }
  SECTION("gate = [\"*\"]: every diagnostic gates, as before diagnostics existed") {
    auto a = run("vbA", 100, 500, 10, 1e6, 100), b = run("vbB", 100, 500, 30, 1.5e6, 300);
    a.meta.suite["compare"] = b.meta.suite["compare"] = {{"gate", {"*"}}};
    auto c = compare_runs(a, b, {});
    REQUIRE(c.ok());
    CHECK(c->count(Verdict::Regressed) == 3);
    CHECK(c->count_diagnostic(Verdict::Regressed) == 0);
  }
  SECTION("a hostile gate list in a results file is refused") {
    auto a = run("vbA", 100, 500, 10, 1e6, 100), b = run("vbB", 100, 500, 10, 1e6, 100);
    for (const nlohmann::json& bad :
         {nlohmann::json("cgroup.*"), nlohmann::json({1}), nlohmann::json({""}),
          nlohmann::json({std::string(kMaxGateEntryLength + 1, 'x')}),
          nlohmann::json(std::vector<std::string>(kMaxGateEntries + 1, "x")), nlohmann::json({"cgroup.*.peak"}),
          nlohmann::json({"page\x1b[2Jfaults"}), nlohmann::json({std::string(kForeignCpusMetric)})}) {
      CAPTURE(bad.dump().substr(0, 80));
      b.meta.suite["compare"] = {{"gate", bad}};
      auto c = compare_runs(a, b, {});
      REQUIRE_FALSE(c.ok());
      CHECK_THAT(c.error().message, Contains("compare.gate"));
    }
  }
}

TEST_CASE("compare: a gate pattern is a metric name or a prefix ending in *", "[compare]") {
  CHECK(gate_matches("cgroup.memory_peak", "cgroup.memory_peak"));
  CHECK_FALSE(gate_matches("cgroup.memory_peak", "cgroup.memory_peak_x"));
  CHECK(gate_matches("cgroup.*", "cgroup.memory_peak"));
  CHECK_FALSE(gate_matches("cgroup.*", "cgroup"));
  CHECK(gate_matches("*", "page-faults"));
  CHECK_FALSE(gate_matches("", "page-faults"));
  CHECK(metric_gates("workload", "ops"));
  CHECK(metric_gates("env", "cpu_ns_per_op"));
  CHECK_FALSE(metric_gates("env", "cpu_ns_per_op.sys"));
  CHECK(metric_gates("env", "cpu_ns_per_op.sys", {"cpu_ns_per_op.*"}));
  CHECK_FALSE(metric_gates("counter", "page-faults", {"cpu_ns_per_op.*"}));
}

TEST_CASE("compare: the change and its CI", "[compare]") {
  ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
  add_values(a, "cpu.int", "ops", around(100, 0.01, 10));
  add_values(b, "cpu.int", "ops", around(80, 0.01, 10));
  auto c = compare_runs(a, b, {});
  REQUIRE(c.ok());
  const auto& r = c->rows.at(0);
  CHECK(r.change == Approx(-0.2).margin(1e-9));
  CHECK(r.change_ci_low <= r.change);
  CHECK(r.change_ci_high >= r.change);
  CHECK(r.change_ci_high < -0.15);
  CHECK(r.test.method == "exact");
  CHECK(r.test.p < 1e-4);
  CHECK(r.p_adjusted == Approx(r.test.p));  // a family of one
  // Same pair, same numbers: the bootstrap is seeded by the run ids.
  auto again = compare_runs(a, b, {});
  REQUIRE(again.ok());
  CHECK(again->rows.at(0).change_ci_low == r.change_ci_low);
}

TEST_CASE("compare: Holm's correction grows with the number of metrics", "[compare]") {
  // Six against six, completely separated: exact two-sided p = 2/924 = 0.00216.
  auto run_with = [](size_t nulls) {
    ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
    add_values(a, "cpu.int", "ops", around(100, 0.01, 6));
    add_values(b, "cpu.int", "ops", around(80, 0.01, 6));
    for (size_t i = 0; i < nulls; ++i) {
      add_values(a, "mem.latency", fmt::format("m{}", i), around(50, 0.01, 6), Better::Lower, "ns");
      add_values(b, "mem.latency", fmt::format("m{}", i), around(50, 0.01, 6), Better::Lower, "ns");
    }
    auto c = compare_runs(a, b, {});
    REQUIRE(c.ok());
    return *c;
  };
  const Comparison alone = run_with(0);
  CHECK(alone.tested == 1);
  CHECK(row(alone, "ops")->verdict == Verdict::Regressed);
  CHECK(row(alone, "ops")->test.p == Approx(2.0 / 924));

  const Comparison with20 = run_with(20);  // 21 * 0.00216 = 0.045 <= 0.05
  CHECK(with20.tested == 21);
  CHECK(row(with20, "ops")->p_adjusted == Approx(21 * 2.0 / 924));
  CHECK(row(with20, "ops")->verdict == Verdict::Regressed);

  const Comparison with30 = run_with(30);  // 31 * 0.00216 = 0.067 > 0.05
  CHECK(row(with30, "ops")->p_adjusted == Approx(31 * 2.0 / 924));
  CHECK(row(with30, "ops")->verdict == Verdict::Noisy);
  CHECK_THAT(row(with30, "ops")->reason, Contains("cannot reach"));
  CHECK_FALSE(with30.regressed());
  bool advice = false;
  for (const auto& w : with30.warnings) advice |= w.find("--repetitions 7") != std::string::npos;
  CHECK(advice);

  // A looser alpha brings it back.
  ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
  CompareOptions loose;
  loose.alpha = 0.1;
  add_values(a, "cpu.int", "ops", around(100, 0.01, 6));
  add_values(b, "cpu.int", "ops", around(80, 0.01, 6));
  for (size_t i = 0; i < 30; ++i) {
    add_values(a, "mem.latency", fmt::format("m{}", i), around(50, 0.01, 6), Better::Lower, "ns");
    add_values(b, "mem.latency", fmt::format("m{}", i), around(50, 0.01, 6), Better::Lower, "ns");
  }
  auto c = compare_runs(a, b, loose);
  REQUIRE(c.ok());
  CHECK(row(*c, "ops")->verdict == Verdict::Regressed);
}

TEST_CASE("compare: thresholds from the command line and the suite", "[compare]") {
  SECTION("threshold_for: the most specific key wins") {
    SuiteCompare s;
    s.thresholds = {{"cpu.*", 0.10}, {"cpu.int", 0.20}, {"cpu.int.ops", 0.30}, {"mem.latency", 0.02}};
    CHECK(threshold_for(s, "cpu.int", "ops", 0.05) == 0.30);
    CHECK(threshold_for(s, "cpu.int", "other", 0.05) == 0.20);
    CHECK(threshold_for(s, "cpu.fp", "ops", 0.05) == 0.10);
    CHECK(threshold_for(s, "mem.latency", "ns_4KiB", 0.05) == 0.02);
    CHECK(threshold_for(s, "os.fork", "rate", 0.05) == 0.05);
  }
  auto judged = [](const nlohmann::json& suite_compare, const CompareOptions& opts) {
    ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
    b.meta.suite = a.meta.suite = vbtest::fixture_suite("t", suite_compare);
    add_values(a, "cpu.int", "ops", around(100, 0.01, 10));
    add_values(b, "cpu.int", "ops", around(80, 0.01, 10));
    auto c = compare_runs(a, b, opts);
    REQUIRE(c.ok());
    return *c;
  };
  CHECK(judged(nullptr, {}).rows.at(0).verdict == Verdict::Regressed);
  CompareOptions wide;
  wide.threshold = 0.25;
  CHECK(judged(nullptr, wide).rows.at(0).verdict == Verdict::Unchanged);
  // The suite's default threshold, and its per-metric one over --threshold.
  CHECK(judged({{"threshold", 0.25}}, {}).rows.at(0).verdict == Verdict::Unchanged);
  CHECK(judged({{"threshold", 0.25}}, {}).threshold == 0.25);
  const Comparison per_metric = judged({{"thresholds", {{"cpu.int.ops", 0.3}}}}, CompareOptions{});
  CHECK(per_metric.rows.at(0).threshold == 0.3);
  CHECK(per_metric.rows.at(0).verdict == Verdict::Unchanged);
  CompareOptions narrow;
  narrow.threshold = 0.01;
  CHECK(judged({{"thresholds", {{"cpu.int", 0.3}}}}, narrow).rows.at(0).verdict == Verdict::Unchanged);
  // The suite's alpha applies unless --alpha says otherwise.
  CHECK(judged({{"alpha", 0.01}}, {}).alpha == 0.01);
  CompareOptions alpha;
  alpha.alpha = 0.2;
  CHECK(judged({{"alpha", 0.01}}, alpha).alpha == 0.2);
  // A broken [compare] in a results file is an input error.
  ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
  b.meta.suite = a.meta.suite = vbtest::fixture_suite("t", {{"thresholds", {{"cpu.int", -1}}}});
  add_values(a, "cpu.int", "ops", around(100, 0.01, 10));
  add_values(b, "cpu.int", "ops", around(80, 0.01, 10));
  auto bad = compare_runs(a, b, {});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Contains("cpu.int"));
}

TEST_CASE("compare: runs from different hosts or suites are refused unless forced", "[compare]") {
  ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
  add_values(a, "cpu.int", "ops", around(100, 0.01, 10));
  add_values(b, "cpu.int", "ops", around(100, 0.01, 10));
  REQUIRE(compare_runs(a, b, {}).ok());

  struct Case {
    const char* name;
    std::function<void(ResultSet&)> change;
    const char* named;
  };
  const std::vector<Case> cases = {
      {"another kernel", [](ResultSet& r) { r.meta.host = vbtest::fixture_host("box", "Linux 6.9"); },
       "host kernel: `Linux 6.1` vs `Linux 6.9`"},
      {"another machine", [](ResultSet& r) { r.meta.host = vbtest::fixture_host("other"); },
       "host hostname: `box` vs `other`"},
      {"another suite", [](ResultSet& r) { r.meta.suite["name"] = "quick"; }, "suite name: `t` vs `quick`"},
      {"other parameters", [](ResultSet& r) { r.meta.suite["workloads"][0]["param_sets"][0]["threads"] = 2; },
       "workload cpu.int parameters"},
      {"other knobs", [](ResultSet& r) { r.meta.suite["envs"][0]["knobs"]["cpuset"] = "1"; }, "env bare knobs"},
  };
  for (const auto& tc : cases) {
    SECTION(tc.name) {
      ResultSet other = b;
      tc.change(other);
      auto refused = compare_runs(a, other, {});
      REQUIRE_FALSE(refused.ok());
      CHECK_THAT(refused.error().message, Contains(tc.named));
      CHECK_THAT(refused.error().message, Contains("--force"));
      CompareOptions force;
      force.force = true;
      auto forced = compare_runs(a, other, force);
      REQUIRE(forced.ok());
      REQUIRE_FALSE(forced->warnings.empty());
      CHECK_THAT(forced->warnings[0], Contains(tc.named));
    }
  }
  SECTION("more workloads in one run is not a different suite") {
    ResultSet more = b;
    more.meta.suite["workloads"].push_back({{"name", "os.fork"}, {"param_sets", {nlohmann::json::object()}}});
    CHECK(compare_runs(a, more, {}).ok());
  }
}

TEST_CASE("compare: failed samples, and metrics in only one run", "[compare]") {
  ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
  add_values(a, "cpu.int", "ops", around(100, 0.01, 10));
  add_values(b, "cpu.int", "ops", around(100, 0.01, 10));
  // A failed sample in the current run carries no value and is not counted.
  Sample failed = b.samples.back();
  failed.ok = false;
  failed.error = "agent died";
  failed.metrics.clear();
  b.samples.push_back(failed);
  // mem.latency ran in the base only; in the current run it failed.
  add_values(a, "mem.latency", "ns_4KiB", around(5, 0.01, 10), Better::Lower, "ns");
  Sample lat_failed;
  lat_failed.env = "bare";
  lat_failed.workload = "mem.latency";
  lat_failed.params = {{"size", 4096}};
  lat_failed.ok = false;
  lat_failed.error = "out of memory";
  b.samples.push_back(lat_failed);
  // A new workload metric only in current.
  add_values(b, "cpu.int", "ops_new", around(7, 0.01, 10));

  auto c = compare_runs(a, b, {});
  REQUIRE(c.ok());
  REQUIRE(c->rows.size() == 1);
  CHECK(c->rows[0].current.n == 10);
  REQUIRE(c->unmatched.size() == 2);
  const auto& only_base = c->unmatched[0].only_in == "base" ? c->unmatched[0] : c->unmatched[1];
  const auto& only_current = c->unmatched[0].only_in == "base" ? c->unmatched[1] : c->unmatched[0];
  CHECK(only_base.metric == "ns_4KiB");
  CHECK_THAT(only_base.note, Contains("all 1 samples failed: out of memory"));
  CHECK(only_current.metric == "ops_new");
  CHECK_FALSE(c->regressed());
}

TEST_CASE("compare: the host's other work gets no verdict", "[compare]") {
  ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
  add_values(a, "cpu.int", "ops", around(100, 0.01, 10));
  add_values(b, "cpu.int", "ops", around(100, 0.01, 10));
  add_values(a, "cpu.int", "foreign_cpus", around(0.1, 0.01, 10), Better::Lower, "CPUs");
  add_values(b, "cpu.int", "foreign_cpus", around(1.5, 0.01, 10), Better::Lower, "CPUs");
  auto c = compare_runs(a, b, {});
  REQUIRE(c.ok());
  CHECK(row(*c, "ops"));
  CHECK_FALSE(row(*c, "foreign_cpus"));
  CHECK(c->unmatched.empty());
  CHECK_FALSE(c->regressed());
}

TEST_CASE("compare: JUnit, Markdown and terminal output escape what comes from results", "[compare]") {
  const std::string evil = "x<b>&\"'|@admin\x01\x1b[31m*_`[a](b)";
  ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
  add_values(a, "cpu.int", evil, around(100, 0.01, 10));
  add_values(b, "cpu.int", evil, around(70, 0.01, 10));
  add_values(a, "mem.latency", "gone</failure>", around(5, 0.01, 10), Better::Lower, "n<s>");
  a.meta.host["facts"][0]["value"] = "box";  // the same host, but...
  b.meta.started_at = "2024-<05>";
  auto c = compare_runs(a, b, {});
  REQUIRE(c.ok());
  REQUIRE(c->regressed());

  const std::string junit = render_compare_junit(*c);
  std::string why;
  CHECK(well_formed_xml(junit, why));
  INFO(why);
  CHECK(junit.find("<b>") == std::string::npos);
  CHECK(junit.find("x&lt;b&gt;&amp;&quot;&apos;|@admin") != std::string::npos);
  CHECK(junit.find("gone&lt;/failure&gt;") != std::string::npos);
  CHECK(junit.find("\x1b") == std::string::npos);
  CHECK(junit.find("<failure type=\"regression\"") != std::string::npos);
  CHECK(junit.find("failures=\"1\"") != std::string::npos);
  CHECK(junit.find("timestamp=\"2024-&lt;05&gt;\"") != std::string::npos);

  const std::string md = render_compare_markdown(*c);
  CHECK(md.find("<b>") == std::string::npos);
  CHECK(md.find("@admin") == std::string::npos);
  CHECK(md.find("&#64;admin") != std::string::npos);
  CHECK(md.find("\\|") != std::string::npos);
  CHECK(md.find("\x1b") == std::string::npos);
  CHECK(md.find("\\[a\\](b)") != std::string::npos);
  // Every table row keeps its 11 cell borders: no `|` from the metric name
  // splits a cell.
  size_t pos = 0;
  int rows = 0;
  while ((pos = md.find("\n| ", pos)) != std::string::npos) {
    const size_t end = md.find('\n', pos + 1);
    const std::string line = md.substr(pos + 1, end - pos - 1);
    int borders = 0;
    for (size_t i = 0; i < line.size(); ++i) borders += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    CHECK(borders == 11);
    ++rows;
    pos = end;
  }
  CHECK(rows >= 3);  // the header and the regression twice (summary and details)

  const std::string term = render_compare_table(*c, false);
  CHECK(term.find("\x1b") == std::string::npos);
  CHECK(term.find("REGRESSION") != std::string::npos);
  const std::string colored = render_compare_table(*c, true);
  CHECK(colored.find("\x1b[31m") != std::string::npos);  // ours, for the verdict

  const nlohmann::json j = render_compare_json(*c);
  CHECK(j["regressed"] == true);
  CHECK(j["counts"]["regressed"] == 1);
  CHECK(j["rows"][0]["metric"] == evil);
  CHECK(j["rows"][0]["verdict"] == "regressed");
  CHECK(j["unmatched"][0]["only_in"] == "base");
}

TEST_CASE("escaping helpers", "[compare]") {
  CHECK(xml_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;");
  CHECK(xml_escape("tab\tnl\n") == "tab\tnl\n");
  CHECK(xml_escape(std::string("nul\0x", 5)) == "nul\xEF\xBF\xBDx");
  CHECK(utf8_sanitize("ok \xC3\xA9") == "ok \xC3\xA9");
  CHECK(utf8_sanitize("bad \xC3") == "bad \xEF\xBF\xBD");
  CHECK(utf8_sanitize("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  CHECK(utf8_sanitize("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  CHECK(markdown_escape("a|b\nc @d <e>") == "a\\|b<br>c &#64;d &lt;e&gt;");
  CHECK(terminal_safe("a\x1b[2Jb") == "a?[2Jb");
}

TEST_CASE("compare: the Markdown of a large comparison fits in one PR comment and says what it left out", "[compare]") {
  // 1,500 metrics, half of them 30% slower: far more than a comment holds.
  ResultSet a = fixture_run("vbA"), b = fixture_run("vbB");
  for (size_t i = 0; i < 1500; ++i) {
    const std::string m = fmt::format("metric_with_a_long_name_{}", i);
    add_values(a, "mem.latency", m, around(50, 0.01, 12), Better::Lower, "ns");
    add_values(b, "mem.latency", m, around(i % 2 ? 65 : 50, 0.01, 12), Better::Lower, "ns");
  }
  auto c = compare_runs(a, b, {});
  REQUIRE(c.ok());
  REQUIRE(c->count(Verdict::Regressed) == 750);
  const std::string md = render_compare_markdown(*c);
  CHECK(md.size() <= kMarkdownCommentLimit);
  CHECK(md.size() > kMarkdownCommentLimit * 9 / 10);  // and it uses the room it has
  CHECK_THAT(md, Contains("750 regressed"));
  CHECK_THAT(md, Contains("more notable metrics are left out here"));
  CHECK_THAT(md, Contains("more metrics are left out: a comment holds at most 65536 characters"));
  CHECK_THAT(md, Contains("</details>"));
  // Whole rows only: every table line ends with its border.
  size_t pos = 0;
  while ((pos = md.find("\n| ", pos)) != std::string::npos) {
    const size_t end = md.find('\n', pos + 1);
    CHECK(md.substr(pos + 1, end - pos - 1).back() == '|');
    pos = end;
  }
}
