#include "model/results.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "analysis/summary.hpp"
#include "core/fs.hpp"
#include "reports/reports.hpp"

using namespace vbench;

namespace {

Sample make_sample(const std::string& env, double value, bool ok = true) {
  Sample s;
  s.env = env;
  s.workload = "cpu.int";
  s.params = {{"threads", 1}, {"duration", 0.5}};
  s.round = 0;
  s.ok = ok;
  if (!ok)
    s.error = "boom, \"quoted\"\nsecond line";
  else
    s.metrics.push_back(Metric{"ops", value, "ops/s", Better::Higher});
  Histogram h;
  h.record(1000);
  s.histograms.emplace("latency", h);
  s.counters.push_back(CounterReading{"instructions", std::nullopt, 1.0, "unsupported", "no PMU", "agent"});
  s.counters.push_back(CounterReading{"page-faults", 12.0, 1.0, "ok", "", "agent"});
  return s;
}

std::string temp_dir() {
  char t[] = "/tmp/vbench-unit-XXXXXX";
  return mkdtemp(t);
}

}  // namespace

TEST_CASE("sample JSON round-trip keeps every field", "[results]") {
  Sample s = make_sample("bare", 123.5);
  auto back = sample_from_json(to_json(s));
  REQUIRE(back.ok());
  CHECK(back->env == "bare");
  CHECK(back->metrics.size() == 1);
  CHECK(back->metrics[0].value == 123.5);
  CHECK(back->metrics[0].better == Better::Higher);
  CHECK(back->counters.size() == 2);
  CHECK_FALSE(back->counters[0].value.has_value());
  CHECK(back->counters[0].status == "unsupported");
  CHECK(back->histograms.at("latency").count() == 1);
}

TEST_CASE("untrusted sample JSON is rejected with a reason", "[results]") {
  auto j = to_json(make_sample("bare", 1));
  j["metrics"][0]["better"] = "sideways";
  auto r = sample_from_json(j);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("better") != std::string::npos);
  j = to_json(make_sample("bare", 1));
  j["metrics"] = "not an array";
  CHECK_FALSE(sample_from_json(j).ok());
  j = to_json(make_sample("bare", 1));
  j["env"] = std::string(100000, 'x');
  CHECK_FALSE(sample_from_json(j).ok());
  // Invalid UTF-8 from a guest is replaced, not thrown on.
  Sample bad = make_sample("bare", 1, false);
  bad.error = "\xff\xfe broken";
  CHECK_NOTHROW(dump_json(to_json(bad)));
}

TEST_CASE("results.jsonl is readable back, a torn last line is ignored", "[results]") {
  const std::string dir = temp_dir();
  const std::string path = dir + "/results.jsonl";
  {
    auto log = ResultsLog::open(path);
    REQUIRE(log.ok());
    RunMeta m;
    m.run_id = "vb261121000000-abcdef";
    m.baseline_env = "bare";
    REQUIRE(log->write_meta(m).ok());
    EnvRecord e;
    e.name = e.kind = e.label = "bare";
    e.started = true;
    REQUIRE(log->write_env(e).ok());
    for (double v : {100.0, 101.0, 99.0}) REQUIRE(log->write_sample(make_sample("bare", v)).ok());
  }
  // Simulate a crash mid-write.
  {
    auto text = read_file(path);
    REQUIRE(text.ok());
    REQUIRE(write_file(path, *text + "{\"type\":\"sample\",\"env\":\"ba").ok());
  }
  auto rs = load_results(path);
  REQUIRE(rs.ok());
  CHECK(rs->meta.run_id == "vb261121000000-abcdef");
  CHECK(rs->samples.size() == 3);
  CHECK(rs->envs.size() == 1);
  (void)remove_tree(dir);
}

TEST_CASE("summary rows, ratios and the tidy CSV", "[results]") {
  ResultSet rs;
  rs.meta.run_id = "vb261121000000-abcdef";
  rs.meta.baseline_env = "bare";
  for (double v : {100.0, 102.0, 98.0, 101.0, 99.0}) rs.samples.push_back(make_sample("bare", v));
  for (double v : {50.0, 51.0, 49.0, 50.5, 49.5}) rs.samples.push_back(make_sample("container", v));
  rs.samples.push_back(make_sample("container", 0, false));
  RunSummary sum = summarize_run(rs, "bare", 7);
  const SummaryRow* ops = nullptr;
  for (const auto& r : sum.rows)
    if (r.env == "container" && r.metric == "ops") ops = &r;
  REQUIRE(ops);
  CHECK(ops->stats.n == 5);
  CHECK(ops->stats.median == 50.0);
  CHECK(ops->failed == 1);
  CHECK(ops->status == "partial");
  REQUIRE(ops->has_ratio);
  // Higher is better: half the throughput is twice as bad.
  CHECK(ops->ratio.value == Approx(2.0));
  bool unsupported_row = false;
  for (const auto& r : sum.rows) unsupported_row |= r.metric == "instructions" && r.status == "unsupported";
  CHECK(unsupported_row);

  const std::string csv = render_summary_csv(sum);
  CHECK(csv.rfind("env,workload,params,metric,unit,better,n,median,mean,stddev,cv,min,max,ci_low,ci_high,"
                  "baseline_env,ratio,ratio_ci_low,ratio_ci_high,status,mde\n",
                  0) == 0);
  CHECK(csv.find("container,cpu.int,\"duration=0.5,threads=1\",ops,ops/s,higher,5,50,") != std::string::npos);
  // Failed samples' errors are quoted properly in the raw CSV.
  CHECK(render_samples_csv(rs).find("\"boom, \"\"quoted\"\"\nsecond line\"") != std::string::npos);

  const std::string table = render_table(rs, sum, false);
  CHECK(table.find("container/bare") != std::string::npos);
  CHECK(table.find("2.00x") != std::string::npos);
}

TEST_CASE("CSV fields are escaped per RFC 4180", "[results]") {
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_number(NAN).empty());
  CHECK(csv_number(0.1) == "0.1");
}
