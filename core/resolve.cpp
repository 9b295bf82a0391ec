#include "core/resolve.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace vbench {

Result<KnobValues> resolve_specs(const std::string& owner, const char* noun, const std::vector<ParamSpec>& specs,
                                 const KnobValues& given, const WhereFn& where) {
  auto located = [&](const std::string& name, Error e) {
    const std::string w = where ? where(name) : "";
    return w.empty() ? e : e.context(w);
  };
  for (const auto& [k, v] : given) {
    bool known = false;
    for (const auto& s : specs) known = known || s.name == k;
    if (known) continue;
    std::vector<std::string> names;
    for (const auto& s : specs) names.push_back(s.name);
    return located(k, make_error("{} has no {} `{}` (it has: {})", owner, noun, k,
                                 names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "))));
  }
  KnobValues out;
  for (const auto& s : specs) {
    auto it = given.find(s.name);
    // Values may arrive normalised already (by the CLI) or as the user wrote them.
    auto v = normalize_param(s, it != given.end() ? it->second : nlohmann::json(s.default_value));
    if (!v) return located(s.name, v.error());
    out[s.name] = std::move(*v);
  }
  return out;
}

}  // namespace vbench
