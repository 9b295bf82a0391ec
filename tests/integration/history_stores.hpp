#pragma once
// The two history stores the history tests run against: an SQLite file, and
// a throwaway PostgreSQL server (postgresql-15 from Debian: initdb in a
// temporary directory, unix socket only, run as the `postgres` user since
// initdb refuses root), stopped and removed at scope exit.
#include <fmt/format.h>
#include <unistd.h>

#include <string>

#include "support.hpp"

namespace vbtest {

// Where Debian keeps the server binaries (they are not on PATH).
inline std::string postgres_bindir() {
  for (const char* d : {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"})
    if (access((std::string(d) + "/initdb").c_str(), X_OK) == 0 &&
        access((std::string(d) + "/pg_ctl").c_str(), X_OK) == 0)
      return d;
  return {};
}

class ThrowawayPostgres {
 public:
  // Skips the test (exit 77) when the server binaries are missing; fails it
  // when they are there but the server does not start.
  ThrowawayPostgres() {
    bin_ = postgres_bindir();
    if (bin_.empty())
      VB_SKIP("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): apt-get install postgresql-15");
    const bool root = geteuid() == 0;
    if (root && run_command("id -u postgres").exit_code != 0)
      VB_SKIP("running as root and there is no `postgres` user to run initdb as");
    as_ = root ? "runuser -u postgres -- " : "";
    // Its own directory under /tmp (1777), owned by the server's user.
    char t[] = "/tmp/vbench-pg-XXXXXX";
    REQUIRE(mkdtemp(t) != nullptr);
    dir_ = t;
    if (root) REQUIRE(run_command("chown postgres: " + dir_).exit_code == 0);
    auto r = run_command(as_ + bin_ + "/initdb -D " + dir_ + "/data --auth=trust -U postgres -E UTF8 --no-sync");
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    r = run_command(as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/log -w -t 60 -o \"-k " + dir_ +
                    " -c listen_addresses='' -c fsync=off\" start");
    INFO(r.out);
    INFO(run_command("cat " + dir_ + "/log").out);
    REQUIRE(r.exit_code == 0);
    started_ = true;
  }
  ~ThrowawayPostgres() {
    if (started_) run_command(as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop");
    run_command("rm -rf '" + dir_ + "'");
  }
  ThrowawayPostgres(const ThrowawayPostgres&) = delete;
  ThrowawayPostgres& operator=(const ThrowawayPostgres&) = delete;

  // A fresh, empty database and its libpq connection URI.
  std::string new_database(const std::string& name) {
    auto r = run_command(fmt::format("{}/createdb -h {} -U postgres {}", bin_, dir_, name));
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    return uri(name);
  }
  std::string uri(const std::string& name) const {
    return fmt::format("postgresql://postgres@/{}?host={}", name, dir_);
  }
  // Runs SQL with psql, returning its unaligned output.
  CommandResult psql(const std::string& db, const std::string& sql) const {
    return run_command(fmt::format("psql -X -q -A -t -h {} -U postgres -d {} -c \"{}\"", dir_, db, sql));
  }

 private:
  std::string dir_, bin_, as_;
  bool started_ = false;
};

}  // namespace vbtest
