#pragma once
// Log-linear bucketed histogram of non-negative integer values (nanoseconds
// by convention). Values below 256 are exact; above, each power of two is
// split into 128 buckets, so a bucket's width is at most 1/128 of its lower
// bound and the midpoint reported for a percentile is within 0.4% of any value
// in it (the issue asks for <= 1%). Histograms with the same layout merge by
// adding counts, so per-thread histograms can be combined without loss.
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "core/error.hpp"

namespace vbench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;                             // 128 buckets per octave
  static constexpr uint64_t kExactLimit = 1u << (kSubBits + 1);  // 256
  static constexpr size_t kBuckets = kExactLimit + (64 - (kSubBits + 1)) * (1u << kSubBits);

  Histogram() : counts_(kBuckets, 0) {}

  static size_t bucket_of(uint64_t v) {
    if (v < kExactLimit) return static_cast<size_t>(v);
    const int k = 63 - std::countl_zero(v);  // v in [2^k, 2^(k+1)), k >= 8
    const uint64_t sub = (v >> (k - kSubBits)) & ((1u << kSubBits) - 1);
    return kExactLimit + static_cast<size_t>(k - (kSubBits + 1)) * (1u << kSubBits) + sub;
  }
  // Smallest value that falls in bucket b.
  static uint64_t bucket_low(size_t b);
  // Largest value that falls in bucket b.
  static uint64_t bucket_high(size_t b);

  void record(uint64_t v) {
    ++counts_[bucket_of(v)];
    ++count_;
    sum_ += static_cast<double>(v);
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
  }
  void record_n(uint64_t v, uint64_t n);
  void merge(const Histogram& other);
  void clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  // q in [0, 1]. The value reported is the midpoint of the bucket holding the
  // q-th value, clamped to the recorded min and max.
  double quantile(double q) const;

  // Sparse JSON: {"count", "min", "max", "sum", "sub_bits", "buckets": [[index, count], ...]}
  nlohmann::json to_json() const;
  static Result<Histogram> from_json(const nlohmann::json& j);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace vbench
