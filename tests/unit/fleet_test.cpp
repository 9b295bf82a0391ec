// The fleet report's logic: which hosts an inventory names, which runs may be
// reported together, where overheads differ between hosts, and the CSV/HTML
// it writes from hostile host names.
#include "reports/fleet.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "cli/cli_fleet.hpp"
#include "compare_fixtures.hpp"

using namespace vbench;
using namespace vbtest;

namespace {

SummaryRow ratio_row(const std::string& env, const std::string& metric, double value, double lo, double hi,
                     size_t n = 5) {
  SummaryRow r;
  r.env = env;
  r.workload = "net.tcp_rr";
  r.params = "size=14";
  r.metric = metric;
  r.unit = "us";
  r.better = Better::Lower;
  r.baseline_env = "bare";
  r.has_ratio = true;
  r.ratio.value = value;
  r.ratio.ci_low = lo;
  r.ratio.ci_high = hi;
  r.ratio.n_env = r.ratio.n_base = n;
  r.status = "ok";
  return r;
}

FleetMember member(const std::string& host, std::vector<SummaryRow> rows) {
  FleetMember m;
  m.host = host;
  m.source = "/r/" + host;
  m.results = fixture_run("run-" + host);
  m.results.meta.host = fixture_host(host);
  m.results.meta.suite = fixture_suite();
  m.summary.rows = std::move(rows);
  return m;
}

}  // namespace

TEST_CASE("inventory hosts: groups in order, children, ungrouped hosts, names that make paths", "[fleet]") {
  const std::string inv = R"({
    "_meta": {"hostvars": {"a": {}, "b": {}, "c": {}, "lonely": {}}},
    "all": {"children": ["ungrouped", "web", "db"]},
    "web": {"hosts": ["b", "a"]},
    "db": {"hosts": ["c", "a"]},
    "ungrouped": {"hosts": []}
  })";
  auto h = inventory_hosts(inv);
  REQUIRE(h.ok());
  CHECK(*h == std::vector<std::string>{"b", "a", "c", "lonely"});
  CHECK_FALSE(inventory_hosts("not json").ok());
  CHECK_FALSE(inventory_hosts("[1, 2]").ok());
  auto bad = inventory_hosts(R"({"all": {"hosts": ["../etc"]}})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("../etc") != std::string::npos);
}

TEST_CASE("fleet check: the same suite and vbench, or refused naming the host and the difference", "[fleet]") {
  Fleet f;
  f.members = {member("a", {}), member("b", {})};
  CHECK(check_fleet(f, false).ok());

  f.members[1].results.meta.suite = fixture_suite("other");
  auto s = check_fleet(f, false);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("host b") != std::string::npos);
  CHECK(s.error().message.find("suite name") != std::string::npos);
  REQUIRE(check_fleet(f, true).ok());
  REQUIRE(f.warnings.size() == 1);
  CHECK(f.warnings[0].find("mixed runs") != std::string::npos);

  Fleet v;
  v.members = {member("a", {}), member("b", {})};
  v.members[1].results.meta.vbench_version = "9.9.9";
  s = check_fleet(v, false);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("vbench version") != std::string::npos);

  Fleet d;
  d.members = {member("a", {}), member("a", {})};
  CHECK_FALSE(check_fleet(d, true).ok());
  Fleet none;
  CHECK_FALSE(check_fleet(none, false).ok());
}

TEST_CASE("fleet analysis: a ratio differs when its hosts' CIs do not overlap", "[fleet]") {
  Fleet f;
  f.members = {
      member("a", {ratio_row("container", "lat_p50", 1.8, 1.7, 1.9), ratio_row("container", "lat_p99", 1.3, 1.1, 1.5),
                   ratio_row("container", "tps", 0.9, 0.8, 1.0, 2)}),
      member("b", {ratio_row("container", "lat_p50", 1.2, 1.1, 1.3), ratio_row("container", "lat_p99", 1.4, 1.2, 1.6),
                   ratio_row("container", "tps", 0.5, 0.45, 0.55)}),
      member("c", {ratio_row("container", "lat_p50", 1.5, 1.4, 1.6)})};
  const FleetAnalysis a = analyze_fleet(f);
  CHECK(a.compared == 3);
  CHECK(a.too_few == 1);  // tps: host a had 2 repetitions
  REQUIRE(a.differences.size() == 1);
  const auto& d = a.differences[0];
  CHECK(d.metric == "lat_p50");
  REQUIRE(d.ratios.size() == 3);
  CHECK(d.ratios.front().host == "b");
  CHECK(d.ratios.back().host == "a");
  CHECK(difference_text(d) ==
        "container net.tcp_rr lat_p50 overhead 1.80× [1.70, 1.90] on a, 1.50× [1.40, 1.60] on c, 1.20× [1.10, 1.30] "
        "on b");
}

TEST_CASE("fleet CSV and HTML: host column, hostile host names stay data", "[fleet]") {
  Fleet f;
  f.members = {member("a,1", {ratio_row("container", "lat_p50", 1.8, 1.7, 1.9)}),
               member("<script>alert(1)</script>", {ratio_row("container", "lat_p50", 1.2, 1.1, 1.3)})};
  f.failures = {{"down\x1b]0;pwned\x07", "UNREACHABLE <b>"}};
  const std::string csv = render_fleet_csv(f);
  CHECK(csv.rfind("host,env,workload,params,metric,", 0) == 0);
  CHECK(csv.find("\n\"a,1\",container,net.tcp_rr,") != std::string::npos);
  const std::string html = render_fleet_html(f);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)") != std::string::npos);
  CHECK(html.find("script-src 'none'") != std::string::npos);
  CHECK(html.find("id=\"findings\"") != std::string::npos);
  CHECK(html.find("id=\"ratios\"") != std::string::npos);
  CHECK(html.find("UNREACHABLE &lt;b&gt;") != std::string::npos);
  CHECK(html.find('\x1b') == std::string::npos);
  const std::string table = render_fleet_table(f, false);
  CHECK(table.find('\x1b') == std::string::npos);
  CHECK(table.find("FAILED") != std::string::npos);
  CHECK(render_fleet_markdown(f).find("overhead(s) differ between hosts") != std::string::npos);
  CHECK(render_fleet_for_path("x.json", f).ok());
  CHECK_FALSE(render_fleet_for_path("x.pdf", f).ok());
}
