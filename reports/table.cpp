#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "reports/format.hpp"
#include "reports/reports.hpp"

namespace vbench {
namespace {

struct Cell {
  std::string text;
  int color = 0;  // 0 none, 31 red (worse), 32 green (better), 33 yellow (noisy)
};

}  // namespace

std::string render_table(const ResultSet& rs, const RunSummary& summary, bool color) {
  const EnvGrid cmp = compare_envs(rs, summary);
  const std::vector<std::string>& envs = cmp.envs;
  const std::string& baseline = cmp.baseline;
  bool any_ratio = false;
  for (const auto& r : summary.rows) any_ratio |= r.has_ratio;

  std::vector<std::string> headers = {"workload", "params", "metric", "unit"};
  for (const auto& e : envs) {
    headers.push_back(terminal_safe(e));
    if (any_ratio && e != baseline) headers.push_back(terminal_safe(fmt::format("{}/{}", e, baseline)));
  }
  std::vector<std::vector<Cell>> grid;
  for (const auto& l : cmp.lines) {
    if (l.source != "workload") continue;
    // Names come from results files: no terminal escapes get through.
    std::vector<Cell> row = {{terminal_safe(l.workload), 0},
                             {terminal_safe(l.params), 0},
                             {terminal_safe(l.metric), 0},
                             {terminal_safe(l.unit), 0}};
    for (const auto& e : envs) {
      const SummaryRow* r = l.cell(e);
      Cell v{"-", 0};
      if (r && r->status == "failed") {
        v = {"FAILED", 31};
      } else if (r && r->stats.n > 0) {
        v.text = value_text(r->stats.median);
        if (const std::string ci = ci_text(r->stats); !ci.empty()) v.text += " " + ci;
        if (r->status == "partial") v.text += " (!)";
        if (std::isfinite(r->stats.cv) && r->stats.cv > 0.05) v.color = 33;
      }
      row.push_back(v);
      if (any_ratio && e != baseline) {
        Cell c;
        if (r && r->has_ratio) {
          c.text = ratio_text(r->ratio, "x");
          const RatioVerdict vd = verdict(r->ratio);
          if (vd == RatioVerdict::Worse)
            c.color = 31;
          else if (vd == RatioVerdict::Better)
            c.color = 32;
        }
        row.push_back(c);
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
  if (any_ratio)
    out += fmt::format("; ratio = overhead vs {} (>1 worse), [95% CI], coloured when significant ({}+ repetitions)",
                       terminal_safe(baseline), kMinRepetitionsForCI);
  out += "\n";
  for (const auto& e : rs.envs) {
    std::vector<std::string> parts;
    for (const auto& m : e.lifecycle) parts.push_back(fmt::format("{} {:.3f} {}", m.name, m.value, m.unit));
    if (!parts.empty()) out += terminal_safe(fmt::format("{}: {}", e.label, fmt::join(parts, ", "))) + "\n";
  }
  if (!summary.warnings.empty()) {
    out += "\n";
    for (const auto& w : summary.warnings) {
      std::string line = "WARNING: " + terminal_safe(w, true);
      out += color ? fmt::format("\033[33m{}\033[0m\n", line) : line + "\n";
    }
  }
  return out;
}

}  // namespace vbench
