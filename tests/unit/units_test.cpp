#include "core/units.hpp"

#include <catch2/catch.hpp>

using namespace vbench;

TEST_CASE("sizes parse with binary and decimal units", "[units]") {
  struct Case {
    const char* text;
    uint64_t bytes;
  } cases[] = {{"0", 0},
               {"512", 512},
               {"4k", 4096},
               {"4K", 4096},
               {"4KiB", 4096},
               {"256MiB", 256ull << 20},
               {"1G", 1ull << 30},
               {"1GiB", 1ull << 30},
               {"1.5k", 1536},
               {"2MB", 2000000},
               {" 8 MiB ", 8ull << 20},
               {"1TiB", 1ull << 40}};
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse_size(c.text);
    REQUIRE(r.ok());
    CHECK(*r == c.bytes);
  }
  for (const char* bad : {"", "MiB", "4x", "-1k", "1.3", "4 kb b", "1e3"}) {
    INFO(bad);
    auto r = parse_size(bad);
    CHECK_FALSE(r.ok());
  }
  CHECK(parse_size("4q").error().message.find("unknown unit `q`") != std::string::npos);
}

TEST_CASE("durations parse to seconds", "[units]") {
  CHECK(*parse_duration_s("5s") == Approx(5));
  CHECK(*parse_duration_s("200ms") == Approx(0.2));
  CHECK(*parse_duration_s("1.5m") == Approx(90));
  CHECK(*parse_duration_s("250us") == Approx(250e-6));
  CHECK(*parse_duration_s("3") == Approx(3));
  CHECK_FALSE(parse_duration_s("5 parsecs").ok());
  CHECK_FALSE(parse_duration_s("ms").ok());
}

TEST_CASE("formatting sizes and durations", "[units]") {
  CHECK(format_size(256ull << 20) == "256MiB");
  CHECK(format_size(4096) == "4KiB");
  CHECK(format_size(1000) == "1000");
  CHECK(format_duration(0.2) == "200ms");
  CHECK(format_duration(5) == "5s");
}

TEST_CASE("ints, doubles and bools", "[units]") {
  CHECK(*parse_int("42") == 42);
  CHECK_FALSE(parse_int("4.2").ok());
  CHECK(*parse_double("0.5") == 0.5);
  CHECK_FALSE(parse_double("nan").ok());
  CHECK(*parse_bool("true"));
  CHECK_FALSE(*parse_bool("off"));
  CHECK_FALSE(parse_bool("maybe").ok());
}
