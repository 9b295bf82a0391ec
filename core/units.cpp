#include "core/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace vbench {
namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "1.5GiB" into 1.5 and "gib".
bool split_number(std::string_view s, double& num, std::string& suffix) {
  s = trim(s);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, num);
  if (ec != std::errc() || p != s.data() + i) return false;
  suffix = lower(trim(s.substr(i)));
  return true;
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  double n = 0;
  std::string suf;
  if (!split_number(text, n, suf)) return make_error("invalid size `{}` (expected e.g. 4k, 256MiB, 1G)", text);
  double mult = 0;
  if (suf.empty() || suf == "b")
    mult = 1;
  else if (suf == "k" || suf == "kib" || suf == "ki")
    mult = 1024.0;
  else if (suf == "m" || suf == "mib" || suf == "mi")
    mult = 1024.0 * 1024;
  else if (suf == "g" || suf == "gib" || suf == "gi")
    mult = 1024.0 * 1024 * 1024;
  else if (suf == "t" || suf == "tib" || suf == "ti")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else if (suf == "kb")
    mult = 1e3;
  else if (suf == "mb")
    mult = 1e6;
  else if (suf == "gb")
    mult = 1e9;
  else if (suf == "tb")
    mult = 1e12;
  else
    return make_error("invalid size `{}`: unknown unit `{}` (use k, KiB, MiB, GiB, TiB, KB, MB, GB)", text, suf);
  const double v = n * mult;
  if (v > 1.8e19) return make_error("invalid size `{}`: too large", text);
  if (v != std::floor(v)) return make_error("invalid size `{}`: not a whole number of bytes", text);
  return static_cast<uint64_t>(v);
}

Result<double> parse_duration_s(std::string_view text) {
  double n = 0;
  std::string suf;
  if (!split_number(text, n, suf)) return make_error("invalid duration `{}` (expected e.g. 5s, 200ms, 2m)", text);
  if (suf.empty() || suf == "s" || suf == "sec") return n;
  if (suf == "ms") return n / 1e3;
  if (suf == "us") return n / 1e6;
  if (suf == "ns") return n / 1e9;
  if (suf == "m" || suf == "min") return n * 60;
  if (suf == "h") return n * 3600;
  return make_error("invalid duration `{}`: unknown unit `{}` (use ns, us, ms, s, m, h)", text, suf);
}

Result<int64_t> parse_int(std::string_view text) {
  auto s = trim(text);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return make_error("invalid integer `{}`", text);
  return v;
}

Result<double> parse_double(std::string_view text) {
  auto s = trim(text);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || !std::isfinite(v))
    return make_error("invalid number `{}`", text);
  return v;
}

Result<bool> parse_bool(std::string_view text) {
  auto s = lower(trim(text));
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return make_error("invalid boolean `{}` (use true or false)", text);
}

Result<double> parse_percent(std::string_view text) {
  auto s = trim(text);
  if (!s.empty() && s.back() == '%') s = trim(s.substr(0, s.size() - 1));
  auto v = parse_double(s);
  if (!v || *v < 0) return make_error("invalid percentage `{}` (write e.g. \"5%\")", text);
  return *v / 100;
}

std::string format_size(uint64_t b) {
  static const char* units[] = {"", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (u < 4 && b >= 1024 && b % 1024 == 0) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{}{}", b, units[u]);
}

std::string format_duration(double s) {
  if (s >= 1 || s == 0) return fmt::format("{:g}s", s);
  if (s >= 1e-3) return fmt::format("{:g}ms", s * 1e3);
  if (s >= 1e-6) return fmt::format("{:g}us", s * 1e6);
  return fmt::format("{:g}ns", s * 1e9);
}

}  // namespace vbench
