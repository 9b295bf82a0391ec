#include "store/history.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "analysis/compare.hpp"
#include "analysis/summary.hpp"
#include "compare_fixtures.hpp"
#include "core/fs.hpp"
#include "reports/reports.hpp"

using namespace vbench;
using Catch::Matchers::Contains;
using vbtest::add_values;
using vbtest::around;
using vbtest::fixture_run;
using vbtest::sql;

namespace {

struct TempDb {
  std::string dir, path;
  TempDb() {
    char t[] = "/tmp/vbench-history-test-XXXXXX";
    REQUIRE(mkdtemp(t) != nullptr);
    dir = t;
    path = dir + "/sub/history.db";  // the parent is created on open
  }
  ~TempDb() { (void)remove_tree(dir); }
};

std::string canonical_json(const ResultSet& rs) {
  return dump_json(render_json(rs, summarize_run(rs, rs.meta.baseline_env, rs.meta.seed)), 1);
}

ResultSet run_with(const std::string& id, double center) {
  ResultSet rs = fixture_run(id);
  add_values(rs, "cpu.int", "ops", around(center, 0.01, 8));
  add_values(rs, "mem.latency", "ns_4KiB", around(2, 0.01, 8), Better::Lower, "ns");
  return rs;
}

}  // namespace

TEST_CASE("history: runs round-trip through the store", "[history]") {
  TempDb t;
  const ResultSet a = run_with("vb240501100000-aaaaaa", 100), b = run_with("vb240501110000-bbbbbb", 70);
  {
    auto store = HistoryStore::open(t.path);
    REQUIRE(store.ok());
    auto ra = store->add(a, canonical_json(a), HistoryRecord{"c0ffee1234567890", "main", "a/results.json"});
    REQUIRE(ra.ok());
    CHECK(ra->id == 1);
    CHECK(ra->run_id == a.meta.run_id);
    CHECK(ra->suite == "t");
    CHECK(ra->host_fingerprint == a.meta.host["fingerprint"]);
    CHECK(ra->hostname == "box");
    CHECK(ra->git_commit == "c0ffee1234567890");
    CHECK(ra->git_branch == "main");
    CHECK(ra->vbench_commit == "abcdef123456");
    CHECK(ra->samples == 16);  // warm-ups not counted
    CHECK(ra->source == "a/results.json");
    auto rb = store->add(b, canonical_json(b), HistoryRecord{"deadbeef", "feature/x", "b"});
    REQUIRE(rb.ok());
    CHECK(rb->id == 2);

    // Idempotent by run id: the same run again is the stored one, not a
    // second copy; the same id with other results is refused.
    bool already = false;
    auto dup = store->add(a, canonical_json(a), {}, &already);
    REQUIRE(dup.ok());
    CHECK(already);
    CHECK(dup->id == 1);
    CHECK(dup->git_commit == "c0ffee1234567890");
    CHECK(store->list()->size() == 2);
    const ResultSet other = run_with(a.meta.run_id, 50);
    auto clash = store->add(other, canonical_json(other), {}, &already);
    REQUIRE_FALSE(clash.ok());
    CHECK_THAT(clash.error().message, Contains("already in the history (as #1) with other results"));
  }
  // A second open sees what the first wrote.
  auto store = HistoryStore::open(t.path, HistoryStore::Mode::ReadOnly);
  REQUIRE(store.ok());
  CHECK(sql(t.path, "PRAGMA user_version") == "1\n");
  CHECK(sql(t.path, "PRAGMA journal_mode") == "delete\n");

  auto list = store->list();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].run_id == b.meta.run_id);  // newest first
  CHECK(store->list("t", 1)->size() == 1);
  CHECK(store->list("other")->empty());

  SECTION("names: history id, run id, prefix, latest, baseline") {
    CHECK(store->find("1")->run_id == a.meta.run_id);
    CHECK(store->find(b.meta.run_id)->id == 2);
    CHECK(store->find("vb240501110")->id == 2);
    CHECK(store->find("latest")->id == 2);
    auto ambiguous = store->find("vb2405");
    REQUIRE_FALSE(ambiguous.ok());
    CHECK_THAT(ambiguous.error().message, Contains("ambiguous"));
    auto missing = store->find("nope");
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error().message, Contains("no baseline or run `nope`"));

    auto rw = HistoryStore::open(t.path);
    REQUIRE(rw.ok());
    REQUIRE(rw->set_baseline("main", *rw->find("1")).ok());
    CHECK(rw->find("main")->id == 1);
    REQUIRE(rw->set_baseline("main", *rw->find("2")).ok());  // moved
    CHECK(rw->find("main")->id == 2);
    REQUIRE(rw->set_baseline("release/1.0", *rw->find("1")).ok());
    auto bl = rw->baselines();
    REQUIRE(bl.ok());
    REQUIRE(bl->size() == 2);
    CHECK((*bl)[0].first == "main");
    CHECK((*bl)[1].first == "release/1.0");
    CHECK(rw->find("1")->baselines == std::vector<std::string>{"release/1.0"});
    CHECK_FALSE(rw->set_baseline("latest", *rw->find("1")).ok());
    CHECK_FALSE(rw->set_baseline("has space", *rw->find("1")).ok());
    CHECK_FALSE(rw->set_baseline("12", *rw->find("1")).ok());
  }

  SECTION("a stored run compares exactly like the run itself") {
    auto sa = store->load(*store->find("1"));
    auto sb = store->load(*store->find("2"));
    REQUIRE(sa.ok());
    REQUIRE(sb.ok());
    CHECK(sa->samples.size() == a.samples.size());
    CHECK(sa->meta.host == a.meta.host);
    CHECK(sa->meta.suite == a.meta.suite);
    auto direct = compare_runs(a, b, {});
    auto stored = compare_runs(*sa, *sb, {});
    REQUIRE(direct.ok());
    REQUIRE(stored.ok());
    REQUIRE(direct->rows.size() == stored->rows.size());
    for (size_t i = 0; i < direct->rows.size(); ++i) {
      CHECK(direct->rows[i].verdict == stored->rows[i].verdict);
      CHECK(direct->rows[i].change == stored->rows[i].change);
      CHECK(direct->rows[i].change_ci_low == stored->rows[i].change_ci_low);
      CHECK(direct->rows[i].test.p == stored->rows[i].test.p);
    }
    CHECK(stored->count(Verdict::Regressed) == 1);
  }

  SECTION("summary rows are queryable") {
    auto m = store->metrics(*store->find("1"));
    REQUIRE(m.ok());
    REQUIRE(m->size() == 2);
    const auto& ops = (*m)[0].metric == "ops" ? (*m)[0] : (*m)[1];
    CHECK(ops.workload == "cpu.int");
    CHECK(ops.n == 8);
    CHECK(ops.median == Approx(100));
    CHECK(ops.ci_low <= ops.median);
    CHECK(sql(t.path, "SELECT count(*) FROM metrics WHERE run = 2 AND better = 'lower'") == "1\n");
  }
}

TEST_CASE("history: an add that fails half-way leaves nothing behind", "[history]") {
  TempDb t;
  {
    auto store = HistoryStore::open(t.path);
    REQUIRE(store.ok());
    const ResultSet first = run_with("vb240501100000-aaaaaa", 100);
    REQUIRE(store->add(first, canonical_json(first), {}).ok());
  }
  // A second client's trigger makes the metric insert fail after the run
  // row is already written inside the transaction.
  CHECK(sql(t.path,
            "CREATE TRIGGER poison BEFORE INSERT ON metrics WHEN NEW.metric = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned metric'); END") == "");
  ResultSet bad = run_with("vb240501120000-cccccc", 90);
  add_values(bad, "mem.latency", "poison", around(1, 0.01, 8));
  auto store = HistoryStore::open(t.path);
  REQUIRE(store.ok());
  auto r = store->add(bad, canonical_json(bad), {});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("poisoned metric"));
  CHECK(sql(t.path, "SELECT count(*) FROM runs") == "1\n");
  CHECK(sql(t.path, "SELECT count(*) FROM metrics") == "2\n");
  CHECK(sql(t.path, "PRAGMA integrity_check") == "ok\n");
  CHECK_FALSE(store->find("vb240501120000-cccccc").ok());
  // The store is still usable.
  const ResultSet good = run_with("vb240501130000-dddddd", 95);
  CHECK(store->add(good, canonical_json(good), {}).ok());
  CHECK(sql(t.path, "SELECT count(*) FROM runs") == "2\n");
}

TEST_CASE("history: opening stores that are not ours, or too new", "[history]") {
  TempDb t;
  auto missing = HistoryStore::open(t.path, HistoryStore::Mode::ReadOnly);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Contains("does not exist"));

  REQUIRE(HistoryStore::open(t.path).ok());
  CHECK(sql(t.path, "PRAGMA user_version = 7") == "");
  auto newer = HistoryStore::open(t.path);
  REQUIRE_FALSE(newer.ok());
  CHECK_THAT(newer.error().message, Contains("schema version 7, newer than this vbench knows (1)"));

  const std::string foreign = t.dir + "/foreign.db";
  CHECK(sql(foreign, "CREATE TABLE x (y)") == "");
  auto other = HistoryStore::open(foreign);
  REQUIRE_FALSE(other.ok());
  CHECK_THAT(other.error().message, Contains("not a vbench history store"));

  const std::string text = t.dir + "/text.db";
  REQUIRE(write_file(text, std::string(4096, 'x')).ok());
  auto garbage = HistoryStore::open(text);
  REQUIRE_FALSE(garbage.ok());
  CHECK_THAT(garbage.error().message, Contains(text));
}

TEST_CASE("history: the default location", "[history]") {
  const char* old_xdg = getenv("XDG_DATA_HOME");
  const std::string saved = old_xdg ? old_xdg : "";
  setenv("XDG_DATA_HOME", "/xdg", 1);
  CHECK(*HistoryStore::default_path() == "/xdg/vbench/history.db");
  unsetenv("XDG_DATA_HOME");
  const std::string home = getenv("HOME") ? getenv("HOME") : "";
  if (!home.empty()) CHECK(*HistoryStore::default_path() == home + "/.local/share/vbench/history.db");
  if (old_xdg) setenv("XDG_DATA_HOME", saved.c_str(), 1);
}
