// The human-readable reports: escaping, the Markdown table, the SVG scale
// helpers, the HTML report of a results set full of hostile strings, and the
// CSVs read back with libcsv.
#include "reports/reports.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <regex>

#include "analysis/summary.hpp"
#include "counters/counters.hpp"
#include "reports/format.hpp"
#include "reports/svg.hpp"
#include "tests/csv_check.hpp"

using namespace vbench;

namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

const std::string kHostileScript = "</pre><script>alert(\"pwned\")</script>";
const std::string kHostileImg = "<img src=x onerror=alert(1)>";

Sample sample(const std::string& env, const std::string& workload, int round, std::vector<Metric> metrics) {
  Sample s;
  s.env = env;
  s.workload = workload;
  s.params = {{"duration", 0.3}};
  s.round = round;
  s.metrics = std::move(metrics);
  return s;
}

// Two environments, five repetitions each, latency histograms, a memory
// sweep, counters (one unsupported), cgroup statistics, a failed sample with
// a hostile error, and hostile names wherever a results file can put them.
ResultSet hostile_results() {
  ResultSet rs;
  rs.meta.run_id = "vb261129000000-abcdef";
  rs.meta.vbench_version = "0.1.0";
  rs.meta.started_at = "2026-11-29T00:00:00Z";
  rs.meta.finished_at = "2026-11-29T00:01:00Z";
  rs.meta.baseline_env = "bare";
  rs.meta.command_line = "vbench run " + kHostileImg;
  rs.meta.host = {{"facts",
                   {{{"key", "hostname"}, {"label", "Hostname"}, {"value", "host'\"" + kHostileImg}, {"level", "info"}},
                    {{"key", "llc"}, {"label", "Last-level cache"}, {"value", "8M"}, {"level", "info"}},
                    {{"key", "kvm"}, {"label", "KVM"}, {"value", 42}, {"level", "warn"}, {"hint", kHostileScript}}}},
                  {"fingerprint", "abc"}};
  rs.meta.suite = {{"name", "suite<b>x</b>"},
                   {"workloads", {{{"name", "cpu.int"}, {"param_sets", {{{"duration", 0.3}}}}}}}};
  EnvRecord bare{"bare", "bare", "bare", true, "", {{"start_s", 0.003, "s", Better::Lower}}, {}, {}, {}};
  EnvRecord hostile{"c",
                    "container",
                    "con" + kHostileImg,
                    true,
                    "",
                    {{"start_s", 0.02, "s", Better::Lower}},
                    {{"note", kHostileScript}, {"list", {"a", kHostileImg}}},
                    {"env warning " + kHostileScript},
                    {}};
  EnvRecord dead{"kvm", "kvm", "kvm[tcg]", false, "QEMU said " + kHostileScript, {}, {{"accel", "tcg"}}, {}, {}};
  rs.envs = {bare, hostile, dead};
  const std::string c = hostile.label;
  for (int i = 0; i < 5; ++i) {
    for (const auto& [env, scale] : {std::pair<std::string, double>{"bare", 1.0}, {c, 1.5}}) {
      Sample s = sample(env, "cpu.int", i, {{"ops", 1000.0 / scale + i, "ops/s", Better::Higher}});
      Sample lat = sample(env, "net.tcp_rr", i,
                          {{"tps", 5000.0 / scale - i, "trans/s", Better::Higher},
                           {"lat_p50", 20.0 * scale + i, "us", Better::Lower},
                           {"ipc", 1.2 / scale, "insn/cycle", Better::Higher},
                           {"metric" + kHostileImg, 1, "u<b>", Better::Lower}});
      Histogram h;
      for (uint64_t v = 1; v <= 2000; ++v) h.record(static_cast<uint64_t>(10000 * scale) + v * 7);
      lat.histograms.emplace("latency", h);
      lat.counters.push_back(CounterReading{"instructions", std::nullopt, 0, "unsupported", kHostileScript, "agent"});
      lat.counters.push_back(CounterReading{"page-faults", 12.0 + i, 1.0, "ok", "", "agent"});
      Sample sweep = sample(env, "mem.latency", i,
                            {{"ns_16KiB", 1.5 * scale, "ns", Better::Lower},
                             {"ns_1MiB", 9.0 * scale, "ns", Better::Lower},
                             {"ns_64MiB", 150.0 * scale + i, "ns", Better::Lower}});
      if (env == c) {
        s.env_metrics.push_back({"cgroup.nr_throttled", 3, "count", Better::Lower});
        s.env_metrics.push_back({"cgroup.memory_peak", 19079168.0, "B", Better::Lower});
      }
      rs.samples.push_back(s);
      rs.samples.push_back(lat);
      rs.samples.push_back(sweep);
    }
  }
  Sample failed = sample(c, "disk.fsync", 0, {});
  failed.ok = false;
  failed.error = kHostileScript + "\nsecond line, with \"quotes\"";
  rs.samples.push_back(failed);
  return rs;
}

struct EscapeCase {
  std::string in, out;
};

}  // namespace

TEST_CASE("html_escape turns every markup character into text", "[reports][escape]") {
  const EscapeCase cases[] = {
      {"plain text", "plain text"},
      {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"a & b", "a &amp; b"},
      {"\"double\" 'single'", "&quot;double&quot; &#39;single&#39;"},
      {"&lt;", "&amp;lt;"},
      {"µs ≥ 2×", "µs ≥ 2×"},
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},                  // 4-byte UTF-8 kept
      {"bad \xFF byte", "bad \xEF\xBF\xBD byte"},                // invalid byte -> U+FFFD
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                  // overlong "/" -> two U+FFFD
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // UTF-16 surrogate
      {"cut \xE2\x82", "cut \xEF\xBF\xBD\xEF\xBF\xBD"},          // truncated sequence
      {"esc\x1b[31mred", "esc\xEF\xBF\xBD[31mred"},              // terminal escape
      {std::string("nul\0x", 5), "nul\xEF\xBF\xBDx"},
      {"tab\tline\nfeed\r\n", "tab\tline\nfeed\r\n"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(html_escape(c.in) == c.out);
  }
}

TEST_CASE("markdown_escape keeps a cell a cell and text text", "[reports][escape]") {
  const EscapeCase cases[] = {
      {"plain", "plain"},
      {"a|b", "a\\|b"},
      {"`code`", "\\`code\\`"},
      {"<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
      {"[click](http://evil)", "\\[click\\](http://evil)"},
      {"*bold* _it_ ~del~", "\\*bold\\* \\_it\\_ \\~del\\~"},
      {"back\\slash", "back\\\\slash"},
      {"two\nlines", "two<br>lines"},
      {"crlf\r\nend", "crlf<br>end"},
      {"a & b", "a &amp; b"},
      {"# heading", "\\# heading"},
      {"- item", "\\- item"},
      {"---", "\\---"},
      {"1. first", "1\\. first"},
      {"1.74", "1.74"},
      {"page-faults", "page-faults"},
      {"#hash", "#hash"},
      {"ping @team", "ping &#64;team"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(markdown_escape(c.in) == c.out);
  }
}

TEST_CASE("numbers keep their units and never print as 1e+03", "[reports]") {
  CHECK(ns_text(850) == "850 ns");
  CHECK(ns_text(999.7) == "1 µs");
  CHECK(ns_text(1234) == "1.23 µs");
  CHECK(ns_text(35e6) == "35 ms");
  CHECK(ns_text(2.5e9) == "2.5 s");
  CHECK(bytes_text(512) == "512 B");
  CHECK(bytes_text(1023 * 1024.0) == "0.999 MiB");
  CHECK(bytes_text(19079168) == "18.2 MiB");
  CHECK(si_text(5000) == "5k");
  CHECK(si_text(2.5e6) == "2.5M");
  CHECK(si_text(0.25) == "0.25");
  CHECK(value_text(2177541.4) == "2177541");
  CHECK(value_text(4.3521) == "4.35");
  CHECK(value_text(NAN) == "-");
  CHECK(unit_text("us") == "µs");
}

TEST_CASE("a ratio is significant only when its CI excludes 1 with enough repetitions", "[reports]") {
  auto r = [](double v, double lo, double hi, size_t n) {
    OverheadRatio q;
    q.value = v, q.ci_low = lo, q.ci_high = hi, q.n_env = q.n_base = n;
    return q;
  };
  CHECK(verdict(r(1.5, 1.2, 1.8, 5)) == RatioVerdict::Worse);
  CHECK(verdict(r(0.5, 0.4, 0.6, 5)) == RatioVerdict::Better);
  CHECK(verdict(r(1.1, 0.9, 1.3, 5)) == RatioVerdict::Same);
  CHECK(verdict(r(1.5, 1.5, 1.5, 1)) == RatioVerdict::TooFew);  // n = 1: [x, x] excludes 1, says nothing
  CHECK(verdict(r(1.5, 1.2, 1.8, kMinRepetitionsForCI - 1)) == RatioVerdict::TooFew);
  CHECK(verdict(r(1.5, NAN, NAN, 5)) == RatioVerdict::Same);
  CHECK(verdict(r(NAN, NAN, NAN, 5)) == RatioVerdict::Undefined);
  CHECK(ratio_text(r(1.5, 1.2, 1.8, 5)) == "1.50× [1.20, 1.80]");
  CHECK(ratio_text(r(1.5, 1.5, 1.5, 1), "x") == "1.50x");
  CHECK(ratio_text(r(NAN, NAN, NAN, 5)) == "n/a");
}

TEST_CASE("log axes get decade, 1-2-5 and power-of-two ticks", "[reports][svg]") {
  CHECK(svg::linear_ticks(0, 97, 5) == std::vector<double>{0, 20, 40, 60, 80, 100});
  CHECK(svg::linear_ticks(0, 1.12, 4) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1, 1.2});
  CHECK(svg::linear_ticks(-3, 17, 4) == std::vector<double>{-5, 0, 5, 10, 15, 20});
  CHECK(svg::linear_ticks(5, 5, 5).front() <= 5);
  CHECK(svg::linear_ticks(5, 5, 5).back() > 5);
  // Wide ranges: decades.
  CHECK(svg::log10_ticks(2, 350) == std::vector<double>{1, 10, 100, 1000});
  CHECK(svg::log10_ticks(1e3, 1e7) == std::vector<double>{1e3, 1e4, 1e5, 1e6, 1e7});
  // Narrow ones: 1-2-5 steps just around the data.
  CHECK(svg::log10_ticks(270, 360) == std::vector<double>{200, 500});
  CHECK(svg::log10_ticks(3, 40) == std::vector<double>{2, 5, 10, 20, 50});
  CHECK(svg::log10_ticks(0, 10) == std::vector<double>{1, 10});  // no log of 0
  // Working-set sizes: every power of two, thinned when there are many.
  const auto sizes = svg::log2_ticks(16384, 16777216, 12);
  REQUIRE(sizes.size() == 11);
  CHECK(sizes.front() == 16384);
  CHECK(sizes.back() == 16777216);
  const auto many = svg::log2_ticks(1, std::ldexp(1.0, 40), 12);
  CHECK(many.size() <= 12);
  CHECK(many.front() == 1);
  CHECK(many.back() >= std::ldexp(1.0, 40));
  CHECK(svg::log2_ticks(3000, 5000, 12) == std::vector<double>{2048, 4096, 8192});

  const auto log = svg::Scale::log(1, 100, 0, 200);
  CHECK(log(10) == Approx(100));
  CHECK(log(100) == Approx(200));
  const auto lin = svg::Scale::linear(0, 10, 300, 100);  // y grows upwards
  CHECK(lin(5) == Approx(200));
}

TEST_CASE("charts leave out what they cannot draw and escape their text", "[reports][svg]") {
  svg::LineChart c;
  c.title = kHostileScript;
  c.x.kind = svg::AxisKind::Log2;
  c.y.kind = svg::AxisKind::Log10;
  auto pt = [](double x, double y, double lo = NAN, double hi = NAN, std::string note = "") {
    return svg::Point{x, y, lo, hi, std::move(note)};
  };
  c.series.push_back(
      {kHostileImg, 0, {pt(1024, 5), pt(0, 7), pt(2048, NAN), pt(4096, -1), pt(8192, 9, 8, 10, "tip<")}});
  const std::string svg = svg::line_chart(c);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("<img") == std::string::npos);
  CHECK(svg.find("&lt;script&gt;") != std::string::npos);
  CHECK(svg.find("tip&lt;") != std::string::npos);
  CHECK_FALSE(std::regex_search(svg, std::regex("nan|inf", std::regex::icase)));
  // Two drawable points: one line segment.
  CHECK(std::regex_search(svg, std::regex("<path d=\"M[0-9.]+ [0-9.]+L[0-9.]+ [0-9.]+\" fill=\"none\"")));

  const std::string bars = svg::bar_panel(
      "t", "s", "us", {{"bare", 10, 9, 11, 0, "n/a", "bare: 10 us"}, {"kvm", NAN, NAN, NAN, 1, "failed", "boom"}});
  CHECK(bars.find("µs") != std::string::npos);
  CHECK(bars.find(">failed<") != std::string::npos);
  CHECK_FALSE(std::regex_search(bars, std::regex("nan|inf", std::regex::icase)));
}

TEST_CASE("derived counter metrics are recognised by name, with or without a scope", "[reports]") {
  std::vector<CounterReading> all;
  for (const char* n : {"instructions", "cycles", "branches", "branch-misses", "cache-references", "cache-misses",
                        "dTLB-load-misses"}) {
    all.push_back(CounterReading{n, 1000.0, 1, "ok", "", "agent"});
    all.push_back(CounterReading{n, 1000.0, 1, "ok", "", "host-vcpu"});
  }
  const auto derived = derived_counter_metrics(all);
  REQUIRE(derived.size() == 10);
  for (const auto& m : derived) {
    INFO(m.name);
    CHECK(is_derived_counter_metric(m.name));
  }
  CHECK_FALSE(is_derived_counter_metric("instructions"));
  CHECK_FALSE(is_derived_counter_metric("ops"));
}

TEST_CASE("a throttled container is a warning", "[reports]") {
  const ResultSet rs = hostile_results();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  bool throttled = false;
  for (const auto& w : sum.warnings) throttled |= w.find("throttled by the cgroup CPU quota") != std::string::npos;
  CHECK(throttled);
}

TEST_CASE("the Markdown report is one table row per metric, hostile text stays text", "[reports][markdown]") {
  const ResultSet rs = hostile_results();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const std::string md = render_markdown(rs, sum);
  INFO(md);
  CHECK(md.find("<script") == std::string::npos);
  CHECK(md.find("<img") == std::string::npos);
  CHECK(md.find("&lt;/pre&gt;&lt;script&gt;alert(\"pwned\")&lt;/script&gt;") != std::string::npos);

  // Every table line has as many unescaped cell separators as the header.
  std::vector<std::string> table;
  size_t pos = 0;
  while (pos < md.size()) {
    const size_t nl = md.find('\n', pos);
    const std::string line = md.substr(pos, nl - pos);
    if (line.rfind("|", 0) == 0) table.push_back(line);
    pos = nl == std::string::npos ? md.size() : nl + 1;
  }
  auto separators = [](const std::string& l) {
    size_t n = 0;
    for (size_t i = 0; i < l.size(); ++i) n += l[i] == '|' && (i == 0 || l[i - 1] != '\\');
    return n;
  };
  REQUIRE(table.size() >= 2 + 5);  // header, rule, cpu.int ops, tps, lat_p50, hostile metric, 3 sweep points
  for (const auto& l : table) {
    INFO(l);
    CHECK(separators(l) == separators(table[0]));
  }
  const std::string c = markdown_escape("con" + kHostileImg);
  CHECK(table[0] == "| Workload | Params | Metric | Unit | bare (baseline) | " + c + " | " + c + " / bare |");
  // cpu.int: 1000 against 666.7 ops/s, higher is better: 1.50× worse, significant with 5 repetitions.
  bool cpu = false;
  for (const auto& l : table)
    if (l.rfind("| cpu.int | duration=0.3 | ops ↑ | ops/s | 1002 ±", 0) == 0) {
      cpu = true;
      CHECK(l.find("| **1.50× \\[1.") != std::string::npos);
      CHECK(l.find("\\]** ▲ |") != std::string::npos);
    }
  CHECK(cpu);
  // Counter-derived metrics are not workload results.
  CHECK(md.find("| ipc") == std::string::npos);
  CHECK(md.find("### Warnings") != std::string::npos);
  CHECK(md.find("- failed samples:") != std::string::npos);
}

TEST_CASE("a Markdown report too long for a PR comment keeps its legend and warnings and says what it left out",
          "[reports][markdown]") {
  ResultSet rs;
  rs.meta.baseline_env = "bare";
  EnvRecord bare{"bare", "bare", "bare", true, "", {}, {}, {}, {}};
  // A guest can put anything in an error: 100 kB of it must not crowd out the table.
  EnvRecord kvm{"kvm", "kvm", "kvm", false, std::string(100000, 'x'), {}, {}, {}, {}};
  rs.envs = {bare, kvm};
  for (int i = 0; i < 3; ++i)
    for (int m = 0; m < 2000; ++m)
      rs.samples.push_back(
          sample("bare", "cpu.int", i, {{fmt::format("metric_{}", m), 1.0 + i, "ops/s", Better::Higher}}));
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const std::string md = render_markdown(rs, sum);
  CHECK(md.size() <= kMarkdownCommentLimit);
  CHECK(md.size() > kMarkdownCommentLimit * 9 / 10);
  CHECK(md.find("more rows are left out: a comment holds at most 65536 characters") != std::string::npos);
  CHECK(md.find("Medians; ↑ higher is better") != std::string::npos);
  const size_t warnings = md.find("### Warnings");
  REQUIRE(warnings != std::string::npos);
  CHECK(md.find("\\[kvm\\] did not start: xxx", warnings) != std::string::npos);
  CHECK(md.find("x …", warnings) != std::string::npos);  // clipped
  CHECK(md.find(std::string(1000, 'x')) == std::string::npos);
}

TEST_CASE("clip_text cuts on a character boundary", "[reports][escape]") {
  CHECK(clip_text("short", 10) == "short");
  CHECK(clip_text("abcdef", 3) == "abc …");
  CHECK(clip_text("a\u00e9b", 2) == "a …");  // é is two bytes: not cut in half
  std::string out = "12";
  CHECK(append_within(out, {"34", "56", "78"}, 6) == 1);
  CHECK(out == "123456");
}

TEST_CASE("the HTML report of hostile results: one script, all text escaped, every section", "[reports][html]") {
  const ResultSet rs = hostile_results();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  HtmlOptions opts;
  opts.extra_sections.push_back({"trend", "History", "<p>trend goes here</p>"});
  const std::string html = render_html(rs, sum, opts);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  // Ours is the only script; hostile markup is text.
  CHECK(count_of(html, "<script") == 1);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<b>x</b>") == std::string::npos);
  CHECK(html.find("&lt;/pre&gt;&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("host&#39;&quot;&lt;img") != std::string::npos);
  // Nothing to fetch: no URL but the SVG namespace; no inline styles (the CSP forbids them).
  CHECK_FALSE(std::regex_search(html, std::regex("(src|href)=\"(?!#)")));
  CHECK_FALSE(std::regex_search(html, std::regex("https?://(?!www\\.w3\\.org/2000/svg\")")));
  CHECK(html.find(" style=") == std::string::npos);
  CHECK(html.find("Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'sha256-") !=
        std::string::npos);
  // No NaN or infinity reached a chart.
  CHECK_FALSE(std::regex_search(
      html, std::regex(" (x|y|x1|x2|y1|y2|cx|cy|r|width|height|d|data-v)=\"[^\"]*(nan|inf)", std::regex::icase)));
  for (const char* id :
       {"summary", "warnings", "families", "latency", "memlat", "counters", "lifecycle", "failures", "trend", "host"}) {
    INFO(id);
    CHECK(html.find(fmt::format("<section id=\"{}\">", id)) != std::string::npos);
    CHECK(html.find(fmt::format("<a href=\"#{}\">", id)) != std::string::npos);
  }
  CHECK(html.find("<p>trend goes here</p>") != std::string::npos);
  // Significant overhead coloured as such; units on the numbers.
  CHECK(std::regex_search(html, std::regex("<td class=\"num w4\" data-v=\"1\\.49[0-9]*\"[^>]*>1\\.50× <span")));
  CHECK(html.find("µs") != std::string::npos);
  CHECK(html.find("18.2 MiB") != std::string::npos);  // cgroup memory peak
  CHECK(html.find("did not start") != std::string::npos);
  CHECK(html.find("emulated, not KVM") != std::string::npos);
  CHECK(html.find("throttled by the cgroup CPU quota") != std::string::npos);
  CHECK(html.find("host last-level cache 8MiB") != std::string::npos);
  // The same results give the same bytes.
  CHECK(render_html(rs, summarize_run(rs, "bare", 1), opts) == html);
}

TEST_CASE("an empty results set renders without results", "[reports][html]") {
  ResultSet rs;
  const RunSummary sum = summarize_run(rs, "bare", 1);
  const std::string html = render_html(rs, sum);
  CHECK(html.find("No workload results in this run.") != std::string::npos);
  CHECK(count_of(html, "<script") == 1);
  CHECK(render_markdown(rs, sum).find("No workload results in this run.") != std::string::npos);
}

TEST_CASE("the report format follows the file's extension", "[reports]") {
  const ResultSet rs = hostile_results();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  CHECK(render_for_path("r.html", rs, sum)->rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(render_for_path("dir/r.md", rs, sum)->rfind("## vbench", 0) == 0);
  CHECK(render_for_path("r.csv", rs, sum)->rfind("env,workload,", 0) == 0);
  CHECK(render_for_path("r.json", rs, sum)->rfind("{", 0) == 0);
  auto bad = render_for_path("r.txt", rs, sum);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("r.txt") != std::string::npos);
  CHECK_FALSE(render_for_path(".html.bak", rs, sum).ok());
}

TEST_CASE("results.csv and samples.csv read back with libcsv to the numbers of results.json", "[reports][csv]") {
  const ResultSet rs = hostile_results();
  const RunSummary sum = summarize_run(rs, "bare", 1);
  // Through text, as a reader of results.json would see it.
  const auto json = nlohmann::json::parse(dump_json(render_json(rs, sum)));
  vbtest::check_summary_csv(render_summary_csv(sum), json);
  vbtest::check_samples_csv(render_samples_csv(rs), json);
  // The parser does reject what is not CSV.
  std::string error;
  vbtest::parse_csv("a,\"b\nc", &error);
  CHECK_FALSE(error.empty());
}
