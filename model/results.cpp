#include "model/results.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "core/json.hpp"

namespace vbench {

const EnvRecord* ResultSet::env(const std::string& label) const {
  for (const auto& e : envs)
    if (e.label == label) return &e;
  return nullptr;
}

nlohmann::json to_json(const RunMeta& m) {
  return {{"format_version", kResultsFormatVersion},
          {"run_id", m.run_id},
          {"vbench_version", m.vbench_version},
          {"git_commit", m.git_commit},
          {"started_at", m.started_at},
          {"finished_at", m.finished_at},
          {"seed", m.seed},
          {"baseline_env", m.baseline_env},
          {"host", m.host},
          {"suite", m.suite},
          {"command_line", m.command_line},
          {"interrupted", m.interrupted}};
}

nlohmann::json to_json(const EnvRecord& e) {
  nlohmann::json lc = nlohmann::json::array();
  for (const auto& m : e.lifecycle) lc.push_back(to_json(m));
  nlohmann::json restarts = nlohmann::json::array();
  for (const auto& r : e.restarts) {
    nlohmann::json rl = nlohmann::json::array();
    for (const auto& m : r.lifecycle) rl.push_back(to_json(m));
    restarts.push_back({{"round", r.round},
                        {"workload", r.workload},
                        {"reason", r.reason},
                        {"started", r.started},
                        {"error", r.error},
                        {"lifecycle", rl}});
  }
  return {{"name", e.name},         {"kind", e.kind},         {"label", e.label},
          {"started", e.started},   {"error", e.error},       {"lifecycle", lc},
          {"describe", e.describe}, {"warnings", e.warnings}, {"restarts", restarts}};
}

namespace {

std::string str(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
}

// The fields of `host` and `suite` that reports, compare and history read
// by name must have the type they read them as: a results file is untrusted
// input, and a number where a string belongs is an error naming the field,
// found once here instead of in every reader.
Status check_string_fields(const nlohmann::json& obj, std::initializer_list<const char*> keys,
                           const std::string& where) {
  for (const char* k : keys)
    if (obj.contains(k) && !obj[k].is_string())
      return make_error("`{}.{}` is {}, not a string", where, k, obj[k].type_name());
  return {};
}

Status check_host(const nlohmann::json& host) {
  if (auto s = check_string_fields(host, {"fingerprint"}, "host"); !s) return s;
  if (!host.contains("facts")) return {};
  if (!host["facts"].is_array()) return make_error("`host.facts` is {}, not an array", host["facts"].type_name());
  for (size_t i = 0; i < host["facts"].size(); ++i) {
    const auto& f = host["facts"][i];
    const std::string where = fmt::format("host.facts[{}]", i);
    if (!f.is_object()) return make_error("`{}` is {}, not an object", where, f.type_name());
    if (auto s = check_string_fields(f, {"key", "label", "value", "level", "hint"}, where); !s) return s;
  }
  return {};
}

Status check_suite(const nlohmann::json& suite) {
  if (auto s = check_string_fields(suite, {"name", "description", "source", "baseline"}, "suite"); !s) return s;
  for (const char* list : {"workloads", "envs"}) {
    if (!suite.contains(list)) continue;
    const auto& l = suite[list];
    if (!l.is_array()) return make_error("`suite.{}` is {}, not an array", list, l.type_name());
    for (size_t i = 0; i < l.size(); ++i) {
      const std::string where = fmt::format("suite.{}[{}]", list, i);
      if (!l[i].is_object()) return make_error("`{}` is {}, not an object", where, l[i].type_name());
      if (auto s = check_string_fields(l[i], {"name", "kind"}, where); !s) return s;
    }
  }
  return {};
}

}  // namespace

Result<RunMeta> run_meta_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("run record is not an object");
  if (j.contains("format_version")) {
    const auto& v = j["format_version"];
    if (!v.is_number_integer()) return make_error("run record's `format_version` is not an integer");
    if (v.get<int64_t>() > kResultsFormatVersion)
      return make_error("results format version {} is newer than this vbench reads ({}): use a newer vbench",
                        v.get<int64_t>(), kResultsFormatVersion);
  }
  RunMeta m;
  m.run_id = str(j, "run_id");
  if (m.run_id.empty()) return make_error("run record lacks `run_id`");
  m.vbench_version = str(j, "vbench_version");
  m.git_commit = str(j, "git_commit");
  m.started_at = str(j, "started_at");
  m.finished_at = str(j, "finished_at");
  m.baseline_env = str(j, "baseline_env");
  m.command_line = str(j, "command_line");
  if (j.contains("seed") && j["seed"].is_number_unsigned()) m.seed = j["seed"].get<uint64_t>();
  if (j.contains("host")) {
    if (!j["host"].is_object()) return make_error("run record's `host` is {}, not an object", j["host"].type_name());
    if (auto s = check_host(j["host"]); !s) return s.error().context("run record");
    m.host = j["host"];
  }
  if (j.contains("suite")) {
    if (!j["suite"].is_object()) return make_error("run record's `suite` is {}, not an object", j["suite"].type_name());
    if (auto s = check_suite(j["suite"]); !s) return s.error().context("run record");
    m.suite = j["suite"];
  }
  if (j.contains("interrupted") && j["interrupted"].is_boolean()) m.interrupted = j["interrupted"].get<bool>();
  return m;
}

Result<EnvRecord> env_record_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("env record is not an object");
  EnvRecord e;
  e.name = str(j, "name");
  e.kind = str(j, "kind");
  e.label = str(j, "label");
  if (e.label.empty()) return make_error("env record lacks `label`");
  e.error = str(j, "error");
  if (j.contains("started") && j["started"].is_boolean()) e.started = j["started"].get<bool>();
  if (j.contains("lifecycle") && j["lifecycle"].is_array())
    for (const auto& m : j["lifecycle"]) {
      auto r = metric_from_json(m);
      if (!r) return r.error().context("env lifecycle");
      e.lifecycle.push_back(*r);
    }
  if (j.contains("describe") && j["describe"].is_object()) e.describe = j["describe"];
  if (j.contains("warnings") && j["warnings"].is_array())
    for (const auto& w : j["warnings"])
      if (w.is_string()) e.warnings.push_back(w.get<std::string>());
  if (j.contains("restarts") && j["restarts"].is_array())
    for (const auto& rj : j["restarts"]) {
      if (!rj.is_object()) return make_error("env restart is not an object");
      EnvRestart r;
      if (rj.contains("round") && rj["round"].is_number_integer()) r.round = rj["round"].get<int>();
      r.workload = str(rj, "workload");
      r.reason = str(rj, "reason");
      r.error = str(rj, "error");
      if (rj.contains("started") && rj["started"].is_boolean()) r.started = rj["started"].get<bool>();
      if (rj.contains("lifecycle") && rj["lifecycle"].is_array())
        for (const auto& m : rj["lifecycle"]) {
          auto mr = metric_from_json(m);
          if (!mr) return mr.error().context("env restart lifecycle");
          r.lifecycle.push_back(*mr);
        }
      e.restarts.push_back(std::move(r));
    }
  return e;
}

namespace {

Status add_record(ResultSet& rs, const nlohmann::json& j, bool& have_meta) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return make_error("record lacks a `type`");
  const std::string type = j["type"];
  if (type == "run") {
    auto m = run_meta_from_json(j);
    if (!m) return m.error();
    rs.meta = *m;
    have_meta = true;
  } else if (type == "env") {
    auto e = env_record_from_json(j);
    if (!e) return e.error();
    // A later record of the same environment (after teardown) supersedes.
    auto it = std::find_if(rs.envs.begin(), rs.envs.end(), [&](const EnvRecord& x) { return x.label == e->label; });
    if (it != rs.envs.end())
      *it = *e;
    else
      rs.envs.push_back(*e);
  } else if (type == "sample") {
    auto s = sample_from_json(j);
    if (!s) return s.error();
    rs.samples.push_back(std::move(*s));
  } else if (type == "end") {
    rs.meta.finished_at = str(j, "finished_at");
    if (j.contains("interrupted") && j["interrupted"].is_boolean()) rs.meta.interrupted = j["interrupted"].get<bool>();
  }
  // Unknown record types are skipped: newer writers may add some.
  return {};
}

}  // namespace

Result<ResultSet> load_results(const std::string& path) {
  auto text = read_file(path, size_t{4} << 30);
  if (!text) return text.error();
  return parse_results(*text, path);
}

Result<ResultSet> parse_results(const std::string& text_in, const std::string& path) {
  const std::string* text = &text_in;
  ResultSet rs;
  bool have_meta = false;
  // results.json: one object with "run", "envs", "samples". A document too
  // deep or too large is refused as such; a syntax error means it may be
  // results.jsonl, tried line by line below.
  // A text over the document limit can only be read as results.jsonl.
  Result<nlohmann::json> parsed = nlohmann::json();
  if (text->size() <= kMaxResultsDocument) {
    parsed = parse_json(*text, JsonLimits{kMaxResultsDocument, kMaxResultsDepth});
    if (!parsed && !is_syntax_error(parsed.error())) return parsed.error().context(path);
  }
  const nlohmann::json whole = parsed ? std::move(*parsed) : nlohmann::json();
  if (whole.is_object() && whole.contains("run")) {
    auto m = run_meta_from_json(whole["run"]);
    if (!m) return m.error().context(path);
    rs.meta = *m;
    if (whole.contains("envs") && whole["envs"].is_array())
      for (const auto& e : whole["envs"]) {
        auto r = env_record_from_json(e);
        if (!r) return r.error().context(path);
        rs.envs.push_back(*r);
      }
    if (whole.contains("samples") && whole["samples"].is_array())
      for (size_t i = 0; i < whole["samples"].size(); ++i) {
        auto s = sample_from_json(whole["samples"][i]);
        if (!s) return s.error().context(fmt::format("{}: samples[{}]", path, i));
        rs.samples.push_back(std::move(*s));
      }
    return rs;
  }
  // results.jsonl: one record per line; a torn last line (crash mid-write) is
  // ignored, any other bad line is an error.
  std::istringstream in(*text);
  std::string line;
  int lineno = 0;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (size_t i = 0; i < lines.size(); ++i) {
    lineno = static_cast<int>(i) + 1;
    if (lines[i].empty()) continue;
    auto j = parse_json(lines[i], JsonLimits{kMaxResultsLine, kMaxResultsDepth});
    if (!j) {
      if (i + 1 == lines.size() && is_syntax_error(j.error())) break;
      return j.error().context(fmt::format("{}:{}", path, lineno));
    }
    if (auto s = add_record(rs, *j, have_meta); !s) return s.error().context(fmt::format("{}:{}", path, lineno));
  }
  if (!have_meta) return make_error("{}: not a vbench results file (no run record)", path);
  return rs;
}

Result<ResultsLog> ResultsLog::open(const std::string& path) {
  // O_NOFOLLOW: a symlink planted at the log's name is refused, not followed.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ELOOP) return make_error("open `{}`: it is a symbolic link; refusing to follow it", path);
  if (fd < 0) return sys_error(fmt::format("open `{}`", path));
  ResultsLog log;
  log.path_ = path;
  log.fd_ = std::make_shared<UniqueFd>(fd);
  return log;
}

Status ResultsLog::append(const nlohmann::json& j) {
  if (auto s = append_line_synced(fd_->get(), dump_json(j)); !s) {
    *failed_ = true;
    return s.error().context(fmt::format("`{}`", path_));
  }
  return {};
}

Status ResultsLog::write_meta(const RunMeta& m) {
  auto j = to_json(m);
  j["type"] = "run";
  return append(j);
}

Status ResultsLog::write_env(const EnvRecord& e) {
  auto j = to_json(e);
  j["type"] = "env";
  return append(j);
}

Status ResultsLog::write_sample(const Sample& s) {
  auto j = to_json(s);
  j["type"] = "sample";
  return append(j);
}

Status ResultsLog::write_end(const RunMeta& m) {
  return append({{"type", "end"}, {"finished_at", m.finished_at}, {"interrupted", m.interrupted}});
}

}  // namespace vbench
