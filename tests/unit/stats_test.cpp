#include "model/stats.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

using namespace vbench;
using Catch::Matchers::Contains;

namespace {

std::vector<double> seq(double from, double to) {
  std::vector<double> v;
  for (double x = from; x <= to; x += 1) v.push_back(x);
  return v;
}

}  // namespace

TEST_CASE("summarize: hand-computed statistics", "[stats]") {
  struct Case {
    const char* what;
    std::vector<double> xs;
    double median, mean, stddev, cv, min, max;
  };
  const double nan = std::nan("");
  // {2,4,4,4,5,5,7,9}: squared deviations from 5 sum to 32, 32/7 = 4.571428...
  const double sd8 = std::sqrt(32.0 / 7.0);
  const std::vector<Case> cases = {
      {"odd n", {3, 1, 2}, 2, 2, 1, 0.5, 1, 3},
      {"even n", {2, 4, 4, 4, 5, 5, 7, 9}, 4.5, 5, sd8, sd8 / 5, 2, 9},
      {"two values", {10, 20}, 15, 15, std::sqrt(50.0), std::sqrt(50.0) / 15, 10, 20},
      {"constant", {7, 7, 7, 7}, 7, 7, 0, 0, 7, 7},
      {"one value", {42}, 42, 42, nan, nan, 42, 42},
      {"zero mean", {-1, 1}, 0, 0, std::sqrt(2.0), nan, -1, 1},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const Summary s = summarize(c.xs, 1);
    CHECK(s.n == c.xs.size());
    CHECK(s.median == Approx(c.median));
    CHECK(s.mean == Approx(c.mean));
    if (std::isnan(c.stddev))
      CHECK(std::isnan(s.stddev));
    else
      CHECK(s.stddev == Approx(c.stddev));
    if (std::isnan(c.cv))
      CHECK(std::isnan(s.cv));
    else
      CHECK(s.cv == Approx(c.cv));
    CHECK(s.min == c.min);
    CHECK(s.max == c.max);
    if (s.n == 1) continue;  // no CI from one value (see the edge cases)
    // The bootstrap median never leaves the data's range and brackets the median.
    CHECK(s.ci_low >= s.min);
    CHECK(s.ci_high <= s.max);
    CHECK(s.ci_low <= s.median);
    CHECK(s.ci_high >= s.median);
  }
}

TEST_CASE("summarize: edge cases", "[stats]") {
  SECTION("n = 0: everything NaN") {
    const Summary s = summarize({}, 1);
    CHECK(s.n == 0);
    for (double v : {s.median, s.mean, s.stddev, s.cv, s.min, s.max, s.ci_low, s.ci_high}) CHECK(std::isnan(v));
    CHECK(std::isnan(ci_halfwidth_rel(s)));
  }
  SECTION("n = 1: a median but no spread and no CI") {
    const Summary s = summarize({3.5}, 1);
    CHECK(s.median == 3.5);
    for (double v : {s.stddev, s.cv, s.ci_low, s.ci_high}) CHECK(std::isnan(v));
    CHECK(std::isnan(ci_halfwidth_rel(s)));
  }
  SECTION("non-finite values are left out and counted") {
    const Summary s = summarize({1, std::nan(""), 3, INFINITY, 2}, 1);
    CHECK(s.n == 3);
    CHECK(s.n_nonfinite == 2);
    CHECK(s.median == 2);
    CHECK(s.max == 3);
  }
  SECTION("the same seed gives the same interval") {
    const std::vector<double> xs = {10.1, 9.7, 10.4, 10.0, 9.9, 10.8, 9.5};
    const Summary a = summarize(xs, 77), b = summarize(xs, 77);
    CHECK(a.ci_low == b.ci_low);
    CHECK(a.ci_high == b.ci_high);
    CHECK(a.ci_low < a.ci_high);
  }
}

TEST_CASE("ci_halfwidth_rel", "[stats]") {
  Summary s;
  s.n = 5;
  s.median = 10;
  s.ci_low = 9;
  s.ci_high = 11;
  CHECK(ci_halfwidth_rel(s) == Approx(0.1));
  s.median = -10;
  CHECK(ci_halfwidth_rel(s) == Approx(0.1));
  s.median = 0;
  CHECK(std::isnan(ci_halfwidth_rel(s)));
}

// The percentile bootstrap of the median should cover the true median in
// about 95% of repeated experiments. 200 trials with fixed seeds: a broken
// interval (too narrow, off-centre, wrong quantiles) falls outside [0.90, 0.99].
TEST_CASE("summarize: bootstrap CI coverage of the true median", "[stats]") {
  struct Dist {
    const char* what;
    double true_median;
    std::function<double(std::mt19937_64&)> draw;
  };
  const std::vector<Dist> dists = {
      {"normal(100, 10)", 100.0, [](std::mt19937_64& g) { return std::normal_distribution<double>(100.0, 10.0)(g); }},
      // Skewed like latencies: lognormal with median e^1.
      {"lognormal(1, 0.5)", std::exp(1.0),
       [](std::mt19937_64& g) { return std::lognormal_distribution<double>(1.0, 0.5)(g); }},
  };
  const int trials = 200;
  const size_t n = 41;
  for (const auto& d : dists) {
    INFO(d.what);
    int covered = 0;
    for (int t = 0; t < trials; ++t) {
      std::mt19937_64 g(1000 + t);
      std::vector<double> xs(n);
      for (auto& x : xs) x = d.draw(g);
      const Summary s = summarize(xs, 5000 + t);
      if (s.ci_low <= d.true_median && d.true_median <= s.ci_high) ++covered;
    }
    const double coverage = covered / static_cast<double>(trials);
    INFO("coverage " << coverage);
    CHECK(coverage >= 0.90);
    CHECK(coverage <= 0.99);
  }
}

TEST_CASE("ratio: oriented so that > 1 is worse", "[stats]") {
  struct Case {
    const char* what;
    std::vector<double> env, base;
    Better better;
    double value;
  };
  const std::vector<Case> cases = {
      {"latency doubled (lower is better)", {2, 2, 2}, {1, 1, 1}, Better::Lower, 2.0},
      {"latency halved (lower is better)", {1, 1, 1}, {2, 2, 2}, Better::Lower, 0.5},
      {"throughput halved (higher is better)", {50, 50, 50}, {100, 100, 100}, Better::Higher, 2.0},
      {"throughput doubled (higher is better)", {200, 200}, {100, 100, 100}, Better::Higher, 0.5},
      {"even n medians", {1, 3, 5, 7}, {2, 4}, Better::Lower, 4.0 / 3.0},
      {"env at zero, lower is better", {0, 0, 0}, {5, 5}, Better::Lower, 0.0},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const OverheadRatio r = ratio(c.env, c.base, c.better, 3);
    REQUIRE(r.ok());
    CHECK(r.reason.empty());
    CHECK(r.value == Approx(c.value));
    CHECK(r.ci_low <= r.value);
    CHECK(r.ci_high >= r.value);
    CHECK(r.n_env == c.env.size());
    CHECK(r.n_base == c.base.size());
  }
}

TEST_CASE("ratio: CI from independent resampling", "[stats]") {
  std::mt19937_64 g(9);
  std::normal_distribution<double> base_d(1000, 20), env_d(1100, 20);
  std::vector<double> env, base;
  for (int i = 0; i < 15; ++i) {
    env.push_back(env_d(g));
    base.push_back(base_d(g));
  }
  const OverheadRatio r = ratio(env, base, Better::Lower, 11);
  REQUIRE(r.ok());
  CHECK(r.value == Approx(1.1).epsilon(0.03));
  CHECK(r.ci_low < r.value);
  CHECK(r.ci_high > r.value);
  CHECK(r.ci_low > 1.0);  // a 10% shift with 2% noise is clearly resolved
  CHECK(r.ci_high - r.ci_low < 0.1);
  const OverheadRatio again = ratio(env, base, Better::Lower, 11);
  CHECK(again.ci_low == r.ci_low);
  CHECK(again.ci_high == r.ci_high);
}

TEST_CASE("ratio: undefined cases give NaN and a reason, never inf", "[stats]") {
  struct Case {
    const char* what;
    std::vector<double> env, base;
    Better better;
    const char* reason;
  };
  const double nan = std::nan("");
  const std::vector<Case> cases = {
      {"empty env", {}, {1}, Better::Lower, "no samples in the environment"},
      {"empty base", {1}, {}, Better::Lower, "no samples in the baseline"},
      {"baseline median 0", {1, 2}, {0, 0, 1}, Better::Lower, "the baseline median is 0"},
      {"env median 0, higher is better", {0, 0}, {5}, Better::Higher, "the environment median is 0"},
      {"NaN in env", {1, nan}, {1}, Better::Lower, "non-finite"},
      {"inf in base", {1}, {INFINITY}, Better::Higher, "non-finite"},
      {"negative value", {-1, 2}, {1}, Better::Lower, "negative"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const OverheadRatio r = ratio(c.env, c.base, c.better, 1);
    CHECK_FALSE(r.ok());
    CHECK(std::isnan(r.value));
    CHECK(std::isnan(r.ci_low));
    CHECK(std::isnan(r.ci_high));
    CHECK_THAT(r.reason, Contains(c.reason));
  }
  SECTION("one value on a side gives the ratio but no CI") {
    for (const auto& [env, base] :
         {std::pair<std::vector<double>, std::vector<double>>{{2}, {1, 1.1, 0.9}}, {{2, 2.2, 1.8}, {1}}}) {
      const OverheadRatio r = ratio(env, base, Better::Lower, 1);
      REQUIRE(r.ok());
      CHECK(r.value == Approx(2.0));
      CHECK(std::isnan(r.ci_low));
      CHECK(std::isnan(r.ci_high));
      CHECK_THAT(r.reason, Contains("at least 2 values"));
    }
  }
  SECTION("a resample that hits a zero median leaves the value but not the CI") {
    const OverheadRatio r = ratio({3, 3, 3}, {0, 2, 2}, Better::Lower, 1);
    REQUIRE(r.ok());
    CHECK(r.value == Approx(1.5));
    CHECK(std::isnan(r.ci_low));
    CHECK(std::isnan(r.ci_high));
    CHECK_THAT(r.reason, Contains("CI undefined"));
  }
}

TEST_CASE("Mann-Whitney U against reference values", "[stats]") {
  struct Case {
    const char* what;
    std::vector<double> x, y;
    MannWhitneyMethod method;
    double u, p;
    const char* used;
  };
  // References: scipy.stats.mannwhitneyu(x, y, method=...), and by hand:
  // exact p for complete separation of 5 vs 5 is 2 / C(10, 5) = 2/252; for
  // 10 vs 10, 2 / C(20, 10). The scipy documentation's example (males vs
  // females) gives U = 17, exact p = 0.1111, asymptotic p = 0.11135.
  // With ties ({1,2,2,3} vs {2,3,3,4,5}): midranks give U = 3; tie term 48;
  // var = 20/12 * (10 - 48/72); p = 2 * sf((7 - 0.5) / sqrt(var)) = 0.099342.
  const std::vector<Case> cases = {
      {"separated, exact", seq(1, 5), seq(6, 10), MannWhitneyMethod::Auto, 0, 2.0 / 252, "exact"},
      {"separated, asymptotic", seq(1, 5), seq(6, 10), MannWhitneyMethod::Asymptotic, 0, 0.012185780355344818,
       "asymptotic"},
      {"separated reversed", seq(6, 10), seq(1, 5), MannWhitneyMethod::Auto, 25, 2.0 / 252, "exact"},
      {"10 vs 10 separated, exact", seq(1, 10), seq(11, 20), MannWhitneyMethod::Auto, 0, 2.0 / 184756, "exact"},
      {"scipy doc example, exact",
       {19, 22, 16, 29, 24},
       {20, 11, 17, 12},
       MannWhitneyMethod::Auto,
       17,
       1.0 / 9,
       "exact"},
      {"scipy doc example, asymptotic",
       {19, 22, 16, 29, 24},
       {20, 11, 17, 12},
       MannWhitneyMethod::Asymptotic,
       17,
       0.11134688653314048,
       "asymptotic"},
      {"ties force the normal approximation",
       {1, 2, 2, 3},
       {2, 3, 3, 4, 5},
       MannWhitneyMethod::Auto,
       3,
       0.09934224785346527,
       "asymptotic"},
      {"exact requested with ties falls back",
       {1, 2, 2, 3},
       {2, 3, 3, 4, 5},
       MannWhitneyMethod::Exact,
       3,
       0.09934224785346527,
       "asymptotic"},
      {"all tied", {4, 4, 4}, {4, 4}, MannWhitneyMethod::Auto, 3, 1.0, "asymptotic"},
      {"identical interleaving, exact", {1, 4, 5, 8}, {2, 3, 6, 7}, MannWhitneyMethod::Auto, 8, 1.0, "exact"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const MannWhitney m = mann_whitney_u(c.x, c.y, c.method);
    CHECK(m.u == Approx(c.u));
    CHECK(m.p == Approx(c.p).epsilon(1e-9));
    CHECK(m.method == c.used);
    CHECK(m.effect == Approx(c.u / (c.x.size() * c.y.size())));
  }
}

TEST_CASE("Mann-Whitney U: symmetry, large samples, empty input", "[stats]") {
  std::mt19937_64 g(4);
  std::normal_distribution<double> d(0, 1);
  std::vector<double> x(30), y(25);
  for (auto& v : x) v = d(g);
  for (auto& v : y) v = d(g) + 1.0;
  const MannWhitney xy = mann_whitney_u(x, y), yx = mann_whitney_u(y, x);
  CHECK(xy.method == "asymptotic");  // beyond the exact range
  CHECK(xy.u + yx.u == Approx(30.0 * 25.0));
  CHECK(xy.p == Approx(yx.p));
  CHECK(xy.z == Approx(-yx.z));
  CHECK(xy.p < 0.01);  // a one-sigma shift with 25+ values each
  // Away from the far tail, the exact distribution and the normal
  // approximation agree closely at this size.
  std::vector<double> y_near(25);
  for (size_t i = 0; i < y_near.size(); ++i) y_near[i] = y[i] - 0.8;
  const MannWhitney ex = mann_whitney_u(x, y_near, MannWhitneyMethod::Exact);
  const MannWhitney as = mann_whitney_u(x, y_near, MannWhitneyMethod::Asymptotic);
  CHECK(ex.method == "exact");
  INFO("exact p " << ex.p << ", asymptotic p " << as.p);
  CHECK(as.p > 0.05);
  CHECK(ex.p == Approx(as.p).margin(0.005));

  for (const auto& [a, b] : std::vector<std::pair<std::vector<double>, std::vector<double>>>{
           {{}, {1, 2}}, {{1, 2}, {}}, {{1, std::nan("")}, {1, 2}}}) {
    const MannWhitney e = mann_whitney_u(a, b);
    CHECK(e.method == "none");
    CHECK(std::isnan(e.p));
    CHECK(std::isnan(e.u));
  }
}

// The exact p-value against brute force: every way of splitting the pooled
// values into groups of the two sizes is equally likely under the null.
TEST_CASE("Mann-Whitney U: exact p against enumeration", "[stats]") {
  std::mt19937_64 g(21);
  for (const auto& [nx, ny] : std::vector<std::pair<size_t, size_t>>{{3, 7}, {5, 5}, {4, 8}, {6, 7}, {1, 9}}) {
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<double> pooled(nx + ny);
      std::iota(pooled.begin(), pooled.end(), 1.0);
      std::shuffle(pooled.begin(), pooled.end(), g);
      const std::vector<double> x(pooled.begin(), pooled.begin() + nx), y(pooled.begin() + nx, pooled.end());
      auto u_of = [&](unsigned mask) {
        double u = 0;
        for (size_t i = 0; i < pooled.size(); ++i)
          if (mask >> i & 1)
            for (size_t j = 0; j < pooled.size(); ++j)
              if (!(mask >> j & 1) && pooled[i] > pooled[j]) u += 1;
        return u;
      };
      const double u_obs = u_of((1u << nx) - 1);
      double le = 0, ge = 0, total = 0;
      for (unsigned mask = 0; mask < (1u << pooled.size()); ++mask) {
        if (static_cast<size_t>(__builtin_popcount(mask)) != nx) continue;
        const double u = u_of(mask);
        total += 1;
        le += u <= u_obs;
        ge += u >= u_obs;
      }
      const double p_brute = std::min(1.0, 2 * std::min(le, ge) / total);
      INFO(nx << " vs " << ny << ", U = " << u_obs);
      const MannWhitney m = mann_whitney_u(x, y, MannWhitneyMethod::Exact);
      CHECK(m.method == "exact");
      CHECK(m.u == u_obs);
      CHECK(m.p == Approx(p_brute).epsilon(1e-12));
    }
  }
}

TEST_CASE("Holm-Bonferroni", "[stats]") {
  struct Case {
    const char* what;
    std::vector<double> p;
    std::vector<double> adjusted;
    std::vector<bool> reject_at_005;
  };
  const double nan = std::nan("");
  const std::vector<Case> cases = {
      // Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06.
      {"monotone step-down", {0.01, 0.04, 0.03, 0.005}, {0.03, 0.06, 0.06, 0.02}, {true, false, false, true}},
      {"single", {0.04}, {0.04}, {true}},
      {"capped at 1", {0.6, 0.7}, {1.0, 1.0}, {false, false}},
      {"NaN is not a hypothesis", {0.02, nan, 0.01}, {0.02, nan, 0.02}, {true, false, true}},
      {"empty", {}, {}, {}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto adj = holm_adjust(c.p);
    REQUIRE(adj.size() == c.adjusted.size());
    for (size_t i = 0; i < adj.size(); ++i) {
      if (std::isnan(c.adjusted[i]))
        CHECK(std::isnan(adj[i]));
      else
        CHECK(adj[i] == Approx(c.adjusted[i]));
    }
    CHECK(holm_reject(c.p, 0.05) == c.reject_at_005);
  }
}
