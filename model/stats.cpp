#include "model/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace vbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// An unbiased index in [0, n) from the generator. Written out (rejection of
// the top partial block) rather than std::uniform_int_distribution so that
// the same seed gives the same resamples with libstdc++ and libc++.
size_t draw_index(std::mt19937_64& rng, size_t n) {
  const uint64_t range = n;
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return static_cast<size_t>(x % range);
}

// Median of v; reorders v.
double median_inplace(std::vector<double>& v) {
  const size_t n = v.size();
  if (n == 0) return kNaN;
  const size_t mid = n / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double hi = v[mid];
  if (n % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + mid);
  return lo + (hi - lo) / 2;
}

// Quantile q of sorted values, linear between order statistics at q*(n-1)
// (numpy's default, R's type 7).
double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= sorted.size()) return sorted.back();
  const double frac = pos - static_cast<double>(i);
  return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

void resample(std::mt19937_64& rng, const std::vector<double>& from, std::vector<double>& into) {
  into.resize(from.size());
  for (auto& v : into) v = from[draw_index(rng, from.size())];
}

std::vector<double> finite_only(const std::vector<double>& xs) {
  std::vector<double> out;
  out.reserve(xs.size());
  for (double x : xs)
    if (std::isfinite(x)) out.push_back(x);
  return out;
}

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// Standard normal upper tail, P(Z > z).
double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

// P(U <= u) and P(U >= u) under the null for samples of sizes m and n without
// ties. p(i, j, u) = i/(i+j) p(i-1, j, u-j) + j/(i+j) p(i, j-1, u): the largest
// of the i+j values is an x (beating all j y's) with probability i/(i+j).
// Probabilities rather than counts so nothing overflows; every step adds
// non-negative terms, so nothing cancels.
std::pair<double, double> exact_tails(size_t m, size_t n, size_t u) {
  // layer[j][k] = p(i, j, k) for the current i.
  std::vector<std::vector<double>> prev(n + 1), cur(n + 1);
  for (size_t j = 0; j <= n; ++j) prev[j] = {1.0};  // i = 0: U is always 0
  for (size_t i = 1; i <= m; ++i) {
    cur[0] = {1.0};  // j = 0: U is always 0
    for (size_t j = 1; j <= n; ++j) {
      std::vector<double> d(i * j + 1, 0.0);
      const double px = static_cast<double>(i) / static_cast<double>(i + j);
      const double py = 1.0 - px;
      for (size_t k = 0; k < prev[j].size(); ++k) d[k + j] += px * prev[j][k];
      for (size_t k = 0; k < cur[j - 1].size(); ++k) d[k] += py * cur[j - 1][k];
      cur[j] = std::move(d);
    }
    std::swap(prev, cur);
  }
  const auto& dist = prev[n];
  double le = 0, ge = 0;
  for (size_t k = 0; k < dist.size(); ++k) {
    if (k <= u) le += dist[k];
    if (k >= u) ge += dist[k];
  }
  return {le, ge};
}

}  // namespace

Summary summarize(const std::vector<double>& xs, uint64_t seed, int resamples) {
  Summary s;
  std::vector<double> v = finite_only(xs);
  s.n = v.size();
  s.n_nonfinite = xs.size() - v.size();
  if (v.empty()) {
    s.median = s.mean = s.stddev = s.cv = s.min = s.max = s.ci_low = s.ci_high = kNaN;
    return s;
  }
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.min = v.front();
  s.max = v.back();
  s.median = n % 2 == 1 ? v[n / 2] : v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(n);
  if (n == 1) {
    // One value says nothing about spread: no stddev, and no interval (a
    // zero-width "CI" would read as certainty in results.csv).
    s.stddev = s.cv = s.ci_low = s.ci_high = kNaN;
    return s;
  }
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(ss / static_cast<double>(n - 1));
  s.cv = s.mean != 0 ? s.stddev / std::fabs(s.mean) : kNaN;

  std::mt19937_64 rng(seed);
  std::vector<double> medians, buf;
  medians.reserve(static_cast<size_t>(std::max(resamples, 1)));
  for (int b = 0; b < std::max(resamples, 1); ++b) {
    resample(rng, v, buf);
    medians.push_back(median_inplace(buf));
  }
  std::sort(medians.begin(), medians.end());
  s.ci_low = quantile_sorted(medians, 0.025);
  s.ci_high = quantile_sorted(medians, 0.975);
  return s;
}

double ci_halfwidth_rel(const Summary& s) {
  if (s.n == 0 || !std::isfinite(s.median) || s.median == 0) return kNaN;
  return (s.ci_high - s.ci_low) / 2 / std::fabs(s.median);
}

bool OverheadRatio::ok() const { return std::isfinite(value); }

OverheadRatio ratio(const std::vector<double>& env, const std::vector<double>& base, Better better, uint64_t seed,
                    int resamples) {
  OverheadRatio r;
  r.n_env = env.size();
  r.n_base = base.size();
  auto undefined = [&](std::string why) {
    r.value = r.ci_low = r.ci_high = kNaN;
    r.reason = std::move(why);
    return r;
  };
  if (env.empty()) return undefined("no samples in the environment");
  if (base.empty()) return undefined("no samples in the baseline");
  for (const auto* side : {&env, &base})
    for (double x : *side) {
      const char* who = side == &env ? "the environment" : "the baseline";
      if (!std::isfinite(x)) return undefined(fmt::format("a non-finite value ({}) in {}", x, who));
      if (x < 0) return undefined(fmt::format("a negative value ({}) in {}: a ratio is not meaningful", x, who));
    }

  // Oriented so that > 1 is worse: lower-is-better divides env by base,
  // higher-is-better divides base by env.
  const bool lower = better == Better::Lower;
  const char* den_name = lower ? "baseline" : "environment";
  auto oriented = [&](double env_median, double base_median) {
    return lower ? std::pair{env_median, base_median} : std::pair{base_median, env_median};
  };

  std::vector<double> e = env, b = base;
  const auto [numer, denom] = oriented(median_inplace(e), median_inplace(b));
  if (denom == 0) return undefined(fmt::format("the {} median is 0", den_name));
  r.value = numer / denom;
  if (env.size() < 2 || base.size() < 2) {
    // Resampling one value always gives that value back: no interval.
    r.ci_low = r.ci_high = kNaN;
    r.reason = "no CI: it needs at least 2 values on each side";
    return r;
  }

  std::mt19937_64 rng(seed);
  std::vector<double> ratios;
  ratios.reserve(static_cast<size_t>(std::max(resamples, 1)));
  for (int i = 0; i < std::max(resamples, 1); ++i) {
    // Environment first, then baseline, from one generator: the result
    // depends only on the seed.
    resample(rng, env, e);
    resample(rng, base, b);
    const auto [rn, rd] = oriented(median_inplace(e), median_inplace(b));
    if (rd == 0) {
      r.ci_low = r.ci_high = kNaN;
      r.reason = fmt::format("CI undefined: a bootstrap resample of the {} has median 0", den_name);
      return r;
    }
    ratios.push_back(rn / rd);
  }
  std::sort(ratios.begin(), ratios.end());
  r.ci_low = quantile_sorted(ratios, 0.025);
  r.ci_high = quantile_sorted(ratios, 0.975);
  return r;
}

MannWhitney mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y, MannWhitneyMethod method) {
  MannWhitney r;
  const size_t nx = x.size(), ny = y.size();
  const auto has_nan = [](const std::vector<double>& v) {
    return std::any_of(v.begin(), v.end(), [](double d) { return std::isnan(d); });
  };
  if (nx == 0 || ny == 0 || has_nan(x) || has_nan(y)) {  // NaN cannot be ranked
    r.u = r.p = r.z = r.effect = kNaN;
    r.method = "none";
    return r;
  }
  // Midranks of the pooled sample.
  struct Obs {
    double v;
    bool is_x;
  };
  std::vector<Obs> all;
  all.reserve(nx + ny);
  for (double v : x) all.push_back({v, true});
  for (double v : y) all.push_back({v, false});
  std::sort(all.begin(), all.end(), [](const Obs& a, const Obs& b) { return a.v < b.v; });
  const size_t n = all.size();
  double rank_sum_x = 0, tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && all[j + 1].v == all[i].v) ++j;
    const double t = static_cast<double>(j - i + 1);
    const double midrank = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2;
    for (size_t k = i; k <= j; ++k)
      if (all[k].is_x) rank_sum_x += midrank;
    if (t > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    i = j + 1;
  }
  const double m1 = static_cast<double>(nx), m2 = static_cast<double>(ny);
  r.u = rank_sum_x - m1 * (m1 + 1) / 2;
  r.effect = r.u / (m1 * m2);

  const bool exact_fits = !ties && nx * ny <= 2500;
  const bool use_exact = method == MannWhitneyMethod::Exact ? exact_fits
                         : method == MannWhitneyMethod::Auto
                             ? (!ties && nx <= kMannWhitneyExactMax && ny <= kMannWhitneyExactMax)
                             : false;
  if (use_exact) {
    // Without ties U is an integer.
    const auto [le, ge] = exact_tails(nx, ny, static_cast<size_t>(std::llround(r.u)));
    r.p = std::min(1.0, 2 * std::min(le, ge));
    r.z = kNaN;
    r.method = "exact";
    return r;
  }
  const double mu = m1 * m2 / 2;
  const double nn = static_cast<double>(n);
  const double var = m1 * m2 / 12 * ((nn + 1) - tie_term / (nn * (nn - 1)));
  r.method = "asymptotic";
  if (!(var > 0)) {  // every value tied: no evidence of a shift
    r.z = 0;
    r.p = 1;
    return r;
  }
  const double d = r.u - mu;
  // Continuity correction: move |U - mu| half a step towards 0.
  const double zabs = std::max(std::fabs(d) - 0.5, 0.0) / std::sqrt(var);
  r.z = d < 0 ? -zabs : zabs;
  r.p = std::min(1.0, 2 * normal_sf(zabs));
  return r;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> adj(p.size(), kNaN);
  const size_t m = order.size();
  double running = 0;
  for (size_t k = 0; k < m; ++k) {
    // The k-th smallest is tested at alpha / (m - k); adjusted p-values are
    // made monotone so that rejecting one rejects every smaller one.
    running = std::max(running, std::min(1.0, static_cast<double>(m - k) * p[order[k]]));
    adj[order[k]] = running;
  }
  return adj;
}

std::vector<bool> holm_reject(const std::vector<double>& p, double alpha) {
  const auto adj = holm_adjust(p);
  std::vector<bool> out(p.size());
  for (size_t i = 0; i < p.size(); ++i) out[i] = adj[i] <= alpha;  // false for NaN
  return out;
}

nlohmann::json to_json(const Summary& s) {
  return {{"n", s.n},
          {"n_nonfinite", s.n_nonfinite},
          {"median", num(s.median)},
          {"mean", num(s.mean)},
          {"stddev", num(s.stddev)},
          {"cv", num(s.cv)},
          {"min", num(s.min)},
          {"max", num(s.max)},
          {"ci_low", num(s.ci_low)},
          {"ci_high", num(s.ci_high)}};
}

nlohmann::json to_json(const OverheadRatio& r) {
  nlohmann::json j = {{"value", num(r.value)},
                      {"ci_low", num(r.ci_low)},
                      {"ci_high", num(r.ci_high)},
                      {"n_env", r.n_env},
                      {"n_base", r.n_base}};
  if (!r.reason.empty()) j["reason"] = r.reason;
  return j;
}

nlohmann::json to_json(const MannWhitney& m) {
  return {{"u", num(m.u)}, {"p", num(m.p)}, {"z", num(m.z)}, {"effect", num(m.effect)}, {"method", m.method}};
}

}  // namespace vbench
