// Output files: written whole, never through a planted link, never into
// the system's directories.
#include "core/fs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "model/results.hpp"
#include "reports/reports.hpp"

using namespace vbench;

namespace {

struct Dir {
  std::string path;
  Dir() {
    char t[] = "/tmp/vbench-fs-XXXXXX";
    path = mkdtemp(t);
  }
  ~Dir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("write_file_atomic never follows a link planted at its temporary name", "[fs][trust]") {
  Dir d;
  const std::string victim = d.path + "/victim", out = d.path + "/report.html";
  REQUIRE(write_file(victim, "precious\n"));
  // The name today's code would pick, and a random-looking one beside it.
  const std::string planted = fmt::format("{}.tmp.{}", out, ::getpid());
  REQUIRE(::symlink(victim.c_str(), planted.c_str()) == 0);
  REQUIRE(write_file_atomic(out, "<html>report</html>\n"));
  CHECK(*read_file(victim) == "precious\n");
  CHECK(*read_file(out) == "<html>report</html>\n");
  struct stat st;
  REQUIRE(::lstat(out.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  // Only the planted link and what was asked for are there: no temporary left.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(d.path)) ++entries;
  CHECK(entries == 3);

  SECTION("a link at the final name is replaced, its target untouched") {
    const std::string linked = d.path + "/results.csv";
    REQUIRE(::symlink(victim.c_str(), linked.c_str()) == 0);
    REQUIRE(write_file_atomic(linked, "a,b\n"));
    CHECK(*read_file(victim) == "precious\n");
    REQUIRE(::lstat(linked.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
  }
}

TEST_CASE("results.jsonl is never opened through a planted link", "[fs][trust]") {
  Dir d;
  const std::string victim = d.path + "/victim", log = d.path + "/results.jsonl";
  REQUIRE(write_file(victim, "precious\n"));
  REQUIRE(::symlink(victim.c_str(), log.c_str()) == 0);
  auto l = ResultsLog::open(log);
  REQUIRE_FALSE(l.ok());
  CHECK_THAT(l.error().message, Catch::Contains("symbolic link"));
  CHECK(*read_file(victim) == "precious\n");
  // A dangling link is not followed to create its target either.
  const std::string dangling = d.path + "/other.jsonl", target = d.path + "/created";
  REQUIRE(::symlink(target.c_str(), dangling.c_str()) == 0);
  CHECK_FALSE(ResultsLog::open(dangling).ok());
  CHECK_FALSE(path_exists(target));
}

TEST_CASE("refuse_system_dir: the system's directories are no place for output", "[fs][trust]") {
  struct Case {
    const char* path;
    bool refused;
  };
  const Case cases[] = {
      {"/", true},          {"/etc", true},           {"/etc/", true},          {"/etc/vbench", true},
      {"/usr", true},       {"/usr/local/x", true},   {"/bin", true},           {"/sbin", true},
      {"/boot", true},      {"/dev", true},           {"/dev/shm/x", true},     {"/proc", true},
      {"/sys/fs", true},    {"/lib", true},           {"/lib64", true},         {"/var", true},
      {"/var/", true},      {"/tmp", true},           {"/home", true},          {"/root", true},
      {"/run", true},       {"/var/tmp", false},      {"/var/tmp/vb-x", false}, {"/tmp/vbench-out", false},
      {"/root/out", false}, {"/etc/../tmp/x", false}, {"/library", false},      {"/usrx/y", false},
  };
  for (const auto& c : cases) {
    INFO(c.path);
    auto s = refuse_system_dir(c.path);
    CHECK(s.ok() != c.refused);
    if (!s.ok()) CHECK_THAT(s.error().message, Catch::Contains("system directory"));
  }
  SECTION("through a symlink") {
    Dir d;
    REQUIRE(::symlink("/etc", (d.path + "/etc-link").c_str()) == 0);
    CHECK_FALSE(refuse_system_dir(d.path + "/etc-link").ok());
    CHECK_FALSE(refuse_system_dir(d.path + "/etc-link/new/deeper").ok());
    CHECK(refuse_system_dir(d.path + "/new/deeper").ok());
  }
}

TEST_CASE("check_output_dir: new, empty or a previous run's output only", "[fs][trust]") {
  Dir d;
  CHECK(check_output_dir(d.path + "/absent/deeper").ok());
  CHECK(check_output_dir(d.path).ok());  // empty
  for (const char* f : {"results.json", "results.jsonl", "report.html", "samples.csv", "kvm-console.log",
                        "container-agent.log", "report.md.tmp.123"})
    REQUIRE(write_file(d.path + "/" + f, "x"));
  CHECK(check_output_dir(d.path).ok());
  REQUIRE(write_file(d.path + "/thesis.tex", "x"));
  auto s = check_output_dir(d.path);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("not empty") && Catch::Contains("thesis.tex"));
  REQUIRE(write_file(d.path + "/file", "x"));
  CHECK_FALSE(check_output_dir(d.path + "/file").ok());
  CHECK_FALSE(check_output_dir("/etc").ok());
}
