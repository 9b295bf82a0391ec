#include "core/workload.hpp"

#include <algorithm>
#include <cmath>

#include "core/resolve.hpp"
#include "core/units.hpp"

namespace vbench {

const char* to_string(ParamType t) {
  switch (t) {
    case ParamType::Int:
      return "int";
    case ParamType::Size:
      return "size";
    case ParamType::Duration:
      return "duration";
    case ParamType::Double:
      return "number";
    case ParamType::Bool:
      return "bool";
    case ParamType::String:
      return "string";
  }
  return "?";
}

void WorkloadOutput::add_latency(const std::string& prefix, Histogram h, const std::string& unit, double scale) {
  const std::string p = prefix.empty() ? "lat_" : prefix + "_";
  add(p + "p50", h.quantile(0.50) / scale, unit, Better::Lower);
  add(p + "p90", h.quantile(0.90) / scale, unit, Better::Lower);
  add(p + "p99", h.quantile(0.99) / scale, unit, Better::Lower);
  add(p + "p99.9", h.quantile(0.999) / scale, unit, Better::Lower);
  add(p + "max", static_cast<double>(h.max()) / scale, unit, Better::Lower);
  histograms.emplace(prefix.empty() ? "latency" : prefix, std::move(h));
}

const ParamSpec* WorkloadDef::param(const std::string& n) const {
  for (const auto& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

namespace {

std::string bound_text(ParamType t, double x) {
  if (t == ParamType::Size) return format_size(static_cast<uint64_t>(x));
  if (t == ParamType::Duration) return format_duration(x);
  if (t == ParamType::Int && std::abs(x) < 9e18) return fmt::format("{}", static_cast<int64_t>(x));
  return fmt::format("{:g}", x);
}

// The range of a spec with the type's own bounds folded in.
std::pair<double, double> effective_range(const ParamSpec& s) {
  double lo = s.min, hi = s.max;
  if (s.type == ParamType::Size) lo = std::max(lo, 0.0);
  if (s.type == ParamType::Duration) {
    lo = std::max(lo, 0.0);
    hi = std::min(hi, ParamSpec::kMaxDurationS);
  }
  return {lo, hi};
}

}  // namespace

std::string ParamSpec::range_text() const {
  const auto [lo, hi] = effective_range(*this);
  const bool has_lo = lo > -kUnbounded && !(lo == 0 && (type == ParamType::Size || type == ParamType::Duration));
  const bool has_hi = hi < kUnbounded;
  if (has_lo && has_hi) return fmt::format("{}..{}", bound_text(type, lo), bound_text(type, hi));
  if (has_lo) return fmt::format(">= {}", bound_text(type, lo));
  if (has_hi) return fmt::format("<= {}", bound_text(type, hi));
  return {};
}

namespace {

Result<nlohmann::json> check_range(const ParamSpec& spec, nlohmann::json v) {
  const auto [lo, hi] = effective_range(spec);
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    return make_error("parameter `{}` ({}): {} is out of range ({})", spec.name, to_string(spec.type),
                      v.is_number_float() ? fmt::format("{:g}", x) : v.dump(), spec.range_text());
  return v;
}

Result<nlohmann::json> normalize_unchecked(const ParamSpec& spec, const nlohmann::json& v);

}  // namespace

Result<nlohmann::json> normalize_param(const ParamSpec& spec, const nlohmann::json& v) {
  auto r = normalize_unchecked(spec, v);
  if (!r || !r->is_number()) return r;
  return check_range(spec, std::move(*r));
}

namespace {

Result<nlohmann::json> normalize_unchecked(const ParamSpec& spec, const nlohmann::json& v) {
  auto fail = [&](const std::string& why) {
    return make_error("parameter `{}` ({}): {}", spec.name, to_string(spec.type), why);
  };
  if (v.is_string() && v.get<std::string>() == "auto") {
    if (spec.allow_auto) return nlohmann::json("auto");
    return fail("\"auto\" is not allowed here");
  }
  const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  switch (spec.type) {
    case ParamType::Int: {
      if (v.is_number_integer()) return nlohmann::json(v.get<int64_t>());
      if (!v.is_string()) return fail(fmt::format("expected an integer, got {}", text));
      auto r = parse_int(text);
      if (!r) return fail(r.error().message);
      return nlohmann::json(*r);
    }
    case ParamType::Size: {
      if (v.is_number_integer() && v.get<int64_t>() >= 0) return nlohmann::json(v.get<uint64_t>());
      if (!v.is_string()) return fail(fmt::format("expected a size like \"4k\" or \"256MiB\", got {}", text));
      auto r = parse_size(text);
      if (!r) return fail(r.error().message);
      return nlohmann::json(*r);
    }
    case ParamType::Duration: {
      if (v.is_number()) return nlohmann::json(v.get<double>());
      if (!v.is_string()) return fail(fmt::format("expected a duration like \"5s\" or \"200ms\", got {}", text));
      auto r = parse_duration_s(text);
      if (!r) return fail(r.error().message);
      return nlohmann::json(*r);
    }
    case ParamType::Double: {
      if (v.is_number()) return nlohmann::json(v.get<double>());
      if (!v.is_string()) return fail(fmt::format("expected a number, got {}", text));
      auto r = parse_double(text);
      if (!r) return fail(r.error().message);
      return nlohmann::json(*r);
    }
    case ParamType::Bool: {
      if (v.is_boolean()) return v;
      if (!v.is_string()) return fail(fmt::format("expected true or false, got {}", text));
      auto r = parse_bool(text);
      if (!r) return fail(r.error().message);
      return nlohmann::json(*r);
    }
    case ParamType::String: {
      if (!v.is_string()) return fail(fmt::format("expected a string, got {}", text));
      if (!spec.choices.empty() && std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end())
        return fail(fmt::format("`{}` is not one of: {}", text, fmt::join(spec.choices, ", ")));
      return v;
    }
  }
  return fail("unknown type");
}

}  // namespace

Result<Params> resolve_params(const WorkloadDef& def, const std::map<std::string, nlohmann::json>& given) {
  // Unknown names are refused as they are; value errors name the workload.
  auto r = resolve_specs(fmt::format("workload `{}`", def.name), "parameter", def.params, given,
                         [&](const std::string& name) { return def.param(name) ? def.name : std::string(); });
  if (!r) return r.error();
  nlohmann::json out = nlohmann::json::object();
  for (auto& [k, v] : *r) out[k] = std::move(v);
  return Params(std::move(out));
}

}  // namespace vbench
