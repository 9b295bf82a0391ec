#include "core/histogram.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

using vbench::Histogram;

TEST_CASE("histogram buckets: exact below 256, bounded relative width above", "[histogram]") {
  for (uint64_t v : {0ull, 1ull, 17ull, 255ull}) {
    const size_t b = Histogram::bucket_of(v);
    CHECK(Histogram::bucket_low(b) == v);
    CHECK(Histogram::bucket_high(b) == v);
  }
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200000; ++i) {
    const int shift = static_cast<int>(rng() % 60);
    const uint64_t v = (rng() >> shift) | 256;
    const size_t b = Histogram::bucket_of(v);
    REQUIRE(b < Histogram::kBuckets);
    const uint64_t lo = Histogram::bucket_low(b), hi = Histogram::bucket_high(b);
    REQUIRE(lo <= v);
    REQUIRE(v <= hi);
    // Width relative to the bucket's lower bound stays under 1/128.
    REQUIRE(static_cast<double>(hi - lo + 1) / static_cast<double>(lo) <= 1.0 / 128 + 1e-12);
  }
  CHECK(Histogram::bucket_of(UINT64_MAX) == Histogram::kBuckets - 1);
  CHECK(Histogram::bucket_high(Histogram::kBuckets - 1) == UINT64_MAX);
}

TEST_CASE("histogram quantiles are within 1% of the exact order statistic", "[histogram]") {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(10.0, 1.5);  // ns-scale latencies with a long tail
  std::vector<uint64_t> xs;
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = static_cast<uint64_t>(dist(rng));
    xs.push_back(v);
    h.record(v);
  }
  std::sort(xs.begin(), xs.end());
  for (double q : {0.01, 0.5, 0.9, 0.99, 0.999}) {
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(xs.size())));
    const double exact = static_cast<double>(xs[rank - 1]);
    INFO("q=" << q << " exact=" << exact << " hist=" << h.quantile(q));
    CHECK(std::fabs(h.quantile(q) - exact) <= 0.01 * exact + 0.5);
  }
  CHECK(h.quantile(1.0) == static_cast<double>(xs.back()));
  CHECK(h.min() == xs.front());
  CHECK(h.max() == xs.back());
  CHECK(h.count() == xs.size());
}

TEST_CASE("histogram merge equals recording everything in one", "[histogram]") {
  Histogram a, b, all;
  for (uint64_t v = 1; v < 50000; v += 7) {
    (v % 3 ? a : b).record(v * 13);
    all.record(v * 13);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  CHECK(a.mean() == Approx(all.mean()));
  for (double q : {0.1, 0.5, 0.99}) CHECK(a.quantile(q) == all.quantile(q));
}

TEST_CASE("histogram JSON round-trip and hostile input", "[histogram]") {
  Histogram h;
  for (uint64_t v : {5ull, 500ull, 5000000ull, 5000000ull}) h.record(v);
  auto back = Histogram::from_json(h.to_json());
  REQUIRE(back.ok());
  CHECK(back->count() == 4);
  CHECK(back->quantile(0.5) == h.quantile(0.5));
  CHECK(back->max() == 5000000);

  auto j = h.to_json();
  j["buckets"] = nlohmann::json::array({nlohmann::json::array({999999999, 1})});
  CHECK_FALSE(Histogram::from_json(j).ok());
  j = h.to_json();
  j["sub_bits"] = 5;
  CHECK_FALSE(Histogram::from_json(j).ok());
  CHECK_FALSE(Histogram::from_json(nlohmann::json("x")).ok());
  CHECK(Histogram().quantile(0.5) == 0.0);
}
