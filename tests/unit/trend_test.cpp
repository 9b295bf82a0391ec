#include "store/trend.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <regex>

#include "analysis/summary.hpp"
#include "compare_fixtures.hpp"
#include "core/fs.hpp"
#include "reports/reports.hpp"
#include "reports/trend_svg.hpp"

using namespace vbench;
using Catch::Matchers::Contains;
using vbtest::add_values;
using vbtest::around;
using vbtest::fixture_run;
using vbtest::well_formed_xml;

namespace {

// Four runs: cpu.int ops 100, 100, 70 (a regression), 70; mem.latency
// ns_4KiB from the second run on, missing in the third.
std::vector<TrendRun> four_runs() {
  std::vector<TrendRun> runs;
  const double ops[] = {100, 100, 70, 70};
  for (int i = 0; i < 4; ++i) {
    TrendRun r;
    r.run.id = i + 1;
    r.run.git_commit = fmt::format("{:02}c0ffee0000", i);
    r.results = fixture_run(fmt::format("vb24050110000{}-aaaaaa", i));
    r.results.meta.started_at = fmt::format("2024-05-0{}T10:00:00Z", i + 1);
    add_values(r.results, "cpu.int", "ops", around(ops[i], 0.01, 8));
    if (i == 1 || i == 3) add_values(r.results, "mem.latency", "ns_4KiB", around(2, 0.01, 8), Better::Lower, "ns");
    runs.push_back(std::move(r));
  }
  return runs;
}

const TrendSeries* find(const std::vector<TrendSeries>& all, const std::string& metric) {
  for (const auto& s : all)
    if (s.metric == metric) return &s;
  return nullptr;
}

std::vector<double> attr_values(const std::string& svg, const std::string& attr) {
  std::vector<double> out;
  const std::regex re(" " + attr + "=\"([-0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(std::stod((*it)[1]));
  return out;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("trend: series over runs with regressions marked", "[trend]") {
  const auto series = build_trends(four_runs(), {});
  REQUIRE(series.size() == 2);
  const TrendSeries* ops = find(series, "ops");
  REQUIRE(ops);
  CHECK(ops->workload == "cpu.int");
  CHECK(ops->unit == "ops/s");
  REQUIRE(ops->points.size() == 4);
  CHECK(ops->points[0].median == Approx(100));
  CHECK(ops->points[2].median == Approx(70));
  CHECK(ops->points[2].ci_low <= 70);
  CHECK(ops->points[2].ci_high >= 70);
  CHECK(ops->points[2].git_commit == "02c0ffee0000");
  CHECK(ops->points[2].history_id == 3);
  for (size_t i = 0; i < 4; ++i) {
    INFO(i);
    CHECK(ops->points[i].regressed == (i == 2));
  }
  CHECK_THAT(ops->points[2].note, Contains("-30.0%"));

  const TrendSeries* lat = find(series, "ns_4KiB");
  REQUIRE(lat);
  REQUIRE(lat->points.size() == 4);  // a shared x axis: gaps where a run has no value
  CHECK(std::isnan(lat->points[0].median));
  CHECK(lat->points[1].median == Approx(2));
  CHECK(std::isnan(lat->points[2].median));
  CHECK(lat->points[3].run_id == ops->points[3].run_id);
  CHECK_FALSE(lat->points[3].regressed);
}

TEST_CASE("trend: from the history store, one suite on one host", "[trend]") {
  char t[] = "/tmp/vbench-trend-test-XXXXXX";
  REQUIRE(mkdtemp(t) != nullptr);
  const std::string dir = t;
  {
    auto store = HistoryStore::open(dir + "/h.db");
    REQUIRE(store.ok());
    auto runs = four_runs();
    for (auto& r : runs) {
      const auto& rs = r.results;
      const std::string text = dump_json(render_json(rs, summarize_run(rs, rs.meta.baseline_env, rs.meta.seed)));
      REQUIRE(store->add(rs, text, HistoryRecord{r.run.git_commit, "main", "test"}).ok());
    }
    // Another machine's run of the same suite stays out.
    ResultSet elsewhere = fixture_run("vb240601000000-ffffff");
    elsewhere.meta.host = vbtest::fixture_host("other");
    add_values(elsewhere, "cpu.int", "ops", around(10, 0.01, 8));
    REQUIRE(store->add(elsewhere, dump_json(render_json(elsewhere, summarize_run(elsewhere, "bare", 1))), {}).ok());

    TrendQuery q;
    q.suite = "t";
    q.host_fingerprint = runs[0].results.meta.host["fingerprint"];
    auto series = history_trends(*store, q);
    REQUIRE(series.ok());
    const TrendSeries* ops = find(*series, "ops");
    REQUIRE(ops);
    REQUIRE(ops->points.size() == 4);
    CHECK(ops->points[2].regressed);
    CHECK(ops->points[3].git_branch == "main");
    q.max_runs = 2;  // the newest two
    auto last2 = history_trends(*store, q);
    REQUIRE(last2.ok());
    REQUIRE(find(*last2, "ops")->points.size() == 2);
    CHECK(find(*last2, "ops")->points[0].history_id == 3);
    CHECK_FALSE(find(*last2, "ops")->points[0].regressed);  // nothing before it to compare with
    q.max_runs = 30;
    q.branch = "main";  // the other host's run was recorded without one anyway
    CHECK(find(*history_trends(*store, q), "ops")->points.size() == 4);
    q.branch = "feature";
    CHECK(history_trends(*store, q)->empty());
    q.suite.clear();
    CHECK_FALSE(history_trends(*store, q).ok());
  }
  (void)remove_tree(dir);
}

TEST_CASE("trend SVG: band, line, points and the regression", "[trend]") {
  auto series = build_trends(four_runs(), {});
  TrendSeries s = *find(series, "ops");
  s.metric = "ops<&>\"";  // from a results file: must be escaped
  s.points[1].git_branch = "</title><script>alert(1)</script>";
  TrendSvgOptions o;
  o.width = 400;
  o.height = 150;
  const std::string svg = render_trend_svg(s, o);
  std::string why;
  INFO(svg);
  CHECK(well_formed_xml(svg, why));
  INFO(why);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("viewBox=\"0 0 400 150\"") != std::string::npos);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("ops&lt;&amp;&gt;&quot;") != std::string::npos);
  CHECK(count(svg, "<circle") == 4);
  CHECK(count(svg, "class=\"point regressed\"") == 1);
  CHECK(count(svg, "<polygon class=\"ci\"") == 1);
  CHECK(count(svg, "<polyline class=\"median\"") == 1);
  CHECK(svg.find("REGRESSED vs the previous run") != std::string::npos);
  CHECK(svg.find(">00c0ffee<") != std::string::npos);  // first and last commits label the x axis
  CHECK(svg.find(">03c0ffee<") != std::string::npos);
  const auto cx = attr_values(svg, "cx"), cy = attr_values(svg, "cy");
  REQUIRE(cx.size() == 4);
  REQUIRE(cy.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(cx[i] >= 0);
    CHECK(cx[i] <= 400);
    CHECK(cy[i] >= 0);
    CHECK(cy[i] <= 150);
    if (i) CHECK(cx[i] > cx[i - 1]);
  }
  CHECK(cy[2] > cy[1]);  // 70 is drawn below 100
  CHECK(cy[3] == Approx(cy[2]));
}

TEST_CASE("trend SVG: gaps, a single point, no data", "[trend]") {
  auto series = build_trends(four_runs(), {});
  const std::string gaps = render_trend_svg(*find(series, "ns_4KiB"));
  std::string why;
  CHECK(well_formed_xml(gaps, why));
  CHECK(count(gaps, "<circle") == 2);                     // runs 2 and 4
  CHECK(count(gaps, "<polyline class=\"median\"") == 0);  // no two neighbours to join
  CHECK(count(gaps, "<line class=\"ci\"") == 2);          // lone points get an error bar

  TrendSeries one = *find(series, "ops");
  one.points.resize(1);
  const std::string single = render_trend_svg(one);
  CHECK(well_formed_xml(single, why));
  CHECK(count(single, "<circle") == 1);
  CHECK(count(single, "<line class=\"ci\"") == 1);

  TrendSeries flat = one;
  flat.points[0].ci_low = flat.points[0].ci_high = flat.points[0].median;
  CHECK(render_trend_svg(flat).find("nan") == std::string::npos);

  TrendSeries empty = one;
  empty.points.clear();
  const std::string none = render_trend_svg(empty);
  CHECK(well_formed_xml(none, why));
  CHECK(none.find("no data") != std::string::npos);
}

TEST_CASE("trend: change points are marked on the series and the chart", "[trend][changepoint]") {
  // Twelve runs: ops 100 for six, then 85 for six; latency flat throughout.
  std::vector<TrendRun> runs;
  for (int i = 0; i < 12; ++i) {
    TrendRun r;
    r.run.id = i + 1;
    r.results = fixture_run(fmt::format("vb2405011000{:02}-aaaaaa", i));
    add_values(r.results, "cpu.int", "ops", around((i < 6 ? 100 : 85) * (1 + 0.003 * (i % 3)), 0.01, 8));
    add_values(r.results, "mem.latency", "ns_4KiB", around(2, 0.01, 8), Better::Lower, "ns");
    runs.push_back(std::move(r));
  }
  const auto series = build_trends(runs, {});
  const TrendSeries* ops = find(series, "ops");
  REQUIRE(ops);
  REQUIRE(ops->points.size() == 12);
  for (size_t i = 0; i < 12; ++i) {
    INFO(i);
    CHECK(ops->points[i].change_point == (i == 6));
  }
  CHECK_THAT(ops->points[6].change_note, Contains("regression -15."));
  for (const auto& p : find(series, "ns_4KiB")->points) CHECK_FALSE(p.change_point);

  const std::string svg = render_trend_svg(*ops);
  std::string why;
  CHECK(well_formed_xml(svg, why));
  INFO(why);
  CHECK(count(svg, "<line class=\"change-point\"") == 1);
  CHECK(svg.find("CHANGE POINT: first run after a regression") != std::string::npos);
  CHECK(render_trend_svg(*find(series, "ns_4KiB")).find("change-point") == std::string::npos);
}
