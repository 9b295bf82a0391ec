// Untrusted bytes: agents, guests and results files that are broken or
// hostile. Each case here was a crash, a hang or a wrong record before
// (issue 10): a deep JSON document, a flood of stale replies, a sample for
// another workload, environment metrics forged by the agent.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "agent/protocol.hpp"
#include "core/clock.hpp"
#include "core/deadline.hpp"
#include "core/json.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/kvm/console.hpp"
#include "model/results.hpp"

using namespace vbench;

namespace {

std::string nested(size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A fake agent on the other end of a socketpair, in a thread: for every
// request line it calls `answer(id, request)` and writes what that returns
// (any bytes, newline included); with `repeat`, it writes that answer again
// and again. It stops at EOF or after `max_s`.
class FakeAgent {
 public:
  using Answer = std::function<std::string(uint64_t id, const nlohmann::json& req)>;
  explicit FakeAgent(Answer answer, double max_s = 10, bool repeat = false)
      : answer_(std::move(answer)), repeat_(repeat) {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    ours_ = sv[0];
    theirs_ = sv[1];
    thread_ = std::thread([this, max_s] { serve(max_s); });
  }
  ~FakeAgent() {
    ::shutdown(theirs_, SHUT_RDWR);
    thread_.join();
    ::close(theirs_);
  }
  // The harness's end; the channel owns it.
  AgentChannel channel() { return AgentChannel(UniqueFd(ours_)); }

 private:
  void serve(double max_s) {
    const uint64_t deadline = deadline_after_s(max_s);
    std::string buf;
    char c[4096];
    while (now_ns() < deadline) {
      ssize_t n = ::recv(theirs_, c, sizeof c, 0);
      if (n <= 0) return;
      buf.append(c, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        auto req = nlohmann::json::parse(buf.substr(0, nl));
        buf.erase(0, nl + 1);
        const std::string out = answer_(req["id"].get<uint64_t>(), req);
        do {
          for (size_t off = 0; off < out.size();) {
            ssize_t w = ::send(theirs_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
            if (w <= 0) return;
            off += static_cast<size_t>(w);
          }
        } while (repeat_ && now_ns() < deadline);
      }
    }
  }
  Answer answer_;
  bool repeat_ = false;
  int ours_ = -1, theirs_ = -1;
  std::thread thread_;
};

std::string reply_line(const nlohmann::json& j) { return dump_json(j) + "\n"; }

nlohmann::json identity(int pid) {
  return {{"version", "0.1.0"}, {"pid", pid}, {"hostname", "guest"}, {"kernel", "6.1"}, {"cpus", 2}};
}

// A sample the way a real agent returns one for `req`.
nlohmann::json honest_sample(const nlohmann::json& req) {
  Sample s;
  s.workload = req["workload"];
  s.params = req["params"];
  s.metrics.push_back(Metric{"ops", 1000, "ops/s", Better::Higher});
  s.counters.push_back(CounterReading{"task-clock", 1e6, 1.0, "ok", "", "agent"});
  return to_json(s);
}

WorkloadRequest cpu_int_request() {
  WorkloadRequest req;
  req.workload = "cpu.int";
  req.params = {{"threads", 1}, {"duration", 0.1}, {"pin", false}};
  req.timeout_s = 5;
  return req;
}

}  // namespace

TEST_CASE("parse_json bounds depth and size, and names where it failed", "[json][hostile]") {
  CHECK(parse_json(nested(64)).ok());
  auto deep = parse_json(nested(65));
  REQUIRE_FALSE(deep.ok());
  CHECK(contains(deep.error().message, "nested deeper than 64 levels"));
  // 300,000 levels: no stack is exhausted parsing it, and no DOM that deep
  // is ever built (copying or comparing one would recurse).
  auto very_deep = parse_json("{\"a\":" + nested(300000) + "}");
  REQUIRE_FALSE(very_deep.ok());
  CHECK(contains(very_deep.error().message, "nested deeper than 64 levels"));
  // Objects count like arrays.
  std::string objs;
  for (int i = 0; i < 100; ++i) objs += "{\"k\":";
  objs += "0" + std::string(100, '}');
  CHECK_FALSE(parse_json(objs).ok());
  CHECK(parse_json(objs, JsonLimits{1 << 20, 128}).ok());

  auto big = parse_json(std::string(100, ' ') + "1", JsonLimits{64, 64});
  REQUIRE_FALSE(big.ok());
  CHECK(contains(big.error().message, "101 bytes (limit 64)"));

  auto bad = parse_json("{\"a\": tru}");
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message, "not valid JSON at byte"));
  CHECK_FALSE(parse_json("{} {}").ok());  // exactly one value
  CHECK_FALSE(parse_json("").ok());
  CHECK_FALSE(parse_json("\"\xff\"").ok());  // invalid UTF-8

  auto ok = parse_json(" {\"a\": [1, 2.5, \"x\", null, true, {\"b\": {}}], \"a2\": -3} \r\n");
  REQUIRE(ok.ok());
  CHECK(*ok == nlohmann::json::parse(R"({"a": [1, 2.5, "x", null, true, {"b": {}}], "a2": -3})"));
  // Duplicate keys: the last wins, as with nlohmann::json::parse.
  CHECK((*parse_json(R"({"k":1,"k":2})"))["k"] == 2);
}

TEST_CASE("json_string never throws on a member of another type", "[json][hostile]") {
  const auto j = nlohmann::json::parse(R"({"name": 5, "host": "box"})");
  CHECK(json_string(j, "name").empty());
  CHECK(json_string(j, "host") == "box");
  CHECK(json_string(j, "missing").empty());
  CHECK(json_string(nlohmann::json::array(), "name").empty());
}

TEST_CASE("a results file nested 200,000 deep is an error, not a crash", "[json][hostile][results]") {
  const std::string doc = R"({"run":{"run_id":"vb1"},"samples":[{"env":"bare","workload":"cpu.int","params":{"x":)" +
                          nested(200000) + "}}]}";
  auto r = parse_results(doc, "deep.json");
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.error().message, "deep.json"));
  CHECK(contains(r.error().message, "nested deeper than 64 levels"));

  // The same as a results.jsonl line names the line.
  const std::string lines = "{\"type\":\"run\",\"run_id\":\"vb1\"}\n{\"type\":\"sample\",\"params\":" + nested(200000) +
                            "}\n{\"type\":\"end\"}\n";
  auto l = parse_results(lines, "deep.jsonl");
  REQUIRE_FALSE(l.ok());
  CHECK(contains(l.error().message, "deep.jsonl:2"));
  CHECK(contains(l.error().message, "nested deeper"));

  // A deep last line is refused too, not taken for a torn write.
  auto last = parse_results("{\"type\":\"run\",\"run_id\":\"vb1\"}\n" + nested(100000) + "\n", "x.jsonl");
  REQUIRE_FALSE(last.ok());
  CHECK(contains(last.error().message, "x.jsonl:2"));
}

TEST_CASE("the agent answers a request nested 300,000 deep with an error", "[json][hostile][agent]") {
  bool shutdown = false;
  const std::string line = R"({"id":7,"op":"run","workload":"cpu.int","params":{"threads":)" + nested(300000) + "}}";
  auto reply = nlohmann::json::parse(handle_request_line(line, &shutdown));
  CHECK_FALSE(shutdown);
  CHECK(reply["ok"] == false);
  CHECK(reply["id"].is_null());
  CHECK(contains(reply["error"].get<std::string>(), "nested deeper than 64 levels"));
}

TEST_CASE("an agent reply nested 300,000 deep is a channel error, not a crash", "[json][hostile][agent]") {
  FakeAgent agent([](uint64_t id, const nlohmann::json&) {
    return fmt::format(R"({{"id":{},"ok":true,"agent":{{"pid":1,"x":{}}}}})", id, nested(300000)) + "\n";
  });
  auto ch = agent.channel();
  auto h = ch.hello(5);
  REQUIRE_FALSE(h.ok());
  CHECK(contains(h.error().message, "nested deeper than 64 levels"));
}

TEST_CASE("a flood of stale replies cannot extend a wait past its deadline", "[hostile][agent]") {
  // The agent answers every request with an endless stream of replies to an
  // old request id (for at most 8 s, so that a regression fails the time
  // check below instead of hanging the test).
  FakeAgent agent(
      [](uint64_t, const nlohmann::json&) {
        std::string flood;
        for (int i = 0; i < 1000; ++i) flood += "{\"id\":0,\"ok\":true}\n";
        return flood;
      },
      8, true);
  auto ch = agent.channel();
  const uint64_t t0 = now_ns();
  auto h = ch.hello(1.0);
  const double took = static_cast<double>(now_ns() - t0) / 1e9;
  REQUIRE_FALSE(h.ok());
  CHECK(contains(h.error().message, "did not answer within 1 s"));
  CHECK(took < 3.0);
}

TEST_CASE("a sample must be for the workload and parameters asked for", "[hostile][agent][reply]") {
  SECTION("an honest agent") {
    FakeAgent agent([](uint64_t id, const nlohmann::json& req) {
      if (req["op"] == "hello") return reply_line({{"id", id}, {"ok", true}, {"agent", identity(5)}});
      return reply_line({{"id", id}, {"ok", true}, {"sample", honest_sample(req)}});
    });
    auto ch = agent.channel();
    REQUIRE(ch.hello(5).ok());
    auto s = ch.run(cpu_int_request(), "", "");
    REQUIRE(s.ok());
    CHECK(s->ok);
    CHECK(s->metrics.size() == 1);
  }
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> forge;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"another workload", [](nlohmann::json& s) { s["workload"] = "mem.bandwidth"; },
       "agent answered for workload `mem.bandwidth`, not the `cpu.int` asked for"},
      {"another parameter value", [](nlohmann::json& s) { s["params"]["threads"] = 64; },
       "agent answered with parameter threads=64, not the threads=1 asked for"},
      {"a parameter missing", [](nlohmann::json& s) { s["params"].erase("pin"); }, "pin=(missing)"},
      {"an extra parameter", [](nlohmann::json& s) { s["params"]["extra"] = 1; }, "not the "},
      {"a forged cgroup metric",
       [](nlohmann::json& s) {
         s["env_metrics"] = {{{"name", "cgroup.cpu_usage_s"}, {"value", 0.0}, {"unit", "s"}, {"better", "lower"}}};
       },
       "agent sent environment metric `cgroup.cpu_usage_s`"},
      {"a forged host-scoped counter",
       [](nlohmann::json& s) {
         s["counters"].push_back({{"name", "cycles"}, {"value", 1.0}, {"status", "ok"}, {"scope", "host-cgroup"}});
       },
       "agent sent counter `cycles` of scope `host-cgroup`"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.what) {
      FakeAgent agent([&](uint64_t id, const nlohmann::json& req) {
        auto s = honest_sample(req);
        c.forge(s);
        return reply_line({{"id", id}, {"ok", true}, {"sample", s}});
      });
      auto ch = agent.channel();
      auto s = ch.run(cpu_int_request(), "", "");
      REQUIRE(s.ok());
      CHECK_FALSE(s->ok);
      CHECK(contains(s->error, c.reason));
      CHECK(s->workload == "cpu.int");
      CHECK(s->params == cpu_int_request().params);
      CHECK(s->metrics.empty());
      CHECK(s->env_metrics.empty());
    }
  }
}

TEST_CASE("the agent's identity is recorded once, typed and bounded", "[hostile][agent][reply]") {
  int pid = 100;
  FakeAgent agent([&](uint64_t id, const nlohmann::json&) {
    auto a = identity(pid++);
    a["injected"] = {{"anything", "at all"}};
    return reply_line({{"id", id}, {"ok", true}, {"agent", a}});
  });
  auto ch = agent.channel();
  auto first = ch.hello(5);
  REQUIRE(first.ok());
  CHECK((*first)["pid"] == 100);
  CHECK_FALSE(first->contains("injected"));
  CHECK(ch.identity() == *first);
  // The second hello claims another pid: not the agent that started.
  auto second = ch.hello(5);
  REQUIRE_FALSE(second.ok());
  CHECK(contains(second.error().message, "agent identity changed"));
  CHECK(ch.identity()["pid"] == 100);
}

TEST_CASE("an agent hello with mistyped identity fields is refused", "[hostile][agent][reply]") {
  FakeAgent agent([](uint64_t id, const nlohmann::json&) {
    return reply_line({{"id", id}, {"ok", true}, {"agent", {{"pid", "one"}, {"hostname", "h"}}}});
  });
  auto ch = agent.channel();
  auto h = ch.hello(5);
  REQUIRE_FALSE(h.ok());
  CHECK(contains(h.error().message, "`pid` is not an integer"));
}

TEST_CASE("a guest console that never stops printing stays under its cap", "[hostile][kvm]") {
  char dir[] = "/tmp/vbench-console-XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string path = std::string(dir) + "/console.log";
  constexpr size_t kCap = 1 << 20, kKeep = 64 << 10;
  {
    ConsoleCap cap(path, kCap, kKeep, 0.02);
    // The writer appends like QEMU with append=on: 64 MiB in 64 KiB lines
    // of 'x', at a pace the watcher can follow, then one last line.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    const std::string chunk = std::string((64 << 10) - 1, 'x') + "\n";
    size_t peak = 0;
    for (int i = 0; i < 1024; ++i) {
      REQUIRE(::write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()));
      if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::milliseconds(30));
      struct stat st {};
      REQUIRE(::fstat(fd, &st) == 0);
      peak = std::max(peak, static_cast<size_t>(st.st_size));
    }
    const std::string last = "the last words\n";
    REQUIRE(::write(fd, last.data(), last.size()) == static_cast<ssize_t>(last.size()));
    ::close(fd);
    // 64 MiB were written; between two checks only a few MiB can pile up
    // (without the cap the file would reach all 64).
    CHECK(peak < 32 * kCap);
  }
  // One more trim, as the watcher would do; then the file is under the cap
  // and ends with what the guest said last.
  auto dropped = ConsoleCap::enforce(path, kCap, kKeep);
  REQUIRE(dropped.ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(static_cast<size_t>(st.st_size) <= kCap);
  auto tail = read_console_tail(path, 100);
  REQUIRE(tail.ok());
  CHECK(tail->size() == 100);
  CHECK(tail->ends_with("the last words\n"));
  auto head = read_console_tail(path, kCap);
  REQUIRE(head.ok());
  CHECK(head->starts_with("[vbench: console over 1048576 bytes;"));
  std::filesystem::remove_all(dir);
}
