// From a table to an answer: findings (significant overheads sorted by size,
// workloads without measurable overhead, the forest plot), warnings grouped
// by cause, lifecycle rows, the minimum detectable effect, and the placement
// plan.
#include "reports/findings.hpp"

#include <fmt/format.h>
#include <sched.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <thread>

#include "analysis/summary.hpp"
#include "drivers/placement.hpp"
#include "reports/reports.hpp"

using namespace vbench;

namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

Sample sample(const std::string& env, const std::string& workload, int round, std::vector<Metric> metrics) {
  Sample s;
  s.env = env;
  s.workload = workload;
  s.params = {{"duration", 0.3}};
  s.round = round;
  s.metrics = std::move(metrics);
  return s;
}

// bare and container, 8 repetitions: container's tcp_stream throughput 20%
// lower (significant), tcp_rr p50 latency 50% higher (significant), cpu.int
// the same within 1% (no measurable overhead), os.syscall very noisy on both
// sides (inconclusive).
ResultSet comparison() {
  ResultSet rs;
  rs.meta.run_id = "vb261201000000-fffff0";
  rs.meta.baseline_env = "bare";
  rs.meta.suite = {
      {"name", "t"},
      {"workloads",
       {{{"name", "cpu.int"}}, {{"name", "net.tcp_stream"}}, {{"name", "net.tcp_rr"}}, {{"name", "os.syscall"}}}}};
  rs.envs = {EnvRecord{"bare", "bare", "bare", true, "", {{"start_s", 0.003, "s", Better::Lower}}, {}, {}, {}},
             EnvRecord{"container",
                       "container",
                       "container",
                       true,
                       "",
                       {{"start_s", 0.012, "s", Better::Lower}, {"teardown_s", 0.04, "s", Better::Lower}},
                       {},
                       {},
                       {}}};
  for (int i = 0; i < 8; ++i) {
    const double wobble = (i % 4) * 0.001;  // tiny spread, so that CIs are narrow
    for (const auto& [env, c] : {std::pair<std::string, bool>{"bare", false}, {"container", true}}) {
      rs.samples.push_back(sample(env, "cpu.int", i, {{"ops", 1000 * (1 + wobble), "ops/s", Better::Higher}}));
      rs.samples.push_back(sample(env, "net.tcp_stream", i,
                                  {{"throughput", (c ? 8000 : 10000) * (1 + wobble), "Mbit/s", Better::Higher}}));
      rs.samples.push_back(
          sample(env, "net.tcp_rr", i, {{"lat_p50", (c ? 30 : 20) * (1 + wobble), "us", Better::Lower}}));
      // 50% swings both ways: no conclusion possible from 8 samples.
      rs.samples.push_back(
          sample(env, "os.syscall", i, {{"ns_per_call", (i % 2 ? 150.0 : 60.0) + (c ? 3 : 0), "ns", Better::Lower}}));
    }
  }
  return rs;
}

}  // namespace

TEST_CASE("findings: significant overheads sorted by size, the rest classified", "[findings]") {
  const ResultSet rs = comparison();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const EnvGrid grid = compare_envs(rs, sum);  // the findings point into it
  const Findings f = find_overheads(grid);
  CHECK(f.baseline == "bare");
  REQUIRE(f.envs.size() == 1);
  const EnvFindings& e = f.envs[0];
  CHECK(e.env == "container");
  // Lifecycle: start_s 4× (one value per side: unconfirmed, not significant).
  REQUIRE(e.significant.size() == 2);
  CHECK(e.significant[0].line->workload == "net.tcp_rr");  // +50% before −20%
  CHECK(e.significant[0].text.rfind("net.tcp_rr lat_p50 +50%", 0) == 0);
  CHECK(e.significant[1].text.rfind("net.tcp_stream throughput −20% [", 0) == 0);
  CHECK(e.significant[1].change == Approx(-0.2).margin(0.005));
  CHECK(e.significant[1].change_lo <= e.significant[1].change);
  CHECK(e.significant[1].change_hi >= e.significant[1].change);
  REQUIRE(e.no_overhead.size() == 1);
  CHECK(e.no_overhead[0].rfind("cpu.int (none larger than ", 0) == 0);
  REQUIRE(e.inconclusive.size() == 1);
  CHECK(e.inconclusive[0].rfind("os.syscall", 0) == 0);
  bool start = false;
  for (const auto& u : e.unconfirmed) start |= u.text.rfind("lifecycle start_s +300%", 0) == 0;
  CHECK(start);
  CHECK(percent_change_text(-0.194) == "−19%");
  CHECK(percent_change_text(0.032) == "+3.2%");
}

TEST_CASE("findings: lifecycle metrics are rows of their own", "[findings]") {
  const ResultSet rs = comparison();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const SummaryRow* start = nullptr;
  const SummaryRow* teardown = nullptr;
  for (const auto& r : sum.rows) {
    if (r.env == "container" && r.workload == "lifecycle" && r.metric == "start_s") start = &r;
    if (r.env == "container" && r.workload == "lifecycle" && r.metric == "teardown_s") teardown = &r;
  }
  REQUIRE(start);
  CHECK(start->source == "lifecycle");
  CHECK(start->stats.median == 0.012);
  REQUIRE(start->has_ratio);
  CHECK(start->ratio.value == Approx(4.0));
  REQUIRE(teardown);
  CHECK_FALSE(teardown->has_ratio);  // bare has no teardown_s
  const std::string csv = render_summary_csv(sum);
  CHECK(csv.find("container,lifecycle,,start_s,s,lower,1,0.012,") != std::string::npos);
}

TEST_CASE("findings open report.html and report.md, with a forest plot", "[findings][html][markdown]") {
  const ResultSet rs = comparison();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const std::string html = render_html(rs, sum);
  const size_t findings = html.find("<section id=\"findings\">");
  REQUIRE(findings != std::string::npos);
  CHECK(findings < html.find("<section id=\"summary\">"));
  const size_t end = html.find("</section>", findings);
  const std::string sec = html.substr(findings, end - findings);
  CHECK(sec.find("net.tcp_rr lat_p50 +50%") < sec.find("net.tcp_stream throughput −20%"));
  CHECK(sec.find("No measurable overhead") != std::string::npos);
  CHECK(sec.find("cpu.int (none larger than") != std::string::npos);
  // The forest plot: one row label per workload · metric with a ratio
  // (4 workload metrics + start_s), a line at 1, one marker (circle for the
  // first series... here container is series 1: a square) per row.
  REQUIRE(sec.find("<figure class=\"forest\"><svg") != std::string::npos);
  CHECK(count_of(sec, "<line class=\"one\"") == 1);
  CHECK(sec.find("net.tcp_stream throughput</text>") == std::string::npos);  // labels carry a <title>
  CHECK(count_of(sec, "<title>net.tcp_stream throughput</title>") == 1);
  CHECK(count_of(sec, "<title>lifecycle start_s</title>") == 1);
  CHECK(count_of(sec, "<path class=\"wh\"") == 4);  // CIs for the 4 repeated metrics, none for start_s

  const std::string md = render_markdown(rs, sum);
  const size_t mf = md.find("### Findings");
  REQUIRE(mf != std::string::npos);
  CHECK(mf < md.find("| Workload |"));
  CHECK(md.find("- ▲ net.tcp\\_rr lat\\_p50 +50%") != std::string::npos);
  CHECK(md.find("- ▲ net.tcp\\_stream throughput −20%") != std::string::npos);
}

TEST_CASE("warnings: one line per cause with a count and the worst example", "[findings][warnings]") {
  ResultSet rs = comparison();
  // More noise: two more noisy metrics of different size.
  for (int i = 0; i < 4; ++i) {
    rs.samples.push_back(sample("bare", "os.fork", i, {{"rate", i % 2 ? 100.0 : 300.0, "ops/s", Better::Higher}}));
    rs.samples.push_back(sample("bare", "os.exec", i, {{"rate", i % 2 ? 100.0 : 130.0, "ops/s", Better::Higher}}));
  }
  const RunSummary sum = summarize_run(rs, "bare", 1);
  REQUIRE(sum.warnings.size() == sum.warning_groups.size());
  size_t noisy = 0;
  for (const auto& g : sum.warning_groups) {
    CHECK(g.line.find('\n') == std::string::npos);
    if (g.cause != "noisy") continue;
    ++noisy;
    // os.syscall on both envs, os.fork and os.exec on bare.
    CHECK(g.details.size() == 4);
    CHECK(g.line.rfind("noisy: 4 metric(s) with CV above 5%, worst bare os.fork", 0) == 0);
    CHECK(g.details.front().find("os.fork") != std::string::npos);
  }
  CHECK(noisy == 1);
  const std::string md = render_markdown(rs, sum);
  CHECK(count_of(md, "- noisy:") == 1);
  const std::string html = render_html(rs, sum);
  CHECK(html.find("<details><summary>all 4</summary>") != std::string::npos);
}

TEST_CASE("warnings: a busy host is one line naming the cell with the most other work", "[findings][warnings]") {
  ResultSet rs = comparison();
  auto busy_group = [](const RunSummary& sum) -> const WarningGroup* {
    for (const auto& g : sum.warning_groups)
      if (g.cause == "busy-host") return &g;
    return nullptr;
  };
  // Other work by sample (CPUs): cpu.int on bare 1.2 on average, net.tcp_rr
  // on container 0.8, os.syscall on bare 0.3 (one unlucky sample of 0.9
  // does not make a 0.5 mean).
  auto foreign = [&](const std::string& env, const std::string& workload, std::vector<double> xs) {
    for (auto& s : rs.samples)
      if (s.env == env && s.workload == workload && !xs.empty()) {
        s.env_metrics.push_back(Metric{"foreign_cpus", xs.front(), "CPUs", Better::Lower});
        xs.erase(xs.begin());
      }
  };
  CHECK_FALSE(busy_group(summarize_run(rs, "bare", 1)));  // no readings: no warning
  foreign("bare", "os.syscall", {0.9, 0.2, 0.1, 0.1, 0.2, 0.3, 0.3, 0.3});
  CHECK_FALSE(busy_group(summarize_run(rs, "bare", 1)));
  foreign("bare", "cpu.int", {1.1, 1.3, 1.2, 1.2, 1.1, 1.3, 1.2, 1.2});
  foreign("container", "net.tcp_rr", {0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8});
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const WarningGroup* g = busy_group(sum);
  REQUIRE(g);
  INFO(g->line);
  CHECK(g->line.rfind("busy host: other work used over 0.5 CPU on average during 2 cell(s), worst bare cpu.int", 0) ==
        0);
  CHECK(g->line.find("1.2 CPUs (max 1.3)") != std::string::npos);
  REQUIRE(g->details.size() == 2);
  CHECK(g->details[1].find("container net.tcp_rr") != std::string::npos);
  CHECK(count_of(render_markdown(rs, sum), "- busy host:") == 1);
}

TEST_CASE("minimum detectable effect: 2.8 × the combined relative standard error", "[findings][mde]") {
  // cv 5% on both sides, 10 values each: 2.8016 × sqrt(2 × 0.0025 / 10).
  CHECK(minimum_detectable_effect(0.05, 10, 0.05, 10) == Approx(2.801585 * std::sqrt(0.0005)).epsilon(1e-5));
  CHECK(std::isnan(minimum_detectable_effect(0.05, 1, 0.05, 10)));
  CHECK(std::isnan(minimum_detectable_effect(NAN, 5, 0.05, 10)));
  const ResultSet rs = comparison();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  for (const auto& r : sum.rows)
    if (r.workload != "lifecycle") {
      INFO(r.env << " " << r.workload << " " << r.metric);
      CHECK(std::isfinite(r.mde));
      CHECK(r.mde > 0);
    }
  CHECK(render_summary_csv(sum).find(",status,mde\n") != std::string::npos);
}

TEST_CASE("placement: spread keeps agent and peer apart, the same CPUs everywhere", "[placement]") {
  auto spread2 = plan_placement(Placement::Spread, true, 2);
  CHECK(spread2.agent == std::vector<int>{0});
  CHECK(spread2.peer == std::vector<int>{1});
  CHECK(plan_placement(Placement::Spread, false, 2).agent == std::vector<int>{0, 1});
  auto spread4 = plan_placement(Placement::Spread, true, 4);
  CHECK(spread4.agent == std::vector<int>{0, 1, 2});
  CHECK(spread4.peer == std::vector<int>{3});
  // One CPU: nothing to spread over; doctor says why.
  CHECK(plan_placement(Placement::Spread, true, 1).peer == std::vector<int>{0});
  CHECK_FALSE(placement_limitation(1).empty());
  CHECK(placement_limitation(2).empty());
  CHECK(plan_placement(Placement::Same, true, 8).agent == std::vector<int>{0});
  CHECK(plan_placement(Placement::Same, true, 8).peer == std::vector<int>{0});
  CHECK(plan_placement(Placement::None, true, 8).agent.empty());
  CHECK(plan_placement(Placement::None, true, 8).peer.empty());
  CHECK_THAT(choose(kPlacements, "placement", std::string_view("everywhere")).error().message,
             Catch::Equals("placement = \"everywhere\": expected spread, same or none"));
  const auto d = describe_placement(Placement::Spread, 2);
  CHECK(d["policy"] == "spread");
  CHECK(d["network"]["peer"] == nlohmann::json::array({1}));
}

TEST_CASE("placement: pin_process sets the affinity of every thread of a process", "[placement]") {
  // Real affinity of this test process: a second thread must follow too.
  cpu_set_t before;
  REQUIRE(sched_getaffinity(0, sizeof before, &before) == 0);
  std::atomic<bool> done{false};
  std::atomic<int> cpus_seen{-1};
  std::atomic<bool> check{false};
  std::thread t([&] {
    while (!check.load()) std::this_thread::yield();
    cpu_set_t s;
    sched_getaffinity(0, sizeof s, &s);
    cpus_seen = CPU_COUNT(&s) == 1 && CPU_ISSET(0, &s) ? 1 : CPU_COUNT(&s);
    done = true;
  });
  REQUIRE(pin_process(getpid(), {0}).ok());
  check = true;
  t.join();
  CHECK(cpus_seen.load() == 1);
  REQUIRE(pin_process(getpid(), {}).ok());  // back to every CPU
  cpu_set_t after;
  REQUIRE(sched_getaffinity(0, sizeof after, &after) == 0);
  CHECK(CPU_COUNT(&after) == host_cpu_count());
  sched_setaffinity(0, sizeof before, &before);
  CHECK_FALSE(pin_process(999999999, {0}).ok());
}

TEST_CASE("findings name the part of the host CPU per operation that grew most", "[findings][cpu_accounting]") {
  // container's tcp_stream: throughput −20%; per MiB its user time is the
  // same, sys +10%, softirq +50% (the largest growth in ns: 100 → 150).
  ResultSet rs = comparison();
  for (auto& s : rs.samples) {
    if (s.workload != "net.tcp_stream") continue;
    const bool c = s.env == "container";
    const double w = 1 + (s.round % 4) * 0.001;
    s.env_metrics = {{"cpu_ns_per_op", (c ? 570 : 500) * w, "ns/MiB", Better::Lower},
                     {"cpu_ns_per_op.user", 200 * w, "ns/MiB", Better::Lower},
                     {"cpu_ns_per_op.sys", (c ? 220 : 200) * w, "ns/MiB", Better::Lower},
                     {"cpu_ns_per_op.softirq", (c ? 150 : 100) * w, "ns/MiB", Better::Lower}};
    if (c) s.env_metrics.push_back({"cpu_ns_per_op.guest", 30 * w, "ns/MiB", Better::Lower});
  }
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const EnvGrid grid = compare_envs(rs, sum);
  const Findings f = find_overheads(grid);
  REQUIRE(f.envs.size() == 1);
  const FindingLine* stream = nullptr;
  for (const auto& l : f.envs[0].significant)
    if (l.line->workload == "net.tcp_stream") stream = &l;
  REQUIRE(stream);
  CHECK(stream->attribution == "+50% softirq per MiB");
  CHECK(stream->text.rfind("net.tcp_stream throughput −20% [", 0) == 0);
  CHECK(stream->text.ends_with("]; +50% softirq per MiB"));
  // The attribution statistics are environment rows, not findings of their own.
  for (const auto& l : f.envs[0].significant) CHECK_FALSE(is_cpu_attribution_metric(l.line->metric));
  // Workloads without the statistics, or an improvement, name nothing.
  for (const auto& l : f.envs[0].significant)
    if (l.line->workload != "net.tcp_stream") CHECK(l.attribution.empty());
  // A part the baseline lacks (guest: +30 from none) counts from zero, and loses to softirq's +50.
  CHECK(cpu_attribution_text(grid, "container", "net.tcp_stream", "duration=0.3") == "+50% softirq per MiB");
  CHECK(cpu_attribution_text(grid, "container", "cpu.int", "duration=0.3").empty());
  // Only the guest part grew (from none): named with its amount.
  for (auto& s : rs.samples)
    if (s.env == "container" && s.workload == "net.tcp_stream")
      for (auto& m : s.env_metrics)
        if (m.name == "cpu_ns_per_op.sys" || m.name == "cpu_ns_per_op.softirq") m.value = 0;
  const RunSummary sum2 = summarize_run(rs, "bare", 1);
  CHECK(cpu_attribution_text(compare_envs(rs, sum2), "container", "net.tcp_stream", "duration=0.3") ==
        "+30 ns guest per MiB (none in bare)");
  CHECK(is_cpu_attribution_metric("cpu_ns_per_op.softirq"));
  CHECK(is_cpu_attribution_metric("cycles_per_op"));
  CHECK_FALSE(is_cpu_attribution_metric("cgroup.cpu_usage"));

  // The HTML report has the table of them; the per-env statistics tables do not.
  const std::string html = render_html(rs, sum);
  CHECK(html.find("<section id=\"attribution\">") != std::string::npos);
  CHECK(html.find("id=\"attribution-table\"") != std::string::npos);
}

TEST_CASE("counters per operation from the medians of a run", "[findings][counters][cpu_accounting]") {
  // bare: the agent counted 3e9 cycles in 1e9 ns of task-clock (3 GHz), and
  // the host charged 600 ns per transaction of which 100 softirq: 500 ns of
  // the agent's own CPU = 1500 cycles per transaction.
  ResultSet rs;
  rs.meta.run_id = "vb261201000000-fffff1";
  rs.meta.baseline_env = "bare";
  rs.envs = {EnvRecord{"bare", "bare", "bare", true, "", {}, {}, {}, {}}};
  for (int i = 0; i < 3; ++i) {
    Sample s = sample("bare", "net.tcp_rr", i, {{"tps", 1000, "trans/s", Better::Higher}});
    auto reading = [](const std::string& name, std::optional<double> v) {
      CounterReading r;
      r.name = name;
      r.value = v;
      if (!v) r.status = "unsupported";
      return r;
    };
    s.counters = {reading("task-clock", 1e9), reading("cycles", 3e9), reading("instructions", std::nullopt)};
    s.env_metrics = {{"cpu_ns_per_op", 600, "ns/transaction", Better::Lower},
                     {"cpu_ns_per_op.softirq", 100, "ns/transaction", Better::Lower}};
    rs.samples.push_back(s);
  }
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const EnvGrid grid = compare_envs(rs, sum);
  const EnvGridLine* cycles = nullptr;
  const EnvGridLine* instructions = nullptr;
  for (const auto& l : grid.lines) {
    if (l.metric == "cycles") cycles = &l;
    if (l.metric == "instructions") instructions = &l;
  }
  REQUIRE(cycles);
  std::string op;
  auto v = counter_per_op_median(grid, *cycles, "bare", &op);
  REQUIRE(v);
  CHECK(*v == Approx(1500));
  CHECK(op == "transaction");
  REQUIRE(instructions);
  CHECK_FALSE(counter_per_op_median(grid, *instructions, "bare"));  // unsupported: no value, not zero
  const std::string html = render_html(rs, sum);
  CHECK(html.find("id=\"counters-per-op\"") != std::string::npos);
  CHECK(html.find("per transaction") != std::string::npos);
}
