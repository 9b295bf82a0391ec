// The one knob resolver (core/resolve.hpp) that every driver and the CLI use.
#include "core/resolve.hpp"

#include <catch2/catch.hpp>

#include "drivers/driver.hpp"

using namespace vbench;

namespace {

std::vector<ParamSpec> specs() {
  return {
      ParamSpec{"cpus", ParamType::Double, "0", "CPU limit", false, {}}.range(0, 4096),
      {"memory", ParamType::Size, "0", "memory limit", false, {}},
      {"network", ParamType::String, "bridge", "network", false, {"bridge", "host", "none"}},
      {"keep", ParamType::Bool, "false", "keep", false, {}},
  };
}

}  // namespace

TEST_CASE("knobs: defaults fill what is not given, given values are normalised", "[knobs]") {
  auto r = resolve_knobs("docker", specs(), {{"memory", "256MiB"}, {"keep", true}});
  REQUIRE(r.ok());
  CHECK(r->size() == 4);
  CHECK(r->at("memory") == 256ull << 20);
  CHECK(r->at("keep") == true);
  CHECK(r->at("cpus") == 0.0);
  CHECK(r->at("network") == "bridge");
  // Resolving what was resolved changes nothing (the CLI normalises, the driver again).
  auto again = resolve_knobs("docker", specs(), *r);
  REQUIRE(again.ok());
  CHECK(*again == *r);
}

TEST_CASE("knobs: an unknown name is refused with the kind's knobs listed", "[knobs]") {
  auto r = resolve_knobs("docker", specs(), {{"netwrok", "host"}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "docker has no knob `netwrok` (it has: cpus, memory, network, keep)");
  auto none = resolve_knobs("bare", {}, {{"x", 1}});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "bare has no knob `x` (it has: none)");
}

TEST_CASE("knobs: a bad value names the knob and where it was written", "[knobs]") {
  auto where = [](const std::string& k) { return k == "cpus" ? "t.toml:3:1: environment `c`" : ""; };
  auto r = resolve_knobs("docker", specs(), {{"cpus", -1}}, where);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::StartsWith("t.toml:3:1: environment `c`: parameter `cpus`"));
  auto choice = resolve_knobs("docker", specs(), {{"network", "nat"}}, where);
  REQUIRE_FALSE(choice.ok());
  CHECK_THAT(choice.error().message, Catch::StartsWith("parameter `network`") && Catch::Contains("bridge"));
}

TEST_CASE("knobs: every driver's knobs resolve from their defaults alone", "[knobs]") {
  for (const auto& d : all_drivers()) {
    INFO(d->name());
    auto r = resolve_knobs(d->name(), d->knobs(), {});
    if (!r.ok()) FAIL(r.error().message);
    CHECK(r->size() == d->knobs().size());
  }
}
