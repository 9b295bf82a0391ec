#include "core/sample.hpp"

#include <cmath>

namespace vbench {
namespace {

constexpr size_t kMaxString = 64 * 1024;
constexpr size_t kMaxItems = 4096;

Result<std::string> get_string(const nlohmann::json& j, const char* key, bool required = true) {
  if (!j.contains(key)) {
    if (required) return make_error("missing field `{}`", key);
    return std::string();
  }
  if (!j[key].is_string()) return make_error("field `{}` must be a string", key);
  auto s = j[key].get<std::string>();
  if (s.size() > kMaxString) return make_error("field `{}` is too long ({} bytes)", key, s.size());
  return s;
}

// A JSON double cannot be NaN or inf; metrics that have none are null.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

const char* to_string(Better b) { return b == Better::Higher ? "higher" : "lower"; }

Result<Better> better_from_string(const std::string& s) {
  if (s == "higher") return Better::Higher;
  if (s == "lower") return Better::Lower;
  return make_error("`better` must be \"higher\" or \"lower\", not `{}`", s);
}

const Metric* Sample::metric(const std::string& name) const {
  for (const auto& m : metrics)
    if (m.name == name) return &m;
  return nullptr;
}

std::string params_key(const nlohmann::json& params) {
  std::string out;
  if (!params.is_object()) return out;
  for (const auto& [k, v] : params.items()) {  // nlohmann::json objects are key-sorted
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    out += v.is_string() ? v.get<std::string>() : dump_json(v);
  }
  return out;
}

nlohmann::json to_json(const Metric& m) {
  return {{"name", m.name}, {"value", num(m.value)}, {"unit", m.unit}, {"better", to_string(m.better)}};
}

nlohmann::json to_json(const CounterReading& c) {
  nlohmann::json j = {{"name", c.name}, {"status", c.status}, {"scope", c.scope}};
  j["value"] = c.value ? num(*c.value) : nlohmann::json(nullptr);
  j["running_fraction"] = num(c.running_fraction);
  if (!c.reason.empty()) j["reason"] = c.reason;
  return j;
}

nlohmann::json to_json(const Sample& s) {
  nlohmann::json j;
  j["env"] = s.env;
  j["workload"] = s.workload;
  j["params"] = s.params;
  j["round"] = s.round;
  j["warmup"] = s.warmup;
  j["started_at"] = s.started_at;
  j["ok"] = s.ok;
  if (!s.ok) j["error"] = s.error;
  j["wall_s"] = num(s.wall_s);
  auto& ms = j["metrics"] = nlohmann::json::array();
  for (const auto& m : s.metrics) ms.push_back(to_json(m));
  auto& hs = j["histograms"] = nlohmann::json::object();
  for (const auto& [name, h] : s.histograms) hs[name] = h.to_json();
  auto& cs = j["counters"] = nlohmann::json::array();
  for (const auto& c : s.counters) cs.push_back(to_json(c));
  auto& es = j["env_metrics"] = nlohmann::json::array();
  for (const auto& m : s.env_metrics) es.push_back(to_json(m));
  return j;
}

Result<Metric> metric_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("metric must be an object");
  Metric m;
  auto name = get_string(j, "name");
  if (!name) return name.error();
  m.name = *name;
  if (!j.contains("value")) return make_error("metric `{}`: missing field `value`", m.name);
  if (j["value"].is_null())
    m.value = NAN;
  else if (j["value"].is_number())
    m.value = j["value"].get<double>();
  else
    return make_error("metric `{}`: `value` must be a number", m.name);
  auto unit = get_string(j, "unit");
  if (!unit) return unit.error().context("metric " + m.name);
  m.unit = *unit;
  auto better = get_string(j, "better");
  if (!better) return better.error().context("metric " + m.name);
  auto b = better_from_string(*better);
  if (!b) return b.error().context("metric " + m.name);
  m.better = *b;
  return m;
}

Result<CounterReading> counter_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("counter must be an object");
  CounterReading c;
  auto name = get_string(j, "name");
  if (!name) return name.error();
  c.name = *name;
  auto status = get_string(j, "status");
  if (!status) return status.error().context("counter " + c.name);
  c.status = *status;
  auto scope = get_string(j, "scope", false);
  if (!scope) return scope.error();
  if (!scope->empty()) c.scope = *scope;
  auto reason = get_string(j, "reason", false);
  if (!reason) return reason.error();
  c.reason = *reason;
  if (j.contains("value") && j["value"].is_number())
    c.value = j["value"].get<double>();
  else if (j.contains("value") && !j["value"].is_null())
    return make_error("counter `{}`: `value` must be a number or null", c.name);
  if (j.contains("running_fraction") && j["running_fraction"].is_number())
    c.running_fraction = j["running_fraction"].get<double>();
  return c;
}

Result<Sample> sample_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("sample must be a JSON object");
  Sample s;
  for (auto [key, dst] : {std::pair{"env", &s.env}, {"workload", &s.workload}, {"started_at", &s.started_at}}) {
    auto v = get_string(j, key, false);
    if (!v) return v.error();
    *dst = *v;
  }
  if (j.contains("params")) {
    if (!j["params"].is_object()) return make_error("field `params` must be an object");
    s.params = j["params"];
  }
  if (j.contains("round") && j["round"].is_number_integer()) s.round = j["round"].get<int>();
  if (j.contains("warmup") && j["warmup"].is_boolean()) s.warmup = j["warmup"].get<bool>();
  if (j.contains("ok")) {
    if (!j["ok"].is_boolean()) return make_error("field `ok` must be a boolean");
    s.ok = j["ok"].get<bool>();
  }
  auto err = get_string(j, "error", false);
  if (!err) return err.error();
  s.error = *err;
  if (j.contains("wall_s") && j["wall_s"].is_number()) s.wall_s = j["wall_s"].get<double>();

  auto array_of = [&](const char* key) -> Result<const nlohmann::json*> {
    if (!j.contains(key)) return static_cast<const nlohmann::json*>(nullptr);
    if (!j[key].is_array()) return make_error("field `{}` must be an array", key);
    if (j[key].size() > kMaxItems) return make_error("field `{}` has too many entries ({})", key, j[key].size());
    return &j[key];
  };
  for (auto [key, dst] : {std::pair{"metrics", &s.metrics}, {"env_metrics", &s.env_metrics}}) {
    auto a = array_of(key);
    if (!a) return a.error();
    if (*a)
      for (const auto& e : **a) {
        auto m = metric_from_json(e);
        if (!m) return m.error().context(key);
        dst->push_back(*m);
      }
  }
  auto cs = array_of("counters");
  if (!cs) return cs.error();
  if (*cs)
    for (const auto& e : **cs) {
      auto c = counter_from_json(e);
      if (!c) return c.error().context("counters");
      s.counters.push_back(*c);
    }
  if (j.contains("histograms")) {
    if (!j["histograms"].is_object()) return make_error("field `histograms` must be an object");
    if (j["histograms"].size() > 64) return make_error("too many histograms");
    for (const auto& [name, hj] : j["histograms"].items()) {
      auto h = Histogram::from_json(hj);
      if (!h) return h.error().context("histogram " + name);
      s.histograms.emplace(name, std::move(*h));
    }
  }
  return s;
}

}  // namespace vbench
