#include "drivers/cpuset.hpp"

#include "core/units.hpp"

namespace vbench {

Result<std::vector<int>> parse_cpu_list(const std::string& text) {
  std::vector<int> out;
  size_t pos = 0;
  if (text.empty()) return make_error("empty CPU list");
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t dash = part.find('-');
    auto lo = parse_int(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : parse_int(part.substr(dash + 1));
    if (!lo || !hi || *lo < 0 || *hi < *lo || *hi > 4095)
      return make_error("invalid CPU list `{}` (expected e.g. \"0-3,6\")", text);
    for (int64_t c = *lo; c <= *hi; ++c) out.push_back(static_cast<int>(c));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace vbench
