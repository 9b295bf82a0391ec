#pragma once
// A trend over recorded runs (store/trend.hpp) as a chart.
#include <string>

#include "store/trend.hpp"

namespace vbench {

struct TrendSvgOptions {
  int width = 520;
  int height = 200;
};

// A standalone <svg> element (no scripts, no external references): CI band,
// median line, points with a <title> tooltip each, regressions marked red,
// change points as a dashed vertical line before the first run after them.
// Every string from the results is XML-escaped.
std::string render_trend_svg(const TrendSeries& s, const TrendSvgOptions& opts = {});

}  // namespace vbench
