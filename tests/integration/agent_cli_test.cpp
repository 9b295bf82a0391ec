// The agent's command line, run for real: `vbench-agent run` of net and os
// workloads, and `vbench-agent serve`.
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "workloads/net_peer.hpp"

namespace {

nlohmann::json metric_of(const nlohmann::json& sample, const std::string& name) {
  for (const auto& m : sample.at("metrics"))
    if (m.at("name") == name) return m;
  FAIL("no metric `" << name << "` in " << sample.dump());
  return {};
}

nlohmann::json parse_sample(const vbtest::CommandResult& r) {
  INFO(r.out);
  // --json prints the sample as the last thing on stdout.
  auto start = r.out.find('{');
  REQUIRE(start != std::string::npos);
  auto j = nlohmann::json::parse(r.out.substr(start), nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

}  // namespace

TEST_CASE("agent run net.tcp_rr starts its own loopback peer", "[agent][net]") {
  auto r = vbtest::run_command(vbtest::agent_bin() + " run net.tcp_rr --param duration=0.3s --json");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  auto s = parse_sample(r);
  CHECK(s.at("ok") == true);
  CHECK(s.at("workload") == "net.tcp_rr");
  auto tps = metric_of(s, "tps");
  CHECK(tps.at("unit") == "trans/s");
  CHECK(tps.at("value").get<double>() > 0);
  CHECK(s.at("histograms").contains("latency"));
}

TEST_CASE("agent serve is a peer other agents can use, and stops on SIGTERM", "[agent][net]") {
  vbench::PeerProcess peer;
  auto addr = peer.start(vbtest::agent_bin(), "127.0.0.1:0");
  REQUIRE(addr.ok());
  for (const char* w : {"net.udp_rr", "net.tcp_crr", "net.tcp_stream"}) {
    INFO(w);
    auto r =
        vbtest::run_command(vbtest::agent_bin() + " run " + w + " --peer " + *addr + " --param duration=0.2s --json");
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    auto s = parse_sample(r);
    CHECK(s.at("ok") == true);
  }
  peer.stop();

  // Prints where it listens, and exits on SIGTERM (timeout(1) sends it after
  // 1 s; exit 124 = it had to, 137 = it ignored it and was killed).
  auto r = vbtest::run_command("timeout -k 3 1 " + vbtest::agent_bin() + " serve --listen 127.0.0.1:0");
  INFO(r.out);
  CHECK(r.exit_code == 124);
  CHECK_THAT(r.out, Catch::StartsWith("listening 127.0.0.1:"));
}

TEST_CASE("agent serve refuses what it cannot parse or bind", "[agent][net]") {
  auto r = vbtest::run_command(vbtest::agent_bin() + " serve --listen localhost:0");
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.out, Catch::Contains("localhost:0"));
}

TEST_CASE("agent run of a net workload against a dead peer fails with the reason", "[agent][net]") {
  auto r = vbtest::run_command(vbtest::agent_bin() + " run net.tcp_rr --peer 127.0.0.1:1 --param duration=0.2s");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("connect 127.0.0.1:1: Connection refused"));
}

TEST_CASE("agent run os.exec execs the agent's own noop", "[agent][os]") {
  auto r = vbtest::run_command(vbtest::agent_bin() + " run os.exec --param duration=0.2s --json");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  auto s = parse_sample(r);
  CHECK(s.at("ok") == true);
  CHECK(metric_of(s, "rate").at("value").get<double>() > 0);
}
