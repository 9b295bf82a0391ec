#include "harness/suite.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <tuple>

#include "core/escape.hpp"
#include "core/fs.hpp"
#include "core/host_load.hpp"
#include "core/units.hpp"
#include "counters/counters.hpp"
#include "drivers/driver.hpp"
#include "harness/builtin_suites.hpp"

namespace vbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A sweep is a cartesian product; a typo like qd = [1, 2, ..., 64] times
// bs = [...] should be an error, not a week of benchmarking.
constexpr size_t kMaxParamSets = 1000;
constexpr size_t kMaxIncludeDepth = 16;
constexpr double kMaxTimeoutS = 7 * 86400.0;  // per sample
constexpr int64_t kMaxRepetitions = 100000;

const std::vector<std::string> kSuiteKeys = {
    "name",   "description", "include",  "exclude", "repetitions", "max_repetitions", "ci_target",
    "warmup", "seed",        "baseline", "timeout", "counters",    "placement"};
const std::vector<std::string> kTopKeys = {"suite", "env", "workload", "compare"};
const std::vector<std::string> kCompareKeys = {"alpha", "threshold", "thresholds", "gate"};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean `x`?)" when one candidate is a plausible typo of word.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  size_t best_d = std::max<size_t>(1, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = &c;
    }
  }
  return best ? fmt::format(" (did you mean `{}`?)", *best) : std::string();
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::vector<std::string> workload_names(const WorkloadTable& table) {
  std::vector<std::string> names;
  for (const auto& w : table) names.push_back(w.name);
  return names;
}

const WorkloadDef* find_def(const WorkloadTable& table, const std::string& name) {
  for (const auto& w : table)
    if (w.name == name) return &w;
  return nullptr;
}

std::string param_names(const WorkloadDef& def) {
  std::vector<std::string> names;
  for (const auto& p : def.params) names.push_back(p.name);
  return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

bool is_kind(const std::string& s) {
  const auto& k = env_kinds();
  return std::find(k.begin(), k.end(), s) != k.end();
}

bool valid_env_name(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Messages of one file, each "FILE:LINE:COLUMN: what", in the file's order.
// All of a file's problems are reported together, like a compiler does.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  std::string where(const toml::source_region& r) const {
    return fmt::format("{}:{}:{}", file_, r.begin.line, r.begin.column);
  }
  void at(const toml::source_region& r, const std::string& what) {
    msgs_.push_back({r.begin.line, r.begin.column, where(r) + ": " + what});
  }
  bool empty() const { return msgs_.empty(); }
  Error error() {
    std::stable_sort(msgs_.begin(), msgs_.end(), [](const Msg& a, const Msg& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    std::vector<std::string> lines;
    for (const auto& m : msgs_) lines.push_back(m.text);
    return Error{fmt::format("{}", fmt::join(lines, "\n")), 0};
  }

 private:
  struct Msg {
    toml::source_index line, column;
    std::string text;
  };
  std::string file_;
  std::vector<Msg> msgs_;
};

// A TOML scalar as JSON; nullopt (with a message) for anything else.
std::optional<json> scalar_json(Diagnostics& d, const toml::node& n, const std::string& what) {
  if (auto v = n.as_string()) return json(v->get());
  if (auto v = n.as_integer()) return json(v->get());
  if (auto v = n.as_boolean()) return json(v->get());
  if (auto v = n.as_floating_point()) {
    if (!std::isfinite(v->get())) {
      d.at(n.source(), fmt::format("{} must be a finite number", what));
      return std::nullopt;
    }
    return json(v->get());
  }
  d.at(n.source(), fmt::format("{} must be a string, number or boolean, not {}", what, type_name(n)));
  return std::nullopt;
}

// A TOML value as JSON: a scalar, or an array of scalars.
std::optional<json> value_json(Diagnostics& d, const toml::node& n, const std::string& what) {
  if (auto arr = n.as_array()) {
    json out = json::array();
    bool ok = true;
    for (const auto& e : *arr) {
      auto v = scalar_json(d, e, fmt::format("an element of {}", what));
      if (v)
        out.push_back(std::move(*v));
      else
        ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
  }
  return scalar_json(d, n, what);
}

std::optional<std::string> get_string(Diagnostics& d, const std::string& key, const toml::node& n) {
  if (auto v = n.as_string()) return v->get();
  d.at(n.source(), fmt::format("`{}` must be a string, not {}", key, type_name(n)));
  return std::nullopt;
}

std::optional<int64_t> get_int(Diagnostics& d, const std::string& key, const toml::node& n, int64_t lo, int64_t hi) {
  auto v = n.as_integer();
  if (!v) {
    d.at(n.source(), fmt::format("`{}` must be an integer, not {}", key, type_name(n)));
    return std::nullopt;
  }
  if (v->get() < lo || v->get() > hi) {
    d.at(n.source(), hi == std::numeric_limits<int64_t>::max()
                         ? fmt::format("`{}` must be at least {}, not {}", key, lo, v->get())
                         : fmt::format("`{}` must be between {} and {}, not {}", key, lo, hi, v->get()));
    return std::nullopt;
  }
  return v->get();
}

// A number in [lo, hi).
std::optional<double> get_number(Diagnostics& d, const std::string& key, const toml::node& n, double lo, double hi) {
  double x;
  if (auto i = n.as_integer())
    x = static_cast<double>(i->get());
  else if (auto f = n.as_floating_point())
    x = f->get();
  else {
    d.at(n.source(), fmt::format("`{}` must be a number, not {}", key, type_name(n)));
    return std::nullopt;
  }
  if (!(x >= lo && x < hi)) {
    d.at(n.source(), fmt::format("`{}` must be at least {} and below {}, not {}", key, lo, hi, x));
    return std::nullopt;
  }
  return x;
}

struct SourceText {
  std::string text;
  std::string name;  // for messages: the path, or builtin:NAME
  std::string key;   // identity for cycle detection
  bool builtin = false;
};

const BuiltinSuite* find_builtin(const std::string& name) {
  for (const auto& b : builtin_suites())
    if (name == b.name) return &b;
  return nullptr;
}

// A built-in name, or a file (relative paths against `base_dir`).
Result<SourceText> resolve_source(const std::string& name_or_path, const fs::path& base_dir) {
  const bool looks_like_path =
      name_or_path.find('/') != std::string::npos || (name_or_path.size() > 5 && name_or_path.ends_with(".toml"));
  if (!looks_like_path)
    if (const auto* b = find_builtin(name_or_path))
      return SourceText{b->text, fmt::format("builtin:{}", b->name), fmt::format("builtin:{}", b->name), true};
  fs::path p(name_or_path);
  if (p.is_relative() && !base_dir.empty()) p = base_dir / p;
  const std::string path = p.lexically_normal().string();
  if (!path_exists(path)) {
    if (looks_like_path) return sys_error(fmt::format("suite file `{}`", path), ENOENT);
    return make_error("no built-in suite `{}` (built-in: {}) and no file `{}`", name_or_path,
                      fmt::join(builtin_suite_names(), ", "), path);
  }
  auto text = read_file(path, 4 * 1024 * 1024);
  if (!text) return text.error();
  std::error_code ec;
  const fs::path canon = fs::weakly_canonical(path, ec);
  return SourceText{std::move(*text), path, ec ? path : canon.string(), false};
}

std::string stem_of(const SourceText& src) {
  if (src.builtin) return src.name.substr(std::string("builtin:").size());
  return fs::path(src.name).stem().string();
}

class Loader {
 public:
  explicit Loader(const WorkloadTable& table) : table_(table) {}

  // One file and, recursively, what it includes; not yet finalized.
  Result<Suite> load(const SourceText& src);

 private:
  void read_suite_table(Diagnostics& d, const toml::table& t, Suite& s, const std::vector<std::string>& base_workloads);
  void read_envs(Diagnostics& d, const toml::node& n, Suite& s);
  void read_workloads(Diagnostics& d, const toml::node& n, Suite& s);
  void check_param(Diagnostics& d, const WorkloadDef& def, const std::string& key, const toml::node& n);
  void read_compare(Diagnostics& d, const toml::node& n, Suite& s);
  void read_thresholds(Diagnostics& d, const toml::table& t, const std::string& prefix, SuiteCompare& c);
  void read_gate(Diagnostics& d, const toml::node& n, SuiteCompare& c);

  const WorkloadTable& table_;
  std::vector<std::pair<std::string, std::string>> stack_;  // (key, name) of files being loaded
};

Result<Suite> Loader::load(const SourceText& src) {
  toml::table root;
  try {
    root = toml::parse(src.text, src.name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return make_error("{}:{}:{}: {}", src.name, b.line, b.column, e.description());
  }
  Diagnostics d(src.name);

  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (std::find(kTopKeys.begin(), kTopKeys.end(), key) != kTopKeys.end()) continue;
    const bool suite_key = std::find(kSuiteKeys.begin(), kSuiteKeys.end(), key) != kSuiteKeys.end();
    d.at(k.source(), fmt::format("unknown key `{}` at the top level{}", key,
                                 suite_key ? " (it belongs under [suite])"
                                           : " (expected [suite], [env.NAME], [[workload]] or [compare])"));
  }
  const toml::table* suite_tbl = nullptr;
  if (const toml::node* n = root.get("suite")) {
    suite_tbl = n->as_table();
    if (!suite_tbl) d.at(n->source(), fmt::format("`suite` must be a table ([suite]), not {}", type_name(*n)));
  }

  // The included suite is the starting point.
  Suite s;
  if (const toml::node* inc = suite_tbl ? suite_tbl->get("include") : nullptr) {
    if (auto name = get_string(d, "include", *inc)) {
      auto included = resolve_source(*name, src.builtin ? fs::path() : fs::path(src.name).parent_path());
      if (!included) return Error{d.where(inc->source()) + ": include: " + included.error().message, 0};
      stack_.emplace_back(src.key, src.name);
      const auto cyc =
          std::find_if(stack_.begin(), stack_.end(), [&](const auto& e) { return e.first == included->key; });
      if (cyc != stack_.end()) {
        std::vector<std::string> chain;
        for (auto it = cyc; it != stack_.end(); ++it) chain.push_back(it->second);
        chain.push_back(included->name);
        stack_.pop_back();
        return Error{fmt::format("{}: include cycle: {}", d.where(inc->source()), fmt::join(chain, " -> ")), 0};
      }
      if (stack_.size() > kMaxIncludeDepth) {
        stack_.pop_back();
        return Error{fmt::format("{}: includes nested deeper than {}", d.where(inc->source()), kMaxIncludeDepth), 0};
      }
      auto base = load(*included);
      stack_.pop_back();
      if (!base)
        return Error{fmt::format("{}\n{}: note: included from here", base.error().message, d.where(inc->source())), 0};
      s = std::move(*base);
      s.includes.insert(s.includes.begin(), s.source);
    }
  }
  s.source = src.name;
  s.name = stem_of(src);
  s.description.clear();  // a description belongs to the file that wrote it

  std::vector<std::string> base_workloads;
  for (const auto& w : s.workloads) base_workloads.push_back(w.name);

  if (const toml::node* n = root.get("env")) read_envs(d, *n, s);
  if (const toml::node* n = root.get("workload")) read_workloads(d, *n, s);
  if (const toml::node* n = root.get("compare")) read_compare(d, *n, s);
  // After envs, so that `baseline` can name an env of this file.
  if (suite_tbl) read_suite_table(d, *suite_tbl, s, base_workloads);

  if (!d.empty()) return d.error();
  return s;
}

void Loader::read_suite_table(Diagnostics& d, const toml::table& t, Suite& s,
                              const std::vector<std::string>& base_workloads) {
  std::optional<int64_t> reps, max_reps;
  const toml::node* max_reps_node = nullptr;
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    if (key == "include") continue;  // handled by load()
    if (key == "name") {
      if (auto x = get_string(d, key, v)) s.name = *x;
    } else if (key == "description") {
      if (auto x = get_string(d, key, v)) s.description = *x;
    } else if (key == "repetitions") {
      reps = get_int(d, key, v, 1, kMaxRepetitions);
      if (reps) s.repetitions = static_cast<int>(*reps);
    } else if (key == "max_repetitions") {
      max_reps = get_int(d, key, v, 1, kMaxRepetitions);
      max_reps_node = &v;
      if (max_reps) s.max_repetitions = static_cast<int>(*max_reps);
    } else if (key == "ci_target") {
      if (auto x = get_number(d, key, v, 0, 1)) s.ci_target = *x;
    } else if (key == "warmup") {
      if (auto x = get_int(d, key, v, 0, kMaxRepetitions)) s.warmup = static_cast<int>(*x);
    } else if (key == "seed") {
      if (auto x = get_int(d, key, v, 0, std::numeric_limits<int64_t>::max())) s.seed = static_cast<uint64_t>(*x);
    } else if (key == "baseline") {
      if (auto x = get_string(d, key, v)) {
        if (!s.env(*x) && !is_kind(*x)) {
          std::vector<std::string> names;
          for (const auto& e : s.envs) names.push_back(e.name);
          d.at(v.source(), fmt::format("baseline `{}` is neither an env of the suite ({}) nor one of: {}", *x,
                                       names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")),
                                       fmt::join(env_kinds(), ", ")));
        } else {
          s.baseline = *x;
        }
      }
    } else if (key == "placement") {
      if (auto x = get_string(d, key, v)) {
        if (auto p = choose(kPlacements, "placement", std::string_view(*x)))
          s.placement = *p;
        else
          d.at(v.source(), p.error().message);
      }
    } else if (key == "timeout") {
      std::optional<double> secs;
      if (auto str = v.as_string()) {
        auto r = parse_duration_s(str->get());
        if (r)
          secs = *r;
        else
          d.at(v.source(), fmt::format("`timeout`: {}", r.error().message));
      } else if (v.is_number()) {
        secs = get_number(d, key, v, 0, std::numeric_limits<double>::infinity());
      } else {
        d.at(v.source(), fmt::format("`timeout` must be a duration like \"10m\", not {}", type_name(v)));
      }
      // Bounded so that every deadline computed from it fits in 64-bit
      // nanoseconds; no single sample runs for a week.
      if (secs && !(*secs > 0 && *secs <= kMaxTimeoutS))
        d.at(v.source(),
             fmt::format("`timeout` must be above 0 and at most 7 days ({:g} s), not {:g} s", kMaxTimeoutS, *secs));
      else if (secs)
        s.timeout_s = *secs;
    } else if (key == "counters") {
      // A string or an array of perf event names; "default" is the default
      // set, "none" (or []) turns counting off.
      std::vector<std::pair<std::string, const toml::node*>> names;
      if (auto str = v.as_string()) {
        names.emplace_back(str->get(), &v);
      } else if (const auto* arr = v.as_array()) {
        for (const auto& e : *arr)
          if (auto x = get_string(d, "counters", e)) names.emplace_back(*x, &e);
      } else {
        d.at(v.source(), fmt::format("`counters` must be an event name or an array of them, not {}", type_name(v)));
        continue;
      }
      s.counters.clear();
      for (const auto& [name, node] : names) {
        if (name == "none") continue;
        if (auto st = validate_counter_names({name}); !st)
          d.at(node->source(), fmt::format("counters: {}", st.error().message));
        else
          s.counters.push_back(name);
      }
    } else if (key == "exclude") {
      const auto* arr = v.as_array();
      if (!arr) {
        d.at(v.source(), fmt::format("`exclude` must be an array of workload names, not {}", type_name(v)));
        continue;
      }
      for (const auto& e : *arr) {
        auto pat = get_string(d, "exclude", e);
        if (!pat) continue;
        // "net.*" drops a family; anything else is a workload name.
        auto matches = [&](const std::string& name) {
          if (pat->size() > 2 && pat->ends_with(".*")) return name.starts_with(pat->substr(0, pat->size() - 1));
          return name == *pat;
        };
        const bool any = std::any_of(base_workloads.begin(), base_workloads.end(), matches);
        if (!any) {
          d.at(e.source(), fmt::format("exclude `{}` matches no workload of the included suite{}", *pat,
                                       did_you_mean(*pat, base_workloads)));
          continue;
        }
        std::erase_if(s.workloads, [&](const SuiteWorkload& w) {
          return matches(w.name) &&
                 std::find(base_workloads.begin(), base_workloads.end(), w.name) != base_workloads.end();
        });
      }
    } else {
      d.at(k.source(), fmt::format("unknown key `{}` in [suite]{}", key, did_you_mean(key, kSuiteKeys)));
    }
  }
  if (reps && max_reps && *max_reps < *reps)
    d.at(max_reps_node->source(), fmt::format("`max_repetitions` ({}) is below `repetitions` ({})", *max_reps, *reps));
}

void Loader::read_envs(Diagnostics& d, const toml::node& n, Suite& s) {
  const auto* envs = n.as_table();
  if (!envs) {
    d.at(n.source(), fmt::format("`env` must be a table of environments ([env.NAME]), not {}", type_name(n)));
    return;
  }
  for (auto&& [k, v] : *envs) {
    const std::string name(k.str());
    if (!valid_env_name(name)) {
      d.at(k.source(), fmt::format("env name `{}` may hold only letters, digits, `-` and `_`", name));
      continue;
    }
    const auto* t = v.as_table();
    if (!t) {
      d.at(v.source(), fmt::format("`env.{}` must be a table ([env.{}]), not {}", name, name, type_name(v)));
      continue;
    }
    SuiteEnv e;
    e.name = name;
    std::optional<std::string> kind;
    bool ok = true;
    for (auto&& [kk, kv] : *t) {
      const std::string knob(kk.str());
      if (knob == "kind") {
        kind = get_string(d, "kind", kv);
        if (kind && !is_kind(*kind)) {
          d.at(kv.source(), fmt::format("unknown env kind `{}` (kinds: {}){}", *kind, fmt::join(env_kinds(), ", "),
                                        did_you_mean(*kind, env_kinds())));
          kind.reset();
        }
        if (!kind) ok = false;
        continue;
      }
      auto val = value_json(d, kv, fmt::format("knob `{}` of env `{}`", knob, name));
      if (val) {
        e.knobs[knob] = std::move(*val);
        e.knob_where[knob] = d.where(kv.source());
      } else {
        ok = false;
      }
    }
    if (!ok) continue;

    auto it = std::find_if(s.envs.begin(), s.envs.end(), [&](const SuiteEnv& x) { return x.name == name; });
    if (it != s.envs.end()) {  // overriding an included env
      if (kind) it->kind = *kind;
      for (auto& [kn, kv] : e.knobs) it->knobs[kn] = std::move(kv);
      for (auto& [kn, w] : e.knob_where) it->knob_where[kn] = std::move(w);
      continue;
    }
    if (kind)
      e.kind = *kind;
    else if (is_kind(name))
      e.kind = name;
    else {
      d.at(t->source(), fmt::format("env `{}` needs `kind = \"...\"` (one of: {}): its name is not a kind", name,
                                    fmt::join(env_kinds(), ", ")));
      continue;
    }
    s.envs.push_back(std::move(e));
  }
}

void Loader::check_param(Diagnostics& d, const WorkloadDef& def, const std::string& key, const toml::node& n) {
  const ParamSpec* spec = def.param(key);
  auto check_one = [&](const toml::node& e) {
    auto v = scalar_json(d, e, fmt::format("{}: parameter `{}`", def.name, key));
    if (!v) return;
    auto r = normalize_param(*spec, *v);
    if (!r) d.at(e.source(), fmt::format("{}: {}", def.name, r.error().message));
  };
  if (const auto* arr = n.as_array()) {
    if (arr->empty()) d.at(n.source(), fmt::format("{}: parameter `{}`: an empty sweep", def.name, key));
    for (const auto& e : *arr) check_one(e);
  } else {
    check_one(n);
  }
}

void Loader::read_workloads(Diagnostics& d, const toml::node& n, Suite& s) {
  const auto* arr = n.as_array();
  if (!arr) {
    d.at(n.source(), fmt::format("`workload` must be an array of tables ([[workload]]), not {}", type_name(n)));
    return;
  }
  std::map<std::string, toml::source_region> seen;  // names listed in this file
  for (const auto& el : *arr) {
    const auto* t = el.as_table();
    if (!t) {
      d.at(el.source(), fmt::format("a workload must be a table ([[workload]]), not {}", type_name(el)));
      continue;
    }
    const toml::node* name_node = t->get("name");
    if (!name_node) {
      d.at(t->source(), "[[workload]] without a `name`");
      continue;
    }
    auto name = get_string(d, "name", *name_node);
    if (!name) continue;
    const WorkloadDef* def = find_def(table_, *name);
    if (!def) {
      d.at(name_node->source(),
           fmt::format("unknown workload `{}`{}", *name, did_you_mean(*name, workload_names(table_))));
      continue;
    }
    if (auto prev = seen.find(*name); prev != seen.end()) {
      d.at(name_node->source(),
           fmt::format("workload `{}` is already listed at line {} (sweep a parameter with an array instead)", *name,
                       prev->second.begin.line));
      continue;
    }
    seen.emplace(*name, name_node->source());

    SuiteWorkload w;
    w.name = *name;
    for (auto&& [k, v] : *t) {
      const std::string key(k.str());
      if (key == "name") continue;
      if (!def->param(key)) {
        std::vector<std::string> names;
        for (const auto& p : def->params) names.push_back(p.name);
        d.at(k.source(), fmt::format("workload `{}` has no parameter `{}`{} (it has: {})", def->name, key,
                                     did_you_mean(key, names), param_names(*def)));
        continue;
      }
      check_param(d, *def, key, v);
      if (auto val = value_json(d, v, fmt::format("parameter `{}`", key))) w.params[key] = std::move(*val);
    }
    auto it =
        std::find_if(s.workloads.begin(), s.workloads.end(), [&](const SuiteWorkload& x) { return x.name == w.name; });
    if (it != s.workloads.end()) {
      for (auto& [k, v] : w.params) it->params[k] = std::move(v);
    } else {
      s.workloads.push_back(std::move(w));
    }
  }
}

// A percentage written as a string ("3%"); a bare number is refused because
// 0.05 could mean 5% or 0.05%.
std::optional<double> get_percent(Diagnostics& d, const std::string& key, const toml::node& n) {
  if (n.is_number()) {
    d.at(n.source(), fmt::format("`{}` must be a percentage string like \"5%\", not a bare number", key));
    return std::nullopt;
  }
  const auto* str = n.as_string();
  if (!str) {
    d.at(n.source(), fmt::format("`{}` must be a percentage string like \"5%\", not {}", key, type_name(n)));
    return std::nullopt;
  }
  auto p = parse_percent(str->get());
  if (!p) {
    d.at(n.source(), fmt::format("`{}`: {}", key, p.error().message));
    return std::nullopt;
  }
  if (*p > kMaxThreshold) {
    d.at(n.source(), fmt::format("`{}` must be at most {}%, not {}", key, kMaxThreshold * 100, str->get()));
    return std::nullopt;
  }
  return *p;
}

void Loader::read_compare(Diagnostics& d, const toml::node& n, Suite& s) {
  const auto* t = n.as_table();
  if (!t) {
    d.at(n.source(), fmt::format("`compare` must be a table ([compare]), not {}", type_name(n)));
    return;
  }
  for (auto&& [k, v] : *t) {
    const std::string key(k.str());
    if (key == "alpha") {
      auto a = get_number(d, key, v, 0, 1);
      if (a && *a <= 0)
        d.at(v.source(), "`alpha` must be above 0");
      else if (a)
        s.compare.alpha = *a;
    } else if (key == "threshold") {
      if (auto p = get_percent(d, key, v)) s.compare.threshold = *p;
    } else if (key == "thresholds") {
      if (const auto* tt = v.as_table())
        read_thresholds(d, *tt, "", s.compare);
      else
        d.at(v.source(), fmt::format("`thresholds` must be a table ([compare.thresholds]), not {}", type_name(v)));
    } else if (key == "gate") {
      read_gate(d, v, s.compare);
    } else {
      d.at(k.source(), fmt::format("unknown key `{}` in [compare]{}", key, did_you_mean(key, kCompareKeys)));
    }
  }
}

// Diagnostic metrics that gate too: names as results show them
// ("cgroup.memory_peak", "context-switches"), or prefixes ending in `*`
// ("*" alone: every diagnostic gates).
void Loader::read_gate(Diagnostics& d, const toml::node& n, SuiteCompare& c) {
  const auto* arr = n.as_array();
  if (!arr) {
    d.at(n.source(), fmt::format("`gate` must be an array of metric names, not {}", type_name(n)));
    return;
  }
  if (arr->size() > kMaxGateEntries) {
    d.at(n.source(), fmt::format("`gate` lists {} metrics; at most {}", arr->size(), kMaxGateEntries));
    return;
  }
  c.gate.clear();  // replaces an included suite's list
  for (const auto& e : *arr) {
    const auto* str = e.as_string();
    if (!str) {
      d.at(e.source(), fmt::format("`gate`: a metric name must be a string, not {}", type_name(e)));
      continue;
    }
    const std::string& name = str->get();
    if (std::string why = gate_entry_error(name); !why.empty())
      d.at(e.source(), "`gate`: " + why);
    else
      c.gate.push_back(name);
  }
}

// Keys name a workload, a workload's metric or a family. Unquoted dotted
// keys arrive as nested tables (mem.bandwidth.triad = "2%" is
// mem -> bandwidth -> triad): they are flattened back.
void Loader::read_thresholds(Diagnostics& d, const toml::table& t, const std::string& prefix, SuiteCompare& c) {
  for (auto&& [k, v] : t) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table()) {
      read_thresholds(d, *sub, key, c);
      continue;
    }
    bool known = false;
    if (key.size() > 2 && key.ends_with(".*")) {
      const std::string family = key.substr(0, key.size() - 1);  // "disk."
      known =
          std::any_of(table_.begin(), table_.end(), [&](const WorkloadDef& w) { return w.name.starts_with(family); });
    } else {
      known = std::any_of(table_.begin(), table_.end(), [&](const WorkloadDef& w) {
        return key == w.name || (key.size() > w.name.size() + 1 && key.starts_with(w.name + "."));
      });
    }
    if (!known) {
      d.at(k.source(), fmt::format("[compare.thresholds]: `{}` names no workload (write WORKLOAD, WORKLOAD.METRIC "
                                   "or FAMILY.*){}",
                                   key, did_you_mean(key, workload_names(table_))));
      continue;
    }
    if (auto p = get_percent(d, key, v)) c.thresholds[key] = *p;
  }
}

// Turns the parameters as written (arrays = sweeps) into normalized parameter
// sets: the cartesian product in the workload's parameter order, the last
// swept parameter varying fastest.
Status expand(SuiteWorkload& w, const WorkloadDef& def) {
  for (const auto& [k, v] : w.params)
    if (!def.param(k))
      return make_error("workload `{}` has no parameter `{}` (it has: {})", def.name, k, param_names(def));
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  size_t total = 1;
  for (const auto& spec : def.params) {
    auto it = w.params.find(spec.name);
    if (it == w.params.end()) continue;
    std::vector<json> values;
    if (it->second.is_array())
      values.assign(it->second.begin(), it->second.end());
    else
      values.push_back(it->second);
    if (values.empty()) return make_error("{}: parameter `{}`: an empty sweep", def.name, spec.name);
    total *= values.size();
    if (total > kMaxParamSets)
      return make_error("{}: the sweep has more than {} parameter sets", def.name, kMaxParamSets);
    axes.emplace_back(spec.name, std::move(values));
  }
  std::vector<Params> sets;
  std::vector<size_t> idx(axes.size(), 0);
  for (size_t c = 0; c < total; ++c) {
    std::map<std::string, json> given;
    for (size_t i = 0; i < axes.size(); ++i) given[axes[i].first] = axes[i].second[idx[i]];
    auto r = resolve_params(def, given);
    if (!r) return r.error();
    sets.push_back(std::move(*r));
    for (size_t i = axes.size(); i-- > 0;) {
      if (++idx[i] < axes[i].second.size()) break;
      idx[i] = 0;
    }
  }
  w.param_sets = std::move(sets);
  return {};
}

// Checks that only make sense for the suite as a whole, after every include.
Status finalize(Suite& s, const WorkloadTable& table) {
  s.max_repetitions = std::max(s.max_repetitions, s.repetitions);
  s.envs_by_default = s.envs.empty();
  if (s.envs.empty()) s.envs.push_back(SuiteEnv{"bare", "bare", {}, {}});
  if (s.workloads.empty()) return make_error("{}: the suite has no workloads", s.source);
  for (auto& w : s.workloads) {
    const WorkloadDef* def = find_def(table, w.name);
    if (!def) return make_error("{}: unknown workload `{}`", s.source, w.name);
    if (auto st = expand(w, *def); !st) return st.error().context(s.source);
  }
  return {};
}

// "A.B=VALUE" -> ("A.B", "VALUE").
bool split_assignment(const std::string& a, std::string& key, std::string& value) {
  const size_t eq = a.find('=');
  if (eq == std::string::npos) return false;
  key = a.substr(0, eq);
  value = a.substr(eq + 1);
  return !key.empty();
}

}  // namespace

const std::vector<std::string>& env_kinds() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> k;
    for (const auto& d : all_drivers()) k.push_back(d->name());
    return k;
  }();
  return kinds;
}

const SuiteEnv* Suite::env(const std::string& n) const {
  for (const auto& e : envs)
    if (e.name == n) return &e;
  return nullptr;
}

const SuiteWorkload* Suite::workload(const std::string& n) const {
  for (const auto& w : workloads)
    if (w.name == n) return &w;
  return nullptr;
}

std::vector<std::string> builtin_suite_names() {
  std::vector<std::string> names;
  for (const auto& b : builtin_suites()) names.emplace_back(b.name);
  return names;
}

Result<Suite> parse_suite(std::string_view text, const std::string& source, const WorkloadTable& table) {
  SourceText src;
  src.text = std::string(text);
  src.name = source;
  src.builtin = source.starts_with("builtin:");
  std::error_code ec;
  src.key = src.builtin ? source : fs::weakly_canonical(source, ec).string();
  if (ec) src.key = source;
  Loader loader(table);
  auto s = loader.load(src);
  if (!s) return s;
  if (auto st = finalize(*s, table); !st) return st.error();
  return s;
}

Result<Suite> load_suite(const std::string& name_or_path, const WorkloadTable& table) {
  auto src = resolve_source(name_or_path, fs::path());
  if (!src) return src.error().context("suite");
  Loader loader(table);
  auto s = loader.load(*src);
  if (!s) return s;
  if (auto st = finalize(*s, table); !st) return st.error();
  return s;
}

Status apply_set(Suite& suite, const std::string& assignment, const WorkloadTable& table) {
  std::string key, value;
  const size_t dot = assignment.substr(0, assignment.find('=')).rfind('.');
  if (!split_assignment(assignment, key, value) || dot == std::string::npos || dot == 0 || dot + 1 >= key.size())
    return make_error("`{}`: expected WORKLOAD.PARAM=VALUE (e.g. disk.randread.qd=32)", assignment);
  const std::string wname = key.substr(0, dot), pname = key.substr(dot + 1);
  const WorkloadDef* def = find_def(table, wname);
  if (!def)
    return make_error("`{}`: unknown workload `{}`{}", assignment, wname, did_you_mean(wname, workload_names(table)));
  auto it = std::find_if(suite.workloads.begin(), suite.workloads.end(),
                         [&](const SuiteWorkload& w) { return w.name == wname; });
  if (it == suite.workloads.end())
    return make_error("`{}`: suite `{}` does not run workload `{}`", assignment, suite.name, wname);
  const ParamSpec* spec = def->param(pname);
  if (!spec) {
    std::vector<std::string> names;
    for (const auto& p : def->params) names.push_back(p.name);
    return make_error("`{}`: workload `{}` has no parameter `{}`{} (it has: {})", assignment, wname, pname,
                      did_you_mean(pname, names), param_names(*def));
  }
  if (auto r = normalize_param(*spec, json(value)); !r)
    return r.error().context(fmt::format("`{}`: {}", assignment, wname));
  SuiteWorkload updated = *it;
  updated.params[pname] = value;
  if (auto st = expand(updated, *def); !st) return st.error().context(fmt::format("`{}`", assignment));
  *it = std::move(updated);
  return {};
}

Status apply_env_set(Suite& suite, const std::string& assignment) {
  std::string key, value;
  const size_t dot = assignment.find('.');
  if (!split_assignment(assignment, key, value) || dot == std::string::npos || dot == 0 || dot + 1 >= key.size())
    return make_error("`{}`: expected ENV.KNOB=VALUE (e.g. container.cpus=2)", assignment);
  const std::string ename = key.substr(0, dot), knob = key.substr(dot + 1);
  auto it = std::find_if(suite.envs.begin(), suite.envs.end(), [&](const SuiteEnv& e) { return e.name == ename; });
  if (it == suite.envs.end()) {
    std::vector<std::string> names;
    for (const auto& e : suite.envs) names.push_back(e.name);
    return make_error("`{}`: the suite has no env `{}` (it has: {})", assignment, ename, fmt::join(names, ", "));
  }
  if (knob == "kind") return make_error("`{}`: the kind of an env is not a knob", assignment);
  it->knobs[knob] = value;
  it->knob_where[knob] = fmt::format("--env-set {}", assignment);
  return {};
}

Status add_env(Suite& suite, const std::string& name) {
  if (suite.env(name)) return {};
  if (!is_kind(name))
    return make_error("env `{}`: not defined by suite `{}` and not one of: {}", name, suite.name,
                      fmt::join(env_kinds(), ", "));
  suite.envs.push_back(SuiteEnv{name, name, {}, {}});
  return {};
}

nlohmann::json to_json(const Suite& s) {
  json envs = json::array();
  for (const auto& e : s.envs) envs.push_back({{"name", e.name}, {"kind", e.kind}, {"knobs", e.knobs}});
  json workloads = json::array();
  for (const auto& w : s.workloads) {
    json sets = json::array();
    for (const auto& p : w.param_sets) sets.push_back(p.json());
    workloads.push_back({{"name", w.name}, {"params", w.params}, {"param_sets", std::move(sets)}});
  }
  return {{"name", s.name},
          {"description", s.description},
          {"source", s.source},
          {"includes", s.includes},
          {"repetitions", s.repetitions},
          {"max_repetitions", s.max_repetitions},
          {"ci_target", s.ci_target},
          {"warmup", s.warmup},
          {"seed", s.seed ? json(*s.seed) : json(nullptr)},
          {"baseline", s.baseline},
          {"timeout_s", s.timeout_s},
          {"placement", std::string(to_string(s.placement))},
          {"counters", s.counters},
          {"envs", std::move(envs)},
          {"workloads", std::move(workloads)},
          {"compare", to_json(s.compare)}};
}

}  // namespace vbench
