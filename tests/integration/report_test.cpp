// The reports of real runs, looked at the way people will: report.html in
// headless Chromium (no console message, no request but the file itself,
// sorting works, a screenshot kept next to the results), report.md, the
// format picked by `vbench report -o`, and the CSVs read back with libcsv to
// the numbers of results.json.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "analysis/summary.hpp"
#include "chromium.hpp"
#include "core/fs.hpp"
#include "model/results.hpp"
#include "reports/findings.hpp"
#include "reports/format.hpp"
#include "support.hpp"
#include "tests/csv_check.hpp"
#include "workloads/operations.hpp"

using namespace vbtest;

namespace {

// Clicks the sort button of the column whose header contains `header` in
// table `table_id`, and returns the column's data-v values top to bottom.
nlohmann::json sort_by(Chromium& c, const std::string& table_id, const std::string& header) {
  return c.eval(
      "(() => { const t = document.getElementById(" + nlohmann::json(table_id).dump() +
      "); const heads = Array.from(t.tHead.rows[0].cells); const col = heads.findIndex(h => h.textContent.includes(" +
      nlohmann::json(header).dump() +
      ")); if (col < 0) return null; heads[col].querySelector('button').click();"
      " return Array.from(t.tBodies[0].rows).map(r => r.cells[col].getAttribute('data-v')); })()");
}

// Numbers first in the given order, cells without one last.
void check_sorted(const nlohmann::json& values, bool ascending) {
  INFO(values.dump());
  REQUIRE(values.is_array());
  bool empty_seen = false;
  double prev = ascending ? -1e308 : 1e308;
  size_t numbers = 0;
  for (const auto& v : values) {
    REQUIRE(v.is_string());
    const std::string s = v.get<std::string>();
    if (s.empty()) {
      empty_seen = true;
      continue;
    }
    CHECK_FALSE(empty_seen);
    const double x = std::stod(s);
    CHECK((ascending ? x >= prev : x <= prev));
    prev = x;
    ++numbers;
  }
  CHECK(numbers > 0);
}

bool env_available(const std::string& name, std::string* reason) {
  auto r = run_command(vbench_bin() + " list --json");
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object()) {
    *reason = "vbench list --json: " + r.out;
    return false;
  }
  for (const auto& e : j["environments"])
    if (e.value("name", "") == name) {
      *reason = e.value("reason", "");
      return e.value("available", false);
    }
  *reason = "no driver " + name;
  return false;
}

// Host CPU per operation (issue 12, item 3) in a bare + container run: every
// workload that ran has cpu_ns_per_op and its parts in both environments, in
// results.csv too, with values a reader can trust.
void check_cpu_attribution(const vbench::ResultSet& rs, const std::string& csv) {
  const double tick_ns = 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::map<std::string, std::set<std::string>> with;  // env -> workloads with the total and every part
  std::set<std::string> ran;
  for (const auto& s : rs.samples) {
    if (!s.ok || s.warmup) continue;
    ran.insert(s.workload);
    std::map<std::string, double> m;
    for (const auto& e : s.env_metrics)
      if (e.name.starts_with("cpu_ns_per_op")) m[e.name] = e.value;
    INFO(s.env << " " << s.workload);
    if (!m.count("cpu_ns_per_op")) continue;
    for (const char* part : {"cpu_ns_per_op.user", "cpu_ns_per_op.sys", "cpu_ns_per_op.softirq"}) {
      INFO(part);
      REQUIRE(m.count(part));
      CHECK(std::isfinite(m[part]));
      CHECK(m[part] >= 0);
    }
    const double total = m["cpu_ns_per_op"];
    CHECK(std::isfinite(total));
    CHECK(total > 0);  // every workload burns some CPU
    // The parts add up to the total. Bare: the total is their sum (ticks of
    // the agent's /proc/PID/stat). Container: the total is cpuacct.usage (ns)
    // and the split is cpuacct.stat in clock ticks, each of user and system
    // truncated to a tick, and the kernel's cputime_adjust keeps each side
    // monotonic rather than exact: 3 ticks of slack per sample, plus 5%.
    auto rate = vbench::operation_rate(s.workload, s.metrics);
    REQUIRE(rate);
    const double ops = rate->per_s * s.wall_s;  // the agent's wall time: the host's window within ms
    REQUIRE(ops > 0);
    const double parts = m["cpu_ns_per_op.user"] + m["cpu_ns_per_op.sys"] + m["cpu_ns_per_op.softirq"];
    INFO("parts " << parts << " total " << total << " ops " << ops);
    CHECK(std::abs(parts - total) <= 3 * tick_ns / ops + 0.05 * total);
    CHECK_FALSE(m.count("cpu_ns_per_op.guest"));  // no guest here
    with[s.env].insert(s.workload);
  }
  CHECK(with["bare"] == ran);
  CHECK(with["container"] == ran);
  // results.csv rows: env,workload,params,metric,unit,...
  auto csv_has = [&](const std::string& start, const std::string& metric_unit) {
    for (size_t p = 0; p < csv.size();) {
      const size_t nl = csv.find('\n', p);
      const std::string line = csv.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
      if (line.starts_with(start) && line.find("," + metric_unit + ",") != std::string::npos) return true;
      if (nl == std::string::npos) break;
      p = nl + 1;
    }
    return false;
  };
  for (const char* env : {"bare", "container"}) {
    INFO(env);
    CHECK(csv_has(std::string(env) + ",net.tcp_stream,", "cpu_ns_per_op,ns/MiB"));
    CHECK(csv_has(std::string(env) + ",net.tcp_stream,", "cpu_ns_per_op.softirq,ns/MiB"));
    CHECK(csv_has(std::string(env) + ",net.tcp_rr,", "cpu_ns_per_op.sys,ns/transaction"));
    CHECK(csv_has(std::string(env) + ",os.syscall,", "cpu_ns_per_op.user,ns/call"));
  }
  // Where the container's CPU per MiB of TCP grew, the findings name the part.
  const auto summary = vbench::summarize_run(rs, "bare", 1);
  const auto grid = vbench::compare_envs(rs, summary);
  std::string params;
  auto median = [&](const std::string& env, const std::string& metric) {
    for (const auto& r : summary.rows)
      if (r.env == env && r.workload == "net.tcp_stream" && r.metric == metric) {
        params = r.params;
        return r.stats.median;
      }
    return std::nan("");
  };
  const double b = median("bare", "cpu_ns_per_op"), c = median("container", "cpu_ns_per_op");
  const double tb = median("bare", "throughput"), tc = median("container", "throughput");
  const std::string why = vbench::cpu_attribution_text(grid, "container", "net.tcp_stream", params);
  WARN("net.tcp_stream: throughput bare " << tb << " container " << tc << " Mbit/s; cpu_ns_per_op bare " << b
                                          << " container " << c << " ns/MiB; grew most: " << why);
  if (c > 1.1 * b) CHECK(why.ends_with("per MiB"));
}

}  // namespace

TEST_CASE("the Chromium harness sees everything a broken page does", "[report][chromium]") {
  if (chromium_path().empty()) VB_SKIP("chromium not installed (Debian package `chromium`, see ci/bootstrap)");
  TempDir dir;
  const std::string page = dir.path + "/broken.html";
  REQUIRE(vbench::write_file(page,
                             "<!doctype html><html><head><meta charset=\"utf-8\"><title>broken</title></head><body>"
                             "<img src=\"http://198.18.0.1/x.png\"><img src=\"missing.png\">"
                             "<svg width=\"20\" height=\"20\"><rect x=\"NaN\" width=\"5\" height=\"5\"/></svg>"
                             "<script>console.error('deliberate console error');"
                             "throw new Error('deliberate throw');</script></body></html>")
              .ok());
  Chromium c;
  INFO(c.error());
  REQUIRE(c.ok());
  REQUIRE(c.open(file_url(page), 800, 600));
  const auto& ev = c.events();
  auto any = [](const std::vector<std::string>& v, const std::string& needle) {
    for (const auto& s : v)
      if (s.find(needle) != std::string::npos) return true;
    return false;
  };
  INFO("console: " << nlohmann::json(ev.console).dump() << "\nexceptions: " << nlohmann::json(ev.exceptions).dump()
                   << "\nlog: " << nlohmann::json(ev.log).dump()
                   << "\nrequests: " << nlohmann::json(ev.requests).dump());
  CHECK(any(ev.console, "deliberate console error"));
  CHECK(any(ev.exceptions, "deliberate throw"));
  CHECK(any(ev.requests, "http://198.18.0.1/x.png"));
  CHECK(any(ev.requests, dir.path + "/missing.png"));  // a local subresource is a request too
  CHECK(any(ev.log, "ERR_FILE_NOT_FOUND"));            // and its failure is logged
  CHECK(any(ev.log, "<rect> attribute x"));            // as is a NaN in an SVG attribute
  CHECK(c.eval("document.title") == "broken");
}

TEST_CASE("vbench report picks the format by the extension and refuses others", "[report][cli]") {
  TempDir dir;
  const std::string results = dir.path + "/results.jsonl";
  {
    auto log = vbench::ResultsLog::open(results);
    REQUIRE(log.ok());
    vbench::RunMeta m;
    m.run_id = "vb261129000000-abcdef";
    m.baseline_env = "bare";
    REQUIRE(log->write_meta(m).ok());
    vbench::Sample s;
    s.env = "bare";
    s.workload = "cpu.int";
    s.round = 0;
    s.metrics.push_back({"ops", 123.0, "ops/s", vbench::Better::Higher});
    REQUIRE(log->write_sample(s).ok());
  }
  for (const char* ext : {"html", "md", "csv", "json"}) {
    const std::string out = dir.path + "/report." + ext;
    auto r = run_command(vbench_bin() + " report " + results + " -o " + out);
    INFO(ext << ": " << r.out);
    CHECK(r.exit_code == 0);
    CHECK(vbench::path_exists(out));
  }
  CHECK(vbench::read_file(dir.path + "/report.html")->rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(vbench::read_file(dir.path + "/report.md")->find("| cpu.int |") != std::string::npos);

  auto r = run_command(vbench_bin() + " report " + results + " -o " + dir.path + "/report.txt");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("report.txt") != std::string::npos);
  CHECK(r.out.find(".html, .md, .csv or .json") != std::string::npos);
  CHECK_FALSE(vbench::path_exists(dir.path + "/report.txt"));
  r = run_command(vbench_bin() + " report " + dir.path + "/missing.json -o " + dir.path + "/x.html");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("missing.json") != std::string::npos);
}

TEST_CASE("hostile strings in a results file stay text in Chromium", "[report][chromium]") {
  if (chromium_path().empty()) VB_SKIP("chromium not installed (Debian package `chromium`, see ci/bootstrap)");
  TempDir dir;
  const std::string results = dir.path + "/results.jsonl";
  const std::string script = "<script>console.error('PWNED-script')</script>";
  const std::string attr = "\"><img src=x onerror=\"console.error('PWNED-attr')\">";
  {
    auto log = vbench::ResultsLog::open(results);
    REQUIRE(log.ok());
    vbench::RunMeta m;
    m.run_id = "vb261129000000-abcdef";
    m.baseline_env = "bare";
    m.command_line = "vbench run " + script;
    m.host = {{"facts", {{{"key", "hostname"}, {"label", "Hostname" + attr}, {"value", "h" + script}}}}};
    m.suite = {{"name", "s" + attr}};
    REQUIRE(log->write_meta(m).ok());
    vbench::EnvRecord bare{"bare", "bare", "bare", true, "", {}, {}, {}, {}};
    vbench::EnvRecord guest{"kvm",
                            "kvm",
                            "kvm" + attr,
                            true,
                            "",
                            {{"boot_s", 3.2, "s", vbench::Better::Lower}},
                            {{"guest", {{"hostname", script}}}},
                            {"guest said " + script},
                            {}};
    REQUIRE(log->write_env(bare).ok());
    REQUIRE(log->write_env(guest).ok());
    for (int i = 0; i < 3; ++i)
      for (const auto& env : {bare.label, guest.label}) {
        vbench::Sample s;
        s.env = env;
        s.workload = "cpu.int";
        s.params = {{"note", attr}};
        s.round = i;
        s.metrics.push_back({"ops" + attr, 100.0 + i, "ops/s" + script, vbench::Better::Higher});
        REQUIRE(log->write_sample(s).ok());
      }
    vbench::Sample failed;
    failed.env = guest.label;
    failed.workload = "disk.fsync";
    failed.round = 0;
    failed.ok = false;
    failed.error = "guest error: " + script + "\n" + attr;
    REQUIRE(log->write_sample(failed).ok());
  }
  const std::string html = dir.path + "/report.html";
  auto r = run_command(vbench_bin() + " report " + results + " -o " + html);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  r = run_command(vbench_bin() + " report " + results + " -o " + dir.path + "/report.md");
  REQUIRE(r.exit_code == 0);
  const auto md = vbench::read_file(dir.path + "/report.md");
  REQUIRE(md.ok());
  CHECK(md->find("<script") == std::string::npos);
  CHECK(md->find("<img") == std::string::npos);

  Chromium c;
  INFO(c.error());
  REQUIRE(c.ok());
  const std::string url = file_url(html);
  REQUIRE(c.open(url, 1280, 900));
  // An injected script would have logged PWNED; injected markup blocked by
  // the CSP would have logged a violation: either is a console or log entry.
  check_quiet(c, url);
  CHECK(c.eval("document.scripts.length") == 1);
  CHECK(c.eval("document.images.length") == 0);
  CHECK(c.eval("document.body.textContent.includes(\"guest error: " +
               std::string("<script>console.error('PWNED-script')") + "\")") == true);
  CHECK(c.eval("document.body.textContent.includes('kvm\"><img src=x onerror=')") == true);
}

TEST_CASE("a smoke run on bare, container and kvm: report.html in headless Chromium", "[report][chromium][smoke]") {
  if (geteuid() != 0) VB_SKIP("needs root to create containers and guests");
  if (chromium_path().empty()) VB_SKIP("chromium not installed (Debian package `chromium`, see ci/bootstrap)");
  for (const char* env : {"container", "kvm"}) {
    std::string reason;
    if (!env_available(env, &reason)) VB_SKIP(std::string(env) + " unavailable: " + reason);
  }
  const std::string dir = artifacts_dir("report-smoke");
  (void)vbench::remove_tree(dir);
  REQUIRE(vbench::mkdir_p(dir.substr(0, dir.rfind('/'))).ok());
  auto run = run_command("timeout 600 " + vbench_bin() + " run --suite smoke --env bare,container,kvm --out " + dir);
  INFO(run.out);
  REQUIRE((run.exit_code == 0 || run.exit_code == 1));

  auto rs = vbench::load_results(dir + "/results.json");
  REQUIRE(rs.ok());
  REQUIRE(rs->envs.size() == 3);
  for (const auto& e : rs->envs) {
    INFO(e.label << ": " << e.error);
    CHECK(e.started);
  }
  std::set<std::string> families;
  for (const auto& s : rs->samples) families.insert(s.workload.substr(0, s.workload.find('.')));
  CHECK(families == std::set<std::string>{"cpu", "mem", "disk", "net", "os"});

  // The report is a function of results.json alone.
  const auto html = vbench::read_file(dir + "/report.html");
  REQUIRE(html.ok());
  REQUIRE(run_command(vbench_bin() + " report " + dir + "/results.json -o " + dir + "/rebuilt.html").exit_code == 0);
  CHECK(vbench::read_file(dir + "/rebuilt.html").value() == *html);
  const auto md = vbench::read_file(dir + "/report.md");
  REQUIRE(md.ok());
  for (const auto& e : rs->envs) CHECK(md->find(vbench::markdown_escape(e.label)) != std::string::npos);

  Chromium c;
  INFO(c.error());
  REQUIRE(c.ok());
  const std::string url = file_url(dir + "/report.html");
  REQUIRE(c.open(url, 1280, 900));
  check_quiet(c, url);
  for (const char* id : {"summary", "warnings", "families", "latency", "memlat", "counters", "lifecycle", "host"}) {
    INFO(id);
    CHECK(c.eval(std::string("!!document.getElementById('") + id + "')") == true);
  }
  CHECK(c.eval("document.querySelectorAll('#families svg.chart').length").get<int>() >= 10);
  CHECK(c.eval("document.querySelectorAll('#latency svg.chart').length").get<int>() >= 5);
  CHECK(c.eval("document.querySelectorAll('#memlat svg.chart path[stroke-width=\"2\"]').length").get<int>() >= 3);
  CHECK(c.eval("document.querySelector('header').textContent.includes('emulated, not KVM')") ==
        (rs->env("kvm[tcg]") != nullptr));

  // Sorting by an overhead column, both ways.
  const std::string ratio_col = rs->envs[1].label + " / " + rs->meta.baseline_env;
  check_sorted(sort_by(c, "summary-table", ratio_col), true);
  check_sorted(sort_by(c, "summary-table", ratio_col), false);
  c.settle(200);
  check_quiet(c, url);

  const std::string png = c.screenshot(1280, 2000);
  REQUIRE(vbench::write_file(dir + "/report.png", png).ok());
  REQUIRE(png.size() > 20000);
  CHECK(png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  CHECK(png.compare(12, 4, "IHDR") == 0);
  CHECK(be32(png, 16) == 1280);
  CHECK(be32(png, 20) == 2000);
  WARN("screenshot: " << dir << "/report.png");

  // The CSVs of this run read back to its results.json.
  const auto json = nlohmann::json::parse(vbench::read_file(dir + "/results.json").value());
  check_summary_csv(vbench::read_file(dir + "/results.csv").value(), json);
  check_samples_csv(vbench::read_file(dir + "/samples.csv").value(), json);
}

TEST_CASE("results.csv and samples.csv of a repeated run read back with libcsv to results.json", "[report][csv]") {
  if (geteuid() != 0) VB_SKIP("needs root to create containers");
  std::string reason;
  if (!env_available("container", &reason)) VB_SKIP("container unavailable: " + reason);
  TempDir out;
  const std::string dir = out.path + "/r";
  // Three repetitions: spreads, intervals and ratios are numbers, not blanks.
  auto run = run_command(vbench_bin() +
                         " run --suite smoke --env bare,container --repetitions 3 --workloads "
                         "'cpu.int,net.tcp_rr,disk.randread' --counters page-faults,instructions --out " +
                         dir);
  INFO(run.out);
  REQUIRE((run.exit_code == 0 || run.exit_code == 1));
  const auto json = nlohmann::json::parse(vbench::read_file(dir + "/results.json").value());
  size_t with_ratio_ci = 0;
  for (const auto& r : json["summary"])
    if (r.contains("ratio") && r["ratio"]["ci_low"].is_number() && r["stats"]["stddev"].is_number()) ++with_ratio_ci;
  CHECK(with_ratio_ci > 5);
  check_summary_csv(vbench::read_file(dir + "/results.csv").value(), json);
  check_samples_csv(vbench::read_file(dir + "/samples.csv").value(), json);
}

TEST_CASE("vbench run with no --env compares every real environment, and the report opens with findings",
          "[report][chromium][findings]") {
  if (geteuid() != 0) VB_SKIP("needs root to create containers");
  std::string reason;
  if (!env_available("container", &reason)) VB_SKIP("container unavailable: " + reason);
  const std::string dir = artifacts_dir("report-default");
  (void)vbench::remove_tree(dir);
  REQUIRE(vbench::mkdir_p(dir.substr(0, dir.rfind('/'))).ok());
  auto run = run_command("timeout 600 " + vbench_bin() + " run --suite smoke --out " + dir);
  INFO(run.out);
  REQUIRE((run.exit_code == 0 || run.exit_code == 1));
  auto rs = vbench::load_results(dir + "/results.json");
  REQUIRE(rs.ok());
  // bare and container; kvm only with hardware KVM, never kvm[tcg] unasked.
  REQUIRE(rs->envs.size() >= 2);
  CHECK(rs->envs[0].label == "bare");
  CHECK(rs->envs[1].label == "container");
  for (const auto& e : rs->envs) CHECK(e.label != "kvm[tcg]");
  for (const auto& e : rs->envs) {
    INFO(e.label);
    CHECK(e.describe.contains("placement"));
  }
  const auto json = nlohmann::json::parse(vbench::read_file(dir + "/results.json").value());
  size_t container_ratios = 0, lifecycle_rows = 0;
  for (const auto& r : json["summary"]) {
    if (r["env"] == "container" && r.contains("ratio") && r["ratio"]["value"].is_number()) ++container_ratios;
    if (r["workload"] == "lifecycle") ++lifecycle_rows;
  }
  CHECK(container_ratios > 20);
  CHECK(lifecycle_rows >= 3);  // start_s of both, teardown_s of the container
  check_summary_csv(vbench::read_file(dir + "/results.csv").value(), json);
  check_cpu_attribution(*rs, vbench::read_file(dir + "/results.csv").value());

  // report.md: findings before the table, at most one warning line per cause.
  const auto md = vbench::read_file(dir + "/report.md");
  REQUIRE(md.ok());
  const size_t findings = md->find("### Findings");
  REQUIRE(findings != std::string::npos);
  CHECK(findings < md->find("| Workload |"));
  const std::string warnings = md->substr(md->find("### Warnings"));
  for (const char* cause : {"- noisy:", "- unsupported counters:", "- failed samples:", "- fewer than"}) {
    size_t n = 0;
    for (size_t p = warnings.find(cause); p != std::string::npos; p = warnings.find(cause, p + 1)) ++n;
    INFO(cause);
    CHECK(n <= 1);
  }
  // The terminal prints the grouped lines too: no line per noisy metric.
  size_t noisy_lines = 0;
  for (size_t p = run.out.find("noisy"); p != std::string::npos; p = run.out.find("noisy", p + 1)) ++noisy_lines;
  CHECK(noisy_lines <= 1);

  Chromium c;
  INFO(c.error());
  REQUIRE(c.ok());
  const std::string url = file_url(dir + "/report.html");
  REQUIRE(c.open(url, 1280, 900));
  check_quiet(c, url);
  // Findings is the first section, with a forest plot: one row label per
  // workload · metric with a ratio, one marker per non-baseline env each.
  CHECK(c.eval("document.querySelector('main section').id") == "findings");
  const int rows = c.eval("document.querySelectorAll('#findings figure.forest svg text.tl title').length").get<int>();
  CHECK(rows > 20);
  CHECK(c.eval("document.querySelectorAll('#findings figure.forest svg line.one').length") == 1);
  CHECK(c.eval("(() => { const b = document.querySelector('#findings figure.forest svg').getBoundingClientRect();"
               " return b.width > 600 && b.height > 300; })()") == true);
  CHECK(c.eval("document.querySelector('#findings').textContent.includes('container against bare')") == true);
  // Where the CPU goes: one table of every workload's host CPU per operation.
  CHECK(c.eval("document.querySelectorAll('#attribution-table tbody tr').length").get<int>() >= 4 * 19);
  const std::string png = c.screenshot(1280, 1600);
  REQUIRE(vbench::write_file(dir + "/findings.png", png).ok());
  REQUIRE(png.size() > 20000);
  CHECK(be32(png, 16) == 1280);
  WARN("screenshot: " << dir << "/findings.png");
}
