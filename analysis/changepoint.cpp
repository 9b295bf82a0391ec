#include "analysis/changepoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "model/stats.hpp"

namespace vbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// An index in [0, n) from the generator, the same on every standard library
// (std::uniform_int_distribution is not): the high bits of a 128-bit product.
size_t draw_below(std::mt19937_64& rng, size_t n) {
  return static_cast<size_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

// 2-D prefix sums of the distance matrix |x_i - x_j|, so that the sum over
// any block of it, and so q(tau) for any segment and split, costs O(1).
class DistancePrefix {
 public:
  explicit DistancePrefix(const std::vector<double>& x) : w_(x.size() + 1), p_(w_ * w_, 0.0) {
    for (size_t i = 0; i < x.size(); ++i)
      for (size_t j = 0; j < x.size(); ++j)
        p_[(i + 1) * w_ + j + 1] = std::fabs(x[i] - x[j]) + p_[i * w_ + j + 1] + p_[(i + 1) * w_ + j] - p_[i * w_ + j];
  }
  // Sum of |x_i - x_j| over i in [r0, r1), j in [c0, c1).
  double block(size_t r0, size_t r1, size_t c0, size_t c1) const {
    return p_[r1 * w_ + c1] - p_[r0 * w_ + c1] - p_[r1 * w_ + c0] + p_[r0 * w_ + c0];
  }

 private:
  size_t w_;
  std::vector<double> p_;
};

// Matteson & James's q for splitting [a, b) at t (alpha = 1). The within
// sums are over ordered pairs (twice the unordered ones), hence n(n-1).
double q_hat(const DistancePrefix& d, size_t a, size_t t, size_t b) {
  const double n1 = static_cast<double>(t - a), n2 = static_cast<double>(b - t);
  const double between = d.block(a, t, t, b) * 2 / (n1 * n2);
  const double within1 = d.block(a, t, a, t) / (n1 * (n1 - 1));
  const double within2 = d.block(t, b, t, b) / (n2 * (n2 - 1));
  return n1 * n2 / (n1 + n2) * (between - within1 - within2);
}

struct BestSplit {
  double q = -std::numeric_limits<double>::infinity();
  size_t t = 0;  // 0: no admissible split
};

// The best split over every segment between consecutive bounds.
BestSplit best_split(const std::vector<double>& x, const std::vector<size_t>& bounds, size_t m) {
  const DistancePrefix d(x);
  BestSplit best;
  for (size_t s = 0; s + 1 < bounds.size(); ++s) {
    const size_t a = bounds[s], b = bounds[s + 1];
    if (b - a < 2 * m) continue;
    for (size_t t = a + m; t + m <= b; ++t)
      if (const double q = q_hat(d, a, t, b); q > best.q) best = {q, t};
  }
  return best;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

}  // namespace

std::vector<Split> e_divisive(const std::vector<double>& xs, const ChangePointOptions& opts) {
  const size_t m = std::max<size_t>(opts.min_segment, 2);
  const int R = std::max(opts.permutations, 1);
  std::vector<size_t> bounds = {0, xs.size()};
  std::vector<Split> out;
  std::mt19937_64 rng(opts.seed);
  std::vector<double> perm = xs;
  for (;;) {
    const BestSplit observed = best_split(xs, bounds, m);
    if (observed.t == 0) break;
    // Permute within the current segments (the null: no further change
    // inside any of them) and count maxima at least as large. Stop as soon
    // as p = (1 + count) / (R + 1) must exceed alpha.
    const double tolerance = 1e-9 * std::fabs(observed.q);
    int count = 0;
    bool rejected = true;
    for (int r = 0; r < R; ++r) {
      for (size_t s = 0; s + 1 < bounds.size(); ++s)
        for (size_t i = bounds[s + 1] - 1; i > bounds[s]; --i)
          std::swap(perm[i], perm[bounds[s] + draw_below(rng, i - bounds[s] + 1)]);
      if (best_split(perm, bounds, m).q >= observed.q - tolerance) ++count;
      if ((1.0 + count) / (R + 1.0) > opts.alpha) {
        rejected = false;
        break;
      }
    }
    if (!rejected) break;
    out.push_back(Split{observed.t, (1.0 + count) / (R + 1.0)});
    bounds.insert(std::upper_bound(bounds.begin(), bounds.end(), observed.t), observed.t);
  }
  std::sort(out.begin(), out.end(), [](const Split& a, const Split& b) { return a.index < b.index; });
  return out;
}

std::string ChangeSeries::title() const {
  return fmt::format("{} {}{} {}", env, workload, params.empty() ? "" : " (" + params + ")", metric);
}

ChangeSeries find_change_points(ChangeSeries s, const ChangePointOptions& opts) {
  s.changes.clear();
  s.note.clear();
  const size_t m = std::max<size_t>(opts.min_segment, 2);
  const size_t n = s.points.size();
  if (n < 2 * m) {
    s.note = fmt::format("too short to judge: {} run{}, change points need at least {} ({} on each side)", n,
                         n == 1 ? "" : "s", 2 * m, m);
    return s;
  }
  std::vector<double> values;
  for (const auto& p : s.points) values.push_back(p.value);
  const std::vector<Split> splits = e_divisive(values, opts);
  // Before and after are the runs between the neighbouring change points,
  // as Otava's windows: a level, not the whole history on each side.
  std::vector<size_t> bounds = {0};
  for (const auto& sp : splits) bounds.push_back(sp.index);
  bounds.push_back(n);
  for (size_t k = 0; k < splits.size(); ++k) {
    const std::vector<double> before(values.begin() + static_cast<long>(bounds[k]),
                                     values.begin() + static_cast<long>(bounds[k + 1]));
    const std::vector<double> after(values.begin() + static_cast<long>(bounds[k + 1]),
                                    values.begin() + static_cast<long>(bounds[k + 2]));
    ChangePoint cp;
    cp.position = splits[k].index + 1;
    cp.first_after = s.points[splits[k].index];
    cp.median_before = median_of(before);
    cp.median_after = median_of(after);
    cp.n_before = before.size();
    cp.n_after = after.size();
    cp.p_value = splits[k].p_value;
    // after / before with a bootstrap CI resampling both sides (Lower
    // orients the ratio as after / before).
    const OverheadRatio r = ratio(after, before, Better::Lower, opts.seed ^ splits[k].index);
    cp.change = r.value - 1;
    cp.change_ci_low = r.ci_low - 1;
    cp.change_ci_high = r.ci_high - 1;
    if (!std::isfinite(r.value)) cp.change = cp.change_ci_low = cp.change_ci_high = kNaN;
    cp.regression =
        s.better == Better::Higher ? cp.median_after < cp.median_before : cp.median_after > cp.median_before;
    // Filtered after segmentation rather than re-segmenting without it: the
    // levels either side are still the ones E-divisive found.
    if (opts.min_change > 0 && !(std::fabs(cp.change) >= opts.min_change)) continue;
    s.changes.push_back(std::move(cp));
  }
  return s;
}

}  // namespace vbench
