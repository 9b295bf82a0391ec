#pragma once
// Synthetic runs for the compare, history and trend tests: one host, one
// suite, and samples whose values the test chooses.
#include <sqlite3.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/results.hpp"

namespace vbtest {

inline nlohmann::json fixture_host(const std::string& hostname = "box", const std::string& kernel = "Linux 6.1") {
  return {{"fingerprint", "fp-" + hostname + "-" + kernel},
          {"facts",
           {{{"key", "hostname"}, {"label", "Hostname"}, {"value", hostname}},
            {{"key", "kernel"}, {"label", "Kernel"}, {"value", kernel}},
            {{"key", "cpu_model"}, {"label", "CPU model"}, {"value", "Test CPU"}},
            {{"key", "cpus"}, {"label", "CPUs"}, {"value", "2"}},
            {{"key", "memory"}, {"label", "Memory"}, {"value", "4 GiB"}}}}};
}

inline nlohmann::json fixture_suite(const std::string& name = "t", nlohmann::json compare = nullptr) {
  nlohmann::json s = {{"name", name},
                      {"envs", {{{"name", "bare"}, {"kind", "bare"}, {"knobs", {{"cpuset", ""}}}}}},
                      {"workloads",
                       {{{"name", "cpu.int"}, {"param_sets", {{{"threads", 1}}}}},
                        {{"name", "mem.latency"}, {"param_sets", {{{"size", 4096}}}}}}}};
  if (!compare.is_null()) s["compare"] = compare;
  return s;
}

inline vbench::ResultSet fixture_run(const std::string& run_id) {
  vbench::ResultSet rs;
  rs.meta.run_id = run_id;
  rs.meta.vbench_version = "0.1.0";
  rs.meta.git_commit = "abcdef123456";
  rs.meta.started_at = "2024-05-01T10:00:00Z";
  rs.meta.finished_at = "2024-05-01T10:05:00Z";
  rs.meta.seed = 42;
  rs.meta.baseline_env = "bare";
  rs.meta.host = fixture_host();
  rs.meta.suite = fixture_suite();
  rs.envs.push_back(vbench::EnvRecord{"bare", "bare", "bare", true, "", {}, nlohmann::json::object(), {}, {}});
  return rs;
}

// One sample per value of `metric` (a warm-up first, which compare must
// ignore: it is far off on purpose).
inline void add_values(vbench::ResultSet& rs, const std::string& workload, const std::string& metric,
                       const std::vector<double>& values, vbench::Better better = vbench::Better::Higher,
                       const std::string& unit = "ops/s") {
  vbench::Sample warm;
  warm.env = "bare";
  warm.workload = workload;
  warm.params = workload == "cpu.int" ? nlohmann::json{{"threads", 1}} : nlohmann::json{{"size", 4096}};
  warm.warmup = true;
  warm.metrics.push_back(vbench::Metric{metric, values.empty() ? 0 : values[0] * 100, unit, better});
  rs.samples.push_back(warm);
  for (size_t i = 0; i < values.size(); ++i) {
    vbench::Sample s = warm;
    s.warmup = false;
    s.round = static_cast<int>(i);
    s.metrics = {vbench::Metric{metric, values[i], unit, better}};
    rs.samples.push_back(s);
  }
}

// n values around `center`, spread evenly over ±spread (fraction of center).
inline std::vector<double> around(double center, double spread, size_t n) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) {
    const double t = n == 1 ? 0 : (static_cast<double>(i) / static_cast<double>(n - 1)) * 2 - 1;  // -1 .. 1
    v.push_back(center * (1 + spread * t));
  }
  return v;
}

// A minimal XML well-formedness check: tags nest and close, attribute
// values are quoted, every & starts a known entity, no raw control bytes.
// Runs SQL on a database file directly, as a second client would: one line
// per row ("a|b"), or "error: ..." .
inline std::string sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return "error: open " + path;
  }
  std::string out;
  char* err = nullptr;
  sqlite3_exec(
      db, statement.c_str(),
      [](void* o, int n, char** vals, char**) {
        auto* s = static_cast<std::string*>(o);
        for (int i = 0; i < n; ++i) *s += std::string(vals[i] ? vals[i] : "NULL") + (i + 1 < n ? "|" : "\n");
        return 0;
      },
      &out, &err);
  if (err) out += std::string("error: ") + err;
  sqlite3_free(err);
  sqlite3_close(db);
  return out;
}

inline bool well_formed_xml(const std::string& x, std::string& why) {
  std::vector<std::string> stack;
  for (size_t i = 0; i < x.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(x[i]);
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      why = "control byte at " + std::to_string(i);
      return false;
    }
    if (c == '&') {
      bool known = false;
      for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
        known |= x.compare(i, std::string(e).size(), e) == 0;
      if (!known) {
        why = "bare & at " + std::to_string(i);
        return false;
      }
    }
    if (c == '>') {
      why = "a raw > outside a tag at " + std::to_string(i);
      return false;
    }
    if (c != '<') continue;
    const size_t end = x.find('>', i);
    if (end == std::string::npos) {
      why = "unclosed tag";
      return false;
    }
    std::string tag = x.substr(i + 1, end - i - 1);
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0 || tag.find('<') != std::string::npos) {
      why = "bad tag: " + tag;
      return false;
    }
    i = end;
    if (tag[0] == '?') continue;
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) {
        why = "mismatched </" + tag.substr(1) + ">";
        return false;
      }
      stack.pop_back();
      continue;
    }
    if (tag.back() == '/') continue;
    stack.push_back(tag.substr(0, tag.find(' ')));
  }
  if (!stack.empty()) why = "unclosed <" + stack.back() + ">";
  return stack.empty();
}

}  // namespace vbtest
