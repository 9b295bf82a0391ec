#include "reports/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/sha256.hpp"
#include "counters/counters.hpp"

namespace vbench {

std::string clip_text(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return std::string(s.substr(0, cut)) + " …";
}

size_t append_within(std::string& out, const std::vector<std::string>& lines, size_t max_size) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (out.size() + lines[i].size() > max_size) return lines.size() - i;
    out += lines[i];
  }
  return 0;
}

namespace {

std::string base64(const uint8_t* p, size_t n) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t v =
        (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) | (i + 2 < n ? uint32_t{p[i + 2]} : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

}  // namespace

std::string csp_hash(std::string_view text) {
  Sha256 h;
  h.update(text);
  const auto d = h.digest();
  return "'sha256-" + base64(d.data(), d.size()) + "'";
}

std::string value_text(double v) {
  if (!std::isfinite(v)) return "-";
  if (std::fabs(v) >= 100) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

std::string si_text(double v) {
  if (!std::isfinite(v)) return "-";
  const double a = std::fabs(v);
  if (a >= 1e12) return fmt::format("{:.3g}T", v / 1e12);
  if (a >= 1e9) return fmt::format("{:.3g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (a >= 1e3) return fmt::format("{:.3g}k", v / 1e3);
  return fmt::format("{:.3g}", v);
}

std::string unit_text(const std::string& unit) { return unit == "us" ? "µs" : unit; }

namespace {

// v in the largest of `units` (each `step` times the previous) that keeps it
// below 999.5, which would print as "1e+03" at three significant digits.
std::string scaled_text(double v, std::initializer_list<const char*> units, double step) {
  auto u = units.begin();
  while (u + 1 != units.end() && std::fabs(v) >= 999.5) {
    v /= step;
    ++u;
  }
  return fmt::format("{:.3g} {}", v, *u);
}

}  // namespace

std::string ns_text(double ns) {
  if (!std::isfinite(ns)) return "-";
  if (std::fabs(ns) < 1e-3) return "0 ns";  // rounding noise of a difference of seconds
  return scaled_text(ns, {"ns", "µs", "ms", "s"}, 1000);
}

std::string bytes_text(double bytes) {
  if (!std::isfinite(bytes)) return "-";
  if (std::fabs(bytes) < 1024) return fmt::format("{:.0f} B", bytes);
  return scaled_text(bytes / 1024, {"KiB", "MiB", "GiB", "TiB", "PiB"}, 1024);
}

std::string ci_text(const Summary& s) {
  if (s.n < 2) return "";
  const double hw = ci_halfwidth_rel(s);
  return std::isfinite(hw) ? fmt::format("±{:.1f}%", hw * 100) : "";
}

RatioVerdict verdict(const OverheadRatio& r) {
  if (!r.ok()) return RatioVerdict::Undefined;
  if (r.n_env < kMinRepetitionsForCI || r.n_base < kMinRepetitionsForCI) return RatioVerdict::TooFew;
  if (std::isfinite(r.ci_low) && r.ci_low > 1.0) return RatioVerdict::Worse;
  if (std::isfinite(r.ci_high) && r.ci_high < 1.0) return RatioVerdict::Better;
  return RatioVerdict::Same;
}

std::string ratio_text(const OverheadRatio& r, std::string_view times) {
  if (!r.ok()) return "n/a";
  std::string t = fmt::format("{:.2f}{}", r.value, times);
  // From one value a side, the bootstrap "interval" is the ratio itself.
  if (std::isfinite(r.ci_low) && std::isfinite(r.ci_high) && r.n_env > 1 && r.n_base > 1)
    t += fmt::format(" [{:.2f}, {:.2f}]", r.ci_low, r.ci_high);
  return t;
}

const SummaryRow* EnvGridLine::cell(const std::string& env) const {
  auto it = cells.find(env);
  return it == cells.end() ? nullptr : it->second;
}

EnvGrid compare_envs(const ResultSet& rs, const RunSummary& summary) {
  EnvGrid c;
  std::vector<std::string> seen;
  for (const auto& r : summary.rows)
    if (std::find(seen.begin(), seen.end(), r.env) == seen.end()) seen.push_back(r.env);
  auto add_env = [&](const std::string& e) {
    if (std::find(seen.begin(), seen.end(), e) != seen.end() &&
        std::find(c.envs.begin(), c.envs.end(), e) == c.envs.end())
      c.envs.push_back(e);
  };
  if (std::find(seen.begin(), seen.end(), rs.meta.baseline_env) != seen.end()) c.baseline = rs.meta.baseline_env;
  if (!c.baseline.empty()) add_env(c.baseline);
  for (const auto& e : rs.envs) add_env(e.label);
  for (const auto& e : seen) add_env(e);

  std::map<std::string, size_t> index;
  for (const auto& r : summary.rows) {
    const std::string key = r.workload + '\x1f' + r.params + '\x1f' + r.metric;
    auto [it, fresh] = index.emplace(key, c.lines.size());
    if (fresh) c.lines.push_back(EnvGridLine{r.workload, r.params, r.metric, r.unit, r.source, r.better, {}});
    c.lines[it->second].cells[r.env] = &r;
  }
  // Workloads in the suite's order (the summary has them in the order the
  // shuffled first round ran them); within one, the order it reported.
  std::map<std::string, size_t> rank;
  const auto& suite = rs.meta.suite;
  if (suite.is_object() && suite.contains("workloads") && suite["workloads"].is_array())
    for (const auto& w : suite["workloads"])
      if (w.is_object() && w.contains("name") && w["name"].is_string())
        rank.emplace(w["name"].get<std::string>(), rank.size());
  std::stable_sort(c.lines.begin(), c.lines.end(), [&](const EnvGridLine& a, const EnvGridLine& b) {
    auto ra = rank.find(a.workload), rb = rank.find(b.workload);
    return (ra == rank.end() ? rank.size() : ra->second) < (rb == rank.end() ? rank.size() : rb->second);
  });
  return c;
}

std::vector<const EnvGridLine*> summary_lines(const EnvGrid& c) {
  std::vector<const EnvGridLine*> out;
  for (const auto& l : c.lines)
    if (l.source == "workload" && !is_derived_counter_metric(l.metric)) out.push_back(&l);
  return out;
}

std::string workload_family(const std::string& workload) { return workload.substr(0, workload.find('.')); }

}  // namespace vbench
