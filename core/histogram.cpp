#include "core/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace vbench {

uint64_t Histogram::bucket_low(size_t b) {
  if (b < kExactLimit) return b;
  const size_t rel = b - kExactLimit;
  const int k = static_cast<int>(rel >> kSubBits) + kSubBits + 1;
  const uint64_t sub = rel & ((1u << kSubBits) - 1);
  return (uint64_t{1} << k) + (sub << (k - kSubBits));
}

uint64_t Histogram::bucket_high(size_t b) {
  if (b < kExactLimit) return b;
  const size_t rel = b - kExactLimit;
  const int k = static_cast<int>(rel >> kSubBits) + kSubBits + 1;
  return bucket_low(b) + (uint64_t{1} << (k - kSubBits)) - 1;
}

void Histogram::record_n(uint64_t v, uint64_t n) {
  if (n == 0) return;
  counts_[bucket_of(v)] += n;
  count_ += n;
  sum_ += static_cast<double>(v) * static_cast<double>(n);
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::merge(const Histogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  if (o.count_) {
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }
}

void Histogram::clear() { *this = Histogram(); }

double Histogram::quantile(double q) const {
  if (count_ == 0) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  // Rank of the value asked for, 1-based: the smallest value with at least
  // ceil(q * count) values at or below it.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) {
      const double mid = (static_cast<double>(bucket_low(b)) + static_cast<double>(bucket_high(b))) / 2.0;
      return std::clamp(mid, static_cast<double>(min()), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

nlohmann::json Histogram::to_json() const {
  nlohmann::json buckets = nlohmann::json::array();
  for (size_t b = 0; b < kBuckets; ++b)
    if (counts_[b]) buckets.push_back({b, counts_[b]});
  return {{"count", count_}, {"min", min()},         {"max", max_},
          {"sum", sum_},     {"sub_bits", kSubBits}, {"buckets", std::move(buckets)}};
}

Result<Histogram> Histogram::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("histogram: not an object");
  if (!j.contains("sub_bits") || !j["sub_bits"].is_number_integer() || j["sub_bits"].get<int>() != kSubBits)
    return make_error("histogram: unsupported layout (sub_bits must be {})", kSubBits);
  if (!j.contains("buckets") || !j["buckets"].is_array()) return make_error("histogram: missing buckets");
  Histogram h;
  uint64_t total = 0;
  for (const auto& e : j["buckets"]) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_number_unsigned() || !e[1].is_number_unsigned())
      return make_error("histogram: bucket entries must be [index, count]");
    const uint64_t idx = e[0].get<uint64_t>(), n = e[1].get<uint64_t>();
    if (idx >= kBuckets) return make_error("histogram: bucket index {} out of range", idx);
    h.counts_[idx] += n;
    total += n;
  }
  h.count_ = total;
  if (total) {
    auto num = [&](const char* k) -> uint64_t {
      return j.contains(k) && j[k].is_number_unsigned() ? j[k].get<uint64_t>() : 0;
    };
    h.min_ = num("min");
    h.max_ = num("max");
    h.sum_ = j.contains("sum") && j["sum"].is_number() ? j["sum"].get<double>() : 0.0;
  }
  return h;
}

}  // namespace vbench
