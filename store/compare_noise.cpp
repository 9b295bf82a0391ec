#include "store/compare_noise.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <tuple>

namespace vbench {
namespace {

using Key = std::tuple<std::string, std::string, std::string, std::string>;  // env, workload, params, metric

std::string str_field(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

Status apply_history_noise(Comparison& c, const HistoryStore& store, const HistoryNoiseQuery& q) {
  if (q.runs < kMinNoiseRuns)
    return make_error("--noise-from-history {}: needs at least {} runs to estimate a spread", q.runs, kMinNoiseRuns);
  const std::string suite = str_field(c.base.suite, "name"), host = str_field(c.base.host, "fingerprint");
  // One more than asked, in case the current run is among them (recorded
  // before it is compared): it is left out, the window is the runs before.
  auto runs = store.series(suite, host, q.runs + 1, q.branch);
  if (!runs) return runs.error().context("--noise-from-history");
  std::erase_if(*runs, [&](const HistoryRun& r) { return r.run_id == c.current.run_id; });
  if (runs->size() > q.runs) runs->erase(runs->begin(), runs->begin() + static_cast<long>(runs->size() - q.runs));
  std::map<Key, std::vector<double>> medians;
  for (const auto& run : *runs) {
    auto rows = store.metrics(run);
    if (!rows) return rows.error().context(fmt::format("--noise-from-history: run {}", run.run_id));
    for (const auto& m : *rows)
      if (std::isfinite(m.median)) medians[{m.env, m.workload, m.params, m.metric}].push_back(m.median);
  }
  size_t demoted = 0, too_few = 0;
  for (auto& r : c.rows) {
    const auto it = medians.find({r.env, r.workload, r.params, r.metric});
    const std::vector<double> none;
    const std::vector<double>& xs = it == medians.end() ? none : it->second;
    if (xs.size() < kMinNoiseRuns) {
      if (r.verdict == Verdict::Regressed || r.verdict == Verdict::Improved) ++too_few;
      r.history_noise = {{"runs", xs.size()}, {"branch", q.branch}, {"used", false}};
      continue;
    }
    double mean = 0;
    for (double x : xs) mean += x;
    mean /= static_cast<double>(xs.size());
    double ss = 0;
    for (double x : xs) ss += (x - mean) * (x - mean);
    const double sd = std::sqrt(ss / static_cast<double>(xs.size() - 1));
    const double cur = r.current.median;
    // A spread of exactly zero (identical medians) makes any move infinitely
    // far: z stays +-inf and only compare's own test and threshold decide.
    const double z = sd > 0 ? (cur - mean) / sd : (cur == mean ? 0 : std::copysign(INFINITY, cur - mean));
    r.history_noise = {{"runs", xs.size()},
                       {"branch", q.branch},
                       {"mean", mean},
                       {"stddev", sd},
                       {"cv", mean != 0 ? sd / std::fabs(mean) : NAN},
                       {"z", std::isfinite(z) ? nlohmann::json(z) : nlohmann::json(z > 0 ? "inf" : "-inf")},
                       {"z_min", q.z_min},
                       {"used", true}};
    if ((r.verdict == Verdict::Regressed || r.verdict == Verdict::Improved) && std::fabs(z) < q.z_min) {
      r.reason = fmt::format(
          "unchanged (was {}: {}) but within the run-to-run spread of the last {} runs of {}: median {:.4g} vs their "
          "mean "
          "{:.4g}, sd {:.3g} ({:.1f}%), z = {:+.2f}, |z| < {:g}",
          to_string(r.verdict), r.reason, xs.size(), q.branch.empty() ? "every branch" : q.branch, cur, mean, sd,
          mean != 0 ? sd / std::fabs(mean) * 100 : NAN, z, q.z_min);
      r.verdict = Verdict::Unchanged;
      ++demoted;
    } else if (r.verdict == Verdict::Regressed || r.verdict == Verdict::Improved) {
      r.reason += fmt::format("; beyond the spread of the last {} runs of {}: mean {:.4g}, sd {:.3g}, z = {:+.2f}",
                              xs.size(), q.branch.empty() ? "every branch" : q.branch, mean, sd, z);
    }
  }
  c.warnings.push_back(fmt::format(
      "noise from history: {} runs of suite {} on this host{} (asked for the last {}); a change counts only when "
      "|z| >= {:g} against their run medians: {} significant change{} within that spread, {} without enough history",
      runs->size(), suite, q.branch.empty() ? "" : ", branch " + q.branch, q.runs, q.z_min, demoted,
      demoted == 1 ? "" : "s", too_few));
  return {};
}

}  // namespace vbench
