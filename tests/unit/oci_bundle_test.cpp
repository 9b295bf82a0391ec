// The OCI bundle vbench writes: config.json carries the knobs as the
// runtime-spec names them, and the runtime's error text is cut to one line.
#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "drivers/oci/bundle.hpp"
#include "drivers/oci/runtime.hpp"

using namespace vbench;

namespace {
BundlePlan sample_plan() {
  BundlePlan p;
  p.dir = "/tmp/b";
  p.agent_binary = "/opt/vbench-agent";
  p.scratch = "/var/tmp/s";
  p.args = {"/vbench-agent", "agent"};
  p.hostname = "h";
  p.netns_path = "/proc/1/fd/7";
  p.cgroups_path = "/vbench/x";
  return p;
}
}  // namespace

TEST_CASE("oci config: limits map to runtime-spec resources", "[oci]") {
  BundlePlan p = sample_plan();
  p.limits.cpus = 0.5;
  p.limits.cpu_period_us = 100000;
  p.limits.cpuset = "1";
  p.limits.memory = 256ull << 20;
  p.limits.pids = 64;
  p.memory_swap = true;
  auto j = oci_config(p);
  const auto& r = j["linux"]["resources"];
  CHECK(r["cpu"]["quota"] == 50000);
  CHECK(r["cpu"]["period"] == 100000);
  CHECK(r["cpu"]["cpus"] == "1");
  CHECK(r["memory"]["limit"] == (256ull << 20));
  CHECK(r["memory"]["swap"] == (256ull << 20));
  CHECK(r["pids"]["limit"] == 64);
  CHECK(j["linux"]["cgroupsPath"] == "/vbench/x");
  CHECK(j["process"]["args"] == nlohmann::json({"/vbench-agent", "agent"}));
  CHECK(j["process"]["terminal"] == false);
  CHECK(j["root"]["readonly"] == true);
}

TEST_CASE("oci config: no limits, no resource entries, swap only where the host can cap it", "[oci]") {
  BundlePlan p = sample_plan();
  auto j = oci_config(p);
  const auto& r = j["linux"]["resources"];
  CHECK_FALSE(r.contains("cpu"));
  CHECK_FALSE(r.contains("memory"));
  CHECK_FALSE(r.contains("pids"));
  p.limits.memory = 64ull << 20;
  auto k = oci_config(p);
  CHECK(k["linux"]["resources"]["memory"]["limit"] == (64ull << 20));
  CHECK_FALSE(k["linux"]["resources"]["memory"].contains("swap"));
}

TEST_CASE("oci config: the prepared network namespace is joined by path, mounts hold agent and scratch", "[oci]") {
  BundlePlan p = sample_plan();
  auto j = oci_config(p);
  bool net = false;
  for (const auto& ns : j["linux"]["namespaces"])
    if (ns["type"] == "network") {
      net = true;
      CHECK(ns["path"] == "/proc/1/fd/7");
    }
  CHECK(net);
  std::map<std::string, std::string> binds;
  for (const auto& m : j["mounts"])
    if (m["type"] == "bind") binds[m["destination"]] = m["source"];
  CHECK(binds ==
        std::map<std::string, std::string>{{"/vbench-agent", "/opt/vbench-agent"}, {"/scratch", "/var/tmp/s"}});
  p.netns_path.clear();
  p.scratch.clear();
  auto k = oci_config(p);
  for (const auto& ns : k["linux"]["namespaces"])
    if (ns["type"] == "network") CHECK_FALSE(ns.contains("path"));
  for (const auto& m : k["mounts"]) CHECK(m["destination"] != "/scratch");
}

TEST_CASE("oci config: Docker's default capability set, no new privileges", "[oci]") {
  auto j = oci_config(sample_plan());
  const auto& caps = j["process"]["capabilities"]["bounding"];
  CHECK(caps.size() == 14);
  CHECK(std::find(caps.begin(), caps.end(), "CAP_NET_RAW") != caps.end());
  CHECK(std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN") == caps.end());
  CHECK(j["process"]["noNewPrivileges"] == true);
}

TEST_CASE("oci bundle: written with its mount points and a parseable config.json", "[oci]") {
  char t[] = "/tmp/vbench-oci-XXXXXX";
  REQUIRE(mkdtemp(t) != nullptr);
  BundlePlan p = sample_plan();
  p.dir = std::string(t) + "/bundle";
  REQUIRE(write_bundle(p).ok());
  for (const char* d : {"proc", "dev", "sys", "tmp", "scratch", "vbench-agent"})
    CHECK(path_exists(p.dir + "/rootfs/" + d));
  auto text = read_file(p.dir + "/config.json");
  REQUIRE(text.ok());
  CHECK(nlohmann::json::parse(*text) == oci_config(p));
  REQUIRE(remove_tree(t).ok());
}

TEST_CASE("a runtime's error is cut to its last lines", "[oci]") {
  CHECK(last_lines("a\n\nb\nc\nd\n") == "b; c; d");
  CHECK(last_lines("only one  \r\n") == "only one");
  CHECK(last_lines("") == "");
  CHECK(last_lines(std::string(5000, 'x')).size() == 2003);
}
