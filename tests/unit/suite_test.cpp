#include "harness/suite.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>
#include <string_view>

#include "core/fs.hpp"
#include "harness/builtin_suites.hpp"

using namespace vbench;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

ParamSpec spec(std::string name, ParamType type, std::string def, bool allow_auto = false) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = type;
  p.default_value = std::move(def);
  p.allow_auto = allow_auto;
  return p;
}

WorkloadDef def(std::string name, std::vector<ParamSpec> params) {
  WorkloadDef d;
  d.name = std::move(name);
  d.params = std::move(params);
  return d;
}

// Every workload and parameter named in COMMON.md, with its types; the real
// table is being written elsewhere, and the suite parser must not depend on
// it to be tested.
const WorkloadTable& fake_table() {
  static const WorkloadTable t = [] {
    using T = ParamType;
    const auto duration = spec("duration", T::Duration, "2s");
    const auto threads = spec("threads", T::Int, "1", true);
    WorkloadTable w;
    w.push_back(def("cpu.int", {threads, duration}));
    w.push_back(def("cpu.fp", {threads, duration}));
    w.push_back(def("mem.bandwidth", {spec("threads", T::Int, "auto", true), spec("size", T::Size, "auto", true),
                                      spec("ntimes", T::Int, "10")}));
    w.push_back(def("mem.latency", {spec("min_size", T::Size, "16KiB"), spec("max_size", T::Size, "1GiB")}));
    w.push_back(def("mem.pagefault", {spec("size", T::Size, "256MiB"), spec("thp", T::Bool, "false")}));
    for (const char* n : {"disk.seqread", "disk.seqwrite"})
      w.push_back(def(n, {spec("bs", T::Size, "1MiB"), spec("file_size", T::Size, "1GiB"), duration,
                          spec("direct", T::Bool, "true")}));
    for (const char* n : {"disk.randread", "disk.randwrite"})
      w.push_back(def(n, {spec("bs", T::Size, "4k"), spec("qd", T::Int, "1"), spec("file_size", T::Size, "1GiB"),
                          duration, spec("direct", T::Bool, "true"), spec("io_uring", T::Bool, "true")}));
    w.push_back(def("disk.fsync", {spec("bs", T::Size, "4k"), duration}));
    w.push_back(def("net.tcp_stream", {spec("streams", T::Int, "1"), spec("msg_size", T::Size, "128KiB"), duration}));
    for (const char* n : {"net.tcp_rr", "net.udp_rr"}) w.push_back(def(n, {spec("size", T::Size, "1"), duration}));
    for (const char* n : {"net.tcp_crr", "os.syscall", "os.ctxswitch", "os.fork", "os.thread", "os.exec"})
      w.push_back(def(n, {duration}));
    return w;
  }();
  return t;
}

Result<Suite> parse(const std::string& text) { return parse_suite(text, "t.toml", fake_table()); }

// A temporary directory removed with everything in it at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/vbench-suite-test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { (void)remove_tree(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = path + "/" + name;
    REQUIRE(write_file(p, text).ok());
    return p;
  }
};

}  // namespace

TEST_CASE("suite: errors name FILE:LINE:COLUMN", "[suite]") {
  struct Case {
    const char* what;
    std::string text;
    std::string error;  // the whole message
  };
  const std::vector<Case> cases = {
      {"unknown key in [suite]", "[suite]\nrepetition = 3\n",
       "t.toml:2:1: unknown key `repetition` in [suite] (did you mean `repetitions`?)"},
      {"a suite key at the top level", "repetitions = 3\n[suite]\n",
       "t.toml:1:1: unknown key `repetitions` at the top level (it belongs under [suite])"},
      {"unknown top-level table", "[suites]\n",
       "t.toml:1:2: unknown key `suites` at the top level (expected [suite], [env.NAME], [[workload]] or [compare])"},
      {"wrong type", "[suite]\nrepetitions = \"5\"\n", "t.toml:2:15: `repetitions` must be an integer, not a string"},
      {"out of range", "[suite]\nwarmup = -1\n", "t.toml:2:10: `warmup` must be between 0 and 100000, not -1"},
      {"ci_target range", "[suite]\nci_target = 2.0\n",
       "t.toml:2:13: `ci_target` must be at least 0 and below 1, not 2"},
      {"max below min", "[suite]\nrepetitions = 5\nmax_repetitions = 3\n",
       "t.toml:3:19: `max_repetitions` (3) is below `repetitions` (5)"},
      {"bad timeout unit", "[suite]\ntimeout = \"10 parsecs\"\n",
       "t.toml:2:11: `timeout`: invalid duration `10 parsecs`: unknown unit `parsecs` (use ns, us, ms, s, m, h)"},
      {"bad size unit", "[[workload]]\nname = \"disk.randread\"\nfile_size = \"64XB\"\n",
       "t.toml:3:13: disk.randread: parameter `file_size` (size): invalid size `64XB`: unknown unit `xb` (use k, "
       "KiB, MiB, GiB, TiB, KB, MB, GB)"},
      {"bad value in a sweep", "[[workload]]\nname = \"disk.randread\"\nqd = [1, \"x\"]\n",
       "t.toml:3:10: disk.randread: parameter `qd` (int): invalid integer `x`"},
      {"empty sweep", "[[workload]]\nname = \"disk.randread\"\nqd = []\n",
       "t.toml:3:6: disk.randread: parameter `qd`: an empty sweep"},
      {"unknown workload", "[[workload]]\nname = \"disk.randred\"\n",
       "t.toml:2:8: unknown workload `disk.randred` (did you mean `disk.randread`?)"},
      {"unknown param", "[[workload]]\nname = \"mem.pagefault\"\nsize = \"1GiB\"\nhuge = true\n",
       "t.toml:4:1: workload `mem.pagefault` has no parameter `huge` (it has: size, thp)"},
      {"workload without name", "[[workload]]\nqd = 1\n", "t.toml:1:1: [[workload]] without a `name`"},
      {"workload as a table", "[workload]\nname = \"cpu.int\"\n",
       "t.toml:1:1: `workload` must be an array of tables ([[workload]]), not a table"},
      {"duplicate workload", "[[workload]]\nname = \"cpu.int\"\n[[workload]]\nname = \"cpu.int\"\n",
       "t.toml:4:8: workload `cpu.int` is already listed at line 2 (sweep a parameter with an array instead)"},
      {"env without a kind", "[env.fast]\ncpus = 2\n",
       "t.toml:1:1: env `fast` needs `kind = \"...\"` (one of: bare, container, kvm, oci, docker, podman): its name "
       "is not a kind"},
      {"unknown env kind", "[env.fast]\nkind = \"lxc\"\n",
       "t.toml:2:8: unknown env kind `lxc` (kinds: bare, container, kvm, oci, docker, podman)"},
      {"env knob as a table", "[env.container.limits]\ncpus = 2\n",
       "t.toml:1:1: knob `limits` of env `container` must be a string, number or boolean, not a table"},
      {"baseline not an env", "[suite]\nbaseline = \"vm\"\n",
       "t.toml:2:12: baseline `vm` is neither an env of the suite (none) nor one of: bare, container, kvm, oci, "
       "docker, podman"},
      {"exclude without include", "[suite]\nexclude = [\"net.*\"]\n[[workload]]\nname = \"cpu.int\"\n",
       "t.toml:2:12: exclude `net.*` matches no workload of the included suite"},
      {"syntax error", "[suite]\nrepetitions = \n",
       "t.toml:2:15: Error while parsing key-value pair: expected value, saw '\\n'"},
      {"no workloads", "[suite]\nname = \"x\"\n", "t.toml: the suite has no workloads"},
      {"unknown counter event", "[suite]\ncounters = [\"cycles\", \"cycels\"]\n[[workload]]\nname = \"cpu.int\"\n",
       "t.toml:2:23: counters: unknown counter event `cycels`: libpfm4 knows no such event on this CPU (use perf's "
       "names, e.g. `cycles`, `page-faults`, `dTLB-load-misses`, or a PMU event listed by `vbench list --counters`)"},
      {"counters of the wrong type", "[suite]\ncounters = 3\n[[workload]]\nname = \"cpu.int\"\n",
       "t.toml:2:12: `counters` must be an event name or an array of them, not an integer"},
      {"every problem of a file at once", "[suite]\nwarmup = \"1\"\n[[workload]]\nname = \"cpu.nope\"\n",
       "t.toml:2:10: `warmup` must be an integer, not a string\nt.toml:4:8: unknown workload `cpu.nope`"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto s = parse(c.text);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message == c.error);
  }
}

TEST_CASE("suite: a minimal file takes the defaults", "[suite]") {
  auto s = parse("[[workload]]\nname = \"cpu.int\"\n");
  REQUIRE(s.ok());
  CHECK(s->name == "t");
  CHECK(s->source == "t.toml");
  CHECK(s->repetitions == 3);
  CHECK(s->max_repetitions == 3);
  CHECK(s->warmup == 1);
  CHECK_FALSE(s->seed.has_value());
  CHECK(s->baseline == "bare");
  CHECK(s->timeout_s == 600);
  REQUIRE(s->envs.size() == 1);  // no [env.*] means bare, and the run adds what else is available
  CHECK(s->envs[0].name == "bare");
  CHECK(s->envs_by_default);
  REQUIRE(s->workloads.size() == 1);
  REQUIRE(s->workloads[0].param_sets.size() == 1);
  CHECK(s->workloads[0].param_sets[0].json() == nlohmann::json({{"threads", 1}, {"duration", 2.0}}));
}

TEST_CASE("suite: counters default to the default set, a list or none replaces it", "[suite]") {
  auto d = parse("[[workload]]\nname = \"cpu.int\"\n");
  REQUIRE(d.ok());
  CHECK(d->counters == std::vector<std::string>{"default"});
  auto l = parse("[suite]\ncounters = [\"page-faults\", \"task-clock\"]\n[[workload]]\nname = \"cpu.int\"\n");
  REQUIRE(l.ok());
  CHECK(l->counters == std::vector<std::string>{"page-faults", "task-clock"});
  auto n = parse("[suite]\ncounters = \"none\"\n[[workload]]\nname = \"cpu.int\"\n");
  REQUIRE(n.ok());
  CHECK(n->counters.empty());
  CHECK(to_json(*l)["counters"] == nlohmann::json({"page-faults", "task-clock"}));
}

TEST_CASE("suite: settings, envs and kinds", "[suite]") {
  auto s = parse(R"(
[suite]
name = "mine"
description = "what it is for"
repetitions = 4
max_repetitions = 12
ci_target = 0.01
warmup = 2
seed = 12345
baseline = "container-half"
timeout = "90s"

[env.container-half]
kind = "container"
cpus = 0.5
memory = "512MiB"
cpuset = [0, 1]

[env.kvm]

[[workload]]
name = "cpu.int"
)");
  REQUIRE(s.ok());
  CHECK(s->name == "mine");
  CHECK(s->description == "what it is for");
  CHECK(s->repetitions == 4);
  CHECK(s->max_repetitions == 12);
  CHECK(s->ci_target == 0.01);
  CHECK(s->warmup == 2);
  CHECK(s->seed == 12345u);
  CHECK(s->baseline == "container-half");
  CHECK(s->timeout_s == 90);
  REQUIRE(s->envs.size() == 2);
  CHECK_FALSE(s->envs_by_default);  // the file chose its environments
  const SuiteEnv* half = s->env("container-half");
  REQUIRE(half);
  CHECK(half->kind == "container");
  CHECK(half->knobs.at("cpus") == 0.5);
  CHECK(half->knobs.at("memory") == "512MiB");
  CHECK(half->knobs.at("cpuset") == nlohmann::json::array({0, 1}));
  REQUIRE(s->env("kvm"));
  CHECK(s->env("kvm")->kind == "kvm");
}

TEST_CASE("suite: sweeps expand to the cartesian product", "[suite]") {
  auto s = parse(R"(
[[workload]]
name = "disk.randread"
qd = [1, 32]
bs = ["4k", "64KiB"]
file_size = "256MiB"
duration = "500ms"
)");
  REQUIRE(s.ok());
  const auto& w = s->workloads.at(0);
  CHECK(w.params.at("qd") == nlohmann::json::array({1, 32}));
  CHECK(w.params.at("file_size") == "256MiB");  // as written
  REQUIRE(w.param_sets.size() == 4);
  // In the workload's parameter order (bs before qd), the last varying fastest.
  const std::vector<std::pair<uint64_t, int64_t>> expect = {{4096, 1}, {4096, 32}, {65536, 1}, {65536, 32}};
  for (size_t i = 0; i < expect.size(); ++i) {
    INFO(i);
    const Params& p = w.param_sets[i];
    CHECK(p.get_size("bs") == expect[i].first);
    CHECK(p.get_int("qd") == expect[i].second);
    CHECK(p.get_size("file_size") == 256u << 20);
    CHECK(p.get_seconds("duration") == 0.5);
    CHECK(p.get_bool("direct"));  // default filled in
  }
  SECTION("too large a product is an error") {
    std::string many = "[";
    for (int i = 1; i <= 40; ++i) many += std::to_string(i) + (i < 40 ? "," : "]");
    auto big = parse("[[workload]]\nname = \"disk.randread\"\nqd = " + many + "\nbs = " + many + "\n");
    REQUIRE_FALSE(big.ok());
    CHECK_THAT(big.error().message, Contains("more than 1000 parameter sets"));
  }
}

TEST_CASE("suite: include and override", "[suite]") {
  TempDir dir;
  dir.write("base.toml", R"(
[suite]
description = "the base"
repetitions = 2
seed = 7
timeout = "1m"

[env.bare]
[env.container]
cpus = 1
memory = "1GiB"

[[workload]]
name = "cpu.int"
duration = "1s"

[[workload]]
name = "disk.randread"
qd = [1, 32]
file_size = "64MiB"

[[workload]]
name = "net.tcp_rr"
[[workload]]
name = "net.udp_rr"
)");
  const std::string top = dir.write("top.toml", R"(
[suite]
include = "base.toml"
exclude = ["net.*"]
repetitions = 5

[env.container]
cpus = 2

[env.kvm]

[[workload]]
name = "disk.randread"
qd = 8

[[workload]]
name = "os.fork"
)");
  auto s = load_suite(top, fake_table());
  REQUIRE(s.ok());
  CHECK(s->name == "top");
  CHECK(s->description.empty());  // not inherited
  CHECK(s->source == top);
  CHECK(s->includes == std::vector<std::string>{dir.path + "/base.toml"});
  CHECK(s->repetitions == 5);
  CHECK(s->max_repetitions == 5);  // raised with repetitions
  CHECK(s->seed == 7u);            // inherited
  CHECK(s->timeout_s == 60);
  REQUIRE(s->envs.size() == 3);
  CHECK(s->envs[0].name == "bare");
  CHECK(s->envs[1].name == "container");
  CHECK(s->envs[1].knobs.at("cpus") == 2);         // overridden
  CHECK(s->envs[1].knobs.at("memory") == "1GiB");  // kept
  CHECK(s->envs[2].name == "kvm");
  std::vector<std::string> names;
  for (const auto& w : s->workloads) names.push_back(w.name);
  CHECK(names == std::vector<std::string>{"cpu.int", "disk.randread", "os.fork"});
  const SuiteWorkload* rr = s->workload("disk.randread");
  REQUIRE(rr);
  CHECK(rr->params.at("qd") == 8);               // the sweep is replaced
  CHECK(rr->params.at("file_size") == "64MiB");  // kept
  REQUIRE(rr->param_sets.size() == 1);
  CHECK(rr->param_sets[0].get_int("qd") == 8);

  SECTION("a built-in suite by name") {
    const std::string f = dir.write("mine.toml", "[suite]\ninclude = \"smoke\"\nrepetitions = 2\n");
    auto m = load_suite(f, fake_table());
    REQUIRE(m.ok());
    CHECK(m->includes == std::vector<std::string>{"builtin:smoke"});
    CHECK(m->repetitions == 2);
    CHECK(m->warmup == 0);  // from smoke
    CHECK(m->workloads.size() == fake_table().size());
  }
  SECTION("errors in an included file name that file, then the include") {
    dir.write("broken.toml", "[suite]\nrepetitions = 0\n");
    const std::string f = dir.write("uses.toml", "[suite]\ninclude = \"broken.toml\"\n");
    auto m = load_suite(f, fake_table());
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().message == dir.path + "/broken.toml:2:15: `repetitions` must be between 1 and 100000, not 0\n" + f +
                                   ":2:11: note: included from here");
  }
  SECTION("a missing include") {
    const std::string f = dir.write("lost.toml", "[suite]\ninclude = \"nowhere\"\n");
    auto m = load_suite(f, fake_table());
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().message == f + ":2:11: include: no built-in suite `nowhere` (built-in: " +
                                   fmt::format("{}", fmt::join(builtin_suite_names(), ", ")) + ") and no file `" +
                                   dir.path + "/nowhere`");
  }
}

TEST_CASE("suite: include cycles are detected", "[suite]") {
  TempDir dir;
  const std::string a = dir.write("a.toml", "[suite]\ninclude = \"b.toml\"\n");
  const std::string b = dir.write("b.toml", "# b\n[suite]\ninclude = \"./a.toml\"\n");
  auto s = load_suite(a, fake_table());
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message ==
        b + ":3:11: include cycle: " + a + " -> " + b + " -> " + a + "\n" + a + ":2:11: note: included from here");

  const std::string self = dir.write("self.toml", "[suite]\ninclude = \"self.toml\"\n");
  auto t = load_suite(self, fake_table());
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message == self + ":2:11: include cycle: " + self + " -> " + self);
}

TEST_CASE("suite: --set WORKLOAD.PARAM=VALUE", "[suite]") {
  auto loaded = parse(R"(
[[workload]]
name = "disk.randread"
qd = [1, 32]
[[workload]]
name = "mem.bandwidth"
)");
  REQUIRE(loaded.ok());

  SECTION("good assignments") {
    Suite s = *loaded;
    REQUIRE(apply_set(s, "disk.randread.qd=8", fake_table()).ok());
    REQUIRE(apply_set(s, "disk.randread.file_size=2GiB", fake_table()).ok());
    REQUIRE(apply_set(s, "mem.bandwidth.size=auto", fake_table()).ok());
    const SuiteWorkload* rr = s.workload("disk.randread");
    CHECK(rr->params.at("qd") == "8");
    REQUIRE(rr->param_sets.size() == 1);  // the sweep is replaced
    CHECK(rr->param_sets[0].get_int("qd") == 8);
    CHECK(rr->param_sets[0].get_size("file_size") == 2ull << 30);
    CHECK(s.workload("mem.bandwidth")->param_sets[0].is_auto("size"));
  }
  SECTION("bad assignments leave the suite unchanged") {
    struct Case {
      std::string set, error;
    };
    const std::vector<Case> cases = {
        {"disk.randread.qd", "`disk.randread.qd`: expected WORKLOAD.PARAM=VALUE (e.g. disk.randread.qd=32)"},
        {"qd=8", "`qd=8`: expected WORKLOAD.PARAM=VALUE (e.g. disk.randread.qd=32)"},
        {"disk.randread.=8", "`disk.randread.=8`: expected WORKLOAD.PARAM=VALUE (e.g. disk.randread.qd=32)"},
        {"disk.randred.qd=8", "`disk.randred.qd=8`: unknown workload `disk.randred` (did you mean `disk.randread`?)"},
        {"disk.randread.qdepth=8",
         "`disk.randread.qdepth=8`: workload `disk.randread` has no parameter `qdepth` (it has: bs, qd, file_size, "
         "duration, direct, io_uring)"},
        {"disk.randread.qd=x", "`disk.randread.qd=x`: disk.randread: parameter `qd` (int): invalid integer `x`"},
        {"disk.randread.qd=", "`disk.randread.qd=`: disk.randread: parameter `qd` (int): invalid integer ``"},
        {"disk.randread.duration=2parsecs",
         "`disk.randread.duration=2parsecs`: disk.randread: parameter `duration` (duration): invalid duration "
         "`2parsecs`: unknown unit `parsecs` (use ns, us, ms, s, m, h)"},
        {"cpu.int.duration=1s", "`cpu.int.duration=1s`: suite `t` does not run workload `cpu.int`"},
    };
    for (const auto& c : cases) {
      INFO(c.set);
      Suite s = *loaded;
      auto st = apply_set(s, c.set, fake_table());
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().message == c.error);
      CHECK(to_json(s) == to_json(*loaded));
    }
  }
}

TEST_CASE("suite: --env and --env-set", "[suite]") {
  auto loaded = parse("[env.bare]\n[[workload]]\nname = \"cpu.int\"\n");
  REQUIRE(loaded.ok());
  Suite s = *loaded;
  REQUIRE(add_env(s, "container").ok());
  REQUIRE(add_env(s, "bare").ok());  // already there
  CHECK(s.envs.size() == 2);
  CHECK(s.env("container")->kind == "container");
  auto bad = add_env(s, "container-half");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message ==
        "env `container-half`: not defined by suite `t` and not one of: bare, container, kvm, oci, docker, podman");

  REQUIRE(apply_env_set(s, "container.cpus=1.5").ok());
  CHECK(s.env("container")->knobs.at("cpus") == "1.5");  // the driver's ParamSpec normalizes it
  struct Case {
    std::string set, error;
  };
  const std::vector<Case> cases = {
      {"container", "`container`: expected ENV.KNOB=VALUE (e.g. container.cpus=2)"},
      {"container.=1", "`container.=1`: expected ENV.KNOB=VALUE (e.g. container.cpus=2)"},
      {"kvm.memory=1GiB", "`kvm.memory=1GiB`: the suite has no env `kvm` (it has: bare, container)"},
      {"container.kind=kvm", "`container.kind=kvm`: the kind of an env is not a knob"},
  };
  for (const auto& c : cases) {
    INFO(c.set);
    auto st = apply_env_set(s, c.set);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message == c.error);
  }
}

TEST_CASE("suite: load_suite errors", "[suite]") {
  auto s = load_suite("no-such-suite", fake_table());
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, StartsWith("suite: no built-in suite `no-such-suite` (built-in: "));
  auto f = load_suite("/nonexistent/x.toml", fake_table());
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().message == "suite: suite file `/nonexistent/x.toml`: No such file or directory");
}

TEST_CASE("suite: to_json records the suite as run", "[suite]") {
  auto s = parse("[suite]\nseed = 3\n[[workload]]\nname = \"net.tcp_rr\"\nsize = [1, \"4k\"]\n");
  REQUIRE(s.ok());
  const auto j = to_json(*s);
  CHECK(j["name"] == "t");
  CHECK(j["source"] == "t.toml");
  CHECK(j["seed"] == 3);
  CHECK(j["envs"][0]["kind"] == "bare");
  CHECK(j["workloads"][0]["params"]["size"] == nlohmann::json::array({1, "4k"}));
  CHECK(j["workloads"][0]["param_sets"][1]["size"] == 4096);
  CHECK(j["workloads"][0]["param_sets"][1]["duration"] == 2.0);
  s->seed.reset();
  CHECK(to_json(*s)["seed"].is_null());
}

TEST_CASE("suite: the built-in suites parse and validate", "[suite]") {
  std::set<std::string> names;
  for (const auto& b : builtin_suites()) names.insert(b.name);
  CHECK(names == std::set<std::string>{"quick", "runtimes", "smoke", "standard"});

  for (const auto& b : builtin_suites()) {
    INFO(b.name);
    auto s = load_suite(b.name, fake_table());
    REQUIRE(s.ok());
    CHECK(s->name == b.name);
    CHECK(s->source == std::string("builtin:") + b.name);
    CHECK(s->baseline == "bare");
    if (std::string_view(b.name) == "runtimes") {  // b.name is a const char*
      // Its own environments (container layer by layer, oci, docker) and
      // only the workloads a layer can touch.
      std::set<std::string> kinds;
      for (const auto& e : s->envs) kinds.insert(e.kind);
      CHECK(kinds == std::set<std::string>{"bare", "container", "oci", "docker", "podman"});
      CHECK(s->envs.size() == 10);
      continue;
    }
    REQUIRE(s->envs.size() == 1);
    CHECK(s->envs[0].name == "bare");
    CHECK(s->envs_by_default);  // built-in suites compare every environment available
    // Every workload, each once.
    std::set<std::string> listed;
    for (const auto& w : s->workloads) listed.insert(w.name);
    CHECK(listed.size() == s->workloads.size());
    CHECK(listed.size() == fake_table().size());
  }
  auto smoke = load_suite("smoke", fake_table());
  REQUIRE(smoke.ok());
  CHECK(smoke->repetitions == 1);
  CHECK(smoke->warmup == 0);
  // Tiny: every duration in smoke is at most half a second.
  for (const auto& w : smoke->workloads)
    for (const auto& p : w.param_sets)
      if (p.json().contains("duration")) CHECK(p.get_seconds("duration") <= 0.5);

  auto standard = load_suite("standard", fake_table());
  REQUIRE(standard.ok());
  CHECK(standard->workload("disk.randread")->param_sets.size() == 2);  // QD1 and QD32
  CHECK(standard->workload("mem.latency")->param_sets[0].get_size("max_size") == 1ull << 30);
}

// Once the workload families are registered, the built-in suites must also
// agree with the real table (a parameter renamed there breaks this test, not
// a user's run). An empty registry is a broken build.
TEST_CASE("suite: the built-in suites validate against the workload registry", "[suite]") {
  REQUIRE_FALSE(all_workloads().empty());
  for (const auto& b : builtin_suites()) {
    INFO(b.name);
    auto s = load_suite(b.name);
    if (!s) FAIL(s.error().message);
  }
}

TEST_CASE("suite: [compare] settings for vbench compare", "[suite][compare]") {
  SECTION("values, dotted and quoted keys, families") {
    auto s = parse(R"(
[[workload]]
name = "cpu.int"

[compare]
alpha = 0.01
threshold = "3%"

[compare.thresholds]
"mem.bandwidth" = "2.5%"
mem.bandwidth.triad = "1%"
"disk.*" = "10 %"
"cpu.int.ops" = "0%"
)");
    REQUIRE(s.ok());
    CHECK(s->compare.gate.empty());
    CHECK(s->compare.alpha == 0.01);
    CHECK(s->compare.threshold == Approx(0.03));
    CHECK(s->compare.thresholds.size() == 4);
    CHECK(s->compare.thresholds.at("mem.bandwidth") == Approx(0.025));
    CHECK(s->compare.thresholds.at("mem.bandwidth.triad") == Approx(0.01));
    CHECK(s->compare.thresholds.at("disk.*") == Approx(0.10));
    CHECK(s->compare.thresholds.at("cpu.int.ops") == 0);
    // Recorded with the suite, and read back from results.
    const auto j = to_json(*s);
    auto back = suite_compare_from_json(j);
    REQUIRE(back.ok());
    CHECK(back->alpha == s->compare.alpha);
    CHECK(back->threshold == s->compare.threshold);
    CHECK(back->thresholds == s->compare.thresholds);
  }
  SECTION("gate: diagnostics that gate too, recorded and read back") {
    auto s =
        parse("[[workload]]\nname = \"cpu.int\"\n[compare]\ngate = [\"cgroup.memory_peak\", \"cpu_ns_per_op.*\"]\n");
    REQUIRE(s.ok());
    CHECK(s->compare.gate == std::vector<std::string>{"cgroup.memory_peak", "cpu_ns_per_op.*"});
    CHECK_FALSE(s->compare.empty());
    auto back = suite_compare_from_json(to_json(*s));
    REQUIRE(back.ok());
    CHECK(back->gate == s->compare.gate);
  }
  SECTION("absent: all defaults") {
    auto s = parse("[[workload]]\nname = \"cpu.int\"\n");
    REQUIRE(s.ok());
    CHECK(s->compare.empty());
    auto back = suite_compare_from_json(to_json(*s));
    REQUIRE(back.ok());
    CHECK(back->empty());
    CHECK(suite_compare_from_json(nlohmann::json::object())->empty());
  }
  SECTION("errors name FILE:LINE:COLUMN") {
    struct Case {
      const char* what;
      std::string text;
      std::string error;
    };
    const std::string w = "[[workload]]\nname = \"cpu.int\"\n";  // lines 1-2
    const std::vector<Case> cases = {
        {"unknown key", w + "[compare]\nthreshhold = \"3%\"\n",
         "t.toml:4:1: unknown key `threshhold` in [compare] (did you mean `threshold`?)"},
        {"a bare number", w + "[compare]\nthreshold = 0.05\n",
         "t.toml:4:13: `threshold` must be a percentage string like \"5%\", not a bare number"},
        {"not a percentage", w + "[compare]\nthreshold = \"lots\"\n",
         "t.toml:4:13: `threshold`: invalid percentage `lots` (write e.g. \"5%\")"},
        {"negative", w + "[compare]\nthreshold = \"-3%\"\n",
         "t.toml:4:13: `threshold`: invalid percentage `-3%` (write e.g. \"5%\")"},
        {"too large", w + "[compare]\nthreshold = \"5000%\"\n",
         "t.toml:4:13: `threshold` must be at most 1000%, not 5000%"},
        {"alpha out of range", w + "[compare]\nalpha = 1.5\n",
         "t.toml:4:9: `alpha` must be at least 0 and below 1, not 1.5"},
        {"alpha zero", w + "[compare]\nalpha = 0\n", "t.toml:4:9: `alpha` must be above 0"},
        {"unknown workload", w + "[compare.thresholds]\n\"mem.bandwith.triad\" = \"2%\"\n",
         "t.toml:4:1: [compare.thresholds]: `mem.bandwith.triad` names no workload (write WORKLOAD, "
         "WORKLOAD.METRIC or FAMILY.*)"},
        {"unknown family", w + "[compare.thresholds]\n\"gpu.*\" = \"2%\"\n",
         "t.toml:4:1: [compare.thresholds]: `gpu.*` names no workload (write WORKLOAD, WORKLOAD.METRIC or "
         "FAMILY.*)"},
        {"a typo of a workload", w + "[compare.thresholds]\n\"cpu.itn\" = \"2%\"\n",
         "t.toml:4:1: [compare.thresholds]: `cpu.itn` names no workload (write WORKLOAD, WORKLOAD.METRIC or "
         "FAMILY.*) (did you mean `cpu.int`?)"},
        {"a threshold as a number", w + "[compare.thresholds]\n\"cpu.int\" = 3\n",
         "t.toml:4:13: `cpu.int` must be a percentage string like \"5%\", not a bare number"},
        {"thresholds not a table", w + "[compare]\nthresholds = \"5%\"\n",
         "t.toml:4:14: `thresholds` must be a table ([compare.thresholds]), not a string"},
        {"gate not an array", w + "[compare]\ngate = \"cgroup.memory_peak\"\n",
         "t.toml:4:8: `gate` must be an array of metric names, not a string"},
        {"gate: a number", w + "[compare]\ngate = [\"page-faults\", 3]\n",
         "t.toml:4:24: `gate`: a metric name must be a string, not an integer"},
        {"gate: a star inside", w + "[compare]\ngate = [\"cgroup.*.peak\"]\n",
         "t.toml:4:9: `gate`: `cgroup.*.peak` is not a metric name (a name as results show it, such as "
         "cgroup.memory_peak, or a prefix ending in `*`, such as cgroup.*; at most 128 characters)"},
        {"gate: foreign_cpus", w + "[compare]\ngate = [\"foreign_cpus\"]\n",
         "t.toml:4:9: `gate`: `foreign_cpus` is a condition of the host, never judged"},
        {"compare not a table", "compare = 1\n" + w,
         "t.toml:1:11: `compare` must be a table ([compare]), not an integer"},
    };
    for (const auto& c : cases) {
      INFO(c.what);
      auto s = parse(c.text);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().message == c.error);
    }
  }
  SECTION("an including suite overrides and merges") {
    TempDir dir;
    dir.write("base.toml", R"(
[[workload]]
name = "cpu.int"
[compare]
alpha = 0.01
threshold = "3%"
[compare.thresholds]
"cpu.int" = "2%"
"disk.*" = "10%"
)");
    const std::string top = dir.write("top.toml", R"(
[suite]
include = "base.toml"
[compare]
threshold = "4%"
[compare.thresholds]
"disk.*" = "20%"
"mem.latency" = "7%"
)");
    auto s = load_suite(top, fake_table());
    REQUIRE(s.ok());
    CHECK(s->compare.alpha == 0.01);
    CHECK(s->compare.threshold == Approx(0.04));
    CHECK(s->compare.thresholds.at("cpu.int") == Approx(0.02));
    CHECK(s->compare.thresholds.at("disk.*") == Approx(0.20));
    CHECK(s->compare.thresholds.at("mem.latency") == Approx(0.07));
  }
  SECTION("results with a broken [compare] are refused") {
    CHECK_FALSE(suite_compare_from_json({{"compare", {{"alpha", 2}}}}).ok());
    CHECK_FALSE(suite_compare_from_json({{"compare", {{"threshold", "5%"}}}}).ok());
    CHECK_FALSE(suite_compare_from_json({{"compare", {{"thresholds", {{"cpu.int", nullptr}}}}}}).ok());
    CHECK_FALSE(suite_compare_from_json({{"compare", 3}}).ok());
  }
}
