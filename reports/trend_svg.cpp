// A trend chart as a standalone SVG element: plain shapes with fixed
// colours, so it renders the same inline in HTML, in a browser on its own,
// or in a Markdown viewer that allows SVG.
#include "reports/trend_svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/escape.hpp"

namespace vbench {
namespace {

constexpr double kLeft = 64, kRight = 14, kTop = 26, kBottom = 30;

std::string number(double v) { return fmt::format("{:.4g}", v); }

// Short x-axis label: the commit when known, else the run's date.
std::string point_label(const TrendPoint& p) {
  if (!p.git_commit.empty()) return p.git_commit.substr(0, 8);
  if (p.started_at.size() >= 10) return p.started_at.substr(0, 10);
  return p.run_id;
}

std::string tooltip(const TrendSeries& s, const TrendPoint& p) {
  std::string t = p.run_id;
  if (!p.git_commit.empty()) t += " @ " + p.git_commit.substr(0, 12);
  if (!p.git_branch.empty()) t += " (" + p.git_branch + ")";
  if (!p.started_at.empty()) t += ", " + p.started_at;
  t += fmt::format(": median {} {}", number(p.median), s.unit);
  if (std::isfinite(p.ci_low) && std::isfinite(p.ci_high))
    t += fmt::format(", 95% CI [{}, {}]", number(p.ci_low), number(p.ci_high));
  if (p.regressed) t += "; REGRESSED vs the previous run: " + p.note;
  if (p.change_point) t += "; CHANGE POINT: first run after a " + p.change_note;
  return t;
}

// Calls fn(first, last) for each maximal run of indices where ok(i) holds.
void for_each_segment(size_t n, const std::function<bool(size_t)>& ok, const std::function<void(size_t, size_t)>& fn) {
  for (size_t i = 0; i < n;) {
    if (!ok(i)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j + 1 < n && ok(j + 1)) ++j;
    fn(i, j);
    i = j + 1;
  }
}

}  // namespace

std::string render_trend_svg(const TrendSeries& s, const TrendSvgOptions& opts) {
  const double W = std::max(opts.width, 160), H = std::max(opts.height, 100);
  const double plot_w = W - kLeft - kRight, plot_h = H - kTop - kBottom;
  const std::string title = fmt::format("{} ({} is better)", s.title(), to_string(s.better));
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"vbench-trend\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<title>{2}</title>\n<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
      "<text x=\"{3}\" y=\"16\" font-weight=\"bold\">{2}</text>\n",
      W, H, xml_escape(title), kLeft);

  const size_t n = s.points.size();
  auto finite = [&](size_t i) { return std::isfinite(s.points[i].median); };
  auto has_ci = [&](size_t i) { return std::isfinite(s.points[i].ci_low) && std::isfinite(s.points[i].ci_high); };
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    if (!finite(i)) continue;
    lo = std::min(lo, s.points[i].median);
    hi = std::max(hi, s.points[i].median);
    if (has_ci(i)) {
      lo = std::min(lo, s.points[i].ci_low);
      hi = std::max(hi, s.points[i].ci_high);
    }
  }
  if (!(lo <= hi)) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#777777\">no data</text>\n</svg>\n", kLeft, kTop + plot_h / 2);
    return out;
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {  // flat: give it some height
    const double pad = std::fabs(hi) > 0 ? std::fabs(hi) * 0.05 : 1;
    lo -= pad;
    hi += pad;
  } else {
    const double pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
  }
  auto x = [&](size_t i) { return n == 1 ? kLeft + plot_w / 2 : kLeft + plot_w * static_cast<double>(i) / (n - 1); };
  auto y = [&](double v) { return kTop + plot_h * (1 - (v - lo) / (hi - lo)); };

  // Axes and y labels.
  out += fmt::format(
      "<g stroke=\"#999999\" stroke-width=\"1\"><line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2:.1f}\"/>"
      "<line x1=\"{0}\" y1=\"{2:.1f}\" x2=\"{3:.1f}\" y2=\"{2:.1f}\"/></g>\n",
      kLeft, kTop, kTop + plot_h, kLeft + plot_w);
  for (double v : {hi, (lo + hi) / 2, lo})
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#444444\">{}</text>\n", kLeft - 4,
                       y(v) + 4, xml_escape(number(v)));
  out += fmt::format("<text x=\"4\" y=\"{:.1f}\" fill=\"#444444\">{}</text>\n", H - 8, xml_escape(s.unit));
  if (n > 0) {
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\" fill=\"#444444\">{}</text>\n", x(0), H - 8,
                       n == 1 ? "middle" : "start", xml_escape(point_label(s.points.front())));
    if (n > 1)
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#444444\">{}</text>\n", x(n - 1),
                         H - 8, xml_escape(point_label(s.points.back())));
  }

  // CI band: a polygon per run of points with a CI, an error bar for a
  // lone one.
  for_each_segment(n, has_ci, [&](size_t a, size_t b) {
    if (a == b) {
      out += fmt::format(
          "<line class=\"ci\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
          "stroke=\"#9ecae1\" stroke-width=\"4\"/>\n",
          x(a), y(s.points[a].ci_high), y(s.points[a].ci_low));
      return;
    }
    std::string pts;
    for (size_t i = a; i <= b; ++i) pts += fmt::format("{:.1f},{:.1f} ", x(i), y(s.points[i].ci_high));
    for (size_t i = b + 1; i-- > a;) pts += fmt::format("{:.1f},{:.1f} ", x(i), y(s.points[i].ci_low));
    pts.pop_back();
    out += fmt::format("<polygon class=\"ci\" points=\"{}\" fill=\"#c6dbef\" stroke=\"none\"/>\n", pts);
  });
  // Median line, broken where a run has no value.
  for_each_segment(n, finite, [&](size_t a, size_t b) {
    if (a == b) return;
    std::string pts;
    for (size_t i = a; i <= b; ++i) pts += fmt::format("{:.1f},{:.1f} ", x(i), y(s.points[i].median));
    pts.pop_back();
    out += fmt::format(
        "<polyline class=\"median\" points=\"{}\" fill=\"none\" stroke=\"#08519c\" "
        "stroke-width=\"1.5\"/>\n",
        pts);
  });
  // Change points: a dashed line half-way between the last run before and
  // the first run after.
  for (size_t i = 0; i < n; ++i) {
    const TrendPoint& p = s.points[i];
    if (!p.change_point) continue;
    const double cx = i == 0 ? x(0) : (x(i - 1) + x(i)) / 2;
    out += fmt::format(
        "<line class=\"change-point\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
        "stroke=\"#e6550d\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"><title>{3}</title></line>\n",
        cx, kTop, kTop + plot_h, xml_escape("change point before " + p.run_id + ": " + p.change_note));
  }
  for (size_t i = 0; i < n; ++i) {
    if (!finite(i)) continue;
    const TrendPoint& p = s.points[i];
    out += fmt::format(
        "<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\" "
        "stroke=\"{}\"><title>{}</title></circle>\n",
        p.regressed ? "point regressed" : "point", x(i), y(p.median), p.regressed ? 5 : 3,
        p.regressed ? "#d62728" : "#08519c", p.regressed ? "#7f0000" : "none", xml_escape(tooltip(s, p)));
  }
  out += "</svg>\n";
  return out;
}

}  // namespace vbench
