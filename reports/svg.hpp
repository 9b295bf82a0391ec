#pragma once
// Inline SVG charts for the HTML report, drawn in C++: the report needs no
// script and no chart library to show them, opens with no network, prints as
// it looks, and a chart is a pure function of the numbers (tests can read it).
// Every text that reaches a chart goes through html_escape.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace vbench::svg {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Colour and marker of series i (environment i in a report): Okabe–Ito
// colours, told apart by colour-blind readers, and one marker shape and dash
// pattern per series so that a grey print still separates them.
const std::vector<std::string>& palette();
std::string series_color(size_t i);

// Maps a data interval [d0, d1] onto a pixel interval [r0, r1], linearly or
// logarithmically (log needs 0 < d0 < d1).
class Scale {
 public:
  static Scale linear(double d0, double d1, double r0, double r1);
  static Scale log(double d0, double d1, double r0, double r1);
  double operator()(double v) const;
  double d0() const { return d0_; }
  double d1() const { return d1_; }
  bool is_log() const { return log_; }

 private:
  Scale(double d0, double d1, double r0, double r1, bool log) : d0_(d0), d1_(d1), r0_(r0), r1_(r1), log_(log) {}
  double d0_, d1_, r0_, r1_;
  bool log_;
};

// Ticks at 1, 2 or 5 × 10^k steps covering [lo, hi], about `target` of them;
// the first is <= lo and the last >= hi (use them as the axis bounds).
std::vector<double> linear_ticks(double lo, double hi, int target = 5);
// Powers of ten from the one at or below lo to the one at or above hi; when
// that spans at most two decades, 2× and 5× in between as well.
std::vector<double> log10_ticks(double lo, double hi);
// Powers of two from the one at or below lo to the one at or above hi,
// thinned to every 2nd, 4th, ... so that at most max_ticks remain.
std::vector<double> log2_ticks(double lo, double hi, size_t max_ticks = 12);

struct Tick {
  double value;
  std::string label;
};

enum class AxisKind { Linear, Log10, Log2 };

struct Axis {
  std::string title;  // with the unit, e.g. "latency (log scale)"
  AxisKind kind = AxisKind::Linear;
  std::function<std::string(double)> format;  // tick label; default si_text
  std::vector<Tick> ticks;                    // fixed ticks (and domain); empty: computed from the data
  bool from_zero = false;                     // linear only: the domain starts at 0
};

struct Point {
  double x = 0, y = 0;
  double lo = kNaN, hi = kNaN;  // whisker (CI) on y; NaN: none
  std::string note;             // tooltip text
};

struct Series {
  std::string name;
  size_t color = 0;  // index into palette()
  std::vector<Point> points;
};

struct Marker {  // a labelled vertical line, e.g. the last-level cache size
  double x;
  std::string label;
};

struct LineChart {
  std::string title;
  std::string subtitle;  // one line under the title, shortened to fit
  Axis x, y;
  std::vector<Series> series;
  std::vector<Marker> markers;
  int width = 760, height = 380;
};

// Lines with point markers, whiskers and a legend below the plot. Points with
// a non-finite coordinate (or <= 0 on a log axis) are left out.
std::string line_chart(const LineChart& c);

struct Bar {
  std::string label;
  double value = kNaN;          // NaN: no bar, `missing` is shown instead
  double lo = kNaN, hi = kNaN;  // whisker; NaN: none
  size_t color = 0;
  std::string missing = "n/a";
  std::string note;  // tooltip text
};

// One small panel: vertical bars from zero with their values on top and CI
// whiskers; `unit` labels the y axis.
std::string bar_panel(const std::string& title, const std::string& subtitle, const std::string& unit,
                      const std::vector<Bar>& bars, int width = 270, int height = 210);

// A forest plot of overhead ratios: one row per workload · metric, one
// marker per environment with its CI as a horizontal whisker, a log x axis
// and a vertical line at 1 (no overhead). Markers outside the axis are drawn
// at its edge as an arrow.
struct ForestMark {
  size_t color = 0;  // series index (environment)
  double value = kNaN, lo = kNaN, hi = kNaN;
  std::string note;  // tooltip
};
struct ForestRow {
  std::string label;  // "net.tcp_stream throughput"
  std::vector<ForestMark> marks;
};
struct ForestLegend {
  std::string name;
  size_t color = 0;
};
std::string forest_plot(const std::string& title, const std::vector<ForestRow>& rows,
                        const std::vector<ForestLegend>& legend, int width = 760);

// A number for an SVG attribute: fixed precision, never NaN or inf.
std::string num(double v);

}  // namespace vbench::svg
