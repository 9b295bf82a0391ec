// The scheduler's policies with a fake driver: interleaving and its seed,
// adaptive stopping, a failed start, a session that dies and is restarted,
// and an interruption (what SIGINT sets) in each phase. The fakes log every
// call, so the tests check the order in which the scheduler used them.
#include "harness/scheduler.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/fs.hpp"
#include "model/results.hpp"

using namespace vbench;

namespace {

// What the fakes did, and the hooks a test uses to steer them.
struct World {
  std::vector<std::string> events;  // "start ENV#N", "run ENV#N WORKLOAD", "stop ENV#N"
  std::map<std::string, int> sessions_started;
  std::set<std::string> live;  // sessions started and not stopped
  int stops_after_stop = 0;    // run() or start() called after `stop` was set
  std::atomic<bool> stop{false};

  // Return an error to fail that start / run; nullopt to go on.
  std::function<std::optional<std::string>(const std::string& env, int session)> on_start;
  std::function<std::optional<std::string>(const std::string& env, const std::string& workload, int call)> on_run;
  std::function<void(const std::string& env)> on_stop;
  // The value of the metric "v" for a run of env (call counts per env).
  std::function<double(const std::string& env, int call)> value = [](const std::string&, int) { return 100.0; };
  std::map<std::string, int> runs;
};

class FakeSession : public Session {
 public:
  FakeSession(World& w, std::string env, int n) : w_(w), env_(std::move(env)), n_(n) {}
  std::string id() const { return fmt::format("{}#{}", env_, n_); }
  std::string label() const override { return env_; }
  Result<Sample> run(const WorkloadRequest& req) override {
    if (w_.stop.load()) ++w_.stops_after_stop;
    w_.events.push_back(fmt::format("run {} {}", id(), req.workload));
    const int call = w_.runs[env_]++;
    if (w_.on_run)
      if (auto err = w_.on_run(env_, req.workload, call)) return make_error("{}", *err);
    Sample s;
    s.workload = req.workload;
    s.params = req.params;
    s.metrics.push_back(Metric{"v", w_.value(env_, call), "ops/s", Better::Higher});
    return s;
  }
  Status stop() override {
    w_.events.push_back(fmt::format("stop {}", id()));
    w_.live.erase(id());
    if (w_.on_stop) w_.on_stop(env_);
    return {};
  }
  std::vector<Metric> lifecycle() const override {
    return {Metric{"start_s", static_cast<double>(n_), "s", Better::Lower}};
  }

 private:
  World& w_;
  std::string env_;
  int n_;
};

class FakeDriver : public Driver {
 public:
  explicit FakeDriver(World& w) : w_(w) {}
  std::string name() const override { return "fake"; }
  std::string description() const override { return "a fake for scheduler tests"; }
  Availability probe() const override { return {true, ""}; }
  Result<std::unique_ptr<Session>> start(const EnvSpec& spec) override {
    if (w_.stop.load()) ++w_.stops_after_stop;
    const int n = ++w_.sessions_started[spec.name];
    w_.events.push_back(fmt::format("start {}#{}", spec.name, n));
    if (w_.on_start)
      if (auto err = w_.on_start(spec.name, n)) return make_error("{}", *err);
    auto s = std::make_unique<FakeSession>(w_, spec.name, n);
    w_.live.insert(s->id());
    return std::unique_ptr<Session>(std::move(s));
  }

 private:
  World& w_;
};

std::string temp_dir() {
  char t[] = "/tmp/vbench-unit-XXXXXX";
  return mkdtemp(t);
}

RunConfig config(std::vector<std::string> envs, std::vector<std::string> workloads, uint64_t seed = 7) {
  RunConfig cfg;
  for (auto& e : envs) cfg.envs.push_back(PlannedEnv{e, "fake", {}});
  for (auto& w : workloads) cfg.workloads.push_back(PlannedWorkload{w, nlohmann::json::object()});
  cfg.repetitions = 3;
  cfg.max_repetitions = 3;
  cfg.warmup = 0;
  cfg.seed = seed;
  cfg.run_id = "vbtest";
  return cfg;
}

struct Run {
  ResultSet rs;
  ResultSet reloaded;  // results.jsonl read back
};

Run run(World& w, const RunConfig& cfg) {
  const std::string dir = temp_dir();
  auto log = ResultsLog::open(dir + "/results.jsonl");
  REQUIRE(log);
  RunMeta meta;
  meta.run_id = cfg.run_id;
  REQUIRE(log->write_meta(meta));
  FakeDriver driver(w);
  FILE* devnull = fopen("/dev/null", "w");
  REQUIRE(devnull);
  Progress progress(devnull);
  Run r;
  r.rs = execute_run(cfg, meta, *log, progress, w.stop,
                     [&](const std::string& kind) -> Driver* { return kind == "fake" ? &driver : nullptr; });
  fclose(devnull);
  auto back = load_results(dir + "/results.jsonl");
  REQUIRE(back);
  r.reloaded = *back;
  (void)remove_tree(dir);
  return r;
}

std::vector<std::string> runs_only(const std::vector<std::string>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    if (e.rfind("run ", 0) == 0) out.push_back(e);
  return out;
}

size_t measured(const ResultSet& rs, const std::string& env, const std::string& workload) {
  size_t n = 0;
  for (const auto& s : rs.samples) n += s.env == env && s.workload == workload && !s.warmup;
  return n;
}

}  // namespace

TEST_CASE("scheduler: each round runs every cell once, in an order drawn from the seed", "[scheduler]") {
  World a, b, c;
  const auto cfg = config({"e1", "e2"}, {"w.a", "w.b"}, 1);
  run(a, cfg);
  run(b, cfg);
  auto other = cfg;
  other.seed = 2;
  run(c, other);

  const auto order = runs_only(a.events);
  REQUIRE(order.size() == 12);  // 2 envs x 2 workloads x 3 rounds
  for (size_t round = 0; round < 3; ++round) {
    std::set<std::string> cells(order.begin() + round * 4, order.begin() + round * 4 + 4);
    CHECK(cells.size() == 4);  // interleaved: every cell once per round
  }
  CHECK(runs_only(b.events) == order);  // same seed, same order
  CHECK(runs_only(c.events) != order);  // another seed, another order
  CHECK(runs_only(c.events).size() == 12);
  std::vector<std::string> first_rounds(order.begin(), order.begin() + 8);
  std::vector<std::string> sorted = first_rounds;
  std::sort(sorted.begin(), sorted.end());
  CHECK(first_rounds != sorted);  // shuffled, not in plan order every round
}

TEST_CASE("scheduler: warm-ups come first and are flagged", "[scheduler]") {
  World w;
  auto cfg = config({"e1"}, {"w.a"});
  cfg.warmup = 2;
  const Run r = run(w, cfg);
  REQUIRE(r.rs.samples.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(r.rs.samples[i].round == static_cast<int>(i));
    CHECK(r.rs.samples[i].warmup == (i < 2));
  }
  CHECK(measured(r.rs, "e1", "w.a") == 3);
}

TEST_CASE("scheduler: adaptive stopping ends a precise cell at the minimum, a noisy one at the cap", "[scheduler]") {
  World w;
  w.value = [](const std::string& env, int call) {
    if (env == "steady") return 100.0;
    return call % 2 ? 50.0 : 150.0;  // a CI half-width far above 2%
  };
  auto cfg = config({"steady", "noisy"}, {"w.a"});
  cfg.repetitions = 3;
  cfg.max_repetitions = 8;
  cfg.ci_target = 0.02;
  const Run r = run(w, cfg);
  CHECK(measured(r.rs, "steady", "w.a") == 3);
  CHECK(measured(r.rs, "noisy", "w.a") == 8);

  SECTION("a target the noise meets stops the noisy cell early too") {
    World w2;
    w2.value = w.value;
    cfg.ci_target = 10;  // 1000%: anything is precise enough
    const Run r2 = run(w2, cfg);
    CHECK(measured(r2.rs, "noisy", "w.a") == 3);
  }
}

TEST_CASE("scheduler: an environment that fails to start is recorded and its cells fail", "[scheduler]") {
  World w;
  w.on_start = [](const std::string& env, int) -> std::optional<std::string> {
    if (env == "broken") return "no tap device";
    return std::nullopt;
  };
  auto cfg = config({"ok", "broken"}, {"w.a"});
  cfg.envs.push_back(PlannedEnv{"ghost", "nosuchkind", {}});
  const Run r = run(w, cfg);

  for (const ResultSet* rs : {&r.rs, &r.reloaded}) {
    REQUIRE(rs->envs.size() == 3);
    const EnvRecord* broken = rs->env("broken");
    REQUIRE(broken);
    CHECK_FALSE(broken->started);
    CHECK(broken->error.find("no tap device") != std::string::npos);
    const EnvRecord* ghost = rs->env("ghost");
    REQUIRE(ghost);
    CHECK_FALSE(ghost->started);
    CHECK(ghost->error.find("no driver `nosuchkind`") != std::string::npos);
    CHECK(rs->env("ok")->started);
  }
  CHECK(measured(r.rs, "ok", "w.a") == 3);
  CHECK(measured(r.rs, "broken", "w.a") == 3);
  for (const auto& s : r.rs.samples) {
    if (s.env == "ok") CHECK(s.ok);
    if (s.env == "broken") {
      CHECK_FALSE(s.ok);
      CHECK(s.error.find("no tap device") != std::string::npos);
    }
  }
  for (const auto& e : w.events) CHECK(e.find("run broken") == std::string::npos);
  CHECK(w.live.empty());
}

TEST_CASE("scheduler: a session that dies is restarted, and the restart is in the results", "[scheduler]") {
  World w;
  w.on_run = [](const std::string&, const std::string&, int call) -> std::optional<std::string> {
    if (call == 1) return "agent channel closed";
    return std::nullopt;
  };
  const Run r = run(w, config({"e1"}, {"w.a"}));

  // The dead session is stopped before the new one starts; the new one runs
  // the rest and is stopped at the end.
  const std::vector<std::string> expected = {"start e1#1", "run e1#1 w.a", "run e1#1 w.a", "stop e1#1",
                                             "start e1#2", "run e1#2 w.a", "stop e1#2"};
  CHECK(w.events == expected);
  CHECK(w.live.empty());

  for (const ResultSet* rs : {&r.rs, &r.reloaded}) {
    const EnvRecord* e = rs->env("e1");
    REQUIRE(e);
    REQUIRE(e->restarts.size() == 1);
    const EnvRestart& x = e->restarts[0];
    CHECK(x.round == 1);
    CHECK(x.workload == "w.a");
    CHECK(x.reason == "agent channel closed");
    CHECK(x.started);
    REQUIRE(x.lifecycle.size() == 1);
    CHECK(x.lifecycle[0].name == "start_s");
    CHECK(x.lifecycle[0].value == 2.0);  // the second session's
    REQUIRE_FALSE(e->lifecycle.empty());
    CHECK(e->lifecycle[0].value == 1.0);  // the first session's
    CHECK(e->lifecycle.back().name == "teardown_s");
    REQUIRE(e->warnings.size() == 1);
    CHECK(e->warnings[0].find("restarted in round 2") != std::string::npos);
  }
  REQUIRE(r.rs.samples.size() == 3);
  CHECK(r.rs.samples[0].ok);
  CHECK_FALSE(r.rs.samples[1].ok);
  CHECK(r.rs.samples[1].error == "agent channel closed");
  CHECK(r.rs.samples[2].ok);
}

TEST_CASE("scheduler: a restart that fails and a session that keeps dying take the environment down", "[scheduler]") {
  SECTION("the restart does not come up") {
    World w;
    w.on_run = [](const std::string&, const std::string&, int) -> std::optional<std::string> { return "died"; };
    w.on_start = [](const std::string&, int n) -> std::optional<std::string> {
      if (n == 2) return "guest did not boot";
      return std::nullopt;
    };
    const Run r = run(w, config({"e1"}, {"w.a"}));
    const EnvRecord* e = r.reloaded.env("e1");
    REQUIRE(e);
    REQUIRE(e->restarts.size() == 1);
    CHECK_FALSE(e->restarts[0].started);
    CHECK(e->restarts[0].error == "guest did not boot");
    CHECK(e->restarts[0].lifecycle.empty());
    REQUIRE(r.rs.samples.size() == 3);
    CHECK(r.rs.samples[2].error.find("did not restart: guest did not boot") != std::string::npos);
    CHECK(runs_only(w.events).size() == 1);
  }
  SECTION("two restarts, then no more") {
    World w;
    w.on_run = [](const std::string&, const std::string&, int) -> std::optional<std::string> { return "died"; };
    auto cfg = config({"e1"}, {"w.a"});
    cfg.repetitions = cfg.max_repetitions = 5;
    const Run r = run(w, cfg);
    CHECK(w.sessions_started["e1"] == 3);
    CHECK(runs_only(w.events).size() == 3);
    CHECK(r.reloaded.env("e1")->restarts.size() == 2);
    CHECK(r.rs.samples.back().error.find("failed repeatedly") != std::string::npos);
    CHECK(w.live.empty());
  }
}

TEST_CASE("scheduler: an interruption in any phase stops at once and stops every session", "[scheduler]") {
  auto cfg = config({"e1", "e2"}, {"w.a", "w.b"});
  cfg.warmup = 1;

  SECTION("while an environment starts") {
    World w;
    w.on_start = [&](const std::string& env, int) -> std::optional<std::string> {
      if (env == "e1") w.stop = true;
      return std::nullopt;
    };
    const Run r = run(w, cfg);
    CHECK(r.rs.meta.interrupted);
    CHECK(w.sessions_started.count("e2") == 0);
    CHECK(runs_only(w.events).empty());
    CHECK(w.live.empty());
    CHECK(w.stops_after_stop == 0);
  }
  SECTION("during a warm-up sample") {
    World w;
    w.on_run = [&](const std::string&, const std::string&, int) -> std::optional<std::string> {
      w.stop = true;
      return "interrupted";
    };
    const Run r = run(w, cfg);
    CHECK(r.rs.meta.interrupted);
    CHECK(runs_only(w.events).size() == 1);
    CHECK(w.sessions_started["e1"] == 1);  // an interrupted sample is not a dead session
    CHECK(w.sessions_started["e2"] == 1);
    REQUIRE(r.rs.samples.size() == 1);
    CHECK(r.rs.samples[0].warmup);
    CHECK_FALSE(r.rs.samples[0].ok);
    CHECK(w.live.empty());
    CHECK(w.stops_after_stop == 0);
  }
  SECTION("during a measured sample") {
    World w;
    int n = 0;
    w.on_run = [&](const std::string&, const std::string&, int) -> std::optional<std::string> {
      if (++n == 6) {  // round 2 (the first measured one), second sample
        w.stop = true;
        return "interrupted";
      }
      return std::nullopt;
    };
    const Run r = run(w, cfg);
    CHECK(r.rs.meta.interrupted);
    CHECK(runs_only(w.events).size() == 6);
    CHECK(r.rs.samples.size() == 6);
    CHECK(r.reloaded.samples.size() == 6);  // everything measured is in results.jsonl
    for (const auto& e : r.rs.envs) CHECK(e.restarts.empty());
    CHECK(w.live.empty());
    CHECK(w.stops_after_stop == 0);
  }
  SECTION("between samples") {
    World w;
    int n = 0;
    w.on_run = [&](const std::string&, const std::string&, int) -> std::optional<std::string> {
      if (++n == 3) w.stop = true;  // this sample succeeds; no further one starts
      return std::nullopt;
    };
    const Run r = run(w, cfg);
    CHECK(r.rs.meta.interrupted);
    CHECK(runs_only(w.events).size() == 3);
    CHECK(r.rs.samples.size() == 3);
    for (const auto& s : r.rs.samples) CHECK(s.ok);
    CHECK(w.live.empty());
  }
  SECTION("while a dead session restarts") {
    World w;
    w.on_run = [&](const std::string&, const std::string&, int) -> std::optional<std::string> { return "died"; };
    w.on_start = [&](const std::string&, int n) -> std::optional<std::string> {
      if (n == 2) w.stop = true;
      return std::nullopt;
    };
    const Run r = run(w, cfg);
    CHECK(r.rs.meta.interrupted);
    CHECK(runs_only(w.events).size() == 1);
    CHECK(w.live.empty());
    CHECK(w.stops_after_stop == 0);
  }
  SECTION("while sessions stop at the end") {
    World w;
    w.on_stop = [&](const std::string&) { w.stop = true; };
    const Run r = run(w, cfg);
    CHECK(runs_only(w.events).size() == 16);  // (1 warm-up + 3) x 4 cells: all ran
    CHECK(w.live.empty());                    // and both sessions were still stopped
    CHECK(r.rs.meta.interrupted);
  }
}
