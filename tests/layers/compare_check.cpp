// `vbench compare`'s whole path, linked against vbench_reports alone (the
// result model, analysis, the history store and the renderers): no suite
// loader, no workload table, no driver. If a change makes comparison or
// rendering need them, this program stops linking and the build fails.
//
// It also runs: two synthetic runs are written as results.json text, read
// back, compared and rendered in every format; the current run is 20%
// slower on a lower-is-better metric, which must be `regressed`.
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "analysis/compare.hpp"
#include "analysis/summary.hpp"
#include "compare_fixtures.hpp"
#include "model/results.hpp"
#include "reports/compare_formats.hpp"
#include "reports/reports.hpp"

namespace {

vbench::Result<vbench::ResultSet> round_trip(const vbench::ResultSet& rs, const std::string& name) {
  const vbench::RunSummary summary = vbench::summarize_run(rs, rs.meta.baseline_env, rs.meta.seed);
  return vbench::parse_results(vbench::dump_json(vbench::render_json(rs, summary)), name);
}

int fail(const std::string& why) {
  fmt::print(stderr, "compare_check: {}\n", why);
  return 1;
}

}  // namespace

int main() {
  vbench::ResultSet base = vbtest::fixture_run("base");
  vbench::ResultSet current = vbtest::fixture_run("current");
  vbtest::add_values(base, "mem.latency", "ns", vbtest::around(100, 0.01, 8), vbench::Better::Lower, "ns");
  vbtest::add_values(current, "mem.latency", "ns", vbtest::around(120, 0.01, 8), vbench::Better::Lower, "ns");

  auto b = round_trip(base, "base.json");
  auto c = round_trip(current, "current.json");
  if (!b) return fail(b.error().message);
  if (!c) return fail(c.error().message);
  auto cmp = vbench::compare_runs(*b, *c, {});
  if (!cmp) return fail(cmp.error().message);
  if (cmp->rows.size() != 1) return fail(fmt::format("{} rows compared, expected 1", cmp->rows.size()));
  if (!cmp->regressed()) return fail(fmt::format("not regressed: {}", cmp->rows[0].reason));

  const std::string md = vbench::render_compare_markdown(*cmp);
  const std::string junit = vbench::render_compare_junit(*cmp);
  const std::string json = vbench::dump_json(vbench::render_compare_json(*cmp));
  const std::string table = vbench::render_compare_table(*cmp, false);
  for (const auto* out : {&md, &junit, &json, &table})
    if (out->find("mem.latency") == std::string::npos) return fail("a rendering does not name mem.latency");
  if (junit.find("<failure") == std::string::npos) return fail("JUnit has no <failure> for the regression");
  fmt::print("compare_check: regressed as expected; linked without workloads and drivers\n");
  return 0;
}
