// Terminal, log and spreadsheet hygiene: strings vbench did not write itself
// (env labels, host names, run ids, agent errors, guest console lines) reach
// a terminal or a CI log without control characters, and a CSV cell never
// starts a formula.
#include <catch2/catch.hpp>
#include <cstdio>

#include "analysis/summary.hpp"
#include "core/escape.hpp"
#include "harness/progress.hpp"
#include "model/results.hpp"
#include "reports/reports.hpp"

using namespace vbench;

namespace {

// ESC ] 0 ; title BEL (OSC: sets the terminal title), CSI 2J (clears the
// screen), the 8-bit CSI (U+009B in UTF-8), a raw 0x9B byte, BS and CR.
const std::string kHostile =
    "a\x1b]0;pwned\x07"
    "b\x1b[2Jc\xC2\x9B"
    "31md\x9B"
    "e\bf\rg";

bool has_control(const std::string& s, bool allow_newline) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && !(allow_newline && c == '\n')) || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) return true;
    if (c == 0x9B) return true;
  }
  return false;
}

std::string slurp(FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

}  // namespace

TEST_CASE("terminal_safe and sanitize_text remove C0 and C1 controls", "[hygiene]") {
  CHECK(terminal_safe(kHostile) == "a?]0;pwned?b?[2Jc?31md?e?f?g");
  CHECK(terminal_safe("line one\nline two\r\n", true) == "line one\nline two?\n");
  CHECK(terminal_safe("tab\there") == "tab?here");
  CHECK(terminal_safe("caf\xC3\xA9 \xE2\x9C\x93") == "caf\xC3\xA9 \xE2\x9C\x93");  // printable UTF-8 stays
  // sanitize_text keeps tab, newline and CR (CSV and HTML cells hold them);
  // every other control, C1 included, is gone.
  const std::string s = sanitize_text(kHostile);
  for (const char* c : {"\x1b", "\x07", "\b", "\xC2\x9B", "\x9B"}) {
    INFO(c);
    CHECK(s.find(c) == std::string::npos);
  }
  CHECK(s.find('\r') != std::string::npos);
  CHECK(sanitize_text("keep\nnewlines\tand tabs") == "keep\nnewlines\tand tabs");
  CHECK(sanitize_text("\xC2\xA0nbsp stays") == "\xC2\xA0nbsp stays");  // U+00A0 is not C1
}

TEST_CASE("CSV cells that start a formula are defused, numbers stay numbers", "[hygiene][csv]") {
  struct Case {
    const char* in;
    const char* out;
  };
  const std::vector<Case> cases = {
      {"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
      {"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
      {"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
      {"@SUM(1+1)", "'@SUM(1+1)"},
      {"\tleading tab", "'\tleading tab"},
      {"\rleading cr", "'\rleading cr"},
      {"-3.5", "-3.5"},
      {"+2", "+2"},
      {"-1e-3", "-1e-3"},
      {"plain", "plain"},
      {"a=b", "a=b"},
      {"", ""},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(csv_defuse(c.in) == c.out);
  }
  // csv_field: defused, controls replaced, then quoted per RFC 4180.
  CHECK(csv_field("=1+1") == "'=1+1");
  CHECK(csv_field("=1,2") == "\"'=1,2\"");
  CHECK(csv_field("-3.5") == "-3.5");
  CHECK_FALSE(has_control(csv_field("x\x1b[31m"), false));
}

TEST_CASE("CSV written from a hostile results set neutralises every text cell", "[hygiene][csv]") {
  ResultSet rs;
  rs.meta.run_id = "vb1";
  rs.meta.baseline_env = "=bare";
  Sample ok;
  ok.env = "=bare";
  ok.workload = "@cpu.int";
  ok.params = {{"threads", 1}};
  ok.round = 0;
  ok.metrics.push_back(Metric{"+ops", -3.5, "-ops/s", Better::Higher});
  rs.samples.push_back(ok);
  Sample bad = ok;
  bad.ok = false;
  bad.metrics.clear();
  bad.error = "=cmd|' /C calc'!A0\x1b]0;t\x07";
  rs.samples.push_back(bad);
  const std::string samples = render_samples_csv(rs);
  INFO(samples);
  CHECK(samples.find("'=bare,'@cpu.int,threads=1,0,0,1,workload,'+ops,'-ops/s,higher,-3.5,") != std::string::npos);
  CHECK(samples.find(",'=cmd|' /C calc'!A0") != std::string::npos);
  CHECK_FALSE(has_control(samples, true));
  const auto summary = summarize_run(rs, rs.meta.baseline_env, 1);
  const std::string csv = render_summary_csv(summary);
  INFO(csv);
  CHECK(csv.find("\n'=bare,'@cpu.int,") != std::string::npos);
}

TEST_CASE("progress lines carry no control characters from agents or guests", "[hygiene]") {
  FILE* f = std::tmpfile();
  REQUIRE(f);
  {
    Progress p(f);  // not a terminal: one plain line per sample
    p.set_total(2);
    p.begin("env\x1b[2J cpu.int round 1");
    p.end(false, 0.5,
          "agent says: \x1b]0;pwned\x07 boom\nconsole: \x9B"
          "31m");
    p.message("guest console:\n\x1b[31mKernel panic\x1b[0m\r");
    p.finish();
  }
  const std::string out = slurp(f);
  std::fclose(f);
  INFO(out);
  CHECK_FALSE(has_control(out, true));
  CHECK(out.find("env?[2J cpu.int round 1: FAILED") != std::string::npos);
  CHECK(out.find("agent says: ?]0;pwned? boom\nconsole: ?31m") != std::string::npos);
  CHECK(out.find("guest console:\n?[31mKernel panic?[0m?") != std::string::npos);
}

TEST_CASE("the terminal table of a hostile results file has no escapes", "[hygiene]") {
  ResultSet rs;
  rs.meta.run_id = "vb\x1b[31m1";
  rs.meta.baseline_env = "bare\x1b]0;x\x07";
  for (const char* env : {"bare\x1b]0;x\x07",
                          "kvm\xC2\x9B"
                          "2J"}) {
    for (int r = 0; r < 3; ++r) {
      Sample s;
      s.env = env;
      s.workload = "cpu.int\x1b[1m";
      s.params = {{"k", "v\x1b[0m"}};
      s.round = r;
      s.metrics.push_back(Metric{"ops\x07", 10.0 + r, "ops/s\r", Better::Higher});
      rs.samples.push_back(s);
    }
    EnvRecord e;
    e.name = e.kind = "bare";
    e.label = env;
    e.started = true;
    e.lifecycle.push_back(Metric{"start_s\x1b[2K", 0.1, "s", Better::Lower});
    rs.envs.push_back(e);
  }
  const auto summary = summarize_run(rs, rs.meta.baseline_env, 1);
  const std::string table = render_table(rs, summary, false);
  INFO(table);
  CHECK(table.find("cpu.int?[1m") != std::string::npos);
  CHECK_FALSE(has_control(table, true));
}
