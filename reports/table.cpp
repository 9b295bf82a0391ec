#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "reports/reports.hpp"

namespace vbench {
namespace {

std::string value_text(double v) {
  if (!std::isfinite(v)) return "-";
  const double a = std::fabs(v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 1) return fmt::format("{:.3g}", v);
  return fmt::format("{:.3g}", v);
}

struct Cell {
  std::string text;
  int color = 0;  // 0 none, 31 red (worse), 32 green (better), 33 yellow (noisy)
};

}  // namespace

std::string render_table(const ResultSet& rs, const RunSummary& summary, bool color) {
  std::vector<std::string> envs;
  for (const auto& r : summary.rows)
    if (std::find(envs.begin(), envs.end(), r.env) == envs.end()) envs.push_back(r.env);
  const std::string baseline = rs.meta.baseline_env;

  // Row key -> per env column cell, plus ratio cells for non-baseline envs.
  struct Line {
    std::string workload, params, metric, unit;
    std::map<std::string, Cell> value, ratio;
  };
  std::vector<Line> lines;
  std::map<std::string, size_t> index;
  bool any_ratio = false;
  for (const auto& r : summary.rows) {
    if (r.source != "workload") continue;
    const std::string key = r.workload + "\x1f" + r.params + "\x1f" + r.metric;
    auto [it, fresh] = index.emplace(key, lines.size());
    if (fresh) lines.push_back(Line{r.workload, r.params, r.metric, r.unit, {}, {}});
    Line& l = lines[it->second];
    Cell v;
    if (r.status == "failed") {
      v = {"FAILED", 31};
    } else if (r.stats.n == 0) {
      v = {"-", 0};
    } else {
      const double hw = ci_halfwidth_rel(r.stats);
      v.text = value_text(r.stats.median);
      if (std::isfinite(hw) && r.stats.n > 1) v.text += fmt::format(" ±{:.1f}%", hw * 100);
      if (r.status == "partial") v.text += " (!)";
      if (std::isfinite(r.stats.cv) && r.stats.cv > 0.05) v.color = 33;
    }
    l.value[r.env] = v;
    if (r.has_ratio) {
      any_ratio = true;
      Cell c;
      if (r.ratio.ok()) {
        c.text = fmt::format("{:.2f}x", r.ratio.value);
        if (std::isfinite(r.ratio.ci_low) && std::isfinite(r.ratio.ci_high)) {
          c.text += fmt::format(" [{:.2f},{:.2f}]", r.ratio.ci_low, r.ratio.ci_high);
          if (r.ratio.ci_low > 1.0) c.color = 31;
          else if (r.ratio.ci_high < 1.0) c.color = 32;
        }
      } else {
        c.text = "n/a";
      }
      l.ratio[r.env] = c;
    }
  }

  std::vector<std::string> headers = {"workload", "params", "metric", "unit"};
  for (const auto& e : envs) {
    headers.push_back(e);
    if (any_ratio && e != baseline) headers.push_back(fmt::format("{}/{}", e, baseline));
  }
  std::vector<std::vector<Cell>> grid;
  for (const auto& l : lines) {
    std::vector<Cell> row = {{l.workload, 0}, {l.params, 0}, {l.metric, 0}, {l.unit, 0}};
    for (const auto& e : envs) {
      auto it = l.value.find(e);
      row.push_back(it == l.value.end() ? Cell{"-", 0} : it->second);
      if (any_ratio && e != baseline) {
        auto rt = l.ratio.find(e);
        row.push_back(rt == l.ratio.end() ? Cell{"", 0} : rt->second);
      }
    }
    grid.push_back(std::move(row));
  }
  std::vector<size_t> width(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) width[i] = headers[i].size();
  for (const auto& row : grid)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].text.size());
  for (auto& w : width) w = std::min<size_t>(w, 40);

  std::string out;
  auto emit = [&](const std::vector<Cell>& row, bool bold) {
    for (size_t i = 0; i < row.size(); ++i) {
      std::string t = row[i].text.size() > width[i] ? row[i].text.substr(0, width[i] - 1) + "~" : row[i].text;
      std::string pad(width[i] - t.size(), ' ');
      const bool right = i >= 4;
      std::string cell = right ? pad + t : t + pad;
      if (color && (row[i].color || bold)) cell = fmt::format("\033[{}m{}\033[0m", bold ? 1 : row[i].color, cell);
      out += cell;
      out += i + 1 < row.size() ? "  " : "\n";
    }
  };
  std::vector<Cell> head;
  for (const auto& h : headers) head.push_back({h, 0});
  emit(head, true);
  for (const auto& row : grid) emit(row, false);

  out += "\nmedian ±95% CI half-width of the median";
  if (any_ratio) out += fmt::format("; ratio = overhead vs {} (>1 worse), [95% CI]", baseline);
  out += "\n";
  for (const auto& e : rs.envs) {
    std::vector<std::string> parts;
    for (const auto& m : e.lifecycle) parts.push_back(fmt::format("{} {:.3f} {}", m.name, m.value, m.unit));
    if (!parts.empty()) out += fmt::format("{}: {}\n", e.label, fmt::join(parts, ", "));
  }
  if (!summary.warnings.empty()) {
    out += "\n";
    for (const auto& w : summary.warnings) {
      std::string line = "WARNING: " + w;
      out += color ? fmt::format("\033[33m{}\033[0m\n", line) : line + "\n";
    }
  }
  return out;
}

}  // namespace vbench
