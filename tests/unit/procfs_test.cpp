// /proc/<pid>/stat as the kernel writes it and as a process can shape it
// (its command name). Found by reading what fuzz/procfs feeds: the old
// parsers threw std::invalid_argument (std::stoull) on a malformed field.
#include "core/procfs.hpp"

#include <catch2/catch.hpp>

using namespace vbench;

TEST_CASE("parse_proc_stat: fields after the last `)`, every spelling the kernel and a process can make",
          "[procfs][trust]") {
  auto ok = parse_proc_stat("42 (cat) R 1 42 42 0 -1 4194304 122 0 0 0 7 3 0 0 20 0 1 0 125588 3133440 413\n");
  REQUIRE(ok);
  CHECK(ok->state == 'R');
  CHECK(ok->utime == 7);
  CHECK(ok->stime == 3);
  CHECK(ok->start_time == 125588);
  // A command name may hold spaces and parentheses (it is the process's choice).
  auto odd = parse_proc_stat("7 (a) b) S (c) Z 1 1 1 0 -1 0 0 0 0 0 11 12 0 0 20 0 1 0 99 1 1");
  REQUIRE(odd);
  CHECK(odd->state == 'Z');
  CHECK(odd->utime == 11);
  CHECK(odd->start_time == 99);
  // What used to throw (std::stoull) or read garbage is an error.
  for (const char* bad :
       {"", "no parenthesis at all", "1 (x) R 1 2 3", "1 (x) R 1 1 1 0 -1 0 0 0 0 0 x 3 0 0 20 0 1 0 5",
        "1 (x) RR 1 1 1 0 -1 0 0 0 0 0 1 3 0 0 20 0 1 0 5",
        "1 (x) R 1 1 1 0 -1 0 0 0 0 0 1 3 0 0 20 0 1 0 99999999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(parse_proc_stat(bad).ok());
  }
}
