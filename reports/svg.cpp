#include "reports/svg.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "reports/format.hpp"

namespace vbench::svg {
namespace {

const char* const kDash[] = {"", "7 3", "2 3", "9 3 2 3", "4 4", "1 2"};

bool usable(double v, AxisKind k) { return std::isfinite(v) && (k == AxisKind::Linear || v > 0); }

// Axis domain and ticks from fixed ticks, or else from the data.
std::vector<Tick> axis_ticks(const Axis& a, std::vector<double> values) {
  if (!a.ticks.empty()) return a.ticks;
  values.erase(std::remove_if(values.begin(), values.end(), [&](double v) { return !usable(v, a.kind); }),
               values.end());
  double lo = 0, hi = 0;
  if (values.empty()) {
    lo = a.kind == AxisKind::Linear ? 0 : 1;
    hi = a.kind == AxisKind::Linear ? 1 : 10;
  } else {
    lo = *std::min_element(values.begin(), values.end());
    hi = *std::max_element(values.begin(), values.end());
  }
  std::vector<double> t;
  if (a.kind == AxisKind::Log10)
    t = log10_ticks(lo, hi);
  else if (a.kind == AxisKind::Log2)
    t = log2_ticks(lo, hi);
  else
    t = linear_ticks(a.from_zero ? std::min(0.0, lo) : lo, a.from_zero ? std::max(0.0, hi) : hi, 5);
  std::vector<Tick> out;
  for (double v : t) out.push_back({v, a.format ? a.format(v) : si_text(v)});
  return out;
}

Scale make_scale(const Axis& a, const std::vector<Tick>& ticks, double r0, double r1) {
  const double d0 = ticks.front().value, d1 = ticks.back().value;
  if (a.kind != AxisKind::Linear && d0 > 0 && d1 > d0) return Scale::log(d0, d1, r0, r1);
  return Scale::linear(d0, d1 > d0 ? d1 : d0 + 1, r0, r1);
}

// Marker shape for series i at (x, y); the tooltip goes inside the element.
std::string point_marker(size_t i, double x, double y, const std::string& color, const std::string& tip) {
  const std::string title = tip.empty() ? "" : "<title>" + html_escape(tip) + "</title>";
  const double r = 3.6;
  switch (i % 5) {
    case 0:
      return fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\">{}</circle>", num(x), num(y), num(r), color,
                         title);
    case 1:
      return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">{}</rect>", num(x - r),
                         num(y - r), num(2 * r), num(2 * r), color, title);
    case 2:
      return fmt::format("<path d=\"M{} {}L{} {}L{} {}Z\" fill=\"{}\">{}</path>", num(x), num(y - r - 1),
                         num(x + r + 0.5), num(y + r - 0.5), num(x - r - 0.5), num(y + r - 0.5), color, title);
    case 3:
      return fmt::format("<path d=\"M{} {}L{} {}L{} {}L{} {}Z\" fill=\"{}\">{}</path>", num(x), num(y - r - 1),
                         num(x + r + 1), num(y), num(x), num(y + r + 1), num(x - r - 1), num(y), color, title);
    default:
      return fmt::format("<path d=\"M{} {}L{} {}L{} {}Z\" fill=\"{}\">{}</path>", num(x), num(y + r + 1),
                         num(x + r + 0.5), num(y - r + 0.5), num(x - r - 0.5), num(y - r + 0.5), color, title);
  }
}

std::string svg_open(int w, int h, const std::string& label) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" "
      "height=\"{1}\" role=\"img\" aria-label=\"{2}\"><title>{2}</title>",
      w, h, html_escape(label));
}

// Shortens a label to about `chars` characters.
std::string fit(const std::string& s, size_t chars) {
  if (s.size() <= chars || chars < 2) return s;
  return s.substr(0, chars - 1) + "…";
}

}  // namespace

const std::vector<std::string>& palette() {
  static const std::vector<std::string> p = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                             "#D55E00", "#56B4E9", "#000000", "#999999"};
  return p;
}

std::string series_color(size_t i) { return palette()[i % palette().size()]; }

Scale Scale::linear(double d0, double d1, double r0, double r1) { return Scale(d0, d1, r0, r1, false); }
Scale Scale::log(double d0, double d1, double r0, double r1) { return Scale(d0, d1, r0, r1, true); }

double Scale::operator()(double v) const {
  const double t = log_ ? (std::log(v) - std::log(d0_)) / (std::log(d1_) - std::log(d0_)) : (v - d0_) / (d1_ - d0_);
  return r0_ + t * (r1_ - r0_);
}

std::vector<double> linear_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= lo == 0 ? 0 : pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const int e = static_cast<int>(std::floor(std::log10(raw)));
  const double mag = std::pow(10.0, e);
  const double norm = raw / mag;
  const double m = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  const double step = m * mag;
  const double k0 = std::floor(lo / step + 1e-9), k1 = std::ceil(hi / step - 1e-9);
  std::vector<double> t;
  for (double k = k0; k <= k1; ++k) {
    // k·m/10^-e, not k·step: 3 × 0.2 would be 0.6000000000000001.
    const double v = e < 0 ? k * m / std::pow(10.0, -e) : k * step;
    t.push_back(v == 0 ? 0.0 : v);  // no "-0"
  }
  return t;
}

std::vector<double> log10_ticks(double lo, double hi) {
  if (!(lo > 0) || !std::isfinite(lo) || !std::isfinite(hi)) return {1, 10};
  if (hi < lo) std::swap(lo, hi);
  const int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (e1 <= e0) e1 = e0 + 1;
  std::vector<double> t;
  if (e1 - e0 > 2) {
    for (int e = e0; e <= e1; ++e) t.push_back(std::pow(10.0, e));
    return t;
  }
  // Within two decades: 1-2-5 steps, trimmed to the data.
  std::vector<double> c;
  for (int e = e0; e <= e1; ++e)
    for (double m : {1.0, 2.0, 5.0}) c.push_back(m * std::pow(10.0, e));
  size_t first = 0, last = c.size() - 1;
  while (first + 1 < c.size() && c[first + 1] <= lo * (1 + 1e-9)) ++first;
  while (last > first + 1 && c[last - 1] >= hi * (1 - 1e-9)) --last;
  return std::vector<double>(c.begin() + static_cast<long>(first), c.begin() + static_cast<long>(last) + 1);
}

std::vector<double> log2_ticks(double lo, double hi, size_t max_ticks) {
  if (!(lo > 0) || !std::isfinite(lo) || !std::isfinite(hi)) return {1, 2};
  if (hi < lo) std::swap(lo, hi);
  const int k0 = static_cast<int>(std::floor(std::log2(lo) + 1e-9));
  int k1 = static_cast<int>(std::ceil(std::log2(hi) - 1e-9));
  if (k1 <= k0) k1 = k0 + 1;
  int step = 1;
  const int most = static_cast<int>(std::min<size_t>(std::max<size_t>(max_ticks, 2), 1000));
  while ((k1 - k0 + step - 1) / step + 1 > most) step *= 2;
  std::vector<double> t;
  int k = k0;
  for (; k < k1; k += step) t.push_back(std::ldexp(1.0, k));
  t.push_back(std::ldexp(1.0, k));
  return t;
}

std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  std::string s = fmt::format("{:.1f}", v);
  if (s == "-0.0") s = "0.0";
  return s;
}

std::string line_chart(const LineChart& c) {
  std::vector<double> xs, ys;
  for (const auto& s : c.series)
    for (const auto& p : s.points) {
      if (!usable(p.x, c.x.kind) || !usable(p.y, c.y.kind)) continue;
      xs.push_back(p.x);
      ys.push_back(p.y);
      ys.push_back(p.lo);
      ys.push_back(p.hi);
    }
  for (const auto& m : c.markers) xs.push_back(m.x);
  const auto xt = axis_ticks(c.x, xs);
  const auto yt = axis_ticks(c.y, ys);

  // Legend below the x axis, wrapped by an estimate of the text width.
  const double left = 72, right = 24, top = c.subtitle.empty() ? 34 : 48;
  std::vector<std::pair<double, int>> legend_pos;  // x offset, row
  double lx = left;
  int rows = 1;
  for (const auto& s : c.series) {
    const double w = 40 + 6.6 * static_cast<double>(sanitize_text(s.name).size());
    if (lx + w > c.width - right && lx > left) {
      lx = left;
      ++rows;
    }
    legend_pos.push_back({lx, rows - 1});
    lx += w;
  }
  const double bottom = 48 + 20.0 * rows;
  const double pw = c.width - left - right, ph = c.height - top - bottom;
  const Scale sx = make_scale(c.x, xt, left, left + pw);
  const Scale sy = make_scale(c.y, yt, top + ph, top);

  std::string o = svg_open(c.width, c.height, c.title + (c.subtitle.empty() ? "" : " — " + c.subtitle));
  const size_t chars = static_cast<size_t>((c.width - left) / 6.2);
  o += fmt::format("<text class=\"ct\" x=\"{}\" y=\"18\">{}</text>", num(left), html_escape(fit(c.title, chars)));
  if (!c.subtitle.empty())
    o += fmt::format("<text class=\"cs\" x=\"{}\" y=\"34\">{}</text>", num(left), html_escape(fit(c.subtitle, chars)));
  for (const auto& t : yt) {
    const double y = sy(t.value);
    o += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", num(left), num(left + pw),
                     num(y), num(y));
    o += fmt::format("<text class=\"tl\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", num(left - 6), num(y + 3.5),
                     html_escape(t.label));
  }
  for (const auto& t : xt) {
    const double x = sx(t.value);
    o += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", num(x), num(x), num(top),
                     num(top + ph));
    o += fmt::format("<text class=\"tl\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(x),
                     num(top + ph + 15), html_escape(t.label));
  }
  o += fmt::format("<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\"/>", num(left),
                   num(top), num(pw), num(ph));
  o += fmt::format("<text class=\"at\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(left + pw / 2),
                   num(top + ph + 34), html_escape(c.x.title));
  o += fmt::format("<text class=\"at\" transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
                   num(16), num(top + ph / 2), html_escape(c.y.title));
  for (const auto& m : c.markers) {
    if (!usable(m.x, c.x.kind) || m.x < sx.d0() || m.x > sx.d1()) continue;
    const double x = sx(m.x);
    o += fmt::format("<line class=\"mark\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", num(x), num(x), num(top),
                     num(top + ph));
    // The label goes on the side of the line with more room.
    const bool right_half = x > left + pw / 2;
    o +=
        fmt::format("<text class=\"ml\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
                    num(right_half ? x - 4 : x + 4), num(top + 12), right_half ? "end" : "start", html_escape(m.label));
  }
  for (size_t si = 0; si < c.series.size(); ++si) {
    const auto& s = c.series[si];
    const std::string color = series_color(s.color);
    std::string path, marks;
    for (const auto& p : s.points) {
      if (!usable(p.x, c.x.kind) || !usable(p.y, c.y.kind)) continue;
      const double x = sx(p.x), y = sy(p.y);
      path += fmt::format("{}{} {}", path.empty() ? "M" : "L", num(x), num(y));
      if (usable(p.lo, c.y.kind) && usable(p.hi, c.y.kind) && p.hi > p.lo)
        marks += fmt::format("<path class=\"wh\" d=\"M{0} {1}V{2}M{3} {1}H{4}M{3} {2}H{4}\" stroke=\"{5}\"/>", num(x),
                             num(sy(p.lo)), num(sy(p.hi)), num(x - 3), num(x + 3), color);
      marks += point_marker(s.color, x, y, color, p.note);
    }
    o += fmt::format("<g class=\"series\">");
    if (!path.empty())
      o += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\"/>", path,
                       color, kDash[s.color % std::size(kDash)]);
    o += marks + "</g>";
    const auto [x0, row] = legend_pos[si];
    const double y0 = top + ph + 48 + 20.0 * row;
    o += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\" "
        "stroke-dasharray=\"{}\"/>",
        num(x0), num(x0 + 26), num(y0), num(y0), color, kDash[s.color % std::size(kDash)]);
    o += point_marker(s.color, x0 + 13, y0, color, "");
    o += fmt::format("<text class=\"lg\" x=\"{}\" y=\"{}\">{}</text>", num(x0 + 32), num(y0 + 4), html_escape(s.name));
  }
  return o + "</svg>";
}

std::string bar_panel(const std::string& title, const std::string& subtitle, const std::string& unit,
                      const std::vector<Bar>& bars, int width, int height) {
  const double left = 52, right = 8, top = 42, bottom = 24;
  const double pw = width - left - right, ph = height - top - bottom;
  double hi = 0;
  for (const auto& b : bars) {
    if (std::isfinite(b.value)) hi = std::max(hi, b.value);
    if (std::isfinite(b.hi)) hi = std::max(hi, b.hi);
  }
  // Room above the tallest bar for its value.
  const auto t = linear_ticks(0, hi > 0 ? hi * 1.12 : 1, 4);
  const Scale sy = Scale::linear(t.front(), t.back(), top + ph, top);

  std::string o = svg_open(width, height, title + (subtitle.empty() ? "" : " — " + subtitle));
  o += fmt::format("<text class=\"ct\" x=\"4\" y=\"15\">{}</text>", html_escape(fit(title, 42)));
  o += fmt::format("<text class=\"cs\" x=\"4\" y=\"30\">{}</text>", html_escape(fit(subtitle, 50)));
  for (double v : t) {
    const double y = sy(v);
    o += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", num(left), num(left + pw),
                     num(y), num(y));
    o += fmt::format("<text class=\"tl\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", num(left - 5), num(y + 3.5),
                     html_escape(si_text(v)));
  }
  o += fmt::format("<text class=\"at\" transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
                   num(11), num(top + ph / 2), html_escape(unit_text(unit)));
  const double slot = bars.empty() ? pw : pw / static_cast<double>(bars.size());
  const double bw = std::min(44.0, slot * 0.62);
  const size_t label_chars = static_cast<size_t>(std::max(3.0, slot / 6.2));
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const double cx = left + slot * (static_cast<double>(i) + 0.5);
    const std::string color = series_color(b.color);
    o += fmt::format("<text class=\"tl\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}<title>{}</title></text>", num(cx),
                     num(top + ph + 15), html_escape(fit(b.label, label_chars)), html_escape(b.label));
    if (!std::isfinite(b.value)) {
      o += fmt::format("<text class=\"na\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}<title>{}</title></text>",
                       num(cx), num(top + ph - 6), html_escape(b.missing), html_escape(b.note));
      continue;
    }
    const double y = sy(std::max(0.0, b.value));
    o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
                     num(cx - bw / 2), num(y), num(bw), num(top + ph - y), color, html_escape(b.note));
    double label_y = y;
    if (std::isfinite(b.lo) && std::isfinite(b.hi) && b.hi > b.lo) {
      const double y0 = sy(std::max(0.0, b.lo)), y1 = sy(b.hi);
      o += fmt::format("<path class=\"wh\" d=\"M{0} {1}V{2}M{3} {1}H{4}M{3} {2}H{4}\" stroke=\"#1b1f24\"/>", num(cx),
                       num(y0), num(y1), num(cx - 5), num(cx + 5));
      label_y = std::min(label_y, y1);
    }
    o += fmt::format("<text class=\"bv\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(cx), num(label_y - 4),
                     html_escape(value_text(b.value)));
  }
  o += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", num(left), num(left + pw),
                   num(top + ph), num(top + ph));
  return o + "</svg>";
}

std::string forest_plot(const std::string& title, const std::vector<ForestRow>& rows,
                        const std::vector<ForestLegend>& legend, int width) {
  const double label_w = 250, right = 16, top = 50, row_h = 16, bottom = 44;
  const double height = top + row_h * static_cast<double>(std::max<size_t>(rows.size(), 1)) + bottom;
  const double pw = width - label_w - right;
  // Domain: every value and CI bound, always with 1 inside, clamped to
  // [1/20, 20] so that one wild CI does not flatten the rest.
  double lo = 1, hi = 1;
  for (const auto& r : rows)
    for (const auto& m : r.marks)
      for (double v : {m.value, m.lo, m.hi})
        if (std::isfinite(v) && v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
  lo = std::max(lo, 0.05);
  hi = std::min(hi, 20.0);
  std::vector<double> ticks = log10_ticks(lo / 1.05, hi * 1.05);
  const Scale sx = Scale::log(ticks.front(), ticks.back(), label_w, label_w + pw);
  auto clamp_x = [&](double v) { return std::clamp(v, ticks.front(), ticks.back()); };

  std::string o = svg_open(width, static_cast<int>(height), title);
  o += fmt::format("<text class=\"ct\" x=\"4\" y=\"15\">{}</text>", html_escape(fit(title, 110)));
  const double y_end = top + row_h * static_cast<double>(rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    if (i % 2 == 1)
      o += fmt::format("<rect x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f3f5f7\"/>",
                       num(top + row_h * static_cast<double>(i)), width, num(row_h));
  for (double t : ticks) {
    const double x = sx(t);
    o +=
        fmt::format("<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>", num(x), num(top), num(y_end));
    // Tick labels above and below: a plot of many rows is taller than a screen.
    for (double ty : {top - 5, y_end + 14})
      o += fmt::format("<text class=\"tl\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}×</text>", num(x), num(ty),
                       html_escape(si_text(t)));
  }
  o += fmt::format(
      "<line class=\"one\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#1b1f24\" stroke-width=\"1.5\"/>",
      num(sx(1)), num(top - 1), num(y_end));
  o += fmt::format(
      "<text class=\"at\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">overhead ratio to the baseline (log scale; "
      "right of 1 is worse)</text>",
      num(label_w + pw / 2), num(y_end + 30));
  const size_t nlegend = std::max<size_t>(legend.size(), 1);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const double yc = top + row_h * (static_cast<double>(i) + 0.5);
    o += fmt::format("<text class=\"tl\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}<title>{}</title></text>",
                     num(label_w - 8), num(yc + 3.5), html_escape(fit(r.label, 40)), html_escape(r.label));
    for (const auto& m : r.marks) {
      if (!std::isfinite(m.value) || m.value <= 0) continue;
      // Environments side by side within the row, so that whiskers do not overlap.
      size_t slot = 0;
      for (size_t k = 0; k < legend.size(); ++k)
        if (legend[k].color == m.color) slot = k;
      const double y = yc + (static_cast<double>(slot) - (static_cast<double>(nlegend) - 1) / 2) * 4;
      const std::string color = series_color(m.color);
      if (std::isfinite(m.lo) && std::isfinite(m.hi) && m.lo > 0 && m.hi > m.lo)
        o += fmt::format("<path class=\"wh\" d=\"M{0} {1}H{2}M{0} {3}V{4}M{2} {3}V{4}\" stroke=\"{5}\"/>",
                         num(sx(clamp_x(m.lo))), num(y), num(sx(clamp_x(m.hi))), num(y - 3), num(y + 3), color);
      o += point_marker(m.color, sx(clamp_x(m.value)), y, color, m.note);
    }
  }
  double lx = label_w;
  for (const auto& l : legend) {
    o += point_marker(l.color, lx + 4, 28, series_color(l.color), "");
    o += fmt::format("<text class=\"tl\" x=\"{}\" y=\"{}\">{}</text>", num(lx + 12), num(31.5),
                     html_escape(fit(l.name, 24)));
    lx += 20 + 7 * static_cast<double>(std::min<size_t>(l.name.size(), 24));
  }
  return o + "</svg>";
}

}  // namespace vbench::svg
